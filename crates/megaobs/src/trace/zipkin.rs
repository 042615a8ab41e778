//! The `zipkin` exporter: Zipkin v2 JSON over HTTP.
//!
//! Written here instead of using `opentelemetry-zipkin` 0.33: that crate is
//! deprecated (every use warns, which `-D warnings` rejects), it omits
//! `localEndpoint.serviceName` (it ignores the resource) and sends an all-zero
//! `parentId` for root spans. The v2 format is small and documented
//! (openzipkin/zipkin-api `zipkin2-api.yaml`); this module maps `SpanData` to it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{json, Map, Value};

use crate::export::{Compression, ExportHeaders, ExportOptions};

/// Posts spans to a Zipkin collector (`.../api/v2/spans`).
#[derive(Debug)]
pub(crate) struct ZipkinExporter {
    endpoint: String,
    service: String,
    client: reqwest::blocking::Client,
    headers: ExportHeaders,
    /// Gzip the body (`Content-Encoding: gzip`, which Zipkin's collector reads).
    gzip: bool,
}

impl ZipkinExporter {
    /// Posts to `endpoint` with the trust, client certificate, headers and
    /// compression of `options` (the same settings as OTLP span export).
    pub fn new(
        endpoint: &str,
        service: &str,
        timeout: Duration,
        options: &ExportOptions,
    ) -> crate::Result<Self> {
        Ok(Self {
            endpoint: endpoint.to_string(),
            service: service.to_string(),
            client: crate::export::http_client::http_client(
                timeout,
                options,
                "TracingConfig::zipkin_endpoint",
            )?,
            headers: options.headers.clone(),
            gzip: options.compression == Compression::Gzip,
        })
    }
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One span in Zipkin v2 JSON.
pub(crate) fn to_zipkin(s: &SpanData, service: &str) -> Value {
    let mut span = Map::new();
    span.insert(
        "traceId".into(),
        json!(s.span_context.trace_id().to_string()),
    );
    span.insert("id".into(), json!(s.span_context.span_id().to_string()));
    if s.parent_span_id != SpanId::INVALID {
        span.insert("parentId".into(), json!(s.parent_span_id.to_string()));
    }
    span.insert("name".into(), json!(s.name));
    let kind = match s.span_kind {
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Server => Some("SERVER"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        SpanKind::Internal => None,
    };
    if let Some(k) = kind {
        span.insert("kind".into(), json!(k));
    }
    let start = micros(s.start_time);
    span.insert("timestamp".into(), json!(start));
    span.insert(
        "duration".into(),
        json!(micros(s.end_time).saturating_sub(start).max(1)),
    );
    span.insert("localEndpoint".into(), json!({ "serviceName": service }));
    let mut tags = Map::new();
    for kv in &s.attributes {
        tags.insert(kv.key.to_string(), json!(kv.value.to_string()));
    }
    if let Status::Error { description } = &s.status {
        tags.insert("otel.status_code".into(), json!("ERROR"));
        tags.insert("error".into(), json!(description.to_string()));
    }
    span.insert("tags".into(), Value::Object(tags));
    let annotations: Vec<Value> = s
        .events
        .iter()
        .map(|e| json!({ "timestamp": micros(e.timestamp), "value": e.name }))
        .collect();
    if !annotations.is_empty() {
        span.insert("annotations".into(), Value::Array(annotations));
    }
    Value::Object(span)
}

/// `bytes` gzip-compressed.
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

impl SpanExporter for ZipkinExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<Value> = batch.iter().map(|s| to_zipkin(s, &self.service)).collect();
        let failed = |e: &dyn std::fmt::Display| {
            OTelSdkError::InternalFailure(format!("zipkin export to {}: {e}", self.endpoint))
        };
        let mut body = serde_json::to_vec(&spans).map_err(|e| failed(&e))?;
        let mut request = self
            .client
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if self.gzip {
            body = gzip(&body).map_err(|e| failed(&e))?;
            request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        request = request.body(body);
        for (name, value) in self.headers.pairs() {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().map_err(|e| failed(&e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "zipkin export to {}: HTTP {}",
                self.endpoint,
                response.status()
            )))
        }
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        if let Some(v) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service = v.to_string();
        }
    }
}
