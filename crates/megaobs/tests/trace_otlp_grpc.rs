//! Tracing end to end over OTLP/gRPC into an in-process receiver: manual spans,
//! `tracing` spans, parent/child links, status, resource, redaction, GenAI
//! attributes, propagation, log lines and exemplars carrying the exported ids,
//! and the shutdown flush. `init_tracing` runs before `init_logging` here (the
//! HTTP test does the opposite order).

mod common;

use std::time::Duration;

use common::receivers::{ReceivedSpan, Receivers};
use megaobs::config::{LoggingConfig, OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::metrics::{Format, Status};
use megaobs::trace::{
    add_span_event, current_span_id, current_trace_id, extract_context, inject_current,
    set_span_attribute, LlmSpan, TracingContext,
};

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name:?} in {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

#[tracing::instrument(fields(query = %query))]
fn analyze_query(query: &str, auth_token: &str) -> usize {
    tracing::info!("in tracing span");
    tracing::warn!(password = "hunter2", "retrying login");
    let _inner = TracingContext::new("inner_manual");
    query.len()
}

#[test]
fn spans_logs_and_exemplars_share_one_trace() {
    let rx = Receivers::new();
    let addr = rx.grpc();
    let config = TracingConfig::default()
        .service_name("trace-e2e")
        .service_version("1.2.3")
        .deployment_environment("test")
        .exporter(TracingExporter::Otlp)
        // The original design's scheme-less form: plain http, not TLS.
        .otlp(format!("127.0.0.1:{}", addr.port()), OtlpProtocol::Grpc)
        .scheduled_delay(Duration::from_millis(100));
    let guard = megaobs::init_tracing(config.clone()).expect("init_tracing");
    let again = megaobs::init_tracing(config)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(again.contains("init_tracing"), "{again}");
    let logs = tempfile::tempdir().unwrap();
    let log_guard = megaobs::init_logging(
        LoggingConfig::default()
            .console(false)
            .dir(logs.path())
            .service_name("trace-e2e")
            // A custom list applies to spans too (set after init_tracing here).
            .redact(
                megaobs::logging::redact::DEFAULT_SECRET_NAMES
                    .iter()
                    .copied()
                    .chain(["ssn"]),
            ),
    )
    .expect("init_logging after init_tracing");

    let collector = megaobs::metrics();
    let (root_trace, root_span);
    {
        let root = TracingContext::new("research_workflow");
        root.set_attribute("user_id", "123");
        root.set_attribute("api_key", "sk-live-secret");
        root.set_attribute("ssn", "123-45-6789");
        {
            // A span made with the OpenTelemetry API, with a secret in a link.
            use opentelemetry::trace::{Link, Tracer as _};
            let app = opentelemetry::global::tracer("app");
            let _linked = app
                .span_builder("linked")
                .with_links(vec![Link::new(
                    opentelemetry::trace::TraceContextExt::span(&opentelemetry::Context::current())
                        .span_context()
                        .clone(),
                    vec![
                        opentelemetry::KeyValue::new("session_token", "tok-9"),
                        opentelemetry::KeyValue::new("reason", "retry"),
                    ],
                    0,
                )])
                .start(&app);
        }
        root.add_event("operation_started");
        root_trace = current_trace_id().unwrap();
        root_span = current_span_id().unwrap();
        assert_eq!(root.trace_id().as_deref(), Some(root_trace.as_str()));
        tracing::info!(step = 1, "inside root");
        collector.record_workflow_execution(
            "traced_wf",
            Status::Success,
            Duration::from_millis(30),
        );
        analyze_query("What is AI?", "tok-live-123");
        {
            let failing = TracingContext::new("failing_step");
            failing.record_error(&std::io::Error::other("database unreachable"));
            set_span_attribute("attempt", 2);
            add_span_event("retry_scheduled", vec![]);
        }
        collector.set_prices(
            megaobs::metrics::PriceTable::from_toml_str(
                "[models.\"claude-3-opus\"]\ninput = 15.0\ncached_input = 1.5\noutput = 75.0",
            )
            .unwrap(),
        );
        let mut llm = LlmSpan::start(
            collector,
            megaobs::metrics::GenAiOperation::Chat,
            "anthropic",
            "claude-3-opus",
        );
        for _ in 0..5 {
            llm.chunk();
        }
        llm.set_response_model("claude-3-opus-20240229");
        llm.set_usage(megaobs::metrics::TokenUsage::from_anthropic(
            50, 0, 100, 300,
        ));
        llm.finish_reason("end_turn");
        llm.finish();
        root.add_event("operation_completed");
    }

    // Propagation: a request carrying a W3C traceparent continues the caller's trace.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .unwrap(),
    );
    let outgoing = {
        let server = TracingContext::builder("handle_request")
            .kind(opentelemetry::trace::SpanKind::Server)
            .attribute("client_secret", "s3cr3t")
            .parent(extract_context(&headers))
            .start();
        let mut out = http::HeaderMap::new();
        inject_current(&mut out);
        drop(server);
        out
    };
    let tp = outgoing["traceparent"].to_str().unwrap().to_string();
    assert!(
        tp.starts_with("00-0af7651916cd43dd8448eb211c80319c-") && tp.ends_with("-01"),
        "{tp}"
    );

    assert!(guard.flush(), "flush");
    let spans = rx.wait_for(Duration::from_secs(10), |s| s.len() >= 7);
    let root = by_name(&spans, "research_workflow");
    assert_eq!(root.trace_id, root_trace);
    assert_eq!(root.span_id, root_span);
    assert_eq!(root.parent_span_id, "");
    assert_eq!(root.service, "trace-e2e");
    assert_eq!(root.scope, "megaobs");
    assert_eq!(root.attributes["user_id"], "123");
    assert_eq!(
        root.attributes["api_key"], "[REDACTED]",
        "secrets are redacted in span attributes"
    );
    assert_eq!(
        root.attributes["ssn"], "[REDACTED]",
        "LoggingConfig::redact's names apply to spans"
    );
    let linked = by_name(&spans, "linked");
    assert_eq!(linked.links.len(), 1);
    assert_eq!(linked.links[0]["session_token"], "[REDACTED]");
    assert_eq!(linked.links[0]["reason"], "retry");
    let events: Vec<&str> = root.events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(events, ["operation_started", "operation_completed"]);

    let tspan = by_name(&spans, "analyze_query");
    assert_eq!(tspan.trace_id, root_trace, "a tracing span joins the trace");
    assert_eq!(tspan.parent_span_id, root_span);
    assert_eq!(tspan.attributes["query"], "What is AI?");
    // Fields of `tracing` spans and events are redacted like megaobs' own.
    assert_eq!(tspan.attributes["auth_token"], "[REDACTED]");
    let retry = tspan
        .events
        .iter()
        .find(|(n, _)| n == "retrying login")
        .expect("a WARN event becomes a span event");
    assert_eq!(retry.1["password"], "[REDACTED]");
    let inner = by_name(&spans, "inner_manual");
    assert_eq!(
        inner.parent_span_id, tspan.span_id,
        "a manual span inside a tracing span is its child"
    );

    let failing = by_name(&spans, "failing_step");
    assert_eq!(failing.status_code, 2, "error status");
    assert_eq!(failing.status_message, "database unreachable");
    assert_eq!(failing.attributes["attempt"], "2");
    let exc = failing
        .events
        .iter()
        .find(|(n, _)| n == "exception")
        .expect("exception event");
    assert_eq!(exc.1["exception.message"], "database unreachable");

    let llm = by_name(&spans, "chat claude-3-opus");
    assert_eq!(llm.kind, 3, "client span");
    assert_eq!(llm.parent_span_id, root_span);
    for (k, v) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "anthropic"),
        ("gen_ai.request.model", "claude-3-opus"),
        ("gen_ai.response.model", "claude-3-opus-20240229"),
        ("gen_ai.usage.input_tokens", "150"),
        ("gen_ai.usage.output_tokens", "300"),
        ("gen_ai.usage.cache_read.input_tokens", "100"),
        ("gen_ai.usage.reasoning.output_tokens", "0"),
        ("gen_ai.request.stream", "true"),
    ] {
        assert_eq!(llm.attributes[k], v, "{k}");
    }
    assert!(
        llm.attributes["gen_ai.response.finish_reasons"].contains("\"end_turn\""),
        "{:?}",
        llm.attributes
    );
    let cost: f64 = llm.attributes["gen_ai.usage.cost"].parse().unwrap();
    assert_eq!(
        cost,
        50.0 * 15.0 / 1e6 + 100.0 * 1.5 / 1e6 + 300.0 * 75.0 / 1e6
    );
    let ttfc: f64 = llm.attributes["gen_ai.response.time_to_first_chunk"]
        .parse()
        .unwrap();
    assert!((0.0..1.0).contains(&ttfc), "{ttfc}");

    let server = by_name(&spans, "handle_request");
    assert_eq!(server.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(server.parent_span_id, "b7ad6b7169203331");
    assert_eq!(server.kind, 2);
    assert_eq!(
        server.attributes["client_secret"], "[REDACTED]",
        "attributes given to the builder too"
    );
    assert!(
        tp.contains(&server.span_id),
        "outgoing traceparent names the server span"
    );

    // Log lines carry the ids of the spans the receiver got.
    assert!(log_guard.flush(Duration::from_secs(5)));
    let text = std::fs::read_to_string(logs.path().join("trace-e2e.log")).unwrap();
    let line = |msg: &str| -> serde_json::Value {
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["message"] == msg)
            .unwrap_or_else(|| panic!("no log line {msg:?} in {text}"))
    };
    let l = line("inside root");
    assert_eq!(
        (l["trace_id"].as_str(), l["span_id"].as_str()),
        (Some(root_trace.as_str()), Some(root_span.as_str()))
    );
    assert_eq!(l["function"], "research_workflow");
    let l = line("in tracing span");
    assert_eq!(l["trace_id"], root_trace.as_str());
    assert_eq!(l["span_id"], tspan.span_id.as_str());
    assert_eq!(l["function"], "analyze_query");

    // The latency histogram's exemplar is the root span.
    let om = collector.encode(Format::OpenMetrics);
    let exemplar = format!("trace_id=\"{root_trace}\",span_id=\"{root_span}\"");
    assert!(
        om.lines().any(|l| l
            .starts_with("workflow_duration_seconds_bucket{workflow_name=\"traced_wf\"")
            && l.contains(&exemplar)),
        "no exemplar {exemplar}"
    );
    let chat = r#"gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="claude-3-opus""#;
    let llm_series = om.lines().find(|l| {
        l.starts_with(&format!(
            r#"gen_ai_client_token_usage_sum{{{chat},gen_ai_token_type="output"}}"#
        ))
    });
    assert!(
        llm_series.is_some_and(|l| l.ends_with(" 300.0")),
        "LlmSpan::finish records metrics"
    );
    // The duration and time-to-first-chunk exemplars are the LLM span itself.
    let llm_exemplar = format!("trace_id=\"{}\",span_id=\"{}\"", llm.trace_id, llm.span_id);
    for family in [
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
    ] {
        assert!(
            om.lines()
                .any(|l| l.starts_with(&format!("{family}{{{chat}")) && l.contains(&llm_exemplar)),
            "no exemplar {llm_exemplar} on {family}"
        );
    }

    // Shutdown flush: every span finished before the guard drops reaches the receiver.
    const N: usize = 500;
    for i in 0..N {
        let s = TracingContext::new("flush_me");
        s.set_attribute("i", i as i64);
    }
    drop(guard);
    let flushed = rx.spans().iter().filter(|s| s.name == "flush_me").count();
    assert_eq!(flushed, N, "all queued spans are exported at shutdown");
    let exposition = collector.encode_text();
    assert!(exposition.contains("otel_spans_dropped_total{reason=\"queue_full\"} 0"));
    drop(log_guard);
}
