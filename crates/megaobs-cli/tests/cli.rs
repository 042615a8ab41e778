//! The `megaobs` command, run as a user runs it.

use std::process::{Command, Output};

fn megaobs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_megaobs"))
        .args(args)
        .output()
        .expect("run megaobs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn dashboards_writes_the_five_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grafana_dashboards");
    let o = megaobs(&["dashboards", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["cache", "api", "orchestration", "system", "llm"] {
        let path = out.join(format!("{name}_dashboard.json"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["uid"], format!("megaobs-{name}"));
        assert!(stdout(&o).contains(path.to_str().unwrap()));
    }
}

#[test]
fn trace_url_none_leaves_the_trace_links_out() {
    let dir = tempfile::tempdir().unwrap();
    let o = megaobs(&[
        "dashboards",
        "--out",
        dir.path().to_str().unwrap(),
        "--trace-url",
        "none",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let api = std::fs::read_to_string(dir.path().join("api_dashboard.json")).unwrap();
    assert!(!api.contains("16686"), "{api}");
}

#[test]
fn rules_to_stdout_and_to_a_file() {
    let o = megaobs(&[
        "rules",
        "--out",
        "-",
        "--slo",
        "0.999",
        "--runbook-url",
        "https://runbooks.example/megaobs",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let yaml = stdout(&o);
    assert!(yaml.starts_with("groups:"), "{yaml}");
    // 14.4 × (1 - 0.999)
    assert!(yaml.contains("ratio_rate1h > 0.0144"), "{yaml}");
    assert!(yaml.contains("https://runbooks.example/megaobs#megaagenttargetdown"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    let o = megaobs(&["rules", "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("MegaAgentSpansDropped"));
}

#[test]
fn llm_alert_thresholds_are_applied_and_checked() {
    let o = megaobs(&[
        "rules",
        "--out",
        "-",
        "--llm-budget-usd-per-hour",
        "25",
        "--llm-ttfc-p95-seconds",
        "1.5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let yaml = stdout(&o);
    assert!(
        yaml.contains("job:gen_ai_client_cost_usd:hourly_rate15m > 25"),
        "{yaml}"
    );
    assert!(
        yaml.contains("gen_ai_client_operation_time_to_first_chunk_seconds:p95_5m > 1.5"),
        "{yaml}"
    );
    for (flag, value) in [
        ("--llm-budget-usd-per-hour", "0"),
        ("--llm-budget-usd-per-hour", "lots"),
        ("--llm-ttfc-p95-seconds", "-1"),
    ] {
        let o = megaobs(&["rules", "--out", "-", &format!("{flag}={value}")]);
        assert!(!o.status.success(), "{flag} {value}");
        let err = stderr(&o);
        assert!(
            err.contains("not a positive number") && err.contains(flag),
            "{err}"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error_and_a_failure_exit() {
    let o = megaobs(&["rules", "--out", "-", "--slo", "99.5"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a ratio between 0 and 1"),
        "{}",
        stderr(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let target = blocker.join("deploy");
    let o = megaobs(&["stack", "--out", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("megaobs: cannot use"), "{err}");
    assert!(err.contains("a-file"), "{err}");
}

#[test]
fn stack_writes_compose_prometheus_rules_grafana_and_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    let o = megaobs(&[
        "stack",
        "--out",
        dir.path().to_str().unwrap(),
        "--target",
        "10.0.0.5:9000",
        "--scrape-interval",
        "5s",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let prom = std::fs::read_to_string(dir.path().join("prometheus.yml")).unwrap();
    assert!(prom.contains("targets: ['10.0.0.5:9000']"), "{prom}");
    assert!(prom.contains("scrape_interval: 5s"), "{prom}");
    for f in [
        "docker-compose.yml",
        "megaobs_rules.yml",
        "alertmanager.yml",
        "jaeger.yaml",
        "loki.yaml",
        "otel-collector.yaml",
        "grafana/provisioning/datasources/megaobs.yml",
        "grafana/provisioning/dashboards/megaobs.yml",
        "grafana/dashboards/system_dashboard.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn k8s_writes_the_manifests_with_the_options_applied() {
    let dir = tempfile::tempdir().unwrap();
    let o = megaobs(&[
        "k8s",
        "--out",
        dir.path().to_str().unwrap(),
        "--namespace",
        "agents",
        "--job",
        "research-api",
        "--release",
        "monitoring",
        "--replicas",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 6, "{}", stdout(&o));
    let monitor = std::fs::read_to_string(dir.path().join("service-monitor.yaml")).unwrap();
    assert!(monitor.contains("namespace: agents"), "{monitor}");
    assert!(monitor.contains("release: monitoring"), "{monitor}");
    let example = std::fs::read_to_string(dir.path().join("example-service.yaml")).unwrap();
    assert!(example.contains("replicas: 5"), "{example}");
    assert!(example.contains("name: research-api"), "{example}");
    assert!(dir.path().join("alternatives/pod-monitor.yaml").exists());

    let o = megaobs(&["k8s", "--out", "x", "--tail-keep-percent", "150"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a percentage between 0 and 100"),
        "{}",
        stderr(&o)
    );
}
