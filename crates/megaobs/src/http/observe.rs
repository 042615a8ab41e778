//! [`ObserveLayer`]: per-request metrics and a server span.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request, Response};
use opentelemetry::trace::{FutureExt, SpanKind, Status, TraceContextExt};
use opentelemetry::KeyValue;
use tower::{Layer, Service};

use super::UNMATCHED_ROUTE;
use crate::metrics::MetricsCollector;
use crate::trace::{extract_context_any, TracingContext};

/// Records `mega_agent_http_requests_total{method,path,status}` and
/// `mega_agent_http_request_duration_seconds{method,path}` for every request,
/// with `path` the matched route template (`unmatched` for none), and runs the
/// handler inside a server span `METHOD /route` that continues the caller's trace
/// (`traceparent`, or B3/Jaeger headers). Responses carry `traceresponse` and
/// `x-trace-id` when a span exists.
///
/// Add it with `Router::layer` (which runs after routing, so the template is known).
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    collector: MetricsCollector,
}

impl ObserveLayer {
    /// Records into `collector`.
    pub fn new(collector: MetricsCollector) -> Self {
        Self { collector }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            collector: self.collector.clone(),
        }
    }
}

/// The service made by [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    collector: MetricsCollector,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> Service<Request<B>> for Observe<S>
where
    S: Service<Request<B>, Response = Response<R>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let method = req.method().clone();
        // `MatchedPath` is a shared string: cloning it does not allocate.
        let route = req.extensions().get::<MatchedPath>().cloned();
        let route_str = route.as_ref().map_or(UNMATCHED_ROUTE, |r| r.as_str());
        // The name is needed even when the span is not sampled: log lines written
        // while handling the request name it. The attributes are not: most requests
        // are not sampled, and only recording spans get them (none allocates otherwise).
        let span = TracingContext::builder(format!("{method} {route_str}"))
            .kind(SpanKind::Server)
            .parent(extract_context_any(req.headers()))
            .start_detached();
        if let Some(cx) = span.as_ref().filter(|cx| cx.span().is_recording()) {
            let s = cx.span();
            s.set_attributes([
                KeyValue::new(
                    "http.request.method",
                    // Semantic conventions: unknown methods are `_OTHER`.
                    match crate::metrics::HttpMethod::parse(method.as_str()) {
                        crate::metrics::HttpMethod::Other => "_OTHER",
                        m => m.as_str(),
                    },
                ),
                KeyValue::new("http.route", route_str.to_string()),
                KeyValue::new("url.path", req.uri().path().to_string()),
                KeyValue::new(
                    "url.scheme",
                    if req.uri().scheme_str() == Some("https") {
                        "https"
                    } else {
                        "http"
                    },
                ),
            ]);
            if let Some(ua) = req
                .headers()
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
            {
                s.set_attribute(KeyValue::new("user_agent.original", ua.to_string()));
            }
        }
        let collector = self.collector.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = match &span {
                Some(cx) => fut.with_context(cx.clone()).await,
                None => fut.await,
            };
            let status = match &result {
                Ok(resp) => resp.status().as_u16(),
                Err(_) => 500,
            };
            let route_str = route.as_ref().map_or(UNMATCHED_ROUTE, |r| r.as_str());
            match &span {
                Some(cx) => {
                    // Current while recording, so the latency histogram gets the exemplar.
                    let _current = cx.clone().attach();
                    collector.record_http_request(
                        method.as_str(),
                        route_str,
                        status,
                        start.elapsed(),
                    );
                }
                None => collector.record_http_request(
                    method.as_str(),
                    route_str,
                    status,
                    start.elapsed(),
                ),
            }
            let mut result = result;
            if let Some(cx) = &span {
                let s = cx.span();
                if s.is_recording() {
                    s.set_attribute(KeyValue::new(
                        "http.response.status_code",
                        i64::from(status),
                    ));
                    if status >= 500 {
                        s.set_status(Status::error(format!("HTTP {status}")));
                    }
                }
                let sc = s.span_context().clone();
                s.end();
                if let (Ok(resp), true) = (result.as_mut(), sc.is_valid()) {
                    let (traceresponse, trace_id) = trace_headers(&sc);
                    resp.headers_mut().insert("traceresponse", traceresponse);
                    resp.headers_mut().insert("x-trace-id", trace_id);
                }
            }
            result
        })
    }
}

/// `traceresponse` (`00-{trace}-{span}-{flags}`) and `x-trace-id` values, hex-encoded
/// on the stack (no formatting machinery: this runs for every response).
fn trace_headers(sc: &opentelemetry::trace::SpanContext) -> (HeaderValue, HeaderValue) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = *b"00-00000000000000000000000000000000-0000000000000000-00";
    let mut put = |at: usize, bytes: &[u8]| {
        for (i, b) in bytes.iter().enumerate() {
            buf[at + 2 * i] = HEX[usize::from(b >> 4)];
            buf[at + 2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
    };
    put(3, &sc.trace_id().to_bytes());
    put(36, &sc.span_id().to_bytes());
    if sc.is_sampled() {
        buf[54] = b'1';
    }
    // Hex digits and dashes are always valid header bytes.
    let traceresponse = HeaderValue::from_bytes(&buf).unwrap_or(HeaderValue::from_static(""));
    let trace_id = HeaderValue::from_bytes(&buf[3..35]).unwrap_or(HeaderValue::from_static(""));
    (traceresponse, trace_id)
}
