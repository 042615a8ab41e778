//! HTTP API metrics: requests, latency, rate-limit rejections, open connections.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::catalog::{
    HTTP_DURATION, HTTP_REQUESTS, OPEN_CONNECTIONS, RATE_LIMIT_EVICTIONS, RATE_LIMIT_REJECTIONS,
};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::{LabelMap, OVERFLOW_LABEL_VALUE};
use super::labels::{claim_slot, HttpMethod};
use super::value::{Counter, Gauge};
use super::{Guards, MetricsCollector};

/// Prometheus' default latency buckets: web requests.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Distinct status codes kept per route and method; more go to `__overflow__`.
const STATUS_SLOTS: usize = 16;

/// Per-status counters without a lock: a small open table claimed by CAS.
#[derive(Debug, Default)]
struct StatusCounters {
    codes: [AtomicU32; STATUS_SLOTS],
    counts: [AtomicU64; STATUS_SLOTS],
    overflow: Counter,
}

impl StatusCounters {
    #[inline]
    fn inc(&self, code: u16, overflow: &Counter) {
        match claim_slot(&self.codes, u32::from(code)) {
            Some(i) => {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.overflow.inc();
                overflow.inc();
            }
        }
    }

    fn for_each(&self, mut f: impl FnMut(&str, u64)) {
        let mut buf = itoa::Buffer::new();
        for (slot, count) in self.codes.iter().zip(&self.counts) {
            match slot.load(Ordering::Acquire) {
                0 => break,
                code => f(buf.format(code), count.load(Ordering::Relaxed)),
            }
        }
        if self.overflow.get() > 0 {
            f(OVERFLOW_LABEL_VALUE, self.overflow.get());
        }
    }
}

#[derive(Debug)]
struct MethodSeries {
    duration: Histogram,
    statuses: StatusCounters,
}

/// Everything labelled by one route template.
#[derive(Debug, Default)]
pub(crate) struct RouteSeries {
    methods: [OnceLock<Box<MethodSeries>>; HttpMethod::ALL.len()],
}

#[derive(Debug)]
pub(crate) struct ApiMetrics {
    buckets: Arc<Buckets>,
    routes: LabelMap<RouteSeries>,
    status_overflow: Arc<Counter>,
    rate_limit: LabelMap<Counter>,
    rate_limit_evictions: LabelMap<Counter>,
    open_connections: Gauge,
}

impl ApiMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        Self {
            buckets: Buckets::seconds(HTTP_BUCKETS),
            routes: guards.map(&HTTP_DURATION, RouteSeries::default()),
            status_overflow: guards.overflow_counter(&HTTP_REQUESTS),
            rate_limit: guards.map(&RATE_LIMIT_REJECTIONS, Counter::default()),
            rate_limit_evictions: guards.map(&RATE_LIMIT_EVICTIONS, Counter::default()),
            open_connections: Gauge::default(),
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&HTTP_REQUESTS);
        self.routes.for_each(|path, r| {
            for m in HttpMethod::ALL {
                if let Some(s) = r.methods[m.index()].get() {
                    s.statuses.for_each(|code, n| {
                        enc.counter(&HTTP_REQUESTS, &[m.as_str(), path, code], n)
                    });
                }
            }
        });
        enc.header(&HTTP_DURATION);
        self.routes.for_each(|path, r| {
            for m in HttpMethod::ALL {
                if let Some(s) = r.methods[m.index()].get() {
                    enc.histogram(&HTTP_DURATION, &[m.as_str(), path], &s.duration);
                }
            }
        });
        enc.header(&RATE_LIMIT_REJECTIONS);
        self.rate_limit
            .for_each(|key, c| enc.counter(&RATE_LIMIT_REJECTIONS, &[key], c.get()));
        enc.header(&RATE_LIMIT_EVICTIONS);
        self.rate_limit_evictions
            .for_each(|key, c| enc.counter(&RATE_LIMIT_EVICTIONS, &[key], c.get()));
        enc.header(&OPEN_CONNECTIONS);
        enc.gauge(&OPEN_CONNECTIONS, &[], self.open_connections.get());
    }
}

/// HTTP recording (used by the `megaobs::http` middleware; callable directly).
impl MetricsCollector {
    /// Records one served request. `path` must be the route *template*
    /// (`/api/research/{id}`), never the raw URL; unknown methods count as `OTHER`.
    #[inline]
    pub fn record_http_request(&self, method: &str, path: &str, status: u16, duration: Duration) {
        self.record_http_request_as(HttpMethod::parse(method), path, status, duration);
    }

    /// [`Self::record_http_request`] for a method already parsed.
    #[inline]
    pub(crate) fn record_http_request_as(
        &self,
        method: HttpMethod,
        path: &str,
        status: u16,
        duration: Duration,
    ) {
        let api = &self.inner.api;
        api.routes.with(path, RouteSeries::default, |r| {
            let s = r.methods[method.index()].get_or_init(|| {
                Box::new(MethodSeries {
                    duration: Histogram::with_exemplars(Arc::clone(&api.buckets)),
                    statuses: StatusCounters::default(),
                })
            });
            s.statuses.inc(status, &api.status_overflow);
            s.duration.observe_duration(duration);
        });
    }

    /// Counts a request rejected by the rate-limit policy named `policy`
    /// (a policy name, never a client identity).
    #[inline]
    pub fn record_rate_limit_rejection(&self, policy: &str) {
        self.inner
            .api
            .rate_limit
            .with(policy, Counter::default, Counter::inc);
    }

    /// Counts a client the rate-limit policy named `policy` forgot before its
    /// bucket refilled, to stay within its client cap.
    #[inline]
    pub fn record_rate_limit_eviction(&self, policy: &str) {
        self.inner
            .api
            .rate_limit_evictions
            .with(policy, Counter::default, Counter::inc);
    }

    /// A client connection was opened (`mega_agent_open_connections` + 1).
    #[inline]
    pub fn connection_opened(&self) {
        self.inner.api.open_connections.inc();
    }

    /// A client connection was closed (`mega_agent_open_connections` − 1).
    #[inline]
    pub fn connection_closed(&self) {
        self.inner.api.open_connections.dec_saturating();
    }
}
