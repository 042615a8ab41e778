//! [`RateLimitLayer`]: `limit` requests per `window` per client, 429 beyond.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, Request, Response, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tower::{Layer, Service};

use crate::config::ApiConfig;
use crate::metrics::MetricsCollector;

/// Clients are keyed by a 64-bit hash of their identity: no allocation per
/// request, 8 bytes per tracked client, and a collision (odds ~n²/2⁶⁵) only
/// makes two clients share a bucket.
type Limiter = RateLimiter<u64, DefaultKeyedStateStore<u64>, DefaultClock>;

/// Most client keys tracked before idle ones are pruned early.
const MAX_TRACKED_CLIENTS: usize = 100_000;
/// Requests between two routine prunes of idle clients.
const PRUNE_EVERY: u64 = 4096;
/// Requests between two checks of the number of tracked clients.
const CHECK_EVERY: u64 = 256;

/// How a request's client is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// The value of an API key header if present (e.g. `x-api-key`), else the peer IP.
    ApiKeyThenPeerIp(HeaderName),
    /// The peer IP (needs `into_make_service_with_connect_info::<SocketAddr>()`).
    PeerIp,
    /// The first address in a forwarded header set by a proxy you trust (e.g.
    /// `x-forwarded-for`), else the peer IP. Only behind such a proxy: clients
    /// can write this header themselves.
    TrustedForwardedFor(HeaderName),
}

/// Limits each client to `limit` requests per `window` (a token bucket that
/// refills evenly: a burst of `limit`, then one request per `window / limit`).
/// Rejections answer `429 Too Many Requests` with `Retry-After` and count in
/// `mega_agent_rate_limit_rejections_total{key=<policy name>}` — the policy,
/// never the client. Memory: idle clients are pruned as the window allows.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    policy: String,
    quota: Quota,
    limiter: Limiter,
    key: ClientKey,
    /// The secret keys client identities are hashed with.
    keys: RandomState,
    collector: MetricsCollector,
    seen: AtomicU64,
}

impl RateLimitLayer {
    /// A policy named `policy` allowing `limit` requests per `window` per client,
    /// keyed by `x-api-key`, else the peer IP.
    pub fn new(policy: &str, limit: u32, window: Duration, collector: MetricsCollector) -> Self {
        let limit = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        let period = (window / limit.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(limit))
            .allow_burst(limit);
        Self {
            state: Arc::new(State {
                policy: policy.to_string(),
                quota,
                limiter: RateLimiter::keyed(quota),
                key: ClientKey::ApiKeyThenPeerIp(HeaderName::from_static("x-api-key")),
                keys: RandomState::new(),
                collector,
                seen: AtomicU64::new(0),
            }),
        }
    }

    /// The policy of `API_RATE_LIMIT` / `API_RATE_WINDOW`.
    pub fn from_config(policy: &str, config: &ApiConfig, collector: MetricsCollector) -> Self {
        Self::new(policy, config.rate_limit, config.rate_window, collector)
    }

    /// Changes how clients are identified (a fresh limiter: call it while building).
    pub fn client_key(self, key: ClientKey) -> Self {
        let s = &self.state;
        Self {
            state: Arc::new(State {
                policy: s.policy.clone(),
                quota: s.quota,
                limiter: RateLimiter::keyed(s.quota),
                key,
                keys: s.keys.clone(),
                collector: s.collector.clone(),
                seen: AtomicU64::new(0),
            }),
        }
    }

    /// Clients currently tracked.
    pub fn tracked_clients(&self) -> usize {
        self.state.limiter.len()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    state: Arc<State>,
}

fn peer_ip<B>(req: &Request<B>) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn client<B>(key: &ClientKey, keys: &RandomState, req: &Request<B>) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    // A hasher keyed with a secret chosen at start (SipHash with random keys):
    // the same client maps to the same bucket for the layer's life, and a client
    // cannot choose an API key whose hash lands in another client's bucket — with
    // a fixed-key hash (FxHash, invertible) it could, and spend that client's
    // quota for it (a targeted denial of service).
    let mut h = keys.build_hasher();
    let header_value = |name: &HeaderName| {
        req.headers()
            .get(name)
            .map(|v| v.as_bytes())
            .filter(|v| !v.is_empty())
    };
    let peer = |h: &mut std::hash::DefaultHasher| {
        (1u8).hash(h);
        peer_ip(req).hash(h);
    };
    match key {
        ClientKey::ApiKeyThenPeerIp(name) => match header_value(name) {
            Some(k) => {
                (0u8).hash(&mut h);
                k.hash(&mut h);
            }
            None => peer(&mut h),
        },
        ClientKey::PeerIp => peer(&mut h),
        ClientKey::TrustedForwardedFor(name) => {
            let forwarded = header_value(name)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.split(',').next())
                .and_then(|first| first.trim().parse::<IpAddr>().ok());
            match forwarded {
                Some(ip) => {
                    (1u8).hash(&mut h);
                    Some(ip).hash(&mut h);
                }
                None => peer(&mut h),
            }
        }
    }
    h.finish()
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let s = &self.state;
        let n = s.seen.fetch_add(1, Ordering::Relaxed);
        // Counting the clients locks every shard of the map, so it is done only
        // every CHECK_EVERY requests (at most that many new clients in between).
        if n % PRUNE_EVERY == 0 || (n % CHECK_EVERY == 0 && s.limiter.len() > MAX_TRACKED_CLIENTS) {
            // Forget clients whose bucket is full again: they cost nothing to re-add.
            s.limiter.retain_recent();
            s.limiter.shrink_to_fit();
        }
        let key = client(&s.key, &s.keys, &req);
        match s.limiter.check_key(&key) {
            Ok(()) => Box::pin(self.inner.call(req)),
            Err(not_until) => {
                s.collector.record_rate_limit_rejection(&s.policy);
                let wait = not_until.wait_time_from(s.limiter.clock().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let secs = secs.max(1);
                let body = format!(
                    "{{\"error\":\"rate_limited\",\"message\":\"too many requests; retry after {secs} s\",\"retry_after_seconds\":{secs}}}"
                );
                let resp = Response::builder()
                    .status(StatusCode::TOO_MANY_REQUESTS)
                    .header(header::RETRY_AFTER, secs.to_string())
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body));
                Box::pin(async move {
                    Ok(resp.unwrap_or_else(|_| {
                        let mut r = Response::new(Body::empty());
                        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                        r
                    }))
                })
            }
        }
    }
}
