//! LLM metrics: requests, latency, tokens, cache hits, per model.

use std::sync::Arc;
use std::time::Duration;

use super::catalog::{LLM_CACHE_HITS, LLM_DURATION, LLM_REQUESTS, LLM_TOKENS};
use super::encode::Encoder;
use super::histogram::{Buckets, Histogram};
use super::label_map::LabelMap;
use super::labels::{Status, TokenType};
use super::value::Counter;
use super::{Guards, MetricsCollector};

/// The OpenTelemetry GenAI `gen_ai.client.operation.duration` buckets (0.01 s doubling to 81.92 s).
const LLM_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

#[derive(Debug)]
pub(crate) struct LlmSeries {
    requests: [Counter; 3],
    duration: Histogram,
    tokens: [Counter; 2],
    cache_hits: Counter,
}

#[derive(Debug)]
pub(crate) struct LlmMetrics {
    buckets: Arc<Buckets>,
    models: LabelMap<LlmSeries>,
}

impl LlmMetrics {
    pub(crate) fn new(guards: &mut Guards) -> Self {
        let buckets = Buckets::seconds(LLM_BUCKETS);
        let overflow = Self::series(&buckets);
        Self {
            models: guards.map(&LLM_REQUESTS, overflow),
            buckets,
        }
    }

    fn series(b: &Arc<Buckets>) -> LlmSeries {
        LlmSeries {
            requests: Default::default(),
            duration: Histogram::with_exemplars(Arc::clone(b)),
            tokens: Default::default(),
            cache_hits: Counter::default(),
        }
    }

    #[inline]
    fn with(&self, model: &str, f: impl FnOnce(&LlmSeries)) {
        self.models.with(model, || Self::series(&self.buckets), f);
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&LLM_REQUESTS);
        self.models.for_each(|m, s| {
            for st in Status::ALL {
                enc.counter(
                    &LLM_REQUESTS,
                    &[m, st.as_str()],
                    s.requests[st.index()].get(),
                );
            }
        });
        enc.header(&LLM_DURATION);
        self.models
            .for_each(|m, s| enc.histogram(&LLM_DURATION, &[m], &s.duration));
        enc.header(&LLM_TOKENS);
        self.models.for_each(|m, s| {
            for t in TokenType::ALL {
                enc.counter(&LLM_TOKENS, &[m, t.as_str()], s.tokens[t.index()].get());
            }
        });
        enc.header(&LLM_CACHE_HITS);
        self.models
            .for_each(|m, s| enc.counter(&LLM_CACHE_HITS, &[m], s.cache_hits.get()));
    }
}

/// LLM recording.
impl MetricsCollector {
    /// Records one LLM call: outcome, latency and token counts.
    #[inline]
    pub fn record_llm_request(
        &self,
        model: &str,
        status: Status,
        duration: Duration,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) {
        self.inner.llm.with(model, |s| {
            s.requests[status.index()].inc();
            s.duration.observe_duration(duration);
            s.tokens[TokenType::Prompt.index()].inc_by(prompt_tokens);
            s.tokens[TokenType::Completion.index()].inc_by(completion_tokens);
        });
    }

    /// Counts an LLM call answered from a cache instead of the model.
    #[inline]
    pub fn record_llm_cache_hit(&self, model: &str) {
        self.inner.llm.with(model, |s| s.cache_hits.inc());
    }
}
