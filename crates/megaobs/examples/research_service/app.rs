//! The service's shared state: what the HTTP handlers, the workflow nodes and
//! the reviewers read and write, behind one `Arc<App>`.

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use megaobs::MetricsCollector;

use crate::cache::AnswerCache;
use crate::database::Pool;
use crate::documents::DOCUMENTS;
use crate::llm::LlmClient;
use crate::results::ResultStore;
use crate::reviews::ReviewQueue;
use crate::rng::Rng;
use crate::vector::{VectorStore, DIMENSIONS};

/// How many SQLite connections the database pool holds.
const POOL_SIZE: usize = 4;

/// Everything a request can touch.
pub struct App {
    pub collector: MetricsCollector,
    pub vectors: VectorStore,
    pub cache: AnswerCache,
    pub pool: Pool,
    /// Recent results by id, for `GET /api/research/{id}` (bounded).
    pub results: ResultStore,
    pub reviews: ReviewQueue,
    /// The LLM provider's client.
    pub llm: LlmClient,
    /// The next result id.
    pub next_id: AtomicU64,
    /// Database queries so far (every 10th one fails on purpose).
    pub db_queries: AtomicU64,
    rng: Mutex<Rng>,
}

impl App {
    /// Builds the state (calling the LLM provider at `llm_base`), and sets the
    /// vector store and connection pool gauges.
    pub fn new(collector: MetricsCollector, llm_base: &str) -> rusqlite::Result<Self> {
        collector.set_vector_store_collection(
            "research_documents",
            DIMENSIONS as u32,
            DOCUMENTS.len() as u64,
        );
        let app = Self {
            collector: collector.clone(),
            vectors: VectorStore::new(),
            cache: AnswerCache::new(),
            pool: Pool::new(POOL_SIZE)?,
            results: ResultStore::new(),
            reviews: ReviewQueue::new(),
            llm: LlmClient::new(llm_base),
            next_id: AtomicU64::new(1),
            db_queries: AtomicU64::new(0),
            rng: Mutex::new(Rng(0x2545_F491_4F6C_DD1D)),
        };
        collector.set_database_connections(0, POOL_SIZE as i64);
        Ok(app)
    }

    /// A number from `[0, 1)` for the simulation's choices.
    pub fn random(&self) -> f64 {
        self.rng.lock().map(|mut r| r.unit()).unwrap_or(0.5)
    }
}
