//! [`ObserveLayer`]: per-request metrics and a server span.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request, Response};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{KeyValue, Value};
use tower::{Layer, Service};

use super::UNMATCHED_ROUTE;
use crate::metrics::{HttpMethod, MetricsCollector};
use crate::trace::span_name::span_name;
use crate::trace::{extract_context_any, ActiveSpan, TracingContext};

/// Longest `http.request.method_original` kept (a client chooses it).
const MAX_METHOD_LEN: usize = 32;
/// Longest `url.path` kept: a client chooses it too, and spans wait in a queue
/// bounded in spans, not bytes (2,048 spans × a 64 KiB path would be 128 MiB).
const MAX_PATH_LEN: usize = 1024;
/// Longest `user_agent.original` kept (same reason).
const MAX_USER_AGENT_LEN: usize = 512;

/// `s` cut to at most `max` bytes, at a character boundary.
fn capped(s: &str, max: usize) -> String {
    crate::core::text::prefix(s, max).to_string()
}

/// Records `mega_agent_http_requests_total{method,path,status}` and
/// `mega_agent_http_request_duration_seconds{method,path}` for every request,
/// with `path` the matched route template (`unmatched` for none), and runs the
/// handler inside a server span `METHOD /route` that continues the caller's trace
/// (`traceparent`, or B3/Jaeger headers). When a span exists, responses carry its
/// trace id in the headers chosen with [`ObserveLayer::trace_headers`]
/// (`traceresponse` by default).
///
/// Add it with `Router::layer` (which runs after routing, so the template is known).
///
/// ```
/// use megaobs::http::{ObserveLayer, TraceHeaders};
///
/// let layer = ObserveLayer::new(megaobs::metrics().clone()).trace_headers(TraceHeaders::Both);
/// let app: axum::Router = axum::Router::new()
///     .route("/api/research/{id}", axum::routing::get(|| async { "result" }))
///     .layer(layer);
/// ```
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    collector: MetricsCollector,
    headers: TraceHeaders,
}

/// Which headers carry the request's trace id back to the caller.
///
/// Each header is a little work and a few bytes on every response, so the default
/// is the standard one alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TraceHeaders {
    /// `traceresponse: 00-{trace-id}-{span-id}-{flags}` (W3C Trace Context Level 2).
    #[default]
    TraceResponse,
    /// `x-trace-id: {trace-id}` alone: the id to paste into a trace or log search.
    XTraceId,
    /// Both `traceresponse` and `x-trace-id`.
    Both,
    /// Neither.
    None,
}

impl TraceHeaders {
    fn traceresponse(self) -> bool {
        matches!(self, Self::TraceResponse | Self::Both)
    }

    fn x_trace_id(self) -> bool {
        matches!(self, Self::XTraceId | Self::Both)
    }
}

impl ObserveLayer {
    /// Records into `collector`; responses carry `traceresponse`.
    pub fn new(collector: MetricsCollector) -> Self {
        Self {
            collector,
            headers: TraceHeaders::default(),
        }
    }

    /// Chooses the trace id headers added to responses.
    pub fn trace_headers(mut self, headers: TraceHeaders) -> Self {
        self.headers = headers;
        self
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            collector: self.collector.clone(),
            headers: self.headers,
        }
    }
}

/// The service made by [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    collector: MetricsCollector,
    headers: TraceHeaders,
}

impl<S, B, R> Service<Request<B>> for Observe<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let method = HttpMethod::parse(req.method().as_str());
        // `MatchedPath` is a shared string: cloning it does not allocate.
        let route = req.extensions().get::<MatchedPath>().cloned();
        let span = crate::trace::tracer().and_then(|_| server_span(&req, method, &route));
        // Entered during the inner `call` too: some services do work there.
        let inner = {
            let _entered = span.as_ref().map(ActiveSpan::enter);
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            state: Some(RequestState {
                start,
                method,
                route,
                span,
                collector: self.collector.clone(),
                headers: self.headers,
            }),
        }
    }
}

/// Starts the server span `METHOD /route`, continuing the caller's trace. The
/// name is needed even when the span is not sampled: log lines written while
/// handling the request name it. The attributes are not: most requests are not
/// sampled, and only sampled spans build them.
fn server_span<B>(
    req: &Request<B>,
    method: HttpMethod,
    route: &Option<MatchedPath>,
) -> Option<ActiveSpan> {
    let route_str = route.as_ref().map_or(UNMATCHED_ROUTE, |r| r.as_str());
    let name = span_name(method, route_str);
    let kept_name: Option<&'static str> = match &name {
        Cow::Borrowed(n) => Some(n),
        Cow::Owned(_) => None,
    };
    TracingContext::builder(name)
        .kind(SpanKind::Server)
        .parent(extract_context_any(req.headers()))
        .start_active_with(|attributes| {
            // Room for all of them and the status code set at the end: the span
            // keeps this vector, which then never grows.
            attributes.reserve(MAX_SERVER_ATTRIBUTES);
            // The route as a `'static` string when the name is a kept one
            // ("{method} {route}" ends with it): a value without an allocation.
            let http_route: Value = match kept_name {
                Some(n) if n.ends_with(route_str) => Value::from(&n[n.len() - route_str.len()..]),
                _ => Value::from(route_str.to_string()),
            };
            attributes.extend([
                KeyValue::new(
                    "http.request.method",
                    // Semantic conventions: unknown methods are `_OTHER`.
                    match method {
                        HttpMethod::Other => "_OTHER",
                        m => m.as_str(),
                    },
                ),
                KeyValue::new("http.route", http_route),
                KeyValue::new("url.path", capped(req.uri().path(), MAX_PATH_LEN)),
                KeyValue::new(
                    "url.scheme",
                    if req.uri().scheme_str() == Some("https") {
                        "https"
                    } else {
                        "http"
                    },
                ),
            ]);
            if method == HttpMethod::Other {
                // The conventions keep the client's token here; capped, since a
                // method can be as long as hyper's request-line buffer.
                attributes.push(KeyValue::new(
                    "http.request.method_original",
                    capped(req.method().as_str(), MAX_METHOD_LEN),
                ));
            }
            if let Some(ua) = req
                .headers()
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
            {
                attributes.push(KeyValue::new(
                    "user_agent.original",
                    capped(ua, MAX_USER_AGENT_LEN),
                ));
            }
        })
}

/// Most attributes a server span gets: the four always set, the original
/// method, the user agent and the response's status code.
const MAX_SERVER_ATTRIBUTES: usize = 7;

/// What a request's [`ResponseFuture`] records when the response is ready.
#[derive(Debug)]
struct RequestState {
    start: Instant,
    method: HttpMethod,
    route: Option<MatchedPath>,
    span: Option<ActiveSpan>,
    collector: MetricsCollector,
    headers: TraceHeaders,
}

pin_project_lite::pin_project! {
    /// The response future of [`Observe`]: polls the inner service's future with
    /// the server span current, then records the request's metrics, ends the span
    /// and adds the trace headers.
    ///
    /// Written out rather than an `async` block in a `Box`: no allocation per
    /// request, and the span is entered only around the inner future's polls.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<RequestState>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let entered = this
            .state
            .as_ref()
            .and_then(|s| s.span.as_ref())
            .map(ActiveSpan::enter);
        let mut result = match this.inner.poll(cx) {
            Poll::Ready(result) => result,
            Poll::Pending => return Poll::Pending,
        };
        let Some(state) = this.state.take() else {
            // Polled again after completion: nothing more to record.
            return Poll::Ready(result);
        };
        let status = match &result {
            Ok(resp) => resp.status().as_u16(),
            Err(_) => 500,
        };
        let route = state.route.as_ref().map_or(UNMATCHED_ROUTE, |r| r.as_str());
        // Recorded with the span still current, so the latency histogram gets the
        // exemplar (for a sampled span).
        state
            .collector
            .record_http_request_as(state.method, route, status, state.start.elapsed());
        drop(entered);
        if let Some(active) = &state.span {
            let s = active.context().span();
            if crate::trace::records(&s) {
                s.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
                if status >= 500 {
                    s.set_status(Status::error(format!("HTTP {status}")));
                }
            }
            let sc = s.span_context().clone();
            crate::trace::end_span(&s);
            if let (Ok(resp), true) = (result.as_mut(), sc.is_valid()) {
                add_trace_headers(resp.headers_mut(), &sc, state.headers);
            }
        }
        Poll::Ready(result)
    }
}

/// The W3C Trace Context Level 2 response header.
const TRACERESPONSE: HeaderName = HeaderName::from_static("traceresponse");
/// The trace id alone, for humans and log searches.
const X_TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");

/// Each byte's two lowercase hex digits, for [`add_trace_headers`].
static HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    t
};

/// Adds the `traceresponse` and/or `x-trace-id` values, hex-encoded on the stack
/// a byte pair at a time (no formatting machinery: this runs for every response).
fn add_trace_headers(
    headers: &mut http::HeaderMap,
    sc: &opentelemetry::trace::SpanContext,
    which: TraceHeaders,
) {
    if which == TraceHeaders::None {
        return;
    }
    let mut buf = *b"00-00000000000000000000000000000000-0000000000000000-00";
    let put = |buf: &mut [u8], bytes: &[u8]| {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(bytes) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
        }
    };
    put(&mut buf[3..35], &sc.trace_id().to_bytes());
    put(&mut buf[36..52], &sc.span_id().to_bytes());
    if sc.is_sampled() {
        buf[54] = b'1';
    }
    // Hex digits and dashes are always valid header bytes: the `if let`s never fail.
    if which.traceresponse() {
        if let Ok(v) = HeaderValue::from_bytes(&buf) {
            headers.insert(TRACERESPONSE, v);
        }
    }
    if which.x_trace_id() {
        if let Ok(v) = HeaderValue::from_bytes(&buf[3..35]) {
            headers.insert(X_TRACE_ID, v);
        }
    }
}
