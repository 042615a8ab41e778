//! [`HttpClientSpan`]: one outgoing HTTP request as a CLIENT span, its
//! propagation headers and its metrics, for any HTTP client.

use std::borrow::Cow;
use std::time::Instant;

use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use super::target::Target;
use crate::metrics::{HttpMethod, MetricsCollector};
use crate::trace::{inject_context, TracingContext};

/// The `error.type` of a request dropped before it ended (its future was
/// cancelled, e.g. by a timeout around it).
const CANCELLED: &str = "cancelled";

/// One outgoing HTTP request: a CLIENT span named per the OpenTelemetry HTTP
/// conventions (`{method}`, or `{method} {url.template}` when the caller gives
/// the template), the W3C headers that continue the trace downstream, and
/// `http_client_request_duration_seconds{method,server_address,status}`.
///
/// This is the path for any client (hyper, tonic, a vendor SDK); reqwest users
/// add [`HttpClientMiddleware`](super::HttpClientMiddleware) instead.
///
/// ```
/// use megaobs::client::HttpClientSpan;
///
/// let uri: http::Uri = "https://api.example.com/v1/chat/completions?api_key=sk-123".parse().unwrap();
/// let mut request = http::Request::post(uri.clone()).body(()).unwrap();
/// let span = HttpClientSpan::builder(&http::Method::POST, &uri)
///     .url_template("/v1/chat/completions")
///     .start();
/// span.inject(request.headers_mut()); // traceparent, tracestate, baggage
/// // ... send `request` with any client ...
/// span.finish(200); // or span.fail("timeout", &err) when no response came
/// ```
///
/// The span's attributes are `http.request.method`, `server.address`,
/// `server.port`, `url.full` (credentials and every query value replaced by
/// `REDACTED`), `url.template` when given, `http.request.resend_count` on a
/// retry, then `http.response.status_code`, `network.protocol.version` when
/// given, and, for a status ≥ 400 or no response, `error.type` and an error
/// status. A request the sampler drops
/// builds none of them and costs no span, but still sends a valid
/// `traceparent` (flag `00`), so the callee keeps the trace id.
///
/// Dropping the guard without `finish` or `fail` records the request as failed
/// with `error.type = cancelled` (a timeout around the call, a dropped future):
/// every request is counted exactly once.
#[must_use = "the request is recorded when the span is finished or dropped"]
#[derive(Debug)]
pub struct HttpClientSpan {
    /// The span's context; `None` with tracing off.
    cx: Option<Context>,
    method: HttpMethod,
    server_address: Box<str>,
    collector: MetricsCollector,
    start: Instant,
    done: bool,
}

/// Configures an [`HttpClientSpan`] before it starts.
#[derive(Debug)]
#[must_use]
pub struct HttpClientSpanBuilder<'a> {
    method: &'a http::Method,
    target: Target<'a>,
    template: Option<Cow<'a, str>>,
    resend_count: u32,
    parent: Option<Context>,
    collector: Option<MetricsCollector>,
}

impl<'a> HttpClientSpanBuilder<'a> {
    pub(crate) fn new(method: &'a http::Method, target: Target<'a>) -> Self {
        Self {
            method,
            target,
            template: None,
            resend_count: 0,
            parent: None,
            collector: None,
        }
    }

    /// The route template of the URL (`/v1/models/{model}`): it names the span
    /// and becomes `url.template`. Never the raw path (its values are unbounded).
    pub fn url_template(mut self, template: impl Into<Cow<'a, str>>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// Which resend this is (`0`: the first attempt): set by retrying clients,
    /// recorded as `http.request.resend_count` when above zero.
    pub fn resend_count(mut self, count: u32) -> Self {
        self.resend_count = count;
        self
    }

    /// The parent context (default: the current one).
    pub fn parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Records into `collector` (default: the global [`crate::metrics()`]).
    pub fn collector(mut self, collector: MetricsCollector) -> Self {
        self.collector = Some(collector);
        self
    }

    /// Starts the span (not made current: the request's future may move
    /// between threads) and its clock.
    pub fn start(self) -> HttpClientSpan {
        let method = HttpMethod::parse(self.method.as_str());
        let target = self.target;
        let cx = crate::trace::tracer().and_then(|_| {
            let name: Cow<'static, str> = match &self.template {
                // Kept once per method and template, as for server spans.
                Some(t) => crate::trace::span_name::span_name(method, t),
                None => Cow::Borrowed(match method {
                    HttpMethod::Other => "HTTP",
                    m => m.as_str(),
                }),
            };
            let mut builder = TracingContext::builder(name).kind(SpanKind::Client);
            if let Some(parent) = self.parent {
                builder = builder.parent(parent);
            }
            let template = self.template;
            let resend_count = self.resend_count;
            let method_original = self.method;
            builder.start_unnamed_with(|attributes| {
                attributes.reserve(8);
                match method {
                    HttpMethod::Other => {
                        attributes.push(KeyValue::new("http.request.method", "_OTHER"));
                        attributes.push(KeyValue::new(
                            "http.request.method_original",
                            crate::core::text::prefix(method_original.as_str(), 32).to_string(),
                        ));
                    }
                    m => attributes.push(KeyValue::new("http.request.method", m.as_str())),
                }
                // A path-only URI names no server and no full URL.
                if target.has_host() {
                    attributes.push(KeyValue::new(
                        "server.address",
                        target.server_address().to_string(),
                    ));
                    if let Some(port) = target.port {
                        attributes.push(KeyValue::new("server.port", i64::from(port)));
                    }
                    attributes.push(KeyValue::new("url.full", target.redacted_full()));
                }
                if let Some(t) = template {
                    attributes.push(KeyValue::new("url.template", t.into_owned()));
                }
                if resend_count > 0 {
                    attributes.push(KeyValue::new(
                        "http.request.resend_count",
                        i64::from(resend_count),
                    ));
                }
            })
        });
        HttpClientSpan {
            cx,
            method,
            server_address: target.server_address().into(),
            collector: self.collector.unwrap_or_else(|| crate::metrics().clone()),
            start: Instant::now(),
            done: false,
        }
    }
}

impl HttpClientSpan {
    /// A builder for a request of `method` to `uri`.
    pub fn builder<'a>(method: &'a http::Method, uri: &'a http::Uri) -> HttpClientSpanBuilder<'a> {
        HttpClientSpanBuilder::new(method, Target::from_uri(uri))
    }

    /// Writes `traceparent`, `tracestate` and `baggage` naming this span (or,
    /// with tracing off, the current context) into the request's headers.
    pub fn inject(&self, headers: &mut http::HeaderMap) {
        match &self.cx {
            Some(cx) => inject_context(cx, headers),
            None => crate::trace::inject_current(headers),
        }
    }

    /// The span's context: run the request's future inside it
    /// (`opentelemetry::trace::FutureExt::with_context`) so that spans and log
    /// lines made while sending belong to it.
    pub fn context(&self) -> Context {
        self.cx.clone().unwrap_or_else(Context::current)
    }

    /// Whether the span records (tracing on and this request sampled).
    pub fn is_recording(&self) -> bool {
        self.cx
            .as_ref()
            .is_some_and(|cx| crate::trace::records(&cx.span()))
    }

    /// Records the HTTP version the response came over as
    /// `network.protocol.version` (`1.1`, `2`, …), before `finish`.
    pub fn protocol_version(&self, version: http::Version) {
        let Some(cx) = &self.cx else { return };
        let span = cx.span();
        if !crate::trace::records(&span) {
            return;
        }
        let v = match version {
            http::Version::HTTP_09 => "0.9",
            http::Version::HTTP_10 => "1.0",
            http::Version::HTTP_11 => "1.1",
            http::Version::HTTP_2 => "2",
            http::Version::HTTP_3 => "3",
            _ => return,
        };
        span.set_attribute(KeyValue::new("network.protocol.version", v));
    }

    /// Ends the request with the response's status code (≥ 400 marks the span
    /// failed with `error.type` = the code, as the conventions say for clients).
    pub fn finish(mut self, status: u16) {
        self.done = true;
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if crate::trace::records(&span) {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
                if status >= 400 {
                    let code = itoa::Buffer::new().format(status).to_string();
                    span.set_attribute(KeyValue::new("error.type", code));
                    // No description: the status code says it all (HTTP conventions).
                    span.set_status(opentelemetry::trace::Status::error(""));
                }
                span.end();
            }
        }
        self.record(Some(status));
    }

    /// Ends a request that got no response: `error_type` is a short, bounded
    /// identifier (`timeout`, `connect`, `request`); `err` describes it (an
    /// exception event on the span).
    pub fn fail(mut self, error_type: &str, err: &dyn std::error::Error) {
        self.done = true;
        self.end_failed(error_type, &err.to_string());
        self.record(None);
    }

    fn end_failed(&self, error_type: &str, message: &str) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if crate::trace::records(&span) {
                span.set_attribute(KeyValue::new("error.type", error_type.to_string()));
                crate::trace::record_error_on(&span, message);
                span.end();
            }
        }
    }

    fn record(&self, status: Option<u16>) {
        // The request's own span (not current here) is its latency's exemplar.
        let exemplar = crate::trace::exemplar_of(self.cx.as_ref());
        let elapsed = self.start.elapsed();
        self.collector.record_http_client_request_as(
            self.method,
            &self.server_address,
            status,
            |h| h.observe_duration_exemplar(elapsed, exemplar),
        );
    }
}

impl Drop for HttpClientSpan {
    fn drop(&mut self) {
        if !self.done {
            self.end_failed(CANCELLED, "the request was dropped before it ended");
            self.record(None);
        }
    }
}
