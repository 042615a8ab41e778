//! The main job: a small MegaAgent Pro research service, instrumented end to end.
//!
//! `POST /api/research {"query", "user_id"}` runs the research workflow:
//! analyze_query → cache lookup (exact, or "semantic" by embedding similarity) →
//! vector store retrieval (cosine search over the documents) → database
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
//!
//! This file parses the flags, sets up logs and traces, starts the server and
//! the background tasks, and shuts everything down gracefully. The rest:
//!
//! | module | what it is |
//! | --- | --- |
//! | [`app`] | the shared state behind every request |
//! | [`handlers`] | the HTTP routes, handlers and JSON error responses |
//! | [`workflow`] | the workflow nodes and `run_workflow` |
//! | [`research`] | the request and result records |
//! | [`results`] | the recent results, bounded in number and age |
//! | [`cache`] | the answer cache (exact and semantic hits) |
//! | [`vector`] | embeddings, cosine similarity, the vector store |
//! | [`documents`] | the document set |
//! | [`database`] | the SQLite connection pool |
//! | [`reviews`] | the human review queue and the reviewers |
//! | [`load`] | the built-in load generator and its statistics |
//! | [`status`] | the start banner and the status lines |
//! | [`rng`] | the deterministic random numbers of the simulation |

mod app;
mod cache;
mod database;
mod documents;
mod handlers;
mod llm;
mod load;
mod provider;
mod research;
mod results;
mod reviews;
mod rng;
mod status;
mod vector;
mod workflow;

use std::error::Error;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use megaobs::config::TracingExporter;
use megaobs::http::{shutdown_signal, Readiness, Server};
use megaobs::ObservabilityConfig;

use crate::app::App;
use crate::load::{load_generator, LoadStats};

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
    /// Serve /metrics on this address instead of on the API's listener (a
    /// scrape flood then cannot take the API's connections, and the port can
    /// be kept private).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// The issued API keys (comma-separated): each gets its own rate-limit
    /// bucket; any other x-api-key counts as its sender's address.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "client-0,client-1,client-2,client-3,client-4,client-5,client-6,burst-client"
    )]
    api_keys: Vec<String>,
    /// Seconds a client may take to send a request's headers (also the idle
    /// keep-alive time): slower and half-open connections are closed.
    #[arg(long, default_value_t = 10.0)]
    header_read_timeout: f64,
    /// Seconds one request may take, reading its body included (then 408).
    #[arg(long, default_value_t = 30.0)]
    request_timeout: f64,
}

/// Runs the service; an error is printed as a sentence, with exit code 1.
fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Checks the flags and the environment and sets up logs and traces, all
/// before the async runtime starts: what a failed setup leaves behind (an
/// exporter's own runtime, say) is then dropped outside any async context.
/// Serves until `--duration` or Ctrl-C, then flushes traces and logs.
fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let mut config = ObservabilityConfig::from_env()?;
    // 0 turns the load off; a positive rate below 0.01 (one request per 100 s)
    // has no interval a timer can hold.
    if !(args.rps == 0.0 || (0.01..=10_000.0).contains(&args.rps)) {
        return Err(format!(
            "--rps must be 0 (no built-in load) or between 0.01 and 10000 requests per second, got {}",
            args.rps
        )
        .into());
    }
    // A negative (or NaN) duration means stop at once; infinity or an overflow is refused.
    let header_read_timeout = Duration::try_from_secs_f64(args.header_read_timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            format!(
                "--header-read-timeout must be a positive number of seconds, got {}",
                args.header_read_timeout
            )
        })?;
    let request_timeout = Duration::try_from_secs_f64(args.request_timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            format!(
                "--request-timeout must be a positive number of seconds, got {}",
                args.request_timeout
            )
        })?;
    let run_for = match args.duration {
        Some(d) => Some(
            Duration::try_from_secs_f64(d.max(0.0))
                .map_err(|_| format!("--duration must be a finite number of seconds, got {d}"))?,
        ),
        None => None,
    };

    // Logs: JSON files in LOG_DIR (default ./logs); the console stays for the banner.
    config.logging.console = false;
    let log_guard = megaobs::init_logging(config.logging.clone())?;
    // Traces: the console exporter prints one line per sampled span; unless
    // TRACING_SAMPLE_RATE says otherwise, sample 10% so the console stays readable.
    if config.tracing.exporter == TracingExporter::Console
        && std::env::var_os("TRACING_SAMPLE_RATE").is_none()
    {
        config.tracing.sample_rate = 0.1;
    }
    let trace_guard = megaobs::init_tracing(config.tracing.clone())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let limits = (header_read_timeout, request_timeout);
    let served = runtime.block_on(serve(&args, &config, run_for, limits));
    drop(trace_guard); // exports every queued span
    drop(log_guard); // writes every queued line
    served?;
    let _ = writeln!(std::io::stdout(), "stopped cleanly");
    Ok(())
}

/// Starts the service, runs it for `run_for` or until SIGTERM or SIGINT
/// (whichever comes first), and drains it.
async fn serve(
    args: &Args,
    config: &ObservabilityConfig,
    run_for: Option<Duration>,
    (header_read_timeout, request_timeout): (Duration, Duration),
) -> Result<(), Box<dyn Error>> {
    // Registered before anything else: from here on SIGTERM and Ctrl-C stop the
    // service gracefully instead of killing it.
    let stop_signal = shutdown_signal();
    let collector = megaobs::metrics().clone();
    // tokio_* metrics describe this runtime (also what the first /metrics
    // scrape would pick; explicit here because --metrics-listen serves
    // /metrics from its own thread).
    collector.observe_tokio_runtime(tokio::runtime::Handle::current());
    llm::install_prices(&collector)?;
    let (llm_base, provider) = provider::start()
        .await
        .map_err(|e| format!("cannot start the simulated LLM provider on loopback: {e}"))?;
    let app = Arc::new(
        App::new(collector.clone(), &llm_base)
            .map_err(|e| format!("cannot set up the SQLite document database: {e}"))?,
    );
    let readiness = Readiness::new();
    let metrics_server = match args.metrics_listen {
        Some(addr) => Some(megaobs::metrics::serve_metrics(addr)?),
        None => None,
    };
    let router = handlers::router(
        Arc::clone(&app),
        &config.api,
        &args.api_keys,
        readiness.clone(),
        metrics_server.is_none(),
    );
    let addr = args.listen.unwrap_or(config.metrics.addr);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (use --listen or METRICS_ADDR)"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address bound for {addr}: {e}"))?;
    let metrics_addr = metrics_server.as_ref().map_or(local, |m| m.local_addr());
    status::print_banner(local, metrics_addr, config, args.rps, args.duration);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let mut stop = stop_rx.clone();
        // Header-read timeout, connection cap and a bounded drain; counts the
        // open connections (mega_agent_open_connections).
        let server = Server::new()
            .header_read_timeout(header_read_timeout)
            .request_timeout(request_timeout)
            .count_connections(collector.clone());
        tokio::spawn(async move {
            server
                .serve(listener, router, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    readiness.set_ready(true);
    let reviewer = tokio::spawn(reviews::reviewers(Arc::clone(&app)));
    let stats = Arc::new(LoadStats::default());
    let load = (args.rps > 0.0).then(|| {
        tokio::spawn(load_generator(
            format!("http://{local}"),
            args.rps,
            config.api.rate_limit,
            Arc::clone(&stats),
        ))
    });
    let status = tokio::spawn(status::status_lines(Arc::clone(&stats), collector));

    let until = async {
        match run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = until => {}
        signal = stop_signal => {
            let _ = writeln!(std::io::stdout(), "{}: stopping", signal.as_str());
        }
    }
    // Graceful shutdown: stop the load, stop accepting, let in-flight requests
    // finish (bounded by the server's drain timeout); the caller then flushes
    // traces and logs.
    if let Some(l) = load {
        l.abort();
    }
    readiness.set_ready(false);
    let _ = stop_tx.send(true);
    match server.await {
        Ok(report) if report.aborted_connections > 0 => eprintln!(
            "{} connections were still busy at the drain deadline and were closed",
            report.aborted_connections
        ),
        Ok(_) => {}
        Err(e) => eprintln!("server task failed: {e}"),
    }
    if let Some(m) = metrics_server {
        m.shutdown();
    }
    reviewer.abort();
    status.abort();
    // After the drain: in-flight workflows were still calling it.
    provider.abort();
    Ok(())
}
