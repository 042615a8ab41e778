//! Outgoing calls (feature `client`): a CLIENT span per request, the W3C trace
//! context injected so the callee continues the trace, and
//! `http_client_request_duration_seconds{method,server_address,status}`.
//!
//! - **reqwest** (feature `reqwest`): add [`HttpClientMiddleware`] to a
//!   `reqwest-middleware` client; [`UrlTemplate`] names a request's span.
//! - **Any other client** (hyper, a vendor SDK): [`HttpClientSpan`] opens the
//!   span, injects it into an `http::HeaderMap`, and records the outcome.
//! - **gRPC** (feature `grpc`): [`crate::grpc`] has tower layers for tonic
//!   clients and servers.
//!
//! `server_address` is a label like any other: past the collector's cap of
//! distinct hosts, new hosts count as `__overflow__`
//! (`megaobs_label_overflow_total{metric="http_client_request_duration_seconds"}`).

#[cfg(feature = "reqwest")]
mod reqwest;
mod span;
pub(crate) mod target;

#[cfg(feature = "reqwest")]
pub use self::reqwest::{HttpClientMiddleware, UrlTemplate};
pub use span::{HttpClientSpan, HttpClientSpanBuilder};
