//! The exposition checked by the real `promtool`, and its formats.

mod common;

use common::{promtool_check_metrics, record_every_family, sample, unexpected_findings};
use megaobs::metrics::{catalog, Format, MetricsCollector, Status};

#[test]
fn promtool_finds_nothing_but_the_seed_forced_name() {
    let c = MetricsCollector::new();
    record_every_family(&c);
    let text = c.encode(Format::PrometheusText);
    let (ok, out) = promtool_check_metrics(&text);
    assert!(
        out.contains("cache_avg_hit_latency_ms metric names should not contain abbreviated units"),
        "promtool must still see the original design's cache_avg_hit_latency_ms: {out}"
    );
    assert_eq!(
        unexpected_findings(&out),
        Vec::<String>::new(),
        "exposition:\n{text}"
    );
    // The exposition parsed (a parse error would be reported instead of lint
    // findings); promtool exits non-zero only because of that one finding.
    assert!(!out.contains("error while linting"), "{out}");
    assert!(
        !ok,
        "promtool reports the finding the original name forces with a non-zero exit"
    );
}

#[test]
fn every_catalogue_family_has_samples_after_recording() {
    let c = MetricsCollector::new();
    record_every_family(&c);
    let text = c.encode(Format::PrometheusText);
    for d in catalog::ALL
        .iter()
        .filter(|d| cfg!(tokio_unstable) || !catalog::TOKIO_UNSTABLE_ONLY.contains(&d.name))
    {
        let header = format!("# TYPE {} {}", d.name, d.kind.as_str());
        assert!(text.contains(&header), "missing {header}");
        let has_sample = text
            .lines()
            .any(|l| !l.starts_with('#') && l.starts_with(d.name));
        assert!(has_sample, "no sample for {}", d.name);
    }
}

#[test]
fn recorded_values_appear_exactly() {
    let c = MetricsCollector::new();
    record_every_family(&c);
    let t = c.encode_text();
    let v = |s: &str| sample(&t, s).unwrap_or_else(|| panic!("no sample {s} in\n{t}"));
    assert_eq!(
        v(r#"workflow_executions_total{workflow_name="research_workflow",status="success"}"#),
        1.0
    );
    assert_eq!(
        v(r#"workflow_duration_seconds_sum{workflow_name="research_workflow"}"#),
        15.5
    );
    assert_eq!(
        v(r#"workflow_duration_seconds_bucket{workflow_name="research_workflow",le="10.0"}"#),
        0.0
    );
    assert_eq!(
        v(r#"workflow_duration_seconds_bucket{workflow_name="research_workflow",le="30.0"}"#),
        1.0
    );
    assert_eq!(v("workflow_human_reviews_pending"), 1.0);
    assert_eq!(
        v(
            r#"workflow_human_reviews_completed_total{workflow_name="research_workflow",decision="approved"}"#
        ),
        1.0
    );
    assert_eq!(v("cache_hits_total"), 2.0);
    assert_eq!(v("cache_semantic_hits_total"), 1.0);
    assert_eq!(v("cache_misses_total"), 1.0);
    assert!((v("cache_hit_rate") - 2.0 / 3.0).abs() < 1e-12);
    assert!((v("cache_avg_hit_latency_ms") - 2.5).abs() < 1e-9);
    assert_eq!(
        v(r#"mega_agent_http_requests_total{method="GET",path="/api/research/{id}",status="200"}"#),
        1.0
    );
    assert_eq!(
        v(r#"mega_agent_http_requests_total{method="POST",path="/api/research",status="429"}"#),
        1.0
    );
    assert_eq!(v(r#"database_connections{state="idle"}"#), 7.0);
    assert_eq!(
        v(r#"database_query_errors_total{operation="select_documents"}"#),
        1.0
    );
    let chat = r#"gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="claude-3-opus""#;
    assert_eq!(
        v(&format!(
            r#"gen_ai_client_token_usage_sum{{{chat},gen_ai_token_type="input"}}"#
        )),
        150.0
    );
    assert_eq!(
        v(&format!(
            r#"gen_ai_client_token_usage_sum{{{chat},gen_ai_token_type="output"}}"#
        )),
        300.0
    );
    assert_eq!(
        v(&format!(
            r#"gen_ai_client_operation_duration_seconds_count{{{chat},error_type="timeout"}}"#
        )),
        1.0
    );
    assert_eq!(
        v(
            r#"gen_ai_client_cost_usd_total{gen_ai_provider_name="anthropic",gen_ai_request_model="claude-3-opus",gen_ai_token_type="output"}"#
        ),
        300.0 * 75.0 / 1e6
    );
    assert_eq!(
        v(
            r#"gen_ai_client_unpriced_operations_total{gen_ai_provider_name="openai",gen_ai_request_model="gpt-unpriced"}"#
        ),
        1.0
    );
    assert_eq!(v(r#"routing_confidence_sum{route="research"}"#), 0.87);
    assert_eq!(
        v(r#"vector_store_dimensions{collection="research_documents"}"#),
        384.0
    );
    assert!(v("process_resident_memory_bytes") > 0.0);
}

#[test]
fn openmetrics_names_families_without_total_and_ends_with_eof() {
    let c = MetricsCollector::new();
    c.record_workflow_execution("wf", Status::Success, std::time::Duration::from_millis(5));
    let om = c.encode(Format::OpenMetrics);
    assert!(om.contains("# TYPE workflow_executions counter\n"), "{om}");
    assert!(om.contains(r#"workflow_executions_total{workflow_name="wf",status="success"} 1"#));
    assert!(om.ends_with("# EOF\n"));
    assert_eq!(om.matches("# EOF").count(), 1);
    let text = c.encode(Format::PrometheusText);
    assert!(text.contains("# TYPE workflow_executions_total counter\n"));
    assert!(!text.contains("# EOF"));
}

#[test]
fn hostile_label_values_keep_the_exposition_valid_and_bounded() {
    let c = MetricsCollector::builder().max_label_values(100).build();
    let hostile = [
        "quote\"inside",
        "back\\slash",
        "new\nline",
        "} 1\nfake_metric 1",
        "émoji 🚀",
        "",
        "# HELP",
    ];
    for h in hostile {
        c.record_workflow_execution(h, Status::Success, std::time::Duration::from_millis(1));
        c.record_gen_ai_operation(
            megaobs::metrics::GenAiOperation::Chat,
            h,
            h,
            std::time::Duration::from_millis(1),
            Some(h),
            &megaobs::metrics::TokenUsage::new(1, 0, 1, 0),
        );
    }
    c.record_http_request("BREW", "/coffee", 418, std::time::Duration::from_millis(1));
    for i in 0..10_000 {
        c.record_workflow_node("wf", &format!("node-{i}"), Status::Success);
        c.record_http_request(
            "GET",
            &format!("/raw/url/{i}"),
            200,
            std::time::Duration::from_millis(1),
        );
    }
    let text = c.encode_text();
    let (_, out) = promtool_check_metrics(&text);
    assert_eq!(unexpected_findings(&out), Vec::<String>::new());
    assert!(
        !text.contains("\nfake_metric 1"),
        "a label value injected a line"
    );
    assert!(text.contains(r#"workflow_name="quote\"inside""#));
    assert!(text.contains(r#"workflow_name="back\\slash""#));
    assert!(text.contains(r#"workflow_name="new\nline""#));
    assert!(text.contains(r#"method="OTHER",path="/coffee",status="418""#));

    let node_series = text
        .lines()
        .filter(|l| {
            l.starts_with("workflow_nodes_executed_total{") && l.ends_with(r#"status="success"} 1"#)
        })
        .count();
    assert_eq!(node_series, 100, "100 distinct nodes kept");
    assert_eq!(
        sample(
            &text,
            r#"workflow_nodes_executed_total{workflow_name="wf",node_name="__overflow__",status="success"}"#
        ),
        Some(9_900.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"megaobs_label_overflow_total{metric="workflow_nodes_executed_total"}"#
        ),
        Some(9_900.0)
    );
    assert_eq!(
        c.label_overflow_count("workflow_nodes_executed_total"),
        9_900
    );
    // Raw URLs beyond the cap fold into one series too.
    let route_series = text
        .lines()
        .filter(|l| l.starts_with("mega_agent_http_requests_total{"))
        .count();
    assert_eq!(
        route_series,
        100 + 1,
        "/coffee + 99 raw URLs + one __overflow__ series"
    );
    // The exposition stays small: bounded by the caps, not by the 20k values.
    assert!(text.len() < 2_000_000, "{} bytes", text.len());
}

#[test]
fn caller_owned_prometheus_client_registry_is_appended() {
    use prometheus_client::metrics::counter::Counter;
    let mut registry = prometheus_client::registry::Registry::default();
    let jobs: Counter = Counter::default();
    registry.register("custom_jobs", "Jobs run by the app", jobs.clone());
    jobs.inc_by(4);
    let c = MetricsCollector::builder().registry(registry).build();
    let text = c.encode(Format::PrometheusText);
    assert_eq!(sample(&text, "custom_jobs_total"), Some(4.0), "{text}");
    let om = c.encode(Format::OpenMetrics);
    assert_eq!(sample(&om, "custom_jobs_total"), Some(4.0));
    assert!(om.ends_with("# EOF\n") && om.matches("# EOF").count() == 1);
    let (_, out) = promtool_check_metrics(&text);
    assert_eq!(unexpected_findings(&out), Vec::<String>::new());
}
