//! [`LogLayer`]: the `tracing-subscriber` layer that turns events into lines.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::TraceContextExt;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::format::{LineFormat, SpanInfo};
use super::writer::WriterHandle;
use crate::trace::SpanName;

/// Formats every enabled event as one line and hands it to the log writer thread.
///
/// Get one from [`LogLayer::builder`] to compose your own subscriber, or let
/// [`init_logging`](super::init_logging) install it. Filtering applies to events
/// only: spans stay enabled so lines keep their `function`, `trace_id` and `span_id`.
#[derive(Clone, Debug)]
pub struct LogLayer {
    pub(super) format: Arc<LineFormat>,
    pub(super) filter: Arc<Targets>,
    pub(super) writer: Arc<WriterHandle>,
}

impl LogLayer {
    #[inline]
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }

    /// Spans always (they give lines their context); events by the level filter,
    /// except `log` records, which share a few callsites and are filtered per
    /// record by their own target (in `on_event`).
    pub(crate) fn wants_callsite(&self, meta: &Metadata<'_>) -> bool {
        !meta.is_event() || is_log_record(meta) || self.wants(meta)
    }
}

/// Whether `meta` is one of the callsites `tracing-log` emits `log` records from.
#[inline]
fn is_log_record(meta: &Metadata<'_>) -> bool {
    meta.target() == "log" && meta.fields().field("log.target").is_some()
}

/// The trace and span ids of the current OpenTelemetry context, if valid.
#[inline]
pub(crate) fn current_otel_ids() -> Option<(u128, u64)> {
    opentelemetry::Context::map_current(otel_ids)
}

#[inline]
fn otel_ids(cx: &opentelemetry::Context) -> Option<(u128, u64)> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        (
            u128::from_be_bytes(sc.trace_id().to_bytes()),
            u64::from_be_bytes(sc.span_id().to_bytes()),
        )
    })
}

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants_callsite(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.wants_callsite(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Spans of every level stay visible (they carry ids); events are
        // filtered per callsite above.
        None
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // A `log` record's own target, level, module and line (the event's
        // metadata is its level's shared callsite).
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        // Another layer may have enabled this callsite: filter again.
        if !self.wants(meta) {
            return;
        }
        let span = ctx.event_span(event);
        let mut line = Vec::with_capacity(256);
        opentelemetry::Context::map_current(|cx| {
            let ids = otel_ids(cx);
            // The innermost span names the line: a megaobs span made current on
            // this thread (a `TracingContext`, or a macro/HTTP span entered for
            // this poll), else one whose name travels in the context (handed to
            // another task), else the innermost `tracing` span.
            let in_context = cx
                .get::<SpanName>()
                .filter(|n| ids.is_some_and(|(_, id)| id == n.span_id))
                .map(|n| n.name.as_str());
            let from_tracing = span.as_ref().map(|s| s.name());
            let mut write = |current: Option<&str>| {
                let info = SpanInfo {
                    name: current.or(in_context).or(from_tracing),
                    ids,
                };
                self.format
                    .format(event, meta, info, SystemTime::now(), &mut line);
            };
            match ids {
                Some((_, id)) => crate::trace::with_current_name(id, &mut write),
                None => write(None),
            }
        });
        self.writer.send(line, *meta.level());
    }
}
