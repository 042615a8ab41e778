//! Database metrics: pool connections, query latency, query errors.

use std::sync::Arc;
use std::time::Duration;

use super::catalog::{DB_CONNECTIONS, DB_QUERY_DURATION, DB_QUERY_ERRORS};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::LabelMap;
use super::labels::{ConnectionState, Status};
use super::value::{Counter, Gauge};
use super::{Guards, MetricsCollector};

const QUERY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug)]
pub(crate) struct QuerySeries {
    duration: Histogram,
    errors: Counter,
}

#[derive(Debug)]
pub(crate) struct DatabaseMetrics {
    buckets: Arc<Buckets>,
    connections: [Gauge; 2],
    queries: LabelMap<QuerySeries>,
}

impl DatabaseMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        let buckets = Buckets::seconds(QUERY_BUCKETS);
        let overflow = Self::series(&buckets);
        Self {
            connections: Default::default(),
            queries: guards.map(&DB_QUERY_DURATION, overflow),
            buckets,
        }
    }

    fn series(b: &Arc<Buckets>) -> QuerySeries {
        QuerySeries {
            duration: Histogram::with_exemplars(Arc::clone(b)),
            errors: Counter::default(),
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&DB_CONNECTIONS);
        for s in ConnectionState::ALL {
            enc.gauge(
                &DB_CONNECTIONS,
                &[s.as_str()],
                self.connections[s.index()].get(),
            );
        }
        enc.header(&DB_QUERY_DURATION);
        self.queries
            .for_each(|op, s| enc.histogram(&DB_QUERY_DURATION, &[op], &s.duration));
        enc.header(&DB_QUERY_ERRORS);
        self.queries
            .for_each(|op, s| enc.counter(&DB_QUERY_ERRORS, &[op], s.errors.get()));
    }
}

/// Database recording.
impl MetricsCollector {
    /// Records one query of kind `operation` (e.g. `select_document`):
    /// its latency, and an error unless `status` is success.
    #[inline]
    pub fn record_database_query(&self, operation: &str, status: Status, duration: Duration) {
        let db = &self.inner.database;
        db.queries.with(
            operation,
            || DatabaseMetrics::series(&db.buckets),
            |s| {
                s.duration.observe_duration(duration);
                if status != Status::Success {
                    s.errors.inc();
                }
            },
        );
    }

    /// Sets the pool's connection counts (`database_connections{state}`).
    pub fn set_database_connections(&self, active: i64, idle: i64) {
        let c = &self.inner.database.connections;
        c[ConnectionState::Active.index()].set(active);
        c[ConnectionState::Idle.index()].set(idle);
    }
}
