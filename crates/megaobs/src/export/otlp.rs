//! OTLP exporters from `opentelemetry-otlp`, over gRPC (tonic) or
//! HTTP/protobuf (blocking reqwest), configured the same way for spans and log
//! records: endpoint, deadline, headers, compression, TLS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};

use super::{Compression, ExportOptions, OtlpProtocol};
use crate::error::{Error, Result};

/// The dedicated runtime a gRPC exporter runs on (`None` for HTTP).
pub(crate) type Runtime = Option<tokio::runtime::Runtime>;

/// The full cause of the last failed HTTP request (an unknown CA, a refused
/// handshake), which `opentelemetry-otlp` reduces to "network error"; read by
/// the failure report.
#[derive(Debug, Clone, Default)]
pub(crate) struct LastCause(Arc<Mutex<Option<String>>>);

impl LastCause {
    /// `error`, completed with the last recorded cause if it has one.
    pub(crate) fn explain(&self, error: &str) -> String {
        match self.0.lock().ok().and_then(|mut c| c.take()) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        }
    }
}

/// reqwest's blocking client, recording each failure's source chain.
#[derive(Debug)]
struct CauseRecordingClient {
    inner: reqwest::blocking::Client,
    cause: LastCause,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for CauseRecordingClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        let result = self.inner.send_bytes(request).await;
        if let Err(e) = &result {
            let mut chain = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            if let Ok(mut slot) = self.cause.0.lock() {
                *slot = Some(chain);
            }
        }
        result
    }
}

/// `host:port` (the original design's form) means plain `http://`.
pub(crate) fn with_scheme(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    }
}

/// OTLP/HTTP wants the full path; a bare `host:port` gets `/{signal_path}`
/// (`v1/traces`, `v1/logs`).
pub(crate) fn http_signal_url(endpoint: &str, signal_path: &str) -> String {
    let url = with_scheme(endpoint);
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    if after_scheme.contains('/') && !after_scheme.ends_with('/') {
        url
    } else {
        format!("{}/{signal_path}", url.trim_end_matches('/'))
    }
}

/// Builds an OTLP exporter of type `$exporter` for `$dest`: the span and log
/// exporter builders of opentelemetry-otlp share no trait for `build()`, so
/// one macro serves both instead of two copies.
macro_rules! build_exporter {
    ($dest:expr, $exporter:ty) => {{
        let dest = $dest;
        dest.check_scheme()?;
        let cause = LastCause::default();
        match dest.protocol {
            OtlpProtocol::Grpc => {
                let rt = dest.runtime()?;
                let exporter = {
                    let _enter = rt.enter();
                    dest.tonic(<$exporter>::builder().with_tonic())?
                        .build()
                        .map_err(|e| dest.invalid(&e))?
                };
                Ok((exporter, Some(rt), cause))
            }
            OtlpProtocol::HttpProtobuf => {
                let exporter = dest
                    .http(<$exporter>::builder().with_http(), &cause)?
                    .build()
                    .map_err(|e| dest.invalid(&e))?;
                Ok((exporter, None, cause))
            }
        }
    }};
}

/// Where and how one exporter sends.
pub(crate) struct Destination<'a> {
    /// The endpoint as configured (scheme-less means `http://`).
    pub endpoint: &'a str,
    pub protocol: OtlpProtocol,
    /// `v1/traces` or `v1/logs`, appended to a bare HTTP endpoint.
    pub signal_path: &'static str,
    pub timeout: Duration,
    pub options: &'a ExportOptions,
    /// Names the settings in errors, e.g. `TracingConfig::otlp_endpoint`.
    pub field: &'static str,
}

impl Destination<'_> {
    /// The URL requests go to.
    pub(crate) fn url(&self) -> String {
        match self.protocol {
            OtlpProtocol::Grpc => with_scheme(self.endpoint),
            OtlpProtocol::HttpProtobuf => http_signal_url(self.endpoint, self.signal_path),
        }
    }

    fn invalid(&self, e: &dyn std::fmt::Display) -> Error {
        Error::InvalidConfig {
            field: self.field,
            value: self.url(),
            reason: format!("{e} (use host:port, http://host:port or https://host:port)"),
        }
    }

    /// Refuses `https://` in a build without TLS.
    fn check_scheme(&self) -> Result<()> {
        #[cfg(not(feature = "tls"))]
        if crate::core::env::has_scheme(self.endpoint, "https://") {
            return Err(Error::InvalidConfig {
                field: self.field,
                value: self.endpoint.to_string(),
                reason: super::NO_TLS.to_string(),
            });
        }
        Ok(())
    }

    /// A runtime of its own for tonic: it keeps exports off the application's
    /// runtime (no deadlock on a current-thread runtime, no dependence on the
    /// app having one).
    fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("megaobs-otlp")
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "megaobs-otlp runtime".into(),
                source,
            })
    }

    fn tonic<B: WithTonicConfig + WithExportConfig>(&self, builder: B) -> Result<B> {
        let mut builder = builder.with_endpoint(self.url()).with_timeout(self.timeout);
        if !self.options.headers.is_empty() {
            let mut map = http::HeaderMap::new();
            for (name, value) in self.options.headers.pairs() {
                let name = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| self.invalid(&format!("header name {name:?} is not valid")))?;
                let value = http::HeaderValue::from_str(value).map_err(|_| {
                    self.invalid(&format!(
                        "the value of header {name} is not valid in gRPC metadata"
                    ))
                })?;
                map.insert(name, value);
            }
            builder = builder.with_metadata(
                opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map),
            );
        }
        if self.options.compression == Compression::Gzip {
            builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
        }
        #[cfg(feature = "tls")]
        if crate::core::env::has_scheme(self.endpoint, "https://") {
            let tls = self.options.load_tls("ExportOptions::tls")?;
            builder = builder.with_tls_config(tls.tonic_config());
        }
        Ok(builder)
    }

    fn http<B: WithHttpConfig + WithExportConfig>(
        &self,
        builder: B,
        cause: &LastCause,
    ) -> Result<B> {
        let client = CauseRecordingClient {
            inner: super::http_client::http_client(self.timeout, self.options, self.field)?,
            cause: cause.clone(),
        };
        let mut builder = builder
            .with_http_client(client)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(self.url())
            .with_timeout(self.timeout);
        if !self.options.headers.is_empty() {
            builder = builder.with_headers(
                self.options
                    .headers
                    .pairs()
                    .iter()
                    .cloned()
                    .collect::<HashMap<_, _>>(),
            );
        }
        if self.options.compression == Compression::Gzip {
            builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
        }
        Ok(builder)
    }

    /// An OTLP span exporter, the runtime it needs, and its failure cause slot.
    #[cfg(feature = "tracing")]
    pub(crate) fn span_exporter(
        &self,
    ) -> Result<(opentelemetry_otlp::SpanExporter, Runtime, LastCause)> {
        build_exporter!(self, opentelemetry_otlp::SpanExporter)
    }

    /// An OTLP log record exporter, the runtime it needs, and its failure cause slot.
    #[cfg(feature = "logging")]
    pub(crate) fn log_exporter(
        &self,
    ) -> Result<(opentelemetry_otlp::LogExporter, Runtime, LastCause)> {
        build_exporter!(self, opentelemetry_otlp::LogExporter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_plain_http_and_the_signal_path() {
        assert_eq!(with_scheme("localhost:4317"), "http://localhost:4317");
        assert_eq!(with_scheme("https://c:4317"), "https://c:4317");
        assert_eq!(
            http_signal_url("localhost:4318", "v1/traces"),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(
            http_signal_url("http://c:4318/", "v1/logs"),
            "http://c:4318/v1/logs"
        );
        assert_eq!(
            http_signal_url("http://c:3100/otlp/v1/logs", "v1/logs"),
            "http://c:3100/otlp/v1/logs"
        );
    }
}
