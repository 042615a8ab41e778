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
        let route = req.extensions().get::<MatchedPath>().cloned();
        let route_str = route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, |r| r.as_str())
            .to_string();
        let span = TracingContext::builder(format!("{} {}", method, route_str))
            .kind(SpanKind::Server)
            .parent(extract_context_any(req.headers()))
            .attribute(
                "http.request.method",
                // Semantic conventions: unknown methods are `_OTHER`.
                match crate::metrics::HttpMethod::parse(method.as_str()) {
                    crate::metrics::HttpMethod::Other => "_OTHER",
                    m => m.as_str(),
                },
            )
            .attribute("http.route", route_str.clone())
            .attribute("url.path", req.uri().path().to_string())
            .attribute(
                "url.scheme",
                if req.uri().scheme_str() == Some("https") {
                    "https"
                } else {
                    "http"
                },
            )
            .start_detached();
        let user_agent = req
            .headers()
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let collector = self.collector.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let cx = span.clone().unwrap_or_else(opentelemetry::Context::current);
            let result = fut.with_context(cx.clone()).await;
            let status = match &result {
                Ok(resp) => resp.status().as_u16(),
                Err(_) => 500,
            };
            {
                // Current while recording, so the latency histogram gets the exemplar.
                let _current = cx.clone().attach();
                collector.record_http_request(method.as_str(), &route_str, status, start.elapsed());
            }
            let mut result = result;
            if let Some(cx) = &span {
                let s = cx.span();
                s.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
                if let Some(ua) = user_agent {
                    s.set_attribute(KeyValue::new("user_agent.original", ua));
                }
                if status >= 500 {
                    s.set_status(Status::error(format!("HTTP {status}")));
                }
                let sc = s.span_context().clone();
                s.end();
                if let Ok(resp) = result.as_mut() {
                    let flags = if sc.is_sampled() { "01" } else { "00" };
                    let tr = format!("00-{}-{}-{flags}", sc.trace_id(), sc.span_id());
                    if let Ok(v) = HeaderValue::from_str(&tr) {
                        resp.headers_mut().insert("traceresponse", v);
                    }
                    if let Ok(v) = HeaderValue::from_str(&sc.trace_id().to_string()) {
                        resp.headers_mut().insert("x-trace-id", v);
                    }
                }
            }
            result
        })
    }
}
