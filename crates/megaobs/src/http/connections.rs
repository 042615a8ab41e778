//! [`CountConnections`]: `mega_agent_open_connections` from the server's own
//! connection lifecycle.
//!
//! A connection is counted when the server accepts it (the make-service is called
//! for it) and uncounted when its service is dropped, which hyper does when the
//! connection closes and its last request is done. Wrapping the make-service rather
//! than the listener keeps `ConnectInfo<SocketAddr>` (which axum only provides for
//! its own listener types) working unchanged.
//!
//! Limitation: an upgraded connection (WebSocket) stops counting at the upgrade,
//! when hyper hands the socket over and drops the connection's service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;

use crate::metrics::MetricsCollector;

/// Wraps a make-service (what `axum::serve` takes, e.g.
/// `router.into_make_service_with_connect_info::<SocketAddr>()`) so that
/// `mega_agent_open_connections` follows the connections being served.
///
/// ```no_run
/// use std::net::SocketAddr;
/// use megaobs::http::CountConnections;
///
/// # async fn run() -> std::io::Result<()> {
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let make = app.into_make_service_with_connect_info::<SocketAddr>();
/// axum::serve(listener, CountConnections::new(make, megaobs::metrics().clone())).await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CountConnections<M> {
    inner: M,
    collector: MetricsCollector,
}

impl<M> CountConnections<M> {
    /// Counts the connections `make_service` serves into `collector`.
    pub fn new(make_service: M, collector: MetricsCollector) -> Self {
        Self {
            inner: make_service,
            collector,
        }
    }
}

/// Uncounts its connection when the last clone of the connection's service drops.
#[derive(Debug)]
struct Open(MetricsCollector);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

/// The service of one connection, made by [`CountConnections`].
#[derive(Debug, Clone)]
pub struct CountedConnection<S> {
    inner: S,
    _open: Arc<Open>,
}

impl<M, T> Service<T> for CountConnections<M>
where
    M: Service<T>,
    M::Future: Send + 'static,
{
    type Response = CountedConnection<M::Response>;
    type Error = M::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, M::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, target: T) -> Self::Future {
        // Counted from here: the guard uncounts it whatever happens next, even
        // if making the connection's service fails. (Boxed: once per connection.)
        self.collector.connection_opened();
        let open = Arc::new(Open(self.collector.clone()));
        let fut = self.inner.call(target);
        Box::pin(async move {
            let inner = fut.await?;
            Ok(CountedConnection { inner, _open: open })
        })
    }
}

impl<S, R> Service<R> for CountedConnection<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.inner.call(req)
    }
}
