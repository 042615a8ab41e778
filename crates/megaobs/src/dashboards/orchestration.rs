//! The orchestration dashboard: workflows, nodes, error recovery, human review, routing.

use super::panel::*;

pub(crate) fn spec() -> DashboardSpec {
    DashboardSpec {
        uid: "megaobs-orchestration",
        title: "MegaAgent Pro / Orchestration",
        panels: vec![
            stat(
                "Workflow success rate",
                "Share of workflow executions that ended in success.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(RED, &[(0.9, YELLOW), (0.98, GREEN)])
            .query(
                r#"sum(rate(workflow_executions_total{$sel, status="success"}[$__rate_interval])) / sum(rate(workflow_executions_total{$sel}[$__rate_interval]))"#,
                "success",
            ),
            gauge(
                "Human reviews pending",
                "Reviews requested and not yet decided. A backlog that keeps growing means reviewers cannot keep up.",
            )
            .unit("short")
            .range(0.0, 100.0)
            .thresholds(GREEN, &[(20.0, YELLOW), (50.0, RED)])
            .query(r#"sum(workflow_human_reviews_pending{$sel})"#, "pending"),
            gauge(
                "Routing confidence",
                "Mean confidence of routing decisions over the rate interval (0 to 1). Low confidence sends more work to fallbacks and human review.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(RED, &[(0.5, YELLOW), (0.7, GREEN)])
            .query(
                r#"sum(rate(routing_confidence_sum{$sel}[$__rate_interval])) / sum(rate(routing_confidence_count{$sel}[$__rate_interval]))"#,
                "confidence",
            ),
            stat(
                "Error recovery success rate",
                "Share of error recovery attempts that succeeded, all strategies.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(RED, &[(0.5, YELLOW), (0.8, GREEN)])
            .query(
                r#"sum(rate(workflow_error_recovery_success_total{$sel}[$__rate_interval])) / sum(rate(workflow_error_recovery_attempts_total{$sel}[$__rate_interval]))"#,
                "success",
            ),
            timeseries(
                "Workflow executions by status",
                "Workflow executions per second by workflow and outcome (success, error, timeout).",
            )
            .unit("ops")
            .min(0.0)
            .query(
                r#"sum by (workflow_name, status) (rate(workflow_executions_total{$sel}[$__rate_interval]))"#,
                "{{workflow_name}} {{status}}",
            ),
            timeseries(
                "Workflow duration p95",
                "95th percentile of workflow duration by workflow. Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"histogram_quantile(0.95, sum by (le, workflow_name) (rate(workflow_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{workflow_name}}",
            ),
            timeseries(
                "Node executions",
                "Workflow node executions per second by node and outcome.",
            )
            .unit("ops")
            .min(0.0)
            .query(
                r#"sum by (node_name, status) (rate(workflow_nodes_executed_total{$sel}[$__rate_interval]))"#,
                "{{node_name}} {{status}}",
            ),
            timeseries(
                "Error recovery attempts by strategy",
                "Recovery attempts per second by strategy (retry, fallback, ...).",
            )
            .unit("ops")
            .min(0.0)
            .query(
                r#"sum by (strategy) (rate(workflow_error_recovery_attempts_total{$sel}[$__rate_interval]))"#,
                "{{strategy}}",
            ),
            timeseries(
                "Error recovery success rate by strategy",
                "Share of recovery attempts that succeeded, by strategy. A strategy that rarely succeeds only adds latency.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(RED, &[(0.5, YELLOW), (0.8, GREEN)])
            .query(
                r#"sum by (strategy) (rate(workflow_error_recovery_success_total{$sel}[$__rate_interval])) / sum by (strategy) (rate(workflow_error_recovery_attempts_total{$sel}[$__rate_interval]))"#,
                "{{strategy}}",
            ),
            timeseries(
                "Human reviews",
                "Reviews requested per second by reason, and completed per second by decision.",
            )
            .unit("ops")
            .min(0.0)
            .query(
                r#"sum by (reason) (rate(workflow_human_reviews_requested_total{$sel}[$__rate_interval]))"#,
                "requested: {{reason}}",
            )
            .query(
                r#"sum by (decision) (rate(workflow_human_reviews_completed_total{$sel}[$__rate_interval]))"#,
                "completed: {{decision}}",
            ),
            timeseries(
                "Human review time p95",
                "95th percentile of the time from a review request to its decision.",
            )
            .unit("s")
            .min(0.0)
            .query(
                r#"histogram_quantile(0.95, sum by (le, workflow_name) (rate(workflow_human_review_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "{{workflow_name}}",
            ),
            timeseries(
                "Routing decisions by route",
                "Routing decisions per second by chosen route.",
            )
            .unit("ops")
            .min(0.0)
            .width(24)
            .query(
                r#"sum by (route) (rate(routing_decisions_total{$sel}[$__rate_interval]))"#,
                "{{route}}",
            ),
        ],
    }
}
