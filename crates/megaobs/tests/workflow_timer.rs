//! WorkflowTimer records exactly once, whatever way the scope is left.

mod common;

use std::time::Duration;

use common::sample;
use megaobs::metrics::{MetricsCollector, Status, WorkflowTimer};

fn count(c: &MetricsCollector, wf: &str, status: &str) -> f64 {
    let series = format!(r#"workflow_executions_total{{workflow_name="{wf}",status="{status}"}}"#);
    sample(&c.encode_text(), &series).unwrap_or(0.0)
}

fn durations(c: &MetricsCollector, wf: &str) -> f64 {
    sample(
        &c.encode_text(),
        &format!(r#"workflow_duration_seconds_count{{workflow_name="{wf}"}}"#),
    )
    .unwrap_or(0.0)
}

#[test]
fn success_records_once_with_the_elapsed_time() {
    let c = MetricsCollector::new();
    {
        let mut t = WorkflowTimer::new(&c, "wf");
        std::thread::sleep(Duration::from_millis(20));
        t.set_status(Status::Success);
    }
    assert_eq!(count(&c, "wf", "success"), 1.0);
    assert_eq!(count(&c, "wf", "error"), 0.0);
    assert_eq!(durations(&c, "wf"), 1.0);
    let sum = sample(
        &c.encode_text(),
        r#"workflow_duration_seconds_sum{workflow_name="wf"}"#,
    )
    .unwrap();
    assert!((0.020..5.0).contains(&sum), "{sum}");
}

#[test]
fn unset_status_is_an_error() {
    let c = MetricsCollector::new();
    drop(WorkflowTimer::new(&c, "wf"));
    assert_eq!(count(&c, "wf", "error"), 1.0);
}

#[test]
fn early_return_and_question_mark_record_error() {
    let c = MetricsCollector::new();
    fn early(c: &MetricsCollector) -> u32 {
        let mut t = c.workflow_timer("wf");
        if t.elapsed() < Duration::from_secs(3600) {
            return 1;
        }
        t.set_status(Status::Success);
        2
    }
    fn fallible(c: &MetricsCollector, input: &str) -> Result<u32, std::num::ParseIntError> {
        let mut t = WorkflowTimer::new(c, "wf");
        let n = input.parse::<u32>()?;
        t.set_status(Status::Success);
        Ok(n)
    }
    early(&c);
    assert!(fallible(&c, "nope").is_err());
    assert_eq!(fallible(&c, "7"), Ok(7));
    assert_eq!(count(&c, "wf", "error"), 2.0);
    assert_eq!(count(&c, "wf", "success"), 1.0);
    assert_eq!(durations(&c, "wf"), 3.0);
}

#[test]
fn panic_records_error_even_after_success_was_set() {
    let c = MetricsCollector::new();
    let c2 = c.clone();
    let r = std::panic::catch_unwind(move || {
        let mut t = WorkflowTimer::new(&c2, "wf");
        t.set_status(Status::Success);
        panic!("node exploded");
    });
    assert!(r.is_err());
    assert_eq!(count(&c, "wf", "error"), 1.0);
    assert_eq!(count(&c, "wf", "success"), 0.0);
}

#[test]
fn finish_with_records_once_and_drop_does_not_record_again() {
    let c = MetricsCollector::new();
    let t = WorkflowTimer::new(&c, "wf");
    let elapsed = t.finish_with(Status::Timeout);
    assert!(elapsed < Duration::from_secs(5));
    assert_eq!(count(&c, "wf", "timeout"), 1.0);
    assert_eq!(durations(&c, "wf"), 1.0);
}
