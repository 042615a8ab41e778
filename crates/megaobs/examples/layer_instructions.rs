//! Serves `N` requests in process through one router, for counting the
//! instructions each costs with `valgrind --tool=callgrind`
//! (`bench/layer_instructions.sh`): instruction counts do not move with the
//! machine's load, unlike time on a shared VM.
//!
//! usage: layer_instructions <bare|observe|rate-limit|both|both-two-calls> <requests> [traceparent]
//! (tracing at `TRACING_SAMPLE_RATE`, default 0.1, exported to nowhere)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use megaobs::config::{TracingConfig, TracingExporter};
use megaobs::http::{ObserveLayer, RateLimitLayer};
use tower::{Service, ServiceExt};

#[path = "support/discard.rs"]
mod discard;
use discard::Discard;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "both".into());
    let n: u64 = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    let traceparent = args.next();
    let sample_rate = std::env::var("TRACING_SAMPLE_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.1);
    let _tracing = megaobs::init_tracing_with_exporter(
        TracingConfig::default()
            .exporter(TracingExporter::None)
            .sample_rate(sample_rate)
            .max_queue_size(65_536),
        Discard,
    )?;
    let collector = megaobs::metrics().clone();
    let limit = || {
        RateLimitLayer::new(
            "bench",
            1_000_000_000,
            Duration::from_secs(1),
            collector.clone(),
        )
    };
    let observe = || ObserveLayer::new(collector.clone());
    let app = Router::new().route("/api/research/{id}", get(|| async { "ok" }));
    let app = match which.as_str() {
        "bare" => app,
        "observe" => app.layer(observe()),
        "rate-limit" => app.layer(limit()),
        // Both in one `Router::layer` call, as the docs recommend: axum boxes and
        // clones each layered route per request, once per `layer` call.
        "both" => app.layer(tower::ServiceBuilder::new().layer(observe()).layer(limit())),
        "both-two-calls" => app.layer(limit()).layer(observe()),
        other => {
            return Err(format!(
                "unknown router {other}: bare|observe|rate-limit|both|both-two-calls"
            )
            .into())
        }
    };
    // As `axum::serve` does (`into_make_service`): the routes are built once, not
    // per request.
    let app = app.with_state::<()>(());
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    serve(&rt, app, n, traceparent.as_deref())?;
    Ok(())
}

/// Serves `n` requests through `app`: what `bench/layer_instructions.sh` counts
/// (`--toggle-collect`), with the export thread's `export` calls.
#[inline(never)]
fn serve(
    rt: &tokio::runtime::Runtime,
    mut app: Router,
    n: u64,
    traceparent: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let peer: SocketAddr = "127.0.0.1:40000".parse()?;
    rt.block_on(async {
        for _ in 0..n {
            let mut req = Request::get("/api/research/1");
            if let Some(tp) = traceparent {
                req = req.header("traceparent", tp);
            }
            let mut req = req.body(Body::empty())?;
            req.extensions_mut().insert(ConnectInfo(peer));
            let resp = ServiceExt::<Request<Body>>::ready(&mut app)
                .await
                .map_err(|e: Infallible| e)?
                .call(req)
                .await?;
            drop(std::hint::black_box(resp));
        }
        Ok(())
    })
}
