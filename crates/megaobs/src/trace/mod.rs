//! The tracing pillar: OpenTelemetry spans exported to the console, Jaeger,
//! Zipkin or any OTLP backend, from megaobs' own span API ([`TracingContext`],
//! [`LlmSpan`], [`GenAiStepSpan`]) and from any code instrumented with `tracing`.
//!
//! ```no_run
//! use megaobs::trace::{TracingConfig, TracingContext, TracingExporter};
//!
//! let _guard = megaobs::init_tracing(TracingConfig::default().exporter(TracingExporter::Jaeger))?;
//! let span = TracingContext::new("research_workflow");
//! span.set_attribute("user_id", "123");
//! tracing::info_span!("analyze_query").in_scope(|| { /* a child span of research_workflow */ });
//! # Ok::<(), megaobs::Error>(())
//! ```
//!
//! Design:
//! - **One provider, one sampler**: parent-based, ratio `sample_rate`. Unsampled
//!   spans still have ids (for logs and propagation) but are never queued.
//! - **Export never blocks**: finished sampled spans go to a bounded queue drained by
//!   one export thread ([`batch`]); a full queue or a failed export drops spans and
//!   counts them in `otel_spans_dropped_total{reason}`. Dropping the [`TracingGuard`]
//!   (or [`TracingGuard::shutdown`]) exports what is queued.
//! - **`tracing` spans are exported too**: [`TracingLayer`] (`tracing-opentelemetry`
//!   behind megaobs' pipeline) joins `#[tracing::instrument]` spans to the same
//!   traces. Add it to your own subscriber, or let `megaobs::init_tracing` install
//!   it (before or after `init_logging`).
//!   The exporters' own crates (`h2`, `hyper`, `tonic`, `tower`, `reqwest`,
//!   `opentelemetry*`) are filtered out to avoid feedback loops. `tracing` events at
//!   WARN and ERROR become span events (ERROR also marks the span failed).
//! - **Exemplars**: latency histograms get the current sampled span's ids.
//! - **Redaction**: secret-named attributes ([`TracingConfig::redact`]) are
//!   replaced by `[REDACTED]` on the export thread, for every exported span.

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
mod active;
pub mod batch;
mod config;
mod console;
mod context;
mod genai;
mod layer;
mod pipeline;
mod propagation;
mod sampling;
#[cfg(any(feature = "axum", feature = "client"))]
pub(crate) mod span_name;
#[cfg(feature = "zipkin")]
mod zipkin;

#[cfg(feature = "axum")]
pub(crate) use active::ActiveSpan;
pub use config::{OtlpProtocol, TracingConfig, TracingExporter};
#[cfg(feature = "axum")]
pub(crate) use context::end_span;
#[cfg(any(feature = "axum", feature = "client"))]
pub(crate) use context::records;
pub use context::{
    add_span_event, current_context, current_span_id, current_trace_id, set_span_attribute,
    TracingContext, TracingContextBuilder,
};
#[cfg(feature = "client")]
pub(crate) use context::{exemplar_of, record_error_on};
pub use genai::{GenAiStepSpan, LlmSpan, ERROR_CANCELLED, ERROR_PANIC};
#[cfg(feature = "logging")]
pub(crate) use layer::OtelBridge;
pub use layer::{TracingLayer, TracingLayerBuilder};
#[cfg(feature = "logging")]
pub(crate) use pipeline::{extend_redactor, Prepared};
pub(crate) use pipeline::{redactor, tracer};
pub use pipeline::{TracingGuard, SCOPE};
pub use propagation::{extract_context, extract_context_any, inject_context, inject_current};

/// The workflow a span belongs to, kept in its context for node spans.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowName(pub std::borrow::Cow<'static, str>);

/// Starts a span for a whole workflow run, named `workflow`: nodes traced with
/// `#[trace_workflow_node]` inside it are its children and count under its name.
pub fn workflow_span(workflow: impl Into<std::borrow::Cow<'static, str>>) -> TracingContext {
    let name = workflow.into();
    TracingContext::builder(name.clone())
        .attribute("workflow.name", name.to_string())
        .with_value(WorkflowName(name))
        .start()
}
