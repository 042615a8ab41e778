//! Workflow, node, error-recovery and human-review metrics.

use std::sync::Arc;
use std::time::Duration;

use super::catalog::{
    MetricDesc, RECOVERY_ATTEMPTS, RECOVERY_SUCCESS, REVIEWS_COMPLETED, REVIEWS_PENDING,
    REVIEWS_REQUESTED, REVIEW_DURATION, WORKFLOW_DURATION, WORKFLOW_EXECUTIONS, WORKFLOW_NODES,
};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::LabelMap;
use super::labels::{ReviewDecision, Status};
use super::value::{Counter, Gauge};
use super::{Guards, MetricsCollector};

/// Workflows run for seconds to minutes (15.5 s is typical).
const WORKFLOW_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Human reviews take seconds to hours.
const REVIEW_BUCKETS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0,
];

/// Everything labelled by one workflow name, kept together so one lookup serves
/// every workflow-labelled family.
#[derive(Debug)]
pub(crate) struct WorkflowSeries {
    /// `workflow_duration_seconds`, with `workflow_executions_total` by status
    /// as co-located extra counters (one record touches one stripe).
    duration: Histogram,
    nodes: LabelMap<[Counter; 3]>,
    reviews_requested: LabelMap<Counter>,
    reviews_completed: [Counter; 3],
    review_duration: Histogram,
}

impl WorkflowSeries {
    #[inline]
    pub(crate) fn record(&self, status: Status, duration: Duration) {
        self.duration
            .observe_duration_and_count(duration, status.index());
    }
}

/// Builds the per-workflow series (also for workflows first seen at run time).
#[derive(Debug)]
struct SeriesFactory {
    cap: usize,
    workflow_buckets: Arc<Buckets>,
    review_buckets: Arc<Buckets>,
    node_overflow: Arc<Counter>,
    reason_overflow: Arc<Counter>,
}

impl SeriesFactory {
    fn make(&self) -> WorkflowSeries {
        WorkflowSeries {
            duration: Histogram::with_exemplars_and_counters(
                Arc::clone(&self.workflow_buckets),
                Status::ALL.len(),
            ),
            nodes: LabelMap::new(
                self.cap,
                Default::default(),
                Arc::clone(&self.node_overflow),
            ),
            reviews_requested: LabelMap::new(
                self.cap,
                Counter::default(),
                Arc::clone(&self.reason_overflow),
            ),
            reviews_completed: Default::default(),
            review_duration: Histogram::with_exemplars(Arc::clone(&self.review_buckets)),
        }
    }
}

#[derive(Debug)]
pub(crate) struct WorkflowMetrics {
    factory: SeriesFactory,
    workflows: LabelMap<WorkflowSeries>,
    recovery: LabelMap<[Counter; 2]>,
    reviews_pending: Gauge,
}

impl WorkflowMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        let factory = SeriesFactory {
            cap: guards.cap,
            workflow_buckets: Buckets::seconds(WORKFLOW_BUCKETS),
            review_buckets: Buckets::seconds(REVIEW_BUCKETS),
            node_overflow: guards.overflow_counter(&WORKFLOW_NODES),
            reason_overflow: guards.overflow_counter(&REVIEWS_REQUESTED),
        };
        Self {
            workflows: guards.map(&WORKFLOW_EXECUTIONS, factory.make()),
            recovery: guards.map(&RECOVERY_ATTEMPTS, Default::default()),
            reviews_pending: Gauge::default(),
            factory,
        }
    }

    #[inline]
    pub(crate) fn with_workflow<R>(&self, name: &str, f: impl FnOnce(&WorkflowSeries) -> R) -> R {
        self.workflows.with(name, || self.factory.make(), f)
    }

    pub(crate) fn workflow(&self, name: &str) -> Arc<WorkflowSeries> {
        self.workflows.get(name, || self.factory.make())
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        self.per_workflow(enc, &WORKFLOW_EXECUTIONS, |enc, wf, s| {
            for st in Status::ALL {
                enc.counter(
                    &WORKFLOW_EXECUTIONS,
                    &[wf, st.as_str()],
                    s.duration.extra_count(st.index()),
                );
            }
        });
        self.per_workflow(enc, &WORKFLOW_DURATION, |enc, wf, s| {
            enc.histogram(&WORKFLOW_DURATION, &[wf], &s.duration);
        });
        self.per_workflow(enc, &WORKFLOW_NODES, |enc, wf, s| {
            s.nodes.for_each(|node, counts| {
                for st in Status::ALL {
                    enc.counter(
                        &WORKFLOW_NODES,
                        &[wf, node, st.as_str()],
                        counts[st.index()].get(),
                    );
                }
            });
        });
        for (i, d) in [RECOVERY_ATTEMPTS, RECOVERY_SUCCESS].iter().enumerate() {
            enc.header(d);
            self.recovery
                .for_each(|strategy, c| enc.counter(d, &[strategy], c[i].get()));
        }
        self.per_workflow(enc, &REVIEWS_REQUESTED, |enc, wf, s| {
            s.reviews_requested
                .for_each(|reason, c| enc.counter(&REVIEWS_REQUESTED, &[wf, reason], c.get()));
        });
        enc.header(&REVIEWS_PENDING);
        enc.gauge(&REVIEWS_PENDING, &[], self.reviews_pending.get());
        self.per_workflow(enc, &REVIEWS_COMPLETED, |enc, wf, s| {
            for d in ReviewDecision::ALL {
                enc.counter(
                    &REVIEWS_COMPLETED,
                    &[wf, d.as_str()],
                    s.reviews_completed[d.index()].get(),
                );
            }
        });
        self.per_workflow(enc, &REVIEW_DURATION, |enc, wf, s| {
            enc.histogram(&REVIEW_DURATION, &[wf], &s.review_duration);
        });
    }

    fn per_workflow(
        &self,
        enc: &mut Encoder<'_>,
        d: &MetricDesc,
        mut f: impl FnMut(&mut Encoder<'_>, &str, &WorkflowSeries),
    ) {
        enc.header(d);
        self.workflows.for_each(|wf, s| f(enc, wf, s));
    }
}

/// Workflow-level recording (`record_workflow_*` and the human review helpers).
impl MetricsCollector {
    /// Records one finished workflow execution: `workflow_executions_total`
    /// and `workflow_duration_seconds` (with an exemplar when a sampled span is current).
    ///
    /// ```
    /// use std::time::Duration;
    /// use megaobs::metrics::{MetricsCollector, Status};
    /// let collector = MetricsCollector::new();
    /// collector.record_workflow_execution("research_workflow", Status::Success, Duration::from_secs_f64(15.5));
    /// assert!(collector.encode_text().contains(
    ///     r#"workflow_executions_total{workflow_name="research_workflow",status="success"} 1"#));
    /// ```
    #[inline]
    pub fn record_workflow_execution(&self, workflow: &str, status: Status, duration: Duration) {
        self.inner
            .workflow
            .with_workflow(workflow, |s| s.record(status, duration));
    }

    /// Records one node execution (`workflow_nodes_executed_total`).
    #[inline]
    pub fn record_workflow_node(&self, workflow: &str, node: &str, status: Status) {
        self.inner.workflow.with_workflow(workflow, |s| {
            s.nodes.with(node, Default::default, |c: &[Counter; 3]| {
                c[status.index()].inc()
            });
        });
    }

    /// Counts an error-recovery attempt with `strategy` (e.g. `exponential_backoff`).
    #[inline]
    pub fn record_error_recovery_attempt(&self, strategy: &str) {
        self.inner
            .workflow
            .recovery
            .with(strategy, Default::default, |c| c[0].inc());
    }

    /// Counts a successful error recovery with `strategy`.
    #[inline]
    pub fn record_error_recovery_success(&self, strategy: &str) {
        self.inner
            .workflow
            .recovery
            .with(strategy, Default::default, |c| c[1].inc());
    }

    /// Counts a human review request and raises `workflow_human_reviews_pending`.
    pub fn record_human_review_requested(&self, workflow: &str, reason: &str) {
        self.inner.workflow.with_workflow(workflow, |s| {
            s.reviews_requested
                .with(reason, Counter::default, Counter::inc);
        });
        self.inner.workflow.reviews_pending.inc();
    }

    /// Counts a completed review, observes how long it took, and lowers
    /// `workflow_human_reviews_pending` (never below zero).
    pub fn record_human_review_completed(
        &self,
        workflow: &str,
        decision: ReviewDecision,
        duration: Duration,
    ) {
        self.inner.workflow.with_workflow(workflow, |s| {
            s.reviews_completed[decision.index()].inc();
            s.review_duration.observe_duration(duration);
        });
        self.inner.workflow.reviews_pending.dec_saturating();
    }

    /// Human reviews currently pending.
    pub fn human_reviews_pending(&self) -> i64 {
        self.inner.workflow.reviews_pending.get()
    }
}
