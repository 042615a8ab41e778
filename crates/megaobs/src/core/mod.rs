//! Pieces every pillar shares, below all of them: secret redaction, the
//! identity of the current span, facts about the host, environment parsing and
//! text helpers. Nothing here depends on a pillar.

pub(crate) mod current_span;
pub(crate) mod env;
pub(crate) mod forward;
pub mod redact;
pub(crate) mod resource;
pub(crate) mod text;
