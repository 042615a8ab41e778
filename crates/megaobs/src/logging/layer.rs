//! [`LogLayer`]: the `tracing-subscriber` layer that turns events into lines.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use super::format::{LineFormat, SpanInfo};
use super::level::{LogLevelHandle, SharedFilter};
use super::writer::WriterHandle;
use crate::core::current_span::{otel_ids, with_current_name, SpanName};
use crate::core::forward::forward_layer_methods;

/// Which spans and events a log layer wants: every span (they give lines their
/// `function`, `trace_id` and `span_id`), events by the active level filter.
#[derive(Clone, Debug)]
pub(crate) struct LogFilter(pub(crate) SharedFilter);

impl LogFilter {
    /// Whether an event with this metadata passes the level filter.
    #[inline]
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.0
            .load()
            .targets
            .would_enable(meta.target(), meta.level())
    }

    /// Spans always; events by the level filter, except `log` records, which
    /// share a few callsites and are filtered per record by their own target
    /// (in `on_event`).
    #[inline]
    pub(crate) fn wants_callsite(&self, meta: &Metadata<'_>) -> bool {
        !meta.is_event() || is_log_record(meta) || self.wants(meta)
    }
}

impl<S> Filter<S> for LogFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.wants_callsite(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants_callsite(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        // Spans of every level stay visible (they carry ids); events are
        // filtered per callsite above.
        None
    }
}

/// Whether `meta` is one of the callsites `tracing-log` emits `log` records from.
#[inline]
fn is_log_record(meta: &Metadata<'_>) -> bool {
    meta.target() == "log" && meta.fields().field("log.target").is_some()
}

/// Formats every event it is given as one line and hands it to the writer
/// thread; unfiltered (a [`LogFilter`] or the installed subscriber's slot
/// filter sits around it).
#[derive(Clone, Debug)]
pub(crate) struct LineLayer {
    pub(super) format: Arc<LineFormat>,
    pub(super) filter: LogFilter,
    pub(super) writer: Arc<WriterHandle>,
}

impl LineLayer {
    #[cfg(feature = "tracing")]
    pub(crate) fn filter(&self) -> &LogFilter {
        &self.filter
    }
}

impl<S> Layer<S> for LineLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // A `log` record's own target, level, module and line (the event's
        // metadata is its level's shared callsite).
        let normalized = event.normalized_metadata();
        // `log` records share a few callsites, which the filter lets through:
        // each is filtered here by its own target. Other events were filtered
        // already (by this layer's filter, or the installed subscriber's slot).
        if let Some(record) = normalized.as_ref() {
            if !self.filter.wants(record) {
                return;
            }
        }
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let span = ctx.event_span(event);
        let mut line = Vec::with_capacity(self.format.line_capacity());
        let mut twin_at = None;
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
                twin_at = self
                    .format
                    .format(event, meta, info, SystemTime::now(), &mut line);
            };
            match ids {
                Some((_, id)) => with_current_name(id, &mut write),
                None => write(None),
            }
        });
        self.writer.send(line, *meta.level(), twin_at);
    }
}

/// The logging pillar as a layer: formats every event that passes its level
/// filter as one line (JSON or text, with the current trace context) and hands
/// it to the writer thread, which writes the console, rotated files, the error
/// file, syslog or your own writer without blocking the caller.
///
/// Get one from [`LogLayer::builder`] to compose your own subscriber, or let
/// `megaobs::init_logging` install it. It carries its own per-layer filter:
/// its level never hides events from the other layers of your subscriber, and
/// theirs never hide events from it. Spans are always seen, so lines keep their
/// `function`, `trace_id` and `span_id`. [`LogLayer::level_handle`] changes the
/// level while the program runs.
pub struct LogLayer<S = Registry> {
    inner: Filtered<LineLayer, LogFilter, S>,
    level: LogLevelHandle,
}

impl<S> std::fmt::Debug for LogLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLayer")
            .field("level", &self.level.current())
            .finish_non_exhaustive()
    }
}

impl<S> LogLayer<S> {
    pub(crate) fn new(layer: LineLayer, level: LogLevelHandle) -> Self
    where
        S: Subscriber + for<'a> LookupSpan<'a> + 'static,
    {
        let filter = layer.filter.clone();
        Self {
            inner: layer.with_filter(filter),
            level,
        }
    }

    /// A handle that changes this layer's level while the program runs.
    pub fn level_handle(&self) -> LogLevelHandle {
        self.level.clone()
    }
}

impl<S> Layer<S> for LogLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
{
    forward_layer_methods!(inner, S);
}
