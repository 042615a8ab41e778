//! Sampling decided before the SDK is asked for a span, so that dropped spans
//! never become SDK spans.
//!
//! Most spans are not sampled (a 10% rate drops nine in ten). The SDK still builds
//! each of them: a boxed span object, a handle on the tracer (two shared reference
//! counts touched at start and at end), span limits and a builder, only to end
//! with a span that records nothing. megaobs makes the same decision first (the
//! provider's sampler, [`parent_ratio_sampler`], computed directly), and for a
//! drop puts a non-recording span context (fresh span id,
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

/// The root spans' ratio of the provider's sampler, [`parent_ratio_sampler`]
/// (set once by `init_tracing`). [`decide`] computes that sampler's decisions
/// itself, without the SDK's dynamic dispatch, nested sampler calls and result
/// building (`bench/layer_instructions.sh` counts the difference); the
/// differential test below checks that they
/// are the SDK's for every kind of parent and trace ids around the bound.
static RATIO: OnceLock<Ratio> = OnceLock::new();

/// The sampler megaobs builds from `TRACING_SAMPLE_RATE`: the parent's decision
/// for a child, the trace id's ratio test for a root.
pub(crate) fn parent_ratio_sampler(rate: f64) -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(rate)))
}

/// `Sampler::TraceIdRatioBased`'s test, as the SDK computes it: a trace is kept
/// when its id's low 63 bits (low 8 bytes shifted right once) are below
/// `rate × 2⁶³`, or always for a rate of 1 or more.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ratio {
    All,
    Below(u64),
}

impl Ratio {
    fn new(rate: f64) -> Self {
        if rate >= 1.0 {
            Self::All
        } else {
            // The SDK's expression, cast for cast (NaN and negatives give 0).
            Self::Below((rate.max(0.0) * (1u64 << 63) as f64) as u64)
        }
    }

    fn keeps(self, trace_id: TraceId) -> bool {
        match self {
            Self::All => true,
            Self::Below(bound) => {
                let bytes = trace_id.to_bytes();
                let mut low = [0u8; 8];
                low.copy_from_slice(&bytes[8..]);
                (u64::from_be_bytes(low) >> 1) < bound
            }
        }
    }
}

/// What `parent_ratio_sampler(ratio's rate)` decides for a span under `parent`
/// (`Sampler::ParentBased`: a parent with an active span, even an invalid one,
/// decides; without one, the ratio does).
fn parent_ratio_keeps(ratio: Ratio, parent: &Context, trace_id: TraceId) -> bool {
    if parent.has_active_span() {
        parent.span().span_context().is_sampled()
    } else {
        ratio.keeps(trace_id)
    }
}

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

/// Remembers the provider's sampler, [`parent_ratio_sampler`]`(rate)` (first
/// call wins: tracing is initialised once).
pub(crate) fn install(rate: f64) {
    let _ = RATIO.set(Ratio::new(rate));
}

/// What [`decide`] found.
pub(crate) enum Decision {
    /// Dropped: this context holds the non-recording span (no SDK span needed).
    Dropped(Context),
    /// Kept (or not decidable here): start an SDK span; [`PresetGuard`] makes a
    /// root span get the trace id the decision was made on.
    Start(PresetGuard),
}

/// Decides whether a span started under `parent` is sampled (the sampler reads
/// neither the span's name, kind nor attributes).
pub(crate) fn decide(parent: &Context) -> Decision {
    let Some(&ratio) = RATIO.get() else {
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
    // What the provider's sampler answers, computed directly (see `RATIO`).
    if !parent_ratio_keeps(ratio, parent, trace_id) {
        // The SDK's samplers keep the parent's trace state.
        let sc = SpanContext::new(
            trace_id,
            ids.new_span_id(),
            TraceFlags::default(),
            false,
            psc.trace_state().clone(),
        );
        // Despite its name, this only wraps the span context: the span is local.
        return Decision::Dropped(parent.with_remote_span_context(sc));
    }
    KEPT.with(|k| k.set(Some(trace_id)));
    if root {
        PRESET_TRACE_ID.with(|p| p.set(Some(trace_id)));
    }
    Decision::Start(PresetGuard(true))
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

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt, TraceState};

    use super::*;

    /// Parents of every kind the SDK's `ParentBased` tells apart: none, a valid
    /// span (remote or local, sampled or not, with a trace state), and an active
    /// span whose context is invalid.
    fn parents() -> Vec<Context> {
        let state = TraceState::from_key_value([("vendor", "v1")]).expect("a valid trace state");
        let sc = |flags: TraceFlags, remote: bool, state: TraceState| {
            SpanContext::new(
                TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
                SpanId::from(0x00f0_67aa_0ba9_02b7),
                flags,
                remote,
                state,
            )
        };
        let mut all = vec![Context::new()];
        for flags in [TraceFlags::SAMPLED, TraceFlags::default()] {
            for remote in [true, false] {
                for st in [TraceState::default(), state.clone()] {
                    all.push(Context::new().with_remote_span_context(sc(flags, remote, st)));
                }
            }
        }
        all.push(Context::new().with_remote_span_context(SpanContext::empty_context()));
        all
    }

    #[test]
    fn decisions_are_the_sdk_samplers_for_every_parent_and_rate() {
        let ids = RandomIdGenerator::default();
        for rate in [-1.0, 0.0, 1e-9, 0.1, 0.25, 0.5, 0.999, 1.0, 2.0, f64::NAN] {
            let sdk = parent_ratio_sampler(rate);
            let ratio = Ratio::new(rate);
            // Random ids, and ids whose low 63 bits sit just around the bound.
            let mut trace_ids: Vec<TraceId> = (0..2000).map(|_| ids.new_trace_id()).collect();
            if let Ratio::Below(bound) = ratio {
                for low in [bound.saturating_sub(1), bound, bound.saturating_add(1)] {
                    for top in [0u128, 1 << 100] {
                        // `<< 1` puts the 63 bits where the SDK's `>> 1` reads them.
                        trace_ids.push(TraceId::from(top | u128::from(low << 1)));
                        trace_ids.push(TraceId::from(top | u128::from(low << 1 | 1)));
                    }
                }
            }
            for parent in parents() {
                for &trace_id in &trace_ids {
                    let expected = sdk.should_sample(
                        Some(&parent),
                        trace_id,
                        "GET /route",
                        &SpanKind::Server,
                        &[],
                        &[],
                    );
                    let keep = parent_ratio_keeps(ratio, &parent, trace_id);
                    assert_eq!(
                        keep,
                        matches!(expected.decision, SamplingDecision::RecordAndSample),
                        "rate {rate}, trace id {trace_id}, parent {:?}",
                        parent.span().span_context()
                    );
                    assert!(!matches!(expected.decision, SamplingDecision::RecordOnly));
                    // The state `decide` gives a dropped span is the SDK's.
                    assert_eq!(
                        parent.span().span_context().trace_state(),
                        &expected.trace_state
                    );
                }
            }
        }
    }

    #[test]
    fn the_ratio_keeps_its_share_of_random_traces() {
        let ids = RandomIdGenerator::default();
        let ratio = Ratio::new(0.1);
        let kept = (0..100_000)
            .filter(|_| ratio.keeps(ids.new_trace_id()))
            .count();
        assert!(
            (9_000..11_000).contains(&kept),
            "{kept} of 100000 kept at 0.1"
        );
    }
}
