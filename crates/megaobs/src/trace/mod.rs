//! The tracing pillar: OpenTelemetry spans exported to the console, Jaeger,
//! Zipkin or any OTLP backend, from megaobs' own span API ([`TracingContext`],
//! [`LlmSpan`]) and from any code instrumented with `tracing`.
//!
//! ```no_run
//! use megaobs::config::{TracingConfig, TracingExporter};
//! use megaobs::trace::{init_tracing, TracingContext};
//!
//! let _guard = init_tracing(TracingConfig::default().exporter(TracingExporter::Jaeger))?;
//! let span = TracingContext::new("research_workflow");
//! span.set_attribute("user_id", "123");
//! tracing::info_span!("analyze_query").in_scope(|| { /* a child span of research_workflow */ });
//! # Ok::<(), megaobs::Error>(())
//! ```
//!
//! Design:
//! - **One provider, one sampler**: parent-based, ratio `sample_rate`. Unsampled
//!   spans still have ids (for logs and propagation) but are never queued.
//! - **Export never blocks**: finished sampled spans go to a bounded queue drained by
//!   one export thread ([`batch`]); a full queue or a failed export drops spans and
//!   counts them in `otel_spans_dropped_total{reason}`. Dropping the [`TracingGuard`]
//!   (or [`TracingGuard::shutdown`]) exports what is queued.
//! - **`tracing` spans are exported too**: `init_tracing` fills the OpenTelemetry slot
//!   of the shared subscriber (see `init_logging`; either order) with
//!   `tracing-opentelemetry`, so `#[tracing::instrument]` spans join the same traces.
//!   The exporters' own crates (`h2`, `hyper`, `tonic`, `tower`, `reqwest`,
//!   `opentelemetry*`) are filtered out to avoid feedback loops. `tracing` events at
//!   WARN and ERROR become span events (ERROR also marks the span failed).
//! - **Exemplars**: latency histograms get the current sampled span's ids.

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
mod active;
pub mod batch;
mod console;
mod context;
mod genai;
mod propagation;
mod sampling;
#[cfg(feature = "zipkin")]
mod zipkin;

use std::any::TypeId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
#[cfg(feature = "otlp")]
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::{Layer, Registry};

pub(crate) use active::ActiveSpan;
pub use context::{
    add_span_event, current_context, current_span_id, current_trace_id, set_span_attribute,
    TracingContext, TracingContextBuilder,
};
pub(crate) use context::{end_span, records, with_current_name, SpanName};
pub use genai::LlmSpan;

/// The workflow a span belongs to, kept in its context for node spans.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowName(pub std::borrow::Cow<'static, str>);

/// Starts a span for a whole workflow run, named `workflow`: nodes traced with
/// `#[trace_workflow_node]` inside it are its children and count under its name.
pub fn workflow_span(workflow: impl Into<std::borrow::Cow<'static, str>>) -> TracingContext {
    let name = workflow.into();
    TracingContext::builder(name.clone())
        .attribute("workflow.name", name.to_string())
        .with_value(WorkflowName(name))
        .start()
}
pub use propagation::{extract_context, extract_context_any, inject_context, inject_current};

#[cfg(feature = "otlp")]
use crate::config::OtlpProtocol;
pub use crate::config::TracingConfig;
use crate::config::TracingExporter;
use crate::error::{Error, Result};
use crate::logging::Redactor;
use crate::metrics::{MetricsCollector, SpanRef};

/// Name of the instrumentation scope of spans megaobs starts itself.
pub const SCOPE: &str = "megaobs";

static TRACER: OnceLock<SdkTracer> = OnceLock::new();
static INITIALISED: AtomicBool = AtomicBool::new(false);

#[inline]
pub(crate) fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// The secret names of `init_logging`'s configuration, for spans too.
static SPAN_REDACTOR: OnceLock<Redactor> = OnceLock::new();

/// The secret names spans are redacted with: the logging pillar's list once
/// `init_logging` ran (one list for logs and spans), else the default list.
pub(crate) fn redactor() -> &'static Redactor {
    static DEFAULT: LazyLock<Redactor> = LazyLock::new(Redactor::default);
    SPAN_REDACTOR.get().unwrap_or(&DEFAULT)
}

/// Makes spans use `redactor` from now on (`init_logging` calls it once).
pub(crate) fn set_redactor(redactor: Redactor) {
    let _ = SPAN_REDACTOR.set(redactor);
}

/// Keeps the tracing pipeline alive; dropping it exports every queued span
/// (bounded by the export timeout) and stops the export thread.
#[must_use = "dropping the guard shuts tracing down: keep it for the program's life"]
pub struct TracingGuard {
    provider: Option<SdkTracerProvider>,
    dropped: Option<Arc<std::sync::atomic::AtomicU64>>,
    #[cfg(feature = "otlp")]
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for TracingGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingGuard")
            .field("enabled", &self.provider.is_some())
            .finish_non_exhaustive()
    }
}

impl TracingGuard {
    fn disabled() -> Self {
        Self {
            provider: None,
            dropped: None,
            #[cfg(feature = "otlp")]
            runtime: None,
        }
    }

    /// Exports every span finished so far; `false` if the backend did not take them in time.
    pub fn flush(&self) -> bool {
        self.provider
            .as_ref()
            .is_none_or(|p| p.force_flush().is_ok())
    }

    /// Spans lost so far (queue full or failed export).
    pub fn dropped_spans(&self) -> u64 {
        self.dropped
            .as_ref()
            .map_or(0, |d| d.load(Ordering::Relaxed))
    }

    /// Exports what is queued and stops tracing; `false` on timeout or export failure.
    pub fn shutdown(mut self) -> bool {
        self.stop()
    }

    fn stop(&mut self) -> bool {
        if self.provider.is_some() {
            sampling::shut_down();
        }
        let ok = match self.provider.take() {
            Some(p) => p.shutdown().is_ok(),
            None => true,
        };
        #[cfg(feature = "otlp")]
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        ok
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Installs tracing from `config`: the provider, the exporter, the `tracing`
/// bridge, the exemplar hook and the W3C propagator. Once per process (a second
/// call is [`Error::AlreadyInstalled`]); before or after `init_logging`.
///
/// With `enabled = false` nothing is installed and [`TracingContext`] is a no-op.
pub fn init_tracing(config: TracingConfig) -> Result<TracingGuard> {
    init_tracing_with(config, crate::metrics::metrics().clone())
}

/// [`init_tracing`], counting drops and export errors in `collector`.
pub fn init_tracing_with(
    config: TracingConfig,
    collector: MetricsCollector,
) -> Result<TracingGuard> {
    init(config, collector, None)
}

/// [`init_tracing`] with your own `SpanExporter` (any crate's, or a test
/// double) instead of the one `config.exporter` names; batching, sampling,
/// drop counting and the `tracing` bridge are the same.
pub fn init_tracing_with_exporter<E>(config: TracingConfig, exporter: E) -> Result<TracingGuard>
where
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    let collector = crate::metrics::metrics().clone();
    let processor = batch::BatchProcessor::new(exporter, settings(&config), collector.clone())
        .map_err(|source| Error::Io {
            path: "megaobs-span-export thread".into(),
            source,
        })?;
    init(config, collector, Some(processor))
}

fn settings(c: &TracingConfig) -> batch::BatchSettings {
    batch::BatchSettings {
        max_queue_size: c.max_queue_size,
        max_export_batch_size: c.max_export_batch_size,
        scheduled_delay: c.scheduled_delay,
        export_timeout: c.export_timeout,
    }
}

fn init(
    config: TracingConfig,
    collector: MetricsCollector,
    custom: Option<batch::BatchProcessor>,
) -> Result<TracingGuard> {
    prepare(config, collector, custom)?.install()
}

/// A tracing pipeline built (exporter, processor, provider) but not installed:
/// `crate::init` builds tracing, then installs logging, then installs this, so
/// that every error tracing can have is known before logging is installed.
/// Dropped uninstalled, it shuts its provider down and `init_tracing` may be
/// called again.
pub(crate) struct Prepared {
    /// `None` when tracing is disabled (nothing to install).
    built: Option<(TracingGuard, f64)>,
}

/// Builds what `init_tracing` installs, checking everything that can fail
/// except a foreign global subscriber (found by [`Prepared::install`]).
pub(crate) fn prepare(
    config: TracingConfig,
    collector: MetricsCollector,
    custom: Option<batch::BatchProcessor>,
) -> Result<Prepared> {
    validate(&config)?;
    if !config.enabled {
        return Ok(Prepared { built: None });
    }
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(Error::AlreadyInstalled {
            what: "tracing (init_tracing)",
        });
    }
    match build_provider(&config, collector, custom) {
        Ok((provider, dropped, runtime)) => {
            #[cfg(not(feature = "otlp"))]
            let _ = runtime;
            let guard = TracingGuard {
                provider: Some(provider),
                dropped: Some(dropped),
                #[cfg(feature = "otlp")]
                runtime,
            };
            Ok(Prepared {
                built: Some((guard, config.sample_rate)),
            })
        }
        Err(e) => {
            INITIALISED.store(false, Ordering::SeqCst);
            Err(e)
        }
    }
}

impl Prepared {
    /// Installs the pipeline: the global tracer and provider, the propagator,
    /// the exemplar hook and the `tracing` bridge.
    pub(crate) fn install(mut self) -> Result<TracingGuard> {
        let Some((guard, sample_rate)) = self.built.take() else {
            return Ok(TracingGuard::disabled());
        };
        let slots = match crate::subscriber::slots() {
            Ok(slots) => slots,
            Err(e) => {
                // Nothing global was set: a later call may succeed.
                INITIALISED.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let Some(provider) = guard.provider.as_ref() else {
            return Ok(guard);
        };
        let tracer = provider.tracer(SCOPE);
        let _ = TRACER.set(tracer);
        // The same sampler, for decisions made before the SDK is asked for a span.
        sampling::install(sample_rate);
        opentelemetry::global::set_tracer_provider(provider.clone());
        propagation::install_global();
        let _ = crate::metrics::set_exemplar_source(OtelExemplars);
        let bridge = OtelBridge {
            inner: tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("tracing"))
                .with_threads(false)
                .with_tracked_inactivity(false),
            filter: bridge_filter(),
        };
        crate::subscriber::install_otel_layer(slots, bridge)?;
        Ok(guard)
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // Not installed: the guard in it shuts the provider down as it drops.
        if self.built.take().is_some() {
            INITIALISED.store(false, Ordering::SeqCst);
        }
    }
}

/// Checks `c` as `init_tracing` does, without installing anything.
pub(crate) fn validate(c: &TracingConfig) -> Result<()> {
    let bad = |field: &'static str, value: String, reason: &str| Error::InvalidConfig {
        field,
        value,
        reason: reason.to_string(),
    };
    if !(0.0..=1.0).contains(&c.sample_rate) {
        return Err(bad(
            "TracingConfig::sample_rate",
            c.sample_rate.to_string(),
            "must be from 0.0 to 1.0",
        ));
    }
    if c.exporter == TracingExporter::Jaeger && c.jaeger_host.contains("://") {
        return Err(bad(
            "TracingConfig::jaeger_host",
            c.jaeger_host.clone(),
            "must be a host name or address without a scheme, such as localhost \
             (megaobs sends plain OTLP to it)",
        ));
    }
    if c.exporter == TracingExporter::Jaeger && matches!(c.jaeger_port, 6831 | 6832) {
        return Err(bad(
            "TracingConfig::jaeger_port",
            c.jaeger_port.to_string(),
            "Jaeger's UDP agent (6831/6832) is gone in Jaeger v2; use 4317 (OTLP/gRPC) or 4318 (OTLP/HTTP)",
        ));
    }
    // This build has no TLS client (no rustls/native-tls in its HTTP and gRPC
    // clients): an https:// endpoint would fail at every export, so it is refused
    // here, with the way out.
    let https = |url: &str| crate::config::has_scheme(url, "https://");
    let no_tls = &format!("must be {}", crate::config::NO_TLS);
    if matches!(c.exporter, TracingExporter::Otlp) && https(&c.otlp_endpoint) {
        return Err(bad(
            "TracingConfig::otlp_endpoint",
            c.otlp_endpoint.clone(),
            no_tls,
        ));
    }
    if c.exporter == TracingExporter::Zipkin && https(&c.zipkin_endpoint) {
        return Err(bad(
            "TracingConfig::zipkin_endpoint",
            c.zipkin_endpoint.clone(),
            no_tls,
        ));
    }
    if c.exporter == TracingExporter::Zipkin
        && !crate::config::has_scheme(&c.zipkin_endpoint, "http://")
    {
        return Err(bad(
            "TracingConfig::zipkin_endpoint",
            c.zipkin_endpoint.clone(),
            "must be an http:// URL such as http://localhost:9411/api/v2/spans",
        ));
    }
    if c.max_queue_size == 0 {
        return Err(bad(
            "TracingConfig::max_queue_size",
            c.max_queue_size.to_string(),
            "must be at least 1",
        ));
    }
    if c.max_export_batch_size == 0 {
        return Err(bad(
            "TracingConfig::max_export_batch_size",
            c.max_export_batch_size.to_string(),
            "must be at least 1",
        ));
    }
    Ok(())
}

/// `host:port` (the seed's form) means plain `http://` (`https://` is refused by `validate`).
#[cfg(feature = "otlp")]
pub(crate) fn with_scheme(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    }
}

/// OTLP/HTTP wants the full path; a bare `host:port` gets `/v1/traces`.
#[cfg(feature = "otlp")]
pub(crate) fn http_traces_url(endpoint: &str) -> String {
    let url = with_scheme(endpoint);
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    if after_scheme.contains('/') && !after_scheme.ends_with('/') {
        url
    } else {
        format!("{}/v1/traces", url.trim_end_matches('/'))
    }
}

#[cfg(feature = "otlp")]
type Runtime = Option<tokio::runtime::Runtime>;
#[cfg(not(feature = "otlp"))]
type Runtime = Option<()>;

type Built = (
    SdkTracerProvider,
    Arc<std::sync::atomic::AtomicU64>,
    Runtime,
);

fn build_provider(
    c: &TracingConfig,
    collector: MetricsCollector,
    custom: Option<batch::BatchProcessor>,
) -> Result<Built> {
    let mut attrs = vec![KeyValue::new("host.name", crate::logging::hostname())];
    if let Some(v) = &c.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(e) = &c.deployment_environment {
        attrs.push(KeyValue::new("deployment.environment.name", e.clone()));
        attrs.push(KeyValue::new("deployment.environment", e.clone()));
    }
    attrs.extend(
        c.resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    let resource = Resource::builder()
        .with_service_name(c.service_name.clone())
        .with_attributes(attrs)
        .build();
    let settings = settings(c);
    let builder = SdkTracerProvider::builder()
        .with_sampler(sampling::Presampled(sampling::parent_ratio_sampler(
            c.sample_rate,
        )))
        // Gives a root span the trace id `sampling::decide` sampled it on.
        .with_id_generator(sampling::PresetIds::default())
        .with_resource(resource);
    let io = |source| Error::Io {
        path: "megaobs-span-export thread".into(),
        source,
    };
    #[cfg_attr(not(feature = "otlp"), allow(unused_mut))]
    let mut runtime: Runtime = None;
    let processor = match (custom, c.exporter) {
        (Some(p), _) => Some(p),
        (None, exporter) => match exporter {
            TracingExporter::None => None,
            TracingExporter::Console => Some(
                batch::BatchProcessor::new(
                    console::ConsoleExporter::new(&c.service_name),
                    settings,
                    collector,
                )
                .map_err(io)?,
            ),
            #[cfg(feature = "zipkin")]
            TracingExporter::Zipkin => {
                let exporter = zipkin::ZipkinExporter::new(
                    &c.zipkin_endpoint,
                    &c.service_name,
                    c.export_timeout,
                )
                .map_err(|e| Error::InvalidConfig {
                    field: "TracingConfig::zipkin_endpoint",
                    value: c.zipkin_endpoint.clone(),
                    reason: e.to_string(),
                })?;
                Some(batch::BatchProcessor::new(exporter, settings, collector).map_err(io)?)
            }
            #[cfg(feature = "otlp")]
            TracingExporter::Otlp | TracingExporter::Jaeger => {
                let (endpoint, protocol) = if c.exporter == TracingExporter::Jaeger {
                    let proto = if c.jaeger_port == 4318 {
                        OtlpProtocol::HttpProtobuf
                    } else {
                        OtlpProtocol::Grpc
                    };
                    (format!("{}:{}", c.jaeger_host, c.jaeger_port), proto)
                } else if c.otlp_protocol == OtlpProtocol::HttpProtobuf
                    && c.otlp_endpoint == "localhost:4317"
                {
                    ("localhost:4318".to_string(), OtlpProtocol::HttpProtobuf)
                } else {
                    (c.otlp_endpoint.clone(), c.otlp_protocol)
                };
                let (exporter, rt) = otlp_exporter(&endpoint, protocol, c.export_timeout)?;
                runtime = rt;
                Some(batch::BatchProcessor::new(exporter, settings, collector).map_err(io)?)
            }
            #[allow(unreachable_patterns)]
            other => {
                return Err(Error::InvalidConfig {
                    field: "TracingConfig::exporter",
                    value: other.as_str().to_string(),
                    reason:
                        "megaobs was built without this exporter's cargo feature (otlp, zipkin)"
                            .to_string(),
                })
            }
        },
    };
    let dropped = processor
        .as_ref()
        .map_or_else(Default::default, |p| p.dropped_handle());
    let builder = match processor {
        Some(p) => builder.with_span_processor(p),
        None => builder,
    };
    Ok((builder.build(), dropped, runtime))
}

#[cfg(feature = "otlp")]
fn otlp_exporter(
    endpoint: &str,
    protocol: OtlpProtocol,
    timeout: Duration,
) -> Result<(opentelemetry_otlp::SpanExporter, Runtime)> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let invalid = |url: &str, e: &dyn std::fmt::Display| Error::InvalidConfig {
        field: "OTLP endpoint",
        value: url.to_string(),
        reason: format!("{e} (use host:port or http://host:port)"),
    };
    match protocol {
        OtlpProtocol::Grpc => {
            // tonic needs a runtime to build and run its channel; a dedicated one
            // keeps exports off the application's runtime (no deadlock on a
            // current-thread runtime, no dependence on the app having one).
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("megaobs-otlp")
                .enable_all()
                .build()
                .map_err(|source| Error::Io {
                    path: "megaobs-otlp runtime".into(),
                    source,
                })?;
            let url = with_scheme(endpoint);
            let exporter = {
                let _enter = rt.enter();
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(url.clone())
                    .with_timeout(timeout)
                    .build()
                    .map_err(|e| invalid(&url, &e))?
            };
            Ok((exporter, Some(rt)))
        }
        OtlpProtocol::HttpProtobuf => {
            let url = http_traces_url(endpoint);
            let client = reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| invalid(&url, &e))?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(client)
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(url.clone())
                .with_timeout(timeout)
                .build()
                .map_err(|e| invalid(&url, &e))?;
            Ok((exporter, None))
        }
    }
}

/// The current sampled OpenTelemetry span, for metric exemplars.
struct OtelExemplars;

impl crate::metrics::ExemplarSource for OtelExemplars {
    #[inline]
    fn current_span(&self) -> Option<SpanRef> {
        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            (sc.is_valid() && sc.is_sampled()).then(|| SpanRef {
                trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
                span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
            })
        })
    }
}

fn bridge_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF)
        .with_target("reqwest", LevelFilter::OFF)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("opentelemetry-otlp", LevelFilter::OFF)
}

/// `tracing-opentelemetry`'s layer behind megaobs' target filter; events below
/// WARN are not turned into span events.
pub(crate) struct OtelBridge {
    inner: tracing_opentelemetry::OpenTelemetryLayer<Registry, SdkTracer>,
    filter: Targets,
}

impl OtelBridge {
    pub(crate) fn wants_callsite(&self, meta: &Metadata<'_>) -> bool {
        self.wants(meta)
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
            && (!meta.is_event() || *meta.level() <= Level::WARN)
    }
}

impl Layer<Registry> for OtelBridge {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants(meta) {
            self.inner.register_callsite(meta)
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: LayerContext<'_, Registry>) -> bool {
        self.wants(meta) && self.inner.enabled(meta, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        None
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, Registry>) {
        if self.wants(attrs.metadata()) {
            self.inner.on_new_span(attrs, id, ctx);
        }
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: LayerContext<'_, Registry>) {
        self.inner.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: LayerContext<'_, Registry>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, Registry>) {
        if self.wants(event.metadata()) {
            self.inner.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, Registry>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: LayerContext<'_, Registry>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, Registry>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: LayerContext<'_, Registry>) {
        self.inner.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded to the inner layer, which upholds downcast_raw's contract.
        unsafe { self.inner.downcast_raw(id) }
    }
}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_plain_http_and_the_traces_path() {
        assert_eq!(with_scheme("localhost:4317"), "http://localhost:4317");
        assert_eq!(with_scheme("https://c:4317"), "https://c:4317");
        assert_eq!(
            http_traces_url("localhost:4318"),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(http_traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            http_traces_url("http://c:4318/custom/path"),
            "http://c:4318/custom/path"
        );
    }
}
