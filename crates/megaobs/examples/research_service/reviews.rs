//! Human review: results the router was unsure of wait in a queue until a
//! (simulated) reviewer approves or rejects them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use megaobs::metrics::ReviewDecision;
use serde::Serialize;

use crate::app::App;
use crate::workflow::WORKFLOW;

/// How long a review waits before a reviewer picks it up.
const REVIEW_DELAY: Duration = Duration::from_secs(1);
/// The share of reviews that end approved.
const APPROVAL_RATE: f64 = 0.8;
/// Most reviews waiting; past it, new ones are not queued (and a warning says so).
const MAX_PENDING: usize = 10_000;

/// A result waiting for a human decision (listed by `GET /api/reviews/pending`).
#[derive(Debug, Clone, Serialize)]
pub struct PendingReview {
    pub result_id: u64,
    pub reason: &'static str,
    #[serde(skip)]
    pub since: Instant,
}

/// The reviews waiting, oldest first.
pub struct ReviewQueue(Mutex<VecDeque<PendingReview>>);

impl ReviewQueue {
    pub fn new() -> Self {
        Self(Mutex::new(VecDeque::new()))
    }

    /// Queues result `result_id` for review, from now; `false` when the queue
    /// is full (the review is skipped).
    pub fn push(&self, result_id: u64, reason: &'static str) -> bool {
        let Ok(mut q) = self.0.lock() else {
            return false;
        };
        if q.len() >= MAX_PENDING {
            tracing::warn!(result_id, "review queue full; review skipped");
            return false;
        }
        q.push_back(PendingReview {
            result_id,
            reason,
            since: Instant::now(),
        });
        true
    }

    /// Every review still waiting, oldest first.
    pub fn pending(&self) -> Vec<PendingReview> {
        self.0
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Takes the reviews that have waited longer than `delay`.
    fn take_older_than(&self, delay: Duration) -> Vec<PendingReview> {
        match self.0.lock() {
            Ok(mut q) => {
                let ready = q.iter().take_while(|r| r.since.elapsed() > delay).count();
                q.drain(..ready).collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// Reviewers: complete reviews that have waited a while (80% approved).
pub async fn reviewers(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        for r in app.reviews.take_older_than(REVIEW_DELAY) {
            let decision = if app.random() < APPROVAL_RATE {
                ReviewDecision::Approved
            } else {
                ReviewDecision::Rejected
            };
            app.collector
                .record_human_review_completed(WORKFLOW, decision, r.since.elapsed());
            tracing::info!(
                result_id = r.result_id,
                decision = decision.as_str(),
                reason = r.reason,
                "human review completed"
            );
            app.results
                .update(r.result_id, |res| res.review = Some(decision.as_str()));
        }
    }
}
