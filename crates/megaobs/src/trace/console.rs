//! The `console` exporter: one compact, readable line per span on stdout.
//!
//! `opentelemetry-stdout` prints each span as a multi-line debug dump; for
//! development a single line per span (name, ids, duration, status, attributes)
//! is what a reader can follow.

use std::fmt::Write as _;
use std::io::Write as _;

use opentelemetry::trace::Status;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Prints spans to standard output.
#[derive(Debug, Default)]
pub(crate) struct ConsoleExporter {
    service: String,
}

impl ConsoleExporter {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
        }
    }

    pub(crate) fn line(&self, s: &SpanData) -> String {
        let mut out = String::with_capacity(200);
        let ms = s
            .end_time
            .duration_since(s.start_time)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0);
        let _ = write!(
            out,
            "[span] {} {} trace_id={} span_id={}",
            self.service,
            s.name,
            s.span_context.trace_id(),
            s.span_context.span_id()
        );
        if s.parent_span_id != opentelemetry::trace::SpanId::INVALID {
            let _ = write!(out, " parent_id={}", s.parent_span_id);
        }
        let _ = write!(out, " kind={:?} duration_ms={ms:.3}", s.span_kind);
        match &s.status {
            Status::Error { description } => {
                let _ = write!(out, " status=ERROR({description})");
            }
            Status::Ok => out.push_str(" status=OK"),
            Status::Unset => {}
        }
        for kv in &s.attributes {
            let _ = write!(out, " {}={}", kv.key, kv.value);
        }
        for e in s.events.iter() {
            let _ = write!(out, " event={}", e.name);
        }
        out
    }
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut text = String::new();
        for s in &batch {
            text.push_str(&self.line(s));
            text.push('\n');
        }
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        if let Some(v) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service = v.to_string();
        }
    }
}
