//! The LLM dashboard: what the model calls cost and how fast they answer
//! (OpenTelemetry GenAI metrics, cost from the `LLM_PRICES` price table).

use super::panel::*;

pub(crate) fn spec() -> DashboardSpec {
    DashboardSpec {
        uid: "megaobs-llm",
        title: "MegaAgent Pro / LLM",
        panels: vec![
            timeseries(
                "Spend per hour by model",
                "USD per hour at the current rate, by model: token counts times the LLM_PRICES price table. Models missing from the table have no cost here (see gen_ai_client_unpriced_operations_total).",
            )
            .unit("currencyUSD")
            .min(0.0)
            .query(
                r#"sum by (gen_ai_request_model) (rate(gen_ai_client_cost_usd_total{$sel}[$__rate_interval])) * 3600"#,
                "{{gen_ai_request_model}}",
            ),
            timeseries(
                "Cost per request by model",
                "Mean USD per model call (failed calls included), by model.",
            )
            .unit("currencyUSD")
            .min(0.0)
            .query(
                r#"sum by (gen_ai_request_model) (rate(gen_ai_client_cost_usd_total{$sel}[$__rate_interval])) / sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "{{gen_ai_request_model}}",
            ),
            timeseries(
                "Tokens per second by type",
                "Tokens per second in the four disjoint types: input (uncached), cached_input (read from the provider's prompt cache), output, reasoning.",
            )
            .unit("short")
            .min(0.0)
            .query(
                r#"sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{$sel}[$__rate_interval]))"#,
                "{{gen_ai_token_type}}",
            ),
            timeseries(
                "Cache-token share by model",
                "Share of input tokens served from the provider's prompt cache (billed at the cached-input price). A drop means prompts stopped sharing their prefix.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .query(
                r#"sum by (gen_ai_request_model) (rate(gen_ai_client_token_usage_sum{$sel, gen_ai_token_type="cached_input"}[$__rate_interval])) / sum by (gen_ai_request_model) (rate(gen_ai_client_token_usage_sum{$sel, gen_ai_token_type=~"input|cached_input"}[$__rate_interval]))"#,
                "{{gen_ai_request_model}}",
            ),
            timeseries(
                "Time to first chunk by model",
                "Median and 95th percentile of the time from sending a streamed request to its first chunk, by model. Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.5, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p50 {{gen_ai_request_model}}",
            )
            .query(
                r#"histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p95 {{gen_ai_request_model}}",
            ),
            timeseries(
                "Time per output chunk by model",
                "Mean and 95th percentile of the time between consecutive chunks of streamed answers, by model: how fast the answer is written once it started.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"sum by (gen_ai_request_model) (rate(gen_ai_client_operation_time_per_output_chunk_seconds_sum{$sel}[$__rate_interval])) / sum by (gen_ai_request_model) (rate(gen_ai_client_operation_time_per_output_chunk_seconds_count{$sel}[$__rate_interval]))"#,
                "mean {{gen_ai_request_model}}",
            )
            .query(
                r#"histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_time_per_output_chunk_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p95 {{gen_ai_request_model}}",
            ),
            timeseries(
                "LLM error ratio by error type",
                "Failed model calls as a share of all calls, by error_type (rate_limited, timeout, cancelled, panic, ...).",
            )
            .unit("percentunit")
            .min(0.0)
            .thresholds(GREEN, &[(0.05, YELLOW), (0.1, RED)])
            .query(
                r#"sum by (error_type) (rate(gen_ai_client_operation_duration_seconds_count{$sel, error_type!=""}[$__rate_interval])) / ignoring (error_type) group_left sum(rate(gen_ai_client_operation_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "{{error_type}}",
            ),
            timeseries(
                "LLM call duration p95 by model",
                "95th percentile of the whole model call (first byte sent to last chunk received), by model. Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{gen_ai_request_model}}",
            ),
            timeseries(
                "Agent and tool durations p95",
                "95th percentile of agent invocations (invoke_agent) and tool executions (execute_tool), by name. Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .width(24)
            .query(
                r#"histogram_quantile(0.95, sum by (le, gen_ai_agent_name) (rate(gen_ai_invoke_agent_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "agent {{gen_ai_agent_name}}",
            )
            .query(
                r#"histogram_quantile(0.95, sum by (le, gen_ai_tool_name) (rate(gen_ai_execute_tool_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "tool {{gen_ai_tool_name}}",
            ),
        ],
    }
}
