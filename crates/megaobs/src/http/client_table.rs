//! The rate limiter's table of clients: one GCRA cell (a "theoretical arrival
//! time") per client, in a bounded, sharded table.
//!
//! Written by hand because governor's keyed store (a `DashMap`) grows with
//! every distinct key and can only be pruned by scanning every key, so a client
//! that invents a new identity per request grows it without bound, and each
//! prune costs time proportional to all the clients ever seen. Here every
//! request does O(1) work under one shard's lock, and a full shard makes room
//! by forgetting its oldest client (preferring one whose bucket has refilled,
//! which loses nothing).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Shards of the table (a power of two): requests of different clients rarely
/// wait for each other's lock.
const SHARDS: usize = 64;
/// How many of a full shard's oldest clients are looked at for one whose
/// bucket has refilled before the oldest is forgotten anyway.
const EVICTION_PROBES: usize = 4;

/// One shard's cells: client key → the time its bucket is empty until, in one
/// open-addressed array of (key, time) pairs probed linearly. A key is a
/// secret-keyed SipHash of the client's identity (uniform, not chosen by the
/// client), so it indexes the array as it is. Written rather than taken from
/// `std`/`hashbrown`: their tables keep control bytes apart from the entries,
/// two cache misses per lookup in a table of a million clients, where this is
/// one (the pair and its probe neighbours share a cache line).
#[derive(Debug, Default)]
struct Cells {
    /// `(0, _)` is an empty slot; key 0 is stored as 1 (two clients then share
    /// a bucket, at odds of 2⁻⁶⁴).
    slots: Vec<(u64, u64)>,
    len: usize,
}

impl Cells {
    fn stored(key: u64) -> u64 {
        key.max(1)
    }

    /// The slot a key starts probing at: the key's low bits (the shard was
    /// chosen by its top bits).
    fn home(&self, key: u64) -> usize {
        (key as usize) & (self.slots.len() - 1)
    }

    fn find(&self, key: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(key);
        loop {
            match self.slots[i].0 {
                0 => return None,
                k if k == key => return Some(i),
                _ => i = (i + 1) & (self.slots.len() - 1),
            }
        }
    }

    fn get(&self, key: u64) -> Option<u64> {
        self.find(Self::stored(key)).map(|i| self.slots[i].1)
    }

    fn get_mut(&mut self, key: u64) -> Option<&mut u64> {
        let i = self.find(Self::stored(key))?;
        Some(&mut self.slots[i].1)
    }

    /// Inserts a key known to be absent; the array stays at most half full.
    fn insert(&mut self, key: u64, tat: u64) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let key = Self::stored(key);
        let mut i = self.home(key);
        while self.slots[i].0 != 0 {
            i = (i + 1) & (self.slots.len() - 1);
        }
        self.slots[i] = (key, tat);
        self.len += 1;
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![(0, 0); (old.len() * 2).max(16)];
        self.len = 0;
        for (k, v) in old.into_iter().filter(|(k, _)| *k != 0) {
            self.insert(k, v);
        }
    }

    /// Removes `key`, moving later entries of its probe run back so that no
    /// tombstone is needed (backward-shift deletion).
    fn remove(&mut self, key: u64) -> Option<u64> {
        let mut hole = self.find(Self::stored(key))?;
        let tat = self.slots[hole].1;
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let k = self.slots[j].0;
            if k == 0 {
                break;
            }
            // Move the entry at j into the hole unless its home lies
            // cyclically within (hole, j].
            let home = self.home(k);
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole] = (0, 0);
        self.len -= 1;
        Some(tat)
    }
}

#[derive(Debug, Default)]
struct Shard {
    /// Client key → the time (ns since `start`) its bucket is empty until.
    cells: Cells,
    /// The shard's clients, oldest first (each key once).
    order: VecDeque<u64>,
}

/// The outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the limit.
    Allow,
    /// Over the limit: the next request would pass after this long.
    Reject(Duration),
}

/// A bounded GCRA table: `burst` requests at once, then one per `emission`.
#[derive(Debug)]
pub(crate) struct ClientTable {
    shards: Box<[Mutex<Shard>]>,
    /// Nanoseconds between two requests at the steady rate.
    emission: u64,
    /// How far ahead of now a client's cell may run: `emission × burst`.
    tolerance: u64,
    per_shard: usize,
    start: Instant,
}

impl ClientTable {
    /// A table allowing `burst` requests per `window` per client, remembering at
    /// most about `max_clients` clients.
    pub(crate) fn new(burst: u32, window: Duration, max_clients: usize) -> Self {
        let burst = u64::from(burst.max(1));
        let window = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        let emission = (window / burst).max(1);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            emission,
            tolerance: emission.saturating_mul(burst),
            per_shard: max_clients.div_ceil(SHARDS).max(1),
            start: Instant::now(),
        }
    }

    /// Most clients the table remembers.
    pub(crate) fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Admits or rejects one request of `key`; the flag says whether a client
    /// whose bucket had not refilled was forgotten to make room.
    pub(crate) fn check(&self, key: u64) -> (Verdict, bool) {
        let now = self.now();
        // The top bits pick the shard; the map hashes with the whole key.
        let shard = &self.shards[(key >> 58) as usize % SHARDS];
        let mut shard = shard.lock();
        if let Some(tat) = shard.cells.get_mut(key) {
            return (gcra(tat, now, self.emission, self.tolerance), false);
        }
        let mut evicted_active = false;
        if shard.cells.len >= self.per_shard {
            evicted_active = shard.evict(now);
        }
        let mut tat = now;
        let verdict = gcra(&mut tat, now, self.emission, self.tolerance);
        shard.cells.insert(key, tat);
        shard.order.push_back(key);
        (verdict, evicted_active)
    }

    /// Clients currently remembered.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().cells.len).sum()
    }
}

impl Shard {
    /// Forgets one client: the first of the oldest few whose bucket has
    /// refilled, else the oldest. Returns whether the forgotten one had not
    /// refilled (it will get a full burst again).
    fn evict(&mut self, now: u64) -> bool {
        let probes = EVICTION_PROBES.min(self.order.len());
        for i in 0..probes {
            let key = self.order[i];
            if self.cells.get(key).is_some_and(|tat| tat <= now) {
                self.order.remove(i);
                self.cells.remove(key);
                return false;
            }
        }
        match self.order.pop_front() {
            Some(key) => self.cells.remove(key).is_some_and(|tat| tat > now),
            None => false,
        }
    }
}

/// The generic cell rate algorithm: `tat` is when the client's bucket is
/// empty until; each request moves it one `emission` later, and may not move
/// it more than `tolerance` past now.
fn gcra(tat: &mut u64, now: u64, emission: u64, tolerance: u64) -> Verdict {
    let next = (*tat).max(now).saturating_add(emission);
    let limit = now.saturating_add(tolerance);
    if next > limit {
        Verdict::Reject(Duration::from_nanos(next - limit))
    } else {
        *tat = next;
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let t = ClientTable::new(3, Duration::from_secs(3), 100);
        for _ in 0..3 {
            assert_eq!(t.check(7).0, Verdict::Allow);
        }
        match t.check(7).0 {
            Verdict::Reject(wait) => {
                assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900))
            }
            Verdict::Allow => panic!("the fourth request of a burst of three passed"),
        }
        assert_eq!(
            t.check(8).0,
            Verdict::Allow,
            "clients have their own buckets"
        );
    }

    #[test]
    fn the_table_stays_within_its_capacity_and_counts_lossy_evictions() {
        let t = ClientTable::new(1, Duration::from_secs(3600), 1000);
        let mut lossy = 0;
        // Keys spread over every shard, as hashes are.
        for i in 0..100_000u64 {
            let key = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (_, evicted) = t.check(key);
            lossy += u64::from(evicted);
        }
        assert!(t.len() <= t.capacity(), "{} > {}", t.len(), t.capacity());
        assert!(t.capacity() >= 1000 && t.capacity() < 1100);
        // Every client is still mid-window: each forgotten one is lossy.
        assert_eq!(lossy, 100_000 - t.len() as u64);
    }

    #[test]
    fn refilled_clients_are_forgotten_first() {
        // Two clients of room per shard (64 shards × 2); keys 1..=4 share shard 0.
        let t = ClientTable::new(1, Duration::from_millis(200), 128);
        assert_eq!(t.check(1).0, Verdict::Allow);
        std::thread::sleep(Duration::from_millis(250)); // client 1 has refilled
        assert_eq!(t.check(2).0, Verdict::Allow); // client 2 has not
        let (_, lossy) = t.check(3);
        assert!(!lossy, "the refilled client (1) goes first, at no cost");
        assert!(
            matches!(t.check(2).0, Verdict::Reject(_)),
            "2 is still known"
        );
        let (_, lossy) = t.check(4);
        assert!(
            lossy,
            "with nobody refilled, the oldest goes and it is counted"
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn cells_insert_find_and_remove_like_a_map() {
        // Against std's map, with keys that collide on their home slot.
        let mut cells = Cells::default();
        let mut model = std::collections::HashMap::new();
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = x % 512 * 64; // few distinct homes: long probe runs
            if model.contains_key(&key) && step % 3 == 0 {
                assert_eq!(cells.remove(key), model.remove(&key));
            } else if let Some(v) = cells.get_mut(key) {
                *v = step;
                model.insert(key, step);
            } else {
                cells.insert(key, step);
                model.insert(key, step);
            }
            assert_eq!(cells.len, model.len());
        }
        for (k, v) in &model {
            assert_eq!(cells.get(*k), Some(*v));
        }
        assert_eq!(cells.get(12_345), None);
        assert_eq!(cells.remove(12_345), None);
    }
}
