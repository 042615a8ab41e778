//! The end-to-end proof of the dashboards, on a fleet: three replicas of the
//! example service run with their built-in load, a real Prometheus scrapes all
//! three under one job every second with the generated `prometheus.yml` and
//! rules, and every query of every panel of every dashboard must return data
//! with all instances selected. Every single-value panel (stat, gauge) must
//! give one series for the whole fleet, and the fleet's request rate must be
//! the sum of the replicas' rates. Exemplars must carry the trace ids of traces
//! that really were exported.
#![cfg(all(feature = "dashboards", feature = "axum", feature = "otlp"))]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::example::Example;
use common::receivers::Receivers;
use common::Prometheus;
use megaobs::dashboards::rules::{rules, Rule, RulesOptions};
use megaobs::dashboards::stack::prometheus_yml;
use megaobs::dashboards::{dashboards, DashboardOptions};

const JOB: &str = "megaagent-pro";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// True when some point of some series of a range query result is a number.
/// `s` with the regex metacharacters of an address (`.`) escaped.
fn regex_escape(s: &str) -> String {
    s.replace('.', "\\\\.")
}

fn has_finite_point(result: &[serde_json::Value]) -> bool {
    result.iter().any(|series| {
        series["values"].as_array().is_some_and(|points| {
            points.iter().any(|p| {
                p[1].as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            })
        })
    })
}

#[test]
fn every_panel_of_every_dashboard_shows_data_from_a_real_prometheus() {
    let rx = Receivers::new();
    let grpc = rx.grpc();
    let logs = tempfile::tempdir().unwrap();
    const REPLICAS: usize = 3;
    let mut fleet: Vec<Example> = (0..REPLICAS)
        .map(|i| {
            Example::start(
                &["--listen", "127.0.0.1:0", "--duration", "50", "--rps", "8"],
                &[
                    ("TRACING_EXPORTER", "otlp".into()),
                    ("OTLP_ENDPOINT", format!("127.0.0.1:{}", grpc.port())),
                    ("TRACING_SAMPLE_RATE", "1.0".into()),
                    (
                        "LOG_DIR",
                        logs.path().join(i.to_string()).display().to_string(),
                    ),
                    ("API_RATE_LIMIT", "60".into()),
                ],
            )
        })
        .collect();
    let instances: Vec<String> = fleet.iter().map(|e| e.addr.clone()).collect();
    let targets: Vec<&str> = instances.iter().map(String::as_str).collect();
    // What Grafana's "All" sends for the instance variable.
    let all_instances = instances.join("|");

    // The generated prometheus.yml and rules, scraping the example every second.
    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("megaobs_rules.yml");
    let rule_file = rules(&RulesOptions {
        job: JOB.into(),
        ..RulesOptions::default()
    });
    std::fs::write(&rules_path, rule_file.to_yaml()).unwrap();
    let cfg = prometheus_yml(JOB, &targets, "1s", &rules_path.display().to_string(), None);
    let prom = Prometheus::start_with_config(&cfg);
    let start = now();

    // 30 scrapes of data from each replica.
    let scrapes = format!("min(count_over_time(up{{job=\"{JOB}\"}}[5m]))");
    let got = prom.wait_value(&scrapes, Duration::from_secs(60), |v| v >= 30.0);
    assert!(
        got.is_some_and(|v| v >= 30.0),
        "scrapes: {got:?}\n{}",
        prom.log()
    );
    assert_eq!(
        prom.value(&format!("sum(up{{job=\"{JOB}\"}})")),
        Some(REPLICAS as f64)
    );

    // Every panel query, with the variables substituted as Grafana does for
    // the job and all its instances; $__rate_interval is 15 s (>= 4 scrapes).
    let mut failures = Vec::new();
    let mut checked = 0;
    let end = now();
    let substitute = |expr: &str, instance: &str| {
        expr.replace("$__rate_interval", "15s")
            .replace("$job", JOB)
            .replace("$instance", instance)
    };
    for (file, dashboard) in dashboards(&DashboardOptions::default()) {
        for (panel, target) in dashboard.targets() {
            let expr = substitute(&target.expr, &all_instances);
            let result = prom.query_range(&expr, start, end);
            checked += 1;
            if !has_finite_point(&result) {
                failures.push(format!(
                    "{file} / {} / {}: no data for {expr}: {result:?}",
                    panel.title, target.ref_id
                ));
            }
            // A single value is one number for the whole fleet.
            if (panel.kind == "stat" || panel.kind == "gauge") && result.len() != 1 {
                failures.push(format!(
                    "{file} / {}: {} series for the fleet, not one: {expr}",
                    panel.title,
                    result.len()
                ));
            }
        }
    }

    // The fleet's request rate (the API dashboard's stat) is the sum of the
    // replicas' rates, each computed by the same panel query for one instance.
    let (_, api) = dashboards(&DashboardOptions::default())
        .into_iter()
        .find(|(f, _)| *f == "api_dashboard.json")
        .unwrap();
    let (_, rate) = api
        .targets()
        .find(|(p, _)| p.title == "Request rate")
        .expect("the API dashboard's request rate");
    let at = end.floor();
    let instant = |expr: &str| {
        prom.query_at(expr, at)
            .first()
            .and_then(|s| s["value"][1].as_str()?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no value for {expr}"))
    };
    let fleet_rate = instant(&substitute(&rate.expr, &all_instances));
    let replica_sum: f64 = instances
        .iter()
        .map(|i| instant(&substitute(&rate.expr, &regex_escape(i))))
        .sum();
    assert!(fleet_rate > 0.0);
    assert!(
        (fleet_rate - replica_sum).abs() <= 1e-9 * fleet_rate.max(1.0),
        "fleet {fleet_rate} vs replicas' sum {replica_sum}"
    );
    assert!(checked >= 40, "only {checked} queries");

    // Every recording rule records something, and no rule fails to evaluate.
    for rule in rule_file.rules() {
        if let Rule::Recording(r) = rule {
            let result = prom.query_range(&r.record, start, end);
            if !has_finite_point(&result) {
                failures.push(format!("recording rule {} has no data", r.record));
            }
        }
    }
    let http = common::http_client();
    let rules_state: serde_json::Value = http
        .get(format!("http://{}/api/v1/rules", prom.addr))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for group in rules_state["data"]["groups"].as_array().unwrap() {
        for r in group["rules"].as_array().unwrap() {
            if r["health"] != "ok" {
                failures.push(format!("rule {} unhealthy: {}", r["name"], r["lastError"]));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} panel queries / rules show nothing:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Latency exemplars carry trace ids of traces that were really exported.
    let exemplars = prom.exemplars(
        &format!("mega_agent_http_request_duration_seconds_bucket{{job=\"{JOB}\"}}"),
        120,
    );
    let trace_ids: Vec<String> = exemplars
        .iter()
        .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_string))
        .collect();
    assert!(!trace_ids.is_empty(), "no exemplars: {exemplars:?}");
    assert!(trace_ids
        .iter()
        .all(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())));

    for example in &mut fleet {
        let status = example.wait_exit(Duration::from_secs(60));
        assert!(status.success(), "{}", example.printed.join("\n"));
    }
    let exported: std::collections::HashSet<String> =
        rx.spans().into_iter().map(|s| s.trace_id).collect();
    let found = trace_ids.iter().filter(|t| exported.contains(*t)).count();
    assert!(
        found > 0 && found * 10 >= trace_ids.len() * 9,
        "{found} of {} exemplar trace ids were exported",
        trace_ids.len()
    );
}
