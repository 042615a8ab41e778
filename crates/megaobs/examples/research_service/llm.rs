//! The service's LLM client: chat completions over HTTP from the provider
//! (see `provider`), streamed as server-sent events, through
//! `megaobs::client::HttpClientMiddleware` (a CLIENT span per attempt and the
//! outgoing-call metrics) behind `reqwest-retry` (429 and 5xx are retried, each
//! resend a span of its own with `http.request.resend_count`). The usage each
//! provider reports (OpenAI-style for `openai` models, Anthropic-style for
//! `anthropic` ones) becomes megaobs' four disjoint token types; the price
//! table the example bills with is here too.

use std::time::Duration;

use megaobs::client::{HttpClientMiddleware, UrlTemplate};
use megaobs::metrics::{MetricsCollector, PriceTable, TokenUsage};
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::RetryTransientMiddleware;

/// The system prompt every call starts with (the provider's prompt cache
/// serves it after the first call).
const SYSTEM_PROMPT: &str = "You are MegaAgent Pro's research assistant. Answer from the \
    documents given, cite them by title, say when they do not answer the question, and keep \
    answers short, factual and free of speculation.";
/// The most a stream may buffer without a complete event (a provider gone wrong).
const MAX_EVENT_BYTES: usize = 64 * 1024;
/// The longest answer kept (a provider that never stops is cut off).
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Longest a call may take, streaming included.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The models the service calls and their providers; a query's length picks one.
pub const MODELS: [(&str, &str); 3] = [
    ("claude-3-opus", "anthropic"),
    ("claude-3-haiku", "anthropic"),
    ("o4-mini", "openai"),
];

/// Installs the price table at start: the file named by `LLM_PRICES`, else
/// the embedded `prices.toml`. A bad table stops the start, naming it.
pub fn install_prices(collector: &MetricsCollector) -> megaobs::Result<()> {
    let table = match std::env::var_os("LLM_PRICES") {
        Some(path) => PriceTable::from_file(&path)?,
        None => PriceTable::from_toml_str(include_str!("prices.toml"))?,
    };
    collector.set_prices(table);
    Ok(())
}

/// What a streamed call produces as it goes.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// A content chunk arrived (the first one is the time to first chunk).
    Chunk,
    /// The usage, in the last chunk, as megaobs' four token types.
    Usage(TokenUsage),
    /// Why the model stopped (`stop`, `length`, …).
    Finish(&'a str),
}

/// Why a call failed.
#[derive(Debug)]
pub enum LlmError {
    /// No response, or a status that stayed failed after the retries.
    Http(String),
    /// The provider reported an error in the middle of the stream.
    Stream(String),
}

impl std::fmt::Display for LlmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(e) => write!(f, "the provider call failed: {e}"),
            Self::Stream(e) => write!(f, "the provider's stream failed: {e}"),
        }
    }
}

impl LlmError {
    /// The `error.type` of the failure (bounded).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Http(_) => "http_error",
            Self::Stream(_) => "stream_error",
        }
    }
}

/// A chat completions client for one provider.
pub struct LlmClient {
    http: ClientWithMiddleware,
    url: String,
}

impl LlmClient {
    /// A client for the provider at `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        let retry = ExponentialBackoff::builder()
            .retry_bounds(Duration::from_millis(5), Duration::from_millis(100))
            .build_with_max_retries(3);
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(RetryTransientMiddleware::new_with_policy(retry))
            .with(HttpClientMiddleware::new())
            .build();
        Self {
            http,
            url: format!("{base}/v1/chat/completions"),
        }
    }

    /// One streamed chat completion of `model` for `question` with `context`
    /// (the documents); `on_event` sees each chunk as it arrives. Returns the
    /// answer's text.
    pub async fn chat(
        &self,
        model: &str,
        context: &str,
        question: &str,
        mut on_event: impl FnMut(StreamEvent<'_>),
    ) -> Result<String, LlmError> {
        let body = serde_json::json!({
            "model": model,
            "stream": true,
            "stream_options": { "include_usage": true },
            "messages": [
                { "role": "system", "content": SYSTEM_PROMPT },
                { "role": "user", "content": context },
                { "role": "user", "content": question },
            ],
        });
        let response = self
            .http
            .post(&self.url)
            .with_extension(UrlTemplate::new("/v1/chat/completions"))
            .timeout(CALL_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(|e| LlmError::Http(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(LlmError::Http(format!("status {status}")));
        }
        read_stream(response, &mut on_event).await
    }
}

/// Reads `data: {json}` events until `data: [DONE]`.
async fn read_stream(
    mut response: reqwest::Response,
    on_event: &mut impl FnMut(StreamEvent<'_>),
) -> Result<String, LlmError> {
    let mut buffer = Vec::new();
    let mut answer = String::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| LlmError::Stream(e.to_string()))?;
        let Some(chunk) = chunk else {
            return Err(LlmError::Stream("the stream ended before [DONE]".into()));
        };
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let line = String::from_utf8_lossy(&event);
            let Some(data) = line.trim().strip_prefix("data: ") else {
                continue;
            };
            if data == "[DONE]" {
                return Ok(answer);
            }
            let v: serde_json::Value =
                serde_json::from_str(data).map_err(|e| LlmError::Stream(e.to_string()))?;
            if let Some(e) = v.get("error") {
                return Err(LlmError::Stream(
                    e["message"].as_str().unwrap_or("unknown").into(),
                ));
            }
            let choice = &v["choices"][0];
            if let Some(text) = choice["delta"]["content"].as_str() {
                if answer.len() + text.len() > MAX_ANSWER_BYTES {
                    return Err(LlmError::Stream(format!(
                        "an answer longer than {MAX_ANSWER_BYTES} bytes"
                    )));
                }
                answer.push_str(text);
                on_event(StreamEvent::Chunk);
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                on_event(StreamEvent::Finish(reason));
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                on_event(StreamEvent::Usage(token_usage(u)));
            }
        }
        if buffer.len() > MAX_EVENT_BYTES {
            return Err(LlmError::Stream(format!(
                "an event longer than {MAX_EVENT_BYTES} bytes"
            )));
        }
    }
}

/// A provider's usage object as the four disjoint token types: OpenAI's
/// (`prompt_tokens`, with `cached_tokens` and `reasoning_tokens` inside the
/// totals) or Anthropic's (`input_tokens`, with cache reads and writes apart).
fn token_usage(u: &serde_json::Value) -> TokenUsage {
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    if u.get("prompt_tokens").is_some() {
        TokenUsage::from_openai(
            n(&u["prompt_tokens"]),
            n(&u["completion_tokens"]),
            n(&u["prompt_tokens_details"]["cached_tokens"]),
            n(&u["completion_tokens_details"]["reasoning_tokens"]),
        )
    } else {
        TokenUsage::from_anthropic(
            n(&u["input_tokens"]),
            n(&u["cache_creation_input_tokens"]),
            n(&u["cache_read_input_tokens"]),
            n(&u["output_tokens"]),
        )
    }
}
