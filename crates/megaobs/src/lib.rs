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
//! use megaobs::metrics::{GenAiOperation, Status, TokenUsage, WorkflowTimer};
//!
//! let collector = megaobs::metrics();
//! let mut timer = WorkflowTimer::new(collector, "research_workflow");
//! collector.record_workflow_node("research_workflow", "analyze_query", Status::Success);
//! collector.record_gen_ai_operation(GenAiOperation::Chat, "anthropic", "claude-3-opus", Duration::from_millis(2500), None, &TokenUsage::from_anthropic(150, 0, 0, 300));
//! timer.set_status(Status::Success);
//! drop(timer);
//! assert!(collector.encode_text().contains("workflow_duration_seconds_count{workflow_name=\"research_workflow\"} 1"));
//! ```
//!
//! - [`dashboards`]: Grafana dashboards, Prometheus alert rules and a docker-compose
//!   stack for all of the above.
//!
//! An application with its own `tracing` subscriber adds
//! [`TracingLayer`] and [`LogLayer`] to
//! it instead of calling `init` (`examples/compose_subscriber.rs`). The crate is
//! layered one way: `core` (redaction, current-span identity, host facts, env
//! parsing) below the pillars `metrics`, `trace` and `logging`, each with its own
//! config; `http` and `dashboards` above them; installation (`init`) on top.
#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod client;
pub mod config;
mod core;
#[cfg(feature = "dashboards")]
pub mod dashboards;
mod error;
pub mod export;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "axum")]
pub mod http;
#[cfg(all(feature = "tracing", feature = "logging"))]
mod install;
#[cfg(feature = "logging")]
pub mod logging;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "tracing")]
pub mod trace;

/// The README's Rust snippets, compiled and run as doctests.
#[cfg(all(doctest, feature = "axum", feature = "tracing", feature = "logging"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "axum")]
pub use config::ApiConfig;
#[cfg(feature = "logging")]
pub use config::LoggingConfig;
#[cfg(feature = "metrics")]
pub use config::MetricsConfig;
pub use config::ObservabilityConfig;
#[cfg(feature = "tracing")]
pub use config::TracingConfig;
pub use error::{Error, Result};
#[cfg(all(feature = "tracing", feature = "logging"))]
pub use install::{
    init, init_logging, init_tracing, init_tracing_with, init_tracing_with_exporter, Telemetry,
};
#[cfg(feature = "logging")]
pub use logging::{LogLayer, LoggingGuard};
#[cfg(feature = "tracing")]
pub use megaobs_macros::{trace_async, trace_function, trace_workflow_node};
#[cfg(feature = "metrics")]
pub use metrics::{get_metrics_collector, metrics, MetricsCollector, WorkflowTimer};
#[cfg(feature = "tracing")]
pub use trace::{TracingContext, TracingGuard, TracingLayer};
