//! Concurrent recording loses nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::sample;
use megaobs::metrics::{MetricsCollector, Status};

#[test]
fn threads_recording_the_same_series_give_exact_totals() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 50_000;
    let c = MetricsCollector::new();
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let c = c.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..PER_THREAD {
                    c.record_workflow_execution("wf", Status::Success, Duration::from_micros(10));
                    c.record_workflow_node("wf", "n", Status::Error);
                    c.record_http_request(
                        "GET",
                        "/x",
                        if i % 2 == 0 { 200 } else { 503 },
                        Duration::from_micros(1),
                    );
                    // New label values appear concurrently too.
                    c.record_gen_ai_operation(
                        megaobs::metrics::GenAiOperation::Chat,
                        "openai",
                        &format!("model-{}", (t + i) % 16),
                        Duration::ZERO,
                        None,
                        &megaobs::metrics::TokenUsage::new(1, 0, 2, 0),
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = (THREADS * PER_THREAD) as f64;
    let t = c.encode_text();
    assert_eq!(
        sample(
            &t,
            r#"workflow_executions_total{workflow_name="wf",status="success"}"#
        ),
        Some(total)
    );
    assert_eq!(
        sample(&t, r#"workflow_duration_seconds_count{workflow_name="wf"}"#),
        Some(total)
    );
    let sum = sample(&t, r#"workflow_duration_seconds_sum{workflow_name="wf"}"#).unwrap();
    assert!((sum - total * 10e-6).abs() < 1e-9, "{sum}");
    assert_eq!(
        sample(
            &t,
            r#"workflow_nodes_executed_total{workflow_name="wf",node_name="n",status="error"}"#
        ),
        Some(total)
    );
    assert_eq!(
        sample(
            &t,
            r#"mega_agent_http_requests_total{method="GET",path="/x",status="200"}"#
        ),
        Some(total / 2.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"mega_agent_http_requests_total{method="GET",path="/x",status="503"}"#
        ),
        Some(total / 2.0)
    );
    let mut prompt = 0.0;
    for m in 0..16 {
        prompt += sample(
            &t,
            &format!(r#"gen_ai_client_token_usage_sum{{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="model-{m}",gen_ai_token_type="input"}}"#),
        )
        .unwrap();
    }
    assert_eq!(prompt, total);
}
