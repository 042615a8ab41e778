//! Exemplars: the trace behind a histogram observation.
//!
//! When a duration is observed while a *sampled* span is current, the bucket it
//! lands in remembers that span's `trace_id` and `span_id`; the OpenMetrics
//! exposition shows it, Prometheus stores it (`--enable-feature=exemplar-storage`),
//! and Grafana links the latency panel to the trace.
//!
//! Which span is current is the tracing pillar's business, so metrics ask through a
//! small hook, [`ExemplarSource`], installed once per process with
//! [`set_exemplar_source`]. `megaobs::init_tracing` installs the OpenTelemetry one;
//! code that tracks trace ids another way can install its own.
//!
//! ```
//! use megaobs::metrics::{set_exemplar_source, ExemplarSource, SpanRef};
//!
//! struct FromMyFramework;
//! impl ExemplarSource for FromMyFramework {
//!     fn current_span(&self) -> Option<SpanRef> {
//!         Some(SpanRef { trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736, span_id: 0x00f067aa0ba902b7 })
//!     }
//! }
//! // Once per process; a second call is an error, not a panic.
//! let _ = set_exemplar_source(FromMyFramework);
//! ```

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// The identity of a sampled span, as an exemplar records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanRef {
    /// W3C trace id (128 bits, never zero for a valid span).
    pub trace_id: u128,
    /// W3C span id (64 bits).
    pub span_id: u64,
}

/// Tells the metrics pillar which sampled span is current on this thread/task.
pub trait ExemplarSource: Send + Sync + 'static {
    /// The current span if there is one *and* it is sampled; `None` otherwise.
    /// Called on every duration observation: keep it to a thread-local read.
    fn current_span(&self) -> Option<SpanRef>;
}

static SOURCE: OnceLock<Box<dyn ExemplarSource>> = OnceLock::new();

/// Installs the process-wide exemplar source. Fails if one is installed already.
pub fn set_exemplar_source(source: impl ExemplarSource) -> Result<()> {
    SOURCE
        .set(Box::new(source))
        .map_err(|_| Error::AlreadyInstalled {
            what: "the metrics exemplar source",
        })
}

/// The current sampled span, if a source is installed and reports one.
#[inline]
pub(crate) fn current_span() -> Option<SpanRef> {
    SOURCE.get().and_then(|s| s.current_span())
}

/// One stored exemplar.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exemplar {
    pub span: SpanRef,
    pub value: f64,
    /// Seconds since the Unix epoch.
    pub timestamp: f64,
}

/// The latest exemplar of one histogram bucket.
///
/// Writers use `try_lock`: a contended slot skips the exemplar rather than wait,
/// so an observation never blocks.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlot(Mutex<Option<Exemplar>>);

impl ExemplarSlot {
    #[inline]
    pub fn offer(&self, span: SpanRef, value: f64) {
        if let Some(mut slot) = self.0.try_lock() {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            *slot = Some(Exemplar {
                span,
                value,
                timestamp,
            });
        }
    }

    pub fn get(&self) -> Option<Exemplar> {
        *self.0.lock()
    }
}
