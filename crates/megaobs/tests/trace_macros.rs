//! The attribute macros: spans, error status, async context, workflow nodes.

mod common;

use std::time::Duration;

use common::receivers::{ReceivedSpan, Receivers};
use common::sample;
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::trace::{current_span_id, workflow_span};
use megaobs::{trace_async, trace_function, trace_workflow_node};

#[derive(Debug)]
struct NodeError(&'static str);

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node failed: {}", self.0)
    }
}

#[trace_function]
fn plain_sync(x: u32) -> u32 {
    nested(x) + 1
}

#[trace_function(name = "calculate_score")]
fn nested(x: u32) -> u32 {
    x * 2
}

#[trace_function]
fn fallible(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input.parse()?;
    Ok(n)
}

#[trace_async(name = "fetch_data")]
async fn fetch_data(query: String) -> (String, Option<String>, Option<String>) {
    let before = current_span_id();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let after = current_span_id();
    (query, before, after)
}

#[trace_workflow_node("analyze_query")]
async fn analyze_query(ok: bool) -> Result<&'static str, NodeError> {
    tokio::task::yield_now().await;
    if ok {
        Ok("analysis")
    } else {
        Err(NodeError("bad input"))
    }
}

#[trace_workflow_node("route", workflow = "explicit_workflow")]
fn route(confidence: f64) -> &'static str {
    if confidence > 0.5 {
        "research"
    } else {
        "clarify"
    }
}

// `impl Trait` in return types, with `?` in the body.
#[trace_function]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[trace_async]
async fn parsed_label(input: &str) -> Result<impl std::fmt::Display, std::num::ParseIntError> {
    tokio::task::yield_now().await;
    let n: u32 = input.parse()?;
    Ok(format!("#{n}"))
}

#[trace_workflow_node("exploding")]
fn exploding() {
    panic!("boom");
}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn macros_create_spans_mark_errors_and_count_nodes() {
    let rx = Receivers::new();
    let addr = rx.grpc();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("macros")
            .exporter(TracingExporter::Otlp)
            .otlp(format!("http://{addr}"), OtlpProtocol::Grpc),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    assert_eq!(plain_sync(20), 41);
    assert!(fallible("x").is_err());
    assert_eq!(fallible("7"), Ok(7));
    let (q, before, after) = rt.block_on(fetch_data("What is AI?".into()));
    assert_eq!(q, "What is AI?");
    assert!(
        before.is_some() && before == after,
        "the span stays current across .await"
    );
    {
        let _wf = workflow_span("research_workflow");
        assert_eq!(rt.block_on(analyze_query(true)).unwrap(), "analysis");
        assert_eq!(
            rt.block_on(analyze_query(false)).unwrap_err().to_string(),
            "node failed: bad input"
        );
        assert_eq!(route(0.9), "research");
        assert!(std::panic::catch_unwind(exploding).is_err());
    }
    assert_eq!(evens(7).collect::<Vec<_>>(), [0, 2, 4, 6]);
    assert_eq!(rt.block_on(parsed_label("42")).unwrap().to_string(), "#42");
    assert!(rt.block_on(parsed_label("x")).is_err());
    assert!(guard.shutdown());

    let spans = rx.spans();
    assert_eq!(span(&spans, "evens").status_code, 0);
    let labels: Vec<_> = spans.iter().filter(|s| s.name == "parsed_label").collect();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels.iter().filter(|s| s.status_code == 2).count(), 1);
    let outer = span(&spans, "plain_sync");
    let inner = span(&spans, "calculate_score");
    assert_eq!(inner.parent_span_id, outer.span_id);
    let failed: Vec<_> = spans.iter().filter(|s| s.name == "fallible").collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed.iter().filter(|s| s.status_code == 2).count(), 1);
    let err = failed.iter().find(|s| s.status_code == 2).unwrap();
    assert_eq!(
        err.status_message, "invalid digit found in string",
        "Display, not Debug"
    );
    let fetch = span(&spans, "fetch_data");
    assert_eq!(Some(fetch.span_id.clone()), before);

    let wf = span(&spans, "research_workflow");
    let nodes: Vec<_> = spans.iter().filter(|s| s.name == "analyze_query").collect();
    assert_eq!(nodes.len(), 2);
    for n in &nodes {
        assert_eq!(n.parent_span_id, wf.span_id);
        assert_eq!(n.attributes["workflow.name"], "research_workflow");
        assert_eq!(n.attributes["workflow.node"], "analyze_query");
    }
    assert_eq!(
        span(&spans, "route").attributes["workflow.name"],
        "explicit_workflow"
    );
    assert_eq!(span(&spans, "exploding").status_code, 2);

    let text = megaobs::metrics().encode_text();
    let count = |wf: &str, node: &str, status: &str| {
        sample(
            &text,
            &format!(
                r#"workflow_nodes_executed_total{{workflow_name="{wf}",node_name="{node}",status="{status}"}}"#
            ),
        )
    };
    assert_eq!(
        count("research_workflow", "analyze_query", "success"),
        Some(1.0)
    );
    assert_eq!(
        count("research_workflow", "analyze_query", "error"),
        Some(1.0)
    );
    assert_eq!(count("explicit_workflow", "route", "success"), Some(1.0));
    assert_eq!(count("research_workflow", "exploding", "error"), Some(1.0));
}

#[test]
fn misuse_gives_readable_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
