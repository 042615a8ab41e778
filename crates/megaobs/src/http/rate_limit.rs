//! [`RateLimitLayer`]: `limit` requests per `window` per client, 429 beyond.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, Request, Response, StatusCode};
use tower::{Layer, Service};

use super::client_table::{ClientTable, Verdict};
use super::config::ApiConfig;
use crate::metrics::MetricsCollector;

/// Clients remembered by default before the oldest are forgotten (≈ 40 bytes each).
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// How a request's client is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// The value of an API key header if present (e.g. `x-api-key`), else the peer IP.
    ApiKeyThenPeerIp(HeaderName),
    /// The peer IP (needs `into_make_service_with_connect_info::<SocketAddr>()`).
    PeerIp,
    /// The last address in a forwarded header appended by the one proxy you
    /// trust in front of the service (e.g. `x-forwarded-for`, as nginx's
    /// `$proxy_add_x_forwarded_for`, load balancers and Envoy write it), else
    /// the peer IP. The last entry is the one that proxy saw connect: earlier
    /// entries are whatever the client sent, so they are never used.
    TrustedForwardedFor(HeaderName),
    /// The API key header's value when it is one of the keys you issued, else
    /// the peer IP: a client cannot get a fresh bucket by inventing a key
    /// (the recommended setup for a public API).
    KnownApiKeys(HeaderName, Arc<HashSet<Vec<u8>>>),
}

impl ClientKey {
    /// [`ClientKey::KnownApiKeys`] for the header `name` and the issued `keys`.
    pub fn known_api_keys<I, K>(name: HeaderName, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        Self::KnownApiKeys(
            name,
            Arc::new(keys.into_iter().map(|k| k.as_ref().to_vec()).collect()),
        )
    }
}

/// Limits each client to `limit` requests per `window` (a token bucket that
/// refills evenly: a burst of `limit`, then one request per `window / limit`).
/// Rejections answer `429 Too Many Requests` with `Retry-After` and count in
/// `mega_agent_rate_limit_rejections_total{key=<policy name>}` — the policy,
/// never the client.
///
/// Memory is bounded: the layer remembers at most [`max_clients`](Self::max_clients)
/// clients (default [`DEFAULT_MAX_CLIENTS`], about 40 bytes each), and every
/// request does the same O(1) work however many it has seen. When the table is
/// full, the oldest client is forgotten, preferably one whose bucket has
/// refilled (nothing lost); forgetting one that had not refilled gives it a
/// fresh burst and counts in `mega_agent_rate_limit_evictions_total{key}`.
///
/// Clients are identified by [`ClientKey`]: by default the `x-api-key` header,
/// else the peer IP. A client can invent API keys, so for a public API prefer
/// [`ClientKey::known_api_keys`] (issued keys get their own bucket, anything
/// else is limited per IP).
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    policy: String,
    limit: u32,
    window: Duration,
    table: ClientTable,
    key: ClientKey,
    /// The secret keys client identities are hashed with.
    keys: RandomState,
    collector: MetricsCollector,
}

impl State {
    fn rebuilt(&self, key: ClientKey, max_clients: usize) -> Self {
        Self {
            policy: self.policy.clone(),
            limit: self.limit,
            window: self.window,
            table: ClientTable::new(self.limit, self.window, max_clients),
            key,
            keys: self.keys.clone(),
            collector: self.collector.clone(),
        }
    }
}

impl RateLimitLayer {
    /// A policy named `policy` allowing `limit` requests per `window` per client,
    /// keyed by `x-api-key`, else the peer IP.
    pub fn new(policy: &str, limit: u32, window: Duration, collector: MetricsCollector) -> Self {
        let limit = limit.max(1);
        let window = window.max(Duration::from_nanos(1));
        Self {
            state: Arc::new(State {
                policy: policy.to_string(),
                limit,
                window,
                table: ClientTable::new(limit, window, DEFAULT_MAX_CLIENTS),
                key: ClientKey::ApiKeyThenPeerIp(HeaderName::from_static("x-api-key")),
                keys: RandomState::new(),
                collector,
            }),
        }
    }

    /// The policy of `API_RATE_LIMIT` / `API_RATE_WINDOW`.
    pub fn from_config(policy: &str, config: &ApiConfig, collector: MetricsCollector) -> Self {
        Self::new(policy, config.rate_limit, config.rate_window, collector)
    }

    /// Changes how clients are identified (a fresh table: call it while building).
    pub fn client_key(self, key: ClientKey) -> Self {
        let capacity = self.state.table.capacity();
        Self {
            state: Arc::new(self.state.rebuilt(key, capacity)),
        }
    }

    /// Remembers at most about `clients` clients (at least 64; a fresh table:
    /// call it while building).
    pub fn max_clients(self, clients: usize) -> Self {
        Self {
            state: Arc::new(self.state.rebuilt(self.state.key.clone(), clients)),
        }
    }

    /// Clients currently remembered.
    pub fn tracked_clients(&self) -> usize {
        self.state.table.len()
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
    // A hasher keyed with a secret chosen at start (SipHash with random keys):
    // the same client maps to the same bucket for the layer's life, and a client
    // cannot choose an API key whose hash lands in another client's bucket — with
    // a fixed-key hash (FxHash, invertible) it could, and spend that client's
    // quota for it (a targeted denial of service).
    //
    // The identity is hashed in one `write` (SipHash's cost is per call as much
    // as per byte), prefixed by its kind so an API key never equals an address.
    let header_value = |name: &HeaderName| {
        req.headers()
            .get(name)
            .map(|v| v.as_bytes())
            .filter(|v| !v.is_empty())
    };
    let hash = |kind: u8, bytes: &[u8]| {
        let mut h = keys.build_hasher();
        h.write_u8(kind);
        h.write(bytes);
        h.finish()
    };
    let ip = |ip: Option<IpAddr>| {
        // Kind 1 and the address as 16 bytes (IPv4 mapped), or kind 2 for none.
        match ip {
            Some(ip) => match ip {
                IpAddr::V4(v4) => hash(1, &v4.to_ipv6_mapped().octets()),
                // A host usually holds a whole /64: one client, not 2^64.
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => hash(1, &v4.to_ipv6_mapped().octets()),
                    None => hash(3, &v6.octets()[..8]),
                },
            },
            None => hash(2, &[]),
        }
    };
    match key {
        ClientKey::ApiKeyThenPeerIp(name) => match header_value(name) {
            Some(k) => hash(0, k),
            None => ip(peer_ip(req)),
        },
        ClientKey::PeerIp => ip(peer_ip(req)),
        ClientKey::KnownApiKeys(name, known) => match header_value(name) {
            Some(k) if known.contains(k) => hash(0, k),
            _ => ip(peer_ip(req)),
        },
        ClientKey::TrustedForwardedFor(name) => {
            let forwarded = header_value(name)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|last| last.trim().parse::<IpAddr>().ok());
            ip(forwarded.or_else(|| peer_ip(req)))
        }
    }
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let s = &self.state;
        let key = client(&s.key, &s.keys, &req);
        let (verdict, evicted) = s.table.check(key);
        if evicted {
            s.collector.record_rate_limit_eviction(&s.policy);
        }
        match verdict {
            Verdict::Allow => RateLimitFuture {
                state: Outcome::Passed {
                    inner: self.inner.call(req),
                },
            },
            Verdict::Reject(wait) => {
                s.collector.record_rate_limit_rejection(&s.policy);
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
                RateLimitFuture {
                    state: Outcome::Rejected {
                        response: Some(resp.unwrap_or_else(|_| bare_429())),
                    },
                }
            }
        }
    }
}

/// A `429` without headers or body (when building the full one fails).
fn bare_429() -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r
}

pin_project_lite::pin_project! {
    /// The response future of [`RateLimit`]: the inner service's, or a ready
    /// `429` (written out rather than boxed: no allocation per request).
    #[derive(Debug)]
    pub struct RateLimitFuture<F> {
        #[pin]
        state: Outcome<F>,
    }
}

pin_project_lite::pin_project! {
    #[derive(Debug)]
    #[project = OutcomeProj]
    enum Outcome<F> {
        // Within the limit: the inner service answers.
        Passed { #[pin] inner: F },
        // Over the limit: the `429`, until it is returned.
        Rejected { response: Option<Response<Body>> },
    }
}

impl<F, E> Future for RateLimitFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            OutcomeProj::Passed { inner } => inner.poll(cx),
            // Polled again after completion (the caller's mistake): another 429.
            OutcomeProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(bare_429)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)], peer: Option<&str>) -> Request<()> {
        let mut b = Request::get("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut req = b.body(()).expect("a valid request");
        if let Some(p) = peer {
            let addr: SocketAddr = p.parse().expect("an address");
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        req
    }

    #[test]
    fn clients_are_told_apart_by_key_then_address() {
        let keys = RandomState::new();
        let api = ClientKey::ApiKeyThenPeerIp(HeaderName::from_static("x-api-key"));
        let h = |key: &ClientKey, headers: &[(&str, &str)], peer: Option<&str>| {
            client(key, &keys, &request(headers, peer))
        };
        let a = h(&api, &[("x-api-key", "a")], Some("10.0.0.1:1"));
        // The key decides, whatever the address or port.
        assert_eq!(a, h(&api, &[("x-api-key", "a")], Some("10.0.0.2:2")));
        assert_ne!(a, h(&api, &[("x-api-key", "b")], Some("10.0.0.1:1")));
        // Without a key (or an empty one): the address, not the port.
        let ip = h(&api, &[], Some("10.0.0.1:1"));
        assert_eq!(ip, h(&api, &[("x-api-key", "")], Some("10.0.0.1:9")));
        assert_ne!(ip, h(&api, &[], Some("10.0.0.2:1")));
        assert_eq!(
            ip,
            h(
                &ClientKey::PeerIp,
                &[("x-api-key", "a")],
                Some("10.0.0.1:5")
            )
        );
        // An API key spelling an address's bytes is still another client.
        let v6 = std::net::Ipv4Addr::new(10, 0, 0, 1)
            .to_ipv6_mapped()
            .octets();
        let as_key = String::from_utf8_lossy(&v6).into_owned();
        if let Ok(v) = axum::http::HeaderValue::from_str(&as_key) {
            let mut req = request(&[], Some("10.0.0.1:1"));
            req.headers_mut().insert("x-api-key", v);
            assert_ne!(ip, client(&api, &keys, &req));
        }
        // No key and no address: one shared bucket, distinct from any address.
        let none = h(&api, &[], None);
        assert_eq!(none, h(&ClientKey::PeerIp, &[], None));
        assert_ne!(none, ip);
    }

    #[test]
    fn a_trusted_forwarded_header_names_the_client() {
        let keys = RandomState::new();
        let fwd = ClientKey::TrustedForwardedFor(HeaderName::from_static("x-forwarded-for"));
        let h = |headers: &[(&str, &str)], peer: Option<&str>| {
            client(&fwd, &keys, &request(headers, peer))
        };
        // The proxy appended the address it saw; what the client wrote before
        // it (a forged list) is ignored.
        let proxied = h(
            &[("x-forwarded-for", "1.2.3.4, 5.6.7.8, 203.0.113.7")],
            Some("10.0.0.9:1"),
        );
        assert_eq!(proxied, h(&[], Some("203.0.113.7:4")));
        assert_eq!(
            proxied,
            h(
                &[("x-forwarded-for", "9.9.9.9, 203.0.113.7")],
                Some("10.0.0.9:1")
            ),
            "forged entries do not make a new client"
        );
        assert_ne!(
            proxied,
            h(&[("x-forwarded-for", "203.0.113.8")], Some("10.0.0.9:1"))
        );
        // Unparsable or absent: the peer address.
        assert_eq!(
            h(&[("x-forwarded-for", "nonsense")], Some("10.0.0.9:1")),
            h(&[], Some("10.0.0.9:2"))
        );
    }

    #[test]
    fn only_issued_api_keys_get_their_own_bucket() {
        let keys = RandomState::new();
        let known = ClientKey::known_api_keys(HeaderName::from_static("x-api-key"), ["issued-1"]);
        let h = |headers: &[(&str, &str)], peer: Option<&str>| {
            client(&known, &keys, &request(headers, peer))
        };
        let issued = h(&[("x-api-key", "issued-1")], Some("10.0.0.1:1"));
        assert_eq!(issued, h(&[("x-api-key", "issued-1")], Some("10.0.0.2:1")));
        // An invented key is just its sender's address: no fresh bucket.
        let peer = h(&[], Some("10.0.0.3:1"));
        assert_eq!(peer, h(&[("x-api-key", "made-up-1")], Some("10.0.0.3:1")));
        assert_eq!(peer, h(&[("x-api-key", "made-up-2")], Some("10.0.0.3:7")));
        assert_ne!(issued, peer);
    }
}
