//! The API dashboard: traffic, latency percentiles, errors, rate limiting, and
//! the service's own outgoing calls.

use super::panel::*;

pub(crate) fn spec() -> DashboardSpec {
    DashboardSpec {
        uid: "megaobs-api",
        title: "MegaAgent Pro / API",
        panels: vec![
            stat("Request rate", "HTTP requests per second, all routes.")
                .unit("reqps")
                .query(
                    r#"sum(rate(mega_agent_http_requests_total{$sel}[$__rate_interval]))"#,
                    "requests",
                ),
            stat(
                "5xx ratio",
                "Share of requests answered with a server error (5xx). The availability SLO alert burns on this ratio.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(GREEN, &[(0.01, YELLOW), (0.05, RED)])
            .query(
                r#"sum(rate(mega_agent_http_requests_total{$sel, status=~"5.."}[$__rate_interval])) / sum(rate(mega_agent_http_requests_total{$sel}[$__rate_interval]))"#,
                "5xx",
            ),
            stat(
                "Latency p95",
                "95th percentile of request latency, all routes, from the duration histogram.",
            )
            .unit("s")
            .thresholds(GREEN, &[(0.5, YELLOW), (1.0, RED)])
            .query(
                r#"histogram_quantile(0.95, sum by (le) (rate(mega_agent_http_request_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p95",
            ),
            stat(
                "Open connections",
                "Client connections open right now.",
            )
            .unit("short")
            .query(r#"sum(mega_agent_open_connections{$sel})"#, "connections"),
            timeseries(
                "Request rate by method",
                "HTTP requests per second by method.",
            )
            .unit("reqps")
            .min(0.0)
            .query(
                r#"sum by (method) (rate(mega_agent_http_requests_total{$sel}[$__rate_interval]))"#,
                "{{method}}",
            ),
            timeseries(
                "Request latency p95 / p99",
                "95th and 99th percentile of request latency, from the duration histogram (rate of the buckets, summed by le). Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .thresholds(GREEN, &[(1.0, RED)])
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le) (rate(mega_agent_http_request_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p95",
            )
            .query(
                r#"histogram_quantile(0.99, sum by (le) (rate(mega_agent_http_request_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p99",
            ),
            timeseries(
                "Errors by status code",
                "Requests answered with a 4xx or 5xx status, per second, by status code. 429 is the rate limiter; 5xx burns the error budget.",
            )
            .unit("reqps")
            .min(0.0)
            .query(
                r#"sum by (status) (rate(mega_agent_http_requests_total{$sel, status=~"[45].."}[$__rate_interval]))"#,
                "{{status}}",
            ),
            timeseries(
                "Latency p95 by route",
                "95th percentile of request latency per route template and method.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le, method, path) (rate(mega_agent_http_request_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{method}} {{path}}",
            ),
            timeseries(
                "Rate-limit rejections",
                "Requests refused with 429 by the rate limiter, per second, by limit policy.",
            )
            .unit("reqps")
            .min(0.0)
            .query(
                r#"sum by (key) (rate(mega_agent_rate_limit_rejections_total{$sel}[$__rate_interval]))"#,
                "{{key}}",
            ),
            timeseries(
                "Requests by route",
                "Requests per second per route template and status class.",
            )
            .unit("reqps")
            .min(0.0)
            .query(
                r#"sum by (path, status) (rate(mega_agent_http_requests_total{$sel}[$__rate_interval]))"#,
                "{{path}} {{status}}",
            ),
            timeseries(
                "Outgoing request rate by server",
                "Requests this service sends to other services (LLM providers, tools, vector stores, other APIs) per second, by server host, from the client middleware.",
            )
            .unit("reqps")
            .min(0.0)
            .query(
                r#"sum by (server_address) (rate(http_client_request_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "{{server_address}}",
            ),
            timeseries(
                "Outgoing latency p95 by server",
                "95th percentile of the time outgoing requests wait for the response headers, by server host (each attempt on its own: a retried call is several requests). Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le, server_address) (rate(http_client_request_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{server_address}}",
            ),
            timeseries(
                "Outgoing error ratio by server",
                "Share of outgoing requests that got a 5xx or 429, or no response at all (status error: refused, timed out, cancelled), by server host. Retries hide some of these from callers; a rising ratio still means a struggling dependency.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(GREEN, &[(0.05, YELLOW), (0.2, RED)])
            .query(
                r#"sum by (server_address) (rate(http_client_request_duration_seconds_count{$sel, status=~"5..|429|error"}[$__rate_interval])) / sum by (server_address) (rate(http_client_request_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "{{server_address}}",
            ),
        ],
    }
}
