//! The metrics pillar: a [`MetricsCollector`] with one typed method per thing
//! MegaAgent Pro measures, exported in the Prometheus text and OpenMetrics formats.
//!
//! ```
//! use std::time::Duration;
//! use megaobs::metrics::{self, Format, GenAiOperation, Status, TokenUsage, WorkflowTimer};
//!
//! let collector = metrics::metrics(); // the process-wide collector
//! collector.record_workflow_node("research_workflow", "analyze_query", Status::Success);
//! {
//!     let mut timer = WorkflowTimer::new(collector, "research_workflow");
//!     timer.set_status(Status::Success);
//! } // recorded here
//! collector.record_gen_ai_operation(
//!     GenAiOperation::Chat, "anthropic", "claude-3-opus", Duration::from_millis(2500), None,
//!     &TokenUsage::from_anthropic(150, 0, 0, 300),
//! );
//!
//! let body = collector.encode(Format::OpenMetrics);
//! assert!(body.contains(r#"gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="claude-3-opus",gen_ai_token_type="output"} 300"#));
//! assert!(body.ends_with("# EOF\n"));
//! ```
//!
//! # Design
//! - **Hot path.** A record call is one lock-free map lookup by the free-form
//!   label (workflow, model, route), then relaxed atomic adds: enum labels
//!   ([`Status`], [`ReviewDecision`], ...) are array indexes, and nothing is
//!   allocated after a label value's first use. Families sharing a label share one
//!   lookup (every `workflow_name` family hangs off one entry).
//! - **Cardinality guard.** Every user-supplied label value passes a per-metric cap
//!   ([`DEFAULT_MAX_LABEL_VALUES`], see [`MetricsCollectorBuilder::max_label_values`]);
//!   values past it are recorded under [`OVERFLOW_LABEL_VALUE`] and counted in
//!   `megaobs_label_overflow_total{metric}`. Values are cut to
//!   [`MAX_LABEL_VALUE_BYTES`] and escaped on output.
//! - **Exposition.** Prometheus text 0.0.4 or OpenMetrics 1.0 (with exemplars),
//!   chosen by [`Format::from_accept`]. Derived gauges (`cache_hit_rate`,
//!   `cache_avg_hit_latency_ms`) and `process_*` are computed at scrape time.

mod api;
mod cache;
pub mod catalog;
mod chunks;
mod config;
mod database;
mod encode;
mod exemplar;
mod genai;
mod histogram;
mod http_client;
pub(crate) mod internal;
mod label_map;
mod labels;
mod prices;
mod process;
mod routing;
#[cfg(feature = "tokio")]
mod runtime;
#[cfg(feature = "axum")]
mod scrape;
#[cfg(feature = "axum")]
mod server;
mod stripe;
mod timer;
mod value;
mod vector_store;
mod workflow;

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use prometheus_client::registry::Registry;

#[cfg(feature = "tracing")]
pub(crate) use chunks::{prepare_clock as prepare_chunk_clock, ChunkTimes};
pub use config::MetricsConfig;
pub use encode::Format;
pub use exemplar::{set_exemplar_source, ExemplarSource, SpanRef};
pub use genai::TokenUsage;
#[cfg(feature = "tracing")]
pub(crate) use genai::{ModelSeries, StepKind, StepSeries};
pub use label_map::{MAX_LABEL_VALUE_BYTES, OVERFLOW_LABEL_VALUE};
pub use labels::{
    CacheHitKind, CacheOperation, ConnectionState, GenAiOperation, GenAiTokenType, HttpMethod,
    ReviewDecision, Status,
};
pub use prices::{ModelPrice, PriceErrorKind, PriceTable, PriceTableError};
#[cfg(feature = "axum")]
pub use scrape::{DEFAULT_MAX_CONCURRENT_SCRAPES, DEFAULT_SCRAPE_CACHE};
#[cfg(feature = "axum")]
pub use server::{
    metrics_handler, metrics_router, serve_metrics, MetricsServer, MetricsServerBuilder,
};
pub use timer::WorkflowTimer;

/// Internal building blocks, public only for the side-by-side benchmarks.
#[doc(hidden)]
pub mod __bench {
    pub use super::histogram::{Buckets, Histogram};
    pub use super::value::{Counter, Gauge};
}

use catalog::{MetricDesc, LABEL_OVERFLOW};
use encode::Encoder;
use label_map::LabelMap;
use value::Counter;

/// Default cap on distinct values of one label of one metric.
pub const DEFAULT_MAX_LABEL_VALUES: usize = 256;

/// Records every MegaAgent Pro metric and encodes the exposition.
///
/// Cheap to clone (a shared handle). Use the process-wide one from [`metrics()`]
/// in applications, or own one ([`MetricsCollector::new`]) in tests and
/// multi-tenant code: collectors share nothing.
#[derive(Clone)]
pub struct MetricsCollector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MetricsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsCollector")
            .field("max_label_values", &self.inner.cap)
            .finish_non_exhaustive()
    }
}

// Recording never leaves a series half-updated (each step is one atomic
// operation, and no lock is held while user code runs), so a collector seen
// after a caught panic is consistent.
impl std::panic::UnwindSafe for MetricsCollector {}
impl std::panic::RefUnwindSafe for MetricsCollector {}

struct Inner {
    cap: usize,
    workflow: workflow::WorkflowMetrics,
    routing: routing::RoutingMetrics,
    cache: cache::CacheMetrics,
    api: api::ApiMetrics,
    http_client: http_client::HttpClientMetrics,
    database: database::DatabaseMetrics,
    vector_store: vector_store::VectorStoreMetrics,
    genai: genai::GenAiMetrics,
    #[cfg(feature = "tokio")]
    runtime: runtime::RuntimeSource,
    internal: internal::InternalMetrics,
    overflow: Vec<(&'static str, Arc<Counter>)>,
    process_metrics: bool,
    registries: Mutex<Vec<Registry>>,
    /// Longest a served exposition is reused (`/metrics` over HTTP only).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    scrape_cache: std::time::Duration,
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    max_concurrent_scrapes: usize,
    #[cfg(feature = "axum")]
    scrape: OnceLock<Arc<scrape::ScrapeCache>>,
}

/// Hands out cardinality-guarded maps and their overflow counters while the
/// collector is built.
pub(crate) struct Guards {
    cap: usize,
    overflow: Vec<(&'static str, Arc<Counter>)>,
}

impl Guards {
    pub(crate) fn overflow_counter(&mut self, metric: &MetricDesc) -> Arc<Counter> {
        if let Some((_, c)) = self.overflow.iter().find(|(m, _)| *m == metric.name) {
            return Arc::clone(c);
        }
        let c = Arc::new(Counter::default());
        self.overflow.push((metric.name, Arc::clone(&c)));
        c
    }

    pub(crate) fn map<V>(&mut self, metric: &MetricDesc, overflow_series: V) -> LabelMap<V> {
        let counter = self.overflow_counter(metric);
        LabelMap::new(self.cap, overflow_series, counter)
    }
}

/// Configures a [`MetricsCollector`].
#[derive(Debug)]
pub struct MetricsCollectorBuilder {
    max_label_values: usize,
    process_metrics: bool,
    registries: Vec<Registry>,
    scrape_cache: std::time::Duration,
    max_concurrent_scrapes: usize,
    prices: prices::PriceTable,
}

impl MetricsCollectorBuilder {
    /// The LLM price table that `gen_ai_client_cost_usd_total` is computed
    /// with (default: empty, every model unpriced). See [`PriceTable`] and
    /// [`MetricsConfig::prices`] (`LLM_PRICES`).
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// Cap on distinct values per label of each metric (default
    /// [`DEFAULT_MAX_LABEL_VALUES`]; at least 1).
    pub fn max_label_values(mut self, cap: usize) -> Self {
        self.max_label_values = cap.max(1);
        self
    }

    /// Whether to export `process_*` metrics (default: on).
    pub fn process_metrics(mut self, on: bool) -> Self {
        self.process_metrics = on;
        self
    }

    /// How long an exposition served over HTTP (`metrics_handler`, the
    /// `/metrics` routes and server) is reused by later scrapes (default 1 s;
    /// zero encodes every scrape). Direct `encode` calls are never cached.
    pub fn scrape_cache(mut self, max_age: std::time::Duration) -> Self {
        self.scrape_cache = max_age;
        self
    }

    /// Most scrapes answered at once over HTTP (default 16); more get `503`
    /// with `Retry-After: 1`.
    pub fn max_concurrent_scrapes(mut self, scrapes: usize) -> Self {
        self.max_concurrent_scrapes = scrapes.max(1);
        self
    }

    /// Adds a caller-owned `prometheus_client` registry whose metrics are
    /// appended to this collector's exposition (encoded by `prometheus_client`).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registries.push(registry);
        self
    }

    /// Builds the collector.
    pub fn build(self) -> MetricsCollector {
        let mut g = Guards {
            cap: self.max_label_values,
            overflow: Vec::new(),
        };
        let inner = Inner {
            cap: self.max_label_values,
            workflow: workflow::WorkflowMetrics::new(&mut g),
            routing: routing::RoutingMetrics::new(&mut g),
            cache: cache::CacheMetrics::new(),
            api: api::ApiMetrics::new(&mut g),
            http_client: http_client::HttpClientMetrics::new(&mut g),
            database: database::DatabaseMetrics::new(&mut g),
            vector_store: vector_store::VectorStoreMetrics::new(&mut g),
            genai: genai::GenAiMetrics::new(&mut g, self.prices),
            #[cfg(feature = "tokio")]
            runtime: runtime::RuntimeSource::default(),
            internal: internal::InternalMetrics::default(),
            overflow: g.overflow,
            process_metrics: self.process_metrics,
            registries: Mutex::new(self.registries),
            scrape_cache: self.scrape_cache,
            max_concurrent_scrapes: self.max_concurrent_scrapes,
            #[cfg(feature = "axum")]
            scrape: OnceLock::new(),
        };
        MetricsCollector {
            inner: Arc::new(inner),
        }
    }

    /// Builds the collector and makes it the process-wide one returned by
    /// [`metrics()`]. Fails if [`metrics()`] was already used or installed.
    pub fn install_global(self) -> crate::Result<&'static MetricsCollector> {
        let c = self.build();
        GLOBAL.set(c).map_err(|_| crate::Error::AlreadyInstalled {
            what: "the global MetricsCollector",
        })?;
        Ok(metrics())
    }
}

impl Default for MetricsCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsCollector {
    /// A collector with default settings.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a collector.
    pub fn builder() -> MetricsCollectorBuilder {
        MetricsCollectorBuilder {
            max_label_values: DEFAULT_MAX_LABEL_VALUES,
            process_metrics: true,
            registries: Vec::new(),
            scrape_cache: std::time::Duration::from_secs(1),
            max_concurrent_scrapes: 16,
            prices: PriceTable::new(),
        }
    }

    /// The exposition in `format`.
    pub fn encode(&self, format: Format) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.encode_into(&mut out, format);
        out
    }

    /// The exposition in the Prometheus text format (a shorthand for tests and logs).
    pub fn encode_text(&self) -> String {
        self.encode(Format::PrometheusText)
    }

    /// Appends the exposition in `format` to `out`.
    pub fn encode_into(&self, out: &mut String, format: Format) {
        let i = &self.inner;
        let mut enc = Encoder::new(out, format);
        i.workflow.encode(&mut enc);
        i.routing.encode(&mut enc);
        i.cache.encode(&mut enc);
        i.api.encode(&mut enc);
        i.http_client.encode(&mut enc);
        i.database.encode(&mut enc);
        i.vector_store.encode(&mut enc);
        i.genai.encode(&mut enc);
        if i.process_metrics {
            if let Some(p) = process::ProcessStats::read() {
                p.encode(&mut enc);
            }
        }
        #[cfg(feature = "tokio")]
        i.runtime.encode(&mut enc);
        i.internal.encode(&mut enc);
        enc.header(&LABEL_OVERFLOW);
        for (metric, c) in &i.overflow {
            enc.counter(&LABEL_OVERFLOW, &[metric], c.get());
        }
        let format = enc.format();
        for r in i.registries.lock().iter() {
            // Writing into a String cannot fail.
            let _ = match format {
                Format::PrometheusText => {
                    prometheus_client::encoding::prometheus_text::encode(out, r)
                }
                Format::OpenMetrics => prometheus_client::encoding::text::encode_registry(out, r),
            };
        }
        Encoder::new(out, format).eof();
    }

    /// Values folded into `__overflow__` so far for `metric` (its catalogue name).
    pub fn label_overflow_count(&self, metric: &str) -> u64 {
        self.inner
            .overflow
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or(0, |(_, c)| c.get())
    }
}

static GLOBAL: OnceLock<MetricsCollector> = OnceLock::new();

/// The process-wide collector (created with defaults on first use, unless
/// [`MetricsCollectorBuilder::install_global`] installed one first).
pub fn metrics() -> &'static MetricsCollector {
    GLOBAL.get_or_init(MetricsCollector::new)
}

/// [`metrics()`] under the original Python API's name.
pub fn get_metrics_collector() -> &'static MetricsCollector {
    metrics()
}
