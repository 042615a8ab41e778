//! The research workflow: its nodes, each a `#[trace_workflow_node]` (a span
//! and a `workflow_nodes_executed_total` count), and [`run_workflow`], which
//! runs them in order under one workflow span and timer.
//!
//! analyze_query → cache_lookup → retrieve_documents → load_documents →
//! call_llm → route, then sometimes a human review request.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use megaobs::metrics::{
    CacheHitKind, CacheOperation, GenAiOperation, Status, TokenUsage, WorkflowTimer,
};
use megaobs::trace::{workflow_span, GenAiStepSpan, LlmSpan};
use megaobs::trace_workflow_node;
use opentelemetry::trace::FutureExt as _;

use crate::app::App;
use crate::llm::{self, StreamEvent};
use crate::research::{ResearchRequest, ResearchResult};
use crate::vector::{embed, Embedding};

/// The workflow's name in metrics, spans and logs.
pub const WORKFLOW: &str = "research_workflow";

/// Why a node failed; its text becomes the span's error and the API's message.
#[derive(Debug)]
pub struct NodeError(String);

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[trace_workflow_node("analyze_query")]
fn analyze_query(query: &str) -> Result<Embedding, NodeError> {
    megaobs::trace::set_span_attribute("query.length", query.len() as i64);
    Ok(embed(query))
}

/// Exact hit by query text, semantic hit by embedding similarity; every 25th
/// request finds the cache unavailable and goes on without it.
#[trace_workflow_node("cache_lookup")]
fn cache_lookup(app: &App, query: &str, e: &Embedding) -> Option<(CacheHitKind, ResearchResult)> {
    let start = Instant::now();
    let n = app.next_id.load(Ordering::Relaxed);
    if n % 25 == 7 {
        app.collector.record_cache_error(CacheOperation::Get);
        tracing::warn!(
            operation = "get",
            "cache unavailable, continuing without it"
        );
        return None;
    }
    let found = app.cache.lookup(query, e);
    let latency = start.elapsed();
    match &found {
        Some((kind, _)) => app.collector.record_cache_hit(*kind, latency),
        None => app.collector.record_cache_miss(latency),
    }
    megaobs::log_cache_operation!(
        "get",
        found.is_some(),
        latency.as_secs_f64() * 1000.0,
        query
    );
    found
}

#[trace_workflow_node("retrieve_documents")]
fn retrieve_documents(app: &App, e: &Embedding) -> Vec<usize> {
    let start = Instant::now();
    let top = app.vectors.search(e, 3);
    app.collector
        .record_vector_store_operation("search", Status::Success, start.elapsed());
    top
}

#[trace_workflow_node("load_documents")]
fn load_documents(app: &App, ids: &[usize]) -> Result<Vec<String>, NodeError> {
    let start = Instant::now();
    // Every 10th query hits a missing table: a real SQLite error, counted.
    let fail = app.db_queries.fetch_add(1, Ordering::Relaxed) % 10 == 2;
    let rows = app
        .pool
        .with(&app.collector, |conn| -> rusqlite::Result<Vec<String>> {
            let sql = if fail {
                "SELECT title FROM missing_table WHERE id = ?1"
            } else {
                "SELECT title FROM documents WHERE id = ?1"
            };
            let mut stmt = conn.prepare_cached(sql)?;
            ids.iter()
                .map(|id| stmt.query_row([*id as i64], |r| r.get::<_, String>(0)))
                .collect()
        });
    let status = match &rows {
        Some(Ok(_)) => Status::Success,
        _ => Status::Error,
    };
    app.collector
        .record_database_query("select_documents", status, start.elapsed());
    match rows {
        Some(Ok(titles)) => Ok(titles),
        Some(Err(e)) => Err(NodeError(format!("database: {e}"))),
        None => Err(NodeError("database pool unavailable".into())),
    }
}

/// The LLM step, an agent step (`invoke_agent research_agent`): it formats the
/// sources with a tool (`execute_tool format_citations`), then asks a model
/// over HTTP (see `llm` and `provider`), its answer streamed chunk by chunk
/// into an `LlmSpan` (time to first chunk, four token types, cost). The HTTP
/// client retries 429s and 5xx itself; a call that still fails (or whose
/// stream breaks) is retried here with exponential backoff, up to 3 attempts,
/// each its own LLM span.
#[trace_workflow_node("call_llm")]
fn call_llm(app: &App, query: &str, sources: &[String]) -> Result<(String, String), NodeError> {
    let (model, provider) = llm::MODELS[query.len() % llm::MODELS.len()];
    let mut agent = GenAiStepSpan::invoke_agent(&app.collector, "research_agent");
    let _current = agent.enter();
    let tool = GenAiStepSpan::execute_tool(&app.collector, "format_citations");
    let context = format!("Documents: {}", sources.join("; "));
    tool.finish();
    // The workflow runs on a blocking thread of the runtime: wait for the call here.
    let runtime = tokio::runtime::Handle::current();
    let mut delay = Duration::from_millis(5);
    for attempt in 0..3 {
        let start = Instant::now();
        let mut call = LlmSpan::start(&app.collector, GenAiOperation::Chat, provider, model);
        // The HTTP client span is a child of the LLM span, the provider's
        // server span beneath that.
        let cx = call.context();
        let mut usage = TokenUsage::default();
        let streamed = app
            .llm
            .chat(model, &context, query, |event| match event {
                StreamEvent::Chunk => call.chunk(),
                StreamEvent::Usage(u) => {
                    usage = u;
                    call.set_usage(u);
                }
                StreamEvent::Finish(reason) => call.finish_reason(reason),
            })
            .with_context(cx);
        let result = runtime.block_on(streamed);
        match result {
            Ok(answer) => {
                call.finish();
                if attempt > 0 {
                    app.collector
                        .record_error_recovery_success("exponential_backoff");
                }
                megaobs::log_llm_request!(
                    model,
                    usage.total_input(),
                    usage.total_output(),
                    start.elapsed().as_secs_f64() * 1000.0,
                    cached_input_tokens = usage.cached_input,
                    reasoning_tokens = usage.reasoning
                );
                drop(_current);
                agent.finish();
                let answer = format!(
                    "{} (sources: {}; {} characters streamed)",
                    query.trim_end_matches('?'),
                    sources.join(", "),
                    answer.len()
                );
                return Ok((model.to_string(), answer));
            }
            Err(e) => {
                call.fail(e.error_type());
                app.collector
                    .record_error_recovery_attempt("exponential_backoff");
                tracing::warn!(model, attempt, error = %e, "LLM call failed, retrying with backoff");
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
    }
    drop(_current);
    agent.error("llm_unavailable");
    Err(NodeError(format!("{model} kept failing after 3 attempts")))
}

/// Picks the route and its confidence score.
#[trace_workflow_node("route")]
fn route(app: &App, query: &str) -> (&'static str, f64) {
    let confidence = 0.35 + 0.65 * app.random();
    let route = if query.contains("compare") || query.contains("evaluate") {
        "analysis"
    } else if confidence < 0.5 {
        "clarify"
    } else {
        "research"
    };
    app.collector.record_routing_decision(route, confidence);
    (route, confidence)
}

/// The research workflow, run on a blocking thread inside the request's span.
pub fn run_workflow(app: &App, req: &ResearchRequest) -> Result<ResearchResult, NodeError> {
    let _workflow = workflow_span(WORKFLOW);
    let mut timer = WorkflowTimer::new(&app.collector, WORKFLOW);
    megaobs::log_workflow_event!(
        WORKFLOW,
        "started",
        query = req.query.as_str(),
        user_id = req.user_id.as_str()
    );
    let id = app.next_id.fetch_add(1, Ordering::Relaxed);
    let e = analyze_query(&req.query)?;
    if let Some((kind, cached)) = cache_lookup(app, &req.query, &e) {
        let result = ResearchResult {
            id,
            query: req.query.clone(),
            cache: if kind == CacheHitKind::Exact {
                "exact"
            } else {
                "semantic"
            },
            ..cached
        };
        timer.set_status(Status::Success);
        megaobs::log_workflow_event!(WORKFLOW, "completed", cache = result.cache);
        return Ok(result);
    }
    let ids = retrieve_documents(app, &e);
    let sources = load_documents(app, &ids)?;
    let (model, answer) = call_llm(app, &req.query, &sources)?;
    let (route, confidence) = route(app, &req.query);
    let review = (confidence < 0.6).then_some("low_confidence");
    let result = ResearchResult {
        id,
        query: req.query.clone(),
        answer,
        sources,
        model,
        route: route.to_string(),
        confidence,
        cache: "miss",
        review: review.map(|_| "pending"),
    };
    if let Some(reason) = review {
        if app.reviews.push(id, reason) {
            app.collector
                .record_human_review_requested(WORKFLOW, reason);
        }
    }
    let set = Instant::now();
    app.cache.insert(req.query.clone(), e, result.clone());
    app.collector.record_cache_set(set.elapsed());
    timer.set_status(Status::Success);
    megaobs::log_workflow_event!(
        WORKFLOW,
        "completed",
        route = route,
        confidence = confidence
    );
    Ok(result)
}
