//! Outgoing calls through `HttpClientMiddleware` (reqwest-middleware, with
//! reqwest-retry outside it) to a real axum server observed by `ObserveLayer`,
//! exported over OTLP/gRPC into an in-process receiver: the CLIENT span, the
//! SERVER span beneath it, statuses, redacted URLs, resends, unsampled
//! propagation, and the exact client metrics.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::receivers::{ReceivedSpan, Receivers};
use common::sample;
use megaobs::client::{HttpClientMiddleware, HttpClientSpan, UrlTemplate};
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::http::ObserveLayer;
use megaobs::{MetricsCollector, TracingContext};
use opentelemetry::trace::{
    FutureExt as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::RetryTransientMiddleware;

const CLIENT: i32 = 3;
const SERVER: i32 = 2;
const STATUS_ERROR: i32 = 2;

/// The server the client calls: `/items/{id}` echoes the `traceparent` it
/// got, `/flaky` answers 503 twice and then 200, anything else is 404.
async fn start_server() -> SocketAddr {
    let flaky = Arc::new(AtomicU32::new(0));
    let app = axum::Router::new()
        .route(
            "/items/{id}",
            get(|headers: HeaderMap| async move {
                headers
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            }),
        )
        .route(
            "/flaky",
            get(move || {
                let n = flaky.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        )
        .fallback(megaobs::http::not_found)
        .layer(ObserveLayer::new(MetricsCollector::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn client(collector: &MetricsCollector) -> reqwest_middleware::ClientWithMiddleware {
    let retry = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(3);
    reqwest_middleware::ClientBuilder::new(common::async_http_client())
        .with(RetryTransientMiddleware::new_with_policy(retry))
        .with(HttpClientMiddleware::new().collector(collector.clone()))
        .build()
}

fn attr<'a>(s: &'a ReceivedSpan, key: &str) -> Option<&'a str> {
    s.attributes.get(key).map(String::as_str)
}

#[test]
fn client_spans_parent_server_spans_with_redacted_urls_resends_and_exact_metrics() {
    let rx = Receivers::new();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("client-e2e")
            .exporter(TracingExporter::Otlp)
            .otlp(format!("http://{}", rx.grpc()), OtlpProtocol::Grpc)
            .sample_rate(1.0)
            .scheduled_delay(Duration::from_millis(100)),
    )
    .unwrap();
    let collector = MetricsCollector::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let unsampled_trace =
        TraceId::from_bytes(0x0af7651916cd43dd8448eb211c80319c_u128.to_be_bytes());
    let closed = common::free_port();
    let (addr, root_trace, root_span, echoed) = rt.block_on(async {
        let addr = start_server().await;
        let client = client(&collector);
        let root = TracingContext::new("client_root");
        let root_cx = root.context();
        drop(root);
        let base = format!("http://127.0.0.1:{}", addr.port());
        let secret_url = format!(
            "http://alice:pa55word@127.0.0.1:{}/items/42?api_key=sk-secret123&q=weather",
            addr.port()
        );
        let ok = client
            .get(&secret_url)
            .with_extension(UrlTemplate::new("/items/{id}"))
            .send()
            .with_context(root_cx.clone())
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let flaky = client
            .get(format!("{base}/flaky"))
            .send()
            .with_context(root_cx.clone())
            .await
            .unwrap();
        assert_eq!(flaky.status(), 200, "retried twice, then answered");
        let missing = client
            .get(format!("{base}/missing"))
            .send()
            .with_context(root_cx.clone())
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        // A closed port: no response (the retry middleware tries it 4 times).
        let refused = client
            .get(format!("http://127.0.0.1:{closed}/"))
            .send()
            .with_context(root_cx.clone())
            .await;
        assert!(refused.is_err());
        // A caller that sampled its trace out: no client span, but the
        // callee still gets a valid traceparent of the same trace.
        let remote = SpanContext::new(
            unsampled_trace,
            SpanId::from_bytes(0x00f067aa0ba902b7_u64.to_be_bytes()),
            TraceFlags::default(),
            true,
            TraceState::default(),
        );
        let echoed = client
            .get(format!("{base}/items/7"))
            .send()
            .with_context(opentelemetry::Context::new().with_remote_span_context(remote))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let root_span = root_cx.span().span_context().clone();
        (addr, root_span.trace_id(), root_span.span_id(), echoed)
    });

    // Unsampled: propagated, same trace, a new parent id, not sampled.
    let parts: Vec<&str> = echoed.split('-').collect();
    assert_eq!(parts.len(), 4, "a valid traceparent: {echoed}");
    assert_eq!(parts[1], unsampled_trace.to_string());
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "the client's own (unexported) span id"
    );
    assert_eq!(parts[3], "00");

    assert!(guard.flush());
    let spans = rx.wait_for(Duration::from_secs(10), |s| {
        s.iter().filter(|s| s.kind == SERVER).count() >= 5
            && s.iter().filter(|s| s.kind == CLIENT).count() >= 9
    });
    let root_trace = root_trace.to_string();
    let root_span = root_span.to_string();
    let clients: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.kind == CLIENT).collect();
    let servers: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.kind == SERVER).collect();

    // Nothing of the unsampled call was exported.
    assert!(
        spans
            .iter()
            .all(|s| s.trace_id != unsampled_trace.to_string()),
        "an unsampled call exports nothing"
    );
    // Secrets never reach an attribute.
    for s in &spans {
        for v in s.attributes.values() {
            assert!(
                !v.contains("sk-secret123") && !v.contains("pa55word") && !v.contains("weather"),
                "a secret in {}: {v}",
                s.name
            );
        }
    }

    // The templated call: CLIENT under the root, SERVER under the CLIENT.
    let item = clients
        .iter()
        .find(|s| s.name == "GET /items/{id}")
        .expect("the templated client span");
    assert_eq!(item.trace_id, root_trace);
    assert_eq!(item.parent_span_id, root_span);
    assert_eq!(attr(item, "http.request.method"), Some("GET"));
    assert_eq!(attr(item, "server.address"), Some("127.0.0.1"));
    assert_eq!(
        attr(item, "server.port"),
        Some(addr.port().to_string().as_str())
    );
    assert_eq!(attr(item, "url.template"), Some("/items/{id}"));
    // reqwest moves `user:pass@` into an Authorization header before the
    // middleware sees the URL; query values are replaced by `REDACTED` (and the
    // export's secret scrubber marks the `api_key=` pair once more).
    assert_eq!(
        attr(item, "url.full"),
        Some(
            format!(
                "http://127.0.0.1:{}/items/42?api_key=[REDACTED]&q=REDACTED",
                addr.port()
            )
            .as_str()
        )
    );
    assert_eq!(attr(item, "http.response.status_code"), Some("200"));
    assert_eq!(attr(item, "network.protocol.version"), Some("1.1"));
    assert_eq!(attr(item, "http.request.resend_count"), None);
    assert_ne!(item.status_code, STATUS_ERROR);
    let item_server = servers
        .iter()
        .find(|s| s.parent_span_id == item.span_id)
        .expect("the server span is the client span's child");
    assert_eq!(item_server.trace_id, item.trace_id);
    assert_eq!(item_server.name, "GET /items/{id}");

    // The retried call: three attempts, resends 1 and 2, each with its server span.
    let mut flaky: Vec<&&ReceivedSpan> = clients
        .iter()
        .filter(|s| attr(s, "url.full").is_some_and(|u| u.ends_with("/flaky")))
        .collect();
    flaky.sort_by_key(|s| attr(s, "http.request.resend_count").map(str::to_string));
    let attempts: Vec<(Option<&str>, Option<&str>)> = flaky
        .iter()
        .map(|s| {
            (
                attr(s, "http.request.resend_count"),
                attr(s, "http.response.status_code"),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (None, Some("503")),
            (Some("1"), Some("503")),
            (Some("2"), Some("200"))
        ]
    );
    for s in &flaky {
        assert_eq!(s.name, "GET");
        assert_eq!(s.parent_span_id, root_span);
        assert!(servers.iter().any(|srv| srv.parent_span_id == s.span_id));
        let failed = attr(s, "http.response.status_code") == Some("503");
        assert_eq!(s.status_code == STATUS_ERROR, failed);
        assert_eq!(attr(s, "error.type"), failed.then_some("503"));
    }

    // A 404 is a client error; no response at all is `connect`.
    let missing = clients
        .iter()
        .find(|s| attr(s, "url.full").is_some_and(|u| u.ends_with("/missing")))
        .unwrap();
    assert_eq!(attr(missing, "error.type"), Some("404"));
    assert_eq!(missing.status_code, STATUS_ERROR);
    assert_eq!(
        missing.status_message, "",
        "the status code needs no description"
    );
    let refused: Vec<_> = clients
        .iter()
        .filter(|s| attr(s, "url.full") == Some(format!("http://127.0.0.1:{closed}/").as_str()))
        .collect();
    assert_eq!(refused.len(), 4, "the first try and three resends");
    assert!(refused.iter().all(|s| s.status_code == STATUS_ERROR
        && attr(s, "error.type") == Some("connect")
        && attr(s, "http.response.status_code").is_none()));

    // Metrics, exact: every attempt once, the unsampled call too.
    let text = collector.encode_text();
    let count = |status: &str| {
        sample(
            &text,
            &format!(
                "http_client_request_duration_seconds_count{{method=\"GET\",server_address=\"127.0.0.1\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(count("200"), Some(3.0), "{text}");
    assert_eq!(count("503"), Some(2.0));
    assert_eq!(count("404"), Some(1.0));
    assert_eq!(count("error"), Some(4.0));
    // Latency exemplars are the requests' own CLIENT spans.
    let om = collector.encode(megaobs::metrics::Format::OpenMetrics);
    let exemplar_spans: Vec<&str> = om
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_bucket"))
        .filter_map(|l| l.split("span_id=\"").nth(1)?.get(..16))
        .collect();
    assert!(!exemplar_spans.is_empty(), "{om}");
    for id in &exemplar_spans {
        assert!(
            clients.iter().any(|c| c.span_id == *id),
            "exemplar span {id} is not a client span"
        );
    }
    let (_, findings) = common::promtool_check_metrics(&text);
    assert!(
        common::unexpected_findings(&findings).is_empty(),
        "{findings}"
    );
    drop(guard);
}

/// Hostile hosts (a URL per request naming a new host) cannot grow the
/// metric: past the cap they count under `__overflow__`, and the overflow is
/// counted. Every loopback address but 127.0.0.1 refuses the connection here.
#[test]
fn server_address_cardinality_is_capped() {
    let collector = MetricsCollector::builder().max_label_values(8).build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = common::free_port();
    rt.block_on(async {
        let client = reqwest_middleware::ClientBuilder::new(common::async_http_client())
            .with(HttpClientMiddleware::new().collector(collector.clone()))
            .build();
        for host in 2..=40 {
            let _ = client
                .get(format!("http://127.0.0.{host}:{port}/"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
        }
    });
    let text = collector.encode_text();
    let hosts: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_count{"))
        .filter_map(|l| l.split("server_address=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(hosts.len(), 9, "8 hosts and __overflow__: {hosts:?}");
    assert!(hosts.contains("__overflow__"));
    let total: f64 = text
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_count{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(total, 39.0, "every request counted once");
    assert_eq!(
        sample(
            &text,
            "megaobs_label_overflow_total{metric=\"http_client_request_duration_seconds\"}"
        ),
        Some(31.0)
    );
}

/// The generic API for other clients: a request dropped before it ends (its
/// future cancelled) is still counted once, as failed.
#[test]
fn a_dropped_client_span_counts_once_as_cancelled() {
    let collector = MetricsCollector::new();
    let uri: http::Uri = "https://api.example.com/v1/chat/completions"
        .parse()
        .unwrap();
    {
        let span = HttpClientSpan::builder(&http::Method::POST, &uri)
            .collector(collector.clone())
            .start();
        let mut headers = http::HeaderMap::new();
        span.inject(&mut headers);
    }
    let finished = HttpClientSpan::builder(&http::Method::POST, &uri)
        .collector(collector.clone())
        .start();
    finished.finish(201);
    let text = collector.encode_text();
    let count = |status: &str| {
        sample(
            &text,
            &format!(
                "http_client_request_duration_seconds_count{{method=\"POST\",server_address=\"api.example.com\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(count("error"), Some(1.0));
    assert_eq!(count("201"), Some(1.0));
}
