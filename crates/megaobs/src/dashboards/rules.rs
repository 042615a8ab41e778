//! Prometheus recording and alerting rules for megaobs services.
//!
//! Recording rules precompute the ratios and quantiles the alerts need (named
//! `level:metric:operation` as Prometheus recommends); alerts carry a
//! `severity` label (`critical` pages, `warning` opens a ticket, `info` is for
//! dashboards) and `summary`, `description` and `runbook_url` annotations.
//!
//! The API availability alerts follow the multi-window, multi-burn-rate
//! pattern of the Google SRE workbook: page when the 1 h and 5 m error ratios
//! both burn the budget 14.4× too fast (2% of a 30-day budget in an hour),
//! open a ticket when the 6 h and 30 m ratios both burn it 6× too fast.
//!
//! ```
//! use megaobs::dashboards::rules::{rules, RulesOptions};
//!
//! let file = rules(&RulesOptions::default());
//! let yaml = file.to_yaml();
//! assert!(yaml.contains("alert: MegaAgentApiErrorBudgetBurnFast"));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A Prometheus rule file (`rule_files:` in prometheus.yml).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleFile {
    /// Rule groups, evaluated independently.
    pub groups: Vec<RuleGroup>,
}

impl RuleFile {
    /// The file as YAML, the format Prometheus and `promtool` read.
    pub fn to_yaml(&self) -> String {
        // Serializing plain strings, maps and vectors cannot fail.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// Every rule of every group.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.groups.iter().flat_map(|g| g.rules.iter())
    }
}

/// A group of rules evaluated together, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// Group name (unique in the file).
    pub name: String,
    /// Evaluation interval; the global one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// A recording or an alerting rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    /// Stores the result of an expression as a new series.
    Recording(RecordingRule),
    /// Fires when an expression returns series for long enough.
    Alerting(AlertingRule),
}

/// A recording rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordingRule {
    /// Name of the recorded series (`level:metric:operation`).
    pub record: String,
    /// PromQL expression.
    pub expr: String,
}

/// An alerting rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertingRule {
    /// Alert name.
    pub alert: String,
    /// PromQL expression; every series it returns is a pending/firing alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(rename = "for")]
    pub for_duration: String,
    /// Labels added to the alert (`severity`).
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook_url`.
    pub annotations: BTreeMap<String, String>,
}

/// Thresholds and links of the generated rules.
#[derive(Clone, Debug, PartialEq)]
pub struct RulesOptions {
    /// The Prometheus job that scrapes the service (for the target-down alert).
    pub job: String,
    /// API availability objective (share of non-5xx responses), e.g. `0.995`.
    pub api_availability_slo: f64,
    /// API p95 latency above which an alert fires, in seconds.
    pub api_latency_p95_seconds: f64,
    /// Workflow error ratio (error + timeout) above which an alert fires.
    pub workflow_error_ratio: f64,
    /// LLM error ratio (failed model calls per model) above which an alert fires.
    pub llm_error_ratio: f64,
    /// LLM spend in USD per hour (over 15 minutes, from `gen_ai_client_cost_usd_total`)
    /// above which an alert fires.
    pub llm_budget_usd_per_hour: f64,
    /// Time-to-first-chunk p95 of streamed model calls, in seconds, above which
    /// an alert fires.
    pub llm_ttfc_p95_seconds: f64,
    /// Pending human reviews above which a growing backlog alerts.
    pub review_backlog: u32,
    /// Base of the `runbook_url` annotations; `#alert-name` is appended.
    pub runbook_base_url: String,
}

impl Default for RulesOptions {
    fn default() -> Self {
        Self {
            job: "megaagent-pro".into(),
            api_availability_slo: 0.995,
            api_latency_p95_seconds: 2.0,
            workflow_error_ratio: 0.05,
            llm_error_ratio: 0.1,
            llm_budget_usd_per_hour: 10.0,
            llm_ttfc_p95_seconds: 2.0,
            review_backlog: 10,
            runbook_base_url: format!(
                "{}/blob/main/docs/runbooks.md",
                env!("CARGO_PKG_REPOSITORY")
            ),
        }
    }
}

/// A threshold as PromQL text, without float noise (`0.072`, not `0.07200000000000001`).
fn num(x: f64) -> String {
    let rounded = (x * 1e9).round() / 1e9;
    format!("{rounded}")
}

fn record(record: &str, expr: String) -> Rule {
    Rule::Recording(RecordingRule {
        record: record.into(),
        expr,
    })
}

/// `numerator / denominator`, where a missing numerator (no error series yet)
/// counts as zero instead of hiding the ratio.
fn ratio(errors: &str, all: &str, by: &str, window: &str) -> String {
    format!(
        "(sum by ({by}) (rate({errors}[{window}])) or sum by ({by}) (rate({all}[{window}])) * 0) / sum by ({by}) (rate({all}[{window}]))"
    )
}

struct Alert<'a> {
    name: &'a str,
    expr: String,
    for_: &'a str,
    severity: &'a str,
    summary: &'a str,
    description: String,
}

fn alert(a: Alert<'_>, opts: &RulesOptions) -> Rule {
    let anchor = a.name.to_ascii_lowercase();
    Rule::Alerting(AlertingRule {
        alert: a.name.into(),
        expr: a.expr,
        for_duration: a.for_.into(),
        labels: BTreeMap::from([("severity".to_string(), a.severity.to_string())]),
        annotations: BTreeMap::from([
            ("summary".to_string(), a.summary.to_string()),
            ("description".to_string(), a.description),
            (
                "runbook_url".to_string(),
                format!("{}#{anchor}", opts.runbook_base_url),
            ),
        ]),
    })
}

/// Burn-rate windows of the API availability SLO: (short, long, factor, severity, for).
const BURN_WINDOWS: [(&str, &str, f64, &str, &str, &str); 2] = [
    ("5m", "1h", 14.4, "critical", "2m", "Fast"),
    ("30m", "6h", 6.0, "warning", "15m", "Slow"),
];

/// The recording and alerting rules for services instrumented with megaobs.
pub fn rules(opts: &RulesOptions) -> RuleFile {
    let http = "mega_agent_http_requests_total";
    let http_5xx = r#"mega_agent_http_requests_total{status=~"5.."}"#;
    let mut recording = Vec::new();
    for window in ["5m", "30m", "1h", "6h"] {
        recording.push(record(
            &format!("job:mega_agent_http_requests_errors:ratio_rate{window}"),
            ratio(http_5xx, http, "job", window),
        ));
    }
    for (q, name) in [(0.95, "p95"), (0.99, "p99")] {
        recording.push(record(
            &format!("job:mega_agent_http_request_duration_seconds:{name}_5m"),
            format!("histogram_quantile({q}, sum by (job, le) (rate(mega_agent_http_request_duration_seconds_bucket[5m])))"),
        ));
    }
    recording.extend([
        record(
            "job_workflow_name:workflow_duration_seconds:p95_5m",
            "histogram_quantile(0.95, sum by (job, workflow_name, le) (rate(workflow_duration_seconds_bucket[5m])))".into(),
        ),
        record(
            "job_workflow_name:workflow_executions_errors:ratio_rate5m",
            ratio(
                r#"workflow_executions_total{status!="success"}"#,
                "workflow_executions_total",
                "job, workflow_name",
                "5m",
            ),
        ),
        record(
            "job_strategy:workflow_error_recovery_success:ratio_rate15m",
            "sum by (job, strategy) (rate(workflow_error_recovery_success_total[15m])) / sum by (job, strategy) (rate(workflow_error_recovery_attempts_total[15m]))".into(),
        ),
        record(
            "job:cache_hits:ratio_rate15m",
            "sum by (job) (rate(cache_hits_total[15m])) / (sum by (job) (rate(cache_hits_total[15m])) + sum by (job) (rate(cache_misses_total[15m])))".into(),
        ),
        record(
            "job_gen_ai_request_model:gen_ai_client_operation_errors:ratio_rate5m",
            ratio(
                r#"gen_ai_client_operation_duration_seconds_count{error_type!=""}"#,
                "gen_ai_client_operation_duration_seconds_count",
                "job, gen_ai_request_model",
                "5m",
            ),
        ),
        record(
            "job:gen_ai_client_cost_usd:hourly_rate15m",
            "sum by (job) (rate(gen_ai_client_cost_usd_total[15m])) * 3600".into(),
        ),
        record(
            "job_gen_ai_request_model:gen_ai_client_operation_time_to_first_chunk_seconds:p95_5m",
            "histogram_quantile(0.95, sum by (job, gen_ai_request_model, le) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket[5m])))".into(),
        ),
    ]);

    let budget = 1.0 - opts.api_availability_slo;
    let mut alerts: Vec<Rule> = BURN_WINDOWS
        .iter()
        .map(|&(short, long, factor, severity, for_, speed)| {
            let threshold = num(factor * budget);
            alert(
                Alert {
                    name: &format!("MegaAgentApiErrorBudgetBurn{speed}"),
                    expr: format!(
                        "job:mega_agent_http_requests_errors:ratio_rate{long} > {threshold} and job:mega_agent_http_requests_errors:ratio_rate{short} > {threshold}"
                    ),
                    for_,
                    severity,
                    summary: "API {{ $labels.job }} is burning its availability error budget",
                    description: format!(
                        "5xx ratio is {{{{ $value | humanizePercentage }}}} over {long} and above {threshold} over {short}: {factor}× the rate that exhausts the error budget of a {slo}% availability SLO in 30 days.",
                        slo = num(opts.api_availability_slo * 100.0)
                    ),
                },
                opts,
            )
        })
        .collect();
    let p95 = num(opts.api_latency_p95_seconds);
    let wf = num(opts.workflow_error_ratio);
    let llm = num(opts.llm_error_ratio);
    let budget_usd = num(opts.llm_budget_usd_per_hour);
    let ttfc = num(opts.llm_ttfc_p95_seconds);
    let backlog = opts.review_backlog;
    alerts.extend([
        alert(
            Alert {
                name: "MegaAgentApiLatencyHigh",
                expr: format!("job:mega_agent_http_request_duration_seconds:p95_5m > {p95}"),
                for_: "10m",
                severity: "warning",
                summary: "API {{ $labels.job }} p95 latency is high",
                description: format!(
                    "p95 request latency is {{{{ $value | humanizeDuration }}}} (threshold {p95} s) for 10 minutes."
                ),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentWorkflowErrorRatioHigh",
                expr: format!("job_workflow_name:workflow_executions_errors:ratio_rate5m > {wf}"),
                for_: "10m",
                severity: "warning",
                summary: "Workflow {{ $labels.workflow_name }} fails often",
                description: format!(
                    "{{{{ $value | humanizePercentage }}}} of {{{{ $labels.workflow_name }}}} executions ended in error or timeout over 5 minutes (threshold {wf})."
                ),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentErrorRecoverySuccessLow",
                expr: "job_strategy:workflow_error_recovery_success:ratio_rate15m < 0.5".into(),
                for_: "15m",
                severity: "warning",
                summary: "Error recovery strategy {{ $labels.strategy }} rarely succeeds",
                description: "Only {{ $value | humanizePercentage }} of {{ $labels.strategy }} recovery attempts succeeded over 15 minutes.".into(),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentHumanReviewBacklogGrowing",
                expr: format!(
                    "sum by (job) (workflow_human_reviews_pending) > {backlog} and sum by (job) (deriv(workflow_human_reviews_pending[30m])) > 0"
                ),
                for_: "30m",
                severity: "warning",
                summary: "Human review backlog of {{ $labels.job }} keeps growing",
                description: format!(
                    "{{{{ $value }}}} reviews are pending (threshold {backlog}) and the backlog has grown for 30 minutes: reviewers cannot keep up."
                ),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentCacheHitRateCollapse",
                expr: "job:cache_hits:ratio_rate15m < 0.5 * (job:cache_hits:ratio_rate15m offset 1h)".into(),
                for_: "15m",
                severity: "warning",
                summary: "Cache hit rate of {{ $labels.job }} collapsed",
                description: "Cache hit rate is {{ $value | humanizePercentage }}, less than half of what it was an hour ago: expect higher latency and LLM cost.".into(),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentLlmErrorRateHigh",
                expr: format!(
                    "job_gen_ai_request_model:gen_ai_client_operation_errors:ratio_rate5m > {llm}"
                ),
                for_: "5m",
                severity: "warning",
                summary: "LLM calls to {{ $labels.gen_ai_request_model }} fail often",
                description: format!(
                    "{{{{ $value | humanizePercentage }}}} of calls to {{{{ $labels.gen_ai_request_model }}}} failed over 5 minutes (threshold {llm}); the LLM dashboard shows them by error_type."
                ),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentLlmSpendOverBudget",
                expr: format!("job:gen_ai_client_cost_usd:hourly_rate15m > {budget_usd}"),
                for_: "15m",
                severity: "warning",
                summary: "LLM spend of {{ $labels.job }} is over budget",
                description: format!(
                    "LLM calls cost {{{{ $value | printf \"%.2f\" }}}} USD per hour at the rate of the last 15 minutes (budget {budget_usd} USD per hour)."
                ),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentLlmTimeToFirstChunkHigh",
                expr: format!(
                    "job_gen_ai_request_model:gen_ai_client_operation_time_to_first_chunk_seconds:p95_5m > {ttfc}"
                ),
                for_: "10m",
                severity: "warning",
                summary: "{{ $labels.gen_ai_request_model }} is slow to start answering",
                description: format!(
                    "p95 time to first chunk of {{{{ $labels.gen_ai_request_model }}}} is {{{{ $value | humanizeDuration }}}} (threshold {ttfc} s) for 10 minutes."
                ),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentTargetDown",
                // The whole service: no replica of the job answers its scrape.
                expr: format!("sum by (job) (up{{job=\"{}\"}}) == 0", opts.job),
                for_: "2m",
                severity: "critical",
                summary: "{{ $labels.job }} is down: no replica answers",
                description: "Every scrape of {{ $labels.job }} has failed for 2 minutes: the service is down or /metrics is unreachable on all its replicas.".into(),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentReplicaDown",
                // Some replicas down while others serve (all down is TargetDown).
                expr: format!(
                    "count by (job) (up{{job=\"{job}\"}} == 0) > 0 and on (job) sum by (job) (up{{job=\"{job}\"}}) > 0",
                    job = opts.job
                ),
                for_: "5m",
                severity: "warning",
                summary: "{{ $value }} replica(s) of {{ $labels.job }} down",
                description: "{{ $value }} replica(s) of {{ $labels.job }} have failed their scrapes for 5 minutes while the others serve: the fleet runs with less capacity and no margin.".into(),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentSpansDropped",
                expr: "sum by (job, instance) (rate(otel_spans_dropped_total[5m])) > 0".into(),
                for_: "10m",
                severity: "warning",
                summary: "{{ $labels.instance }} is dropping trace spans",
                description: "{{ $value | printf \"%.2f\" }} spans/s are lost (export queue full or backend failing) for 10 minutes; check the trace backend, then TracingConfig::max_queue_size.".into(),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentLogLinesDropped",
                expr: "sum by (job, instance) (rate(log_lines_dropped_total[5m])) > 0".into(),
                for_: "10m",
                severity: "warning",
                summary: "{{ $labels.instance }} is dropping log lines",
                description: "{{ $value | printf \"%.2f\" }} log lines/s are dropped because the log writer cannot keep up (slow disk or syslog); lower the log level or fix the output.".into(),
            },
            opts,
        ),
        alert(
            Alert {
                name: "MegaAgentLabelCardinalityOverflow",
                expr: "sum by (job, metric) (rate(megaobs_label_overflow_total[15m])) > 0".into(),
                for_: "15m",
                severity: "info",
                summary: "{{ $labels.metric }} has more label values than its cap",
                description: "New label values of {{ $labels.metric }} are folded into __overflow__; a label probably carries unbounded values (ids, raw URLs).".into(),
            },
            opts,
        ),
    ]);
    RuleFile {
        groups: vec![
            RuleGroup {
                name: "megaobs.recording".into(),
                interval: None,
                rules: recording,
            },
            RuleGroup {
                name: "megaobs.alerts".into(),
                interval: None,
                rules: alerts,
            },
        ],
    }
}
