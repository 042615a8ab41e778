//! megaobs in a few lines: logs and traces set up from the environment, one
//! traced and timed piece of work, and `/metrics` served for Prometheus.
//!
//! ```text
//! METRICS_ADDR=127.0.0.1:9000 QUICKSTART_SECONDS=60 cargo run -p megaobs --example quickstart
//! ```
//!
//! It serves `/metrics` for `QUICKSTART_SECONDS` (default 0), then scrapes
//! itself once, prints the workflow metrics it found and exits.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use megaobs::metrics::{Status, WorkflowTimer};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = megaobs::ObservabilityConfig::from_env()?; // TRACING_*, LOG_*, METRICS_ADDR, ...
    let addr = config.metrics.addr;
    let telemetry = megaobs::init(config)?;
    let server = megaobs::metrics::serve_metrics(addr)?;
    println!("metrics: http://{}/metrics", server.local_addr());

    {
        let span = megaobs::TracingContext::new("research_request");
        span.set_attribute("user_id", "123");
        let collector = megaobs::metrics();
        let mut timer = WorkflowTimer::new(collector, "research_workflow");
        tracing::info!(query = "What is AI?", "research started"); // with the span's trace_id
        collector.record_workflow_node("research_workflow", "analyze_query", Status::Success);
        span.add_event("query analyzed");
        timer.set_status(Status::Success);
    } // the timer records workflow_duration_seconds, the span ends

    let wait = std::env::var("QUICKSTART_SECONDS").unwrap_or_else(|_| "0".into());
    let invalid = format!("QUICKSTART_SECONDS must be a whole number of seconds, got {wait:?}");
    std::thread::sleep(Duration::from_secs(wait.parse().map_err(|_| invalid)?));

    // Scrape ourselves once, as Prometheus would.
    let mut stream = std::net::TcpStream::connect(server.local_addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET /metrics HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    println!(
        "scraped {} lines; the workflow samples recorded:",
        body.lines().count()
    );
    let recorded =
        |l: &&str| l.starts_with("workflow_") && !l.contains("_bucket{") && !l.ends_with(" 0");
    for line in body.lines().filter(recorded) {
        println!("  {line}");
    }
    drop(telemetry); // exports the queued spans, writes the queued log lines
    Ok(())
}

fn main() -> std::process::ExitCode {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
