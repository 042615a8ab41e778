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
