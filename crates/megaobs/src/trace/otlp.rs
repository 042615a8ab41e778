//! OTLP span export over gRPC (tonic) or HTTP/protobuf (blocking reqwest),
//! also what the `jaeger` exporter uses (Jaeger v2 ingests OTLP natively).

use std::time::Duration;

use super::config::OtlpProtocol;
use super::pipeline::Runtime;
use crate::error::{Error, Result};

/// `host:port` (the original design's form) means plain `http://` (`https://` is refused by `validate`).
pub(crate) fn with_scheme(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    }
}

/// OTLP/HTTP wants the full path; a bare `host:port` gets `/v1/traces`.
pub(crate) fn http_traces_url(endpoint: &str) -> String {
    let url = with_scheme(endpoint);
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    if after_scheme.contains('/') && !after_scheme.ends_with('/') {
        url
    } else {
        format!("{}/v1/traces", url.trim_end_matches('/'))
    }
}

pub(crate) fn otlp_exporter(
    endpoint: &str,
    protocol: OtlpProtocol,
    timeout: Duration,
) -> Result<(opentelemetry_otlp::SpanExporter, Runtime)> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let invalid = |url: &str, e: &dyn std::fmt::Display| Error::InvalidConfig {
        field: "OTLP endpoint",
        value: url.to_string(),
        reason: format!("{e} (use host:port or http://host:port)"),
    };
    match protocol {
        OtlpProtocol::Grpc => {
            // tonic needs a runtime to build and run its channel; a dedicated one
            // keeps exports off the application's runtime (no deadlock on a
            // current-thread runtime, no dependence on the app having one).
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("megaobs-otlp")
                .enable_all()
                .build()
                .map_err(|source| Error::Io {
                    path: "megaobs-otlp runtime".into(),
                    source,
                })?;
            let url = with_scheme(endpoint);
            let exporter = {
                let _enter = rt.enter();
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(url.clone())
                    .with_timeout(timeout)
                    .build()
                    .map_err(|e| invalid(&url, &e))?
            };
            Ok((exporter, Some(rt)))
        }
        OtlpProtocol::HttpProtobuf => {
            let url = http_traces_url(endpoint);
            let client = reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| invalid(&url, &e))?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(client)
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(url.clone())
                .with_timeout(timeout)
                .build()
                .map_err(|e| invalid(&url, &e))?;
            Ok((exporter, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_plain_http_and_the_traces_path() {
        assert_eq!(with_scheme("localhost:4317"), "http://localhost:4317");
        assert_eq!(with_scheme("https://c:4317"), "https://c:4317");
        assert_eq!(
            http_traces_url("localhost:4318"),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(http_traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            http_traces_url("http://c:4318/custom/path"),
            "http://c:4318/custom/path"
        );
    }
}
