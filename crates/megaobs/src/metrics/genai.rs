//! GenAI metrics, named after the OpenTelemetry GenAI semantic conventions
//! (dots → underscores, unit suffixes): model call duration, token usage, time
//! to first chunk and per output chunk, cost from the price table, and agent
//! and tool durations.
//!
//! Series are keyed provider → model (two cardinality-guarded maps) and hold
//! one block of histograms per [`GenAiOperation`], created on first use.
//! Failures go to a third guarded map by `error_type`.
//!
//! Cost: each series keeps exact integer token totals per [`GenAiTokenType`];
//! `gen_ai_client_cost_usd_total` is `tokens × price / 1e6` computed at scrape
//! time, so it does not depend on the order or the threads calls were recorded
//! from (adding floats call by call would). A model without a price is never
//! priced at 0: it gets no cost series, its calls are counted in
//! `gen_ai_client_unpriced_operations_total`, and it is warned about once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use super::catalog::{
    GENAI_AGENT_DURATION, GENAI_COST, GENAI_DURATION, GENAI_TOKENS, GENAI_TOOL_DURATION,
    GENAI_TPOC, GENAI_TTFC, GENAI_UNPRICED,
};
use super::chunks::{ChunkTimes, GENAI_DURATION_BUCKETS};
use super::encode::Encoder;
use super::exemplar::SpanRef;
use super::histogram::{Buckets, Histogram};
use super::label_map::LabelMap;
use super::labels::{GenAiOperation, GenAiTokenType};
use super::prices::{ModelPrice, PriceTable};
use super::value::Counter;
use super::{Guards, MetricsCollector};

/// `gen_ai.client.token.usage` buckets (OpenTelemetry GenAI conventions): powers of 4 from 1 to 4^13.
const TOKEN_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// Most `error_type` values kept per series (the rest go to the overflow
/// value): error types are a short list, and this cap multiplies with the
/// provider, model and operation caps.
const MAX_ERROR_TYPES: usize = 16;

/// `gen_ai.invoke_agent.duration` buckets (OpenTelemetry GenAI conventions):
/// doubling from 0.1 s to 409.6 s, as one agent invocation spans many model
/// and tool calls.
const AGENT_DURATION_BUCKETS: &[f64] = &[
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
];

/// Token counts of one model call in the four disjoint [`GenAiTokenType`]s.
///
/// Providers report usage differently; the helpers map each style so that no
/// token is counted twice and each is billed at its own price:
///
/// | provider style | fields | mapping |
/// | --- | --- | --- |
/// | OpenAI (Chat Completions, Responses) | `prompt_tokens` (or `input_tokens`) *including* `prompt_tokens_details.cached_tokens`; `completion_tokens` (or `output_tokens`) *including* `completion_tokens_details.reasoning_tokens` | [`from_openai`](Self::from_openai): input = prompt − cached, cached_input = cached, output = completion − reasoning, reasoning = reasoning |
/// | Anthropic (Messages) | `input_tokens` *excluding* cache reads and writes; `cache_read_input_tokens`; `cache_creation_input_tokens`; `output_tokens` (thinking included, not reported apart) | [`from_anthropic`](Self::from_anthropic): input = input + cache_creation, cached_input = cache_read, output = output, reasoning = 0 |
///
/// Cache *writes* (Anthropic's `cache_creation_input_tokens`) are counted as
/// `input`: they are processed like uncached input (Anthropic bills them at a
/// premium over the input price, which the price table does not model).
///
/// ```
/// use megaobs::metrics::TokenUsage;
///
/// // OpenAI: 1200 prompt tokens of which 1000 cached; 300 completion tokens of which 200 reasoning.
/// let u = TokenUsage::from_openai(1200, 300, 1000, 200);
/// assert_eq!((u.input, u.cached_input, u.output, u.reasoning), (200, 1000, 100, 200));
/// // Anthropic: 50 uncached input, 10 written to the cache, 1000 read from it, 300 output.
/// let u = TokenUsage::from_anthropic(50, 10, 1000, 300);
/// assert_eq!((u.input, u.cached_input, u.output, u.reasoning), (60, 1000, 300, 0));
/// assert_eq!(u.total_input(), 1060);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokenUsage {
    /// Uncached input tokens.
    pub input: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: u64,
    /// Visible output tokens.
    pub output: u64,
    /// Hidden reasoning tokens.
    pub reasoning: u64,
}

impl TokenUsage {
    /// Usage from the four disjoint counts.
    pub const fn new(input: u64, cached_input: u64, output: u64, reasoning: u64) -> Self {
        Self {
            input,
            cached_input,
            output,
            reasoning,
        }
    }

    /// Maps OpenAI-style usage, where cached and reasoning tokens are subsets
    /// of the prompt and completion counts (see the table above). A subset
    /// larger than its total is capped at the total.
    pub fn from_openai(
        prompt_tokens: u64,
        completion_tokens: u64,
        cached_tokens: u64,
        reasoning_tokens: u64,
    ) -> Self {
        let cached = cached_tokens.min(prompt_tokens);
        let reasoning = reasoning_tokens.min(completion_tokens);
        Self::new(
            prompt_tokens - cached,
            cached,
            completion_tokens - reasoning,
            reasoning,
        )
    }

    /// Maps Anthropic-style usage, where cache reads and writes are reported
    /// apart from `input_tokens` (see the table above).
    pub fn from_anthropic(
        input_tokens: u64,
        cache_creation_input_tokens: u64,
        cache_read_input_tokens: u64,
        output_tokens: u64,
    ) -> Self {
        Self::new(
            input_tokens.saturating_add(cache_creation_input_tokens),
            cache_read_input_tokens,
            output_tokens,
            0,
        )
    }

    /// The count of one type.
    pub fn get(&self, t: GenAiTokenType) -> u64 {
        match t {
            GenAiTokenType::Input => self.input,
            GenAiTokenType::CachedInput => self.cached_input,
            GenAiTokenType::Output => self.output,
            GenAiTokenType::Reasoning => self.reasoning,
        }
    }

    /// All input tokens, cached or not (`gen_ai.usage.input_tokens`).
    pub fn total_input(&self) -> u64 {
        self.input.saturating_add(self.cached_input)
    }

    /// All output tokens, visible or reasoning (`gen_ai.usage.output_tokens`).
    pub fn total_output(&self) -> u64 {
        self.output.saturating_add(self.reasoning)
    }

    /// Whether every count is zero.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// What this usage costs at `price`, in USD.
    pub fn cost(&self, price: &ModelPrice) -> f64 {
        GenAiTokenType::ALL
            .iter()
            .map(|t| price.cost(*t, self.get(*t)))
            .sum()
    }
}

/// Shared settings of the GenAI series.
#[derive(Debug)]
pub(crate) struct Shared {
    cap: usize,
    durations: Arc<Buckets>,
    agent_durations: Arc<Buckets>,
    tokens: Arc<Buckets>,
    error_overflow: Arc<Counter>,
    model_overflow: Arc<Counter>,
    prices: ArcSwap<PriceTable>,
    /// Bumped by every `set_prices` after it stores its table: a series whose
    /// price was read at an older version reprices (one made while
    /// `set_prices` walked the others is not in that walk).
    prices_version: AtomicU64,
    warned: Mutex<HashSet<String>>,
}

impl Shared {
    /// The price table with a version no newer than it (read in that order).
    fn prices_now(&self) -> (u64, arc_swap::Guard<Arc<PriceTable>>) {
        let version = self.prices_version.load(Ordering::Acquire);
        (version, self.prices.load())
    }
}

/// One operation's histograms for one provider and model.
#[derive(Debug)]
pub(crate) struct OpSeries {
    duration: Histogram,
    errors: LabelMap<Histogram>,
    tokens: [Histogram; 4],
    ttfc: Histogram,
    tpoc: Histogram,
}

/// The price a model series is billed at, and the cost folded in before a
/// price change.
#[derive(Debug, Default)]
struct Billing {
    price: Option<ModelPrice>,
    /// Cost in USD of the tokens counted before the last price change.
    folded: [f64; 4],
    /// Token totals at the last price change.
    at_fold: [u64; 4],
}

/// Everything recorded for one provider and model (or, for the overflow
/// series, for every model of a provider past the label cap).
#[derive(Debug)]
pub(crate) struct ModelSeries {
    shared: Arc<Shared>,
    model: Arc<str>,
    /// The overflow series: its calls are priced one by one, by their own
    /// model's price, since its token totals mix models.
    overflow: bool,
    ops: [OnceLock<OpSeries>; 4],
    tokens: [Counter; 4],
    unpriced: Counter,
    priced: AtomicBool,
    /// The `prices_version` its price was read at.
    priced_at: AtomicU64,
    warned: AtomicBool,
    billing: Mutex<Billing>,
}

impl ModelSeries {
    fn new(shared: &Arc<Shared>, model: &str) -> Self {
        let (version, table) = shared.prices_now();
        let price = table.get(model).copied();
        Self {
            shared: Arc::clone(shared),
            model: model.into(),
            overflow: model == super::OVERFLOW_LABEL_VALUE,
            ops: Default::default(),
            tokens: Default::default(),
            unpriced: Counter::default(),
            priced: AtomicBool::new(price.is_some()),
            priced_at: AtomicU64::new(version),
            warned: AtomicBool::new(false),
            billing: Mutex::new(Billing {
                price,
                ..Billing::default()
            }),
        }
    }

    #[inline]
    pub(crate) fn op(&self, op: GenAiOperation) -> &OpSeries {
        self.ops[op.index()].get_or_init(|| {
            let s = &self.shared;
            OpSeries {
                duration: Histogram::with_exemplars(Arc::clone(&s.durations)),
                errors: LabelMap::new(
                    s.cap.min(MAX_ERROR_TYPES),
                    Histogram::with_exemplars(Arc::clone(&s.durations)),
                    Arc::clone(&s.error_overflow),
                ),
                tokens: std::array::from_fn(|_| Histogram::new(Arc::clone(&s.tokens))),
                ttfc: Histogram::with_exemplars(Arc::clone(&s.durations)),
                tpoc: Histogram::new(Arc::clone(&s.durations)),
            }
        })
    }

    /// Whether this is the overflow series of a provider's models.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn is_overflow(&self) -> bool {
        self.overflow
    }

    /// The price of a call to `model` recorded here: the series' own, or for
    /// the overflow series, `model`'s in the table.
    pub(crate) fn price_for(&self, model: &str) -> Option<ModelPrice> {
        if self.overflow {
            self.shared.prices.load().get(model).copied()
        } else {
            self.price()
        }
    }

    /// The model's price now, if it has one.
    pub(crate) fn price(&self) -> Option<ModelPrice> {
        self.catch_up();
        if self.priced.load(Ordering::Relaxed) {
            self.billing.lock().price
        } else {
            None
        }
    }

    /// Records one finished call to `model` (read by the overflow series
    /// only). `chunks` is `Some` for streamed calls.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        op: GenAiOperation,
        model: &str,
        duration: Duration,
        error_type: Option<&str>,
        usage: &TokenUsage,
        chunks: Option<&ChunkTimes>,
        exemplar: Option<SpanRef>,
    ) {
        let s = self.op(op);
        match error_type {
            None => s.duration.observe_duration_exemplar(duration, exemplar),
            Some(e) => s.errors.with(
                e,
                || Histogram::with_exemplars(Arc::clone(&self.shared.durations)),
                |h| h.observe_duration_exemplar(duration, exemplar),
            ),
        }
        if let Some(c) = chunks {
            if let Some(ttfc) = c.time_to_first_chunk() {
                s.ttfc.observe_duration_exemplar(ttfc, exemplar);
            }
            let (counts, sum_ns) = c.gaps();
            if c.chunks() > 1 {
                s.tpoc.merge(counts, sum_ns);
            }
        }
        self.record_tokens(s, model, usage);
    }

    fn record_tokens(&self, s: &OpSeries, model: &str, usage: &TokenUsage) {
        if usage.is_empty() {
            return;
        }
        // Before the tokens are counted, so that they are billed at the new price.
        self.catch_up();
        for t in GenAiTokenType::ALL {
            let n = usage.get(*t);
            // Input and output are recorded for every call with usage (as the
            // conventions do); cached and reasoning counts only when present.
            if n > 0 || matches!(t, GenAiTokenType::Input | GenAiTokenType::Output) {
                s.tokens[t.index()].observe(n as f64);
            }
            self.tokens[t.index()].inc_by(n);
        }
        let priced = if self.overflow {
            self.bill_overflow(model, usage)
        } else {
            self.priced.load(Ordering::Relaxed)
        };
        if !priced {
            self.unpriced.inc();
            if !self.warned.swap(true, Ordering::Relaxed) {
                self.warn_unpriced(if self.overflow { model } else { &self.model });
            }
        }
    }

    /// Adds one call's cost at its own model's price to the overflow series;
    /// false if that model has no price.
    #[cold]
    fn bill_overflow(&self, model: &str, usage: &TokenUsage) -> bool {
        let Some(price) = self.shared.prices.load().get(model).copied() else {
            return false;
        };
        let mut b = self.billing.lock();
        for t in GenAiTokenType::ALL {
            b.folded[t.index()] += price.cost(*t, usage.get(*t));
        }
        true
    }

    /// Warns once per model name (once per series for the overflow series,
    /// whose model names are unbounded).
    #[cold]
    fn warn_unpriced(&self, model: &str) {
        let first = self.shared.warned.lock().insert(model.to_string());
        if first {
            tracing::warn!(
                model,
                "no price for model {:?} in the LLM price table (LLM_PRICES): its calls are counted in gen_ai_client_unpriced_operations_total and get no cost; add [models.{:?}] with input and output prices in USD per million tokens",
                model,
                model
            );
        }
    }

    /// Reprices if a newer table was set after this series read its price.
    #[inline]
    fn catch_up(&self) {
        let now = self.shared.prices_version.load(Ordering::Acquire);
        if self.priced_at.load(Ordering::Relaxed) != now {
            self.reprice_now();
        }
    }

    #[cold]
    fn reprice_now(&self) {
        let (version, table) = self.shared.prices_now();
        self.reprice(&table, version);
    }

    /// Applies a new price table (folding the cost so far at the old price);
    /// `version` is the table's `prices_version` or older.
    fn reprice(&self, table: &PriceTable, version: u64) {
        let mut b = self.billing.lock();
        self.priced_at.store(version, Ordering::Relaxed);
        if let Some(old) = b.price {
            for t in GenAiTokenType::ALL {
                let now = self.tokens[t.index()].get();
                let since = now - b.at_fold[t.index()];
                b.folded[t.index()] += old.cost(*t, since);
                b.at_fold[t.index()] = now;
            }
        } else {
            b.at_fold = std::array::from_fn(|i| self.tokens[i].get());
        }
        b.price = table.get(&self.model).copied();
        self.priced.store(b.price.is_some(), Ordering::Relaxed);
    }

    /// USD spent on each token type (`None` for an unpriced model that never had a price).
    fn costs(&self) -> Option<[f64; 4]> {
        self.catch_up();
        let b = self.billing.lock();
        let price = b.price;
        if price.is_none() && b.folded.iter().all(|c| *c == 0.0) {
            return None;
        }
        Some(std::array::from_fn(|i| {
            let t = GenAiTokenType::ALL[i];
            let since = self.tokens[i].get() - b.at_fold[i];
            b.folded[i] + price.map_or(0.0, |p| p.cost(t, since))
        }))
    }
}

/// Models of one provider.
#[derive(Debug)]
pub(crate) struct ProviderSeries {
    models: LabelMap<ModelSeries>,
}

/// Agent or tool durations of one name.
#[derive(Debug)]
pub(crate) struct StepSeries {
    buckets: Arc<Buckets>,
    ok: Histogram,
    errors: LabelMap<Histogram>,
}

impl StepSeries {
    fn new(shared: &Shared, kind: StepKind) -> Self {
        let buckets = match kind {
            StepKind::Agent => Arc::clone(&shared.agent_durations),
            StepKind::Tool => Arc::clone(&shared.durations),
        };
        Self {
            ok: Histogram::with_exemplars(Arc::clone(&buckets)),
            errors: LabelMap::new(
                shared.cap.min(MAX_ERROR_TYPES),
                Histogram::with_exemplars(Arc::clone(&buckets)),
                Arc::clone(&shared.error_overflow),
            ),
            buckets,
        }
    }

    /// Records one agent invocation or tool execution.
    pub(crate) fn record(
        &self,
        duration: Duration,
        error_type: Option<&str>,
        exemplar: Option<SpanRef>,
    ) {
        match error_type {
            None => self.ok.observe_duration_exemplar(duration, exemplar),
            Some(e) => self.errors.with(
                e,
                || Histogram::with_exemplars(Arc::clone(&self.buckets)),
                |h| h.observe_duration_exemplar(duration, exemplar),
            ),
        }
    }
}

/// Whether a step is an agent invocation or a tool execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    Agent,
    Tool,
}

#[derive(Debug)]
pub(crate) struct GenAiMetrics {
    shared: Arc<Shared>,
    providers: LabelMap<ProviderSeries>,
    agents: LabelMap<StepSeries>,
    tools: LabelMap<StepSeries>,
}

impl GenAiMetrics {
    pub(crate) fn new(guards: &mut Guards, prices: PriceTable) -> Self {
        let shared = Arc::new(Shared {
            cap: guards.cap,
            durations: Buckets::seconds(GENAI_DURATION_BUCKETS),
            agent_durations: Buckets::seconds(AGENT_DURATION_BUCKETS),
            tokens: Buckets::with_scale(TOKEN_BUCKETS, 1.0),
            error_overflow: guards.overflow_counter(&GENAI_DURATION),
            model_overflow: guards.overflow_counter(&GENAI_DURATION),
            prices: ArcSwap::from_pointee(prices),
            prices_version: AtomicU64::new(0),
            warned: Mutex::new(HashSet::new()),
        });
        Self {
            providers: guards.map(&GENAI_DURATION, Self::provider_series(&shared)),
            agents: guards.map(
                &GENAI_AGENT_DURATION,
                StepSeries::new(&shared, StepKind::Agent),
            ),
            tools: guards.map(
                &GENAI_TOOL_DURATION,
                StepSeries::new(&shared, StepKind::Tool),
            ),
            shared,
        }
    }

    fn provider_series(shared: &Arc<Shared>) -> ProviderSeries {
        ProviderSeries {
            models: LabelMap::new(
                shared.cap,
                ModelSeries::new(shared, super::OVERFLOW_LABEL_VALUE),
                Arc::clone(&shared.model_overflow),
            ),
        }
    }

    /// The series of `provider` and `model`, for a guard that records later.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn model(&self, provider: &str, model: &str) -> Arc<ModelSeries> {
        self.providers.with(
            provider,
            || Self::provider_series(&self.shared),
            |p| {
                p.models
                    .get(model, || ModelSeries::new(&self.shared, model))
            },
        )
    }

    #[inline]
    fn with_model<R>(&self, provider: &str, model: &str, f: impl FnOnce(&ModelSeries) -> R) -> R {
        self.providers.with(
            provider,
            || Self::provider_series(&self.shared),
            |p| {
                p.models
                    .with(model, || ModelSeries::new(&self.shared, model), f)
            },
        )
    }

    pub(crate) fn step(&self, kind: StepKind, name: &str) -> Arc<StepSeries> {
        let map = match kind {
            StepKind::Agent => &self.agents,
            StepKind::Tool => &self.tools,
        };
        map.get(name, || StepSeries::new(&self.shared, kind))
    }

    fn set_prices(&self, table: PriceTable) {
        self.shared.prices.store(Arc::new(table));
        self.shared.prices_version.fetch_add(1, Ordering::AcqRel);
        let (version, table) = self.shared.prices_now();
        self.providers
            .for_each(|_, p| p.models.for_each(|_, m| m.reprice(&table, version)));
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        let each_op = |f: &mut dyn FnMut(&str, &str, GenAiOperation, &OpSeries)| {
            self.providers.for_each(|provider, p| {
                p.models.for_each(|model, m| {
                    for op in GenAiOperation::ALL {
                        if let Some(s) = m.ops[op.index()].get() {
                            f(provider, model, *op, s);
                        }
                    }
                });
            });
        };
        enc.header(&GENAI_DURATION);
        each_op(&mut |provider, model, op, s| {
            let labels = [op.as_str(), provider, model];
            if s.duration.count() > 0 {
                enc.histogram_keys(
                    &GENAI_DURATION,
                    &GENAI_DURATION.labels[..3],
                    &labels,
                    &s.duration,
                );
            }
            s.errors.for_each(|e, h| {
                enc.histogram(&GENAI_DURATION, &[op.as_str(), provider, model, e], h);
            });
        });
        enc.header(&GENAI_TOKENS);
        each_op(&mut |provider, model, op, s| {
            for t in GenAiTokenType::ALL {
                let h = &s.tokens[t.index()];
                if h.count() > 0 {
                    enc.histogram(
                        &GENAI_TOKENS,
                        &[op.as_str(), provider, model, t.as_str()],
                        h,
                    );
                }
            }
        });
        for (d, pick) in [
            (
                &GENAI_TTFC,
                (|s: &OpSeries| &s.ttfc) as fn(&OpSeries) -> &Histogram,
            ),
            (&GENAI_TPOC, |s: &OpSeries| &s.tpoc),
        ] {
            enc.header(d);
            each_op(&mut |provider, model, op, s| {
                let h = pick(s);
                if h.count() > 0 {
                    enc.histogram(d, &[op.as_str(), provider, model], h);
                }
            });
        }
        enc.header(&GENAI_COST);
        self.providers.for_each(|provider, p| {
            p.models.for_each(|model, m| {
                if let Some(costs) = m.costs() {
                    for t in GenAiTokenType::ALL {
                        enc.counter_f64(
                            &GENAI_COST,
                            &[provider, model, t.as_str()],
                            costs[t.index()],
                        );
                    }
                }
            });
        });
        enc.header(&GENAI_UNPRICED);
        self.providers.for_each(|provider, p| {
            p.models.for_each(|model, m| {
                let n = m.unpriced.get();
                if n > 0 {
                    enc.counter(&GENAI_UNPRICED, &[provider, model], n);
                }
            });
        });
        for (d, map) in [
            (&GENAI_AGENT_DURATION, &self.agents),
            (&GENAI_TOOL_DURATION, &self.tools),
        ] {
            enc.header(d);
            map.for_each(|name, s| {
                if s.ok.count() > 0 {
                    enc.histogram_keys(d, &d.labels[..1], &[name], &s.ok);
                }
                s.errors.for_each(|e, h| enc.histogram(d, &[name, e], h));
            });
        }
    }
}

/// GenAI recording (the [`LlmSpan`](crate::trace::LlmSpan) guard does this for you).
impl MetricsCollector {
    /// Records one finished model call without streaming: its duration (with
    /// `error_type` on failure; the current sampled span as exemplar), its
    /// token usage by type, and its cost. Returns the call's cost in USD, or
    /// `None` when the model has no price.
    ///
    /// ```
    /// use std::time::Duration;
    /// use megaobs::metrics::{GenAiOperation, MetricsCollector, PriceTable, TokenUsage};
    ///
    /// let prices = PriceTable::from_toml_str("[models.\"gpt-4o\"]\ninput = 2.5\ncached_input = 1.25\noutput = 10.0")?;
    /// let collector = MetricsCollector::builder().prices(prices).build();
    /// let usage = TokenUsage::from_openai(1200, 300, 1000, 0);
    /// let cost = collector.record_gen_ai_operation(
    ///     GenAiOperation::Chat, "openai", "gpt-4o", Duration::from_millis(1800), None, &usage);
    /// // The cost of each token type, added up.
    /// assert_eq!(cost, Some(200.0 * 2.5 / 1e6 + 1000.0 * 1.25 / 1e6 + 300.0 * 10.0 / 1e6));
    /// let text = collector.encode_text();
    /// assert!(text.contains(r#"gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="cached_input"} 1000"#));
    /// # Ok::<(), megaobs::Error>(())
    /// ```
    pub fn record_gen_ai_operation(
        &self,
        operation: GenAiOperation,
        provider: &str,
        model: &str,
        duration: Duration,
        error_type: Option<&str>,
        usage: &TokenUsage,
    ) -> Option<f64> {
        self.inner.genai.with_model(provider, model, |m| {
            let exemplar = super::exemplar::current_span();
            m.record(
                operation, model, duration, error_type, usage, None, exemplar,
            );
            m.price_for(model).map(|p| usage.cost(&p))
        })
    }

    /// Records one agent invocation (`gen_ai_invoke_agent_duration_seconds`).
    pub fn record_agent_invocation(
        &self,
        agent: &str,
        duration: Duration,
        error_type: Option<&str>,
    ) {
        self.inner.genai.step(StepKind::Agent, agent).record(
            duration,
            error_type,
            super::exemplar::current_span(),
        );
    }

    /// Records one tool execution (`gen_ai_execute_tool_duration_seconds`).
    pub fn record_tool_execution(&self, tool: &str, duration: Duration, error_type: Option<&str>) {
        self.inner.genai.step(StepKind::Tool, tool).record(
            duration,
            error_type,
            super::exemplar::current_span(),
        );
    }

    /// Replaces the LLM price table. Cost counted so far stays at the old
    /// prices; tokens from now on are priced with `prices`.
    pub fn set_prices(&self, prices: PriceTable) {
        self.inner.genai.set_prices(prices);
    }

    /// The price of `model` in the current table, if any.
    pub fn price_of(&self, model: &str) -> Option<ModelPrice> {
        self.inner.genai.shared.prices.load().get(model).copied()
    }

    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn gen_ai_model(&self, provider: &str, model: &str) -> Arc<ModelSeries> {
        self.inner.genai.model(provider, model)
    }

    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn gen_ai_step(&self, kind: StepKind, name: &str) -> Arc<StepSeries> {
        self.inner.genai.step(kind, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(input: f64) -> PriceTable {
        PriceTable::from_toml_str(&format!("[models.\"m\"]\ninput = {input}\noutput = 1"))
            .expect("a valid table")
    }

    #[test]
    fn a_series_missed_by_a_price_change_reprices_itself() {
        let c = MetricsCollector::builder().prices(table(2.0)).build();
        let g = &c.inner.genai;
        // Made with the old table while `set_prices` walks the others: the
        // walk cannot see it.
        let series = ModelSeries::new(&g.shared, "m");
        g.set_prices(table(3.0));
        let usage = TokenUsage::new(1_000_000, 0, 0, 0);
        series.record(
            GenAiOperation::Chat,
            "m",
            Duration::from_millis(1),
            None,
            &usage,
            None,
            None,
        );
        assert_eq!(
            series.price().map(|p| p.per_million(GenAiTokenType::Input)),
            Some(3.0)
        );
        let costs = series.costs().expect("priced");
        assert_eq!(
            costs[GenAiTokenType::Input.index()],
            3.0,
            "billed at the new price"
        );
    }
}
