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
    /// A node marked as an agent step or a tool call, and when it started.
    step: Option<(GenAiStep, std::time::Instant)>,
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
                step: None,
                finished: false,
            };
        }
        Self {
            span: TracingContext::builder(name).start_active(),
            node: None,
            step: None,
            finished: false,
        }
    }

    /// A span for a workflow node, with `workflow.name` and `workflow.node`.
    pub fn node(name: &'static str, workflow: Option<&'static str>) -> Self {
        Self::node_inner(name, workflow, None)
    }

    /// A workflow node that is also an agent step (`invoke_agent {name}`) or
    /// a tool call (`execute_tool {name}`): the span gets that name and the
    /// GenAI attributes, and the step's duration histogram is recorded too.
    pub fn node_step(name: &'static str, workflow: Option<&'static str>, step: GenAiStep) -> Self {
        Self::node_inner(name, workflow, Some(step))
    }

    fn node_inner(
        name: &'static str,
        workflow: Option<&'static str>,
        step: Option<GenAiStep>,
    ) -> Self {
        let workflow: Cow<'static, str> = match workflow {
            Some(w) => Cow::Borrowed(w),
            None => Context::map_current(|cx| cx.get::<WorkflowName>().map(|w| w.0.clone()))
                .unwrap_or(Cow::Borrowed("unknown")),
        };
        let span_name: Cow<'static, str> = match step {
            None => Cow::Borrowed(name),
            Some(GenAiStep::Agent) => Cow::Owned(format!("invoke_agent {name}")),
            Some(GenAiStep::Tool) => Cow::Owned(format!("execute_tool {name}")),
        };
        let mut builder = TracingContext::builder(span_name)
            .attribute("workflow.name", workflow.to_string())
            .attribute("workflow.node", name);
        builder = match step {
            None => builder,
            Some(GenAiStep::Agent) => builder
                .attribute("gen_ai.operation.name", "invoke_agent")
                .attribute("gen_ai.agent.name", name),
            Some(GenAiStep::Tool) => builder
                .attribute("gen_ai.operation.name", "execute_tool")
                .attribute("gen_ai.tool.name", name)
                .attribute("gen_ai.tool.type", "function"),
        };
        Self {
            span: builder.start_active(),
            node: Some((workflow, name)),
            step: step.map(|s| (s, std::time::Instant::now())),
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
        let error_type = if std::thread::panicking() {
            Some(super::genai::ERROR_PANIC)
        } else {
            failed.then_some("error")
        };
        self.record_step(error_type);
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
            self.record_step(Some(super::genai::ERROR_CANCELLED));
        } else {
            self.record_step(Some(super::genai::ERROR_CANCELLED));
        }
    }

    /// Records the step's duration once, if the node is an agent step or a tool call.
    fn record_step(&mut self, error_type: Option<&str>) {
        let Some((step, start)) = self.step.take() else {
            return;
        };
        let Some((_, name)) = &self.node else {
            return;
        };
        let collector = crate::metrics::metrics();
        match step {
            GenAiStep::Agent => {
                collector.record_agent_invocation(name, start.elapsed(), error_type)
            }
            GenAiStep::Tool => collector.record_tool_execution(name, start.elapsed(), error_type),
        }
    }
}

/// What `#[trace_workflow_node("name", agent)]` / `(…, tool)` marks a node as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenAiStep {
    /// An agent step: `invoke_agent {name}`, `gen_ai_invoke_agent_duration_seconds`.
    Agent,
    /// A tool call: `execute_tool {name}`, `gen_ai_execute_tool_duration_seconds`.
    Tool,
}
