//! Outgoing HTTP request metrics:
//! `http_client_request_duration_seconds{method,server_address,status}`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::catalog::HTTP_CLIENT_DURATION;
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::{LabelMap, OVERFLOW_LABEL_VALUE};
use super::labels::{claim_slot, HttpMethod};
use super::value::Counter;
use super::{Guards, MetricsCollector};

/// The same latency buckets as the server side, so the two compare directly.
const CLIENT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Distinct statuses kept per host and method; more go to `__overflow__`.
const STATUS_SLOTS: usize = 16;
/// The `status` value of a request that got no response.
pub(crate) const NO_RESPONSE: &str = "error";
/// How a request without a response is stored among the status codes.
const NO_RESPONSE_CODE: u32 = u32::MAX;

/// One histogram per status code, in a small table claimed by CAS (no lock).
#[derive(Debug, Default)]
struct ByStatus {
    codes: [AtomicU32; STATUS_SLOTS],
    histograms: [OnceLock<Histogram>; STATUS_SLOTS],
    overflow: OnceLock<Histogram>,
}

impl ByStatus {
    #[inline]
    fn histogram(&self, code: u32, buckets: &Arc<Buckets>, overflow: &Counter) -> &Histogram {
        let make = || Histogram::with_exemplars(Arc::clone(buckets));
        match claim_slot(&self.codes, code) {
            Some(i) => self.histograms[i].get_or_init(make),
            None => {
                overflow.inc();
                self.overflow.get_or_init(make)
            }
        }
    }

    fn for_each(&self, mut f: impl FnMut(&str, &Histogram)) {
        let mut buf = itoa::Buffer::new();
        for (slot, histogram) in self.codes.iter().zip(&self.histograms) {
            let code = slot.load(Ordering::Acquire);
            if code == 0 {
                break;
            }
            // A slot is claimed just before its histogram is made.
            let Some(h) = histogram.get() else { continue };
            match code {
                NO_RESPONSE_CODE => f(NO_RESPONSE, h),
                code => f(buf.format(code), h),
            }
        }
        if let Some(h) = self.overflow.get() {
            f(OVERFLOW_LABEL_VALUE, h);
        }
    }
}

/// Everything labelled by one server host.
#[derive(Debug, Default)]
pub(crate) struct HostSeries {
    methods: [OnceLock<Box<ByStatus>>; HttpMethod::ALL.len()],
}

#[derive(Debug)]
pub(crate) struct HttpClientMetrics {
    buckets: Arc<Buckets>,
    hosts: LabelMap<HostSeries>,
    status_overflow: Arc<Counter>,
}

impl HttpClientMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        Self {
            buckets: Buckets::seconds(CLIENT_BUCKETS),
            hosts: guards.map(&HTTP_CLIENT_DURATION, HostSeries::default()),
            status_overflow: guards.overflow_counter(&HTTP_CLIENT_DURATION),
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&HTTP_CLIENT_DURATION);
        self.hosts.for_each(|host, series| {
            for m in HttpMethod::ALL {
                if let Some(s) = series.methods[m.index()].get() {
                    s.for_each(|status, h| {
                        enc.histogram(&HTTP_CLIENT_DURATION, &[m.as_str(), host, status], h);
                    });
                }
            }
        });
    }
}

/// Outgoing HTTP recording (used by `megaobs::client`; callable directly).
impl MetricsCollector {
    /// Records one outgoing request to `server_address` (the host, without port
    /// or path: a bounded set, guarded like every label) that ended with
    /// `status` (`None`: no response, counted as `status="error"`), timed to
    /// the response headers. Unknown methods count as `OTHER`.
    #[inline]
    pub fn record_http_client_request(
        &self,
        method: &str,
        server_address: &str,
        status: Option<u16>,
        duration: Duration,
    ) {
        // The exemplar: the span current on this thread, as for every family.
        self.record_http_client_request_as(
            HttpMethod::parse(method),
            server_address,
            status,
            |h| h.observe_duration(duration),
        );
    }

    /// Records into the histogram of `method`, `server_address` and `status`
    /// with `observe` (which chooses the exemplar).
    #[inline]
    pub(crate) fn record_http_client_request_as(
        &self,
        method: HttpMethod,
        server_address: &str,
        status: Option<u16>,
        observe: impl FnOnce(&Histogram),
    ) {
        let m = &self.inner.http_client;
        let code = status.map_or(NO_RESPONSE_CODE, |s| u32::from(s).max(1));
        m.hosts.with(server_address, HostSeries::default, |series| {
            let h = series.methods[method.index()]
                .get_or_init(Box::default)
                .histogram(code, &m.buckets, &m.status_overflow);
            observe(h);
        });
    }
}
