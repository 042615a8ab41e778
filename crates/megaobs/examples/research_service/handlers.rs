//! The HTTP API: its routes and layers, the handlers, and the JSON error
//! responses (`{"error": code, "message": text}`) bad requests get.
//!
//! - `POST /api/research {"query", "user_id"}` runs the workflow (201 + the result);
//! - `GET /api/research/{id}` fetches a result;
//! - `GET /api/reviews/pending` lists the review queue;
//! - `/metrics`, `/health`, `/ready` come from `megaobs::http`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use megaobs::http::{
    health_routes, observability_routes, ClientKey, ObserveLayer, RateLimitLayer, Readiness,
    TraceHeaders,
};
use megaobs::ApiConfig;

use crate::app::App;
use crate::research::ResearchRequest;
use crate::workflow::run_workflow;

/// The largest request body accepted (larger ones get 413).
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest query accepted, in bytes.
const MAX_QUERY_LEN: usize = 2_000;

/// The whole service: the API (observed and rate-limited) and the observability
/// routes (`/metrics` too unless it has a listener of its own). Clients are
/// rate-limited by their API key when it is one of `api_keys`, else by address.
pub fn router(
    app: Arc<App>,
    api: &ApiConfig,
    api_keys: &[String],
    readiness: Readiness,
    metrics_here: bool,
) -> Router {
    let collector = app.collector.clone();
    let routes = Router::new()
        .route("/api/research", post(post_research))
        .route("/api/research/{id}", get(get_research))
        .route("/api/reviews/pending", get(pending_reviews))
        .fallback(megaobs::http::not_found)
        .with_state(app)
        // One `Router::layer` call for all three, outermost first: axum wraps (and
        // clones, per request) each route once per `layer` call.
        .layer(
            tower::ServiceBuilder::new()
                // Both trace headers: `curl -i` shows the id to paste into Jaeger or a log search.
                .layer(ObserveLayer::new(collector.clone()).trace_headers(TraceHeaders::Both))
                .layer(
                    RateLimitLayer::from_config("api_default", api, collector.clone()).client_key(
                        ClientKey::known_api_keys(HeaderName::from_static("x-api-key"), api_keys),
                    ),
                )
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        );
    let observability = if metrics_here {
        observability_routes(collector, readiness)
    } else {
        health_routes(readiness)
    };
    observability.merge(routes)
}

/// A JSON error response: `{"error": code, "message": message}`.
fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message.to_string() })),
    )
        .into_response()
}

async fn post_research(
    State(app): State<Arc<App>>,
    body: Result<Json<ResearchRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(rejection) => {
            return error(rejection.status(), "invalid_request", rejection.body_text())
        }
    };
    if req.query.trim().is_empty() || req.query.len() > MAX_QUERY_LEN {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            "query must be 1 to 2000 characters",
        );
    }
    if req.user_id.trim().is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user_id",
            "user_id must not be empty",
        );
    }
    // The request's server span is current here; carry it (with its name, for
    // the log lines) onto the blocking thread.
    let cx = megaobs::trace::current_context();
    let worker = Arc::clone(&app);
    let outcome = tokio::task::spawn_blocking(move || {
        let _cx = cx.attach();
        run_workflow(&worker, &req)
    })
    .await;
    match outcome {
        Ok(Ok(result)) => {
            app.results.insert(result.clone());
            (StatusCode::CREATED, Json(result)).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "research workflow failed");
            error(StatusCode::BAD_GATEWAY, "workflow_failed", e)
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    }
}

async fn get_research(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "invalid_id", "id must be a number");
    };
    match app.results.get(id) {
        Some(result) => Json(result).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no research result {id} (results are kept for 10 minutes)"),
        ),
    }
}

async fn pending_reviews(State(app): State<Arc<App>>) -> Response {
    let pending = app.reviews.pending();
    Json(serde_json::json!({ "pending": pending })).into_response()
}
