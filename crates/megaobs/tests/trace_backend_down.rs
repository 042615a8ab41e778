//! With the backend down the application never blocks, lost spans are counted,
//! and export resumes once a backend listens.

mod common;

use std::time::{Duration, Instant};

use common::free_port;
use common::receivers::Receivers;
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::metrics::MetricsCollector;
use megaobs::TracingContext;

#[test]
fn a_dead_backend_costs_the_app_nothing_and_recovery_is_automatic() {
    let port = free_port(); // nothing listens here yet
    let metrics = MetricsCollector::new();
    let guard = megaobs::init_tracing_with(
        TracingConfig::default()
            .service_name("down-e2e")
            .exporter(TracingExporter::Otlp)
            .otlp(format!("127.0.0.1:{port}"), OtlpProtocol::Grpc)
            .max_queue_size(1_000)
            .max_export_batch_size(100)
            .scheduled_delay(Duration::from_millis(20))
            .export_timeout(Duration::from_millis(500)),
        metrics.clone(),
    )
    .unwrap();

    let mut took = Vec::with_capacity(10_000);
    let start = Instant::now();
    for i in 0..10_000 {
        let t = Instant::now();
        let s = TracingContext::new("while_down");
        s.set_attribute("i", i as i64);
        drop(s);
        took.push(t.elapsed());
    }
    let total = start.elapsed();
    took.sort();
    let (p999, slowest) = (took[9_989], took[9_999]);
    // No call waits for the backend: 99.9% of spans take under 5 ms; the single
    // slowest is allowed an OS scheduling hiccup on a loaded 2-core machine.
    assert!(
        p999 < Duration::from_millis(5),
        "p99.9 {p999:?} with the backend down"
    );
    assert!(
        slowest < Duration::from_millis(100),
        "a span took {slowest:?} with the backend down"
    );
    assert!(
        total < Duration::from_secs(2),
        "10,000 spans took {total:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while (guard.dropped_spans() == 0
        || metrics
            .encode_text()
            .contains("otel_export_errors_total 0\n"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(guard.dropped_spans() > 0, "lost spans are counted");
    let text = metrics.encode_text();
    let dropped: f64 = text
        .lines()
        .filter(|l| l.starts_with("otel_spans_dropped_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(
        dropped > 0.0,
        "otel_spans_dropped_total counts them:\n{text}"
    );
    assert!(
        !text.contains("otel_export_errors_total 0\n"),
        "export errors are counted"
    );

    // A backend appears on the same port: later spans get through.
    let rx = Receivers::new();
    rx.grpc_on(format!("127.0.0.1:{port}").parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rx.spans().iter().any(|s| s.name == "after_recovery") {
        assert!(
            Instant::now() < deadline,
            "no span arrived after the backend came up"
        );
        drop(TracingContext::new("after_recovery"));
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(guard);
}
