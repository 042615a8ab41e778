//! The built-in load generator: a client calling the API over real HTTP at a
//! steady rate through `megaobs::client::HttpClientMiddleware`, so each call is
//! a CLIENT span, the root of its own trace, whose `traceparent` the API's
//! server span continues (sampled at `TRACING_SAMPLE_RATE` at that root). The mix
//! has repeated questions (exact cache hits), paraphrases (semantic hits), new
//! questions (misses), a burst from one API key past its rate limit, and now
//! and then a malformed request. [`LoadStats`] feeds the status line.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use megaobs::client::{HttpClientMiddleware, UrlTemplate};

use crate::rng::Rng;

/// The questions the client asks (and rephrases).
const QUERIES: [&str; 10] = [
    "How do transformer models use attention?",
    "What is retrieval augmented generation?",
    "How do vector databases answer nearest neighbour queries?",
    "Why cache prompts and answers?",
    "When should a human review an answer?",
    "How does exponential backoff avoid overload?",
    "What does distributed tracing follow?",
    "How does prometheus store metrics?",
    "compare structured logging and plain logs",
    "evaluate language models against references",
];

/// How many recent request latencies the p95 is computed over.
const LATENCY_WINDOW: usize = 1_000;

/// Load statistics for the status line.
#[derive(Default)]
pub struct LoadStats {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    latencies_us: Mutex<VecDeque<u64>>,
}

impl LoadStats {
    /// The 95th percentile of the recent request latencies, in milliseconds.
    pub fn p95_ms(&self) -> f64 {
        let mut v: Vec<u64> = self
            .latencies_us
            .lock()
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_unstable();
        v[(v.len() * 95 / 100).min(v.len() - 1)] as f64 / 1000.0
    }

    fn record_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.latencies_us.lock() {
            if l.len() >= LATENCY_WINDOW {
                l.pop_front();
            }
            l.push_back(latency.as_micros() as u64);
        }
    }
}

/// The body and API key of the `n`th research request.
fn research_request(n: u64, rng: &mut Rng) -> (String, String) {
    if n % 50 == 17 {
        // A malformed request now and then: the API answers 4xx JSON.
        return ("{\"query\": ".to_string(), "client-bad".to_string());
    }
    let q = QUERIES[(rng.next() % QUERIES.len() as u64) as usize];
    // Paraphrases hit the cache semantically; new questions miss it.
    let r = rng.unit();
    let q = if r < 0.2 {
        format!("{} please", q.trim_end_matches('?'))
    } else if r < 0.45 {
        format!(
            "{} in year {}",
            q.trim_end_matches('?'),
            2000 + rng.next() % 30
        )
    } else {
        q.to_string()
    };
    let key = format!("client-{}", n % 7);
    (
        serde_json::json!({ "query": q, "user_id": format!("user-{}", n % 13) }).to_string(),
        key,
    )
}

/// The built-in client: real HTTP requests, each the CLIENT root of its trace.
pub async fn load_generator(base: String, rps: f64, rate_limit: u32, stats: Arc<LoadStats>) {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new())
        .build();
    let template = |t: &'static str| UrlTemplate::new(t);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rps));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        n += 1;
        if n % 100 == 50 {
            // A burst from one client, past its rate limit: some get 429 + Retry-After.
            for _ in 0..rate_limit.saturating_add(5).min(500) {
                let (client, url) = (client.clone(), format!("{base}/api/reviews/pending"));
                tokio::spawn(async move {
                    let _ = client
                        .get(url)
                        .with_extension(template("/api/reviews/pending"))
                        .header("x-api-key", "burst-client")
                        .send()
                        .await;
                });
            }
        }
        let (body, key) = research_request(n, &mut rng);
        let req = client
            .post(format!("{base}/api/research"))
            .with_extension(template("/api/research"))
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(body);
        let stats = Arc::clone(&stats);
        let (task_client, task_base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let (client, base) = (task_client, task_base);
            let start = Instant::now();
            let resp = req.send().await;
            stats.requests.fetch_add(1, Ordering::Relaxed);
            match resp {
                Ok(r) if r.status().is_success() => {
                    if let Ok(v) = r.json::<serde_json::Value>().await {
                        if let Some(id) = v["id"].as_u64() {
                            let _ = client
                                .get(format!("{base}/api/research/{id}"))
                                .with_extension(template("/api/research/{id}"))
                                .send()
                                .await;
                        }
                    }
                }
                _ => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            stats.record_latency(start.elapsed());
        });
        if n % 30 == 0 {
            let _ = client
                .get(format!("{base}/api/reviews/pending"))
                .with_extension(template("/api/reviews/pending"))
                .send()
                .await;
            let _ = client
                .get(format!("{base}/api/research/999999"))
                .with_extension(template("/api/research/{id}"))
                .send()
                .await;
        }
    }
}
