//! # megaobs
//!
//! Observability for MegaAgent Pro services in a few lines:
//!
//! - [`mod@metrics`]: Prometheus metrics with typed, allocation-free recording methods,
//!   served as Prometheus text or OpenMetrics with trace exemplars;
//! - [`trace`]: OpenTelemetry traces to the console, Jaeger, Zipkin or OTLP, from
//!   manual spans, the `#[trace_*]` macros and any `tracing`-instrumented code;
//! - [`logging`]: JSON lines with trace context, size-rotated files, syslog, never
//!   blocking the application;
//! - [`http`]: axum/tower layers for request metrics, server spans and rate limits.
//!
//! ```no_run
//! // Everything from the environment (TRACING_*, LOG_*, OTLP_*, ...), in one call.
//! let _telemetry = megaobs::init(megaobs::ObservabilityConfig::from_env()?)?;
//! let collector = megaobs::metrics();
//! # Ok::<(), megaobs::Error>(())
//! ```
//!
//! ```
//! use std::time::Duration;
//! use megaobs::metrics::{Status, WorkflowTimer};
//!
//! let collector = megaobs::metrics();
//! let mut timer = WorkflowTimer::new(collector, "research_workflow");
//! collector.record_workflow_node("research_workflow", "analyze_query", Status::Success);
//! collector.record_llm_request("claude-3-opus", Status::Success, Duration::from_millis(2500), 150, 300);
//! timer.set_status(Status::Success);
//! drop(timer);
//! assert!(collector.encode_text().contains("workflow_duration_seconds_count{workflow_name=\"research_workflow\"} 1"));
//! ```
//!
//! - [`dashboards`]: Grafana dashboards, Prometheus alert rules and a docker-compose
//!   stack for all of the above.
#![warn(missing_docs)]

pub mod config;
#[cfg(feature = "dashboards")]
pub mod dashboards;
mod error;
#[cfg(feature = "axum")]
pub mod http;
pub mod logging;
pub mod metrics;
mod subscriber;
mod text;
pub mod trace;

/// The README's Rust snippets, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub use config::{ApiConfig, LoggingConfig, MetricsConfig, ObservabilityConfig, TracingConfig};
pub use error::{Error, Result};
pub use logging::{init_logging, LoggingGuard};
pub use megaobs_macros::{trace_async, trace_function, trace_workflow_node};
pub use metrics::{get_metrics_collector, metrics, MetricsCollector, WorkflowTimer};
pub use trace::{init_tracing, TracingContext, TracingGuard};

/// Logging and tracing installed by [`init`]; dropping it exports queued spans,
/// then writes queued log lines.
#[derive(Debug)]
#[must_use = "dropping Telemetry shuts tracing and logging down: keep it for the program's life"]
pub struct Telemetry {
    /// The tracing pipeline (first to stop, so its last log lines are written).
    pub tracing: TracingGuard,
    /// The log writer.
    pub logging: LoggingGuard,
}

/// Installs logging and tracing from `config` in one call (the metrics pillar
/// needs no setup: [`metrics()`] is ready).
pub fn init(config: ObservabilityConfig) -> Result<Telemetry> {
    // Tracing is built (configuration checked, exporter and export thread
    // made) before logging is installed, and installed after: an error in
    // either fails the call with nothing installed, so a corrected retry can
    // succeed.
    let tracing = trace::prepare(config.tracing, metrics().clone(), None)?;
    let logging = init_logging(config.logging)?;
    let tracing = tracing.install()?;
    Ok(Telemetry { tracing, logging })
}
