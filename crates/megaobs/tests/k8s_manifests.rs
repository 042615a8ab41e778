//! `megaobs k8s` output: strictly valid against Kubernetes' own schemas
//! (`kubernetes-validate --strict`) and the Prometheus Operator's CRD models
//! (`cloudcoil.models.prometheus_operator`, unknown fields forbidden), run by
//! `scripts/validate_k8s.py`; the PrometheusRule's groups are `megaobs rules`'
//! groups; the dashboard ConfigMaps hold `megaobs dashboards`' files byte for
//! byte; the Collector configs have the expected pipelines.
//!
//! No cluster and no collector binary can run here: the schemas are what can
//! show that the manifests apply, and the collector configs are checked as YAML.

use std::path::{Path, PathBuf};
use std::process::Command;

use megaobs::dashboards::k8s::{write_k8s, K8sOptions};
use megaobs::dashboards::rules::{rules, RuleFile, RulesOptions};
use megaobs::dashboards::{dashboards, DashboardOptions};
use serde_yaml_ng::Value;

/// The built example binary (`cargo test` builds examples before tests).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    dir.join("examples").join("observability_example")
}

fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate_k8s.py")
}

/// Runs the validator on `files`: (passed, its output).
fn validate(files: &[PathBuf]) -> (bool, String) {
    let out = Command::new("python3")
        .arg(validator())
        .args(files)
        .output()
        .expect("python3 runs (scripts/test.sh installs the validator's packages)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("ModuleNotFoundError"),
        "the validator's packages are missing: pip install kubernetes-validate==1.37.0 cloudcoil.models.prometheus_operator==0.80.1.0 ({text})"
    );
    (out.status.success(), text)
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn options() -> K8sOptions {
    K8sOptions {
        namespace: "agents".into(),
        job: "research-api".into(),
        release: "monitoring".into(),
        port_name: "web".into(),
        tail_keep_percent: 25.0,
        tail_slow_ms: 1500,
        ..K8sOptions::default()
    }
}

#[test]
fn manifests_validate_strictly_and_match_the_rules_and_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    let o = options();
    let files = write_k8s(dir.path(), &o).unwrap();
    assert_eq!(files.len(), 6);
    let (ok, report) = validate(&files);
    assert!(ok, "{report}");
    // A rule, two monitors, six gateway objects, the example's two, and a
    // ConfigMap per dashboard.
    let objects = 11 + dashboards(&DashboardOptions::default()).len();
    assert!(
        report.contains(&format!("{objects} objects valid, 0 problems")),
        "{report}"
    );

    // The PrometheusRule holds exactly `megaobs rules`' groups.
    let rule = &documents(&dir.path().join("prometheus-rule.yaml"))[0];
    assert_eq!(rule["metadata"]["labels"]["release"], "monitoring");
    let groups: RuleFile = serde_yaml_ng::from_value(rule["spec"].clone()).unwrap();
    let expected = rules(&RulesOptions {
        job: "research-api".into(),
        ..RulesOptions::default()
    });
    assert_eq!(groups, expected);

    // The dashboards, byte for byte, labeled for Grafana's sidecar.
    let maps = documents(&dir.path().join("grafana-dashboards.yaml"));
    let expected = dashboards(&DashboardOptions::default());
    assert_eq!(maps.len(), expected.len());
    for (file, dashboard) in expected {
        let map = maps
            .iter()
            .find(|m| m["data"].get(file).is_some())
            .unwrap_or_else(|| panic!("no ConfigMap holds {file}"));
        assert_eq!(map["metadata"]["labels"]["grafana_dashboard"], "1");
        let written = tempfile::tempdir().unwrap();
        megaobs::dashboards::create_dashboards(written.path()).unwrap();
        let on_disk = std::fs::read_to_string(written.path().join(file)).unwrap();
        assert_eq!(map["data"][file].as_str(), Some(on_disk.as_str()));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&on_disk).unwrap()["uid"],
            serde_json::to_value(&dashboard).unwrap()["uid"]
        );
    }

    // The monitors scrape the named port, OpenMetrics first, in the namespace.
    for path in ["service-monitor.yaml", "alternatives/pod-monitor.yaml"] {
        let m = &documents(&dir.path().join(path))[0];
        assert_eq!(m["metadata"]["labels"]["release"], "monitoring");
        assert_eq!(m["spec"]["scrapeProtocols"][0], "OpenMetricsText1.0.0");
        assert_eq!(m["spec"]["namespaceSelector"]["matchNames"][0], "agents");
        let endpoints = m["spec"]
            .get("endpoints")
            .or_else(|| m["spec"].get("podMetricsEndpoints"))
            .unwrap();
        assert_eq!(endpoints[0]["port"], "web");
        assert_eq!(endpoints[0]["path"], "/metrics");
    }

    // The gateway: load balancing by trace id to the headless sampler
    // Service, and tail sampling keeping errors, slow traces and a share.
    let gateway = documents(&dir.path().join("otel-collector-gateway.yaml"));
    let config = |name: &str| -> Value {
        let map = gateway
            .iter()
            .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no ConfigMap {name}"));
        serde_yaml_ng::from_str(map["data"]["collector.yaml"].as_str().unwrap()).unwrap()
    };
    let lb = config("otel-gateway");
    let lb_exporter = &lb["exporters"]["loadbalancing"];
    assert_eq!(lb_exporter["routing_key"], "traceID");
    assert_eq!(
        lb_exporter["resolver"]["dns"]["hostname"],
        "otel-sampler-headless.agents.svc.cluster.local"
    );
    assert_eq!(
        lb["service"]["pipelines"]["traces"]["exporters"][0],
        "loadbalancing"
    );
    let headless = gateway
        .iter()
        .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "otel-sampler-headless")
        .unwrap();
    assert_eq!(headless["spec"]["clusterIP"], "None");
    let sampler = config("otel-sampler");
    let pipeline = &sampler["service"]["pipelines"]["traces"];
    assert_eq!(
        pipeline["processors"],
        serde_yaml_ng::from_str::<Value>("[memory_limiter, tail_sampling, batch]").unwrap()
    );
    let policies = sampler["processors"]["tail_sampling"]["policies"]
        .as_sequence()
        .unwrap();
    let types: Vec<&str> = policies
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["status_code", "latency", "probabilistic"]);
    assert_eq!(policies[1]["latency"]["threshold_ms"], 1500);
    assert_eq!(policies[2]["probabilistic"]["sampling_percentage"], 25.0);
    for d in gateway.iter().filter(|d| d["kind"] == "Deployment") {
        let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap();
        assert!(
            image
                .rsplit(':')
                .next()
                .is_some_and(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit())),
            "image pinned to a version: {image}"
        );
    }

    // The example: the gateway as OTLP endpoint, every span sent, probes.
    let example = documents(&dir.path().join("example-service.yaml"));
    let container = &example[0]["spec"]["template"]["spec"]["containers"][0];
    let env = |k: &str| {
        container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == k)
            .map(|e| e["value"].as_str().unwrap().to_string())
    };
    assert_eq!(
        env("OTLP_ENDPOINT").as_deref(),
        Some("http://otel-gateway.agents.svc.cluster.local:4317")
    );
    assert_eq!(env("TRACING_SAMPLE_RATE").as_deref(), Some("1.0"));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert_eq!(example[1]["kind"], "Service");
    assert_eq!(example[1]["metadata"]["name"], "research-api");
}

/// The validator is strict: one broken field in a core kind and one in an
/// operator kind each fail the check, naming the field.
#[test]
fn a_broken_field_fails_the_validation() {
    let dir = tempfile::tempdir().unwrap();
    write_k8s(dir.path(), &options()).unwrap();
    let monitor = dir.path().join("service-monitor.yaml");
    let text = std::fs::read_to_string(&monitor).unwrap();
    std::fs::write(
        &monitor,
        text.replace(
            "    scrapeTimeout: 10s",
            "    scrapeTimeout: 10s\n    intervall: 30s",
        ),
    )
    .unwrap();
    let example = dir.path().join("example-service.yaml");
    let text = std::fs::read_to_string(&example).unwrap();
    std::fs::write(
        &example,
        text.replacen("  replicas: 3", "  replicas: three", 1),
    )
    .unwrap();
    let (ok, report) = validate(&[monitor, example]);
    assert!(!ok, "{report}");
    assert!(report.contains("spec.endpoints.0.intervall"), "{report}");
    assert!(
        report.contains("'three' is not of type 'integer'"),
        "{report}"
    );
}

/// The image the Deployment runs: a build stage compiling the example and a
/// minimal runtime stage running it as a non-root user, listening on every
/// interface. No Docker daemon or registry is reachable here, so the file is
/// checked as text, against the command and port the manifests use.
#[test]
fn the_dockerfile_builds_the_example_and_runs_it_non_root() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Dockerfile"))
            .unwrap();
    let from: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "two stages: {from:?}");
    for f in &from {
        let image = f.split_whitespace().nth(1).unwrap();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(!tag.is_empty() && tag != "latest", "{image} pinned");
    }
    assert!(text.contains("--example observability_example"));
    let user = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("0") && !user.starts_with("root"),
        "{user}"
    );
    let entry = text.lines().find(|l| l.starts_with("ENTRYPOINT")).unwrap();
    assert_eq!(
        entry,
        r#"ENTRYPOINT ["/usr/local/bin/observability_example"]"#
    );
    // Default arguments in CMD, which a pod's `args` replace (the Deployment
    // passes its own --listen: one in ENTRYPOINT too would be given twice,
    // which the example refuses).
    let cmd = text.lines().find(|l| l.starts_with("CMD")).unwrap();
    let listen = format!("0.0.0.0:{}", megaobs::dashboards::k8s::EXAMPLE_PORT);
    assert!(cmd.contains(&listen), "{cmd}");
    let dir = tempfile::tempdir().unwrap();
    write_k8s(dir.path(), &K8sOptions::default()).unwrap();
    let example = documents(&dir.path().join("example-service.yaml"));
    let args: Vec<String> = example[0]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        args.iter().filter(|a| *a == "--listen").count(),
        1,
        "{args:?}"
    );
    assert!(args.contains(&listen), "{args:?}");
    // The arguments the Deployment passes are ones the example accepts.
    let out = std::process::Command::new(example_binary())
        .args(&args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
