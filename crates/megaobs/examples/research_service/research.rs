//! What the API takes and gives: a research request and its result.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/research`.
#[derive(Debug, Deserialize)]
pub struct ResearchRequest {
    pub query: String,
    pub user_id: String,
}

/// The answer to a research request, as returned and stored.
#[derive(Debug, Clone, Serialize)]
pub struct ResearchResult {
    pub id: u64,
    pub query: String,
    pub answer: String,
    /// Titles of the documents the answer is grounded in.
    pub sources: Vec<String>,
    pub model: String,
    pub route: String,
    pub confidence: f64,
    /// `miss`, `exact` or `semantic`: how the answer cache served the request.
    pub cache: &'static str,
    /// `pending`, then the reviewer's decision; `None` when no review was needed.
    pub review: Option<&'static str>,
}
