//! `megaobs::init` sets up logging and tracing from one configuration.

use std::time::Duration;

use megaobs::{ObservabilityConfig, TracingContext};

#[test]
fn init_installs_logging_and_tracing_once() {
    let logs = tempfile::tempdir().unwrap();
    let dir = logs.path().display().to_string();
    let prices = logs.path().join("prices.toml");
    std::fs::write(&prices, "[models.\"gpt-4o\"]\ninput = 2.5\noutput = 10.0\n").unwrap();
    let prices = prices.display().to_string();
    let mut config = ObservabilityConfig::from_lookup(|k| match k {
        "TRACING_EXPORTER" => Some("none".into()),
        "TRACING_SERVICE_NAME" => Some("init-all".into()),
        "LOG_DIR" => Some(dir.clone()),
        "LLM_PRICES" => Some(prices.clone()),
        _ => None,
    })
    .unwrap();
    config.logging.console = false;
    let telemetry = megaobs::init(config.clone()).expect("init");
    // The LLM_PRICES table is installed in the global collector.
    let gpt = megaobs::metrics().price_of("gpt-4o").expect("priced");
    assert_eq!(
        gpt.per_million(megaobs::metrics::GenAiTokenType::CachedInput),
        2.5
    );
    let trace_id = {
        let span = TracingContext::new("startup");
        tracing::info!("ready");
        span.trace_id().expect("tracing is on")
    };
    assert!(telemetry.logging.flush(Duration::from_secs(5)));
    let err = megaobs::init(config).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("already installed"), "{err}");
    drop(telemetry);
    let text = std::fs::read_to_string(logs.path().join("init-all.log")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["message"], "ready");
    assert_eq!(line["trace_id"], trace_id.as_str());
    assert_eq!(line["function"], "startup");
    assert_eq!(line["service"], "init-all");
}
