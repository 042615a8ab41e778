//! The quickstart example, run as a test: it sets up megaobs from the
//! environment, serves `/metrics` on an ephemeral port, scrapes itself once
//! and exits 0, having printed the workflow metrics it recorded.
#![cfg(feature = "axum")]

// Only the binary locator of the shared helpers: the rest (trace receivers)
// is not needed here.
#[allow(dead_code)]
#[path = "common/example.rs"]
mod example;

use std::process::Command;

#[test]
fn the_quickstart_records_serves_and_scrapes_its_metrics() {
    let logs = tempfile::tempdir().unwrap();
    let out = Command::new(example::built_example("quickstart"))
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("LOG_DIR", logs.path())
        .env("TRACING_EXPORTER", "console")
        .env_remove("QUICKSTART_SECONDS")
        .output()
        .expect("run the quickstart example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit status {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains("metrics: http://127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("workflow_duration_seconds_count{workflow_name=\"research_workflow\"} 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("workflow_nodes_executed_total{"),
        "{stdout}"
    );
    // The log line inside the span went to the log file, with the span's trace id.
    let log = std::fs::read_to_string(logs.path().join("megaagent-pro.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("research started"))
        .unwrap_or_else(|| panic!("no \"research started\" line in:\n{log}"));
    assert!(line.contains("\"trace_id\""), "{line}");
}

#[test]
fn an_invalid_setting_is_reported_as_a_sentence() {
    let out = Command::new(example::built_example("quickstart"))
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("TRACING_SAMPLE_RATE", "often")
        .output()
        .expect("run the quickstart example");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("TRACING_SAMPLE_RATE"),
        "{stderr}"
    );
}
