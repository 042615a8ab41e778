//! Parent-based ratio sampling: about `rate` of root traces are exported, and
//! children follow their parent's decision.

mod common;

use common::receivers::Receivers;
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::TracingContext;
use std::collections::HashSet;

#[test]
fn ten_percent_of_roots_and_exactly_their_children_are_exported() {
    const ROOTS: usize = 10_000;
    let rx = Receivers::new();
    let addr = rx.grpc();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .exporter(TracingExporter::Otlp)
            .otlp(format!("http://{addr}"), OtlpProtocol::Grpc)
            .sample_rate(0.1)
            .max_queue_size(50_000),
    )
    .unwrap();
    let mut sampled_ids = 0;
    let mut sampled_traces = HashSet::new();
    for _ in 0..ROOTS {
        let root = TracingContext::new("root");
        let trace = root.trace_id().expect("sampled or not, a span has ids");
        assert_ne!(trace, "0".repeat(32));
        if root.is_recording() {
            sampled_ids += 1;
            sampled_traces.insert(trace.clone());
        }
        let child = TracingContext::new("child");
        assert_eq!(child.trace_id(), Some(trace), "one trace, sampled or not");
        assert_eq!(child.is_recording(), root.is_recording());
    }
    assert!(guard.shutdown());
    let spans = rx.spans();
    let roots: HashSet<&str> = spans
        .iter()
        .filter(|s| s.name == "root")
        .map(|s| s.span_id.as_str())
        .collect();
    let children: Vec<_> = spans.iter().filter(|s| s.name == "child").collect();
    // Binomial(10,000, 0.1): mean 1,000, sd 30; ±5 sd.
    assert!(
        (850..=1150).contains(&roots.len()),
        "{} roots exported",
        roots.len()
    );
    assert_eq!(roots.len(), sampled_ids, "exported = recording roots");
    // The trace id the sampling decision was made on is the one exported.
    let exported_traces: HashSet<String> = spans
        .iter()
        .filter(|s| s.name == "root")
        .map(|s| s.trace_id.clone())
        .collect();
    assert_eq!(exported_traces, sampled_traces);
    assert_eq!(
        children.len(),
        roots.len(),
        "a child is sampled exactly when its parent is"
    );
    assert!(children
        .iter()
        .all(|c| roots.contains(c.parent_span_id.as_str())));
}
