//! A trivial axum route served twice, bare and with megaobs' layers (request
//! metrics + server span + rate limit), for `bench/http_overhead.sh` (wrk).
//!
//! cargo run --release -p megaobs --example http_overhead -- 127.0.0.1:18080 127.0.0.1:18081

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use megaobs::config::{TracingConfig, TracingExporter};
use megaobs::http::{ObserveLayer, RateLimitLayer, TraceHeaders};

#[path = "support/discard.rs"]
mod discard;
use discard::Discard;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bare: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:18080".into())
        .parse()?;
    let observed: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:18081".into())
        .parse()?;
    // Spans are created as in production (TRACING_SAMPLE_RATE, default 1.0) and
    // go through megaobs' batch processor with its default queue, whose exporter
    // sends them nowhere. Spans lost to a full queue are counted in
    // `otel_spans_dropped_total`, served on port +3 (`/metrics`).
    let _tracing = megaobs::init_tracing_with_exporter(
        TracingConfig::from_env()?.exporter(TracingExporter::None),
        Discard,
    )?;
    // BENCH_TRACE_HEADERS=none|traceresponse|x-trace-id|both (default: the layer's default).
    let headers = match std::env::var("BENCH_TRACE_HEADERS").as_deref() {
        Ok("none") => TraceHeaders::None,
        Ok("x-trace-id") => TraceHeaders::XTraceId,
        Ok("both") => TraceHeaders::Both,
        _ => TraceHeaders::default(),
    };
    let observe = || ObserveLayer::new(megaobs::metrics().clone()).trace_headers(headers);
    let collector = megaobs::metrics().clone();
    let app = || Router::new().route("/api/research/{id}", get(|| async { "ok" }));
    // Both layers in one `Router::layer` call, as the docs recommend.
    let instrumented = app().layer(tower::ServiceBuilder::new().layer(observe()).layer(
        RateLimitLayer::new(
            "bench",
            1_000_000,
            Duration::from_secs(1),
            collector.clone(),
        ),
    ));
    // Two more servers on the next ports, one layer each, to split the cost.
    let only_observe = app().layer(observe());
    let only_limit = app().layer(RateLimitLayer::new(
        "bench",
        1_000_000,
        Duration::from_secs(1),
        megaobs::metrics().clone(),
    ));
    let next = |addr: SocketAddr, n: u16| SocketAddr::new(addr.ip(), addr.port() + n);
    let a = tokio::net::TcpListener::bind(bare).await?;
    let b = tokio::net::TcpListener::bind(observed).await?;
    let c = tokio::net::TcpListener::bind(next(observed, 1)).await?;
    let d = tokio::net::TcpListener::bind(next(observed, 2)).await?;
    let e = tokio::net::TcpListener::bind(next(observed, 3)).await?;
    println!(
        "bare http://{bare}/api/research/1  observed http://{observed}/api/research/1  \
         observe only: port +1, rate limit only: port +2, /metrics: port +3"
    );
    let plain = tokio::spawn(async move {
        axum::serve(a, app().into_make_service_with_connect_info::<SocketAddr>()).await
    });
    let observe = tokio::spawn(async move {
        axum::serve(
            c,
            only_observe.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let metrics = megaobs::http::observability_routes(
        megaobs::metrics().clone(),
        megaobs::http::Readiness::new(),
    );
    let metrics = tokio::spawn(async move { axum::serve(e, metrics).await });
    let limit = tokio::spawn(async move {
        axum::serve(
            d,
            only_limit.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    axum::serve(
        b,
        instrumented.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    let _ = (plain.await, observe.await, limit.await, metrics.await);
    Ok(())
}
