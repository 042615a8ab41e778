//! The generated rules and stack files, checked with the real `promtool`;
//! `deploy/` in the repository is exactly what `megaobs stack --out deploy` writes.
#![cfg(feature = "dashboards")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::require_bin;
use megaobs::dashboards::rules::{rules, Rule, RulesOptions};
use megaobs::dashboards::stack::{stack_files, write_stack, StackOptions};

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(require_bin("promtool"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules_test.yml")
}

/// `promtool test rules` of the fixture against the rules built from `opts`
/// (runbook links set to `RUNBOOK`, as the fixture expects).
fn promtool_test_rules(opts: RulesOptions) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = rules(&RulesOptions {
        runbook_base_url: "RUNBOOK".into(),
        ..opts
    });
    std::fs::write(dir.path().join("megaobs_rules.yml"), file.to_yaml()).unwrap();
    std::fs::copy(fixture(), dir.path().join("rules_test.yml")).unwrap();
    promtool(&["test", "rules", "rules_test.yml"], dir.path())
}

#[test]
fn alert_unit_tests_pass_with_promtool_test_rules() {
    let (ok, out) = promtool_test_rules(RulesOptions::default());
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");

    // Every alert of the file has a unit test in the fixture.
    let tests = std::fs::read_to_string(fixture()).unwrap();
    for rule in rules(&RulesOptions::default()).rules() {
        if let Rule::Alerting(a) = rule {
            assert!(
                tests.contains(&format!("alertname: {}\n", a.alert)),
                "no promtool test for {}",
                a.alert
            );
        }
    }
}

#[test]
fn a_broken_alert_fails_the_promtool_tests() {
    // The fixture is not vacuous: a rule file with a wrong threshold fails it.
    let (ok, out) = promtool_test_rules(RulesOptions {
        llm_error_ratio: 0.5,
        ..RulesOptions::default()
    });
    assert!(!ok, "{out}");
    assert!(out.contains("MegaAgentLlmErrorRateHigh"), "{out}");
}

#[test]
fn every_alert_has_severity_summary_description_and_runbook() {
    let opts = RulesOptions::default();
    let file = rules(&opts);
    let mut alerts = 0;
    for rule in file.rules() {
        match rule {
            Rule::Alerting(a) => {
                alerts += 1;
                assert!(
                    ["critical", "warning", "info"].contains(&a.labels["severity"].as_str()),
                    "{}",
                    a.alert
                );
                for key in ["summary", "description", "runbook_url"] {
                    assert!(!a.annotations[key].is_empty(), "{} {key}", a.alert);
                }
                assert!(a.annotations["runbook_url"].starts_with(&opts.runbook_base_url));
            }
            Rule::Recording(r) => {
                assert_eq!(r.record.matches(':').count(), 2, "{}", r.record);
            }
        }
    }
    assert!(alerts >= 12, "{alerts}");
    // The runbook has a section for every alert.
    let runbook = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/runbooks.md"),
    )
    .unwrap();
    for rule in file.rules() {
        if let Rule::Alerting(a) = rule {
            assert!(
                runbook.contains(&format!("## {}\n", a.alert)),
                "runbook: {}",
                a.alert
            );
        }
    }
}

#[test]
fn every_dashboard_query_parses_with_promtool() {
    // Each panel query, variables substituted, as a recording rule: promtool parses
    // them all in one go (the end-to-end test then proves they return data).
    let mut yaml = String::from("groups:\n- name: dashboards\n  rules:\n");
    let mut n = 0;
    for (_, d) in megaobs::dashboards::dashboards(&Default::default()) {
        for (_, t) in d.targets() {
            let expr = t
                .expr
                .replace("$__rate_interval", "1m")
                .replace("$job", "megaagent-pro")
                .replace("$instance", "127.0.0.1:8000");
            n += 1;
            yaml.push_str(&format!(
                "  - record: dashboard:query:{n}\n    expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("queries.yml"), yaml).unwrap();
    let (ok, out) = promtool(&["check", "rules", "queries.yml"], dir.path());
    assert!(ok, "{out}");
    assert!(out.contains(&format!("SUCCESS: {n} rules found")), "{out}");
}

#[test]
fn stack_prometheus_config_and_rules_pass_promtool_check() {
    let dir = tempfile::tempdir().unwrap();
    write_stack(dir.path(), &StackOptions::default()).unwrap();
    let (ok, out) = promtool(&["check", "config", "prometheus.yml"], dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 1 rule files found"), "{out}");
    let (ok, out) = promtool(&["check", "rules", "megaobs_rules.yml"], dir.path());
    assert!(ok, "{out}");
}

fn yaml(files: &BTreeMap<PathBuf, String>, name: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&files[Path::new(name)]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn compose_pins_images_and_wires_prometheus_grafana_and_jaeger() {
    let files: BTreeMap<PathBuf, String> =
        stack_files(&StackOptions::default()).into_iter().collect();
    let compose = yaml(&files, "docker-compose.yml");
    let services = compose["services"].as_mapping().unwrap();
    for name in ["prometheus", "grafana", "jaeger", "otel-collector"] {
        let image = services[name]["image"].as_str().unwrap();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(!tag.is_empty() && tag != "latest", "{name}: {image}");
    }
    let ports = |s: &str| -> Vec<String> {
        services[s]["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    };
    for p in ["16686:16686", "4317:4317", "4318:4318"] {
        assert!(ports("jaeger").contains(&p.to_string()), "jaeger {p}");
    }
    let cmd = format!("{:?}", services["prometheus"]["command"]);
    assert!(cmd.contains("--enable-feature=exemplar-storage"), "{cmd}");
    // Every file a volume mounts exists in the stack.
    for (name, svc) in services {
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let src = v.as_str().unwrap().split(':').next().unwrap();
            if let Some(rel) = src.strip_prefix("./") {
                assert!(
                    files.keys().any(|f| f.starts_with(rel)),
                    "{name:?} mounts missing {rel}"
                );
            }
        }
    }
    let ds = yaml(&files, "grafana/provisioning/datasources/megaobs.yml");
    let prom = &ds["datasources"][0];
    assert_eq!(prom["type"].as_str(), Some("prometheus"));
    assert_eq!(
        prom["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"].as_str(),
        ds["datasources"][1]["uid"].as_str()
    );
    let boards = yaml(&files, "grafana/provisioning/dashboards/megaobs.yml");
    assert_eq!(
        boards["providers"][0]["options"]["path"].as_str(),
        Some("/var/lib/grafana/dashboards")
    );
    for name in ["cache", "api", "orchestration", "system"] {
        let f = format!("grafana/dashboards/{name}_dashboard.json");
        let v: serde_json::Value = serde_json::from_str(&files[Path::new(&f)]).unwrap();
        assert!(v["schemaVersion"].as_u64().unwrap() >= 41);
        // Provisioned (not imported): the data source variable names the provisioned uid.
        assert_eq!(v["templating"]["list"][0]["current"]["value"], "prometheus");
    }
    let collector = yaml(&files, "otel-collector.yaml");
    assert_eq!(
        collector["exporters"]["otlp/jaeger"]["endpoint"].as_str(),
        Some("jaeger:4317")
    );
}

#[test]
fn deploy_dir_is_exactly_what_megaobs_stack_writes() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let expected: BTreeMap<PathBuf, String> =
        stack_files(&StackOptions::default()).into_iter().collect();
    let mut actual = BTreeMap::new();
    let mut stack = vec![deploy.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(&deploy).unwrap().to_path_buf();
                actual.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let hint = "regenerate with `cargo run -p megaobs-cli -- stack --out deploy`";
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{hint}"
    );
    for (path, text) in &expected {
        assert!(
            actual[path] == *text,
            "deploy/{} differs: {hint}",
            path.display()
        );
    }
}
