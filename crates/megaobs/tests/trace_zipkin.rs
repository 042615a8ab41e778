//! Zipkin v2 JSON export into an in-process Zipkin receiver.

mod common;

use std::time::Duration;

use common::receivers::Receivers;
use megaobs::config::{TracingConfig, TracingExporter};
use megaobs::TracingContext;

#[test]
fn zipkin_receives_well_formed_v2_spans_with_the_service_name() {
    let rx = Receivers::new();
    let addr = rx.zipkin();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("zipkin-e2e")
            .exporter(TracingExporter::Zipkin)
            .zipkin_endpoint(format!("http://{addr}/api/v2/spans"))
            .scheduled_delay(Duration::from_millis(50)),
    )
    .unwrap();
    {
        let root = TracingContext::builder("zipkin_root")
            .kind(opentelemetry::trace::SpanKind::Server)
            .start();
        root.set_attribute("user_id", "123");
        root.add_event("milestone");
        let child = TracingContext::new("zipkin_child");
        child.record_error(&std::io::Error::other("boom"));
    }
    assert!(guard.shutdown());
    let spans = rx.zipkin.lock().unwrap().clone();
    assert_eq!(spans.len(), 2, "{spans:?}");
    let root = spans.iter().find(|s| s["name"] == "zipkin_root").unwrap();
    let child = spans.iter().find(|s| s["name"] == "zipkin_child").unwrap();
    for s in [root, child] {
        assert_eq!(s["traceId"].as_str().unwrap().len(), 32);
        assert_eq!(s["id"].as_str().unwrap().len(), 16);
        assert!(
            s["timestamp"].as_u64().unwrap() > 1_600_000_000_000_000,
            "µs since epoch"
        );
        assert!(s["duration"].as_u64().unwrap() >= 1);
        assert_eq!(s["localEndpoint"]["serviceName"], "zipkin-e2e");
    }
    assert!(root.get("parentId").is_none(), "a root has no parentId");
    assert_eq!(root["kind"], "SERVER");
    assert_eq!(root["tags"]["user_id"], "123");
    assert_eq!(root["annotations"][0]["value"], "milestone");
    assert_eq!(child["parentId"], root["id"]);
    assert_eq!(child["traceId"], root["traceId"]);
    assert_eq!(child["tags"]["error"], "boom");
}
