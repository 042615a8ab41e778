//! megaobs' log layer vs tracing-subscriber's `fmt().json()`, side by side.
//!
//! cargo bench -p megaobs --bench logging
//!
//! Both write JSON lines to a file through a background writer (megaobs' own
//! writer thread; tracing-appender's `non_blocking` for the peer), so what is
//! measured is the application thread's cost per event: filtering, formatting
//! and handing the line over. Each event has 3 fields.

use std::hint::black_box;

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use megaobs::config::LoggingConfig;
use megaobs::logging::LogLayer;
use tracing_subscriber::layer::SubscriberExt;

fn event() {
    tracing::info!(
        user_id = black_box("123"),
        latency_ms = black_box(2.5),
        cache_hit = black_box(true),
        "Processing query"
    );
}

fn in_span(f: impl Fn()) -> impl Fn() {
    move || {
        let span =
            tracing::info_span!("process_query", request_id = 42u64, route = "/api/research");
        let _e = span.enter();
        f()
    }
}

fn logging(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();

    let (layer, _guard) = LogLayer::builder(
        LoggingConfig::default()
            .console(false)
            .dir(dir.path())
            .service_name("bench")
            .max_bytes(256 * 1024 * 1024)
            .backups(1),
    )
    .build()
    .unwrap();
    let megaobs = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));

    let file = std::fs::File::create(dir.path().join("fmt.log")).unwrap();
    let (nb, _nb_guard) = tracing_appender::non_blocking(file);
    let fmt_json = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(nb)
            .with_max_level(tracing::Level::INFO)
            .finish(),
    );

    let mut g = c.benchmark_group("json_line_in_span");
    for (name, d) in [
        ("megaobs", &megaobs),
        ("tracing_subscriber_fmt_json", &fmt_json),
    ] {
        tracing::dispatcher::with_default(d, || {
            // The span is entered once; each iteration logs one event inside it.
            let span =
                tracing::info_span!("process_query", request_id = 42u64, route = "/api/research");
            let _e = span.enter();
            g.bench_function(name, |b| b.iter(event));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("json_line_no_span");
    for (name, d) in [
        ("megaobs", &megaobs),
        ("tracing_subscriber_fmt_json", &fmt_json),
    ] {
        tracing::dispatcher::with_default(d, || g.bench_function(name, |b| b.iter(event)));
    }
    g.finish();

    let mut g = c.benchmark_group("span_plus_line");
    for (name, d) in [
        ("megaobs", &megaobs),
        ("tracing_subscriber_fmt_json", &fmt_json),
    ] {
        let f = in_span(event);
        tracing::dispatcher::with_default(d, || g.bench_function(name, |b| b.iter(&f)));
    }
    g.finish();

    // Value redaction: the same line in a span, with the scan of message and
    // values for secret shapes on (the default) and off, timed interleaved
    // (`common::interleaved`: the same windows, the thread's CPU time). The
    // line holds no secret, as nearly every line does.
    let (unscanned, _guard2) = LogLayer::builder(
        LoggingConfig::default()
            .console(false)
            .dir(dir.path())
            .service_name("bench-unscanned")
            .max_bytes(256 * 1024 * 1024)
            .backups(1)
            .redact_values(false),
    )
    .build()
    .unwrap();
    let unscanned = tracing::Dispatch::new(tracing_subscriber::registry().with(unscanned));
    let typical = || {
        tracing::info!(
            query = black_box("What is retrieval-augmented generation, and when does it help?"),
            user_id = black_box("user-123"),
            latency_ms = black_box(2.5),
            "research request served from cache"
        )
    };
    let line_in = |d: &tracing::Dispatch| {
        tracing::dispatcher::with_default(d, || {
            let span =
                tracing::info_span!("process_query", request_id = 42u64, route = "/api/research");
            let _e = span.enter();
            typical();
        })
    };
    let off = || line_in(&unscanned);
    let on = || line_in(&megaobs);
    let kinds: [&dyn Fn(); 2] = [&off, &on];
    let mut g = c.benchmark_group("value_redaction_line_in_span");
    for (i, name) in ["scan_off", "scan_on"].into_iter().enumerate() {
        g.bench_function(name, |b| common::interleaved(b, kinds, i));
        common::record_pair("value_redaction_line_in_span", name);
    }
    g.finish();
    let redactor = megaobs::logging::Redactor::default();
    let mut g = c.benchmark_group("value_redaction_scrub");
    g.bench_function("typical_text_no_secret", |b| {
        b.iter(|| {
            redactor
                .scrub(black_box(
                    "What is retrieval-augmented generation, and when does it help?",
                ))
                .len()
        })
    });
    g.bench_function("text_with_password", |b| {
        b.iter(|| {
            redactor
                .scrub(black_box("login failed for password=hunter2 at 10:42"))
                .len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("filtered_out_debug_event");
    for (name, d) in [
        ("megaobs", &megaobs),
        ("tracing_subscriber_fmt_json", &fmt_json),
    ] {
        tracing::dispatcher::with_default(d, || {
            g.bench_function(name, |b| {
                b.iter(|| tracing::debug!(x = black_box(1), "not logged"))
            })
        });
    }
    g.finish();
}

/// A loopback OTLP/HTTP logs endpoint (opentelemetry-proto's types, decoded
/// with prost) on its own runtime, so the export thread does real work.
fn otlp_logs_endpoint() -> std::net::SocketAddr {
    use opentelemetry_proto::tonic::collector::logs::v1::{
        ExportLogsServiceRequest, ExportLogsServiceResponse,
    };
    use prost::Message;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().route(
                "/v1/logs",
                axum::routing::post(|body: axum::body::Bytes| async move {
                    let req = ExportLogsServiceRequest::decode(body.as_ref()).unwrap();
                    black_box(req.resource_logs.len());
                    ExportLogsServiceResponse {
                        partial_success: None,
                    }
                    .encode_to_vec()
                }),
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// The same line in a span, written to a file by two log layers that differ
/// only in OTLP log export, timed interleaved (the application thread's CPU
/// time): what `LOG_EXPORTER=otlp` costs the caller, for JSON lines (the
/// default) and text lines (which get a JSON twin for export).
fn otlp_export(c: &mut Criterion) {
    use megaobs::config::{LogFormat, OtlpLogs};
    use megaobs::export::OtlpProtocol;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = otlp_logs_endpoint();
    for format in [LogFormat::Json, LogFormat::Text] {
        let layer = |name: &str, otlp: bool| {
            let config = LoggingConfig::default()
                .console(false)
                .dir(dir.path())
                .service_name(name)
                .format(format)
                .max_bytes(256 * 1024 * 1024)
                .backups(1)
                .otlp(otlp.then(|| {
                    OtlpLogs::new(
                        format!("127.0.0.1:{}", endpoint.port()),
                        OtlpProtocol::HttpProtobuf,
                    )
                }));
            let (layer, guard) = LogLayer::builder(config).build().unwrap();
            (
                tracing::Dispatch::new(tracing_subscriber::registry().with(layer)),
                guard,
            )
        };
        let suffix = if format == LogFormat::Json {
            "json"
        } else {
            "text"
        };
        let (file_only, _g1) = layer(&format!("bench-file-{suffix}"), false);
        let (with_otlp, _g2) = layer(&format!("bench-otlp-{suffix}"), true);
        let line_in = |d: &tracing::Dispatch| tracing::dispatcher::with_default(d, in_span(event));
        let off = || line_in(&file_only);
        let on = || line_in(&with_otlp);
        let kinds: [&dyn Fn(); 2] = [&off, &on];
        let group = format!("otlp_log_export_{suffix}_line_in_span");
        let mut g = c.benchmark_group(&group);
        for (i, name) in ["file_only", "file_and_otlp"].into_iter().enumerate() {
            g.bench_function(name, |b| common::interleaved(b, kinds, i));
            common::record_pair(&group, name);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = logging, otlp_export
}
criterion_main!(benches);
