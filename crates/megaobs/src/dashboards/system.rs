//! The system dashboard: database, process resources, the Tokio runtime,
//! vector store, LLM calls, telemetry health.

use super::panel::*;

pub(crate) fn spec() -> DashboardSpec {
    DashboardSpec {
        uid: "megaobs-system",
        title: "MegaAgent Pro / System",
        panels: vec![
            timeseries(
                "Database connections",
                "Connections of the database pool by state (active, idle). Active close to the pool size means requests queue for a connection.",
            )
            .unit("short")
            .min(0.0)
            .query(r#"sum by (state) (database_connections{$sel})"#, "{{state}}"),
            timeseries(
                "Database query latency p95",
                "95th percentile of query latency by operation. Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le, operation) (rate(database_query_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{operation}}",
            ),
            timeseries(
                "Database query errors",
                "Failed queries as a share of all queries, by operation.",
            )
            .unit("percentunit")
            .min(0.0)
            .thresholds(GREEN, &[(0.01, YELLOW), (0.05, RED)])
            .query(
                r#"sum by (operation) (rate(database_query_errors_total{$sel}[$__rate_interval])) / sum by (operation) (rate(database_query_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "{{operation}}",
            ),
            timeseries(
                "Memory",
                "Resident and virtual memory of each service process.",
            )
            .unit("bytes")
            .min(0.0)
            .query(r#"process_resident_memory_bytes{$sel}"#, "resident {{instance}}")
            .query(r#"process_virtual_memory_bytes{$sel}"#, "virtual {{instance}}"),
            timeseries(
                "CPU",
                "CPU time used per second by each process: 1 means one core fully busy.",
            )
            .unit("short")
            .min(0.0)
            .query(
                r#"rate(process_cpu_seconds_total{$sel}[$__rate_interval])"#,
                "{{instance}}",
            ),
            timeseries(
                "Open file descriptors",
                "Open files and sockets of each process, against its limit. Running out refuses new connections.",
            )
            .unit("short")
            .min(0.0)
            .query(r#"process_open_fds{$sel}"#, "open {{instance}}")
            .query(r#"process_max_fds{$sel}"#, "limit {{instance}}"),
            timeseries(
                "Vector store operations",
                "Vector store operations per second by operation and outcome.",
            )
            .unit("ops")
            .min(0.0)
            .query(
                r#"sum by (operation, status) (rate(vector_store_operations_total{$sel}[$__rate_interval]))"#,
                "{{operation}} {{status}}",
            ),
            timeseries(
                "Vector store latency p95",
                "95th percentile of vector store operation latency. Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le, operation) (rate(vector_store_operation_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{operation}}",
            ),
            timeseries(
                "LLM request rate by model",
                "Model calls per second by model, and failed ones by error_type (the LLM dashboard has cost and streaming detail).",
            )
            .unit("reqps")
            .min(0.0)
            .query(
                r#"sum by (gen_ai_request_model, error_type) (rate(gen_ai_client_operation_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "{{gen_ai_request_model}} {{error_type}}",
            ),
            timeseries(
                "Runtime workers busy",
                "Share of the Tokio workers' time spent running tasks, per process. Near 1 the runtime is saturated: requests wait for a worker before any of their code runs.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(GREEN, &[(0.75, YELLOW), (0.9, RED)])
            .query(
                r#"sum by (instance) (rate(tokio_worker_busy_seconds_total{$sel}[$__rate_interval])) / sum by (instance) (tokio_workers{$sel})"#,
                "{{instance}}",
            ),
            timeseries(
                "Runtime queue and tasks",
                "Tasks waiting in the Tokio runtime's global queue (rising: the workers cannot keep up, or a task blocks a worker) and tasks alive, per process.",
            )
            .unit("short")
            .min(0.0)
            .query(r#"sum by (instance) (tokio_global_queue_depth{$sel})"#, "queued {{instance}}")
            .query(r#"sum by (instance) (tokio_alive_tasks{$sel})"#, "alive {{instance}}"),
            timeseries(
                "Vector store size",
                "Vectors stored per collection.",
            )
            .unit("short")
            .min(0.0)
            .query(r#"sum by (collection) (vector_store_vectors{$sel})"#, "{{collection}}"),
            timeseries(
                "Telemetry health",
                "Spans exported and dropped, log lines dropped, label values folded by the cardinality guard, per second. Anything but exported above zero means telemetry is being lost.",
            )
            .unit("ops")
            .min(0.0)
            .width(24)
            .query(
                r#"sum(rate(otel_spans_exported_total{$sel}[$__rate_interval]))"#,
                "spans exported",
            )
            .query(
                r#"sum by (reason) (rate(otel_spans_dropped_total{$sel}[$__rate_interval]))"#,
                "spans dropped: {{reason}}",
            )
            .query(
                r#"sum(rate(log_lines_dropped_total{$sel}[$__rate_interval]))"#,
                "log lines dropped",
            )
            .query(
                r#"sum by (output) (rate(log_output_errors_total{$sel}[$__rate_interval]))"#,
                "log output errors: {{output}}",
            ),
        ],
    }
}
