//! Series keyed by a user-supplied label value, behind a cardinality guard.
//!
//! Reads are lock-free: the map is an immutable snapshot behind an
//! [`ArcSwap`], so a lookup is a hash of the `&str` plus a few loads, with no
//! allocation and no write to a shared cache line (two threads on one series do
//! not bounce a lock word between cores). A new label value copies the map under a
//! mutex and publishes the copy; that happens at most `cap` times per map.
//!
//! In front of the map sits a small per-thread cache of recent lookups (see
//! [`ThreadCache`]): a repeated label value on the same thread is found with one
//! thread-local read and a string compare, without hashing or touching the map.
//!
//! The guard: once `cap` distinct values exist, further new values share one
//! series labelled [`OVERFLOW_LABEL_VALUE`], and the map's overflow counter
//! (exported as `megaobs_label_overflow_total{metric}`) counts each such use.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;
use parking_lot::Mutex;

use super::value::Counter;

/// The label value that stands for every value past a metric's cardinality cap.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// Label values longer than this many bytes are cut (at a character boundary).
pub const MAX_LABEL_VALUE_BYTES: usize = 128;

/// Keys are `Arc<str>` so every snapshot shares one allocation per key: the
/// thread cache points into it for as long as the map lives.
///
/// Hashed with a randomly seeded hasher (foldhash, as fast as FxHash on short
/// strings): label values may come from clients, and with a fixed hash a client
/// could send values that all collide, making every lookup walk up to `cap` of
/// them. Each map keeps its seed across snapshots.
type Map<V> = HashMap<Arc<str>, Arc<V>, RandomState>;

/// Unique id per `LabelMap` ever created (never reused, so a cache entry of a
/// dropped map can never match a live one).
static NEXT_MAP_ID: AtomicU64 = AtomicU64::new(1);

/// One per-thread cache slot: which map, which key, which series.
#[derive(Clone, Copy)]
struct CacheEntry {
    map_id: u64,
    key: *const u8,
    key_len: usize,
    series: *const (),
}

const EMPTY: CacheEntry = CacheEntry {
    map_id: 0,
    key: std::ptr::null(),
    key_len: 0,
    series: std::ptr::null(),
};
const CACHE_SLOTS: usize = 16;

/// A direct-mapped per-thread cache of `(map, label value) -> series`.
///
/// Written by hand because it is the whole point of the fast path: no crate
/// offers a lock-free read of a concurrent map that beats one thread-local
/// lookup. Soundness rests on two invariants of [`LabelMap`]: entries are never
/// removed (series and `Arc<str>` keys live as long as the map), and map ids are
/// never reused. An entry is only dereferenced after its `map_id` matched the
/// live map doing the lookup, so its pointers are valid and of that map's `V`.
struct ThreadCache;

thread_local! {
    static CACHE: [Cell<CacheEntry>; CACHE_SLOTS] = const { [const { Cell::new(EMPTY) }; CACHE_SLOTS] };
}

impl ThreadCache {
    #[inline]
    fn slot(map_id: u64, key: &str) -> usize {
        let first = key.as_bytes().first().copied().unwrap_or(0) as u64;
        let last = key.as_bytes().last().copied().unwrap_or(0) as u64;
        (map_id.wrapping_mul(0x9E37_79B9) ^ (key.len() as u64) ^ (first << 3) ^ (last << 5))
            as usize
            % CACHE_SLOTS
    }

    #[inline]
    fn get(map_id: u64, key: &str) -> Option<*const ()> {
        let slot = Self::slot(map_id, key);
        CACHE
            .try_with(|c| {
                let e = c[slot].get();
                if e.map_id == map_id && e.key_len == key.len() {
                    // SAFETY: map_id matched a live map, so `e.key` points to an
                    // `Arc<str>` of that map of `key_len` bytes (see ThreadCache).
                    let cached = unsafe { std::slice::from_raw_parts(e.key, e.key_len) };
                    if cached == key.as_bytes() {
                        return Some(e.series);
                    }
                }
                None
            })
            .ok()
            .flatten()
    }

    #[inline]
    fn put(map_id: u64, key: &Arc<str>, series: *const ()) {
        let slot = Self::slot(map_id, key);
        let _ = CACHE.try_with(|c| {
            c[slot].set(CacheEntry {
                map_id,
                key: key.as_ptr(),
                key_len: key.len(),
                series,
            })
        });
    }
}

/// A bounded map from label value to series.
pub(crate) struct LabelMap<V> {
    id: u64,
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
            id: NEXT_MAP_ID.fetch_add(1, Ordering::Relaxed),
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
        if let Some(series) = ThreadCache::get(self.id, key) {
            // SAFETY: entries of this map's id point to a `V` this map keeps
            // alive for its whole life (see ThreadCache).
            return f(unsafe { &*series.cast::<V>() });
        }
        {
            let snapshot = self.map.load();
            if let Some((k, v)) = snapshot.get_key_value(key) {
                ThreadCache::put(self.id, k, Arc::as_ptr(v).cast());
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
        let mut next: Map<V> =
            Map::with_capacity_and_hasher(current.len() + 1, current.hasher().clone());
        next.extend(current.iter().map(|(k, v)| (Arc::clone(k), Arc::clone(v))));
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
    crate::core::text::prefix(key, MAX_LABEL_VALUE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_map_hashes_with_its_own_seed_across_snapshots() {
        use std::hash::BuildHasher;
        let new = || LabelMap::new(10, Counter::default(), Arc::new(Counter::default()));
        let (a, b): (LabelMap<Counter>, LabelMap<Counter>) = (new(), new());
        let hash = |m: &LabelMap<Counter>| m.map.load().hasher().hash_one("gpt-4");
        // A fixed hash would let a client choose colliding values for any map.
        assert_ne!(hash(&a), hash(&b));
        // A new value publishes a new snapshot: same seed, so old keys still hash alike.
        let before = hash(&a);
        a.with("gpt-4", Counter::default, Counter::inc);
        a.with("claude", Counter::default, Counter::inc);
        assert_eq!(hash(&a), before);
        assert_eq!(a.len(), 2);
    }

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
