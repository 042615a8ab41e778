//! The identity of the current span, shared by every pillar: log lines name
//! their `trace_id`, `span_id` and `function` from it, metric exemplars their
//! trace. The tracing pillar records names here as its spans become current;
//! the logging pillar only reads them.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

/// The name of a span megaobs started, kept in its context so log lines can name
/// their `function` (with the span id, to know it is still the innermost span).
#[derive(Debug, Clone)]
pub(crate) struct SpanName {
    pub span_id: u64,
    pub name: SharedName,
}

/// A span's name as the per-thread name stack and [`SpanName`] keep it: cloned
/// for every poll of an entered span, so an owned name is shared, not copied.
#[derive(Debug, Clone)]
pub(crate) enum SharedName {
    /// The usual case: a literal or an interned route name.
    Static(&'static str),
    /// A name built at run time, allocated once per span.
    Shared(Arc<str>),
}

impl SharedName {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Static(s) => s,
            Self::Shared(s) => s,
        }
    }
}

impl From<Cow<'static, str>> for SharedName {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(s) => Self::Static(s),
            Cow::Owned(s) => Self::Shared(s.into()),
        }
    }
}

thread_local! {
    /// Names of the megaobs spans made current on this thread, innermost last.
    /// Log lines name their `function` from it. A thread-local stack rather than a
    /// `Context` value: `Context::with_value` copies the context's map on every
    /// span, while a push and a pop cost a few instructions.
    static CURRENT_NAMES: RefCell<Vec<(u64, SharedName)>> = const { RefCell::new(Vec::new()) };
}

/// Pushes the name of span `span_id` on this thread's stack of current names;
/// returns the id to pop with, or `None` if the stack was unavailable.
#[inline]
pub(crate) fn push_name(span_id: u64, name: SharedName) -> Option<u64> {
    CURRENT_NAMES
        .try_with(|n| {
            n.try_borrow_mut()
                .map(|mut n| n.push((span_id, name)))
                .is_ok()
        })
        .unwrap_or(false)
        .then_some(span_id)
}

/// Removes the name [`push_name`] pushed for `span_id`.
#[inline]
pub(crate) fn pop_name(span_id: u64) {
    let _ = CURRENT_NAMES.try_with(|n| {
        if let Ok(mut n) = n.try_borrow_mut() {
            // Usually the last entry; guards dropped out of order are found too.
            match n.last() {
                Some((last, _)) if *last == span_id => {
                    n.pop();
                }
                _ => {
                    if let Some(pos) = n.iter().rposition(|(i, _)| *i == span_id) {
                        n.remove(pos);
                    }
                }
            }
        }
    });
}

/// Calls `f` with the name of the megaobs span `span_id` if it is the innermost
/// one made current on this thread (else with `None`).
pub(crate) fn with_current_name<R>(span_id: u64, f: impl FnOnce(Option<&str>) -> R) -> R {
    let mut f = Some(f);
    let result = CURRENT_NAMES.try_with(|names| {
        let names = names.try_borrow().ok();
        let name = names
            .as_ref()
            .and_then(|n| n.last())
            .filter(|(id, _)| *id == span_id)
            .map(|(_, name)| name.as_str());
        f.take().map(|f| f(name))
    });
    match (result, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(None),
        (Ok(None), None) | (Err(_), None) => unreachable_result(),
    }
}

#[cold]
fn unreachable_result<R>() -> R {
    unreachable!("with_current_name: the callback is called exactly once")
}

/// `cx` plus the name of its span if that is a megaobs span made current on
/// this thread (and the name is not in `cx` already).
pub(crate) fn with_name(cx: &Context) -> Context {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return cx.clone();
    }
    let span_id = u64::from_be_bytes(sc.span_id().to_bytes());
    if cx.get::<SpanName>().is_some_and(|n| n.span_id == span_id) {
        return cx.clone();
    }
    let name = CURRENT_NAMES
        .try_with(|names| {
            let names = names.try_borrow().ok()?;
            names
                .iter()
                .rev()
                .find(|(id, _)| *id == span_id)
                .map(|(_, name)| name.clone())
        })
        .ok()
        .flatten();
    match name {
        Some(name) => cx.with_value(SpanName { span_id, name }),
        None => cx.clone(),
    }
}

/// The trace and span ids of the current OpenTelemetry context, if valid.
#[inline]
pub(crate) fn current_otel_ids() -> Option<(u128, u64)> {
    opentelemetry::Context::map_current(otel_ids)
}

#[inline]
pub(crate) fn otel_ids(cx: &opentelemetry::Context) -> Option<(u128, u64)> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        (
            u128::from_be_bytes(sc.trace_id().to_bytes()),
            u64::from_be_bytes(sc.span_id().to_bytes()),
        )
    })
}
