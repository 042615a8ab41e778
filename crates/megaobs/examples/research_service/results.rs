//! The results kept for `GET /api/research/{id}`: at most [`MAX_RESULTS`],
//! each for at most [`RETENTION`]; older ones answer 404. Bounded however
//! many requests arrive, unlike a map that keeps every result forever.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::research::ResearchResult;

/// Most results kept (a result with a 2 KB query takes about 4 KB).
pub const MAX_RESULTS: usize = 2_000;
/// How long a result can be fetched.
pub const RETENTION: Duration = Duration::from_secs(600);

#[derive(Default)]
struct Store {
    by_id: HashMap<u64, (Instant, ResearchResult)>,
    /// Ids oldest first.
    order: VecDeque<u64>,
}

/// Recent results by id.
pub struct ResultStore(Mutex<Store>);

impl ResultStore {
    pub fn new() -> Self {
        Self(Mutex::new(Store::default()))
    }

    /// Keeps `result`, forgetting expired ones and, past the cap, the oldest.
    pub fn insert(&self, result: ResearchResult) {
        let Ok(mut s) = self.0.lock() else { return };
        while let Some(&oldest) = s.order.front() {
            let expired = s
                .by_id
                .get(&oldest)
                .is_none_or(|(at, _)| at.elapsed() >= RETENTION);
            if !expired && s.order.len() < MAX_RESULTS {
                break;
            }
            s.order.pop_front();
            s.by_id.remove(&oldest);
        }
        s.order.push_back(result.id);
        s.by_id.insert(result.id, (Instant::now(), result));
    }

    /// The result `id`, unless unknown or expired.
    pub fn get(&self, id: u64) -> Option<ResearchResult> {
        let s = self.0.lock().ok()?;
        s.by_id
            .get(&id)
            .filter(|(at, _)| at.elapsed() < RETENTION)
            .map(|(_, r)| r.clone())
    }

    /// Changes the result `id` in place, if it is still kept.
    pub fn update(&self, id: u64, f: impl FnOnce(&mut ResearchResult)) {
        if let Ok(mut s) = self.0.lock() {
            if let Some((_, r)) = s.by_id.get_mut(&id) {
                f(r);
            }
        }
    }
}
