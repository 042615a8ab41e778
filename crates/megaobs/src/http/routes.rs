//! `/metrics`, `/health` and `/ready`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::metrics::{metrics_handler, MetricsCollector};

/// Readiness switch for `/ready`: `503` until [`set_ready(true)`](Self::set_ready),
/// e.g. once exporters, pools and caches are initialised; set it back to `false`
/// while draining on shutdown.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Not ready yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the service ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether the service is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// `GET /metrics` (text or OpenMetrics by `Accept`), `GET /health` (liveness:
/// always 200 while the process serves) and `GET /ready` (200 or 503 from `readiness`).
pub fn observability_routes(collector: MetricsCollector, readiness: Readiness) -> Router {
    health_routes(readiness).route("/metrics", get(metrics_handler).with_state(collector))
}

/// `GET /health` and `GET /ready` alone, for a service that serves `/metrics`
/// on a listener of its own ([`serve_metrics`](crate::metrics::serve_metrics)).
pub fn health_routes(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async {
                (
                    [("content-type", "application/json")],
                    "{\"status\":\"ok\"}",
                )
            }),
        )
        .route(
            "/ready",
            get(move || {
                let ready = readiness.is_ready();
                async move {
                    if ready {
                        (
                            StatusCode::OK,
                            [("content-type", "application/json")],
                            "{\"status\":\"ready\"}",
                        )
                            .into_response()
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            [("content-type", "application/json")],
                            "{\"status\":\"starting\"}",
                        )
                            .into_response()
                    }
                }
            }),
        )
}

/// A JSON `404` for `Router::fallback`. Add the fallback *before* the layers
/// (`Router::layer` only wraps what exists), so unmatched requests are counted too
/// (as `path="unmatched"`).
pub async fn not_found() -> axum::response::Response {
    (
        StatusCode::NOT_FOUND,
        [("content-type", "application/json")],
        "{\"error\":\"not_found\",\"message\":\"no route matches this path\"}",
    )
        .into_response()
}
