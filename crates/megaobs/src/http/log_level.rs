//! `GET`/`PUT /log-level`: read and change the log level of a running service.
//!
//! Opt-in (mount it with [`log_level_router`]) and protected like `/metrics`: with
//! a bearer token set, requests without `Authorization: Bearer <token>` get `401`.
//!
//! ```no_run
//! # async fn run() -> Result<(), megaobs::Error> {
//! let telemetry = megaobs::init(megaobs::ObservabilityConfig::from_env()?)?;
//! let admin = megaobs::http::log_level_router(telemetry.log_level(), Some("s3cret"))?;
//! let app = axum::Router::new().merge(admin);
//! // curl -X PUT -H 'authorization: Bearer s3cret' --data 'debug,hyper=warn' localhost:8000/log-level
//! # let _ = app; Ok(()) }
//! ```

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::{Error, Result};
use crate::logging::LogLevelHandle;

/// Longest directive list accepted in a `PUT` body.
const MAX_BODY: usize = 4096;

struct LevelState {
    handle: LogLevelHandle,
    bearer: Option<HeaderValue>,
}

/// A router serving `GET /log-level` (the active directives, as text) and
/// `PUT /log-level` (the body is the new level or `target=level` directives;
/// `400` with the reason when invalid, the old level stays). With
/// `bearer_token`, both require `Authorization: Bearer <token>`; without one the
/// route is open to anyone who reaches it, so mount it only on a private listener.
///
/// Fails if the token is not visible ASCII without spaces.
pub fn log_level_router(handle: LogLevelHandle, bearer_token: Option<&str>) -> Result<Router> {
    let bearer = match bearer_token {
        None => None,
        Some(t) => Some(
            HeaderValue::from_str(&format!("Bearer {t}"))
                .ok()
                .filter(|_| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| Error::InvalidConfig {
                    field: "log_level_router bearer_token",
                    value: "(hidden)".into(),
                    reason: "a bearer token must be non-empty visible ASCII without spaces".into(),
                })?,
        ),
    };
    let state = Arc::new(LevelState { handle, bearer });
    Ok(Router::new()
        .route("/log-level", get(current).put(change))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state))
}

/// Whether the request carries the expected bearer token (compared in
/// constant time).
fn authorized(state: &LevelState, headers: &HeaderMap) -> bool {
    let Some(expected) = &state.bearer else {
        return true;
    };
    let Some(got) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    crate::core::text::same_secret(expected.as_bytes(), got.as_bytes())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "missing or wrong bearer token for /log-level\n",
    )
        .into_response()
}

async fn current(State(state): State<Arc<LevelState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    format!("{}\n", state.handle.current()).into_response()
}

async fn change(State(state): State<Arc<LevelState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let Ok(directives) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body must be UTF-8 text\n").into_response();
    };
    match state.handle.set(directives) {
        Ok(()) => format!("{}\n", state.handle.current()).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}
