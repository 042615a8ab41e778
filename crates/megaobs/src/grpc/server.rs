//! [`GrpcServerLayer`]: a SERVER span per gRPC call, continuing the caller's trace.

use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{FutureExt as _, SpanKind};
use opentelemetry::KeyValue;
use tower::{Layer, Service};

use super::body::ObservedBody;
use super::{method_of, Finish, ResponseFuture, Side};
use crate::trace::{extract_context_any, TracingContext};

/// Gives every call a tonic server answers a SERVER span (see [`super`]) that
/// continues the trace named in the call's metadata; the handler runs inside it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcServerLayer {
    _private: (),
}

impl GrpcServerLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServer { inner }
    }
}

/// The service made by [`GrpcServerLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServer<S> {
    inner: S,
}

impl<S, B, RB> Service<http::Request<B>> for GrpcServer<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<ObservedBody<RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let cx = crate::trace::tracer().and_then(|_| {
            let parent = extract_context_any(req.headers());
            let (name, method) = method_of(req.uri().path());
            TracingContext::builder(name)
                .kind(SpanKind::Server)
                .parent(parent)
                .start_detached_with(|attributes| {
                    attributes.push(KeyValue::new("rpc.system.name", "grpc"));
                    attributes.extend(method);
                })
        });
        let context = cx.clone().unwrap_or_else(opentelemetry::Context::current);
        ResponseFuture::new(
            self.inner.call(req).with_context(context),
            cx.map(|cx| Finish {
                cx,
                side: Side::Server,
            }),
        )
    }
}
