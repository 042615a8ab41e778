//! Manual spans: [`TracingContext`] and the free helpers acting on the current span.

use std::borrow::Cow;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};

use super::active::ActiveSpan;
use super::tracer;
use crate::core::current_span::{pop_name, push_name, with_name, SharedName, SpanName};

/// A span that is current while this guard lives (Python's `with TracingContext(...) as span`).
///
/// ```
/// use megaobs::trace::TracingContext;
///
/// let span = TracingContext::new("complex_operation");
/// span.set_attribute("user_id", "123");
/// span.add_event("operation_started");
/// // ... work; spans and log lines created here are its children ...
/// span.set_attribute("result_count", 3);
/// span.add_event("operation_completed");
/// // ended (and made no longer current) when dropped
/// ```
///
/// When tracing is not initialised or is disabled, every method is a no-op and the
/// guard costs one atomic load. The guard is `!Send`: it marks the span current on
/// this thread. For async code keep [`TracingContext::context`] and use
/// `opentelemetry::trace::FutureExt::with_context`, or the `#[trace_async]` macro.
#[must_use = "the span is current only while the TracingContext lives"]
#[derive(Debug)]
pub struct TracingContext {
    /// `None` with tracing off: building and dropping the guard is then a move
    /// and a test. Not boxed: an allocation per span costs more, with the export
    /// thread freeing other spans' memory, than moving these few words.
    cx: Option<Current>,
}

/// A span made current by a [`TracingContext`].
#[derive(Debug)]
struct Current {
    cx: Context,
    /// The span id whose name this guard pushed on `CURRENT_NAMES`.
    named: Option<u64>,
    // Dropped last: restores the previous current context.
    _guard: ContextGuard,
}

impl std::ops::Deref for Current {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.cx
    }
}

/// Builds a [`TracingContext`] with a kind and initial attributes.
#[derive(Debug)]
#[must_use]
pub struct TracingContextBuilder {
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    parent: Option<Context>,
    workflow: Option<super::WorkflowName>,
}

impl TracingContextBuilder {
    /// Sets the span kind (default `Internal`).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds an attribute known at start.
    pub fn attribute(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }

    /// Uses `parent` instead of the current context (e.g. one extracted from headers).
    pub fn parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self
    }

    pub(crate) fn with_value(mut self, workflow: super::WorkflowName) -> Self {
        self.workflow = Some(workflow);
        self
    }

    /// Starts the span as a child of the parent; returns its context (with the
    /// workflow, if any), its id and its name.
    fn open(self) -> Option<(Context, u64, SharedName)> {
        self.open_with(|_| {})
    }

    /// [`Self::open`], with `more` adding attributes only if the span is sampled.
    fn open_with(
        mut self,
        more: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Option<(Context, u64, SharedName)> {
        let t = tracer()?;
        Some(match self.parent.take() {
            Some(parent) => self.open_in(t, &parent, more),
            // The current context is borrowed, not cloned (as the SDK's
            // `Tracer::start` does): the new context copies what it needs.
            None => Context::map_current(|parent| self.open_in(t, parent, more)),
        })
    }

    fn open_in(
        self,
        t: &opentelemetry_sdk::trace::SdkTracer,
        parent: &Context,
        more: impl FnOnce(&mut Vec<KeyValue>),
    ) -> (Context, u64, SharedName) {
        // Dropped spans never become SDK spans (see `sampling`).
        let _preset = match super::sampling::decide(parent) {
            super::sampling::Decision::Dropped(cx) => {
                let span_id = u64::from_be_bytes(cx.span().span_context().span_id().to_bytes());
                let cx = match self.workflow {
                    Some(w) => cx.with_value(w),
                    None => cx,
                };
                return (cx, span_id, self.name.into());
            }
            super::sampling::Decision::Start(preset) => preset,
        };
        let mut attributes = self.attributes;
        more(&mut attributes);
        let span = t
            .span_builder(self.name.clone())
            .with_kind(self.kind)
            .with_attributes(attributes)
            .start_with_context(t, parent);
        let span_id = u64::from_be_bytes(span.span_context().span_id().to_bytes());
        let cx = parent.with_span(span);
        let cx = match self.workflow {
            Some(w) => cx.with_value(w),
            None => cx,
        };
        (cx, span_id, self.name.into())
    }

    /// Starts the span and makes it current.
    pub fn start(self) -> TracingContext {
        let Some((cx, span_id, name)) = self.open() else {
            return TracingContext::disabled();
        };
        let named = push_name(span_id, name);
        TracingContext {
            cx: Some(Current {
                _guard: cx.clone().attach(),
                cx,
                named,
            }),
        }
    }

    /// Starts the span without making it current anywhere: the caller enters it
    /// around each poll of its future ([`ActiveSpan::enter`]), which also names
    /// log lines, without storing the name in the context (a map copy).
    pub(crate) fn start_active(self) -> Option<ActiveSpan> {
        self.start_active_with(|_| {})
    }

    /// [`Self::start_active`], with `more` adding attributes only if the span is
    /// sampled: most spans are not, and need not build them. The span keeps the
    /// vector, so reserving room for attributes set later saves a reallocation.
    pub(crate) fn start_active_with(
        self,
        more: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Option<ActiveSpan> {
        let (cx, span_id, name) = self.open_with(more)?;
        Some(ActiveSpan::new(cx, span_id, name))
    }

    /// Starts the span without making it current; returns its context (for
    /// futures). The name travels in the context, since no thread owns the span.
    pub fn start_detached(self) -> Option<Context> {
        self.start_detached_with(|_| {})
    }

    /// Starts the span without making it current and without carrying its
    /// name for log lines: for spans around a call into a client library (an
    /// outgoing request), where no application code logs, and a context value
    /// per call would cost an allocation. `more` adds attributes only if the
    /// span is sampled.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn start_unnamed_with(
        self,
        more: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Option<Context> {
        self.open_with(more).map(|(cx, _, _)| cx)
    }

    /// [`Self::start_detached`], with `more` adding attributes only if the span
    /// is sampled.
    pub(crate) fn start_detached_with(
        self,
        more: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Option<Context> {
        let (cx, span_id, name) = self.open_with(more)?;
        Some(cx.with_value(SpanName { span_id, name }))
    }
}

impl TracingContext {
    /// Starts an internal span named `name` as a child of the current span.
    #[inline]
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        if tracer().is_none() {
            // Tracing off: no span, nothing to do (the cost is this check).
            return Self::disabled();
        }
        Self::builder(name).start()
    }

    fn disabled() -> Self {
        Self { cx: None }
    }

    /// A builder for a span named `name`.
    pub fn builder(name: impl Into<Cow<'static, str>>) -> TracingContextBuilder {
        TracingContextBuilder {
            name: name.into(),
            kind: SpanKind::Internal,
            attributes: Vec::new(),
            parent: None,
            workflow: None,
        }
    }

    /// Whether a real span is recording (tracing on and this span sampled).
    pub fn is_recording(&self) -> bool {
        self.cx.as_ref().is_some_and(|cx| cx.span().is_recording())
    }

    // The methods below are `#[inline]` with the "no span" test first, so that
    // with tracing off a call is one branch; the work sits in out-of-line helpers.

    /// Sets an attribute (secret-named keys are redacted, see [`TracingConfig::redact`](super::TracingConfig::redact)).
    #[inline]
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        if let Some(cx) = &self.cx {
            set_attribute_on(cx, KeyValue::new(key, value));
        }
    }

    /// Adds an event (a timestamped milestone) without attributes.
    #[inline]
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>) {
        if let Some(cx) = &self.cx {
            add_event_on(cx, name.into(), Vec::new());
        }
    }

    /// Adds an event with attributes.
    #[inline]
    pub fn add_event_with(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if let Some(cx) = &self.cx {
            add_event_on(cx, name.into(), attributes);
        }
    }

    /// Marks the span failed: error status with the error's `Display`, and an
    /// `exception` event (never the `Debug` form, which may hold secrets).
    #[inline]
    pub fn record_error(&self, err: &dyn std::error::Error) {
        if let Some(cx) = &self.cx {
            record_error_on(&cx.span(), &err.to_string());
        }
    }

    /// Marks the span successful.
    #[inline]
    pub fn set_ok(&self) {
        if let Some(cx) = &self.cx {
            cx.span().set_status(Status::Ok);
        }
    }

    /// The span's context, to carry into a future or another thread; log lines
    /// there name this span as their `function`.
    pub fn context(&self) -> Context {
        self.cx
            .as_ref()
            .map_or_else(current_context, |c| with_name(&c.cx))
    }

    /// The trace id as 32 hex characters, if a span exists.
    pub fn trace_id(&self) -> Option<String> {
        let cx = self.cx.as_ref()?;
        Some(cx.span().span_context().trace_id().to_string())
    }

    /// The span id as 16 hex characters, if a span exists.
    pub fn span_id(&self) -> Option<String> {
        let cx = self.cx.as_ref()?;
        Some(cx.span().span_context().span_id().to_string())
    }
}

/// Whether `span` records, read without taking the span's lock (which
/// `SpanRef::is_recording` does): megaobs' samplers either drop a span or record
/// *and* sample it, so the sampled flag, kept outside the lock, says the same.
/// Only for spans megaobs started (`TracingContext`, macro and HTTP spans).
/// An ended span still answers `true`; the SDK then ignores what is added.
#[inline]
pub(crate) fn records(span: &opentelemetry::trace::SpanRef<'_>) -> bool {
    span.span_context().is_sampled()
}

/// Ends `span` if it records. A span that was sampled out has nothing to end,
/// and `SpanRef::end` would still read the clock for it.
#[inline]
pub(crate) fn end_span(span: &opentelemetry::trace::SpanRef<'_>) {
    if records(span) {
        span.end();
    }
}

// Both check `records` first: an unsampled span ignores attributes and events
// anyway, and the event's clock read is not free. No redaction here: these spans
// are megaobs' own, and every span megaobs exports is redacted on the export
// thread (`batch`), off the application's path.
#[inline(never)]
fn set_attribute_on(cx: &Context, kv: KeyValue) {
    let span = cx.span();
    if records(&span) {
        span.set_attribute(kv);
    }
}

#[inline(never)]
fn add_event_on(cx: &Context, name: Cow<'static, str>, attributes: Vec<KeyValue>) {
    let span = cx.span();
    if records(&span) {
        span.add_event(name, attributes);
    }
}

impl Drop for TracingContext {
    #[inline]
    fn drop(&mut self) {
        if let Some(current) = self.cx.take() {
            current.end();
        }
    }
}

impl Current {
    #[inline(never)]
    fn end(self) {
        end_span(&self.cx.span());
        if let Some(id) = self.named {
            pop_name(id);
        }
        // `_guard` drops with `self`, restoring the previous current context.
    }
}

/// The ids of the span in `cx` as an exemplar, if it is sampled (for guards
/// whose span is not current when they record).
pub(crate) fn exemplar_of(cx: Option<&Context>) -> Option<crate::metrics::SpanRef> {
    let span = cx?.span();
    let sc = span.span_context();
    sc.is_sampled().then(|| crate::metrics::SpanRef {
        trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
    })
}

pub(crate) fn record_error_on(span: &opentelemetry::trace::SpanRef<'_>, message: &str) {
    span.set_status(Status::error(message.to_string()));
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", "error"),
            KeyValue::new("exception.message", message.to_string()),
        ],
    );
}

/// For the free functions, whose current span may belong to another provider
/// (whose export megaobs does not see): redacted before it is set.
fn redacted(kv: KeyValue) -> KeyValue {
    let redactor = super::redactor();
    if redactor.is_secret_cached(kv.key.as_str()) {
        return KeyValue::new(kv.key, crate::core::redact::REDACTED);
    }
    if let Value::String(s) = &kv.value {
        if let std::borrow::Cow::Owned(clean) = redactor.scrub(s.as_str()) {
            return KeyValue::new(kv.key, clean);
        }
    }
    kv
}

/// Adds an event to the current span (no-op without a recording one).
#[inline]
pub fn add_span_event(name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
    // Tracing off: one branch (the work sits out of line).
    if tracer().is_some() {
        add_current_event(name.into(), attributes);
    } else if attributes.capacity() == 0 {
        // The usual `vec![]`: nothing to free, so skip the out-of-line drop
        // (forgetting an empty, unallocated vector leaks nothing).
        std::mem::forget(attributes);
    }
}

/// Sets an attribute on the current span (no-op without a recording one).
#[inline]
pub fn set_span_attribute(key: impl Into<Key>, value: impl Into<Value>) {
    if tracer().is_some() {
        set_current_attribute(KeyValue::new(key, value));
    }
}

// The current span may come from anywhere (another provider, a sampler that
// records without sampling), so these ask the span itself, not `records`.
#[inline(never)]
fn add_current_event(name: Cow<'static, str>, attributes: Vec<KeyValue>) {
    Context::map_current(|cx| {
        let span = cx.span();
        if span.is_recording() {
            span.add_event(name, attributes.into_iter().map(redacted).collect());
        }
    });
}

#[inline(never)]
fn set_current_attribute(kv: KeyValue) {
    Context::map_current(|cx| {
        let span = cx.span();
        if span.is_recording() {
            span.set_attribute(redacted(kv));
        }
    });
}

/// The current OpenTelemetry context, to hand to another task or thread.
///
/// Like [`Context::current`], plus the name of the current megaobs span
/// ([`TracingContext`], `#[trace_function]`, `#[trace_async]`, the HTTP server
/// span). That name lives on a per-thread stack while the span is current, so a
/// bare `Context::current()` carried elsewhere gives log lines there the span's
/// ids but no `function`; this one gives them both.
///
/// ```
/// use megaobs::trace::current_context;
/// use opentelemetry::trace::FutureExt;
///
/// # async fn work() {}
/// # async fn example() {
/// // Inside a traced function: the spawned task's spans and log lines
/// // belong to the current span.
/// tokio::spawn(work().with_context(current_context()));
/// # }
/// ```
pub fn current_context() -> Context {
    Context::map_current(with_name)
}

/// The current span's trace id (32 hex characters), if a valid span is current.
pub fn current_trace_id() -> Option<String> {
    crate::core::current_span::current_otel_ids().map(|(t, _)| format!("{t:032x}"))
}

/// The current span's id (16 hex characters), if a valid span is current.
pub fn current_span_id() -> Option<String> {
    crate::core::current_span::current_otel_ids().map(|(_, s)| format!("{s:016x}"))
}
