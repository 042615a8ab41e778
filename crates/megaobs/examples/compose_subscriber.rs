//! megaobs in a subscriber you build yourself: your own `EnvFilter` and `fmt`
//! layer to stdout, plus megaobs' tracing and logging layers configured from the
//! environment (`TRACING_*`, `OTLP_*`, `LOG_*`, ...).
//!
//! ```text
//! RUST_LOG=info TRACING_EXPORTER=otlp OTLP_ENDPOINT=127.0.0.1:4317 LOG_DIR=./logs \
//!     cargo run -p megaobs --example compose_subscriber
//! ```
//!
//! The `tracing` span and the megaobs `TracingContext` inside it are exported
//! as one trace; the JSON line in `LOG_DIR` carries that trace's id; the fmt
//! layer prints its own line to stdout as usual.

use megaobs::logging::LogLayer;
use megaobs::trace::{TracingContext, TracingLayer};
use megaobs::ObservabilityConfig;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), megaobs::Error> {
    let config = ObservabilityConfig::from_env()?;
    // Each megaobs layer carries its own filter (LOG_LEVEL for the log layer),
    // so the EnvFilter here filters only the fmt layer it is attached to.
    let (otel_layer, tracing_guard) = TracingLayer::builder(config.tracing).build()?;
    let (log_layer, logging_guard) = LogLayer::builder(config.logging).build()?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(EnvFilter::from_default_env()))
        .with(otel_layer)
        .with(log_layer)
        .init();

    let trace_id = {
        let request = tracing::info_span!("handle_request", user_id = "u1");
        let _entered = request.enter();
        let step = TracingContext::new("research_step");
        step.set_attribute("query.length", 12_i64);
        tracing::info!(documents = 3, "research step done");
        step.trace_id()
    };
    if let Some(id) = trace_id {
        println!("trace_id={id}");
    }

    // Spans first (their export may log), then the lines.
    tracing_guard.shutdown();
    drop(logging_guard);
    Ok(())
}
