//! A simulated LLM provider: an OpenAI-style `POST /v1/chat/completions` on its
//! own loopback port, answering as server-sent events (`data: {chunk}` …
//! `data: [DONE]`), like the real APIs and gateways the service would call.
//!
//! It stands in for the network hop, so its behaviour is what a real provider
//! shows: the first chunk after a model- and prompt-dependent delay, then a
//! chunk every few milliseconds; a final chunk with the usage, including
//! cached prompt tokens (the leading messages it saw recently: the system
//! prompt, a repeated document context) and the reasoning model's hidden
//! tokens, in OpenAI's shape for `openai` models and Anthropic's for `claude`
//! ones (the shapes real gateways pass through); now and then a `429` or
//! `503` (which the client retries) or an error in the middle of the stream
//! (which the workflow retries). Its own server span (from `ObserveLayer`)
//! sits beneath the service's client span.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use megaobs::http::ObserveLayer;
use megaobs::MetricsCollector;
use serde::Deserialize;

/// Prompts the prompt cache remembers (oldest forgotten first).
const PROMPT_CACHE_ENTRIES: usize = 256;

/// What a chat completion request carries (the fields the simulation reads).
#[derive(Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    content: String,
}

/// The provider's state: a request counter (its failures are deterministic)
/// and its prompt cache.
#[derive(Default)]
struct Provider {
    requests: AtomicU64,
    prompt_cache: Mutex<VecDeque<u64>>,
}

impl Provider {
    /// Of a prompt's messages, how many tokens the prompt cache serves: the
    /// leading messages seen recently (a cache holds prefixes), then every
    /// message is remembered.
    fn cached_tokens(&self, messages: &[Message]) -> u64 {
        let Ok(mut cache) = self.prompt_cache.lock() else {
            return 0;
        };
        let mut cached = 0;
        let mut prefix = true;
        for m in messages {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            m.content.hash(&mut h);
            let key = h.finish();
            if prefix && cache.contains(&key) {
                cached += tokens(&m.content);
                continue;
            }
            prefix = false;
            if cache.len() >= PROMPT_CACHE_ENTRIES {
                cache.pop_front();
            }
            cache.push_back(key);
        }
        cached
    }
}

/// The tokens a text counts for (about four bytes each, plus framing).
fn tokens(text: &str) -> u64 {
    4 + text.len() as u64 / 4
}

/// How fast a model answers: delay to the first chunk (before the prompt's
/// share), and between chunks.
fn pace(model: &str) -> (Duration, Duration) {
    match model {
        "claude-3-opus" => (Duration::from_millis(40), Duration::from_millis(3)),
        "claude-3-haiku" => (Duration::from_millis(12), Duration::from_millis(1)),
        _ => (Duration::from_millis(25), Duration::from_millis(2)),
    }
}

/// The share of a model's output spent on hidden reasoning (the reasoning
/// model's hidden tokens also delay its first visible chunk).
fn reasoning_share(model: &str) -> f64 {
    match model {
        "o4-mini" => 0.6,
        _ => 0.0,
    }
}

/// Starts the provider on a free loopback port; returns its base URL.
/// Its server spans go to the global tracer; its own request metrics stay in a
/// private collector (they are the provider's, not the service's).
pub async fn start() -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let router = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .with_state(Arc::new(Provider::default()))
        .layer(ObserveLayer::new(MetricsCollector::new()));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    // `localhost`, not the address: the service's outgoing-call metrics then
    // tell the provider (`server_address="localhost"`) from the API its load
    // generator calls (`127.0.0.1`).
    Ok((format!("http://localhost:{}", addr.port()), task))
}

/// A JSON error body as OpenAI sends it.
fn api_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "type": kind, "message": message } });
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
    }
    response
}

async fn chat_completions(
    State(provider): State<Arc<Provider>>,
    Json(req): Json<ChatRequest>,
) -> Response {
    let n = provider.requests.fetch_add(1, Ordering::Relaxed);
    if n % 29 == 5 {
        return api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "slow down",
        );
    }
    if n % 37 == 11 {
        return api_error(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "try again");
    }
    let prompt_tokens: u64 = req.messages.iter().map(|m| tokens(&m.content)).sum();
    let cached_tokens = provider.cached_tokens(&req.messages);
    let completion_tokens = prompt_tokens * 2;
    let reasoning_tokens = (completion_tokens as f64 * reasoning_share(&req.model)) as u64;
    let chunks = ((completion_tokens - reasoning_tokens) / 16).clamp(4, 24);
    let fail_mid_stream = n % 41 == 3;
    let (first, between) = pace(&req.model);
    // Uncached prompt tokens and hidden reasoning both come before the first chunk.
    let first =
        first + Duration::from_millis((prompt_tokens - cached_tokens) / 40 + reasoning_tokens / 64);
    let usage = if req.model.starts_with("claude") {
        // Anthropic style: cache reads apart from input_tokens.
        serde_json::json!({
            "input_tokens": prompt_tokens - cached_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached_tokens,
            "output_tokens": completion_tokens,
        })
    } else {
        // OpenAI style: cached and reasoning tokens inside the totals.
        serde_json::json!({
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": { "cached_tokens": cached_tokens },
            "completion_tokens_details": { "reasoning_tokens": reasoning_tokens },
        })
    };

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let model = req.model;
    tokio::spawn(async move {
        let event = |v: serde_json::Value| Ok(Bytes::from(format!("data: {v}\n\n")));
        tokio::time::sleep(first).await;
        for i in 0..chunks {
            if i > 0 {
                tokio::time::sleep(between).await;
            }
            if fail_mid_stream && i == chunks / 2 {
                let error = serde_json::json!({ "error": { "type": "server_error", "message": "the model stopped" } });
                let _ = tx.send(event(error)).await;
                return;
            }
            let chunk = serde_json::json!({
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{ "index": 0, "delta": { "content": format!("part {i} ") }, "finish_reason": null }],
            });
            if tx.send(event(chunk)).await.is_err() {
                return; // the client went away
            }
        }
        let last = serde_json::json!({
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }],
            "usage": usage,
        });
        let _ = tx.send(event(last)).await;
        let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
