//! Routing metrics: which route was chosen, with what confidence.

use std::sync::Arc;

use super::catalog::{ROUTING_CONFIDENCE, ROUTING_DECISIONS};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::LabelMap;
use super::value::Counter;
use super::{Guards, MetricsCollector};

const CONFIDENCE_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0];

#[derive(Debug)]
pub(crate) struct RouteDecisions {
    decisions: Counter,
    confidence: Histogram,
}

#[derive(Debug)]
pub(crate) struct RoutingMetrics {
    buckets: Arc<Buckets>,
    routes: LabelMap<RouteDecisions>,
}

impl RoutingMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        // Six decimal places of the score are kept in the sum.
        let buckets = Buckets::with_scale(CONFIDENCE_BUCKETS, 1e-6);
        let overflow = Self::series(&buckets);
        Self {
            routes: guards.map(&ROUTING_DECISIONS, overflow),
            buckets,
        }
    }

    fn series(b: &Arc<Buckets>) -> RouteDecisions {
        RouteDecisions {
            decisions: Counter::default(),
            confidence: Histogram::new(Arc::clone(b)),
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&ROUTING_DECISIONS);
        self.routes
            .for_each(|r, s| enc.counter(&ROUTING_DECISIONS, &[r], s.decisions.get()));
        enc.header(&ROUTING_CONFIDENCE);
        self.routes
            .for_each(|r, s| enc.histogram(&ROUTING_CONFIDENCE, &[r], &s.confidence));
    }
}

/// Routing recording.
impl MetricsCollector {
    /// Records a routing decision to `route` with `confidence` in 0..=1
    /// (values outside are clamped).
    #[inline]
    pub fn record_routing_decision(&self, route: &str, confidence: f64) {
        let r = &self.inner.routing;
        r.routes.with(
            route,
            || RoutingMetrics::series(&r.buckets),
            |s| {
                s.decisions.inc();
                s.confidence.observe(confidence.clamp(0.0, 1.0));
            },
        );
    }
}
