//! The tracing pipeline: provider, sampler, batch processor and exporter,
//! built and checked before anything process-wide is set ([`prepare`]), then
//! activated ([`Prepared::activate`]): the megaobs tracer, the sampler, the
//! global provider and propagator, the exemplar hook and the span redactor.
//! [`TracingGuard`] flushes and stops it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use arc_swap::ArcSwap;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

#[cfg(feature = "otlp")]
use super::config::OtlpProtocol;
use super::config::{TracingConfig, TracingExporter};
#[cfg(feature = "zipkin")]
use super::zipkin;
use super::{batch, console, propagation, sampling};
use crate::core::redact::Redactor;
use crate::error::{Error, Result};
use crate::metrics::{MetricsCollector, SpanRef};

/// Name of the instrumentation scope of spans megaobs starts itself.
pub const SCOPE: &str = "megaobs";

static TRACER: OnceLock<SdkTracer> = OnceLock::new();
static INITIALISED: AtomicBool = AtomicBool::new(false);

#[inline]
pub(crate) fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// The secret names exported spans are redacted with: the default list until a
/// pipeline is activated, then its [`TracingConfig::redact`] list (plus any
/// names `init_logging` adds, so a field secret in logs is never exported).
static SPAN_REDACTOR: LazyLock<ArcSwap<Redactor>> =
    LazyLock::new(|| ArcSwap::from_pointee(Redactor::default()));

/// The redactor spans are exported with now.
pub(crate) fn redactor() -> arc_swap::Guard<Arc<Redactor>> {
    SPAN_REDACTOR.load()
}

/// Adds `names` to the span redactor's list (a union: never fewer secrets).
#[cfg(feature = "logging")]
pub(crate) fn extend_redactor(names: &[String]) {
    let current = SPAN_REDACTOR.load_full();
    let mut all: Vec<String> = current.names().to_vec();
    for n in names {
        let n = n.to_ascii_lowercase();
        if !all.contains(&n) {
            all.push(n);
        }
    }
    if all.len() != current.names().len() {
        let updated = Redactor::configured(&all, current.scans_values(), current.prefixes());
        SPAN_REDACTOR.store(Arc::new(updated));
    }
}

/// Keeps the tracing pipeline alive; dropping it exports every queued span
/// (within [`TracingConfig::shutdown_timeout`]) and stops the export thread.
#[must_use = "dropping the guard shuts tracing down: keep it for the program's life"]
pub struct TracingGuard {
    provider: Option<SdkTracerProvider>,
    shutdown_timeout: std::time::Duration,
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
    pub(crate) fn disabled() -> Self {
        Self {
            provider: None,
            shutdown_timeout: std::time::Duration::ZERO,
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

    /// Exports what is queued and stops tracing, within
    /// [`TracingConfig::shutdown_timeout`]; `false` on timeout or export failure.
    pub fn shutdown(mut self) -> bool {
        self.stop()
    }

    fn stop(&mut self) -> bool {
        if self.provider.is_some() {
            sampling::shut_down();
        }
        // Bounded even when the backend never answers: what is not exported
        // by then is counted as dropped, and the export thread is left behind.
        let ok = match self.provider.take() {
            Some(p) => p.shutdown_with_timeout(self.shutdown_timeout).is_ok(),
            None => true,
        };
        #[cfg(feature = "otlp")]
        if let Some(rt) = self.runtime.take() {
            // Its tasks (a stuck gRPC call) are abandoned, not awaited.
            rt.shutdown_background();
        }
        ok
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn settings(c: &TracingConfig) -> batch::BatchSettings {
    let destination = match c.exporter {
        TracingExporter::Zipkin => c.zipkin_endpoint.clone(),
        TracingExporter::Jaeger => format!("{}:{}", c.jaeger_host, c.jaeger_port),
        TracingExporter::Otlp => c.otlp_endpoint.clone(),
        TracingExporter::Console => "the console".into(),
        TracingExporter::None => "nowhere".into(),
    };
    batch::BatchSettings {
        max_queue_size: c.max_queue_size,
        max_export_batch_size: c.max_export_batch_size,
        scheduled_delay: c.scheduled_delay,
        export_timeout: c.export_timeout,
        report: crate::export::FailureReport::new(&destination, &c.export),
        destination,
        #[cfg(feature = "otlp")]
        cause: None,
    }
}

/// A tracing pipeline built (exporter, processor, provider) but not yet
/// active: every error tracing can have is known before anything process-wide
/// is set, so `megaobs::init` can build tracing, install logging, then activate
/// this. Dropped unactivated, it shuts its provider down and a later build may
/// succeed.
pub(crate) struct Prepared {
    /// `None` when tracing is disabled (nothing to activate).
    built: Option<Built>,
}

struct Built {
    guard: TracingGuard,
    sample_rate: f64,
    redactor: Redactor,
}

/// Builds a pipeline from `config`, checking everything that can fail; sets
/// nothing process-wide. At most one pipeline per process is prepared or active.
pub(crate) fn prepare(
    config: TracingConfig,
    collector: MetricsCollector,
    custom: Option<batch::BatchProcessor>,
) -> Result<Prepared> {
    config.validate()?;
    if !config.enabled {
        return Ok(Prepared { built: None });
    }
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(Error::AlreadyInstalled {
            what: "tracing (init_tracing or TracingLayer)",
        });
    }
    match build_provider(&config, collector, custom) {
        Ok((provider, dropped, runtime)) => {
            #[cfg(not(feature = "otlp"))]
            let _ = runtime;
            let guard = TracingGuard {
                provider: Some(provider),
                shutdown_timeout: config.shutdown_timeout,
                dropped: Some(dropped),
                #[cfg(feature = "otlp")]
                runtime,
            };
            Ok(Prepared {
                built: Some(Built {
                    guard,
                    sample_rate: config.sample_rate,
                    redactor: Redactor::configured(
                        &config.redact,
                        config.redact_values,
                        &config.secret_prefixes,
                    ),
                }),
            })
        }
        Err(e) => {
            INITIALISED.store(false, Ordering::SeqCst);
            Err(e)
        }
    }
}

impl Prepared {
    /// Whether there is a pipeline to activate (tracing is enabled).
    #[cfg(feature = "logging")]
    pub(crate) fn is_enabled(&self) -> bool {
        self.built.is_some()
    }

    /// Makes the pipeline the process' own: the megaobs tracer and sampler, the
    /// global provider and W3C propagator, the exemplar hook and the span
    /// redactor. Returns the guard and, when enabled, the tracer the `tracing`
    /// bridge exports through.
    pub(crate) fn activate(mut self) -> (TracingGuard, Option<SdkTracer>) {
        let Some(built) = self.built.take() else {
            return (TracingGuard::disabled(), None);
        };
        let Some(provider) = built.guard.provider.as_ref() else {
            return (built.guard, None);
        };
        SPAN_REDACTOR.store(Arc::new(built.redactor));
        let _ = TRACER.set(provider.tracer(SCOPE));
        // The same sampler, for decisions made before the SDK is asked for a span.
        sampling::install(built.sample_rate);
        opentelemetry::global::set_tracer_provider(provider.clone());
        propagation::install_global();
        let _ = crate::metrics::set_exemplar_source(OtelExemplars);
        // Streaming guards time chunks with a clock calibrated once (2 ms):
        // here, at start-up, rather than inside the first model call.
        crate::metrics::prepare_chunk_clock();
        let bridge = provider.tracer("tracing");
        (built.guard, Some(bridge))
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // Not activated: the guard in it shuts the provider down as it drops.
        if self.built.take().is_some() {
            INITIALISED.store(false, Ordering::SeqCst);
        }
    }
}

#[cfg(feature = "otlp")]
pub(crate) type Runtime = crate::export::otlp::Runtime;
#[cfg(not(feature = "otlp"))]
pub(crate) type Runtime = Option<()>;

type Parts = (
    SdkTracerProvider,
    Arc<std::sync::atomic::AtomicU64>,
    Runtime,
);

fn build_provider(
    c: &TracingConfig,
    collector: MetricsCollector,
    custom: Option<batch::BatchProcessor>,
) -> Result<Parts> {
    let mut attrs = vec![KeyValue::new(
        "host.name",
        crate::core::resource::hostname(),
    )];
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
                    &c.export,
                )?;
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
                let (exporter, rt, cause) = crate::export::otlp::Destination {
                    endpoint: &endpoint,
                    protocol,
                    signal_path: "v1/traces",
                    timeout: c.export_timeout,
                    options: &c.export,
                    field: "TracingConfig::otlp_endpoint",
                }
                .span_exporter()?;
                runtime = rt;
                let settings = batch::BatchSettings {
                    cause: Some(cause),
                    ..settings
                };
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
