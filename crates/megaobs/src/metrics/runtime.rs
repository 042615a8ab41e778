//! Tokio runtime metrics (`tokio_*`), read at scrape time from the runtime the
//! service runs on, through tokio's stable `RuntimeMetrics` API.
//!
//! Taken from tokio itself rather than the `tokio-metrics` crate: its runtime
//! monitor samples on an interval and needs `--cfg tokio_unstable` for most of
//! what it reports, where a scrape-time read of the stable counters gives the
//! workers, their busy time, the queue depth and the live tasks. Built with
//! `RUSTFLAGS="--cfg tokio_unstable"`, the blocking pool and budget-forced
//! yields are read too.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

use super::catalog::{
    TOKIO_ALIVE_TASKS, TOKIO_BLOCKING_THREADS, TOKIO_BUDGET_FORCED_YIELDS, TOKIO_BUSY,
    TOKIO_GLOBAL_QUEUE, TOKIO_PARKS, TOKIO_WORKERS,
};
use super::encode::Encoder;
use super::MetricsCollector;

/// The runtime observed, if any.
#[derive(Debug, Default)]
pub(crate) struct RuntimeSource {
    handle: ArcSwapOption<tokio::runtime::Handle>,
}

impl RuntimeSource {
    /// Observes the runtime of `handle` from now on.
    pub(crate) fn set(&self, handle: tokio::runtime::Handle) {
        self.handle.store(Some(Arc::new(handle)));
    }

    /// Observes the current runtime if none is observed yet (the `/metrics`
    /// route runs on the service's runtime).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn set_current_if_unset(&self) {
        if self.handle.load().is_none() {
            if let Ok(h) = tokio::runtime::Handle::try_current() {
                let _ = self
                    .handle
                    .compare_and_swap(&None::<Arc<tokio::runtime::Handle>>, Some(Arc::new(h)));
            }
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        let Some(handle) = self.handle.load_full() else {
            return;
        };
        let m = handle.metrics();
        let workers = m.num_workers();
        let busy: f64 = (0..workers)
            .map(|w| m.worker_total_busy_duration(w).as_secs_f64())
            .sum();
        let parks: u64 = (0..workers).map(|w| m.worker_park_count(w)).sum();
        enc.header(&TOKIO_WORKERS);
        enc.gauge(&TOKIO_WORKERS, &[], workers as i64);
        enc.header(&TOKIO_BUSY);
        enc.counter_f64(&TOKIO_BUSY, &[], busy);
        enc.header(&TOKIO_PARKS);
        enc.counter(&TOKIO_PARKS, &[], parks);
        enc.header(&TOKIO_GLOBAL_QUEUE);
        enc.gauge(&TOKIO_GLOBAL_QUEUE, &[], m.global_queue_depth() as i64);
        enc.header(&TOKIO_ALIVE_TASKS);
        enc.gauge(&TOKIO_ALIVE_TASKS, &[], m.num_alive_tasks() as i64);
        #[cfg(tokio_unstable)]
        {
            enc.header(&TOKIO_BLOCKING_THREADS);
            enc.gauge(
                &TOKIO_BLOCKING_THREADS,
                &[],
                m.num_blocking_threads() as i64,
            );
            enc.header(&TOKIO_BUDGET_FORCED_YIELDS);
            enc.counter(
                &TOKIO_BUDGET_FORCED_YIELDS,
                &[],
                m.budget_forced_yield_count(),
            );
        }
        #[cfg(not(tokio_unstable))]
        let _ = (&TOKIO_BLOCKING_THREADS, &TOKIO_BUDGET_FORCED_YIELDS);
    }
}

/// Tokio runtime metrics.
impl MetricsCollector {
    /// Reports the runtime of `handle` in every exposition from now on
    /// (`tokio_workers`, `tokio_worker_busy_seconds_total`,
    /// `tokio_global_queue_depth`, `tokio_alive_tasks`, …), read when scraped.
    ///
    /// Without a call, the first scrape through [`metrics_handler`](super::metrics_handler)
    /// (the `/metrics` route of the service's router) observes the runtime it
    /// runs on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() {
    /// let collector = megaobs::MetricsCollector::new();
    /// collector.observe_tokio_runtime(tokio::runtime::Handle::current());
    /// assert!(collector.encode_text().contains("tokio_workers 2"));
    /// # }
    /// ```
    pub fn observe_tokio_runtime(&self, handle: tokio::runtime::Handle) {
        self.inner.runtime.set(handle);
    }
}
