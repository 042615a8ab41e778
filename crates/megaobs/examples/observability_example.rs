//! The main job: a simulated MegaAgent Pro research service, instrumented with megaobs.
//!
//! Today it exercises the metrics, logging and tracing pillars end to end:
//! simulated research workflows (nodes, cache, vector store, database, LLM calls,
//! routing, human reviews, error recovery) record every metric family, `/metrics`
//! serves them, JSON logs go to `./logs/`, and each request is one trace
//! (console exporter by default; any exporter through `TRACING_EXPORTER`).
//!
//! ```text
//! cargo run --release -p megaobs --example observability_example -- --duration 10
//! curl http://127.0.0.1:8000/metrics
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use megaobs::config::TracingExporter;
use megaobs::metrics::{
    CacheHitKind, CacheOperation, MetricsServer, ReviewDecision, Status, WorkflowTimer,
};
use megaobs::trace::LlmSpan;
use megaobs::{MetricsCollector, ObservabilityConfig};

/// A simulated MegaAgent Pro research service, instrumented with megaobs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address of the `/metrics` listener (default: METRICS_ADDR, else 127.0.0.1:8000).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Run this many seconds, flush, and exit 0 (default: until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Simulated research requests per second.
    #[arg(long, default_value_t = 5.0)]
    rps: f64,
}

const MODELS: [&str; 3] = ["claude-3-opus", "claude-3-haiku", "gpt-4o"];
const ROUTES: [&str; 3] = ["research", "summarize", "clarify"];

/// A small deterministic generator (xorshift64*): the simulation needs
/// reproducible variety, not cryptographic randomness.
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
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn ms(x: f64) -> Duration {
    Duration::from_secs_f64(x / 1000.0)
}

/// One simulated research request, recorded the way a real service would.
fn research(c: &MetricsCollector, rng: &mut Rng, pending_reviews: &mut Vec<Instant>) {
    let wf = "research_workflow";
    let mut timer = WorkflowTimer::new(c, wf);
    c.connection_opened();
    let http_start = Instant::now();

    // One trace per request: the workflow span, its nodes and the LLM call as children.
    let _workflow = megaobs::trace::workflow_span(wf);
    megaobs::log_workflow_event!(wf, "started", user_id = "user-42");
    c.record_workflow_node(wf, "analyze_query", Status::Success);
    // Cache: exact hits, semantic hits, misses (then a set), rare errors.
    let r = rng.unit();
    megaobs::log_cache_operation!("get", r < 0.45, 0.5, "query:research");
    if r < 0.3 {
        c.record_cache_hit(CacheHitKind::Exact, ms(0.2 + rng.unit()));
    } else if r < 0.45 {
        c.record_cache_hit(CacheHitKind::Semantic, ms(2.0 + 3.0 * rng.unit()));
        c.record_llm_cache_hit(rng.pick(&MODELS));
    } else {
        c.record_cache_miss(ms(0.5 + rng.unit()));
        c.record_cache_set(ms(0.3 + rng.unit()));
    }
    if rng.unit() < 0.01 {
        c.record_cache_error(CacheOperation::Get);
    }
    c.record_vector_store_operation("search", Status::Success, ms(3.0 + 10.0 * rng.unit()));
    c.record_workflow_node(wf, "retrieve_documents", Status::Success);
    let db_status = if rng.unit() < 0.02 {
        Status::Error
    } else {
        Status::Success
    };
    c.record_database_query("select_documents", db_status, ms(1.0 + 5.0 * rng.unit()));
    c.set_database_connections(1 + (rng.next() % 4) as i64, 4);

    // LLM call, with transient failures recovered by exponential backoff.
    let model = rng.pick(&MODELS);
    let mut status = Status::Success;
    if rng.unit() < 0.1 {
        c.record_llm_request(model, Status::Error, ms(50.0 + 100.0 * rng.unit()), 150, 0);
        tracing::warn!(
            model,
            strategy = "exponential_backoff",
            "LLM call failed, retrying"
        );
        c.record_error_recovery_attempt("exponential_backoff");
        if rng.unit() < 0.8 {
            c.record_error_recovery_success("exponential_backoff");
        } else {
            status = Status::Error;
        }
    }
    if status == Status::Success {
        let prompt = 100 + rng.next() % 400;
        let latency = ms(300.0 + 2500.0 * rng.unit());
        let provider = if model.starts_with("gpt") {
            "openai"
        } else {
            "anthropic"
        };
        let mut call = LlmSpan::start("chat", provider, model);
        call.record_usage(model, prompt, prompt * 2);
        drop(call); // the span; the metrics with the simulated latency below
        c.record_llm_request(model, Status::Success, latency, prompt, prompt * 2);
        megaobs::log_llm_request!(model, prompt, prompt * 2, latency.as_secs_f64() * 1000.0);
    }
    c.record_workflow_node(wf, "call_llm", status);
    c.record_routing_decision(rng.pick(&ROUTES), 0.5 + 0.5 * rng.unit());
    c.record_workflow_node(wf, "route", Status::Success);

    if rng.unit() < 0.1 {
        c.record_human_review_requested(wf, "quality_check");
        pending_reviews.push(Instant::now());
    }
    if pending_reviews.len() > 3 || (!pending_reviews.is_empty() && rng.unit() < 0.1) {
        let requested = pending_reviews.remove(0);
        let decision = if rng.unit() < 0.8 {
            ReviewDecision::Approved
        } else {
            ReviewDecision::Rejected
        };
        c.record_human_review_completed(wf, decision, requested.elapsed());
    }
    c.record_workflow_node(wf, "finalize", status);
    if status == Status::Success {
        megaobs::log_workflow_event!(wf, "completed");
    } else {
        tracing::error!(workflow_name = wf, "Workflow failed after retries");
    }
    timer.set_status(status);
    drop(timer);

    let code = if status == Status::Success { 200 } else { 500 };
    c.record_http_request("POST", "/api/research", code, http_start.elapsed());
    if rng.unit() < 0.05 {
        c.record_rate_limit_rejection("api_default");
        c.record_http_request("POST", "/api/research", 429, ms(0.1));
    }
    c.connection_closed();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = ObservabilityConfig::from_env()?;
    let addr = args.listen.unwrap_or(config.metrics.addr);
    if !(args.rps > 0.0 && args.rps <= 10_000.0) {
        return Err(format!("--rps must be between 0 and 10000, got {}", args.rps).into());
    }
    // Logs: JSON files in LOG_DIR (default ./logs); the console keeps the banner readable.
    let mut logging = config.logging.clone();
    logging.console = false;
    let log_dir = logging.dir.clone();
    let service = logging.service_name.clone();
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
    collector.set_vector_store_collection("research_documents", 384, 1200);
    let server = MetricsServer::builder(collector.clone())
        .addr(addr)
        .start()?;

    println!(
        "megaobs observability example (service {:?})",
        config.tracing.service_name
    );
    println!(
        "  metrics: http://{}/metrics   (change with --listen or METRICS_ADDR)",
        server.local_addr()
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
        "  load:    {} simulated research requests/s; {}",
        args.rps,
        match args.duration {
            Some(d) => format!("stopping after {d} s"),
            None => "Ctrl-C to stop".to_string(),
        }
    );

    let work = {
        let collector = collector.clone();
        let rps = args.rps;
        async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
            let mut pending = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rps));
            let every = Duration::from_secs(5);
            let mut status = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            let mut done = 0u64;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        research(&collector, &mut rng, &mut pending);
                        done += 1;
                    }
                    _ = status.tick() => {
                        println!("  status: {done} requests, cache hit rate {:.2}, {} reviews pending",
                            collector.cache_hit_rate(), collector.human_reviews_pending());
                    }
                }
            }
        }
    };
    let stop = async {
        match args.duration {
            Some(d) => tokio::time::sleep(Duration::from_secs_f64(d.max(0.0))).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        _ = work => {}
        _ = stop => {}
    }
    server.shutdown();
    drop(trace_guard); // exports every queued span
    drop(log_guard); // writes every queued line
    println!("stopped cleanly");
    Ok(())
}
