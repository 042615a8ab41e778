//! A span exporter that receives every batch and drops it, shared by the benches
//! and the overhead examples (`#[path]` modules): spans still go through megaobs'
//! batch processor, its queue and its export thread, as in production.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Receives every exported batch and drops it.
#[derive(Debug)]
#[allow(dead_code)] // not every bench exports spans
pub struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}
