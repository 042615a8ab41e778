//! Attribute macros for megaobs.
//!
//! This crate will hold `#[trace_function]`, `#[trace_async]` and
//! `#[trace_workflow_node]` (re-exported from `megaobs`) once the tracing pillar
//! lands; it exists now so the workspace layout is stable. It exports nothing yet.
