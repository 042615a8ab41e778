//! # megaobs
//!
//! Observability for MegaAgent Pro services in a few lines: Prometheus metrics
//! with typed, allocation-free recording methods, served in the Prometheus text or
//! OpenMetrics format (with trace exemplars).
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
//! Today the crate provides the **metrics** pillar ([`metrics`]) and the
//! configuration of every pillar ([`config`]); tracing, logging, the HTTP layer
//! and dashboards are being built on the same workspace (see the README).
#![warn(missing_docs)]

pub mod config;
mod error;
#[cfg(feature = "axum")]
pub mod http;
pub mod logging;
pub mod metrics;
mod subscriber;
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
