//! The catalogue of every metric megaobs exports: name, type, labels, help.
//!
//! It is the single source for the exposition's `# HELP`/`# TYPE` lines, for the
//! metric table of docs/metrics.md (`megaobs metrics`) and for the tests that check every
//! family appears.

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic count; the exported name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Bucketed observations (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl MetricKind {
    /// `counter`, `gauge` or `histogram`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// Description of one metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDesc {
    /// The name queried in PromQL (counters include `_total`).
    pub name: &'static str,
    /// Its type.
    pub kind: MetricKind,
    /// Its label names, in exposition order.
    pub labels: &'static [&'static str],
    /// What it measures.
    pub help: &'static str,
    /// The pillar/domain it belongs to (grouping in the docs).
    pub domain: &'static str,
}

impl MetricDesc {
    /// The OpenMetrics family name (counters without `_total`).
    pub fn family_name(&self) -> &'static str {
        match self.kind {
            MetricKind::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            _ => self.name,
        }
    }
}

macro_rules! metrics {
    ($($id:ident: $kind:ident $name:literal [$($label:literal),*] $domain:literal $help:literal;)+) => {
        $(
            #[doc = concat!("`", $name, "`: ", $help)]
            pub const $id: MetricDesc = MetricDesc {
                name: $name,
                kind: MetricKind::$kind,
                labels: &[$($label),*],
                help: $help,
                domain: $domain,
            };
        )+

        /// Every metric family, in exposition order.
        pub const ALL: &[MetricDesc] = &[$($id),+];
    };
}

metrics! {
    WORKFLOW_EXECUTIONS: Counter "workflow_executions_total" ["workflow_name", "status"] "workflow"
        "Workflow executions by outcome (success, error, timeout).";
    WORKFLOW_DURATION: Histogram "workflow_duration_seconds" ["workflow_name"] "workflow"
        "Wall-clock duration of workflow executions.";
    WORKFLOW_NODES: Counter "workflow_nodes_executed_total" ["workflow_name", "node_name", "status"] "workflow"
        "Workflow node executions by outcome.";
    RECOVERY_ATTEMPTS: Counter "workflow_error_recovery_attempts_total" ["strategy"] "workflow"
        "Error recovery attempts by strategy.";
    RECOVERY_SUCCESS: Counter "workflow_error_recovery_success_total" ["strategy"] "workflow"
        "Successful error recoveries by strategy.";
    REVIEWS_REQUESTED: Counter "workflow_human_reviews_requested_total" ["workflow_name", "reason"] "workflow"
        "Human reviews requested, by reason.";
    REVIEWS_PENDING: Gauge "workflow_human_reviews_pending" [] "workflow"
        "Human reviews requested and not yet completed.";
    REVIEWS_COMPLETED: Counter "workflow_human_reviews_completed_total" ["workflow_name", "decision"] "workflow"
        "Human reviews completed, by decision (approved, rejected, modified).";
    REVIEW_DURATION: Histogram "workflow_human_review_duration_seconds" ["workflow_name"] "workflow"
        "Time from review request to decision.";
    ROUTING_DECISIONS: Counter "routing_decisions_total" ["route"] "routing"
        "Routing decisions by chosen route.";
    ROUTING_CONFIDENCE: Histogram "routing_confidence" ["route"] "routing"
        "Confidence score (0 to 1) of routing decisions.";
    CACHE_HITS: Counter "cache_hits_total" [] "cache"
        "Cache lookups that found an entry (exact or semantic).";
    CACHE_SEMANTIC_HITS: Counter "cache_semantic_hits_total" [] "cache"
        "Cache hits found by semantic similarity (a subset of cache_hits_total).";
    CACHE_MISSES: Counter "cache_misses_total" [] "cache"
        "Cache lookups that found nothing.";
    CACHE_SETS: Counter "cache_sets_total" [] "cache"
        "Cache writes.";
    CACHE_ERRORS: Counter "cache_errors_total" ["operation"] "cache"
        "Cache operations that failed, by operation (get, set, delete).";
    CACHE_HIT_RATE: Gauge "cache_hit_rate" [] "cache"
        "Hits divided by lookups since start (0 when there were none).";
    CACHE_AVG_HIT_LATENCY_MS: Gauge "cache_avg_hit_latency_ms" [] "cache"
        "Mean latency of cache hits since start, in milliseconds (kept for compatibility; prefer cache_operation_duration_seconds).";
    CACHE_DURATION: Histogram "cache_operation_duration_seconds" ["result"] "cache"
        "Latency of cache operations by result (hit, miss, set).";
    HTTP_REQUESTS: Counter "mega_agent_http_requests_total" ["method", "path", "status"] "api"
        "HTTP requests by method, route template and status code.";
    HTTP_DURATION: Histogram "mega_agent_http_request_duration_seconds" ["method", "path"] "api"
        "HTTP request latency by method and route template.";
    RATE_LIMIT_REJECTIONS: Counter "mega_agent_rate_limit_rejections_total" ["key"] "api"
        "Requests rejected by the rate limiter, by limit policy.";
    RATE_LIMIT_EVICTIONS: Counter "mega_agent_rate_limit_evictions_total" ["key"] "api"
        "Clients the rate limiter forgot before their bucket refilled, to stay within its client cap (they start again with a full burst), by limit policy.";
    OPEN_CONNECTIONS: Gauge "mega_agent_open_connections" [] "system"
        "Client connections currently open to the service.";
    HTTP_CLIENT_DURATION: Histogram "http_client_request_duration_seconds" ["method", "server_address", "status"] "api"
        "Outgoing HTTP requests (this service calling others) by method, server host and status code (error: no response, e.g. refused or timed out); the duration runs to the response headers.";
    DB_CONNECTIONS: Gauge "database_connections" ["state"] "database"
        "Database pool connections by state (active, idle).";
    DB_QUERY_DURATION: Histogram "database_query_duration_seconds" ["operation"] "database"
        "Database query latency by operation.";
    DB_QUERY_ERRORS: Counter "database_query_errors_total" ["operation"] "database"
        "Database queries that failed, by operation.";
    VECTOR_OPERATIONS: Counter "vector_store_operations_total" ["operation", "status"] "vector_store"
        "Vector store operations by operation and outcome.";
    VECTOR_DURATION: Histogram "vector_store_operation_duration_seconds" ["operation"] "vector_store"
        "Vector store operation latency.";
    VECTOR_DIMENSIONS: Gauge "vector_store_dimensions" ["collection"] "vector_store"
        "Embedding dimensions of each vector collection.";
    VECTOR_VECTORS: Gauge "vector_store_vectors" ["collection"] "vector_store"
        "Vectors stored in each collection.";
    GENAI_DURATION: Histogram "gen_ai_client_operation_duration_seconds" ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"] "genai"
        "Duration of GenAI model calls (OpenTelemetry gen_ai.client.operation.duration); error_type only on failed calls.";
    GENAI_TOKENS: Histogram "gen_ai_client_token_usage" ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"] "genai"
        "Tokens per GenAI model call by disjoint type: input (uncached), cached_input, output, reasoning (OpenTelemetry gen_ai.client.token.usage).";
    GENAI_TTFC: Histogram "gen_ai_client_operation_time_to_first_chunk_seconds" ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"] "genai"
        "Time from sending a streamed GenAI request to receiving its first chunk.";
    GENAI_TPOC: Histogram "gen_ai_client_operation_time_per_output_chunk_seconds" ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"] "genai"
        "Time between consecutive chunks of a streamed GenAI response, one observation per chunk after the first.";
    GENAI_COST: Counter "gen_ai_client_cost_usd_total" ["gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"] "genai"
        "USD spent on GenAI model calls by token type: tokens times the LLM_PRICES price per million tokens, divided by 1e6.";
    GENAI_UNPRICED: Counter "gen_ai_client_unpriced_operations_total" ["gen_ai_provider_name", "gen_ai_request_model"] "genai"
        "GenAI model calls with token usage whose model has no price in LLM_PRICES (they get no cost; each model is warned about once).";
    GENAI_AGENT_DURATION: Histogram "gen_ai_invoke_agent_duration_seconds" ["gen_ai_agent_name", "error_type"] "genai"
        "Duration of agent invocations (invoke_agent spans); error_type only on failures.";
    GENAI_TOOL_DURATION: Histogram "gen_ai_execute_tool_duration_seconds" ["gen_ai_tool_name", "error_type"] "genai"
        "Duration of tool executions (execute_tool spans); error_type only on failures.";
    PROCESS_CPU: Counter "process_cpu_seconds_total" [] "system"
        "User and system CPU time of this process.";
    PROCESS_RSS: Gauge "process_resident_memory_bytes" [] "system"
        "Resident memory of this process.";
    PROCESS_VSZ: Gauge "process_virtual_memory_bytes" [] "system"
        "Virtual memory of this process.";
    PROCESS_FDS: Gauge "process_open_fds" [] "system"
        "Open file descriptors (files and sockets) of this process.";
    PROCESS_MAX_FDS: Gauge "process_max_fds" [] "system"
        "Limit on open file descriptors.";
    PROCESS_THREADS: Gauge "process_threads" [] "system"
        "OS threads of this process.";
    PROCESS_START: Gauge "process_start_time_seconds" [] "system"
        "Start time of this process, seconds since the Unix epoch.";
    TOKIO_WORKERS: Gauge "tokio_workers" [] "runtime"
        "Worker threads of the Tokio runtime the service runs on.";
    TOKIO_BUSY: Counter "tokio_worker_busy_seconds_total" [] "runtime"
        "Time the runtime's workers spent running tasks, summed over workers (busy ratio: its rate divided by tokio_workers).";
    TOKIO_PARKS: Counter "tokio_worker_parks_total" [] "runtime"
        "Times the runtime's workers parked for lack of work, summed over workers.";
    TOKIO_GLOBAL_QUEUE: Gauge "tokio_global_queue_depth" [] "runtime"
        "Tasks waiting in the runtime's global (injection) queue: a rising depth means the workers cannot keep up.";
    TOKIO_ALIVE_TASKS: Gauge "tokio_alive_tasks" [] "runtime"
        "Tasks alive in the runtime (spawned and not finished).";
    TOKIO_BLOCKING_THREADS: Gauge "tokio_blocking_threads" [] "runtime"
        "Threads of the runtime's blocking pool (spawn_blocking). Reported only when built with RUSTFLAGS=\"--cfg tokio_unstable\".";
    TOKIO_BUDGET_FORCED_YIELDS: Counter "tokio_budget_forced_yields_total" [] "runtime"
        "Tasks forced to yield after using up their cooperative budget. Reported only when built with RUSTFLAGS=\"--cfg tokio_unstable\".";
    LOG_LINES_DROPPED: Counter "log_lines_dropped_total" [] "megaobs"
        "Log lines dropped because the log writer's queue was full (the app is never blocked).";
    LOG_OUTPUT_ERRORS: Counter "log_output_errors_total" ["output"] "megaobs"
        "Failed writes to a log output (console, file, syslog, writer); the line is lost for that output only.";
    SPANS_EXPORTED: Counter "otel_spans_exported_total" [] "megaobs"
        "Spans handed to the trace exporter successfully.";
    SPANS_DROPPED: Counter "otel_spans_dropped_total" ["reason"] "megaobs"
        "Spans lost: the export queue was full (queue_full), the export failed (export_failed), or stopping reached its deadline first (shutdown).";
    EXPORT_ERRORS: Counter "otel_export_errors_total" [] "megaobs"
        "Failed trace export requests (backend down, timeout, rejected).";
    LOG_RECORDS_EXPORTED: Counter "otel_log_records_exported_total" [] "megaobs"
        "Log records handed to the OTLP log exporter successfully (LOG_EXPORTER=otlp).";
    LOG_RECORDS_DROPPED: Counter "otel_log_records_dropped_total" ["reason"] "megaobs"
        "Log records not exported over OTLP: the export queue was full (queue_full), the export failed (export_failed), or stopping reached its deadline first (shutdown). The lines' other outputs are unaffected.";
    LABEL_OVERFLOW: Counter "megaobs_label_overflow_total" ["metric"] "megaobs"
        "Label values folded into __overflow__ by the cardinality guard, by metric.";
}

/// Families only reported when the application is built with
/// `RUSTFLAGS="--cfg tokio_unstable"` (tokio's unstable metrics API).
pub const TOKIO_UNSTABLE_ONLY: &[&str] =
    &[TOKIO_BLOCKING_THREADS.name, TOKIO_BUDGET_FORCED_YIELDS.name];

/// Renders the catalogue as the Markdown table of docs/metrics.md.
pub fn markdown_table() -> String {
    let mut s = String::from("| metric | type | labels | meaning |\n| --- | --- | --- | --- |\n");
    for d in ALL {
        let labels = if d.labels.is_empty() {
            "—".to_string()
        } else {
            d.labels.join(", ")
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            d.name,
            d.kind.as_str(),
            labels,
            d.help
        ));
    }
    s
}
