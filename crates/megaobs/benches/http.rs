//! CPU cost of megaobs' HTTP layer per request, in process (no sockets): an axum
//! router called through `tower::Service`, bare and with `ObserveLayer`, timed in
//! interleaved pairs; tracing off, then on (sample rate 0.1: roots sampled at 10%,
//! and requests whose `traceparent` says unsampled or sampled).
//!
//! cargo bench -p megaobs --bench http
//!
//! `bench/http_overhead.sh` measures the same layers with wrk over loopback;
//! this bench isolates the layer's own work from hyper, tokio and the kernel.
//!
//! The client side: a real reqwest call over loopback to an axum server on
//! another thread, bare and through `HttpClientMiddleware` (span, injected
//! headers, `http_client_request_duration_seconds`), at sample rate 0.1; the
//! calling thread's CPU time is what is counted (the server's is not).

use std::cell::RefCell;
use std::convert::Infallible;

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use megaobs::config::{TracingConfig, TracingExporter};
use megaobs::http::ObserveLayer;
use tower::{Service, ServiceExt};

mod common;

/// The route, built once as `axum::serve` builds it (`with_state`): a router
/// called as it is rebuilds its layered routes on every request.
fn router() -> Router {
    Router::new()
        .route("/api/research/{id}", get(|| async { "ok" }))
        .with_state(())
}

fn request(traceparent: Option<&str>) -> Request<Body> {
    let mut req = Request::get("/api/research/1");
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    req.body(Body::empty()).expect("a valid request")
}

/// One request through `svc`, polled to completion on the current thread.
fn call<S>(rt: &tokio::runtime::Runtime, svc: &mut S, traceparent: Option<&str>)
where
    S: Service<Request<Body>, Response = axum::response::Response, Error = Infallible>,
{
    rt.block_on(async {
        let resp = svc
            .ready()
            .await
            .expect("infallible")
            .call(request(traceparent))
            .await
            .expect("infallible");
        assert!(resp.status().is_success());
    });
}

const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

fn http_layer(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let bare = RefCell::new(router());
    let observed = RefCell::new(router().layer(ObserveLayer::new(megaobs::metrics().clone())));
    // Each observed configuration is timed interleaved with the bare router given
    // the same request (`common::interleaved`), so the difference is the layer's
    // own CPU time on the request path.
    let pair = |c: &mut Criterion, group: &str, traceparent: Option<&'static str>| {
        let bare_request = || call(&rt, &mut *bare.borrow_mut(), traceparent);
        let observed_request = || call(&rt, &mut *observed.borrow_mut(), traceparent);
        // Both routers' CPU time over the same window, for bench/layer_cost.sh.
        pair_group(
            c,
            group,
            [("bare", &bare_request), ("observe", &observed_request)],
        );
    };
    pair(c, "http_request_tracing_off", None);
    // From here on tracing is on: sampled spans go through megaobs' batch
    // processor (its queue, its export thread) to an exporter that discards them.
    let guard = megaobs::init_tracing_with_exporter(
        TracingConfig::default()
            .exporter(TracingExporter::None)
            .sample_rate(0.1)
            .max_queue_size(65_536),
        common::Discard,
    )
    .expect("tracing starts");
    pair(c, "http_request_root_rate_0.1", None);
    pair(c, "http_request_unsampled_parent", Some(UNSAMPLED));
    pair(c, "http_request_sampled_parent", Some(SAMPLED));
    client_pair(c);
    drop(guard);
}

/// A loopback server on a thread of its own (its CPU time is not the caller's).
fn loopback_server() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            tx.send(listener.local_addr().expect("bound"))
                .expect("the bench waits");
            let app = Router::new().route("/v1/items/{id}", get(|| async { "ok" }));
            let _ = axum::serve(listener, app).await;
        });
    });
    rx.recv().expect("the server starts")
}

/// A reqwest call over loopback, bare and through `HttpClientMiddleware`.
fn client_pair(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let addr = loopback_server();
    let url = format!("http://{addr}/v1/items/1");
    let bare = reqwest::Client::new();
    let bare_mw = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build();
    let observed = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(megaobs::client::HttpClientMiddleware::new())
        .build();
    let bare_call = || finish(&rt, bare.get(&url).send());
    let template = || megaobs::client::UrlTemplate::new("/v1/items/{id}");
    let observed_call = || finish(&rt, observed.get(&url).with_extension(template()).send());
    // The same client with no middleware: what reqwest-middleware itself costs
    // is then apart from what HttpClientMiddleware adds.
    let plain_middleware_call = || finish(&rt, bare_mw.get(&url).with_extension(template()).send());
    pair_group(
        c,
        "http_client_middleware_over_reqwest_middleware",
        [
            ("reqwest_middleware", &plain_middleware_call),
            ("http_client_middleware", &observed_call),
        ],
    );
    pair_group(
        c,
        "http_client_call_rate_0.1",
        [
            ("bare_reqwest", &bare_call),
            ("http_client_middleware", &observed_call),
        ],
    );
}

/// Sends one request on `rt` and reads its whole answer.
fn finish<E: std::fmt::Debug>(
    rt: &tokio::runtime::Runtime,
    send: impl std::future::Future<Output = Result<reqwest::Response, E>>,
) {
    rt.block_on(async {
        let r = send.await.expect("the server answers");
        assert!(r.status().is_success());
        r.bytes().await.expect("a body");
    })
}

/// Times two kinds interleaved (`common::interleaved`) as one criterion group.
fn pair_group(c: &mut Criterion, group: &str, kinds: [(&str, &dyn Fn()); 2]) {
    let fns: [&dyn Fn(); 2] = [kinds[0].1, kinds[1].1];
    let mut g = c.benchmark_group(group);
    for (i, (name, _)) in kinds.into_iter().enumerate() {
        g.bench_function(name, |b| common::interleaved(b, fns, i));
        common::record_pair(group, name);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = http_layer
}
criterion_main!(benches);
