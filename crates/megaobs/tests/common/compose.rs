//! A subscriber built the way an application with its own `tracing` setup
//! builds it: a `registry()` with an `EnvFilter`ed `fmt` layer, plus megaobs'
//! tracing and logging layers from `ObservabilityConfig`, in either order.

use super::SharedBuf;
use std::time::Duration;

use megaobs::logging::LogLayer;
use megaobs::trace::{TracingContext, TracingLayer};
use megaobs::ObservabilityConfig;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

use super::receivers::Receivers;

/// Which megaobs layer is built first.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    TracingFirst,
    LoggingFirst,
}

/// Builds the subscriber, emits a `tracing` span with a megaobs span inside and
/// events at INFO and DEBUG, and checks spans, log lines and fmt output.
pub fn user_subscriber_exports_and_logs(order: Order) {
    let rx = Receivers::new();
    let addr = rx.grpc();
    let logs = tempfile::tempdir().unwrap();
    let dir = logs.path().display().to_string();
    let endpoint = format!("127.0.0.1:{}", addr.port());
    let mut config = ObservabilityConfig::from_lookup(|k| match k {
        "TRACING_EXPORTER" => Some("otlp".into()),
        "OTLP_ENDPOINT" => Some(endpoint.clone()),
        "TRACING_SERVICE_NAME" => Some("composed".into()),
        "LOG_DIR" => Some(dir.clone()),
        "LOG_LEVEL" => Some("info".into()),
        _ => None,
    })
    .unwrap()
    // One list for both pillars, whichever layer is built first.
    .redact(
        megaobs::logging::redact::DEFAULT_SECRET_NAMES
            .iter()
            .copied()
            .chain(["ssn"]),
    );
    config.logging.console = false;
    config.tracing.scheduled_delay = Duration::from_millis(100);

    let (otel_layer, tracing_guard, log_layer, logging_guard) = match order {
        Order::TracingFirst => {
            let (t, tg) = TracingLayer::builder(config.tracing).build().unwrap();
            let (l, lg) = LogLayer::builder(config.logging).build().unwrap();
            (t, tg, l, lg)
        }
        Order::LoggingFirst => {
            let (l, lg) = LogLayer::builder(config.logging).build().unwrap();
            let (t, tg) = TracingLayer::builder(config.tracing).build().unwrap();
            (t, tg, l, lg)
        }
    };
    let fmt_out = SharedBuf::default();
    let writer = fmt_out.clone();
    // The fmt layer's filter is more verbose than the log layer's level:
    // neither may hide events from the other.
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .with_filter(EnvFilter::new("debug")),
        )
        .with(otel_layer)
        .with(log_layer);

    let (trace_id, step_span_id) = tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("handle_request", user_id = "u1", ssn = "123-45-6789");
        let _entered = request.enter();
        let step = TracingContext::new("research_step");
        step.set_attribute("ssn", "078-05-1120");
        tracing::info!(ssn = "111-22-3333", documents = 3, "step done");
        tracing::debug!("for fmt only");
        (step.trace_id().unwrap(), step.span_id().unwrap())
    });

    assert!(tracing_guard.flush(), "spans exported");
    let spans = rx.wait_for(Duration::from_secs(10), |s| s.len() >= 2);
    let request = spans
        .iter()
        .find(|s| s.name == "handle_request")
        .expect("the tracing span is exported");
    let step = spans
        .iter()
        .find(|s| s.name == "research_step")
        .expect("the megaobs span is exported");
    assert_eq!(request.trace_id, trace_id, "one trace");
    assert_eq!(step.trace_id, trace_id);
    assert_eq!(step.span_id, step_span_id);
    assert_eq!(
        step.parent_span_id, request.span_id,
        "the megaobs span is the tracing span's child"
    );
    assert_eq!(request.service, "composed");
    assert_eq!(request.attributes["ssn"], "[REDACTED]", "{order:?}");
    assert_eq!(step.attributes["ssn"], "[REDACTED]", "{order:?}");
    assert_eq!(request.attributes["user_id"], "u1");

    assert!(logging_guard.flush(Duration::from_secs(5)));
    drop(logging_guard);
    let text = std::fs::read_to_string(logs.path().join("composed.log")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "INFO only in the log file: {text}");
    let line = &lines[0];
    assert_eq!(line["message"], "step done");
    assert_eq!(line["trace_id"], trace_id.as_str());
    assert_eq!(line["span_id"], step_span_id.as_str());
    assert_eq!(line["function"], "research_step");
    assert_eq!(line["ssn"], "[REDACTED]", "{order:?}");
    assert_eq!(line["documents"], 3);

    let printed = String::from_utf8(fmt_out.0.lock().unwrap().clone()).unwrap();
    assert!(printed.contains("step done"), "{printed}");
    assert!(
        printed.contains("for fmt only"),
        "the log layer's level does not filter the fmt layer: {printed}"
    );
    tracing_guard.shutdown();
}
