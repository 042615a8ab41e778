//! What the service prints on stdout: the start banner (where the API,
//! metrics, traces and logs are), then a status line every 5 s.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use megaobs::{MetricsCollector, ObservabilityConfig};

use crate::load::LoadStats;

/// The start banner; `config` as the service runs with it, `local` the bound address.
pub fn print_banner(
    local: SocketAddr,
    metrics: SocketAddr,
    config: &ObservabilityConfig,
    rps: f64,
    duration: Option<f64>,
) {
    let (tracing, service) = (&config.tracing, &config.logging.service_name);
    println!("megaobs observability example (service {service:?})");
    println!("  api:     http://{local}/api/research   (POST {{\"query\", \"user_id\"}}; GET /api/research/{{id}}, /api/reviews/pending)");
    println!(
        "  metrics: http://{metrics}/metrics   (health: http://{local}/health, /ready; --listen, --metrics-listen, METRICS_ADDR)"
    );
    println!(
        "  traces:  {} exporter, sample rate {}   (TRACING_EXPORTER, TRACING_SAMPLE_RATE, OTLP_ENDPOINT, ...)",
        tracing.exporter.as_str(),
        tracing.sample_rate
    );
    println!(
        "  logs:    {}/{service}.log and {service}.error.log, JSON   (LOG_DIR, LOG_LEVEL, LOG_FORMAT, LOG_SYSLOG)",
        config.logging.dir.display()
    );
    println!(
        "  load:    {} research requests/s over HTTP, rate limit {} per {:?} per client; {}",
        rps,
        config.api.rate_limit,
        config.api.rate_window,
        match duration {
            Some(d) => format!("stopping after {d} s (or at Ctrl-C or SIGTERM)"),
            None => "Ctrl-C or SIGTERM to stop".to_string(),
        }
    );
}

/// Every 5 s, one status line: load, errors, p95 latency, cache hit rate, reviews pending.
pub async fn status_lines(stats: Arc<LoadStats>, collector: MetricsCollector) {
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
}
