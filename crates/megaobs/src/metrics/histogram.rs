//! A lock-free histogram with fixed buckets and optional exemplars.
//!
//! An observation is two relaxed `fetch_add`s (its bucket and the sum) and no lock:
//! the sum is kept as a whole number of `scale` units (nanoseconds for durations),
//! so it needs no compare-and-swap loop, and the count is derived from the buckets
//! at scrape time so `_count` always equals the `+Inf` bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::exemplar::{self, Exemplar, ExemplarSlot};

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

/// A histogram: per-bucket counts, a sum, and (for latencies) one exemplar per bucket.
#[derive(Debug)]
pub struct Histogram {
    buckets: Arc<Buckets>,
    /// Non-cumulative counts; the last slot is `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_units: AtomicU64,
    exemplars: Option<Box<[ExemplarSlot]>>,
}

impl Histogram {
    /// A histogram without exemplars.
    pub fn new(buckets: Arc<Buckets>) -> Self {
        Self::build(buckets, false)
    }

    /// A histogram that records the current sampled span as exemplar.
    pub fn with_exemplars(buckets: Arc<Buckets>) -> Self {
        Self::build(buckets, true)
    }

    fn build(buckets: Arc<Buckets>, exemplars: bool) -> Self {
        let n = buckets.bounds.len() + 1;
        Self {
            counts: (0..n).map(|_| AtomicU64::new(0)).collect(),
            sum_units: AtomicU64::new(0),
            exemplars: exemplars.then(|| (0..n).map(|_| ExemplarSlot::default()).collect()),
            buckets,
        }
    }

    /// Records a duration (for histograms built with [`Buckets::seconds`]).
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.observe_units(nanos);
    }

    /// Records a value. Negative and NaN values count as 0.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.observe_units(to_units(v, self.buckets.scale));
    }

    #[inline]
    fn observe_units(&self, units: u64) {
        let idx = self.buckets.scaled.partition_point(|b| *b < units);
        self.counts[idx].fetch_add(1, Ordering::Relaxed);
        self.sum_units.fetch_add(units, Ordering::Relaxed);
        if let Some(slots) = &self.exemplars {
            if let Some(span) = exemplar::current_span() {
                slots[idx].offer(span, units as f64 / self.buckets.per_unit);
            }
        }
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.sum_units.load(Ordering::Relaxed) as f64 / self.buckets.per_unit
    }

    /// The upper bounds (without `+Inf`).
    pub fn bounds(&self) -> &[f64] {
        &self.buckets.bounds
    }

    /// Non-cumulative count of bucket `i` (`i == bounds().len()` is `+Inf`).
    pub(crate) fn bucket_count(&self, i: usize) -> u64 {
        self.counts[i].load(Ordering::Relaxed)
    }

    pub(crate) fn exemplar(&self, i: usize) -> Option<Exemplar> {
        self.exemplars.as_ref().and_then(|s| s[i].get())
    }
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
        assert_eq!((h.bucket_count(0), h.bucket_count(1), h.bucket_count(2)), (1, 1, 1));
        assert_eq!(h.count(), 3);
        assert!((h.sum() - 5.201).abs() < 1e-9);
    }

    #[test]
    fn negative_and_nan_count_as_zero() {
        let h = Histogram::new(Buckets::with_scale(&[0.5, 1.0], 1e-6));
        h.observe(-1.0);
        h.observe(f64::NAN);
        h.observe(0.75);
        assert_eq!(h.bucket_count(0), 2);
        assert_eq!(h.bucket_count(1), 1);
        assert!((h.sum() - 0.75).abs() < 1e-9);
    }
}
