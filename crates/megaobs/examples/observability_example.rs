//! The main job: a small MegaAgent Pro research service, instrumented end to end.
//!
//! `POST /api/research {"query", "user_id"}` runs the research workflow:
//! analyze_query → cache lookup (exact, or "semantic" by embedding similarity) →
//! vector store retrieval (cosine search over the documents below) → database
//! (embedded SQLite, a small connection pool) → a simulated LLM call (deterministic
//! latency and tokens, transient failures retried with exponential backoff) →
//! routing with a confidence score → sometimes a human review (completed later).
//! `GET /api/research/{id}` fetches a result, `GET /api/reviews/pending` lists the
//! review queue; `/metrics`, `/health`, `/ready` come from `megaobs::http`.
//!
//! A built-in load generator calls the API over real HTTP with `traceparent`
//! headers (`--rps`), including repeated queries (cache hits), paraphrases
//! (semantic hits), bursts from one API key (rate-limited) and malformed requests.
//!
//! ```text
//! cargo run --release -p megaobs --example observability_example -- --duration 30
//! curl http://127.0.0.1:8000/metrics
//! ```

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use megaobs::config::TracingExporter;
use megaobs::http::{
    observability_routes, CountConnections, ObserveLayer, RateLimitLayer, Readiness, TraceHeaders,
};
use megaobs::metrics::{CacheHitKind, CacheOperation, ReviewDecision, Status, WorkflowTimer};
use megaobs::trace::{inject_context, workflow_span, LlmSpan};
use megaobs::{trace_workflow_node, MetricsCollector, ObservabilityConfig};
use serde::{Deserialize, Serialize};

/// A simulated MegaAgent Pro research service, instrumented with megaobs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Listen address (default: METRICS_ADDR, else 127.0.0.1:8000; port 0 picks one).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Run this many seconds, drain, flush, and exit 0 (default: until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Built-in load: research requests per second (0 = no load).
    #[arg(long, default_value_t = 5.0)]
    rps: f64,
}

const WORKFLOW: &str = "research_workflow";
const MODELS: [&str; 3] = ["claude-3-opus", "claude-3-haiku", "gpt-4o"];
const DIMENSIONS: usize = 64;

/// The document set shipped with the example (the vector store and the database hold it).
const DOCUMENTS: [(&str, &str); 12] = [
    ("Transformers", "transformer models use attention to relate every token of a sequence to every other token"),
    ("Retrieval augmented generation", "retrieval augmented generation grounds model answers in documents found by vector search"),
    ("Vector databases", "vector databases index embeddings and answer nearest neighbour queries by cosine similarity"),
    ("Prompt caching", "caching prompts and answers avoids repeated model calls for identical or similar questions"),
    ("Human review", "human reviewers approve or reject answers whose confidence is low"),
    ("Exponential backoff", "retrying transient failures with exponentially growing delays avoids overload"),
    ("Distributed tracing", "distributed tracing follows one request across services with trace and span ids"),
    ("Prometheus", "prometheus scrapes metrics over http and stores them as time series"),
    ("Structured logging", "structured logs are json objects that carry trace ids for correlation"),
    ("Rate limiting", "rate limiting protects an api by rejecting clients that exceed their quota"),
    ("Routing", "an agent router picks the workflow that best fits a query with a confidence score"),
    ("Evaluation", "evaluating language models compares answers against references and human judgement"),
];

/// A deterministic generator (xorshift64*): reproducible variety, not cryptography.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A bag-of-words embedding: each word hashed into one of 64 dimensions, normalised.
fn embed(text: &str) -> [f32; DIMENSIONS] {
    let mut v = [0f32; DIMENSIONS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let h = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        v[(h % DIMENSIONS as u64) as usize] += 1.0;
    }
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.map(|x| x / norm)
}

fn cosine(a: &[f32; DIMENSIONS], b: &[f32; DIMENSIONS]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[derive(Debug, Deserialize)]
struct ResearchRequest {
    query: String,
    user_id: String,
}

#[derive(Debug, Clone, Serialize)]
struct ResearchResult {
    id: u64,
    query: String,
    answer: String,
    sources: Vec<String>,
    model: String,
    route: String,
    confidence: f64,
    cache: &'static str,
    review: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
struct PendingReview {
    result_id: u64,
    reason: &'static str,
    #[serde(skip)]
    since: Instant,
}

/// A fixed pool of SQLite connections; `database_connections{state}` follows it.
struct Pool {
    idle: Mutex<Vec<rusqlite::Connection>>,
    size: usize,
}

impl Pool {
    fn new(size: usize) -> rusqlite::Result<Self> {
        let mut conns = Vec::with_capacity(size);
        for _ in 0..size {
            let c = rusqlite::Connection::open_in_memory()?;
            c.execute_batch("CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL)")?;
            for (i, (title, body)) in DOCUMENTS.iter().enumerate() {
                c.execute(
                    "INSERT INTO documents (id, title, body) VALUES (?1, ?2, ?3)",
                    (i as i64, title, body),
                )?;
            }
            conns.push(c);
        }
        Ok(Self {
            idle: Mutex::new(conns),
            size,
        })
    }

    fn with<T>(
        &self,
        c: &MetricsCollector,
        f: impl FnOnce(&rusqlite::Connection) -> T,
    ) -> Option<T> {
        let conn = {
            let mut idle = self.idle.lock().ok()?;
            let conn = idle.pop()?;
            c.set_database_connections((self.size - idle.len()) as i64, idle.len() as i64);
            conn
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().ok()?;
        idle.push(conn);
        c.set_database_connections((self.size - idle.len()) as i64, idle.len() as i64);
        Some(out)
    }
}

struct App {
    collector: MetricsCollector,
    documents: Vec<[f32; DIMENSIONS]>,
    cache: Mutex<Vec<(String, [f32; DIMENSIONS], ResearchResult)>>,
    pool: Pool,
    results: Mutex<HashMap<u64, ResearchResult>>,
    reviews: Mutex<VecDeque<PendingReview>>,
    next_id: AtomicU64,
    db_queries: AtomicU64,
    rng: Mutex<Rng>,
}

impl App {
    fn random(&self) -> f64 {
        self.rng.lock().map(|mut r| r.unit()).unwrap_or(0.5)
    }
}

#[derive(Debug)]
struct NodeError(String);

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[trace_workflow_node("analyze_query")]
fn analyze_query(query: &str) -> Result<[f32; DIMENSIONS], NodeError> {
    megaobs::trace::set_span_attribute("query.length", query.len() as i64);
    Ok(embed(query))
}

/// Exact hit by query text, semantic hit by embedding similarity ≥ 0.92.
#[trace_workflow_node("cache_lookup")]
fn cache_lookup(
    app: &App,
    query: &str,
    e: &[f32; DIMENSIONS],
) -> Option<(CacheHitKind, ResearchResult)> {
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
    let cache = app.cache.lock().ok()?;
    let found = cache
        .iter()
        .find(|(q, _, _)| q == query)
        .map(|(_, _, r)| (CacheHitKind::Exact, r.clone()))
        .or_else(|| {
            cache
                .iter()
                .find(|(_, ce, _)| cosine(ce, e) >= 0.92)
                .map(|(_, _, r)| (CacheHitKind::Semantic, r.clone()))
        });
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
fn retrieve_documents(app: &App, e: &[f32; DIMENSIONS]) -> Vec<usize> {
    let start = Instant::now();
    let mut scored: Vec<(usize, f32)> = app
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| (i, cosine(d, e)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<usize> = scored.iter().take(3).map(|(i, _)| *i).collect();
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

/// A simulated model call: latency and tokens derived from the query; 10% of
/// calls fail transiently and are retried with exponential backoff.
#[trace_workflow_node("call_llm")]
fn call_llm(app: &App, query: &str, sources: &[String]) -> Result<(String, String), NodeError> {
    let model = MODELS[query.len() % MODELS.len()];
    let provider = if model.starts_with("gpt") {
        "openai"
    } else {
        "anthropic"
    };
    let prompt_tokens = 50 + query.len() as u64 * 3 + sources.len() as u64 * 40;
    let mut delay = Duration::from_millis(5);
    for attempt in 0..3 {
        let start = Instant::now();
        let mut call = LlmSpan::start("chat", provider, model);
        std::thread::sleep(Duration::from_millis(10 + (prompt_tokens % 40)));
        if app.random() < 0.1 {
            // The failed attempt's span is marked failed; the metrics count it as an error.
            call.record_usage(model, prompt_tokens, 0);
            call.finish(&app.collector, Status::Error);
            app.collector
                .record_error_recovery_attempt("exponential_backoff");
            tracing::warn!(model, attempt, "LLM call failed, retrying with backoff");
            std::thread::sleep(delay);
            delay *= 2;
            continue;
        }
        let completion = prompt_tokens * 2;
        call.record_usage(model, prompt_tokens, completion);
        call.finish(&app.collector, Status::Success);
        if attempt > 0 {
            app.collector
                .record_error_recovery_success("exponential_backoff");
        }
        megaobs::log_llm_request!(
            model,
            prompt_tokens,
            completion,
            start.elapsed().as_secs_f64() * 1000.0
        );
        let answer = format!(
            "{} (sources: {})",
            query.trim_end_matches('?'),
            sources.join(", ")
        );
        return Ok((model.to_string(), answer));
    }
    Err(NodeError(format!("{model} kept failing after 3 attempts")))
}

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
fn run_workflow(app: &App, req: &ResearchRequest) -> Result<ResearchResult, NodeError> {
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
        if kind == CacheHitKind::Semantic {
            app.collector.record_llm_cache_hit(&cached.model);
        }
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
        app.collector
            .record_human_review_requested(WORKFLOW, reason);
        if let Ok(mut q) = app.reviews.lock() {
            q.push_back(PendingReview {
                result_id: id,
                reason,
                since: Instant::now(),
            });
        }
    }
    let set = Instant::now();
    if let Ok(mut cache) = app.cache.lock() {
        if cache.len() >= 200 {
            cache.remove(0);
        }
        cache.push((req.query.clone(), e, result.clone()));
    }
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

fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message.to_string() })),
    )
        .into_response()
}

async fn post_research(
    State(app): State<Arc<App>>,
    body: Result<Json<ResearchRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(rejection) => {
            return error(rejection.status(), "invalid_request", rejection.body_text())
        }
    };
    if req.query.trim().is_empty() || req.query.len() > 2_000 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            "query must be 1 to 2000 characters",
        );
    }
    if req.user_id.trim().is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user_id",
            "user_id must not be empty",
        );
    }
    // The request's server span is current here; carry it (with its name, for
    // the log lines) onto the blocking thread.
    let cx = megaobs::trace::current_context();
    let worker = Arc::clone(&app);
    let outcome = tokio::task::spawn_blocking(move || {
        let _cx = cx.attach();
        run_workflow(&worker, &req)
    })
    .await;
    match outcome {
        Ok(Ok(result)) => {
            if let Ok(mut r) = app.results.lock() {
                r.insert(result.id, result.clone());
            }
            (StatusCode::CREATED, Json(result)).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "research workflow failed");
            error(StatusCode::BAD_GATEWAY, "workflow_failed", e)
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    }
}

async fn get_research(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "invalid_id", "id must be a number");
    };
    match app.results.lock().ok().and_then(|r| r.get(&id).cloned()) {
        Some(result) => Json(result).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no research result {id}"),
        ),
    }
}

async fn pending_reviews(State(app): State<Arc<App>>) -> Response {
    let pending: Vec<PendingReview> = app
        .reviews
        .lock()
        .map(|q| q.iter().cloned().collect())
        .unwrap_or_default();
    Json(serde_json::json!({ "pending": pending })).into_response()
}

/// Reviewers: complete reviews that have waited a while (80% approved).
async fn reviewers(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let done: Vec<PendingReview> = match app.reviews.lock() {
            Ok(mut q) => {
                let ready = q
                    .iter()
                    .take_while(|r| r.since.elapsed() > Duration::from_secs(1))
                    .count();
                q.drain(..ready).collect()
            }
            Err(_) => Vec::new(),
        };
        for r in done {
            let decision = if app.random() < 0.8 {
                ReviewDecision::Approved
            } else {
                ReviewDecision::Rejected
            };
            app.collector
                .record_human_review_completed(WORKFLOW, decision, r.since.elapsed());
            tracing::info!(
                result_id = r.result_id,
                decision = decision.as_str(),
                reason = r.reason,
                "human review completed"
            );
            if let Ok(mut results) = app.results.lock() {
                if let Some(res) = results.get_mut(&r.result_id) {
                    res.review = Some(decision.as_str());
                }
            }
        }
    }
}

const QUERIES: [&str; 10] = [
    "How do transformer models use attention?",
    "What is retrieval augmented generation?",
    "How do vector databases answer nearest neighbour queries?",
    "Why cache prompts and answers?",
    "When should a human review an answer?",
    "How does exponential backoff avoid overload?",
    "What does distributed tracing follow?",
    "How does prometheus store metrics?",
    "compare structured logging and plain logs",
    "evaluate language models against references",
];

/// Load statistics for the status line.
#[derive(Default)]
struct LoadStats {
    requests: AtomicU64,
    errors: AtomicU64,
    latencies_us: Mutex<VecDeque<u64>>,
}

impl LoadStats {
    fn p95_ms(&self) -> f64 {
        let mut v: Vec<u64> = self
            .latencies_us
            .lock()
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_unstable();
        v[(v.len() * 95 / 100).min(v.len() - 1)] as f64 / 1000.0
    }
}

/// The built-in client: real HTTP requests with a W3C `traceparent` of their own.
async fn load_generator(
    base: String,
    rps: f64,
    sample_rate: f64,
    rate_limit: u32,
    stats: Arc<LoadStats>,
) {
    let client = reqwest::Client::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rps));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        n += 1;
        if n % 100 == 50 {
            // A burst from one client, past its rate limit: some get 429 + Retry-After.
            for _ in 0..rate_limit.saturating_add(5).min(500) {
                let (client, url) = (client.clone(), format!("{base}/api/reviews/pending"));
                tokio::spawn(async move {
                    let _ = client
                        .get(url)
                        .header("x-api-key", "burst-client")
                        .send()
                        .await;
                });
            }
        }
        let (body, key) = match n % 50 {
            // A malformed request now and then: the API answers 4xx JSON.
            17 => ("{\"query\": ".to_string(), "client-bad".to_string()),
            _ => {
                let q = QUERIES[(rng.next() % QUERIES.len() as u64) as usize];
                // Paraphrases hit the cache semantically; new questions miss it.
                let r = rng.unit();
                let q = if r < 0.2 {
                    format!("{} please", q.trim_end_matches('?'))
                } else if r < 0.45 {
                    format!(
                        "{} in year {}",
                        q.trim_end_matches('?'),
                        2000 + rng.next() % 30
                    )
                } else {
                    q.to_string()
                };
                let key = format!("client-{}", n % 7);
                (
                    serde_json::json!({ "query": q, "user_id": format!("user-{}", n % 13) })
                        .to_string(),
                    key,
                )
            }
        };
        // A remote caller's trace context (the caller's own span is not exported here).
        let sc = opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from_bytes(
                u128::from(rng.next())
                    .wrapping_shl(64)
                    .wrapping_add(u128::from(rng.next()))
                    .to_be_bytes(),
            ),
            opentelemetry::trace::SpanId::from_bytes(rng.next().to_be_bytes()),
            // The caller samples at the configured rate; the service follows its parent.
            if rng.unit() < sample_rate {
                opentelemetry::trace::TraceFlags::SAMPLED
            } else {
                opentelemetry::trace::TraceFlags::default()
            },
            true,
            opentelemetry::trace::TraceState::default(),
        );
        let mut headers = axum::http::HeaderMap::new();
        {
            use opentelemetry::trace::TraceContextExt;
            inject_context(
                &opentelemetry::Context::new().with_remote_span_context(sc),
                &mut headers,
            );
        }
        let mut req = client
            .post(format!("{base}/api/research"))
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(body);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_bytes());
        }
        let stats = Arc::clone(&stats);
        let (task_client, task_base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let (client, base) = (task_client, task_base);
            let start = Instant::now();
            let resp = req.send().await;
            stats.requests.fetch_add(1, Ordering::Relaxed);
            match resp {
                Ok(r) if r.status().is_success() => {
                    if let Ok(v) = r.json::<serde_json::Value>().await {
                        if let Some(id) = v["id"].as_u64() {
                            let _ = client.get(format!("{base}/api/research/{id}")).send().await;
                        }
                    }
                }
                _ => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Ok(mut l) = stats.latencies_us.lock() {
                if l.len() >= 1_000 {
                    l.pop_front();
                }
                l.push_back(start.elapsed().as_micros() as u64);
            }
        });
        if n % 30 == 0 {
            let _ = client
                .get(format!("{base}/api/reviews/pending"))
                .send()
                .await;
            let _ = client
                .get(format!("{base}/api/research/999999"))
                .send()
                .await;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = ObservabilityConfig::from_env()?;
    if !(0.0..=10_000.0).contains(&args.rps) {
        return Err(format!("--rps must be between 0 and 10000, got {}", args.rps).into());
    }
    let addr = args.listen.unwrap_or(config.metrics.addr);

    // Logs: JSON files in LOG_DIR (default ./logs); the console stays for the banner.
    let mut logging = config.logging.clone();
    logging.console = false;
    let (log_dir, service) = (logging.dir.clone(), logging.service_name.clone());
    let log_guard = megaobs::init_logging(logging)?;
    // Traces: the console exporter prints one line per sampled span; unless
    // TRACING_SAMPLE_RATE says otherwise, sample 10% so the console stays readable.
    let mut tracing_config = config.tracing.clone();
    if tracing_config.exporter == TracingExporter::Console
        && std::env::var_os("TRACING_SAMPLE_RATE").is_none()
    {
        tracing_config.sample_rate = 0.1;
    }
    let trace_guard = megaobs::init_tracing(tracing_config.clone())?;

    let collector = megaobs::metrics().clone();
    collector.set_vector_store_collection(
        "research_documents",
        DIMENSIONS as u32,
        DOCUMENTS.len() as u64,
    );
    let app = Arc::new(App {
        collector: collector.clone(),
        documents: DOCUMENTS
            .iter()
            .map(|(t, b)| embed(&format!("{t} {b}")))
            .collect(),
        cache: Mutex::new(Vec::new()),
        pool: Pool::new(4)?,
        results: Mutex::new(HashMap::new()),
        reviews: Mutex::new(VecDeque::new()),
        next_id: AtomicU64::new(1),
        db_queries: AtomicU64::new(0),
        rng: Mutex::new(Rng(0x2545_F491_4F6C_DD1D)),
    });
    collector.set_database_connections(0, 4);

    let readiness = Readiness::new();
    let api = Router::new()
        .route("/api/research", post(post_research))
        .route("/api/research/{id}", get(get_research))
        .route("/api/reviews/pending", get(pending_reviews))
        .fallback(megaobs::http::not_found)
        .with_state(Arc::clone(&app))
        // One `Router::layer` call for all three, outermost first: axum wraps (and
        // clones, per request) each route once per `layer` call.
        .layer(
            tower::ServiceBuilder::new()
                // Both trace headers: `curl -i` shows the id to paste into Jaeger or a log search.
                .layer(ObserveLayer::new(collector.clone()).trace_headers(TraceHeaders::Both))
                .layer(RateLimitLayer::from_config(
                    "api_default",
                    &config.api,
                    collector.clone(),
                ))
                .layer(DefaultBodyLimit::max(64 * 1024)),
        );
    let router = observability_routes(collector.clone(), readiness.clone()).merge(api);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (use --listen or METRICS_ADDR)"))?;
    let local = listener.local_addr()?;

    println!("megaobs observability example (service {service:?})");
    println!("  api:     http://{local}/api/research   (POST {{\"query\", \"user_id\"}}; GET /api/research/{{id}}, /api/reviews/pending)");
    println!(
        "  metrics: http://{local}/metrics   (also /health, /ready; --listen or METRICS_ADDR)"
    );
    println!(
        "  traces:  {} exporter, sample rate {}   (TRACING_EXPORTER, TRACING_SAMPLE_RATE, OTLP_ENDPOINT, ...)",
        tracing_config.exporter.as_str(),
        tracing_config.sample_rate
    );
    println!(
        "  logs:    {}/{service}.log and {service}.error.log, JSON   (LOG_DIR, LOG_LEVEL, LOG_FORMAT, LOG_SYSLOG)",
        log_dir.display()
    );
    println!(
        "  load:    {} research requests/s over HTTP, rate limit {} per {:?} per client; {}",
        args.rps,
        config.api.rate_limit,
        config.api.rate_window,
        match args.duration {
            Some(d) => format!("stopping after {d} s"),
            None => "Ctrl-C to stop".to_string(),
        }
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let mut stop = stop_rx.clone();
        // Counts the server's open connections (mega_agent_open_connections).
        let make = CountConnections::new(
            router.into_make_service_with_connect_info::<SocketAddr>(),
            collector.clone(),
        );
        tokio::spawn(async move {
            axum::serve(listener, make)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    readiness.set_ready(true);
    let reviewer = tokio::spawn(reviewers(Arc::clone(&app)));
    let stats = Arc::new(LoadStats::default());
    let load = (args.rps > 0.0).then(|| {
        tokio::spawn(load_generator(
            format!("http://{local}"),
            args.rps,
            tracing_config.sample_rate,
            config.api.rate_limit,
            Arc::clone(&stats),
        ))
    });
    let status = {
        let (stats, collector) = (Arc::clone(&stats), collector.clone());
        tokio::spawn(async move {
            let every = Duration::from_secs(5);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                // Not println!: a closed stdout must not bring the service down.
                let _ = writeln!(
                    std::io::stdout(),
                    "  status: {} requests, {} errors, p95 {:.1} ms, cache hit rate {:.2}, {} reviews pending",
                    stats.requests.load(Ordering::Relaxed),
                    stats.errors.load(Ordering::Relaxed),
                    stats.p95_ms(),
                    collector.cache_hit_rate(),
                    collector.human_reviews_pending()
                );
            }
        })
    };

    match args.duration {
        Some(d) => tokio::time::sleep(Duration::from_secs_f64(d.max(0.0))).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    // Graceful shutdown: stop the load, stop accepting, drain, then flush traces and logs.
    if let Some(l) = load {
        l.abort();
    }
    readiness.set_ready(false);
    let _ = stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => eprintln!("server error: {e}"),
        Ok(Err(e)) => eprintln!("server task failed: {e}"),
        Err(_) => eprintln!("server did not drain within 10 s"),
    }
    reviewer.abort();
    status.abort();
    // The exporter may block briefly: off the async threads.
    let _ = tokio::task::spawn_blocking(move || {
        drop(trace_guard); // exports every queued span
        drop(log_guard); // writes every queued line
    })
    .await;
    let _ = writeln!(std::io::stdout(), "stopped cleanly");
    Ok(())
}
