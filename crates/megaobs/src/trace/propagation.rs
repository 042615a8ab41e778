//! W3C trace context and baggage in and out of HTTP headers.
//!
//! ```
//! use megaobs::trace::{extract_context, inject_context};
//! use opentelemetry::trace::TraceContextExt;
//!
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! let parent = extract_context(&incoming);
//! assert_eq!(parent.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = http::HeaderMap::new();
//! inject_context(&parent, &mut outgoing);
//! assert!(outgoing["traceparent"].to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! ```

use std::sync::OnceLock;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

fn propagator() -> &'static TextMapCompositePropagator {
    static P: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    P.get_or_init(|| {
        TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ])
    })
}

/// Writes `traceparent`, `tracestate` and `baggage` for `cx` into `headers`.
pub fn inject_context(cx: &Context, headers: &mut http::HeaderMap) {
    propagator().inject_context(cx, &mut HeaderInjector(headers));
}

/// Writes the current context's headers (for an outgoing request).
pub fn inject_current(headers: &mut http::HeaderMap) {
    Context::map_current(|cx| inject_context(cx, headers));
}

/// Reads `traceparent`/`tracestate`/`baggage` into a context whose span is the
/// remote parent (an invalid `traceparent` gives a context without span).
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    propagator().extract(&HeaderExtractor(headers))
}

pub(crate) fn install_global() {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}
