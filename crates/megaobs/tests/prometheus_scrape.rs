//! A real Prometheus scrapes megaobs' `/metrics` (text and OpenMetrics) and
//! returns exactly what was recorded, exemplars included.

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::Prometheus;
use megaobs::metrics::{
    set_exemplar_source, ExemplarSource, Format, MetricsCollector, MetricsServer, SpanRef, Status,
};

thread_local! {
    static CURRENT: Cell<Option<SpanRef>> = const { Cell::new(None) };
}

/// The test's stand-in for the tracing pillar: the "current span" is whatever
/// this thread set.
struct ThreadSpan;
impl ExemplarSource for ThreadSpan {
    fn current_span(&self) -> Option<SpanRef> {
        CURRENT.with(Cell::get)
    }
}

const TRACE_ID: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

#[test]
fn prometheus_scrapes_exact_values_in_both_formats_with_exemplars() {
    set_exemplar_source(ThreadSpan).unwrap();
    let c = MetricsCollector::new();
    for _ in 0..7 {
        c.record_workflow_execution("scrape_wf", Status::Success, Duration::from_millis(40));
    }
    for _ in 0..3 {
        c.record_workflow_execution("scrape_wf", Status::Error, Duration::from_millis(900));
    }
    c.record_gen_ai_operation(
        megaobs::metrics::GenAiOperation::Chat,
        "anthropic",
        "claude-3-opus",
        Duration::from_secs(2),
        None,
        &megaobs::metrics::TokenUsage::new(100, 50, 280, 20),
    );
    c.record_workflow_execution(
        "odd \"name\"\\with\nnewline",
        Status::Timeout,
        Duration::from_secs(1),
    );
    CURRENT.with(|s| {
        s.set(Some(SpanRef {
            trace_id: TRACE_ID,
            span_id: 0x00f0_67aa_0ba9_02b7,
        }))
    });
    c.record_http_request("GET", "/api/research/{id}", 200, Duration::from_millis(30));
    CURRENT.with(|s| s.set(None));

    // A negotiating server (Prometheus asks for OpenMetrics) and a text-only one.
    let om = MetricsServer::builder(c.clone())
        .addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    let text = MetricsServer::builder(c.clone())
        .addr("127.0.0.1:0".parse().unwrap())
        .format(Format::PrometheusText)
        .start()
        .unwrap();
    let prom = Prometheus::start(&[("om", om.local_addr()), ("text", text.local_addr())], &[]);

    for job in ["om", "text"] {
        let up = prom.wait_value(
            &format!("up{{job=\"{job}\"}}"),
            Duration::from_secs(30),
            |v| v == 1.0,
        );
        assert_eq!(
            up,
            Some(1.0),
            "job {job} not up; prometheus log:\n{}",
            prom.log()
        );
        let q = |s: &str| format!("{s}{{job=\"{job}\"}}");
        let wait = |s: &str| prom.wait_value(s, Duration::from_secs(30), |_| true);
        assert_eq!(
            wait(&format!(
                r#"workflow_executions_total{{job="{job}",workflow_name="scrape_wf",status="success"}}"#
            )),
            Some(7.0)
        );
        assert_eq!(
            wait(&format!(
                r#"workflow_executions_total{{job="{job}",workflow_name="scrape_wf",status="error"}}"#
            )),
            Some(3.0)
        );
        assert_eq!(
            wait(&format!(
                r#"workflow_duration_seconds_bucket{{job="{job}",workflow_name="scrape_wf",le="0.1"}}"#
            )),
            Some(7.0)
        );
        assert_eq!(
            wait(&format!(
                r#"sum(gen_ai_client_token_usage_sum{{job="{job}",gen_ai_request_model="claude-3-opus"}})"#
            )),
            Some(450.0)
        );
        // Escaped label values survive the round trip.
        assert_eq!(
            wait(&format!(
                r#"workflow_executions_total{{job="{job}",workflow_name="odd \"name\"\\with\nnewline",status="timeout"}}"#
            )),
            Some(1.0)
        );
        assert!(wait(&q("process_resident_memory_bytes")).unwrap() > 0.0);
    }

    // Exemplars arrive only through OpenMetrics: they prove which format was scraped.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let trace = format!("{TRACE_ID:032x}");
    loop {
        let found = prom.exemplars(
            r#"mega_agent_http_request_duration_seconds_bucket{job="om"}"#,
            600,
        );
        let ids: Vec<String> = found
            .iter()
            .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_string))
            .collect();
        if ids.contains(&trace) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exemplar with {trace}: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let text_exemplars = prom.exemplars(
        r#"mega_agent_http_request_duration_seconds_bucket{job="text"}"#,
        600,
    );
    assert!(
        text_exemplars.is_empty(),
        "text format carries no exemplars: {text_exemplars:?}"
    );
    om.shutdown();
    text.shutdown();
}

#[test]
fn scrape_endpoint_negotiates_and_can_require_a_token() {
    let c = MetricsCollector::new();
    c.record_cache_miss(Duration::from_millis(1));
    let s = MetricsServer::builder(c)
        .addr("127.0.0.1:0".parse().unwrap())
        .bearer_token("s3cret")
        .start()
        .unwrap();
    let url = format!("http://{}/metrics", s.local_addr());
    let http = common::http_client();
    assert_eq!(http.get(&url).send().unwrap().status(), 401);
    let r = http.get(&url).bearer_auth("wrong").send().unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(&url)
        .bearer_auth("s3cret")
        .header("Accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(r.text().unwrap().ends_with("# EOF\n"));
    let r = http.get(&url).bearer_auth("s3cret").send().unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(r.text().unwrap().contains("cache_misses_total 1"));
}

#[test]
fn busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = MetricsServer::builder(MetricsCollector::new())
        .addr(addr)
        .start()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&addr.to_string()) && msg.contains("METRICS_ADDR"),
        "{msg}"
    );
}
