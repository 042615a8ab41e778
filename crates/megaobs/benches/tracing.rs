//! Cost of one span: megaobs vs the raw OpenTelemetry SDK vs tracing +
//! tracing-opentelemetry, side by side.
//!
//! cargo bench -p megaobs --bench tracing
//!
//! Every span: create, 3 attributes, 1 event, end; exported through a batch
//! processor to an exporter that discards (the SDK's `BatchSpanProcessor` for the
//! raw SDK and tracing-opentelemetry, megaobs' own for megaobs).

use std::hint::black_box;
use std::time::Duration;

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use megaobs::config::{TracingConfig, TracingExporter};
use megaobs::trace::{add_span_event, set_span_attribute, TracingContext};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use tracing_subscriber::layer::SubscriberExt;

fn sdk_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(common::Discard)
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(65_536)
                        .with_scheduled_delay(Duration::from_millis(1000))
                        .build(),
                )
                .build(),
        )
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .build()
}

/// A context whose (remote) parent is not sampled: parent-based sampling
/// drops every span started in it.
fn unsampled_parent() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_bytes(0x4bf92f3577b34da6a3ce929d0e0e4736u128.to_be_bytes()),
        SpanId::from_bytes(0x00f067aa0ba902b7u64.to_be_bytes()),
        TraceFlags::default(),
        true,
        TraceState::default(),
    ))
}

fn megaobs_span() {
    let s = TracingContext::new("process_query");
    s.set_attribute("user_id", "123");
    s.set_attribute("result_count", 3);
    s.set_attribute("cache_hit", true);
    s.add_event("operation_completed");
}

#[megaobs::trace_function(name = "process_query")]
fn megaobs_macro_span() {
    set_span_attribute("user_id", "123");
    set_span_attribute("result_count", 3);
    set_span_attribute("cache_hit", true);
    add_span_event("operation_completed", vec![]);
}

/// An interleaved pair: the peer's name and span, ours, and the dispatcher
/// that is the thread's default while the pair runs.
type Pair<'a> = (
    &'a str,
    &'a dyn Fn(),
    &'a str,
    &'a dyn Fn(),
    &'a tracing::Dispatch,
);

fn tracing(c: &mut Criterion) {
    // Before megaobs tracing is initialised: TRACING_ENABLED=false costs this.
    let mut g = c.benchmark_group("span_tracing_disabled");
    g.bench_function("no_instrumentation", |b| b.iter(|| black_box(3u64)));
    g.bench_function("megaobs_tracing_context", |b| b.iter(megaobs_span));
    g.bench_function("megaobs_trace_function", |b| b.iter(megaobs_macro_span));
    g.finish();

    let guard = megaobs::init_tracing_with_exporter(
        TracingConfig::default()
            .exporter(TracingExporter::None)
            .max_queue_size(65_536)
            .scheduled_delay(Duration::from_millis(1000)),
        common::Discard,
    )
    .unwrap();
    let sdk = sdk_provider();
    let tracer = sdk.tracer("bench");
    let sdk_span = || {
        let mut s = tracer.start("process_query");
        s.set_attribute(KeyValue::new("user_id", "123"));
        s.set_attribute(KeyValue::new("result_count", 3));
        s.set_attribute(KeyValue::new("cache_hit", true));
        s.add_event("operation_completed", vec![]);
        s.end();
    };
    let peer_provider = sdk_provider();
    let peer = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(peer_provider.tracer("bench"))),
    );
    let peer_span = || {
        let span = tracing::info_span!(
            "process_query",
            user_id = "123",
            result_count = 3,
            cache_hit = true
        );
        let _e = span.enter();
        tracing::info!("operation_completed");
    };

    let mut g = c.benchmark_group("span_sampled");
    g.bench_function("raw_opentelemetry_sdk", |b| b.iter(sdk_span));
    g.bench_function("megaobs_tracing_context", |b| b.iter(megaobs_span));
    g.bench_function("megaobs_trace_function", |b| b.iter(megaobs_macro_span));
    tracing::dispatcher::with_default(&peer, || {
        g.bench_function("tracing_opentelemetry", |b| b.iter(peer_span));
    });
    g.finish();

    // The same spans again, each timed interleaved with a `TracingContext` span
    // (`common::interleaved`: alternating blocks, the thread's CPU time), so that
    // both processors' export threads work in the same conditions for the two
    // benches of a pair; the sequential group above moves by ±50% between runs on
    // a 2-core machine. The second pair's peer is an SDK span made current (so that children
    // and log lines see it), which a `TracingContext` always is and the raw SDK
    // span above is not.
    let sdk_current_span = || {
        let cx = Context::current_with_span(tracer.start("process_query"));
        let _current = cx.clone().attach();
        let s = cx.span();
        s.set_attribute(KeyValue::new("user_id", "123"));
        s.set_attribute(KeyValue::new("result_count", 3));
        s.set_attribute(KeyValue::new("cache_hit", true));
        s.add_event("operation_completed", vec![]);
        s.end();
    };
    let mut g = c.benchmark_group("span_sampled_interleaved");
    // The third pair's peer goes through `tracing` + `tracing-opentelemetry`; its
    // dispatcher is the thread's default for the whole pair (a `TracingContext`
    // does not go through `tracing`, so the megaobs side is unaffected).
    let global = tracing::dispatcher::get_default(Clone::clone);
    // The fourth pair has no megaobs span: the raw SDK span against the same SDK
    // span made current, i.e. what being current costs the SDK itself.
    let megaobs: &dyn Fn() = &megaobs_span;
    let pairs: [Pair<'_>; 4] = [
        (
            "raw_opentelemetry_sdk",
            &sdk_span,
            "megaobs_tracing_context",
            megaobs,
            &global,
        ),
        (
            "raw_opentelemetry_sdk_made_current",
            &sdk_current_span,
            "megaobs_tracing_context_vs_current",
            megaobs,
            &global,
        ),
        (
            "tracing_opentelemetry",
            &peer_span,
            "megaobs_tracing_context_vs_tracing",
            megaobs,
            &peer,
        ),
        (
            "raw_opentelemetry_sdk_baseline",
            &sdk_span,
            "raw_opentelemetry_sdk_made_current_vs_raw",
            &sdk_current_span,
            &global,
        ),
    ];
    for (peer_name, peer_fn, mine_name, mine_fn, dispatch) in pairs {
        // Each pair starts with empty export queues: a backlog from the benches
        // before would be exported (and freed) during this pair's first bench.
        guard.flush();
        let _ = sdk.force_flush();
        let _ = peer_provider.force_flush();
        let kinds: [&dyn Fn(); 2] = [peer_fn, mine_fn];
        for (i, name) in [peer_name, mine_name].into_iter().enumerate() {
            tracing::dispatcher::with_default(dispatch, || {
                g.bench_function(name, |b| common::interleaved(b, kinds, i));
            });
            // Both kinds' CPU time over the same window, for bench/span_ratios.sh.
            common::record_pair("span_sampled_interleaved", &format!("{peer_name} {name}"));
        }
    }
    g.finish();

    let mut g = c.benchmark_group("span_unsampled");
    {
        let _cx = unsampled_parent().attach();
        g.bench_function("raw_opentelemetry_sdk", |b| b.iter(sdk_span));
        g.bench_function("megaobs_tracing_context", |b| b.iter(megaobs_span));
        tracing::dispatcher::with_default(&peer, || {
            g.bench_function("tracing_opentelemetry", |b| b.iter(peer_span));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = tracing
}
criterion_main!(benches);
