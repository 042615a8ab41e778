//! [`GrpcClientLayer`]: a CLIENT span per gRPC call, injected into its metadata.

use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{FutureExt as _, SpanKind};
use opentelemetry::KeyValue;
use tower::{Layer, Service};

use super::body::ObservedBody;
use super::{method_of, Finish, ResponseFuture, Side};
use crate::client::target::Target;
use crate::trace::{inject_context, TracingContext};

/// Gives every call through a tonic channel a CLIENT span (see [`super`]) and
/// sends its trace context in the call's metadata.
///
/// A tonic channel adds the server's address to a request only inside itself,
/// so a layer around it sees the path alone: give the layer the channel's
/// origin for `server.address` and `server.port`.
#[derive(Debug, Clone, Default)]
pub struct GrpcClientLayer {
    server: Option<Server>,
}

/// `server.address` and `server.port` of a channel.
#[derive(Debug, Clone)]
struct Server {
    address: std::sync::Arc<str>,
    port: Option<u16>,
}

impl GrpcClientLayer {
    /// The layer (no server address: add it with [`Self::origin`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The channel's origin (`http://10.0.0.5:50051`), named on every span.
    pub fn origin(mut self, origin: &http::Uri) -> Self {
        let target = Target::from_uri(origin);
        self.server = Some(Server {
            address: target.server_address().into(),
            port: target.port,
        });
        self
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClient {
            inner,
            server: self.server.clone(),
        }
    }
}

/// The service made by [`GrpcClientLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClient<S> {
    inner: S,
    server: Option<Server>,
}

impl<S, B, RB> Service<http::Request<B>> for GrpcClient<S>
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

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let cx = crate::trace::tracer().and_then(|_| {
            let (name, method) = method_of(req.uri().path());
            let target = Target::from_uri(req.uri());
            // The request's own authority if it has one, else the origin given.
            let (address, port) = match (&self.server, target.host.is_empty()) {
                (Some(s), true) => (s.address.to_string(), s.port),
                _ => (target.server_address().to_string(), target.port),
            };
            TracingContext::builder(name)
                .kind(SpanKind::Client)
                .start_detached_with(|attributes| {
                    attributes.push(KeyValue::new("rpc.system.name", "grpc"));
                    attributes.extend(method);
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
                ResponseFuture::new(
                    call,
                    Some(Finish {
                        cx,
                        side: Side::Client,
                    }),
                )
            }
            None => {
                crate::trace::inject_current(req.headers_mut());
                let context = opentelemetry::Context::current();
                ResponseFuture::new(self.inner.call(req).with_context(context), None)
            }
        }
    }
}
