//! The HTTP layer on a real axum server over loopback, driven by a real HTTP client.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{any, get};
use axum::Router;
use common::receivers::{ReceivedSpan, Receivers};
use common::sample;
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::http::{
    observability_routes, CountConnections, ObserveLayer, RateLimitLayer, Readiness, TraceHeaders,
};
use megaobs::metrics::MetricsCollector;

fn serve(app: Router) -> (SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        addr
    });
    (addr, rt)
}

#[test]
fn metrics_spans_rate_limits_and_routes_over_real_http() {
    let rx = Receivers::new();
    let grpc = rx.grpc();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("http-layer")
            .exporter(TracingExporter::Otlp)
            .otlp(format!("http://{grpc}"), OtlpProtocol::Grpc)
            .scheduled_delay(Duration::from_millis(50)),
    )
    .unwrap();

    let collector = MetricsCollector::new();
    let readiness = Readiness::new();
    let api = Router::new()
        .route("/api/research/{id}", get(|| async { "result" }))
        .route("/api/cache/{key}", any(|| async { "purged" }))
        .route(
            "/api/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .fallback(megaobs::http::not_found)
        .layer(RateLimitLayer::new(
            "api_default",
            5,
            Duration::from_secs(2),
            collector.clone(),
        ))
        .layer(ObserveLayer::new(collector.clone()).trace_headers(TraceHeaders::Both));
    let app = observability_routes(collector.clone(), readiness.clone()).merge(api);
    let (addr, _rt) = serve(app);
    let http = common::http_client();
    let url = |p: &str| format!("http://{addr}{p}");
    let get_as = |p: &str, key: &str| http.get(url(p)).header("x-api-key", key).send().unwrap();

    // Route templates, never raw URLs; 404s share one series.
    for id in 1..=3 {
        assert_eq!(
            get_as(&format!("/api/research/{id}"), "client-a").status(),
            200
        );
    }
    assert_eq!(get_as("/api/fail", "client-a").status(), 500);
    for p in ["/nope/1", "/nope/2?x=secret"] {
        let r = get_as(p, "client-404");
        assert_eq!(r.status(), 404);
        assert!(
            r.headers().contains_key("x-trace-id"),
            "the 404 went through the layers"
        );
    }
    let text = collector.encode_text();
    let v = |s: &str| sample(&text, s);
    assert_eq!(
        v(r#"mega_agent_http_requests_total{method="GET",path="/api/research/{id}",status="200"}"#),
        Some(3.0)
    );
    assert_eq!(
        v(r#"mega_agent_http_requests_total{method="GET",path="/api/fail",status="500"}"#),
        Some(1.0)
    );
    assert_eq!(
        v(r#"mega_agent_http_requests_total{method="GET",path="unmatched",status="404"}"#),
        Some(2.0),
        "{}",
        text.lines()
            .filter(|l| l.starts_with("mega_agent_http_requests_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        !text.contains("/nope"),
        "raw URLs never become label values"
    );
    assert_eq!(
        v(
            r#"mega_agent_http_request_duration_seconds_count{method="GET",path="/api/research/{id}"}"#
        ),
        Some(3.0)
    );

    // traceparent in: the server span continues the caller's trace; the response says which.
    let resp = http
        .get(url("/api/research/42"))
        .header("x-api-key", "client-t")
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .send()
        .unwrap();
    assert_eq!(
        resp.headers()["x-trace-id"],
        "0af7651916cd43dd8448eb211c80319c"
    );
    let traceresponse = resp.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        traceresponse.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
        "{traceresponse}"
    );
    let (server, _) = exported(&guard, &rx, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(server.name, "GET /api/research/{id}");
    assert_eq!(server.kind, 2, "server span");
    assert_eq!(server.parent_span_id, "b7ad6b7169203331");
    assert_eq!(server.attributes["http.route"], "/api/research/{id}");
    assert_eq!(server.attributes["http.request.method"], "GET");
    assert_eq!(server.attributes["http.response.status_code"], "200");
    assert!(traceresponse.contains(&server.span_id));
    // A method outside the standard set: `HTTP /route` as the span name,
    // `_OTHER` in the span, `OTHER` in the metrics, never the raw method as a label.
    let purge = http
        .request(
            reqwest::Method::from_bytes(b"PURGE").unwrap(),
            url("/api/cache/k1"),
        )
        .header("x-api-key", "client-t")
        .header(
            "traceparent",
            "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .send()
        .unwrap();
    assert_eq!(purge.status(), 200);
    let (purge, _) = exported(&guard, &rx, "1af7651916cd43dd8448eb211c80319c");
    // The conventions' name for a non-standard method: never the client's token.
    assert_eq!(purge.name, "HTTP /api/cache/{key}");
    assert_eq!(purge.attributes["http.request.method"], "_OTHER");
    assert_eq!(purge.attributes["http.request.method_original"], "PURGE");
    let text = collector.encode_text();
    assert_eq!(
        sample(
            &text,
            r#"mega_agent_http_requests_total{method="OTHER",path="/api/cache/{key}",status="200"}"#
        ),
        Some(1.0)
    );
    assert!(
        !text.contains("PURGE"),
        "raw methods never become label values"
    );
    // A hostile path and user agent are capped in the exported span (spans wait
    // in a queue bounded in spans, not bytes).
    let long_id = "x".repeat(5000);
    let resp = http
        .get(url(&format!("/api/research/{long_id}")))
        .header("x-api-key", "client-t")
        .header("user-agent", "u".repeat(3000))
        .header(
            "traceparent",
            "00-2af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (long, spans) = exported(&guard, &rx, "2af7651916cd43dd8448eb211c80319c");
    let path = &long.attributes["url.path"];
    assert_eq!(path.len(), 1024, "url.path capped");
    assert!(path.starts_with("/api/research/xxx"), "{path}");
    assert_eq!(long.attributes["user_agent.original"].len(), 512);
    let failed = spans
        .iter()
        .find(|s| s.name == "GET /api/fail")
        .expect("5xx span");
    assert_eq!(failed.status_code, 2);

    // Rate limit: 5 per 2 s per client; a burst gets 429 + Retry-After; others unaffected.
    let statuses: Vec<u16> = (0..8)
        .map(|_| get_as("/api/research/1", "client-b").status().as_u16())
        .collect();
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    let rejected = statuses.iter().filter(|s| **s == 429).count();
    assert!(rejected >= 2, "{statuses:?}");
    let r = get_as("/api/research/1", "client-b");
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(
        get_as("/api/research/1", "client-c").status(),
        200,
        "other clients are unaffected"
    );
    let text = collector.encode_text();
    let rejections = sample(
        &text,
        r#"mega_agent_rate_limit_rejections_total{key="api_default"}"#,
    )
    .unwrap();
    let counted_429 = sample(
        &text,
        r#"mega_agent_http_requests_total{method="GET",path="/api/research/{id}",status="429"}"#,
    )
    .unwrap();
    assert_eq!(
        rejections,
        (rejected + 1) as f64,
        "one rejection counted per 429"
    );
    assert_eq!(counted_429, rejections);
    std::thread::sleep(Duration::from_millis(2_100));
    assert_eq!(
        get_as("/api/research/1", "client-b").status(),
        200,
        "after the window, requests pass again"
    );

    // /health, /ready, /metrics.
    assert_eq!(http.get(url("/health")).send().unwrap().status(), 200);
    assert_eq!(http.get(url("/ready")).send().unwrap().status(), 503);
    readiness.set_ready(true);
    assert_eq!(http.get(url("/ready")).send().unwrap().status(), 200);
    let m = http
        .get(url("/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .unwrap();
    assert!(m.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let body = m.text().unwrap();
    assert!(body.ends_with("# EOF\n"));
    // Latency exemplars name server spans that were exported.
    let exemplar_trace = body
        .lines()
        .filter(|l| l.starts_with("mega_agent_http_request_duration_seconds_bucket{"))
        .find_map(|l| l.split("trace_id=\"").nth(1).map(|r| r[..32].to_string()))
        .expect("an exemplar on the latency histogram");
    assert!(guard.flush());
    let exported = rx.wait_for(Duration::from_secs(10), |s| {
        s.iter().any(|s| s.trace_id == exemplar_trace)
    });
    assert!(
        exported
            .iter()
            .any(|s| s.trace_id == exemplar_trace && s.kind == 2),
        "exemplar {exemplar_trace} is an exported server span"
    );

    // Trace headers: `traceresponse` alone by default; each choice adds exactly its own.
    let headers_of = |which: Option<TraceHeaders>| {
        let layer = ObserveLayer::new(collector.clone());
        let layer = match which {
            Some(w) => layer.trace_headers(w),
            None => layer,
        };
        let app = Router::new()
            .route("/x", get(|| async { "x" }))
            .layer(layer);
        let (addr, rt) = serve(app);
        let resp = http.get(format!("http://{addr}/x")).send().unwrap();
        drop(rt);
        (
            resp.headers().contains_key("traceresponse"),
            resp.headers().contains_key("x-trace-id"),
        )
    };
    assert_eq!(headers_of(None), (true, false));
    assert_eq!(headers_of(Some(TraceHeaders::XTraceId)), (false, true));
    assert_eq!(headers_of(Some(TraceHeaders::None)), (false, false));
    assert_eq!(headers_of(Some(TraceHeaders::Both)), (true, true));
    drop(guard);
}

/// `mega_agent_open_connections` follows real TCP connections: counted while
/// open (keep-alive, between requests too), uncounted when the client closes.
#[test]
fn open_connections_follow_real_tcp_connections() {
    use std::io::{Read, Write};
    use std::time::Instant;

    let collector = MetricsCollector::new();
    let app = Router::new().route("/x", get(|| async { "x" }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let make = CountConnections::new(
        app.into_make_service_with_connect_info::<SocketAddr>(),
        collector.clone(),
    );
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, make).await.unwrap() });
        addr
    });
    let open = || sample(&collector.encode_text(), "mega_agent_open_connections");
    let wait_for = |want: f64| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while open() != Some(want) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(open(), Some(want));
    };
    assert_eq!(open(), Some(0.0));
    let connect = || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /x HTTP/1.1\r\nHost: test\r\n\r\n")
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.ends_with(b"\r\n\r\nx") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed early: {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        s
    };
    let mut conns: Vec<_> = (0..3).map(|_| connect()).collect();
    wait_for(3.0);
    conns.truncate(1);
    wait_for(1.0);
    drop(conns);
    wait_for(0.0);
}

/// Flushes the span queue, waits for trace `trace_id` at the receiver and returns
/// its span, with every span received so far.
fn exported(
    guard: &megaobs::TracingGuard,
    rx: &Receivers,
    trace_id: &str,
) -> (ReceivedSpan, Vec<ReceivedSpan>) {
    assert!(guard.flush());
    let spans = rx.wait_for(Duration::from_secs(10), |s| {
        s.iter().any(|s| s.trace_id == trace_id)
    });
    let span = spans
        .iter()
        .find(|s| s.trace_id == trace_id)
        .cloned()
        .expect("the span of the trace is exported");
    (span, spans)
}
