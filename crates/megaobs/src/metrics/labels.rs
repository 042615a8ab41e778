//! Typed values of the bounded labels (`status`, `decision`, `type`, ...).
//!
//! Free-form names (workflow, node, model, route) are `&str` and pass the
//! cardinality guard; everything with a fixed vocabulary is an enum here, which
//! both documents the vocabulary and lets a series be an array index instead of a
//! hash lookup.

macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The label value as exported.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }

            #[inline]
            #[allow(dead_code)] // not every vocabulary is used as an index
            pub(crate) const fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

label_enum! {
    /// Outcome of a workflow, a workflow node or a store operation.
    Status {
        /// Completed as intended.
        Success => "success",
        /// Failed.
        Error => "error",
        /// Gave up waiting.
        Timeout => "timeout",
    }
}

label_enum! {
    /// Decision of a human reviewer.
    ReviewDecision {
        /// Accepted as is.
        Approved => "approved",
        /// Refused.
        Rejected => "rejected",
        /// Accepted after the reviewer changed it.
        Modified => "modified",
    }
}

label_enum! {
    /// Which tokens a GenAI count is about (`gen_ai_token_type`). The four types
    /// are disjoint: a token is counted under exactly one, and each is billed at
    /// its own price (see [`TokenUsage`](super::TokenUsage) for how provider
    /// usage fields map onto them).
    GenAiTokenType {
        /// Input (prompt) tokens not served from the provider's prompt cache,
        /// billed at the input price.
        Input => "input",
        /// Input tokens served from the provider's prompt cache (billed at the
        /// cached-input price, typically a tenth of the input price).
        CachedInput => "cached_input",
        /// Visible output tokens.
        Output => "output",
        /// Hidden reasoning output tokens (billed as output by most providers).
        Reasoning => "reasoning",
    }
}

impl GenAiTokenType {
    /// The type named `s` (`input`, `cached_input`, `output`, `reasoning`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

label_enum! {
    /// The GenAI operation of a model call (`gen_ai.operation.name`), as the
    /// OpenTelemetry GenAI conventions name them.
    GenAiOperation {
        /// Chat completion (`chat`), e.g. OpenAI Chat Completions, Anthropic Messages.
        Chat => "chat",
        /// Legacy text completion (`text_completion`).
        TextCompletion => "text_completion",
        /// Multimodal content generation (`generate_content`), e.g. Gemini.
        GenerateContent => "generate_content",
        /// Embeddings (`embeddings`).
        Embeddings => "embeddings",
    }
}

label_enum! {
    /// How a cache hit was found.
    CacheHitKind {
        /// The key matched exactly.
        Exact => "exact",
        /// A semantically similar entry (embedding similarity) was reused.
        Semantic => "semantic",
    }
}

label_enum! {
    /// The cache operation an error happened in (`cache_errors_total{operation}`).
    CacheOperation {
        /// A lookup.
        Get => "get",
        /// A write.
        Set => "set",
        /// An eviction or explicit delete.
        Delete => "delete",
    }
}

label_enum! {
    /// State of a database connection (`database_connections{state}`).
    ConnectionState {
        /// Checked out and in use.
        Active => "active",
        /// Open and waiting in the pool.
        Idle => "idle",
    }
}

label_enum! {
    /// HTTP request method; anything non-standard is `OTHER`, which keeps the
    /// `method` label bounded whatever clients send.
    HttpMethod {
        /// GET
        Get => "GET",
        /// POST
        Post => "POST",
        /// PUT
        Put => "PUT",
        /// DELETE
        Delete => "DELETE",
        /// PATCH
        Patch => "PATCH",
        /// HEAD
        Head => "HEAD",
        /// OPTIONS
        Options => "OPTIONS",
        /// CONNECT
        Connect => "CONNECT",
        /// TRACE
        Trace => "TRACE",
        /// Any other method.
        Other => "OTHER",
    }
}

impl HttpMethod {
    /// Maps a method name (case-sensitive, as HTTP defines it) to its label.
    pub fn parse(method: &str) -> Self {
        match method {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "PATCH" => Self::Patch,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            "CONNECT" => Self::Connect,
            "TRACE" => Self::Trace,
            _ => Self::Other,
        }
    }
}

/// The index of the slot holding `code` (non-zero) in `slots`, claiming the
/// first free one (0) by CAS if `code` has none yet; `None` when all are taken
/// by other codes. Lock-free: the per-status tables of the HTTP families use it.
#[inline]
pub(crate) fn claim_slot(slots: &[std::sync::atomic::AtomicU32], code: u32) -> Option<usize> {
    use std::sync::atomic::Ordering;
    slots.iter().position(|slot| {
        let current = slot.load(Ordering::Acquire);
        current == code
            || (current == 0
                && match slot.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => true,
                    Err(other) => other == code,
                })
    })
}
