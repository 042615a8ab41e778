//! Series keyed by a user-supplied label value, behind a cardinality guard.
//!
//! Reads are lock-free: the map is an immutable snapshot behind an
//! [`ArcSwap`], so a lookup is a hash of the `&str` plus a few loads, with no
//! allocation and no write to a shared cache line (two threads on one series do
//! not bounce a lock word between cores). A new label value copies the map under a
//! mutex and publishes the copy; that happens at most `cap` times per map.
//!
//! The guard: once `cap` distinct values exist, further new values share one
//! series labelled [`OVERFLOW_LABEL_VALUE`], and the map's overflow counter
//! (exported as `megaobs_label_overflow_total{metric}`) counts each such use.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;

use super::value::Counter;

/// The label value that stands for every value past a metric's cardinality cap.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// Label values longer than this many bytes are cut (at a character boundary).
pub const MAX_LABEL_VALUE_BYTES: usize = 128;

type Map<V> = HashMap<Box<str>, Arc<V>, FxBuildHasher>;

/// A bounded map from label value to series.
pub(crate) struct LabelMap<V> {
    map: ArcSwap<Map<V>>,
    insert: Mutex<()>,
    cap: usize,
    overflow_series: Arc<V>,
    overflow_count: Arc<Counter>,
}

impl<V> std::fmt::Debug for LabelMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelMap")
            .field("len", &self.map.load().len())
            .field("cap", &self.cap)
            .finish()
    }
}

impl<V> LabelMap<V> {
    /// A map holding at most `cap` distinct values; `overflow_series` takes the rest.
    pub fn new(cap: usize, overflow_series: V, overflow_count: Arc<Counter>) -> Self {
        Self {
            map: ArcSwap::from_pointee(Map::default()),
            insert: Mutex::new(()),
            cap,
            overflow_series: Arc::new(overflow_series),
            overflow_count,
        }
    }

    /// Runs `f` on the series of `key`, creating it with `make` on first use.
    #[inline]
    pub fn with<R>(&self, key: &str, make: impl FnOnce() -> V, f: impl FnOnce(&V) -> R) -> R {
        let key = truncate(key);
        {
            let snapshot = self.map.load();
            if let Some(v) = snapshot.get(key) {
                return f(v);
            }
        }
        let series = self.insert_slow(key, make);
        f(&series)
    }

    /// The series of `key` as a shared handle (for guards that outlive the call).
    pub fn get(&self, key: &str, make: impl FnOnce() -> V) -> Arc<V> {
        let key = truncate(key);
        if let Some(v) = self.map.load().get(key) {
            return Arc::clone(v);
        }
        self.insert_slow(key, make)
    }

    #[cold]
    fn insert_slow(&self, key: &str, make: impl FnOnce() -> V) -> Arc<V> {
        let current = self.map.load_full();
        if let Some(v) = current.get(key) {
            return Arc::clone(v);
        }
        if current.len() >= self.cap {
            self.overflow_count.inc();
            return Arc::clone(&self.overflow_series);
        }
        let _lock = self.insert.lock();
        // Re-read under the lock: another thread may have inserted meanwhile.
        let current = self.map.load_full();
        if let Some(v) = current.get(key) {
            return Arc::clone(v);
        }
        if current.len() >= self.cap {
            self.overflow_count.inc();
            return Arc::clone(&self.overflow_series);
        }
        let series = Arc::new(make());
        let mut next: Map<V> = Map::with_capacity_and_hasher(current.len() + 1, FxBuildHasher);
        next.extend(current.iter().map(|(k, v)| (k.clone(), Arc::clone(v))));
        next.insert(key.into(), Arc::clone(&series));
        self.map.store(Arc::new(next));
        series
    }

    /// Calls `f` for every series, the overflow series last (only if it was used).
    pub fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        let snapshot = self.map.load_full();
        for (k, v) in snapshot.iter() {
            f(k, v);
        }
        if self.overflow_used() {
            f(OVERFLOW_LABEL_VALUE, &self.overflow_series);
        }
    }

    fn overflow_used(&self) -> bool {
        // The overflow series is shared; it is in use once anything overflowed.
        self.overflow_count.get() > 0 && self.map.load().len() >= self.cap
    }

    /// Number of distinct label values held (overflow excluded).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.load().len()
    }
}

fn truncate(key: &str) -> &str {
    if key.len() <= MAX_LABEL_VALUE_BYTES {
        return key;
    }
    let mut end = MAX_LABEL_VALUE_BYTES;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_distinct_values_and_counts_overflow() {
        let overflow = Arc::new(Counter::default());
        let m: LabelMap<Counter> = LabelMap::new(3, Counter::default(), Arc::clone(&overflow));
        for i in 0..10 {
            m.with(&format!("v{i}"), Counter::default, Counter::inc);
        }
        m.with("v0", Counter::default, Counter::inc);
        assert_eq!(m.len(), 3);
        assert_eq!(overflow.get(), 7);
        let mut seen = Vec::new();
        m.for_each(|k, v| seen.push((k.to_string(), v.get())));
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("__overflow__".to_string(), 7),
                ("v0".to_string(), 2),
                ("v1".to_string(), 1),
                ("v2".to_string(), 1)
            ]
        );
    }

    #[test]
    fn long_values_are_cut_at_a_char_boundary() {
        let m: LabelMap<Counter> = LabelMap::new(10, Counter::default(), Arc::default());
        let long = "é".repeat(200);
        m.with(&long, Counter::default, Counter::inc);
        m.with(&long, Counter::default, Counter::inc);
        let mut keys = Vec::new();
        m.for_each(|k, v| keys.push((k.len(), v.get())));
        assert_eq!(keys, vec![(128, 2)]);
    }
}
