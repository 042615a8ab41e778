//! Vector store metrics: operations, latency, collection dimensions and sizes.

use std::sync::Arc;
use std::time::Duration;

use super::catalog::{VECTOR_DIMENSIONS, VECTOR_DURATION, VECTOR_OPERATIONS, VECTOR_VECTORS};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::LabelMap;
use super::labels::Status;
use super::value::{Counter, Gauge};
use super::{Guards, MetricsCollector};

const VECTOR_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

#[derive(Debug)]
pub(crate) struct OperationSeries {
    counts: [Counter; 3],
    duration: Histogram,
}

#[derive(Debug, Default)]
pub(crate) struct CollectionSeries {
    dimensions: Gauge,
    vectors: Gauge,
}

#[derive(Debug)]
pub(crate) struct VectorStoreMetrics {
    buckets: Arc<Buckets>,
    operations: LabelMap<OperationSeries>,
    collections: LabelMap<CollectionSeries>,
}

impl VectorStoreMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        let buckets = Buckets::seconds(VECTOR_BUCKETS);
        let overflow = Self::series(&buckets);
        Self {
            operations: guards.map(&VECTOR_OPERATIONS, overflow),
            collections: guards.map(&VECTOR_DIMENSIONS, CollectionSeries::default()),
            buckets,
        }
    }

    fn series(b: &Arc<Buckets>) -> OperationSeries {
        OperationSeries {
            counts: Default::default(),
            duration: Histogram::with_exemplars(Arc::clone(b)),
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&VECTOR_OPERATIONS);
        self.operations.for_each(|op, s| {
            for st in Status::ALL {
                enc.counter(
                    &VECTOR_OPERATIONS,
                    &[op, st.as_str()],
                    s.counts[st.index()].get(),
                );
            }
        });
        enc.header(&VECTOR_DURATION);
        self.operations
            .for_each(|op, s| enc.histogram(&VECTOR_DURATION, &[op], &s.duration));
        enc.header(&VECTOR_DIMENSIONS);
        self.collections
            .for_each(|c, s| enc.gauge(&VECTOR_DIMENSIONS, &[c], s.dimensions.get()));
        enc.header(&VECTOR_VECTORS);
        self.collections
            .for_each(|c, s| enc.gauge(&VECTOR_VECTORS, &[c], s.vectors.get()));
    }
}

/// Vector store recording.
impl MetricsCollector {
    /// Records one vector store operation (`search`, `upsert`, ...).
    #[inline]
    pub fn record_vector_store_operation(
        &self,
        operation: &str,
        status: Status,
        duration: Duration,
    ) {
        let v = &self.inner.vector_store;
        v.operations.with(
            operation,
            || VectorStoreMetrics::series(&v.buckets),
            |s| {
                s.counts[status.index()].inc();
                s.duration.observe_duration(duration);
            },
        );
    }

    /// Sets the embedding dimensions and the number of vectors of `collection`.
    pub fn set_vector_store_collection(&self, collection: &str, dimensions: u32, vectors: u64) {
        self.inner
            .vector_store
            .collections
            .with(collection, CollectionSeries::default, |s| {
                s.dimensions.set(i64::from(dimensions));
                s.vectors.set(i64::try_from(vectors).unwrap_or(i64::MAX));
            });
    }
}
