//! Cheap scrapes under a flood: the exposition is encoded at most once per
//! short window per format and shared by every scraper in that window (one
//! encodes, the others wait for it and reuse it), encoding runs on a blocking
//! thread rather than an async worker, and scrapes beyond a cap get `503` with
//! `Retry-After` instead of queueing. Three hundred scrapers hammering
//! `/metrics` then cost one encode a second, not three hundred, and the API
//! sharing the runtime keeps its workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{Mutex, Semaphore};

use super::{Format, MetricsCollector};

/// Default longest age of a shared exposition.
pub const DEFAULT_SCRAPE_CACHE: Duration = Duration::from_secs(1);
/// Default most scrapes answered at once.
pub const DEFAULT_MAX_CONCURRENT_SCRAPES: usize = 16;

/// The last encoding of each format, and the scrape limit.
#[derive(Debug)]
pub(crate) struct ScrapeCache {
    max_age: Duration,
    /// Per format: when it was encoded, and the body. The lock is held while
    /// encoding, so concurrent scrapers of a stale body wait for one encode.
    slots: [Mutex<Option<(Instant, Bytes)>>; 2],
    in_flight: Arc<Semaphore>,
}

impl ScrapeCache {
    pub(crate) fn new(max_age: Duration, max_concurrent: usize) -> Self {
        Self {
            max_age,
            slots: [Mutex::new(None), Mutex::new(None)],
            in_flight: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// Answers one scrape of `collector` in `format`.
    pub(crate) async fn respond(
        self: &Arc<Self>,
        collector: &MetricsCollector,
        format: Format,
    ) -> Response {
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
                "too many concurrent scrapes of /metrics; retry in 1 s\n",
            )
                .into_response();
        };
        // On a task of its own: a scraper that disconnects mid-encode does not
        // cancel it (the next waiter would start another), and its slot stays
        // taken until the encode is done.
        let (cache, c) = (Arc::clone(self), collector.clone());
        let body = tokio::spawn(async move {
            let _permit = permit;
            cache.body(&c, format).await
        })
        .await
        .unwrap_or_else(|_| Bytes::from(collector.encode(format)));
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            body,
        )
            .into_response()
    }

    async fn body(&self, collector: &MetricsCollector, format: Format) -> Bytes {
        let slot = &self.slots[usize::from(format == Format::OpenMetrics)];
        let mut cached = slot.lock().await;
        if let Some((at, body)) = cached.as_ref() {
            if at.elapsed() < self.max_age {
                return body.clone();
            }
        }
        let c = collector.clone();
        let encoded = match tokio::task::spawn_blocking(move || c.encode(format)).await {
            Ok(text) => text,
            // No blocking thread (the runtime is shutting down): encode here.
            Err(_) => collector.encode(format),
        };
        let body = Bytes::from(encoded);
        if !self.max_age.is_zero() {
            *cached = Some((Instant::now(), body.clone()));
        }
        body
    }
}

/// The collector's scrape cache, made on first use with the collector's settings.
pub(crate) fn cache_of(collector: &MetricsCollector) -> &Arc<ScrapeCache> {
    collector.inner.scrape.get_or_init(|| {
        Arc::new(ScrapeCache::new(
            collector.inner.scrape_cache,
            collector.inner.max_concurrent_scrapes,
        ))
    })
}
