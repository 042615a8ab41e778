//! megaobs metrics vs the peer crates, side by side in one run.
//!
//! cargo bench -p megaobs --bench metrics
//!
//! The GenAI pairs (`genai_streamed_call_100_chunks`, `genai_100_chunks`) are
//! read with `bench/pair_ratios.sh metrics 3 genai_streamed_call_100_chunks genai_100_chunks`.
//!
//! Peers: a raw `AtomicU64` (the floor), `prometheus` 0.14, `prometheus-client`
//! 0.26 and `metrics` 0.24 + `metrics-exporter-prometheus` 0.17, each used the way
//! its documentation shows (handles for unlabeled metrics, per-call label lookup
//! for labeled ones, since label values are only known at the call site).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use megaobs::metrics::__bench::{Buckets, Histogram as MegaHistogram};
use megaobs::metrics::{Format, MetricsCollector, Status};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;

const BUCKETS: [f64; 11] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
const WF: &str = "research_workflow";

fn d() -> Duration {
    black_box(Duration::from_millis(1500))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecLabels {
    workflow_name: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WfLabels {
    workflow_name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    workflow_name: String,
    node_name: String,
    status: String,
}

/// prometheus 0.14: the two workflow families.
struct Prom {
    _registry: prometheus::Registry,
    exec: prometheus::IntCounterVec,
    dur: prometheus::HistogramVec,
}

fn prom() -> Prom {
    let registry = prometheus::Registry::new();
    let exec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("workflow_executions_total", "h"),
        &["workflow_name", "status"],
    )
    .unwrap();
    let dur = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("workflow_duration_seconds", "h").buckets(BUCKETS.to_vec()),
        &["workflow_name"],
    )
    .unwrap();
    registry.register(Box::new(exec.clone())).unwrap();
    registry.register(Box::new(dur.clone())).unwrap();
    Prom {
        _registry: registry,
        exec,
        dur,
    }
}

impl Prom {
    /// The two operations of `record_workflow_execution`, as `prometheus` users write them.
    fn record(&self, wf: &str) {
        self.exec.with_label_values(&[wf, "success"]).inc();
        self.dur.with_label_values(&[wf]).observe(d().as_secs_f64());
    }
}

/// prometheus-client 0.26: the two workflow families.
struct Pc {
    exec: Family<ExecLabels, PcCounter>,
    dur: Family<WfLabels, PcHistogram>,
}

fn pc() -> Pc {
    Pc {
        exec: Family::default(),
        dur: Family::new_with_constructor(|| PcHistogram::new(BUCKETS.iter().copied())),
    }
}

impl Pc {
    /// The two operations, with the label sets built from the `&str` at the call site.
    fn record(&self, wf: &str) {
        self.exec
            .get_or_create(&ExecLabels {
                workflow_name: wf.to_string(),
                status: "success".to_string(),
            })
            .inc();
        self.dur
            .get_or_create(&WfLabels {
                workflow_name: wf.to_string(),
            })
            .observe(d().as_secs_f64());
    }
}

/// The two operations through the `metrics` facade (labels owned per call).
fn metrics_record(wf: &str) {
    metrics::counter!("workflow_executions_total", "workflow_name" => wf.to_string(), "status" => "success").increment(1);
    metrics::histogram!("workflow_duration_seconds", "workflow_name" => wf.to_string())
        .record(d().as_secs_f64());
}

fn metrics_recorder() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .unwrap()
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).unwrap();
            handle
        })
        .clone()
}

fn unlabeled_counter(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_inc_unlabeled");
    let atomic = AtomicU64::new(0);
    g.bench_function("atomic_u64_floor", |b| {
        b.iter(|| black_box(&atomic).fetch_add(1, Ordering::Relaxed))
    });
    let mega = MetricsCollector::new();
    g.bench_function("megaobs", |b| {
        b.iter(|| black_box(&mega).connection_opened())
    });
    let p = prometheus::IntCounter::new("x", "h").unwrap();
    g.bench_function("prometheus", |b| b.iter(|| black_box(&p).inc()));
    let pcc: PcCounter = PcCounter::default();
    g.bench_function("prometheus_client", |b| b.iter(|| black_box(&pcc).inc()));
    metrics_recorder();
    let m = metrics::counter!("bench_unlabeled_total");
    g.bench_function("metrics_handle", |b| b.iter(|| black_box(&m).increment(1)));
    g.finish();
}

fn histogram_observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram_observe");
    let mega = MegaHistogram::new(Buckets::seconds(&BUCKETS));
    g.bench_function("megaobs", |b| b.iter(|| mega.observe_duration(d())));
    let p = prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new("x", "h").buckets(BUCKETS.to_vec()),
    )
    .unwrap();
    g.bench_function("prometheus", |b| b.iter(|| p.observe(d().as_secs_f64())));
    let pch = PcHistogram::new(BUCKETS.iter().copied());
    g.bench_function("prometheus_client", |b| {
        b.iter(|| pch.observe(d().as_secs_f64()))
    });
    metrics_recorder();
    let m = metrics::histogram!("bench_hist_seconds");
    g.bench_function("metrics_handle", |b| b.iter(|| m.record(d().as_secs_f64())));
    g.finish();
}

fn record_workflow_execution(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_workflow_execution");
    let mega = MetricsCollector::new();
    g.bench_function("megaobs", |b| {
        b.iter(|| mega.record_workflow_execution(black_box(WF), Status::Success, d()))
    });
    let p = prom();
    g.bench_function("prometheus", |b| b.iter(|| p.record(black_box(WF))));
    let pcf = pc();
    g.bench_function("prometheus_client", |b| {
        b.iter(|| pcf.record(black_box(WF)))
    });
    metrics_recorder();
    g.bench_function("metrics", |b| b.iter(|| metrics_record(black_box(WF))));
    g.finish();
}

/// Two threads hammer the same labeled series; reported time is per operation
/// per thread (wall time / iterations each thread ran).
fn contention(c: &mut Criterion) {
    let mut g = c.benchmark_group("contention_2_threads_same_series");
    fn two_threads(iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let h = s.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    op();
                }
            });
            barrier.wait();
            let start = Instant::now();
            for _ in 0..iters {
                op();
            }
            h.join().unwrap();
            start.elapsed()
        })
    }
    let mega = MetricsCollector::new();
    g.bench_function("megaobs", |b| {
        b.iter_custom(|n| {
            two_threads(n, &|| {
                mega.record_workflow_execution(black_box(WF), Status::Success, d())
            })
        })
    });
    let p = prom();
    g.bench_function("prometheus", |b| {
        b.iter_custom(|n| two_threads(n, &|| p.record(black_box(WF))))
    });
    let pcf = pc();
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| two_threads(n, &|| pcf.record(black_box(WF))))
    });
    metrics_recorder();
    g.bench_function("metrics", |b| {
        b.iter_custom(|n| two_threads(n, &|| metrics_record(black_box(WF))))
    });
    g.finish();
}

/// Encoding 10,000 counter series `workflow_nodes_executed_total{workflow_name,node_name,status}`.
fn encode_10k(c: &mut Criterion) {
    const NODES: usize = 3_334; // × 3 statuses ≈ 10,000 series
    let statuses = [Status::Success, Status::Error, Status::Timeout];
    let mut g = c.benchmark_group("encode_10k_series");
    g.sample_size(20);

    let mega = MetricsCollector::builder()
        .max_label_values(NODES)
        .process_metrics(false)
        .build();
    for n in 0..NODES {
        mega.record_workflow_node(WF, &format!("node_{n}"), Status::Success);
    }
    g.bench_with_input(BenchmarkId::new("megaobs", "text"), &(), |b, _| {
        b.iter(|| mega.encode(Format::PrometheusText))
    });
    g.bench_with_input(BenchmarkId::new("megaobs", "openmetrics"), &(), |b, _| {
        b.iter(|| mega.encode(Format::OpenMetrics))
    });

    let registry = prometheus::Registry::new();
    let nodes = prometheus::IntCounterVec::new(
        prometheus::Opts::new("workflow_nodes_executed_total", "h"),
        &["workflow_name", "node_name", "status"],
    )
    .unwrap();
    registry.register(Box::new(nodes.clone())).unwrap();
    let mut pc_registry = prometheus_client::registry::Registry::default();
    let pc_nodes: Family<NodeLabels, PcCounter> = Family::default();
    pc_registry.register("workflow_nodes_executed", "h", pc_nodes.clone());
    let handle = metrics_recorder();
    for n in 0..NODES {
        let node = format!("node_{n}");
        for s in statuses {
            nodes.with_label_values(&[WF, &node, s.as_str()]).inc_by(0);
            let _ = pc_nodes.get_or_create(&NodeLabels {
                workflow_name: WF.into(),
                node_name: node.clone(),
                status: s.as_str().into(),
            });
            metrics::counter!("workflow_nodes_executed_total", "workflow_name" => WF, "node_name" => node.clone(), "status" => s.as_str())
                .increment(0);
        }
    }
    g.bench_with_input(BenchmarkId::new("prometheus", "text"), &(), |b, _| {
        b.iter(|| {
            let mut buf = String::new();
            prometheus::TextEncoder::new()
                .encode_utf8(&registry.gather(), &mut buf)
                .unwrap();
            buf
        })
    });
    g.bench_with_input(
        BenchmarkId::new("prometheus_client", "text"),
        &(),
        |b, _| {
            b.iter(|| {
                let mut buf = String::new();
                prometheus_client::encoding::prometheus_text::encode(&mut buf, &pc_registry)
                    .unwrap();
                buf
            })
        },
    );
    g.bench_with_input(
        BenchmarkId::new("prometheus_client", "openmetrics"),
        &(),
        |b, _| {
            b.iter(|| {
                let mut buf = String::new();
                prometheus_client::encoding::text::encode(&mut buf, &pc_registry).unwrap();
                buf
            })
        },
    );
    // The metrics recorder also holds the other benches' few series; they are noise next to 10k.
    g.bench_with_input(
        BenchmarkId::new("metrics_exporter_prometheus", "text"),
        &(),
        |b, _| b.iter(|| handle.render()),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = unlabeled_counter, histogram_observe, record_workflow_execution, contention, encode_10k
}

/// Where megaobs' time goes: the recording work without a label lookup, and
/// a label lookup (per-thread cache hit) plus one counter.
fn parts(c: &mut Criterion) {
    let mut g = c.benchmark_group("megaobs_parts");
    let mega = MetricsCollector::new();
    g.bench_function("cache_miss_no_lookup", |b| {
        b.iter(|| mega.record_cache_miss(d()))
    });
    g.bench_function("recovery_lookup_plus_counter", |b| {
        b.iter(|| mega.record_error_recovery_attempt(black_box("exponential_backoff")))
    });
    // 64 label values in turn: more than the per-thread cache holds, so most
    // lookups hash the value and search the map (the path hostile values take).
    let values: Vec<String> = (0..64).map(|i| format!("strategy_{i:02}")).collect();
    let mut i = 0;
    g.bench_function("recovery_lookup_64_values_plus_counter", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            mega.record_error_recovery_attempt(black_box(&values[i]))
        })
    });
    g.finish();
}
criterion_group!(parts_group, parts);

/// The peer of one streamed model call: plain `prometheus` 0.14 histograms and
/// a float counter with the GenAI metrics' labels and buckets, label handles
/// looked up once per call (as an instrumented client would), the clock read
/// per chunk.
struct PromGenAi {
    _registry: prometheus::Registry,
    duration: prometheus::HistogramVec,
    tokens: prometheus::HistogramVec,
    ttfc: prometheus::HistogramVec,
    tpoc: prometheus::HistogramVec,
    cost: prometheus::CounterVec,
}

const GENAI_SECONDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const CHUNKS: usize = 100;
/// gpt-4o: USD per million input, cached input, output, reasoning tokens.
const PRICES: [f64; 4] = [2.5, 1.25, 10.0, 10.0];
const USAGE: [u64; 4] = [200, 1000, 300, 0];
const TYPES: [&str; 4] = ["input", "cached_input", "output", "reasoning"];

fn prom_genai() -> PromGenAi {
    let registry = prometheus::Registry::new();
    let call = [
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
    ];
    let hist = |name: &str, buckets: Vec<f64>, labels: &[&str]| {
        let h = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new(name, "help").buckets(buckets),
            labels,
        )
        .unwrap();
        registry.register(Box::new(h.clone())).unwrap();
        h
    };
    let seconds = GENAI_SECONDS.to_vec();
    let tokens: Vec<f64> = (0..14).map(|i| 4f64.powi(i)).collect();
    let typed = [call[0], call[1], call[2], "gen_ai_token_type"];
    let cost = prometheus::CounterVec::new(
        prometheus::Opts::new("gen_ai_client_cost_usd_total", "help"),
        &[
            "gen_ai_provider_name",
            "gen_ai_request_model",
            "gen_ai_token_type",
        ],
    )
    .unwrap();
    registry.register(Box::new(cost.clone())).unwrap();
    PromGenAi {
        duration: hist(
            "gen_ai_client_operation_duration_seconds",
            seconds.clone(),
            &call,
        ),
        tokens: hist("gen_ai_client_token_usage", tokens, &typed),
        ttfc: hist(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            seconds.clone(),
            &call,
        ),
        tpoc: hist(
            "gen_ai_client_operation_time_per_output_chunk_seconds",
            seconds,
            &call,
        ),
        cost,
        _registry: registry,
    }
}

impl PromGenAi {
    fn streamed_call(&self) {
        let labels = ["chat", "openai", black_box("gpt-4o")];
        let start = Instant::now();
        let tpoc = self.tpoc.with_label_values(&labels);
        let mut last = start;
        for i in 0..CHUNKS {
            let now = Instant::now();
            if i == 0 {
                self.ttfc
                    .with_label_values(&labels)
                    .observe((now - start).as_secs_f64());
            } else {
                tpoc.observe((now - last).as_secs_f64());
            }
            last = now;
        }
        for (t, n) in TYPES.iter().zip(USAGE) {
            if n > 0 || *t == "input" || *t == "output" {
                self.tokens
                    .with_label_values(&[labels[0], labels[1], labels[2], t])
                    .observe(n as f64);
            }
        }
        for ((t, n), p) in TYPES.iter().zip(USAGE).zip(PRICES) {
            self.cost
                .with_label_values(&[labels[1], labels[2], t])
                .inc_by(n as f64 * p / 1e6);
        }
        self.duration
            .with_label_values(&labels)
            .observe(start.elapsed().as_secs_f64());
    }
}

/// One finished streamed model call of 100 chunks recorded by megaobs (span
/// sampled at 0.1, metrics, cost), interleaved with the same values recorded
/// into plain `prometheus` histograms and counters; then the chunks alone.
fn genai(c: &mut Criterion) {
    use megaobs::metrics::{GenAiOperation, PriceTable, TokenUsage};
    use megaobs::trace::{LlmSpan, TracingConfig, TracingExporter};
    let _guard = megaobs::init_tracing_with_exporter(
        TracingConfig::default()
            .exporter(TracingExporter::None)
            .sample_rate(0.1)
            .max_queue_size(65_536),
        common::Discard,
    )
    .unwrap();
    let prices = PriceTable::from_toml_str(
        "[models.\"gpt-4o\"]\ninput = 2.5\ncached_input = 1.25\noutput = 10.0",
    )
    .unwrap();
    let mega = MetricsCollector::builder().prices(prices).build();
    let peer = prom_genai();
    let usage = TokenUsage::new(USAGE[0], USAGE[1], USAGE[2], USAGE[3]);
    let megaobs_call = || {
        let mut call = LlmSpan::start(&mega, GenAiOperation::Chat, "openai", black_box("gpt-4o"));
        for _ in 0..CHUNKS {
            call.chunk();
        }
        call.set_usage(usage);
        call.finish_reason("stop");
        black_box(call.finish());
    };
    let prometheus_call = || peer.streamed_call();
    let kinds: [&dyn Fn(); 2] = [&prometheus_call, &megaobs_call];
    let group = "genai_streamed_call_100_chunks";
    let mut g = c.benchmark_group(group);
    for (i, name) in ["prometheus", "megaobs"].into_iter().enumerate() {
        g.bench_function(name, |b| common::interleaved(b, kinds, i));
        common::record_pair(group, name);
    }
    g.finish();

    // Chunks alone, 100 per iteration (divide by 100 for one chunk): megaobs'
    // guard against the peer's clock read and observe on a label handle.
    let call = std::cell::RefCell::new(LlmSpan::start(
        &mega,
        GenAiOperation::Chat,
        "openai",
        "gpt-4o",
    ));
    let tpoc = peer.tpoc.with_label_values(&["chat", "openai", "gpt-4o"]);
    let last = std::cell::Cell::new(Instant::now());
    let prometheus_chunks = || {
        for _ in 0..CHUNKS {
            let now = Instant::now();
            tpoc.observe((now - last.get()).as_secs_f64());
            last.set(now);
        }
    };
    let megaobs_chunks = || {
        let mut call = call.borrow_mut();
        for _ in 0..CHUNKS {
            call.chunk();
        }
    };
    let kinds: [&dyn Fn(); 2] = [&prometheus_chunks, &megaobs_chunks];
    let group = "genai_100_chunks";
    let mut g = c.benchmark_group(group);
    for (i, name) in ["prometheus", "megaobs"].into_iter().enumerate() {
        g.bench_function(name, |b| common::interleaved(b, kinds, i));
        common::record_pair(group, name);
    }
    g.finish();
    call.into_inner().finish();
}

criterion_group! {
    name = genai_group;
    config = common::config();
    targets = genai
}
criterion_main!(benches, parts_group, genai_group);
