//! [`HttpClientMiddleware`]: client spans, propagation and metrics for every
//! request of a `reqwest` client (through `reqwest-middleware`).

use http::Extensions;
use opentelemetry::trace::FutureExt as _;
use reqwest_middleware::{Middleware, Next};

use super::span::HttpClientSpanBuilder;
use super::target::Target;
use crate::metrics::MetricsCollector;

/// A `reqwest-middleware` middleware: every request gets an
/// [`HttpClientSpan`](super::HttpClientSpan) (a CLIENT span with the OpenTelemetry HTTP attributes,
/// `traceparent`/`tracestate`/`baggage` injected, and
/// `http_client_request_duration_seconds`), as a child of the current context.
///
/// ```no_run
/// use megaobs::client::{HttpClientMiddleware, UrlTemplate};
///
/// # async fn run() -> Result<(), reqwest_middleware::Error> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     // Outside it, a retry middleware (e.g. reqwest-retry): each attempt is
///     // then its own span, resends carrying `http.request.resend_count`.
///     .with(HttpClientMiddleware::new())
///     .build();
/// let response = client
///     .post("https://api.example.com/v1/chat/completions")
///     .with_extension(UrlTemplate::new("/v1/chat/completions")) // span name `POST /v1/chat/completions`
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
///
/// Retries: a middleware added *before* this one that sends a request again
/// through the same `Extensions` (as `reqwest-retry` does) makes each attempt
/// its own span, the later ones with `http.request.resend_count` 1, 2, ….
///
/// Redirects: reqwest follows them inside one send, so one span covers the
/// whole chain and names the first URL. For a span per hop, as the HTTP
/// conventions describe, build the client with
/// `reqwest::redirect::Policy::none()` and follow `Location` in a middleware
/// added before this one.
#[derive(Debug, Clone)]
pub struct HttpClientMiddleware {
    collector: Option<MetricsCollector>,
}

impl Default for HttpClientMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClientMiddleware {
    /// Records into the global [`crate::metrics()`] collector.
    pub fn new() -> Self {
        Self { collector: None }
    }

    /// Records into `collector` instead.
    pub fn collector(mut self, collector: MetricsCollector) -> Self {
        self.collector = Some(collector);
        self
    }
}

/// The route template of a request's URL (`/v1/models/{model}`), given per
/// request with `RequestBuilder::with_extension`: it names the span
/// (`POST /v1/models/{model}`) and becomes `url.template`.
#[derive(Debug, Clone)]
pub struct UrlTemplate(std::borrow::Cow<'static, str>);

impl UrlTemplate {
    /// A template such as `/v1/chat/completions`.
    pub fn new(template: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self(template.into())
    }
}

/// How many times this request was sent already (kept in the request's
/// `Extensions`, which a retry middleware passes to every attempt).
#[derive(Debug, Clone, Copy)]
struct Sends(u32);

/// The span builder for a reqwest request.
fn builder<'a>(method: &'a http::Method, url: &'a reqwest::Url) -> HttpClientSpanBuilder<'a> {
    let scheme = url.scheme();
    HttpClientSpanBuilder::new(
        method,
        Target {
            scheme,
            host: url.host_str().unwrap_or(""),
            port: url.port_or_known_default(),
            path: url.path(),
            query: url.query(),
            has_credentials: !url.username().is_empty() || url.password().is_some(),
        },
    )
}

/// The `error.type` of a request that got no response.
fn error_type(err: &reqwest_middleware::Error) -> &'static str {
    match err {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_redirect() => "redirect",
        reqwest_middleware::Error::Reqwest(_) => "request",
        reqwest_middleware::Error::Middleware(_) => "middleware",
    }
}

#[async_trait::async_trait]
impl Middleware for HttpClientMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let sends = extensions.get::<Sends>().map_or(0, |s| s.0);
        extensions.insert(Sends(sends.saturating_add(1)));
        let span = {
            let mut b = builder(req.method(), req.url()).resend_count(sends);
            if let Some(t) = extensions.get::<UrlTemplate>() {
                b = b.url_template(t.0.clone());
            }
            if let Some(c) = &self.collector {
                b = b.collector(c.clone());
            }
            b.start()
        };
        span.inject(req.headers_mut());
        let result = next.run(req, extensions).with_context(span.context()).await;
        match &result {
            Ok(response) => {
                span.protocol_version(response.version());
                span.finish(response.status().as_u16());
            }
            Err(e) => span.fail(error_type(e), e),
        }
        result
    }
}
