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

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Shards of the table (a power of two): requests of different clients rarely
/// wait for each other's lock.
const SHARDS: usize = 64;
/// How many of a full shard's oldest clients are looked at for one whose
/// bucket has refilled before the oldest is forgotten anyway.
const EVICTION_PROBES: usize = 4;

/// A client key is already a secret-keyed SipHash of the client's identity
/// (uniform, and not chosen by the client), so it is its own hash.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the table; other input is mixed FxHash-style.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, key: u64) {
        // The table shards on the key's top bits and the map tags entries with
        // its hash's top bits: rotated, the two use different bits.
        self.0 = key.rotate_left(32);
    }
}

#[derive(Debug, Default)]
struct Shard {
    /// Client key → the time (ns since `start`) its bucket is empty until.
    cells: HashMap<u64, u64, BuildHasherDefault<KeyIsHash>>,
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
        if let Some(tat) = shard.cells.get_mut(&key) {
            return (gcra(tat, now, self.emission, self.tolerance), false);
        }
        let mut evicted_active = false;
        if shard.cells.len() >= self.per_shard {
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
        self.shards.iter().map(|s| s.lock().cells.len()).sum()
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
            if self.cells.get(&key).is_some_and(|tat| *tat <= now) {
                self.order.remove(i);
                self.cells.remove(&key);
                return false;
            }
        }
        match self.order.pop_front() {
            Some(key) => self.cells.remove(&key).is_some_and(|tat| tat > now),
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
    fn the_limiter_map_uses_the_keyed_hash_as_it_is() {
        let mut h = KeyIsHash::default();
        h.write_u64(0xdead_beef_0123_4567);
        assert_eq!(h.finish(), 0x0123_4567_dead_beef);
        // Other input is still mixed, not ignored.
        let (mut a, mut b) = (KeyIsHash::default(), KeyIsHash::default());
        a.write(b"a");
        b.write(b"b");
        assert_ne!(a.finish(), b.finish());
    }
}
