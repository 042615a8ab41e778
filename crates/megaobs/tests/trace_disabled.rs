//! `TRACING_ENABLED=false` installs nothing: spans are no-ops without ids.

use megaobs::config::{ObservabilityConfig, TracingConfig};
use megaobs::trace::{current_trace_id, TracingContext};

#[test]
fn disabled_tracing_installs_nothing_and_spans_are_no_ops() {
    let config =
        ObservabilityConfig::from_lookup(|k| (k == "TRACING_ENABLED").then(|| "false".to_string()))
            .unwrap();
    assert!(!config.tracing.enabled);
    let guard = megaobs::init_tracing(config.tracing).unwrap();
    let span = TracingContext::new("nothing");
    span.set_attribute("k", "v");
    assert!(!span.is_recording());
    assert!(span.trace_id().is_none());
    assert!(current_trace_id().is_none());
    drop(span);
    assert!(guard.flush());
    // A disabled call does not use up the one init_tracing of the process.
    let enabled = megaobs::init_tracing(
        TracingConfig::default().exporter(megaobs::config::TracingExporter::None),
    )
    .unwrap();
    let span = TracingContext::new("now real");
    assert!(span.is_recording() && span.trace_id().is_some());
    drop(span);
    drop(enabled);
}
