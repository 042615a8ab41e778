//! The default exporter, `console`: one readable line per sampled span on the
//! process' real standard output. The test runs itself as a child process
//! (this same test binary, with an environment variable set) and reads what
//! the child printed.

use std::process::Command;

use megaobs::trace::{TracingConfig, TracingContext};

const CHILD: &str = "MEGAOBS_CONSOLE_CHILD";

#[test]
fn console_exporter_prints_one_line_per_span() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "console_exporter_prints_one_line_per_span",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let spans: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("[span] console-test "))
        .collect();
    assert_eq!(spans.len(), 2, "{stdout}");
    let ids = |line: &str, key: &str| {
        line.split(' ')
            .find_map(|w| w.strip_prefix(key))
            .map(str::to_string)
    };
    let child = spans
        .iter()
        .find(|l| l.contains(" load_documents "))
        .expect("child span line");
    let root = spans
        .iter()
        .find(|l| l.contains(" research_workflow "))
        .expect("root span line");
    // The child ends first, so its line comes first.
    assert!(spans[0].contains(" load_documents "), "{stdout}");
    assert_eq!(ids(child, "trace_id="), ids(root, "trace_id="));
    assert_eq!(ids(child, "parent_id="), ids(root, "span_id="));
    assert!(
        ids(root, "parent_id=").is_none(),
        "a root has no parent: {root}"
    );
    assert_eq!(ids(root, "trace_id=").unwrap().len(), 32);
    assert!(
        child.contains(" status=ERROR(database unreachable)"),
        "{child}"
    );
    assert!(child.contains(" documents=3"), "{child}");
    assert!(child.contains(" event=exception"), "{child}");
    assert!(root.contains(" user_id=u1"), "{root}");
    assert!(
        root.contains(" api_key=[REDACTED]") && !stdout.contains("sk-live"),
        "secrets are redacted on the console too: {root}"
    );
    assert!(root.contains(" duration_ms="), "{root}");
}

fn child() {
    // The default configuration exports to the console.
    let config = TracingConfig::default().service_name("console-test");
    let guard = megaobs::init_tracing(config).unwrap();
    {
        let root = TracingContext::new("research_workflow");
        root.set_attribute("user_id", "u1");
        root.set_attribute("api_key", "sk-live-123");
        let step = TracingContext::new("load_documents");
        step.set_attribute("documents", 3);
        step.record_error(&std::io::Error::other("database unreachable"));
    }
    assert!(guard.shutdown());
}
