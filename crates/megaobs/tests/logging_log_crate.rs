//! Records of the `log` crate become log lines like `tracing` events: same
//! filter (by their own target), same JSON fields, trace ids of the current span.

use std::time::Duration;

use megaobs::config::{LoggingConfig, TracingConfig, TracingExporter};
use megaobs::TracingContext;

#[test]
fn log_crate_records_are_filtered_formatted_and_traced() {
    let dir = tempfile::tempdir().unwrap();
    let guard = megaobs::init_logging(
        LoggingConfig::default()
            .service_name("logcrate")
            .console(false)
            .dir(dir.path())
            .level("warn,my_lib=debug"),
    )
    .unwrap();
    let _tracing =
        megaobs::init_tracing(TracingConfig::default().exporter(TracingExporter::None)).unwrap();
    assert_eq!(
        log::max_level(),
        log::LevelFilter::Debug,
        "log's own level check lets through what the filter can keep, no more"
    );

    let line = line!() + 1;
    log::debug!(target: "my_lib", "debug kept {}", 1);
    log::debug!(target: "other_lib", "debug dropped");
    log::trace!(target: "my_lib", "trace dropped");
    log::warn!(target: "other_lib", "warn kept");
    let trace_id = {
        let span = TracingContext::new("with_span");
        log::error!(target: "my_lib", "inside a span");
        span.trace_id().unwrap()
    };

    assert!(guard.flush(Duration::from_secs(5)));
    let text = std::fs::read_to_string(dir.path().join("logcrate.log")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_message = |m: &str| lines.iter().find(|l| l["message"] == m);
    let kept = by_message("debug kept 1").expect("a debug record of my_lib");
    assert_eq!(kept["level"], "DEBUG");
    assert_eq!(kept["logger"], "my_lib");
    assert_eq!(kept["module"], "logging_log_crate");
    assert_eq!(kept["line"], line);
    assert_eq!(kept["service"], "logcrate");
    let keys: Vec<&String> = kept.as_object().unwrap().keys().collect();
    assert!(
        keys.iter().all(|k| !k.starts_with("log.")),
        "the record's metadata is not repeated as fields: {keys:?}"
    );
    assert!(by_message("debug dropped").is_none());
    assert!(by_message("trace dropped").is_none());
    assert_eq!(by_message("warn kept").unwrap()["logger"], "other_lib");
    let inside = by_message("inside a span").unwrap();
    assert_eq!(inside["trace_id"], trace_id.as_str());
    assert_eq!(inside["function"], "with_span");
    // ERROR lines also go to the error file.
    let errors = std::fs::read_to_string(dir.path().join("logcrate.error.log")).unwrap();
    assert!(errors.contains("inside a span"));
}
