//! The vector store: a bag-of-words embedding of text, cosine similarity, and
//! a nearest-neighbour search over the embedded [`DOCUMENTS`].

use crate::documents::DOCUMENTS;

/// How many dimensions an embedding has.
pub const DIMENSIONS: usize = 64;

/// A unit-length embedding vector.
pub type Embedding = [f32; DIMENSIONS];

/// A bag-of-words embedding: each word hashed into one of 64 dimensions, normalised.
pub fn embed(text: &str) -> Embedding {
    let mut v = [0f32; DIMENSIONS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let h = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        v[(h % DIMENSIONS as u64) as usize] += 1.0;
    }
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.map(|x| x / norm)
}

/// Cosine similarity of two unit-length embeddings.
pub fn cosine(a: &Embedding, b: &Embedding) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The embeddings of every document, in document-id order.
pub struct VectorStore {
    documents: Vec<Embedding>,
}

impl VectorStore {
    /// Embeds each document's title and body.
    pub fn new() -> Self {
        Self {
            documents: DOCUMENTS
                .iter()
                .map(|(t, b)| embed(&format!("{t} {b}")))
                .collect(),
        }
    }

    /// The ids of the `k` documents most similar to `query`, best first.
    pub fn search(&self, query: &Embedding, k: usize) -> Vec<usize> {
        let mut scored: Vec<(usize, f32)> = self
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| (i, cosine(d, query)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.iter().take(k).map(|(i, _)| *i).collect()
    }
}
