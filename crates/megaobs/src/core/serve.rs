//! Serving an axum app over HTTP/1.1 safely: a header-read timeout that also
//! closes idle keep-alive and half-open connections, a request timeout (so a
//! trickled body cannot hold a connection), a cap on concurrent connections,
//! and a graceful stop with a drain deadline. Not bounded: a client that stops
//! reading a large response holds its connection until TCP gives up.
//!
//! `axum::serve` sets no header-read timeout (hyper's needs a timer, which it
//! does not give) and no connection cap, so a client that opens connections and
//! never finishes a request keeps them open forever. This accept loop gives
//! hyper the timer and the limits; it is the one HTTP server of the crate (the
//! `megaobs::http::Server` and the standalone `/metrics` server).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Called with `true` when a connection opens and `false` when it closes.
pub(crate) type ConnectionHook = Arc<dyn Fn(bool) + Send + Sync>;

/// How a server treats its connections.
#[derive(Clone)]
pub(crate) struct ServeOptions {
    /// Longest a connection may take to send a request's headers, counted from
    /// when the server starts waiting for them (so also the idle keep-alive
    /// time between requests).
    pub header_read_timeout: Duration,
    /// Most connections open at once; past it, new ones wait in the OS backlog.
    pub max_connections: usize,
    /// Longest in-flight requests may take to finish once stopping begins.
    pub drain_timeout: Duration,
    /// Longest one request may take, reading its body included (a client that
    /// trickles a body cannot hold a connection); past it the answer is `408`.
    pub request_timeout: Duration,
    pub on_connection: Option<ConnectionHook>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Connections still busy at the drain deadline, closed unfinished.
    pub aborted: usize,
}

/// The answer to a request that took longer than the request timeout.
fn request_timed_out() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        http::StatusCode::REQUEST_TIMEOUT,
        [(http::header::CONNECTION, "close")],
        "request took too long\n",
    )
        .into_response()
}

/// Calls the connection hook with `false` when dropped: a connection task
/// that is aborted at the drain deadline still reports its close.
struct Closing(Option<ConnectionHook>);

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h(false);
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting,
/// lets in-flight requests finish (idle connections close at once) for at most
/// the drain timeout, and closes what is left.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Reap finished connections so the set holds only live ones.
        while tasks.try_join_next().is_some() {}
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let request_timeout = opts.request_timeout;
        let service = app
            .clone()
            .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            })
            .map_future(move |answer| async move {
                match tokio::time::timeout(request_timeout, answer).await {
                    Ok(result) => result,
                    Err(_) => Ok(request_timed_out()),
                }
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(opts.header_read_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        if let Some(h) = &opts.on_connection {
            h(true);
        }
        let closing = Closing(opts.on_connection.clone());
        tasks.spawn(async move {
            let _closing = closing;
            let _permit = permit;
            let _ = conn.await;
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(opts.drain_timeout, graceful.shutdown())
        .await
        .is_ok();
    // Connections that finished in the meantime are not counted as cut.
    while tasks.try_join_next().is_some() {}
    let aborted = if drained { 0 } else { tasks.len() };
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Drained { aborted }
}
