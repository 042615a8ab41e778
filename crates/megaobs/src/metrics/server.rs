//! Serving `/metrics`: an axum handler/router for apps that have a web server,
//! and [`serve_metrics`], a standalone listener for apps that do not.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;

use super::{Format, MetricsCollector};

/// The standalone server's header-read timeout (also its idle keep-alive time).
const SCRAPE_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Most connections the standalone server keeps open.
const MAX_SCRAPE_CONNECTIONS: usize = 256;
/// How long the standalone server lets in-flight scrapes finish when stopped.
const SCRAPE_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
use crate::error::{Error, Result};

/// Answers a scrape: Prometheus text, or OpenMetrics when the `Accept` header
/// asks for it. Protected against scrape floods: the exposition is encoded at
/// most once per [`scrape_cache`](super::MetricsCollectorBuilder::scrape_cache)
/// window per format, off the async workers, and scrapes beyond
/// [`max_concurrent_scrapes`](super::MetricsCollectorBuilder::max_concurrent_scrapes)
/// get `503` with `Retry-After: 1`.
///
/// ```
/// use axum::{routing::get, Router};
/// use megaobs::metrics::{metrics_handler, MetricsCollector};
///
/// let app: Router = Router::new()
///     .route("/metrics", get(metrics_handler))
///     .with_state(MetricsCollector::new());
/// ```
pub async fn metrics_handler(
    State(collector): State<MetricsCollector>,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept);
    // This route runs on the service's runtime: observe it, unless told another.
    collector.inner.runtime.set_current_if_unset();
    super::scrape::cache_of(&collector)
        .respond(&collector, format)
        .await
}

/// A router serving `GET /metrics` for `collector`, to `merge` into an app.
pub fn metrics_router(collector: MetricsCollector) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(collector)
}

#[derive(Debug)]
struct ServeState {
    collector: MetricsCollector,
    format: Option<Format>,
    bearer: Option<HeaderValue>,
}

async fn serve_handler(State(s): State<Arc<ServeState>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &s.bearer {
        let given = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if !given.is_some_and(|g| crate::core::text::same_secret(g, expected.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong bearer token for /metrics\n",
            )
                .into_response();
        }
    }
    let format = s.format.unwrap_or_else(|| {
        Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
    });
    super::scrape::cache_of(&s.collector)
        .respond(&s.collector, format)
        .await
}

/// Serves the process-wide collector's `/metrics` on `addr` from a background
/// thread. Binding happens before this returns, so a busy port is an error here.
///
/// ```no_run
/// let server = megaobs::metrics::serve_metrics("127.0.0.1:8000".parse().unwrap())?;
/// println!("metrics on http://{}/metrics", server.local_addr());
/// # Ok::<(), megaobs::Error>(())
/// ```
pub fn serve_metrics(addr: SocketAddr) -> Result<MetricsServer> {
    MetricsServer::builder(super::metrics().clone())
        .addr(addr)
        .start()
}

/// Configures a standalone `/metrics` server.
#[derive(Debug)]
pub struct MetricsServerBuilder {
    collector: MetricsCollector,
    addr: SocketAddr,
    format: Option<Format>,
    bearer: Option<String>,
}

impl MetricsServerBuilder {
    /// Listen address (default `127.0.0.1:8000`; port 0 picks a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Always answer in `format`, whatever the scraper asks (default: negotiate).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Require `Authorization: Bearer <token>` (Prometheus: `authorization:
    /// credentials: <token>` in the scrape config). Others get `401`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// Binds and starts serving on a background thread.
    pub fn start(self) -> Result<MetricsServer> {
        let bind_err = |source| Error::Bind {
            addr: self.addr.to_string(),
            source,
        };
        let listener = TcpListener::bind(self.addr).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let bearer = match self.bearer {
            None => None,
            Some(t) => Some(HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                Error::InvalidConfig {
                    field: "MetricsServerBuilder::bearer_token",
                    value: "<hidden>".into(),
                    reason: "a bearer token must be visible ASCII without spaces".into(),
                }
            })?),
        };
        let state = Arc::new(ServeState {
            collector: self.collector,
            format: self.format,
            bearer,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "tokio runtime for /metrics".into(),
                source,
            })?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("megaobs-metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let app = Router::new()
                        .route("/metrics", get(serve_handler))
                        .with_state(state);
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let opts = crate::core::serve::ServeOptions {
                        header_read_timeout: SCRAPE_HEADER_TIMEOUT,
                        max_connections: MAX_SCRAPE_CONNECTIONS,
                        drain_timeout: SCRAPE_DRAIN_TIMEOUT,
                        request_timeout: SCRAPE_HEADER_TIMEOUT,
                        on_connection: None,
                    };
                    crate::core::serve::serve(listener, app, opts, async {
                        let _ = rx.await;
                    })
                    .await;
                });
            })
            .map_err(|source| Error::Io {
                path: "megaobs-metrics thread".into(),
                source,
            })?;
        Ok(MetricsServer {
            local_addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

/// A running standalone `/metrics` server; stops when dropped or on [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// A builder for a server of `collector`.
    pub fn builder(collector: MetricsCollector) -> MetricsServerBuilder {
        MetricsServerBuilder {
            collector,
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            format: None,
            bearer: None,
        }
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, finishes in-flight scrapes, and joins the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
