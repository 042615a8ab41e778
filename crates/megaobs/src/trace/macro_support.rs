//! Runtime support for `#[trace_function]`, `#[trace_async]` and
//! `#[trace_workflow_node]` (not a public API: the macros' expansion calls it).

use std::borrow::Cow;
use std::fmt::Display;

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

pub use super::active::{Entered, Instrumented};

use super::active::ActiveSpan;
use super::context::{record_error_on, TracingContext};
use super::WorkflowName;

/// Whether tracing is off (the macros' fast path: no span to open).
#[inline]
pub fn tracing_off() -> bool {
    super::tracer().is_none()
}

/// How a traced function ended.
#[derive(Debug)]
pub enum Outcome {
    /// Returned normally (or `Ok`).
    Ok,
    /// Returned `Err` with this `Display` text.
    Err(String),
}

impl Outcome {
    /// `Err(e)` → the error's `Display`; `Ok` → success.
    pub fn from_result<T, E: Display>(r: &Result<T, E>) -> Self {
        match r {
            Ok(_) => Self::Ok,
            Err(e) => Self::Err(e.to_string()),
        }
    }
}

/// The span of one traced call.
#[derive(Debug)]
pub struct SpanScope {
    span: Option<ActiveSpan>,
    node: Option<(Cow<'static, str>, &'static str)>,
    finished: bool,
}

impl SpanScope {
    /// A span for a function.
    #[inline]
    pub fn function(name: &'static str) -> Self {
        if super::tracer().is_none() {
            return Self {
                span: None,
                node: None,
                finished: false,
            };
        }
        Self {
            span: TracingContext::builder(name).start_active(),
            node: None,
            finished: false,
        }
    }

    /// A span for a workflow node, with `workflow.name` and `workflow.node`.
    pub fn node(name: &'static str, workflow: Option<&'static str>) -> Self {
        let workflow: Cow<'static, str> = match workflow {
            Some(w) => Cow::Borrowed(w),
            None => Context::map_current(|cx| cx.get::<WorkflowName>().map(|w| w.0.clone()))
                .unwrap_or(Cow::Borrowed("unknown")),
        };
        let span = TracingContext::builder(name)
            .attribute("workflow.name", workflow.to_string())
            .attribute("workflow.node", name)
            .start_active();
        Self {
            span,
            node: Some((workflow, name)),
            finished: false,
        }
    }

    /// Runs `f` with the span current (and naming log lines); without a span,
    /// just calls `f`, with no guard to drop.
    #[inline]
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.span {
            None => f(),
            Some(span) => {
                let _entered = span.enter();
                f()
            }
        }
    }

    /// `fut`, with the span current during each of its polls.
    #[inline]
    pub fn instrument<F>(&self, fut: F) -> Instrumented<'_, F> {
        Instrumented::new(fut, self.span.as_ref())
    }

    /// Records the outcome and ends the span.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        if self.span.is_none() && self.node.is_none() {
            // Tracing off, not a node: nothing to record.
            self.finished = true;
            return;
        }
        self.end(outcome);
    }

    #[inline(never)]
    fn end(&mut self, outcome: Outcome) {
        self.finished = true;
        let failed = matches!(outcome, Outcome::Err(_));
        if let Some(active) = &self.span {
            let span = active.context().span();
            if let Outcome::Err(message) = &outcome {
                record_error_on(&span, message);
            }
            super::context::end_span(&span);
        }
        if let Some((workflow, node)) = &self.node {
            let status = if failed {
                crate::metrics::Status::Error
            } else {
                crate::metrics::Status::Success
            };
            crate::metrics::metrics().record_workflow_node(workflow, node, status);
        }
    }
}

impl Drop for SpanScope {
    #[inline]
    fn drop(&mut self) {
        if !self.finished {
            self.drop_unfinished();
        }
    }
}

impl SpanScope {
    #[cold]
    #[inline(never)]
    fn drop_unfinished(&mut self) {
        if std::thread::panicking() {
            self.end(Outcome::Err("panicked".to_string()));
        } else if let Some(active) = &self.span {
            // A future dropped before completion: end the span, marked cancelled.
            let span = active.context().span();
            span.set_attribute(KeyValue::new("megaobs.cancelled", true));
            span.set_status(Status::Unset);
            span.end();
            self.finished = true;
        }
    }
}
