//! Cache metrics: hits (exact and semantic), misses, sets, errors, latency.

use std::time::Duration;

use super::catalog::{
    CACHE_AVG_HIT_LATENCY_MS, CACHE_DURATION, CACHE_ERRORS, CACHE_HITS, CACHE_HIT_RATE,
    CACHE_MISSES, CACHE_SEMANTIC_HITS, CACHE_SETS,
};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::labels::{CacheHitKind, CacheOperation};
use super::value::Counter;
use super::MetricsCollector;

/// Cache operations take microseconds (memory) to tens of milliseconds (network).
const CACHE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];
const RESULTS: [&str; 3] = ["hit", "miss", "set"];

#[derive(Debug)]
pub(crate) struct CacheMetrics {
    hits: Counter,
    semantic_hits: Counter,
    misses: Counter,
    sets: Counter,
    errors: [Counter; 3],
    /// Indexed like `RESULTS`.
    duration: [Histogram; 3],
}

impl CacheMetrics {
    pub(crate) fn new() -> Self {
        let b = Buckets::seconds(CACHE_BUCKETS);
        Self {
            hits: Counter::default(),
            semantic_hits: Counter::default(),
            misses: Counter::default(),
            sets: Counter::default(),
            errors: Default::default(),
            duration: [0, 1, 2].map(|_| Histogram::with_exemplars(b.clone())),
        }
    }

    /// Hits divided by lookups (0 before the first lookup).
    fn hit_rate(&self) -> f64 {
        let hits = self.hits.get() as f64;
        let total = hits + self.misses.get() as f64;
        if total == 0.0 {
            0.0
        } else {
            hits / total
        }
    }

    fn avg_hit_latency_ms(&self) -> f64 {
        let h = &self.duration[0];
        match h.count() {
            0 => 0.0,
            n => h.sum() * 1000.0 / n as f64,
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        for (d, c) in [
            (CACHE_HITS, &self.hits),
            (CACHE_SEMANTIC_HITS, &self.semantic_hits),
            (CACHE_MISSES, &self.misses),
            (CACHE_SETS, &self.sets),
        ] {
            enc.header(&d);
            enc.counter(&d, &[], c.get());
        }
        enc.header(&CACHE_ERRORS);
        for op in CacheOperation::ALL {
            enc.counter(&CACHE_ERRORS, &[op.as_str()], self.errors[op.index()].get());
        }
        // Derived at scrape time from the counters and the hit histogram.
        enc.header(&CACHE_HIT_RATE);
        enc.gauge_f64(&CACHE_HIT_RATE, &[], self.hit_rate());
        enc.header(&CACHE_AVG_HIT_LATENCY_MS);
        enc.gauge_f64(&CACHE_AVG_HIT_LATENCY_MS, &[], self.avg_hit_latency_ms());
        enc.header(&CACHE_DURATION);
        for (i, r) in RESULTS.iter().enumerate() {
            enc.histogram(&CACHE_DURATION, &[r], &self.duration[i]);
        }
    }
}

/// Cache recording.
impl MetricsCollector {
    /// Records a cache hit found `kind`-wise, and how long the lookup took.
    #[inline]
    pub fn record_cache_hit(&self, kind: CacheHitKind, latency: Duration) {
        let c = &self.inner.cache;
        c.hits.inc();
        if kind == CacheHitKind::Semantic {
            c.semantic_hits.inc();
        }
        c.duration[0].observe_duration(latency);
    }

    /// Records a cache miss and how long the lookup took.
    #[inline]
    pub fn record_cache_miss(&self, latency: Duration) {
        let c = &self.inner.cache;
        c.misses.inc();
        c.duration[1].observe_duration(latency);
    }

    /// Records a cache write and how long it took.
    #[inline]
    pub fn record_cache_set(&self, latency: Duration) {
        let c = &self.inner.cache;
        c.sets.inc();
        c.duration[2].observe_duration(latency);
    }

    /// Counts a failed cache operation.
    #[inline]
    pub fn record_cache_error(&self, operation: CacheOperation) {
        self.inner.cache.errors[operation.index()].inc();
    }

    /// Hits divided by lookups since start, as exported in `cache_hit_rate`.
    pub fn cache_hit_rate(&self) -> f64 {
        self.inner.cache.hit_rate()
    }
}
