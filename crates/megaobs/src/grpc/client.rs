//! [`GrpcClientLayer`]: a CLIENT span per gRPC call, injected into its metadata.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{FutureExt as _, SpanKind, WithContext};
use opentelemetry::KeyValue;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::body::ObservedBody;
use super::{grpc_status, rpc_method, Finish, Side};
use crate::client::target::Target;
use crate::trace::{inject_context, TracingContext};

/// Gives every call through a tonic channel a CLIENT span (see [`super`]) and
/// sends its trace context in the call's metadata.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClientLayer {
    _private: (),
}

impl GrpcClientLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClient { inner }
    }
}

/// The service made by [`GrpcClientLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClient<S> {
    inner: S,
}

impl<S, B, RB> Service<http::Request<B>> for GrpcClient<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<ObservedBody<RB>>;
    type Error = S::Error;
    type Future = GrpcClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let cx = crate::trace::tracer().and_then(|_| {
            let method = rpc_method(req.uri().path());
            let target = Target::from_uri(req.uri());
            let name = method.unwrap_or("_OTHER").to_string();
            let method = name.clone();
            let address = target.server_address().to_string();
            let port = target.port;
            TracingContext::builder(name)
                .kind(SpanKind::Client)
                .start_detached_with(|attributes| {
                    attributes.push(KeyValue::new("rpc.system.name", "grpc"));
                    attributes.push(KeyValue::new("rpc.method", method));
                    if !address.is_empty() {
                        attributes.push(KeyValue::new("server.address", address));
                    }
                    if let Some(port) = port {
                        attributes.push(KeyValue::new("server.port", i64::from(port)));
                    }
                })
        });
        match cx {
            Some(cx) => {
                inject_context(&cx, req.headers_mut());
                let call = self.inner.call(req).with_context(cx.clone());
                GrpcClientFuture {
                    inner: call,
                    finish: Some(Finish {
                        cx,
                        side: Side::Client,
                    }),
                }
            }
            None => {
                crate::trace::inject_current(req.headers_mut());
                GrpcClientFuture {
                    inner: self
                        .inner
                        .call(req)
                        .with_context(opentelemetry::Context::current()),
                    finish: None,
                }
            }
        }
    }
}

pin_project! {
    /// The response future of [`GrpcClient`].
    #[derive(Debug)]
    pub struct GrpcClientFuture<F> {
        #[pin]
        inner: WithContext<F>,
        finish: Option<Finish>,
    }
}

impl<F, RB, E> Future for GrpcClientFuture<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
    E: std::fmt::Display,
{
    type Output = Result<http::Response<ObservedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let finish = this.finish.take();
        Poll::Ready(match result {
            Ok(response) => Ok(observe_response(response, finish)),
            Err(e) => {
                if let Some(f) = finish {
                    f.error("transport", &e.to_string());
                }
                Err(e)
            }
        })
    }
}

/// Ends the span now if the status is in the headers (a trailers-only
/// response), else hands it to the body, which ends it at the trailers.
pub(super) fn observe_response<RB>(
    response: http::Response<RB>,
    finish: Option<Finish>,
) -> http::Response<ObservedBody<RB>> {
    let finish = match (finish, grpc_status(response.headers())) {
        (Some(f), Some(code)) => {
            f.status(code);
            None
        }
        (f, _) => f,
    };
    response.map(|body| ObservedBody::new(body, finish))
}
