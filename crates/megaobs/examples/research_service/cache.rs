//! The answer cache: past results, found again by the exact query text or,
//! failing that, by a query whose embedding is close enough (a semantic hit).

use std::sync::Mutex;

use megaobs::metrics::CacheHitKind;

use crate::research::ResearchResult;
use crate::vector::{cosine, Embedding};

/// How many answers the cache keeps; the oldest goes first.
const CAPACITY: usize = 200;
/// The cosine similarity from which a different query counts as the same question.
const SEMANTIC_THRESHOLD: f32 = 0.92;

/// Cached results with the query (and its embedding) that produced them.
pub struct AnswerCache {
    entries: Mutex<Vec<(String, Embedding, ResearchResult)>>,
}

impl AnswerCache {
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// An exact hit by query text, else a semantic hit by embedding similarity.
    pub fn lookup(
        &self,
        query: &str,
        embedding: &Embedding,
    ) -> Option<(CacheHitKind, ResearchResult)> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(q, _, _)| q == query)
            .map(|(_, _, r)| (CacheHitKind::Exact, r.clone()))
            .or_else(|| {
                entries
                    .iter()
                    .find(|(_, e, _)| cosine(e, embedding) >= SEMANTIC_THRESHOLD)
                    .map(|(_, _, r)| (CacheHitKind::Semantic, r.clone()))
            })
    }

    /// Stores `result` for `query`, evicting the oldest entry when full.
    pub fn insert(&self, query: String, embedding: Embedding, result: ResearchResult) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.remove(0);
            }
            entries.push((query, embedding, result));
        }
    }
}
