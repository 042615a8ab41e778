//! Sampling decided before the SDK is asked for a span, so that dropped spans
//! never become SDK spans.
//!
//! Most spans are not sampled (a 10% rate drops nine in ten). The SDK still builds
//! each of them: a boxed span object, a handle on the tracer (two shared reference
//! counts touched at start and at end), span limits and a builder, only to end
//! with a span that records nothing. megaobs makes the same decision first, with the
//! same sampler, and for a drop puts a non-recording span context (fresh span id,
//! the trace id, unsampled flags) in the `Context` directly: children, log lines and
//! outgoing `traceparent` headers see the same ids the SDK would have given.
//!
//! For a kept root span the trace id that was sampled must be the one the SDK uses,
//! or the SDK would draw another id and decide again (keeping r² of the roots, not r).
//! The provider is built with [`PresetIds`], an id generator that hands out a trace id
//! preset on this thread for the next span, or a random one (every other span, e.g.
//! `tracing` spans through the bridge). The SDK's own decision on the same trace id and
//! parent is then the same one.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, SamplingResult, ShouldSample,
};

/// The sampler the provider was built with (set once by `init_tracing`).
static SAMPLER: OnceLock<Sampler> = OnceLock::new();

/// Set when the provider shuts down: the SDK then gives every span an empty
/// (invalid) context, and so must the decisions made here (by leaving them to it).
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// Leaves every later decision to the SDK (called when tracing shuts down).
pub(crate) fn shut_down() {
    SHUT_DOWN.store(true, Ordering::Relaxed);
}

thread_local! {
    /// The trace id the next root span started on this thread must get.
    static PRESET_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
    /// The trace id of the span [`decide`] just kept: the SDK's sampler call for
    /// that span ([`Presampled`]) gives the same answer without deciding again.
    static KEPT: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// Remembers the provider's sampler (first call wins: tracing is initialised once).
pub(crate) fn install(sampler: Sampler) {
    let _ = SAMPLER.set(sampler);
}

/// What [`decide`] found.
pub(crate) enum Decision {
    /// Dropped: this context holds the non-recording span (no SDK span needed).
    Dropped(Context),
    /// Kept (or not decidable here): start an SDK span; [`PresetGuard`] makes a
    /// root span get the trace id the decision was made on.
    Start(PresetGuard),
}

/// Decides whether a span `name` started under `parent` is sampled.
pub(crate) fn decide(
    parent: &Context,
    name: &str,
    kind: &SpanKind,
    attributes: &[KeyValue],
) -> Decision {
    let Some(sampler) = SAMPLER.get() else {
        return Decision::Start(PresetGuard(false));
    };
    if parent.is_telemetry_suppressed() || SHUT_DOWN.load(Ordering::Relaxed) {
        // The SDK has its own answer for this (an empty span context).
        return Decision::Start(PresetGuard(false));
    }
    let ids = RandomIdGenerator::default();
    let parent_span = parent.span();
    let psc = parent_span.span_context();
    let root = !psc.is_valid();
    let trace_id = if root {
        ids.new_trace_id()
    } else {
        psc.trace_id()
    };
    let links: &[Link] = &[];
    let result = sampler.should_sample(Some(parent), trace_id, name, kind, attributes, links);
    if matches!(result.decision, SamplingDecision::RecordAndSample) {
        KEPT.with(|k| k.set(Some(trace_id)));
    }
    match result.decision {
        SamplingDecision::Drop => {
            let sc = SpanContext::new(
                trace_id,
                ids.new_span_id(),
                TraceFlags::default(),
                false,
                result.trace_state,
            );
            // Despite its name, this only wraps the span context: the span is local.
            Decision::Dropped(parent.with_remote_span_context(sc))
        }
        _ if root => {
            PRESET_TRACE_ID.with(|p| p.set(Some(trace_id)));
            Decision::Start(PresetGuard(true))
        }
        _ => Decision::Start(PresetGuard(true)),
    }
}

/// Clears the preset trace id and the kept decision when dropped (after the SDK
/// span is started), so that they never leak to another span.
pub(crate) struct PresetGuard(bool);

impl Drop for PresetGuard {
    fn drop(&mut self) {
        if self.0 {
            PRESET_TRACE_ID.with(|p| p.set(None));
            KEPT.with(|k| k.set(None));
        }
    }
}

/// The provider's sampler: `inner`, except for a span [`decide`] has just kept
/// on this thread, which it samples without asking `inner` again (the same
/// sampler, on the same trace id and parent, would answer the same).
#[derive(Debug, Clone)]
pub(crate) struct Presampled(pub(crate) Sampler);

impl ShouldSample for Presampled {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if KEPT.with(Cell::take) == Some(trace_id) {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                // What the SDK's samplers return: the parent's trace state.
                trace_state: parent_context
                    .map(|cx| cx.span().span_context().trace_state().clone())
                    .unwrap_or_default(),
            };
        }
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

/// The provider's id generator: the preset trace id if one is waiting on this
/// thread, else random ids (the SDK's generator).
#[derive(Debug, Default)]
pub(crate) struct PresetIds(RandomIdGenerator);

impl IdGenerator for PresetIds {
    fn new_trace_id(&self) -> TraceId {
        PRESET_TRACE_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}
