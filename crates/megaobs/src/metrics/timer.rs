//! [`WorkflowTimer`]: times a workflow and records it exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::labels::Status;
use super::workflow::WorkflowSeries;
use super::MetricsCollector;

/// Times one workflow execution; records `workflow_executions_total` and
/// `workflow_duration_seconds` exactly once, when finished or dropped.
///
/// The status is what [`set_status`](Self::set_status) last set, or
/// [`Status::Error`] if it was never set — so an early `return`, a `?` or a
/// panic that leaves the scope counts as an error without any extra code. A
/// panic always records `error`, even after `set_status(Success)`.
///
/// ```
/// use megaobs::metrics::{MetricsCollector, Status, WorkflowTimer};
///
/// fn research(collector: &MetricsCollector, query: &str) -> Result<usize, String> {
///     let mut timer = WorkflowTimer::new(collector, "research_workflow");
///     if query.is_empty() {
///         return Err("empty query".into()); // recorded as status="error"
///     }
///     timer.set_status(Status::Success);
///     Ok(query.len())
/// }
///
/// let collector = MetricsCollector::new();
/// research(&collector, "What is AI?").unwrap();
/// research(&collector, "").unwrap_err();
/// let text = collector.encode_text();
/// assert!(text.contains(r#"workflow_executions_total{workflow_name="research_workflow",status="success"} 1"#));
/// assert!(text.contains(r#"workflow_executions_total{workflow_name="research_workflow",status="error"} 1"#));
/// ```
#[derive(Debug)]
#[must_use = "a WorkflowTimer records when dropped; bind it to a variable (`let _timer = ...`)"]
pub struct WorkflowTimer {
    series: Arc<WorkflowSeries>,
    start: Instant,
    status: Option<Status>,
    recorded: bool,
}

impl WorkflowTimer {
    /// Starts timing `workflow` now.
    pub fn new(collector: &MetricsCollector, workflow: &str) -> Self {
        Self {
            series: collector.inner.workflow.workflow(workflow),
            start: Instant::now(),
            status: None,
            recorded: false,
        }
    }

    /// Sets the status to record (the last call wins).
    pub fn set_status(&mut self, status: Status) {
        self.status = Some(status);
    }

    /// The status set so far, if any.
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// Time since the timer started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records now, with `status`, and returns the measured duration.
    pub fn finish_with(mut self, status: Status) -> Duration {
        self.status = Some(status);
        self.record()
    }

    fn record(&mut self) -> Duration {
        let elapsed = self.start.elapsed();
        if !self.recorded {
            self.recorded = true;
            let status = if std::thread::panicking() {
                Status::Error
            } else {
                self.status.unwrap_or(Status::Error)
            };
            self.series.record(status, elapsed);
        }
        elapsed
    }
}

impl Drop for WorkflowTimer {
    fn drop(&mut self) {
        self.record();
    }
}

impl MetricsCollector {
    /// Starts a [`WorkflowTimer`] for `workflow` on this collector.
    pub fn workflow_timer(&self, workflow: &str) -> WorkflowTimer {
        WorkflowTimer::new(self, workflow)
    }
}
