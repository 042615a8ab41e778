//! A failed `megaobs::init` installs nothing: a tracing configuration error is
//! found before logging is installed, so the corrected call succeeds and logs.

use std::time::Duration;

use megaobs::config::{LoggingConfig, OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::ObservabilityConfig;

#[test]
fn a_bad_tracing_config_leaves_logging_installable() {
    let dir = tempfile::tempdir().unwrap();
    let logging = LoggingConfig::default().console(false).dir(dir.path());
    let mut bad = ObservabilityConfig::default();
    bad.tracing = TracingConfig::default()
        .exporter(TracingExporter::Otlp)
        .otlp("https://collector:4317", OtlpProtocol::Grpc);
    bad.logging = logging.clone();
    let err = megaobs::init(bad).unwrap_err().to_string();
    assert!(
        err.contains("otlp_endpoint") && err.contains("without TLS"),
        "{err}"
    );

    let mut good = ObservabilityConfig::default();
    good.tracing = TracingConfig::default().exporter(TracingExporter::None);
    good.logging = logging;
    let telemetry = megaobs::init(good).expect("the corrected call installs both pillars");
    tracing::info!(attempt = 2, "started after a corrected configuration");
    assert!(telemetry.logging.flush(Duration::from_secs(5)));
    let written: String = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        written.contains("started after a corrected configuration"),
        "{written}"
    );
}
