//! The original design's structured logging helpers, as macros emitting ordinary `tracing`
//! events with stable field names (extra `key = value` fields may follow).

/// Logs a workflow event: fields `workflow_name`, `event_type`, then yours.
///
/// ```
/// megaobs::log_workflow_event!("research_workflow", "started", query = "What is AI?", user_id = "123");
/// ```
#[macro_export]
macro_rules! log_workflow_event {
    ($workflow:expr, $event_type:expr $(, $($field:tt)+)?) => {{
        let workflow_name: &str = &$workflow;
        let event_type: &str = &$event_type;
        $crate::logging::__private::tracing::info!(
            workflow_name = workflow_name,
            event_type = event_type,
            $($($field)+,)?
            "Workflow {} {}", workflow_name, event_type
        )
    }};
}

/// Logs an LLM request: fields `model`, `prompt_tokens`, `completion_tokens`,
/// `total_tokens`, `latency_ms`, then yours (e.g. `temperature = 0.7`).
///
/// ```
/// megaobs::log_llm_request!("claude-3-opus", 150, 300, 2500.0, temperature = 0.7);
/// ```
#[macro_export]
macro_rules! log_llm_request {
    ($model:expr, $prompt_tokens:expr, $completion_tokens:expr, $latency_ms:expr $(, $($field:tt)+)?) => {{
        let model: &str = &$model;
        let prompt_tokens: u64 = $prompt_tokens;
        let completion_tokens: u64 = $completion_tokens;
        let latency_ms: f64 = $latency_ms;
        $crate::logging::__private::tracing::info!(
            model = model,
            prompt_tokens = prompt_tokens,
            completion_tokens = completion_tokens,
            total_tokens = prompt_tokens + completion_tokens,
            latency_ms = latency_ms,
            $($($field)+,)?
            "LLM request to {} ({} tokens, {:.1} ms)", model, prompt_tokens + completion_tokens, latency_ms
        )
    }};
}

/// Logs a cache operation: fields `operation`, `hit`, `latency_ms`, `key`, then yours.
///
/// ```
/// megaobs::log_cache_operation!("get", true, 2.5, "user:123");
/// ```
#[macro_export]
macro_rules! log_cache_operation {
    ($operation:expr, $hit:expr, $latency_ms:expr, $key:expr $(, $($field:tt)+)?) => {{
        let operation: &str = &$operation;
        let hit: bool = $hit;
        let latency_ms: f64 = $latency_ms;
        let key: &str = &$key;
        $crate::logging::__private::tracing::info!(
            operation = operation,
            hit = hit,
            latency_ms = latency_ms,
            key = key,
            $($($field)+,)?
            "Cache {} {}", operation, if hit { "hit" } else { "miss" }
        )
    }};
}
