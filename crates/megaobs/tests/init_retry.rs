//! A failed `megaobs::init` installs nothing: tracing is built before logging is
//! installed and installed after it, so whichever fails, the corrected call
//! succeeds, logs and traces.

use std::time::Duration;

use megaobs::config::{LoggingConfig, OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::ObservabilityConfig;

#[test]
fn a_bad_tracing_config_leaves_logging_installable() {
    let dir = tempfile::tempdir().unwrap();
    let logging = LoggingConfig::default().console(false).dir(dir.path());
    // Logging fails after tracing is built: tracing is not left installed.
    let not_a_dir = dir.path().join("a-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let mut bad_logs = ObservabilityConfig::default();
    bad_logs.tracing = TracingConfig::default().exporter(TracingExporter::None);
    bad_logs.logging = LoggingConfig::default().console(false).dir(&not_a_dir);
    let err = megaobs::init(bad_logs).unwrap_err().to_string();
    assert!(err.contains("a-file"), "{err}");

    let mut bad = ObservabilityConfig::default();
    bad.tracing = TracingConfig::default()
        .exporter(TracingExporter::Otlp)
        .otlp("https://collector:4317", OtlpProtocol::Grpc)
        .export(megaobs::export::ExportOptions::default().ca_certificate("/nonexistent/ca.pem"));
    bad.logging = logging.clone();
    let err = megaobs::init(bad).unwrap_err().to_string();
    assert!(
        err.contains("ExportOptions::tls") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );

    let mut good = ObservabilityConfig::default();
    good.tracing = TracingConfig::default().exporter(TracingExporter::None);
    good.logging = logging;
    let telemetry = megaobs::init(good).expect("the corrected call installs both pillars");
    {
        let span = megaobs::TracingContext::new("after_retry");
        assert!(span.is_recording(), "tracing is installed by the retry");
        tracing::info!(attempt = 3, "started after a corrected configuration");
    }
    assert!(telemetry.logging.flush(Duration::from_secs(5)));
    let written: String = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &not_a_dir)
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        written.contains("started after a corrected configuration"),
        "{written}"
    );
}
