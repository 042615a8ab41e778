//! `RateLimitLayer`'s CPU per request with 1,000 and with 1,000,000 known
//! clients, timed interleaved (same windows, thread CPU time), side by side
//! with the previous design: governor's keyed limiter (a `DashMap` per key)
//! pruned as megaobs' layer used to prune it (`retain_recent` every 4,096
//! requests, and every 256 past 100,000 keys).
//!
//! cargo bench -p megaobs --bench rate_limit
//!
//! Each request names one of the known clients in `x-api-key`, in turn, so
//! every client is seen again only after all the others (no cache helps).
//! Both limiters allow 10,000 requests per 10 hours per client: no client's
//! bucket refills between its visits (so each stays known, as clients that
//! keep calling do), and none uses up its burst during the bench (so every
//! request passes).

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response};
use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use megaobs::http::RateLimitLayer;
use megaobs::MetricsCollector;
use tower::{Layer, Service};

mod common;

/// Requests per client per [`WINDOW`] (both limiters).
const LIMIT: u32 = 10_000;
/// The limiters' window.
const WINDOW: Duration = Duration::from_secs(36_000);

type Bare = tower::util::ServiceFn<
    fn(Request<Body>) -> std::future::Ready<Result<Response<Body>, Infallible>>,
>;

fn bare() -> Bare {
    tower::service_fn(|_req: Request<Body>| std::future::ready(Ok(Response::new(Body::empty()))))
}

/// The known clients' keys.
fn keys(n: usize) -> Vec<HeaderValue> {
    (0..n)
        .map(|i| HeaderValue::from_str(&format!("client-{i:08}")).expect("ascii"))
        .collect()
}

fn request(key: &HeaderValue) -> Request<Body> {
    let mut req = Request::new(Body::empty());
    req.headers_mut().insert("x-api-key", key.clone());
    req
}

/// megaobs' layer around a trivial service, with `n` clients already known.
struct Megaobs {
    svc: RefCell<megaobs::http::RateLimit<Bare>>,
    keys: Vec<HeaderValue>,
    next: Cell<usize>,
}

impl Megaobs {
    fn new(n: usize) -> Self {
        let layer =
            RateLimitLayer::new("bench", LIMIT, WINDOW, MetricsCollector::new()).max_clients(2 * n);
        let s = Self {
            svc: RefCell::new(layer.layer(bare())),
            keys: keys(n),
            next: Cell::new(0),
        };
        for _ in 0..n {
            s.call();
        }
        assert!(layer.tracked_clients() == 0 || layer.tracked_clients() >= n / 2);
        s
    }

    fn call(&self) {
        let i = self.next.get();
        self.next.set((i + 1) % self.keys.len());
        let fut = self.svc.borrow_mut().call(request(&self.keys[i]));
        let resp = futures_executor::block_on(fut).expect("infallible");
        std::hint::black_box(resp);
    }
}

/// The previous design: a SipHash of the key, governor's keyed `check_key`,
/// and the old pruning schedule.
struct Previous {
    limiter: governor::DefaultKeyedRateLimiter<u64>,
    hasher: RandomState,
    keys: Vec<HeaderValue>,
    next: Cell<usize>,
    seen: Cell<u64>,
}

impl Previous {
    fn new(n: usize) -> Self {
        let limit = NonZeroU32::new(LIMIT).expect("non-zero");
        let period = WINDOW / LIMIT;
        let quota = Quota::with_period(period)
            .expect("a non-zero period")
            .allow_burst(limit);
        let s = Self {
            limiter: RateLimiter::keyed(quota),
            hasher: RandomState::new(),
            keys: keys(n),
            next: Cell::new(0),
            seen: Cell::new(0),
        };
        for _ in 0..n {
            s.call();
        }
        s
    }

    fn call(&self) {
        let n = self.seen.get();
        self.seen.set(n + 1);
        if n % 4096 == 0 || (n % 256 == 0 && self.limiter.len() > 100_000) {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let i = self.next.get();
        self.next.set((i + 1) % self.keys.len());
        let req = request(&self.keys[i]);
        let key = req.headers().get("x-api-key").map_or(0, |v| {
            let mut h = self.hasher.build_hasher();
            h.write_u8(0);
            h.write(v.as_bytes());
            h.finish()
        });
        let _ = std::hint::black_box(self.limiter.check_key(&key));
        std::hint::black_box(Response::new(Body::empty()));
    }
}

/// Times 1,000 against 1,000,000 known clients, interleaved, as `group`.
fn pair(c: &mut Criterion, group: &str, small: &dyn Fn(), large: &dyn Fn()) {
    let kinds: [&dyn Fn(); 2] = [small, large];
    let mut g = c.benchmark_group(group);
    for (i, name) in ["clients_1000", "clients_1000000"].into_iter().enumerate() {
        g.bench_function(name, |b| common::interleaved(b, kinds, i));
        common::record_pair(group, name);
    }
    g.finish();
}

fn rate_limit(c: &mut Criterion) {
    let (small, large) = (Megaobs::new(1_000), Megaobs::new(1_000_000));
    pair(c, "rate_limit_megaobs", &|| small.call(), &|| large.call());
    drop((small, large));
    let (small, large) = (Previous::new(1_000), Previous::new(1_000_000));
    pair(c, "rate_limit_previous_governor", &|| small.call(), &|| {
        large.call()
    });
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = rate_limit
}
criterion_main!(benches);
