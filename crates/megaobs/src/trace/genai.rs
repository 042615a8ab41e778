//! LLM call spans following the OpenTelemetry GenAI semantic conventions.
//!
//! ```
//! use megaobs::trace::LlmSpan;
//! use megaobs::metrics::Status;
//!
//! let mut call = LlmSpan::start("chat", "anthropic", "claude-3-opus");
//! // ... call the model ...
//! call.record_usage("claude-3-opus-20240229", 150, 300);
//! call.finish(megaobs::metrics(), Status::Success); // span ended, llm_* metrics recorded
//! ```

use std::time::Instant;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;

use super::context::TracingContext;
use crate::metrics::{MetricsCollector, Status};

/// A client span for one model call: `gen_ai.operation.name`, `gen_ai.provider.name`,
/// `gen_ai.request.model`, and once known `gen_ai.response.model`,
/// `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`. Its name is
/// `"{operation} {model}"` as the conventions say.
#[derive(Debug)]
pub struct LlmSpan {
    span: TracingContext,
    model: String,
    start: Instant,
    tokens: (u64, u64),
}

impl LlmSpan {
    /// Starts the span (current until finished or dropped).
    pub fn start(operation: &str, provider: &str, request_model: &str) -> Self {
        let span = TracingContext::builder(format!("{operation} {request_model}"))
            .kind(SpanKind::Client)
            .attribute("gen_ai.operation.name", operation.to_string())
            .attribute("gen_ai.provider.name", provider.to_string())
            .attribute("gen_ai.request.model", request_model.to_string())
            .start();
        Self {
            span,
            model: request_model.to_string(),
            start: Instant::now(),
            tokens: (0, 0),
        }
    }

    /// Records the responding model and token usage.
    pub fn record_usage(&mut self, response_model: &str, input_tokens: u64, output_tokens: u64) {
        self.tokens = (input_tokens, output_tokens);
        self.span
            .set_attribute("gen_ai.response.model", response_model.to_string());
        self.span
            .set_attribute("gen_ai.usage.input_tokens", input_tokens as i64);
        self.span
            .set_attribute("gen_ai.usage.output_tokens", output_tokens as i64);
    }

    /// Adds attributes such as `gen_ai.request.temperature`.
    pub fn set_attribute(&self, kv: KeyValue) {
        self.span.set_attribute(kv.key, kv.value);
    }

    /// The span guard, for events and errors.
    pub fn span(&self) -> &TracingContext {
        &self.span
    }

    /// Ends the span with `status` and records `llm_requests_total`,
    /// `llm_request_duration_seconds` and `llm_tokens_total` in `collector`.
    pub fn finish(self, collector: &MetricsCollector, status: Status) {
        if status != Status::Success {
            self.span.set_attribute("error.type", status.as_str());
            if let Some(cx) = self.span.context_if_any() {
                use opentelemetry::trace::TraceContextExt;
                super::context::record_error_on(&cx.span(), status.as_str());
            }
        }
        collector.record_llm_request(
            &self.model,
            status,
            self.start.elapsed(),
            self.tokens.0,
            self.tokens.1,
        );
    }
}
