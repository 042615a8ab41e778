//! [`Server`]: serves an axum app with the limits a public service needs, and
//! [`shutdown_signal`], the stop signal of a service under Kubernetes, systemd
//! or `docker stop` (SIGTERM) as well as at a terminal (Ctrl-C).
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new().route("/", get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! let report = megaobs::http::Server::new()
//!     .header_read_timeout(Duration::from_secs(10)) // also the idle keep-alive time
//!     .max_connections(4096)
//!     .drain_timeout(Duration::from_secs(10))
//!     .count_connections(megaobs::metrics().clone()) // mega_agent_open_connections
//!     .serve(listener, app, async { megaobs::http::shutdown_signal().await; })
//!     .await;
//! println!("stopped; {} connections cut at the drain deadline", report.aborted_connections);
//! # Ok(()) }
//! ```
//!
//! With `axum::serve` instead, a client that opens connections and never sends
//! a complete request holds them forever (axum gives hyper no timer, so no
//! header-read timeout applies), and nothing caps how many it may open. If you
//! keep `axum::serve`, put a proxy with those limits in front of it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::core::serve::{serve, ServeOptions};
use crate::metrics::MetricsCollector;

/// Default longest wait for a request's headers (and between keep-alive requests).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default most connections open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default longest wait for in-flight requests once stopping begins.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest time one request may take, reading its body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP/1.1 server for an axum [`Router`], with a header-read timeout, a
/// connection cap and a graceful stop. Requests carry
/// `ConnectInfo<SocketAddr>` (the peer address, which [`RateLimitLayer`]
/// uses). HTTP upgrades (WebSocket) are not served.
///
/// [`RateLimitLayer`]: super::RateLimitLayer
#[derive(Debug, Clone)]
#[must_use]
pub struct Server {
    opts: ServeOptions,
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

/// How a [`Server`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeReport {
    /// Connections still busy at the drain deadline, closed unfinished.
    pub aborted_connections: usize,
}

impl Server {
    /// A server with the default limits.
    pub fn new() -> Self {
        Self {
            opts: ServeOptions {
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                drain_timeout: DEFAULT_DRAIN_TIMEOUT,
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                on_connection: None,
            },
        }
    }

    /// Longest a client may take to send a request's headers, counted from when
    /// the server starts waiting for them: also closes idle keep-alive
    /// connections and connections that never send anything.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.opts.header_read_timeout = timeout;
        self
    }

    /// Most connections open at once (at least 1); further clients wait in the
    /// OS's accept backlog until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.opts.max_connections = connections.max(1);
        self
    }

    /// Longest in-flight requests may take to finish after the shutdown
    /// future resolves; connections still busy then are closed.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.opts.drain_timeout = timeout;
        self
    }

    /// Longest one request may take, reading its body included; past it the
    /// client gets `408` and the connection closes (a trickled body cannot
    /// hold a connection).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.opts.request_timeout = timeout;
        self
    }

    /// Keeps `mega_agent_open_connections` of `collector` equal to the open
    /// connections, from accept to close.
    pub fn count_connections(mut self, collector: MetricsCollector) -> Self {
        self.opts.on_connection = Some(Arc::new(move |open| {
            if open {
                collector.connection_opened();
            } else {
                collector.connection_closed();
            }
        }));
        self
    }

    /// Serves `app` until `shutdown` resolves, then stops accepting, drains
    /// and returns. Errors accepting a connection (such as running out of file
    /// descriptors) pause accepting briefly rather than stopping the server.
    pub async fn serve(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()>,
    ) -> ServeReport {
        let drained = serve(listener, app, self.opts, shutdown).await;
        ServeReport {
            aborted_connections: drained.aborted,
        }
    }
}

/// The signal that asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (Kubernetes, systemd, `docker stop`).
    Terminate,
}

impl StopSignal {
    /// `SIGINT` or `SIGTERM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }
}

/// A future resolving when the process receives SIGTERM or SIGINT (Ctrl-C),
/// with which. The signal handlers are registered when this is called, so call
/// it early (before announcing that the service is up): from then on these
/// signals no longer end the process, and the caller can drain and flush before
/// exiting. Call it inside a Tokio runtime with signals enabled (`enable_all`).
pub fn shutdown_signal() -> impl Future<Output = StopSignal> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => tokio::select! {
                    _ = term.recv() => StopSignal::Terminate,
                    _ = int.recv() => StopSignal::Interrupt,
                },
                (Some(mut term), None) => tokio::select! {
                    _ = term.recv() => StopSignal::Terminate,
                    _ = tokio::signal::ctrl_c() => StopSignal::Interrupt,
                },
                (None, _) => {
                    let _ = tokio::signal::ctrl_c().await;
                    StopSignal::Interrupt
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            StopSignal::Interrupt
        }
    }
}
