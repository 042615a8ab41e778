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
    run_tool("promtool", args, dir)
}

fn amtool(args: &[&str], dir: &Path) -> (bool, String) {
    run_tool("amtool", args, dir)
}

/// Runs a real system binary in `dir`: (success, stdout + stderr).
fn run_tool(bin: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(require_bin(bin))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {bin}: {e}"));
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

    // Alerts go to the compose service `alertmanager`, on the port it listens on.
    let prom: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(dir.path().join("prometheus.yml")).unwrap(),
    )
    .unwrap();
    let targets = &prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"];
    assert_eq!(targets[0].as_str(), Some("alertmanager:9093"), "{prom:?}");
    assert_eq!(targets.as_sequence().map(Vec::len), Some(1));
}

#[test]
fn stack_alertmanager_config_passes_amtool_and_matches_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    write_stack(dir.path(), &StackOptions::default()).unwrap();
    let (ok, out) = amtool(&["check-config", "alertmanager.yml"], dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
    assert!(out.contains("1 inhibit rules"), "{out}");
    assert!(out.contains("1 receivers"), "{out}");

    let text = std::fs::read_to_string(dir.path().join("alertmanager.yml")).unwrap();
    let am: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let route = &am["route"];
    assert_eq!(route["receiver"].as_str(), Some("webhook"));
    let group_by: Vec<&str> = route["group_by"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(group_by, ["alertname", "severity"]);
    let receiver = &am["receivers"][0];
    assert_eq!(receiver["name"].as_str(), Some("webhook"));
    let url = receiver["webhook_configs"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("http://host.docker.internal:"), "{url}");
    assert!(text.contains("EDIT THIS URL"), "{text}");

    // The inhibit rule names real alerts: a critical one silencing a warning one.
    let rule_file = rules(&RulesOptions::default());
    let severity: BTreeMap<String, String> = rule_file
        .rules()
        .filter_map(|r| match r {
            Rule::Alerting(a) => Some((a.alert.clone(), a.labels["severity"].clone())),
            Rule::Recording(_) => None,
        })
        .collect();
    let inhibit = &am["inhibit_rules"][0];
    let alert_of = |side: &str| -> (String, String) {
        let mut name = None;
        let mut sev = None;
        for m in inhibit[side].as_sequence().unwrap() {
            let (k, v) = m.as_str().unwrap().split_once('=').unwrap();
            let v = v.trim_matches('"').to_string();
            match k {
                "alertname" => name = Some(v),
                "severity" => sev = Some(v),
                _ => panic!("unexpected matcher {k}"),
            }
        }
        (name.unwrap(), sev.unwrap())
    };
    let (source, source_sev) = alert_of("source_matchers");
    let (target, target_sev) = alert_of("target_matchers");
    assert_eq!(
        (source_sev.as_str(), target_sev.as_str()),
        ("critical", "warning")
    );
    assert_eq!(severity.get(&source), Some(&source_sev), "{source}");
    assert_eq!(severity.get(&target), Some(&target_sev), "{target}");
    assert_eq!(inhibit["equal"][0].as_str(), Some("job"));

    // amtool is not a rubber stamp: a route to an undefined receiver is refused.
    std::fs::write(
        dir.path().join("broken.yml"),
        text.replace("receiver: webhook", "receiver: nowhere"),
    )
    .unwrap();
    let (ok, out) = amtool(&["check-config", "broken.yml"], dir.path());
    assert!(!ok, "{out}");
    assert!(out.contains("nowhere"), "{out}");
}

fn yaml(files: &BTreeMap<PathBuf, String>, name: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&files[Path::new(name)]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ports(service: &serde_yaml_ng::Value) -> Vec<String> {
    service["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

fn strings(v: &serde_yaml_ng::Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn compose_pins_images_and_wires_every_service() {
    let files: BTreeMap<PathBuf, String> =
        stack_files(&StackOptions::default()).into_iter().collect();
    let compose = yaml(&files, "docker-compose.yml");
    let services = compose["services"].as_mapping().unwrap();
    let names: Vec<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "prometheus",
            "alertmanager",
            "grafana",
            "jaeger",
            "loki",
            "example",
            "otel-collector"
        ]
    );
    // The example: built from the repository's Dockerfile, behind a profile
    // unless asked for, and then scraped inside the stack.
    let example = &services["example"];
    assert_eq!(example["build"]["dockerfile"], "Dockerfile");
    let dockerfile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Dockerfile");
    assert!(
        dockerfile.exists(),
        "the build context (the repository) has the Dockerfile"
    );
    assert_eq!(strings(&example["profiles"]), ["example"]);
    assert!(ports(example).contains(&"8000:8000".to_string()));
    let with_example: BTreeMap<PathBuf, String> = stack_files(&StackOptions {
        example: true,
        ..StackOptions::default()
    })
    .into_iter()
    .collect();
    let compose_with = yaml(&with_example, "docker-compose.yml");
    assert!(compose_with["services"]["example"]
        .get("profiles")
        .is_none());
    assert!(with_example[&PathBuf::from("prometheus.yml")].contains("example:8000"));
    for (name, svc) in services {
        // An exact version: digits and dots after an optional `v`, never `latest`.
        let image = svc["image"].as_str().unwrap();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        let version = tag.strip_prefix('v').unwrap_or(tag);
        assert!(
            version.split('.').count() == 3
                && version
                    .split('.')
                    .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())),
            "{name:?}: {image} is not pinned to an exact version"
        );
    }
    for p in ["16686:16686", "4317:4317", "4318:4318", "9411:9411"] {
        assert!(
            ports(&services["jaeger"]).contains(&p.to_string()),
            "jaeger {p}"
        );
    }
    assert!(ports(&services["loki"]).contains(&"3100:3100".to_string()));
    assert!(ports(&services["alertmanager"]).contains(&"9093:9093".to_string()));
    let cmd = format!("{:?}", services["prometheus"]["command"]);
    assert!(cmd.contains("--enable-feature=exemplar-storage"), "{cmd}");
    // Each service reads the config file mounted for it.
    for (svc, flag, mounted) in [
        (
            "jaeger",
            "/etc/jaeger/config.yaml",
            "./jaeger.yaml:/etc/jaeger/config.yaml:ro",
        ),
        (
            "loki",
            "-config.file=/etc/loki/config.yaml",
            "./loki.yaml:/etc/loki/config.yaml:ro",
        ),
        (
            "alertmanager",
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro",
        ),
    ] {
        let command = strings(&services[svc]["command"]);
        assert!(command.iter().any(|a| a == flag), "{svc}: {command:?}");
        assert!(
            strings(&services[svc]["volumes"]).contains(&mounted.to_string()),
            "{svc} does not mount {mounted}"
        );
    }
    assert_eq!(strings(&services["jaeger"]["command"])[0], "--config");
    let grafana_deps = strings(&services["grafana"]["depends_on"]);
    for dep in ["prometheus", "jaeger", "loki"] {
        assert!(
            grafana_deps.contains(&dep.to_string()),
            "grafana: {grafana_deps:?}"
        );
    }
    let header = &files[Path::new("docker-compose.yml")];
    assert!(
        header.contains(
            "LOG_EXPORTER=otlp OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://localhost:3100/otlp/v1/logs \
             OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf"
        ),
        "{header}"
    );
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
}

#[test]
fn grafana_links_metrics_and_logs_to_traces_and_traces_to_logs() {
    let files: BTreeMap<PathBuf, String> =
        stack_files(&StackOptions::default()).into_iter().collect();
    let ds = yaml(&files, "grafana/provisioning/datasources/megaobs.yml");
    let by_type = |t: &str| -> serde_yaml_ng::Value {
        let found: Vec<_> = ds["datasources"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|d| d["type"].as_str() == Some(t))
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "{t} data sources: {found:?}");
        found.into_iter().next().unwrap()
    };
    let (prom, jaeger, loki) = (by_type("prometheus"), by_type("jaeger"), by_type("loki"));
    assert_eq!(prom["uid"].as_str(), Some("prometheus"));
    assert_eq!(jaeger["uid"].as_str(), Some("jaeger"));
    assert_eq!(loki["uid"].as_str(), Some("loki"));
    assert_eq!(jaeger["url"].as_str(), Some("http://jaeger:16686"));
    assert_eq!(loki["url"].as_str(), Some("http://loki:3100"));

    // Prometheus exemplars → Jaeger.
    assert_eq!(
        prom["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"],
        jaeger["uid"]
    );

    // Loki log lines → Jaeger: the structured-metadata label and the JSON line.
    let fields = loki["jsonData"]["derivedFields"].as_sequence().unwrap();
    assert_eq!(fields.len(), 2, "{fields:?}");
    for f in fields {
        assert_eq!(f["datasourceUid"], jaeger["uid"], "{f:?}");
        // `$$` is Grafana's escape for a literal `$` in provisioning files.
        assert_eq!(f["url"].as_str(), Some("$${__value.raw}"), "{f:?}");
    }
    let matcher = |kind: &str| -> String {
        fields
            .iter()
            .find(|f| f["matcherType"].as_str() == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} derived field"))["matcherRegex"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(matcher("label"), "trace_id");
    assert_eq!(matcher("regex"), r#""trace_id":"(\w+)""#);

    // Jaeger spans → Loki, filtered on the trace id, around the span.
    let t2l = &jaeger["jsonData"]["tracesToLogsV2"];
    assert_eq!(t2l["datasourceUid"], loki["uid"]);
    assert_eq!(t2l["filterByTraceID"].as_bool(), Some(true));
    assert_eq!(t2l["spanStartTimeShift"].as_str(), Some("-5m"));
    assert_eq!(t2l["spanEndTimeShift"].as_str(), Some("5m"));
    if t2l["customQuery"].as_bool() == Some(true) {
        let query = t2l["query"].as_str().unwrap();
        assert!(query.contains("trace_id=~"), "{query}");
        assert!(query.contains("$${__span.traceId}"), "{query}");
    }
}

#[test]
fn jaeger_receives_zipkin_and_the_collector_forwards_logs_to_loki() {
    let files: BTreeMap<PathBuf, String> =
        stack_files(&StackOptions::default()).into_iter().collect();
    let jaeger = yaml(&files, "jaeger.yaml");
    assert_eq!(
        jaeger["receivers"]["zipkin"]["endpoint"].as_str(),
        Some("0.0.0.0:9411")
    );
    let otlp = &jaeger["receivers"]["otlp"]["protocols"];
    assert_eq!(otlp["grpc"]["endpoint"].as_str(), Some("0.0.0.0:4317"));
    assert_eq!(otlp["http"]["endpoint"].as_str(), Some("0.0.0.0:4318"));
    let traces = &jaeger["service"]["pipelines"]["traces"];
    assert_eq!(strings(&traces["receivers"]), ["otlp", "zipkin"]);
    assert_eq!(strings(&traces["exporters"]), ["jaeger_storage_exporter"]);
    // The exporter and the UI read the storage backend that is defined.
    let store = jaeger["exporters"]["jaeger_storage_exporter"]["trace_storage"]
        .as_str()
        .unwrap();
    assert!(jaeger["extensions"]["jaeger_storage"]["backends"][store]["memory"].is_mapping());
    assert_eq!(
        jaeger["extensions"]["jaeger_query"]["storage"]["traces"].as_str(),
        Some(store)
    );
    let extensions = strings(&jaeger["service"]["extensions"]);
    for e in ["jaeger_storage", "jaeger_query", "healthcheckv2"] {
        assert!(extensions.contains(&e.to_string()), "{extensions:?}");
        assert!(jaeger["extensions"][e].is_mapping(), "{e}");
    }

    let collector = yaml(&files, "otel-collector.yaml");
    assert_eq!(
        collector["exporters"]["otlp/jaeger"]["endpoint"].as_str(),
        Some("jaeger:4317")
    );
    assert_eq!(
        collector["exporters"]["otlphttp/loki"]["endpoint"].as_str(),
        Some("http://loki:3100/otlp")
    );
    let logs = &collector["service"]["pipelines"]["logs"];
    assert_eq!(strings(&logs["receivers"]), ["otlp"]);
    assert_eq!(strings(&logs["processors"]), ["batch"]);
    assert_eq!(strings(&logs["exporters"]), ["otlphttp/loki"]);

    // Loki: OTLP attributes kept as structured metadata (needs tsdb + v13).
    let loki = yaml(&files, "loki.yaml");
    assert_eq!(
        loki["limits_config"]["allow_structured_metadata"].as_bool(),
        Some(true)
    );
    let schema = &loki["schema_config"]["configs"][0];
    assert_eq!(schema["store"].as_str(), Some("tsdb"));
    assert_eq!(schema["schema"].as_str(), Some("v13"));
    assert_eq!(schema["object_store"].as_str(), Some("filesystem"));
    assert_eq!(loki["server"]["http_listen_port"].as_u64(), Some(3100));
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
