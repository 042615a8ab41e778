//! Pieces every pillar shares, below all of them: secret redaction, the
//! identity of the current span, facts about the host, environment parsing and
//! text helpers. Nothing here depends on a pillar.
// A build without some pillar (cargo features) leaves parts of these unused.
#![cfg_attr(
    not(all(feature = "tracing", feature = "logging", feature = "axum")),
    allow(dead_code, unused_imports, unused_macros)
)]

pub(crate) mod current_span;
pub(crate) mod env;
pub(crate) mod forward;
pub mod redact;
pub(crate) mod resource;
pub(crate) mod secret_shapes;
#[cfg(feature = "axum")]
pub(crate) mod serve;
pub(crate) mod text;
