//! gRPC spans for tonic (feature `grpc`): tower layers for clients
//! ([`GrpcClientLayer`]) and servers ([`GrpcServerLayer`]), following the
//! OpenTelemetry RPC conventions.
//!
//! Each call is one span named after its method (`package.Service/Method`),
//! kind CLIENT or SERVER, with `rpc.system.name = "grpc"`, `rpc.method`,
//! `server.address`/`server.port` on client spans, and when it ends
//! `rpc.response.status_code` (`OK`, `NOT_FOUND`, …) and `error.type` for
//! failures. A path that is not `/package.Service/Method` gives a span named
//! `grpc` with `rpc.method = _OTHER` and `rpc.method_original`; a call dropped
//! before its end (a timeout around it, a reset stream) ends as `CANCELLED`.
//! The client injects
//! `traceparent`/`tracestate`/`baggage` into the request metadata; the server
//! continues the caller's trace from it. A call ends when its response body
//! ends (the status of a gRPC call is in the trailers), so streaming calls are
//! timed whole.
//!
//! ```no_run
//! use megaobs::grpc::{GrpcClientLayer, GrpcServerLayer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Client: wrap the channel.
//! let origin: http::Uri = "http://127.0.0.1:50051".parse()?;
//! let channel = tonic::transport::Endpoint::from(origin.clone()).connect().await?;
//! let channel = tower::ServiceBuilder::new()
//!     .layer(GrpcClientLayer::new().origin(&origin))
//!     .service(channel);
//! // let client = MyServiceClient::new(channel);
//!
//! // Server: one layer for every service.
//! let server = tonic::transport::Server::builder().layer(GrpcServerLayer::new());
//! # Ok(()) }
//! ```

mod body;
mod client;
mod future;
mod server;

pub use body::ObservedBody;
pub use client::{GrpcClient, GrpcClientLayer};
pub use future::ResponseFuture;
pub use server::{GrpcServer, GrpcServerLayer};

/// A call's span name and its `rpc.method` attributes, from the request path:
/// `package.Service/Method` for both, or, for any other path, the span named
/// `grpc` with `rpc.method = _OTHER` and the path (cut) as
/// `rpc.method_original`, as the RPC conventions say for unknown methods.
fn method_of(path: &str) -> (String, Vec<opentelemetry::KeyValue>) {
    use opentelemetry::KeyValue;
    match rpc_method(path) {
        Some(method) => (
            method.to_string(),
            vec![KeyValue::new("rpc.method", method.to_string())],
        ),
        None => (
            "grpc".to_string(),
            vec![
                KeyValue::new("rpc.method", "_OTHER"),
                KeyValue::new(
                    "rpc.method_original",
                    crate::core::text::prefix(path, 128).to_string(),
                ),
            ],
        ),
    }
}

/// `rpc.method` of a request path `/package.Service/Method` (anything else is
/// `_OTHER`: the path is the caller's choice, the name must stay bounded).
fn rpc_method(path: &str) -> Option<&str> {
    let method = path.strip_prefix('/')?;
    let (service, name) = method.split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    };
    (valid(service) && valid(name)).then_some(method)
}

/// The conventions' names of the gRPC status codes.
fn status_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
        .unwrap_or("UNKNOWN")
}

/// The `grpc-status` of a header map (response headers of a trailers-only
/// response, or the trailers).
fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Which side of the call a span is: the statuses that are errors differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    /// Whether `code` marks the span failed (clients: any status but OK;
    /// servers: only the statuses that mean the server failed).
    fn is_error(self, code: i32) -> bool {
        match self {
            Self::Client => code != 0,
            Self::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
        }
    }
}

/// Ends a call's span once: with the status read from the trailers or
/// headers, with an error, or as cancelled when dropped first.
#[derive(Debug)]
struct Finish {
    cx: opentelemetry::Context,
    side: Side,
}

impl Finish {
    fn status(self, code: i32) {
        use opentelemetry::trace::TraceContextExt;
        use opentelemetry::KeyValue;
        let span = self.cx.span();
        if !crate::trace::records(&span) {
            return;
        }
        let name = status_name(code);
        span.set_attribute(KeyValue::new("rpc.response.status_code", name));
        if self.side.is_error(code) {
            span.set_attribute(KeyValue::new("error.type", name));
            span.set_status(opentelemetry::trace::Status::error(name));
        }
        span.end();
    }

    fn error(self, error_type: &str, message: &str) {
        use opentelemetry::trace::TraceContextExt;
        let span = self.cx.span();
        if !crate::trace::records(&span) {
            return;
        }
        span.set_attribute(opentelemetry::KeyValue::new(
            "error.type",
            error_type.to_string(),
        ));
        crate::trace::record_error_on(&span, message);
        span.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_bounded() {
        assert_eq!(
            rpc_method("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
            Some("opentelemetry.proto.collector.trace.v1.TraceService/Export")
        );
        assert_eq!(rpc_method("/a/b/c"), None);
        assert_eq!(rpc_method("/no-method"), None);
        assert_eq!(rpc_method(&format!("/{}/M", "s".repeat(200))), None);
        let (name, attributes) = method_of("/no-method");
        assert_eq!(name, "grpc");
        let pairs: Vec<_> = attributes
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("rpc.method", "_OTHER".to_string()),
                ("rpc.method_original", "/no-method".to_string())
            ]
        );
    }

    #[test]
    fn statuses_have_their_names() {
        assert_eq!(status_name(0), "OK");
        assert_eq!(status_name(5), "NOT_FOUND");
        assert_eq!(status_name(16), "UNAUTHENTICATED");
        assert_eq!(status_name(99), "UNKNOWN");
        assert!(Side::Client.is_error(5));
        assert!(!Side::Server.is_error(5));
        assert!(Side::Server.is_error(13));
    }
}
