//! OTLP/HTTP (protobuf) export into an in-process receiver; `init_logging`
//! runs before `init_tracing` here, and `#[tracing::instrument]` spans export.

mod common;

use std::time::Duration;

use common::receivers::Receivers;
use megaobs::config::{LoggingConfig, OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::TracingContext;
use opentelemetry::trace::FutureExt;

#[tracing::instrument]
fn fetch_data(query: &str) -> usize {
    tracing::warn!("cache cold");
    query.len()
}

/// Log lines across `.await`s are named after the `#[trace_async]` span, which is
/// current only during its polls (the task also runs other futures in between).
#[megaobs::trace_async]
async fn summarize(n: usize) -> usize {
    tracing::info!("summarize started");
    tokio::task::yield_now().await;
    tracing::info!("summarize resumed");
    // Handed on with `current_context`, the span's name travels too.
    let cx = megaobs::trace::current_context();
    tokio::spawn(async { tracing::info!("spawned with context") }.with_context(cx.clone()))
        .await
        .unwrap();
    std::thread::spawn(move || {
        let _current = cx.attach();
        tracing::info!("thread with context");
    })
    .join()
    .unwrap();
    n
}

#[test]
fn http_protobuf_export_with_logging_initialised_first() {
    let logs = tempfile::tempdir().unwrap();
    let log_guard = megaobs::init_logging(
        LoggingConfig::default()
            .console(false)
            .dir(logs.path())
            .service_name("http-e2e"),
    )
    .unwrap();
    tracing::info!("before tracing");

    let rx = Receivers::new();
    let addr = rx.http();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("http-e2e")
            .exporter(TracingExporter::Otlp)
            // host:port only: megaobs adds http:// and /v1/traces.
            .otlp(
                format!("127.0.0.1:{}", addr.port()),
                OtlpProtocol::HttpProtobuf,
            )
            .scheduled_delay(Duration::from_millis(100)),
    )
    .expect("init_tracing after init_logging");
    {
        let _root = TracingContext::new("http_root");
        fetch_data("What is AI?");
        tracing::info!("inside");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let other = tokio::spawn(async { tracing::info!("between polls") });
        assert_eq!(summarize(3).await, 3);
        other.await.unwrap();
    });
    assert!(guard.flush());
    let spans = rx.wait_for(Duration::from_secs(10), |s| s.len() >= 3);
    let root = spans.iter().find(|s| s.name == "http_root").expect("root");
    let child = spans
        .iter()
        .find(|s| s.name == "fetch_data")
        .expect("instrumented fn");
    assert_eq!(root.service, "http-e2e");
    assert_eq!(child.trace_id, root.trace_id);
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(child.attributes["query"], "What is AI?");
    assert!(
        child.events.iter().any(|(n, _)| n == "cache cold"),
        "WARN events become span events: {child:?}"
    );
    assert!(rx.requests() >= 1);

    assert!(log_guard.flush(Duration::from_secs(5)));
    let text = std::fs::read_to_string(logs.path().join("http-e2e.log")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let before = lines
        .iter()
        .find(|l| l["message"] == "before tracing")
        .unwrap();
    assert!(before.get("trace_id").is_none());
    let inside = lines.iter().find(|l| l["message"] == "inside").unwrap();
    assert_eq!(inside["trace_id"], root.trace_id.as_str());
    let cold = lines.iter().find(|l| l["message"] == "cache cold").unwrap();
    assert_eq!(cold["span_id"], child.span_id.as_str());
    assert_eq!(cold["function"], "fetch_data");
    let summarize = spans.iter().find(|s| s.name == "summarize").unwrap();
    for msg in [
        "summarize started",
        "summarize resumed",
        "spawned with context",
        "thread with context",
    ] {
        let l = lines.iter().find(|l| l["message"] == msg).unwrap();
        assert_eq!(l["function"], "summarize", "{l}");
        assert_eq!(l["span_id"], summarize.span_id.as_str(), "{l}");
    }
    let between = lines
        .iter()
        .find(|l| l["message"] == "between polls")
        .unwrap();
    assert!(between.get("span_id").is_none(), "{between}");
    drop(guard);
    drop(log_guard);
}
