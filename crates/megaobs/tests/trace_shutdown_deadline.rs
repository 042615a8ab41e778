//! A trace backend that accepts connections and never answers (a "blackhole")
//! cannot hold shutdown hostage: dropping the guard returns within the
//! configured shutdown timeout (plus a little), never blocks the app meanwhile,
//! and every span created is either exported or counted as dropped.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use megaobs::trace::{OtlpProtocol, TracingConfig, TracingContext, TracingExporter};
use megaobs::MetricsCollector;

fn dropped(c: &MetricsCollector) -> u64 {
    let text = c.encode_text();
    text.lines()
        .filter(|l| l.starts_with("otel_spans_dropped_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[test]
fn a_silent_backend_cannot_stretch_shutdown() {
    // Accepts TCP connections (the kernel does it) and never reads or answers.
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = blackhole.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        blackhole.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            match blackhole.accept() {
                Ok((c, _)) => conns.push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if conns.len() > 16 {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    });
    let collector = MetricsCollector::new();
    let guard = megaobs::init_tracing_with(
        TracingConfig::default()
            .exporter(TracingExporter::Otlp)
            .otlp(addr.to_string(), OtlpProtocol::Grpc)
            .max_export_batch_size(64)
            .export_timeout(Duration::from_secs(3))
            .shutdown_timeout(Duration::from_secs(2)),
        collector.clone(),
    )
    .unwrap();
    let spans = 1_000u64;
    let start = Instant::now();
    for i in 0..spans {
        let s = TracingContext::new("work");
        s.set_attribute("i", i as i64);
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the app is never blocked by the backend: {:?}",
        start.elapsed()
    );
    let stop = Instant::now();
    drop(guard);
    let took = stop.elapsed();
    assert!(
        took < Duration::from_millis(3_500),
        "shutdown took {took:?} with a 2 s shutdown timeout"
    );
    // Every span is accounted for: none reached the blackhole. When the guard
    // returns, all but the batch stuck in its export are counted already...
    let exported = megaobs_exported(&collector);
    assert_eq!(exported, 0);
    let counted = dropped(&collector);
    assert!(
        counted >= spans - 2 * 64,
        "{counted} of {spans} counted at return"
    );
    // ...and the stuck batches when their export fails.
    let deadline = Instant::now() + Duration::from_secs(5);
    while dropped(&collector) < spans && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(dropped(&collector), spans);
    drop(held);
}

fn megaobs_exported(c: &MetricsCollector) -> u64 {
    c.encode_text()
        .lines()
        .find_map(|l| l.strip_prefix("otel_spans_exported_total "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}
