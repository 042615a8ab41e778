//! The simulated model provider of the research workflow's LLM step: a streamed
//! answer (the first chunk well before the last), provider-style usage with
//! prompt-cache reads (the system prompt after the first call per model, the
//! whole prompt for a repeated query) and reasoning tokens (the `o4-mini`
//! model), and the price table the example bills with.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use megaobs::metrics::{MetricsCollector, PriceTable, TokenUsage};

/// The simulated models and their providers; a query's length picks one.
pub const MODELS: [(&str, &str); 3] = [
    ("claude-3-opus", "anthropic"),
    ("claude-3-haiku", "anthropic"),
    ("o4-mini", "openai"),
];

/// Tokens of the system prompt; providers cache prompt prefixes in blocks of 128.
const SYSTEM_PROMPT_TOKENS: u64 = 1024;
/// Chunks of a streamed answer.
pub const CHUNKS: u32 = 16;

/// Installs the price table once: the file named by `LLM_PRICES` (already
/// checked by `ObservabilityConfig::from_env` at start), else the embedded
/// `prices.toml`.
pub fn install_prices(collector: &MetricsCollector) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let table = match std::env::var_os("LLM_PRICES") {
            Some(path) => PriceTable::from_file(&path),
            None => PriceTable::from_toml_str(include_str!("prices.toml")),
        };
        match table {
            Ok(t) => collector.set_prices(t),
            Err(e) => tracing::error!(error = %e, "LLM prices not loaded"),
        }
    });
}

/// One simulated response: when chunks arrive and what usage is reported.
pub struct Response {
    pub time_to_first_chunk: Duration,
    pub chunk_gap: Duration,
    pub usage: TokenUsage,
}

/// Queries already sent to each model: the provider's prompt cache holds them.
fn seen() -> &'static Mutex<HashSet<(usize, String)>> {
    static SEEN: OnceLock<Mutex<HashSet<(usize, String)>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// What the provider answers for `query` with `sources` on model `m`.
pub fn respond(m: usize, query: &str, sources: usize) -> Response {
    let prompt = SYSTEM_PROMPT_TOKENS + 26 + query.len() as u64 / 4 + sources as u64 * 40;
    let (first_call, repeat) = {
        let mut seen = seen().lock().unwrap_or_else(|e| e.into_inner());
        let first_call = !seen.iter().any(|(model, _)| *model == m);
        let repeat = !seen.insert((m, query.to_string()));
        if seen.len() > 4096 {
            seen.clear();
        }
        (first_call, repeat)
    };
    let cached = if repeat {
        prompt / 128 * 128
    } else if first_call {
        0
    } else {
        SYSTEM_PROMPT_TOKENS
    };
    let visible = 150 + (query.len() as u64 * 7) % 200;
    let (model, _) = MODELS[m];
    let usage = if model == "o4-mini" {
        let reasoning = 256 + (query.len() as u64 * 13) % 512;
        // OpenAI style: cached and reasoning counts are subsets of the totals.
        TokenUsage::from_openai(prompt, visible + reasoning, cached, reasoning)
    } else {
        // Anthropic style: cache reads are reported apart from input_tokens.
        TokenUsage::from_anthropic(prompt - cached, 0, cached, visible)
    };
    // Cached prompts answer sooner; reasoning delays the first visible chunk.
    let ttfc_ms = 12 + (prompt - cached) / 64 + usage.reasoning / 64;
    Response {
        time_to_first_chunk: Duration::from_millis(ttfc_ms),
        chunk_gap: Duration::from_micros(1500),
        usage,
    }
}
