//! Installation: [`init`], [`init_logging`] and [`init_tracing`] build the
//! pillars' layers and install them into one global `tracing` subscriber. This
//! sits above every pillar; nothing below imports it. An application with its
//! own subscriber skips this module and adds
//! [`TracingLayer`](crate::trace::TracingLayer) and
//! [`LogLayer`](crate::logging::LogLayer) to it instead.
//!
//! `init_logging` and `init_tracing` may run in either order, once each. The
//! first of them installs the process' global subscriber: a `Registry` with one
//! empty slot per pillar. Each pillar then fills its own slot. Each slot sits
//! behind a per-layer filter ([`SlotFilter`]), so one pillar's choices (say, the
//! log level) never hide spans or events from the other; an empty slot is not
//! interested in anything, so a pillar that is off costs nothing. Filling a slot
//! rebuilds tracing's interest cache so callsites see the new layer.
//!
//! Slots are filled once (a [`OnceLock`]) rather than through
//! `tracing_subscriber::reload`, whose read lock on every callback would be a
//! shared, contended cache line on the hot path.

use std::any::TypeId;
use std::sync::{Arc, OnceLock};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use crate::config::ObservabilityConfig;
use crate::error::{Error, Result};
use crate::logging::{LineLayer, LogLayer, LogLevelHandle, LoggingConfig, LoggingGuard};
use crate::metrics::MetricsCollector;
use crate::trace::{OtelBridge, TracingConfig, TracingGuard, TracingLayer};

/// A layer that is filled in once, after the subscriber is installed.
struct Slot<L>(Arc<OnceLock<L>>);

impl<L> Clone for Slot<L> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<L> Slot<L> {
    fn empty() -> Self {
        Self(Arc::new(OnceLock::new()))
    }

    /// Fills the slot; `false` if it was filled already.
    fn fill(&self, layer: L) -> bool {
        let ok = self.0.set(layer).is_ok();
        if ok {
            tracing_core::callsite::rebuild_interest_cache();
        }
        ok
    }
}

impl<S, L> Layer<S> for Slot<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_new_span(attrs, id, ctx);
        }
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_record(span, values, ctx);
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_follows_from(span, follows, ctx);
        }
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.0.get().is_none_or(|l| l.event_enabled(event, ctx))
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_exit(id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_close(id, ctx);
        }
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        if let Some(l) = self.0.get() {
            l.on_id_change(old, new, ctx);
        }
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded to the inner layer, which upholds downcast_raw's contract.
        self.0.get().and_then(|l| unsafe { l.downcast_raw(id) })
    }
}

/// What a slotted layer wants to see, decided per callsite.
trait SlotInterest {
    /// Whether this span or event callsite is of interest.
    fn wants(&self, meta: &Metadata<'_>) -> bool;
}

impl SlotInterest for LineLayer {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.filter().wants_callsite(meta)
    }
}

impl SlotInterest for OtelBridge<Registry> {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.filter.wants(meta)
    }
}

/// The per-layer filter of a slot: interested in nothing while empty, then in
/// what its layer wants.
struct SlotFilter<L>(Arc<OnceLock<L>>);

impl<S, L: SlotInterest> Filter<S> for SlotFilter<L> {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.0.get().is_some_and(|l| l.wants(meta))
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        match self.0.get() {
            Some(l) if l.wants(meta) => Interest::always(),
            _ => Interest::never(),
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        match self.0.get() {
            Some(_) => None,
            None => Some(LevelFilter::OFF),
        }
    }
}

impl<L> Slot<L> {
    fn filter(&self) -> SlotFilter<L> {
        SlotFilter(Arc::clone(&self.0))
    }
}

/// The slots of the installed subscriber.
struct Slots {
    pub otel: Slot<OtelBridge<Registry>>,
    pub logs: Slot<LineLayer>,
}

static SLOTS: OnceLock<std::result::Result<Slots, String>> = OnceLock::new();

/// Installs the global subscriber on first use; returns its slots.
fn slots() -> Result<&'static Slots> {
    let installed = SLOTS.get_or_init(|| {
        let slots = Slots {
            otel: Slot::empty(),
            logs: Slot::empty(),
        };
        let subscriber = Registry::default()
            .with(slots.otel.clone().with_filter(slots.otel.filter()))
            .with(slots.logs.clone().with_filter(slots.logs.filter()));
        match tracing::subscriber::set_global_default(subscriber) {
            Ok(()) => Ok(slots),
            Err(e) => Err(e.to_string()),
        }
    });
    installed.as_ref().map_err(|_| foreign())
}

/// Fails if [`slots`] would (a global subscriber was installed outside
/// megaobs), without side effects unless some subscriber was set before, in
/// which case it installs megaobs' own to find out.
fn check_installable() -> Result<()> {
    match SLOTS.get() {
        Some(installed) => installed.as_ref().map(|_| ()).map_err(|_| foreign()),
        // `has_been_set` is also true after a scoped default (`with_default`),
        // which does not stop a global one: only trying says for sure.
        None if tracing::dispatcher::has_been_set() => slots().map(|_| ()),
        None => Ok(()),
    }
}

fn foreign() -> Error {
    Error::AlreadyInstalled {
        what: "a global tracing subscriber (installed outside megaobs; compose megaobs::logging::LogLayer and megaobs::trace::TracingLayer into it instead)",
    }
}

/// Whether `init_logging` filled the logging slot already.
fn logging_installed() -> bool {
    SLOTS
        .get()
        .and_then(|s| s.as_ref().ok())
        .is_some_and(|s| s.logs.0.get().is_some())
}

/// Fills the logging slot.
fn install_log_layer(layer: LineLayer) -> Result<()> {
    if slots()?.logs.fill(layer) {
        Ok(())
    } else {
        Err(Error::AlreadyInstalled {
            what: "logging (init_logging)",
        })
    }
}

/// Fills the OpenTelemetry slot.
fn install_otel_layer(slots: &Slots, layer: OtelBridge<Registry>) -> Result<()> {
    if slots.otel.fill(layer) {
        Ok(())
    } else {
        Err(Error::AlreadyInstalled {
            what: "tracing (init_tracing)",
        })
    }
}

/// Logging and tracing installed by [`init`]; dropping it exports queued spans,
/// then writes queued log lines.
#[derive(Debug)]
#[must_use = "dropping Telemetry shuts tracing and logging down: keep it for the program's life"]
pub struct Telemetry {
    /// The tracing pipeline (first to stop, so its last log lines are written).
    pub tracing: TracingGuard,
    /// The log writer.
    pub logging: LoggingGuard,
}

impl Telemetry {
    /// A handle that changes the log level while the program runs.
    pub fn log_level(&self) -> LogLevelHandle {
        self.logging.level_handle()
    }
}

/// Installs logging and tracing from `config` in one call (the metrics pillar
/// needs no setup: [`metrics()`](crate::metrics()) is ready; `init` gives it
/// the LLM price table of [`MetricsConfig::prices`](crate::metrics::MetricsConfig::prices)).
///
/// The same as building a [`TracingLayer`] and a [`LogLayer`] and installing
/// them in a global subscriber, with one difference: a failure of either
/// pillar leaves nothing installed, so a corrected retry can succeed.
///
/// With the `tls` feature, it also makes rustls' ring provider the process
/// default when the application has installed none, so other `reqwest`
/// clients built with rustls find one too.
pub fn init(config: ObservabilityConfig) -> Result<Telemetry> {
    #[cfg(feature = "tls")]
    crate::export::ensure_process_provider();
    // Tracing is built (configuration checked, exporter and export thread
    // made) before logging is installed, and activated after: an error in
    // either fails the call with nothing installed.
    let tracing = TracingLayer::builder(config.tracing).prepare()?;
    let logging = init_logging(config.logging)?;
    let tracing = activate_tracing(tracing)?;
    if let Some(prices) = config.metrics.prices {
        crate::metrics::metrics().set_prices(prices);
    }
    Ok(Telemetry { tracing, logging })
}

/// Installs the logging pillar into the process' global `tracing` subscriber.
///
/// Call once; a second call is an [`Error::AlreadyInstalled`]. It may come
/// before or after [`init_tracing`]. A call that fails installs no `log` logger
/// and no subscriber of its own (it may have created the log directory), short
/// of another thread installing a global subscriber during the call.
///
/// Its [`LoggingConfig::redact`] names are also added to those exported spans
/// are redacted with, so a field secret in logs is never exported in a span.
///
/// Keep the guard alive: dropping it writes what is queued and stops the writer
/// thread.
pub fn init_logging(config: LoggingConfig) -> Result<LoggingGuard> {
    // One call at a time: two racing calls must not both pass the checks below.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Every reason the call could fail is checked before anything global is
    // taken (the `tracing` subscriber, the `log` logger): a failed call installs
    // neither, so the application can still install its own.
    check_installable()?;
    if logging_installed() {
        return Err(Error::AlreadyInstalled {
            what: "logging (init_logging)",
        });
    }
    let capture = config.capture_log_crate;
    let secrets = config.redact.clone();
    let (layer, guard) = LogLayer::builder(config).build_parts()?;
    if capture {
        capture_log_crate(&guard.level_handle())?;
    }
    install_log_layer(layer)?;
    crate::trace::extend_redactor(&secrets);
    Ok(guard)
}

/// Routes the `log` crate's records into `tracing` (hence into the log layer),
/// up to the most verbose level the layer's filter lets through: records below
/// it are refused by `log`'s own level check, before anything is built. Later
/// level changes move that bound too.
fn capture_log_crate(level: &LogLevelHandle) -> Result<()> {
    use tracing_log::AsLog;
    let max = crate::logging::most_verbose_of(level);
    tracing_log::LogTracer::builder()
        .with_max_level(max.as_log())
        .init()
        .map_err(|_| Error::AlreadyInstalled {
            what: "a `log` crate logger (env_logger or another; keep it with \
                   LoggingConfig::capture_log_crate(false), which leaves `log` \
                   records out of megaobs' logs)",
        })?;
    level.follow_log_crate();
    Ok(())
}

/// Installs tracing from `config`: the provider, the exporter, the `tracing`
/// bridge, the exemplar hook and the W3C propagator. Once per process (a second
/// call is [`Error::AlreadyInstalled`]); before or after [`init_logging`].
///
/// With `enabled = false` nothing is installed and
/// [`TracingContext`](crate::TracingContext) is a no-op.
pub fn init_tracing(config: TracingConfig) -> Result<TracingGuard> {
    init_tracing_with(config, crate::metrics::metrics().clone())
}

/// [`init_tracing`], counting drops and export errors in `collector`.
pub fn init_tracing_with(
    config: TracingConfig,
    collector: MetricsCollector,
) -> Result<TracingGuard> {
    activate_tracing(TracingLayer::builder(config).metrics(collector).prepare()?)
}

/// [`init_tracing`] with your own `SpanExporter` (any crate's, or a test
/// double) instead of the one `config.exporter` names; batching, sampling,
/// drop counting and the `tracing` bridge are the same.
pub fn init_tracing_with_exporter<E>(config: TracingConfig, exporter: E) -> Result<TracingGuard>
where
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    activate_tracing(TracingLayer::builder(config).exporter(exporter).prepare()?)
}

/// Activates a prepared pipeline and fills the subscriber's tracing slot.
fn activate_tracing(prepared: crate::trace::Prepared) -> Result<TracingGuard> {
    #[cfg(feature = "tls")]
    crate::export::ensure_process_provider();
    if !prepared.is_enabled() {
        return Ok(prepared.activate().0);
    }
    // A foreign global subscriber fails here, before anything is activated
    // (dropping `prepared` releases it: a later call may succeed).
    let slots = slots()?;
    let (guard, tracer) = prepared.activate();
    if let Some(tracer) = tracer {
        install_otel_layer(slots, OtelBridge::new(tracer))?;
    }
    Ok(guard)
}
