//! The one global `tracing` subscriber shared by the logging and tracing pillars.
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

use crate::error::{Error, Result};
use crate::logging::LogLayer;
use crate::trace::OtelBridge;

/// A layer that is filled in once, after the subscriber is installed.
pub(crate) struct Slot<L>(Arc<OnceLock<L>>);

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
pub(crate) trait SlotInterest {
    /// Whether this span or event callsite is of interest.
    fn wants(&self, meta: &Metadata<'_>) -> bool;
}

impl SlotInterest for LogLayer {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.wants_callsite(meta)
    }
}

impl SlotInterest for OtelBridge {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.wants_callsite(meta)
    }
}

/// The per-layer filter of a slot: interested in nothing while empty, then in
/// what its layer wants.
pub(crate) struct SlotFilter<L>(Arc<OnceLock<L>>);

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
pub(crate) struct Slots {
    pub otel: Slot<OtelBridge>,
    pub logs: Slot<LogLayer>,
}

static SLOTS: OnceLock<std::result::Result<Slots, String>> = OnceLock::new();

/// Installs the global subscriber on first use; returns its slots.
pub(crate) fn slots() -> Result<&'static Slots> {
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
pub(crate) fn check_installable() -> Result<()> {
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
        what: "a global tracing subscriber (installed outside megaobs; compose megaobs::logging::LogLayer into it instead)",
    }
}

/// Whether `init_logging` filled the logging slot already.
pub(crate) fn logging_installed() -> bool {
    SLOTS
        .get()
        .and_then(|s| s.as_ref().ok())
        .is_some_and(|s| s.logs.0.get().is_some())
}

/// Fills the logging slot.
pub(crate) fn install_log_layer(layer: LogLayer) -> Result<()> {
    if slots()?.logs.fill(layer) {
        Ok(())
    } else {
        Err(Error::AlreadyInstalled {
            what: "logging (init_logging)",
        })
    }
}

/// Fills the OpenTelemetry slot.
pub(crate) fn install_otel_layer(slots: &Slots, layer: OtelBridge) -> Result<()> {
    if slots.otel.fill(layer) {
        Ok(())
    } else {
        Err(Error::AlreadyInstalled {
            what: "tracing (init_tracing)",
        })
    }
}
