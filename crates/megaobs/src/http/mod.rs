//! The HTTP layer (feature `axum`): tower middleware for request metrics and
//! server spans ([`ObserveLayer`]), rate limiting ([`RateLimitLayer`]), and the
//! `/metrics`, `/health` and `/ready` routes ([`observability_routes`]).
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use megaobs::http::{observability_routes, ObserveLayer, RateLimitLayer, Readiness};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let collector = megaobs::metrics().clone();
//! let readiness = Readiness::new();
//! let api = Router::new()
//!     .route("/api/research/{id}", get(|| async { "result" }))
//!     .fallback(megaobs::http::not_found) // before the layers, so 404s are observed
//!     // Router::layer runs after routing, so the route template is known. One
//!     // call for both layers, outermost first: axum wraps each route once per call.
//!     .layer(
//!         tower::ServiceBuilder::new()
//!             .layer(ObserveLayer::new(collector.clone()))
//!             .layer(RateLimitLayer::new("api_default", 60, Duration::from_secs(60), collector.clone())),
//!     );
//! // Merge the API into the observability routes (this order keeps the API's
//! // fallback; /metrics, /health and /ready stay outside the rate limit).
//! let app = observability_routes(collector, readiness.clone()).merge(api);
//! readiness.set_ready(true);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! // ConnectInfo gives the rate limiter the peer address.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```

mod client_table;
mod config;
mod connections;
#[cfg(feature = "logging")]
mod log_level;
mod observe;
mod rate_limit;
mod routes;
mod server;

pub use config::ApiConfig;
pub use connections::{CountConnections, CountedConnection};
#[cfg(feature = "logging")]
pub use log_level::log_level_router;
pub use observe::{Observe, ObserveLayer, ResponseFuture, TraceHeaders};
pub use rate_limit::{ClientKey, RateLimit, RateLimitFuture, RateLimitLayer, DEFAULT_MAX_CLIENTS};
pub use routes::{health_routes, not_found, observability_routes, Readiness};
pub use server::{
    shutdown_signal, ServeReport, Server, StopSignal, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT,
};

/// The `path` label of requests that matched no route (never the raw URL).
pub const UNMATCHED_ROUTE: &str = "unmatched";
