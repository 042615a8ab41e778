//! GenAI spans following the OpenTelemetry GenAI semantic conventions: model
//! calls ([`LlmSpan`], streamed or not), agent invocations and tool executions
//! ([`GenAiStepSpan`]). Each guard records its span, its metrics and (for model
//! calls) its cost exactly once, on whichever path it ends.
//!
//! A streamed chat call:
//!
//! ```
//! use megaobs::metrics::{GenAiOperation, MetricsCollector, PriceTable, TokenUsage};
//! use megaobs::trace::LlmSpan;
//!
//! let prices = PriceTable::from_toml_str("[models.\"gpt-4o\"]\ninput = 2.5\ncached_input = 1.25\noutput = 10.0")?;
//! let collector = MetricsCollector::builder().prices(prices).build();
//!
//! let mut call = LlmSpan::start(&collector, GenAiOperation::Chat, "openai", "gpt-4o");
//! for _chunk in ["Hel", "lo", "!"] {
//!     call.chunk(); // the first one is the time to first chunk
//! }
//! call.set_usage(TokenUsage::from_openai(1200, 3, 1000, 0));
//! call.finish_reason("stop");
//! let cost = call.finish(); // span ended, metrics and cost recorded
//! assert_eq!(cost, Some(200.0 * 2.5 / 1e6 + 1000.0 * 1.25 / 1e6 + 3.0 * 10.0 / 1e6));
//! assert!(collector.encode_text().contains("gen_ai_client_operation_time_to_first_chunk_seconds_count"));
//! # Ok::<(), megaobs::Error>(())
//! ```
//!
//! A call that is not streamed is the same without `chunk()`; a failed one calls
//! [`LlmSpan::fail`] (or [`LlmSpan::error`] and lets the guard drop). The guard
//! is `Send`: hold it across `.await`s, and use [`LlmSpan::context`] as the
//! parent of the HTTP request that carries the call.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};

use super::context::{end_span, exemplar_of, record_error_on, records, TracingContext};
use crate::metrics::{
    ChunkTimes, GenAiOperation, MetricsCollector, ModelSeries, StepKind, StepSeries, TokenUsage,
};

/// `error_type` of a guard dropped before [`LlmSpan::finish`] (e.g. a cancelled future).
pub const ERROR_CANCELLED: &str = "cancelled";
/// `error_type` of a guard dropped while its thread panics.
pub const ERROR_PANIC: &str = "panic";
/// Most distinct finish reasons one call records (one per choice).
const MAX_FINISH_REASONS: usize = 8;

/// The error type to record at the end: the one set, else `cancelled` for an
/// unfinished guard, `panic` while panicking.
fn outcome(error: &Option<Cow<'static, str>>, finished: bool) -> Option<Cow<'static, str>> {
    if std::thread::panicking() {
        Some(Cow::Borrowed(ERROR_PANIC))
    } else if let Some(e) = error {
        Some(e.clone())
    } else if !finished {
        Some(Cow::Borrowed(ERROR_CANCELLED))
    } else {
        None
    }
}

/// One model call: a CLIENT span `"{operation} {model}"` with the GenAI
/// attributes, and on its end the `gen_ai_client_*` metrics and the cost.
///
/// Feed it as the response arrives: [`chunk`](Self::chunk) for every streamed
/// chunk (the first gives the time to first chunk, the others the time per
/// output chunk; a chunk costs nanoseconds and takes no lock), then
/// [`set_usage`](Self::set_usage), [`finish_reason`](Self::finish_reason),
/// [`set_response_model`](Self::set_response_model), [`error`](Self::error).
/// It records exactly once: on [`finish`](Self::finish)/[`fail`](Self::fail),
/// or when dropped — an unfinished guard (an early `return`, a `?`, a
/// cancelled future) records `error_type="cancelled"`, a panic
/// `error_type="panic"`.
///
/// Span attributes: `gen_ai.operation.name`, `gen_ai.provider.name`,
/// `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens`
/// (cached included, as the conventions say), `gen_ai.usage.output_tokens`
/// (reasoning included), `gen_ai.usage.cache_read.input_tokens`,
/// `gen_ai.usage.reasoning.output_tokens`, `gen_ai.response.finish_reasons`,
/// `gen_ai.request.stream` and `gen_ai.response.time_to_first_chunk` (streamed
/// calls), `gen_ai.usage.cost` (USD, priced models), `error.type` (failures).
#[derive(Debug)]
#[must_use = "an LlmSpan records when finished or dropped; bind it to a variable"]
pub struct LlmSpan {
    series: Arc<ModelSeries>,
    /// The model, kept only when the series is the overflow one (its calls are
    /// priced by their own model).
    overflow_model: Option<Box<str>>,
    op: GenAiOperation,
    cx: Option<Context>,
    start: Instant,
    chunks: ChunkTimes,
    usage: TokenUsage,
    response_model: Option<String>,
    finish_reasons: Vec<String>,
    error: Option<Cow<'static, str>>,
    finished: bool,
    recorded: bool,
}

impl LlmSpan {
    /// Starts a call as a child of the current span.
    pub fn start(
        collector: &MetricsCollector,
        operation: GenAiOperation,
        provider: &str,
        model: &str,
    ) -> Self {
        Self::start_inner(collector, operation, provider, model, None)
    }

    /// Starts a call as a child of `parent` (async code, other threads).
    pub fn start_with_parent(
        collector: &MetricsCollector,
        operation: GenAiOperation,
        provider: &str,
        model: &str,
        parent: &Context,
    ) -> Self {
        Self::start_inner(collector, operation, provider, model, Some(parent))
    }

    fn start_inner(
        collector: &MetricsCollector,
        op: GenAiOperation,
        provider: &str,
        model: &str,
        parent: Option<&Context>,
    ) -> Self {
        let series = collector.gen_ai_model(provider, model);
        let cx = if super::tracer().is_some() {
            let mut b =
                TracingContext::builder(format!("{} {model}", op.as_str())).kind(SpanKind::Client);
            if let Some(p) = parent {
                b = b.parent(p.clone());
            }
            b.start_detached_with(|a| {
                a.reserve(12);
                a.push(KeyValue::new("gen_ai.operation.name", op.as_str()));
                a.push(KeyValue::new("gen_ai.provider.name", provider.to_string()));
                a.push(KeyValue::new("gen_ai.request.model", model.to_string()));
            })
        } else {
            None
        };
        Self {
            overflow_model: series.is_overflow().then(|| model.into()),
            series,
            op,
            cx,
            start: Instant::now(),
            chunks: ChunkTimes::start(),
            usage: TokenUsage::default(),
            response_model: None,
            finish_reasons: Vec::new(),
            error: None,
            finished: false,
            recorded: false,
        }
    }

    /// One streamed chunk arrived (the first one marks the time to first chunk).
    #[inline]
    pub fn chunk(&mut self) {
        self.chunks.chunk();
    }

    /// Chunks received so far.
    pub fn chunks(&self) -> u32 {
        self.chunks.chunks()
    }

    /// Sets the call's token usage (the last call wins; streamed APIs report
    /// it with the final chunk). See [`TokenUsage::from_openai`] and
    /// [`TokenUsage::from_anthropic`].
    pub fn set_usage(&mut self, usage: TokenUsage) {
        self.usage = usage;
    }

    /// The model that answered (`gen_ai.response.model`), when it differs in
    /// form from the requested one (e.g. a dated version).
    pub fn set_response_model(&mut self, model: &str) {
        self.response_model = Some(model.to_string());
    }

    /// Adds a finish reason (`stop`, `length`, `tool_calls`, ...; one per choice).
    pub fn finish_reason(&mut self, reason: &str) {
        // One per choice; a provider repeating them, or sending many, cannot
        // grow the span: distinct reasons only, at most MAX_FINISH_REASONS.
        if self.finish_reasons.len() < MAX_FINISH_REASONS
            && !self.finish_reasons.iter().any(|r| r == reason)
        {
            self.finish_reasons
                .push(crate::core::text::prefix(reason, 64).to_string());
        }
    }

    /// Marks the call failed with `error_type` (e.g. `timeout`,
    /// `rate_limited`, an HTTP status code); recorded when the guard ends.
    pub fn error(&mut self, error_type: impl Into<Cow<'static, str>>) {
        self.error = Some(error_type.into());
    }

    /// Adds an attribute (e.g. `gen_ai.request.temperature`) to the span.
    pub fn set_attribute(&self, kv: KeyValue) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if records(&span) {
                span.set_attribute(kv);
            }
        }
    }

    /// The call's context: the parent for the HTTP request carrying the call
    /// (or the current context when tracing is off).
    pub fn context(&self) -> Context {
        self.cx.clone().unwrap_or_else(Context::current)
    }

    /// Ends the call successfully (unless [`error`](Self::error) was set) and
    /// records it. Returns its cost in USD, `None` for an unpriced model.
    pub fn finish(mut self) -> Option<f64> {
        self.finished = true;
        self.record()
    }

    /// Ends the call as failed with `error_type` and records it.
    pub fn fail(mut self, error_type: impl Into<Cow<'static, str>>) -> Option<f64> {
        self.error = Some(error_type.into());
        self.finished = true;
        self.record()
    }

    fn record(&mut self) -> Option<f64> {
        if self.recorded {
            return None;
        }
        self.recorded = true;
        let duration = self.start.elapsed();
        self.chunks.settle();
        let error = outcome(&self.error, self.finished);
        let exemplar = exemplar_of(self.cx.as_ref());
        let streamed = self.chunks.chunks() > 0;
        let model = self.overflow_model.as_deref().unwrap_or_default();
        self.series.record(
            self.op,
            model,
            duration,
            error.as_deref(),
            &self.usage,
            streamed.then_some(&self.chunks),
            exemplar,
        );
        let cost = self.series.price_for(model).map(|p| self.usage.cost(&p));
        if let Some(cx) = self.cx.take() {
            let span = cx.span();
            if records(&span) {
                self.annotate(&span, cost, error.as_deref());
                end_span(&span);
            }
        }
        cost
    }

    #[cold]
    fn annotate(
        &mut self,
        span: &opentelemetry::trace::SpanRef<'_>,
        cost: Option<f64>,
        error: Option<&str>,
    ) {
        let u = &self.usage;
        let mut a = Vec::with_capacity(10);
        if let Some(m) = self.response_model.take() {
            a.push(KeyValue::new("gen_ai.response.model", m));
        }
        if !u.is_empty() {
            a.push(KeyValue::new(
                "gen_ai.usage.input_tokens",
                u.total_input() as i64,
            ));
            a.push(KeyValue::new(
                "gen_ai.usage.output_tokens",
                u.total_output() as i64,
            ));
            a.push(KeyValue::new(
                "gen_ai.usage.cache_read.input_tokens",
                u.cached_input as i64,
            ));
            a.push(KeyValue::new(
                "gen_ai.usage.reasoning.output_tokens",
                u.reasoning as i64,
            ));
        }
        if !self.finish_reasons.is_empty() {
            let reasons: Vec<StringValue> = std::mem::take(&mut self.finish_reasons)
                .into_iter()
                .map(StringValue::from)
                .collect();
            a.push(KeyValue::new(
                "gen_ai.response.finish_reasons",
                Value::Array(Array::String(reasons)),
            ));
        }
        if let Some(ttfc) = self.chunks.time_to_first_chunk() {
            a.push(KeyValue::new("gen_ai.request.stream", true));
            a.push(KeyValue::new(
                "gen_ai.response.time_to_first_chunk",
                ttfc.as_secs_f64(),
            ));
        }
        if let Some(c) = cost {
            a.push(KeyValue::new("gen_ai.usage.cost", c));
        }
        span.set_attributes(a);
        if let Some(e) = error {
            span.set_attribute(KeyValue::new("error.type", e.to_string()));
            record_error_on(span, e);
        }
    }
}

impl Drop for LlmSpan {
    fn drop(&mut self) {
        self.record();
    }
}

/// An agent invocation (`invoke_agent {name}`, attributes
/// `gen_ai.operation.name=invoke_agent`, `gen_ai.agent.name`) or a tool
/// execution (`execute_tool {name}`, `gen_ai.operation.name=execute_tool`,
/// `gen_ai.tool.name`, `gen_ai.tool.type=function`): an INTERNAL span and one
/// observation of `gen_ai_invoke_agent_duration_seconds` or
/// `gen_ai_execute_tool_duration_seconds`, recorded exactly once like
/// [`LlmSpan`] (unfinished: `error_type="cancelled"`, panic: `"panic"`).
///
/// ```
/// use megaobs::metrics::MetricsCollector;
/// use megaobs::trace::GenAiStepSpan;
///
/// let collector = MetricsCollector::new();
/// let agent = GenAiStepSpan::invoke_agent(&collector, "researcher");
/// let tool = GenAiStepSpan::execute_tool(&collector, "web_search");
/// tool.finish();
/// agent.finish();
/// assert!(collector.encode_text().contains(r#"gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="web_search"} 1"#));
/// ```
#[derive(Debug)]
#[must_use = "a GenAiStepSpan records when finished or dropped; bind it to a variable"]
pub struct GenAiStepSpan {
    series: Arc<StepSeries>,
    cx: Option<Context>,
    start: Instant,
    error: Option<Cow<'static, str>>,
    finished: bool,
    recorded: bool,
}

impl GenAiStepSpan {
    /// Starts an agent invocation `name` as a child of the current span.
    pub fn invoke_agent(collector: &MetricsCollector, name: &str) -> Self {
        Self::start(collector, StepKind::Agent, name, None)
    }

    /// Starts a tool execution `name` as a child of the current span.
    pub fn execute_tool(collector: &MetricsCollector, name: &str) -> Self {
        Self::start(collector, StepKind::Tool, name, None)
    }

    /// [`invoke_agent`](Self::invoke_agent) as a child of `parent`.
    pub fn invoke_agent_with_parent(
        collector: &MetricsCollector,
        name: &str,
        parent: &Context,
    ) -> Self {
        Self::start(collector, StepKind::Agent, name, Some(parent))
    }

    /// [`execute_tool`](Self::execute_tool) as a child of `parent`.
    pub fn execute_tool_with_parent(
        collector: &MetricsCollector,
        name: &str,
        parent: &Context,
    ) -> Self {
        Self::start(collector, StepKind::Tool, name, Some(parent))
    }

    fn start(
        collector: &MetricsCollector,
        kind: StepKind,
        name: &str,
        parent: Option<&Context>,
    ) -> Self {
        let series = collector.gen_ai_step(kind, name);
        let cx = if super::tracer().is_some() {
            let op = match kind {
                StepKind::Agent => "invoke_agent",
                StepKind::Tool => "execute_tool",
            };
            let mut b = TracingContext::builder(format!("{op} {name}"));
            if let Some(p) = parent {
                b = b.parent(p.clone());
            }
            b.start_detached_with(|a| {
                a.push(KeyValue::new("gen_ai.operation.name", op));
                match kind {
                    StepKind::Agent => {
                        a.push(KeyValue::new("gen_ai.agent.name", name.to_string()));
                    }
                    StepKind::Tool => {
                        a.push(KeyValue::new("gen_ai.tool.name", name.to_string()));
                        a.push(KeyValue::new("gen_ai.tool.type", "function"));
                    }
                }
            })
        } else {
            None
        };
        Self {
            series,
            cx,
            start: Instant::now(),
            error: None,
            finished: false,
            recorded: false,
        }
    }

    /// The step's context: the parent for the model calls and tools beneath it.
    pub fn context(&self) -> Context {
        self.cx.clone().unwrap_or_else(Context::current)
    }

    /// Makes the step's span current on this thread until the returned guard
    /// drops (synchronous code: spans started meanwhile become its children).
    pub fn enter(&self) -> Option<opentelemetry::ContextGuard> {
        self.cx.clone().map(Context::attach)
    }

    /// Marks the step failed with `error_type`; recorded when the guard ends.
    pub fn error(&mut self, error_type: impl Into<Cow<'static, str>>) {
        self.error = Some(error_type.into());
    }

    /// Ends the step (successful unless [`error`](Self::error) was set).
    pub fn finish(mut self) {
        self.finished = true;
        self.record();
    }

    /// Ends the step as failed with `error_type`.
    pub fn fail(mut self, error_type: impl Into<Cow<'static, str>>) {
        self.error = Some(error_type.into());
        self.finished = true;
        self.record();
    }

    fn record(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        let error = outcome(&self.error, self.finished);
        self.series.record(
            self.start.elapsed(),
            error.as_deref(),
            exemplar_of(self.cx.as_ref()),
        );
        if let Some(cx) = self.cx.take() {
            let span = cx.span();
            if records(&span) {
                if let Some(e) = error.as_deref() {
                    span.set_attribute(KeyValue::new("error.type", e.to_string()));
                    record_error_on(&span, e);
                }
                end_span(&span);
            }
        }
    }
}

impl Drop for GenAiStepSpan {
    fn drop(&mut self) {
        self.record();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider repeating finish reasons, or sending a new one per chunk,
    /// cannot grow the call's span.
    #[test]
    fn finish_reasons_are_distinct_and_bounded() {
        let collector = MetricsCollector::new();
        let mut call = LlmSpan::start(&collector, GenAiOperation::Chat, "openai", "m");
        for _ in 0..100 {
            call.finish_reason("stop");
        }
        assert_eq!(call.finish_reasons, ["stop"]);
        for i in 0..1_000 {
            call.finish_reason(&format!("reason-{i}-{}", "x".repeat(100)));
        }
        assert_eq!(call.finish_reasons.len(), MAX_FINISH_REASONS);
        assert!(call.finish_reasons.iter().all(|r| r.len() <= 64));
        call.finish();
    }
}
