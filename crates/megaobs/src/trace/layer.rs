//! [`TracingLayer`]: the tracing pillar as a `tracing_subscriber::Layer`, to
//! add to a subscriber you build yourself.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//! use megaobs::trace::{TracingConfig, TracingLayer};
//!
//! let (otel_layer, _guard) = TracingLayer::builder(TracingConfig::from_env()?).build()?;
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(otel_layer)
//!     .init();
//! # Ok::<(), megaobs::Error>(())
//! ```

use opentelemetry_sdk::trace::{SdkTracer, SpanExporter};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use super::batch::{BatchProcessor, BatchSettings};
use super::config::TracingConfig;
use super::pipeline::{self, Prepared, TracingGuard};
use crate::core::forward::forward_layer_methods;
use crate::error::{Error, Result};
use crate::metrics::MetricsCollector;

/// What the bridge exports: every span and WARN/ERROR event (as span events),
/// except those of the exporters' own crates, whose spans would otherwise feed
/// back into the export they describe.
#[derive(Clone, Debug)]
pub(crate) struct BridgeFilter(Targets);

impl Default for BridgeFilter {
    fn default() -> Self {
        Self(
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
                .with_target("opentelemetry-otlp", LevelFilter::OFF),
        )
    }
}

impl BridgeFilter {
    #[inline]
    pub(crate) fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
            && (!meta.is_event() || *meta.level() <= Level::WARN)
    }
}

impl<S> Filter<S> for BridgeFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.wants(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        None
    }
}

/// `tracing-opentelemetry`'s layer exporting through megaobs' pipeline,
/// unfiltered: the filter is applied around it (a per-layer [`Filter`], or the
/// installed subscriber's slot filter).
pub(crate) struct OtelBridge<S> {
    inner: tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>,
    pub(crate) filter: BridgeFilter,
}

impl<S> OtelBridge<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    pub(crate) fn new(tracer: SdkTracer) -> Self {
        Self {
            inner: tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_threads(false)
                .with_tracked_inactivity(false),
            filter: BridgeFilter::default(),
        }
    }
}

impl<S> Layer<S> for OtelBridge<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    forward_layer_methods!(inner, S);
}

/// The tracing pillar as a layer: `tracing` spans (`#[tracing::instrument]`,
/// `info_span!`) are exported with megaobs' own spans ([`TracingContext`],
/// the `#[trace_*]` macros, the HTTP layer), in the same traces, through the
/// same sampler, batch queue and exporter.
///
/// It carries its own per-layer filter, so it never hides events or spans from
/// the other layers of your subscriber. Build it with [`TracingLayer::builder`];
/// building sets the process' megaobs tracer, W3C propagator and exemplar hook
/// (one pipeline per process) but installs no subscriber. With tracing disabled
/// (`TRACING_ENABLED=false`) the layer is inert.
///
/// [`TracingContext`]: super::TracingContext
pub struct TracingLayer<S = Registry> {
    inner: Option<Filtered<OtelBridge<S>, BridgeFilter, S>>,
}

impl<S> std::fmt::Debug for TracingLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingLayer")
            .field("enabled", &self.inner.is_some())
            .finish()
    }
}

impl<S> Layer<S> for TracingLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
{
    forward_layer_methods!(inner, S);
}

type ProcessorFactory =
    Box<dyn FnOnce(BatchSettings, MetricsCollector) -> std::io::Result<BatchProcessor> + Send>;

/// Configures a [`TracingLayer`] beyond what [`TracingConfig`] holds.
#[must_use]
pub struct TracingLayerBuilder {
    config: TracingConfig,
    metrics: MetricsCollector,
    exporter: Option<ProcessorFactory>,
}

impl std::fmt::Debug for TracingLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingLayerBuilder")
            .field("config", &self.config)
            .field("custom_exporter", &self.exporter.is_some())
            .finish_non_exhaustive()
    }
}

impl TracingLayer {
    /// A builder for a layer configured by `config`.
    pub fn builder(config: TracingConfig) -> TracingLayerBuilder {
        TracingLayerBuilder {
            config,
            metrics: crate::metrics::metrics().clone(),
            exporter: None,
        }
    }
}

impl TracingLayerBuilder {
    /// Counts exported and dropped spans in `collector` instead of the global one.
    pub fn metrics(mut self, collector: MetricsCollector) -> Self {
        self.metrics = collector;
        self
    }

    /// Exports through `exporter` (any crate's `SpanExporter`, or a test double)
    /// instead of the one the configuration names; batching, sampling, drop
    /// counting and redaction stay the same.
    pub fn exporter<E>(mut self, exporter: E) -> Self
    where
        E: SpanExporter + 'static,
    {
        self.exporter = Some(Box::new(move |settings, metrics| {
            BatchProcessor::new(exporter, settings, metrics)
        }));
        self
    }

    /// Checks the configuration and builds the pipeline without activating it.
    pub(crate) fn prepare(self) -> Result<Prepared> {
        let custom = match self.exporter {
            Some(make) => Some(
                make(pipeline::settings(&self.config), self.metrics.clone()).map_err(|source| {
                    Error::Io {
                        path: "megaobs-span-export thread".into(),
                        source,
                    }
                })?,
            ),
            None => None,
        };
        pipeline::prepare(self.config, self.metrics, custom)
    }

    /// Builds the exporter and its thread, activates the pipeline, and returns
    /// the layer with the guard that flushes and stops it. Fails on an invalid
    /// configuration (naming the field) or when a pipeline is already active.
    pub fn build<S>(self) -> Result<(TracingLayer<S>, TracingGuard)>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + 'static,
    {
        let (guard, tracer) = self.prepare()?.activate();
        let inner = tracer.map(|tracer| {
            let bridge = OtelBridge::new(tracer);
            let filter = bridge.filter.clone();
            bridge.with_filter(filter)
        });
        Ok((TracingLayer { inner }, guard))
    }
}
