//! A lock-free, per-CPU striped histogram with fixed buckets, optional exemplars
//! and optional co-located counters.
//!
//! An observation is two relaxed `fetch_add`s on the calling CPU's stripe (its
//! bucket and the sum) and no lock. The sum is kept as a whole number of `scale`
//! units (nanoseconds for durations), so it needs no compare-and-swap loop; the
//! count is derived from the buckets at scrape time, so `_count` always equals
//! the `+Inf` bucket. Counters that are always updated together with the
//! histogram (e.g. `workflow_executions_total` by status) can live in the same
//! stripe ("extras"), so one record touches one cache line pair.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::exemplar::{self, Exemplar, ExemplarSlot, SpanRef};
use super::stripe::{self, Line, CELLS_PER_LINE};

/// Bucket upper bounds shared by every histogram of one metric.
#[derive(Debug)]
pub struct Buckets {
    bounds: Vec<f64>,
    /// `bounds` in `scale` units, for integer comparison on the hot path.
    scaled: Vec<u64>,
    /// Value of one stored unit (1e-9 for durations in seconds).
    scale: f64,
    /// Stored units per 1.0 (1e9 for durations); dividing by it is exact where
    /// multiplying by `scale` would add float noise to `_sum`.
    per_unit: f64,
}

impl Buckets {
    /// Buckets for durations in seconds (the sum is kept in nanoseconds).
    pub fn seconds(bounds: &[f64]) -> Arc<Self> {
        Self::with_scale(bounds, 1e-9)
    }

    /// Buckets for unit-less values (ratios, scores); the sum is kept in
    /// units of `scale` (e.g. 1e-6 keeps six decimal places).
    pub fn with_scale(bounds: &[f64], scale: f64) -> Arc<Self> {
        let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let scaled = bounds.iter().map(|b| to_units(*b, scale)).collect();
        Arc::new(Self {
            bounds,
            scaled,
            scale,
            per_unit: (1.0 / scale).round(),
        })
    }
}

#[inline]
fn to_units(v: f64, scale: f64) -> u64 {
    // Negative and NaN values clamp to 0 (`as` saturates); documented on `observe`.
    (v / scale).round() as u64
}

/// A histogram: per-bucket counts, a sum, optional extra counters, and (for
/// latencies) one exemplar per bucket.
#[derive(Debug)]
pub struct Histogram {
    buckets: Arc<Buckets>,
    extras: usize,
    lines_per_stripe: usize,
    stripes: usize,
    /// Per stripe: bucket counts (non-cumulative, last is `+Inf`), the sum, the extras.
    cells: Box<[Line]>,
    exemplars: Option<Box<[ExemplarSlot]>>,
}

impl Histogram {
    /// A histogram without exemplars.
    pub fn new(buckets: Arc<Buckets>) -> Self {
        Self::build(buckets, false, 0)
    }

    /// A histogram that records the current sampled span as exemplar.
    pub fn with_exemplars(buckets: Arc<Buckets>) -> Self {
        Self::build(buckets, true, 0)
    }

    /// A histogram with exemplars and `extras` counters in the same stripes.
    pub(crate) fn with_exemplars_and_counters(buckets: Arc<Buckets>, extras: usize) -> Self {
        Self::build(buckets, true, extras)
    }

    fn build(buckets: Arc<Buckets>, exemplars: bool, extras: usize) -> Self {
        let n = buckets.bounds.len() + 1;
        let cells = n + 1 + extras;
        let lines_per_stripe = cells.div_ceil(CELLS_PER_LINE);
        let stripes = stripe::stripes();
        Self {
            cells: (0..stripes * lines_per_stripe)
                .map(|_| Line::default())
                .collect(),
            exemplars: exemplars.then(|| (0..n).map(|_| ExemplarSlot::default()).collect()),
            extras,
            lines_per_stripe,
            stripes,
            buckets,
        }
    }

    #[inline]
    fn cell(&self, stripe: usize, i: usize) -> &AtomicU64 {
        &self.cells[stripe * self.lines_per_stripe + i / CELLS_PER_LINE].0[i % CELLS_PER_LINE]
    }

    fn sum_cells(&self, i: usize) -> u64 {
        (0..self.stripes)
            .map(|s| self.cell(s, i).load(Ordering::Relaxed))
            .fold(0u64, u64::wrapping_add)
    }

    /// Records a duration (for histograms built with [`Buckets::seconds`]).
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.observe_units(duration_units(d), None);
    }

    /// Records a duration and adds one to extra counter `extra` in the same stripe.
    #[inline]
    pub(crate) fn observe_duration_and_count(&self, d: Duration, extra: usize) {
        debug_assert!(extra < self.extras);
        self.observe_units(duration_units(d), Some(extra));
    }

    /// Records a value. Negative and NaN values count as 0.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.observe_units(to_units(v, self.buckets.scale), None);
    }

    /// Records a duration with `exemplar` as its exemplar, instead of the span
    /// current on this thread (for guards whose span is not current).
    #[inline]
    pub(crate) fn observe_duration_exemplar(&self, d: Duration, exemplar: Option<SpanRef>) {
        let units = duration_units(d);
        let idx = self.add_units(units, None);
        if let (Some(slots), Some(span)) = (&self.exemplars, exemplar) {
            slots[idx].offer(span, units as f64 / self.buckets.per_unit);
        }
    }

    /// Adds observations counted elsewhere: `counts[i]` more in bucket `i`
    /// (non-cumulative, the last is `+Inf`) and `sum_units` to the sum, in the
    /// histogram's stored units. Extra entries of `counts` are ignored.
    pub(crate) fn merge(&self, counts: &[u32], sum_units: u64) {
        let nb = self.buckets.scaled.len() + 1;
        let s = stripe::current(self.stripes);
        for (i, c) in counts.iter().take(nb).enumerate() {
            if *c > 0 {
                self.cell(s, i).fetch_add(u64::from(*c), Ordering::Relaxed);
            }
        }
        self.cell(s, nb).fetch_add(sum_units, Ordering::Relaxed);
    }

    #[inline]
    fn add_units(&self, units: u64, extra: Option<usize>) -> usize {
        let nb = self.buckets.scaled.len() + 1;
        let idx = self.buckets.scaled.partition_point(|b| *b < units);
        let s = stripe::current(self.stripes);
        self.cell(s, idx).fetch_add(1, Ordering::Relaxed);
        self.cell(s, nb).fetch_add(units, Ordering::Relaxed);
        if let Some(e) = extra {
            self.cell(s, nb + 1 + e).fetch_add(1, Ordering::Relaxed);
        }
        idx
    }

    #[inline]
    fn observe_units(&self, units: u64, extra: Option<usize>) {
        let idx = self.add_units(units, extra);
        if let Some(slots) = &self.exemplars {
            if let Some(span) = exemplar::current_span() {
                slots[idx].offer(span, units as f64 / self.buckets.per_unit);
            }
        }
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        (0..=self.buckets.scaled.len())
            .map(|i| self.sum_cells(i))
            .sum()
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.sum_cells(self.buckets.scaled.len() + 1) as f64 / self.buckets.per_unit
    }

    /// The upper bounds (without `+Inf`).
    pub fn bounds(&self) -> &[f64] {
        &self.buckets.bounds
    }

    /// Non-cumulative count of bucket `i` (`i == bounds().len()` is `+Inf`).
    pub(crate) fn bucket_count(&self, i: usize) -> u64 {
        self.sum_cells(i)
    }

    /// Value of extra counter `i`.
    pub(crate) fn extra_count(&self, i: usize) -> u64 {
        self.sum_cells(self.buckets.scaled.len() + 2 + i)
    }

    pub(crate) fn exemplar(&self, i: usize) -> Option<Exemplar> {
        self.exemplars.as_ref().and_then(|s| s[i].get())
    }
}

#[inline]
fn duration_units(d: Duration) -> u64 {
    // Whole seconds as nanoseconds saturate after ~584 years.
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_le_buckets() {
        let h = Histogram::new(Buckets::seconds(&[0.1, 1.0]));
        h.observe_duration(Duration::from_millis(100)); // le 0.1 (inclusive)
        h.observe_duration(Duration::from_millis(101)); // le 1
        h.observe_duration(Duration::from_secs(5)); // +Inf
        assert_eq!(
            (h.bucket_count(0), h.bucket_count(1), h.bucket_count(2)),
            (1, 1, 1)
        );
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum(), 5.201);
    }

    #[test]
    fn negative_and_nan_count_as_zero() {
        let h = Histogram::new(Buckets::with_scale(&[0.5, 1.0], 1e-6));
        h.observe(-1.0);
        h.observe(f64::NAN);
        h.observe(0.75);
        assert_eq!(h.bucket_count(0), 2);
        assert_eq!(h.bucket_count(1), 1);
        assert_eq!(h.sum(), 0.75);
    }

    #[test]
    fn extras_count_with_observations_across_threads() {
        let h = Arc::new(Histogram::with_exemplars_and_counters(
            Buckets::seconds(&[
                0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0,
            ]),
            3,
        ));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        h.observe_duration_and_count(Duration::from_millis(5), t % 3);
                    }
                })
            })
            .collect();
        for t in handles {
            t.join().unwrap();
        }
        assert_eq!(h.count(), 40_000);
        assert_eq!(h.extra_count(0), 20_000);
        assert_eq!(h.extra_count(1), 10_000);
        assert_eq!(h.extra_count(2), 10_000);
        assert_eq!(h.sum(), 200.0);
    }
}
