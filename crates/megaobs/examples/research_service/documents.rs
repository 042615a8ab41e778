//! The document set shipped with the service: twelve short articles on the
//! topics the built-in load asks about. The vector store indexes their
//! embeddings; the SQLite database holds their titles and bodies.

/// `(title, body)` of every document; a document's id is its index here.
pub const DOCUMENTS: [(&str, &str); 12] = [
    ("Transformers", "transformer models use attention to relate every token of a sequence to every other token"),
    ("Retrieval augmented generation", "retrieval augmented generation grounds model answers in documents found by vector search"),
    ("Vector databases", "vector databases index embeddings and answer nearest neighbour queries by cosine similarity"),
    ("Prompt caching", "caching prompts and answers avoids repeated model calls for identical or similar questions"),
    ("Human review", "human reviewers approve or reject answers whose confidence is low"),
    ("Exponential backoff", "retrying transient failures with exponentially growing delays avoids overload"),
    ("Distributed tracing", "distributed tracing follows one request across services with trace and span ids"),
    ("Prometheus", "prometheus scrapes metrics over http and stores them as time series"),
    ("Structured logging", "structured logs are json objects that carry trace ids for correlation"),
    ("Rate limiting", "rate limiting protects an api by rejecting clients that exceed their quota"),
    ("Routing", "an agent router picks the workflow that best fits a query with a confidence score"),
    ("Evaluation", "evaluating language models compares answers against references and human judgement"),
];
