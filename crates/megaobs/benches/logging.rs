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

criterion_group! {
    name = benches;
    config = common::config();
    targets = logging
}
criterion_main!(benches);
