//! A started span that is current only while *entered*: around each poll of a
//! future ([`Instrumented`]) or around a synchronous call.
//!
//! `opentelemetry::trace::FutureExt::with_context` does the context half of this;
//! megaobs also names log lines after the innermost megaobs span, and keeping that
//! name in the `Context` (`Context::with_value`) copies the context's map for every
//! span. Entering pushes the name on a thread-local stack instead (see
//! `current_span::push_name`), which costs nanoseconds: this runs for every HTTP request
//! and every `#[trace_async]` call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, ContextGuard};

use crate::core::current_span::{pop_name, push_name, SharedName};

/// A started span, its id and its name, entered on demand.
#[derive(Debug)]
pub struct ActiveSpan {
    cx: Context,
    span_id: u64,
    name: SharedName,
}

impl ActiveSpan {
    pub(crate) fn new(cx: Context, span_id: u64, name: SharedName) -> Self {
        Self { cx, span_id, name }
    }

    /// The span's context (to carry elsewhere, e.g. to inject into headers).
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Whether the span records (is sampled).
    #[inline]
    pub fn is_recording(&self) -> bool {
        super::context::records(&self.cx.span())
    }

    /// Makes the span current on this thread, and names log lines after it,
    /// until the returned guard drops.
    #[inline]
    pub fn enter(&self) -> Entered {
        // A copy of a `&'static str` or a reference count: never the string.
        let named = push_name(self.span_id, self.name.clone());
        Entered {
            named,
            _guard: self.cx.clone().attach(),
        }
    }
}

/// Returned by `ActiveSpan::enter`: the span is current until this drops.
#[derive(Debug)]
#[must_use = "the span is current only while the guard lives"]
pub struct Entered {
    named: Option<u64>,
    // Dropped after `drop` below has popped the name: restores the previous context.
    _guard: ContextGuard,
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        if let Some(id) = self.named {
            pop_name(id);
        }
    }
}

pin_project_lite::pin_project! {
    /// A future that enters `span` around each of its polls.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<'a, F> {
        #[pin]
        inner: F,
        span: Option<&'a ActiveSpan>,
    }
}

impl<'a, F> Instrumented<'a, F> {
    /// Polls `inner` with `span` entered (or plainly, for `None`).
    #[inline]
    pub fn new(inner: F, span: Option<&'a ActiveSpan>) -> Self {
        Self { inner, span }
    }
}

impl<F: Future> Future for Instrumented<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.map(ActiveSpan::enter);
        this.inner.poll(cx)
    }
}
