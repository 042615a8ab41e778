//! How telemetry leaves the process: the transport settings every exporter
//! shares (spans over OTLP or Zipkin, log records over OTLP) — headers,
//! compression, deadline and TLS — read from the OpenTelemetry variables, where
//! a signal's own variable (`OTEL_EXPORTER_OTLP_TRACES_HEADERS`,
//! `OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE`, …) overrides the general one.
//!
//! | variable (general form) | meaning |
//! | --- | --- |
//! | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,key2=value2`, values percent-encoded; sent with every export |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` | `gzip` or `none` |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` | deadline of one export, in milliseconds |
//! | `OTEL_EXPORTER_OTLP_CERTIFICATE` | PEM file of the CA that signs the server's certificate |
//! | `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` | PEM file of the client certificate (mTLS) |
//! | `OTEL_EXPORTER_OTLP_CLIENT_KEY` | PEM file of its private key |
//!
//! This module sits below the pillars: the tracing and logging pillars each
//! hold an [`ExportOptions`] for their signal.
// Some parts serve only OTLP log export, or only installation.
#![cfg_attr(
    not(all(feature = "otlp", feature = "logging", feature = "tracing")),
    allow(dead_code, unused_imports)
)]

mod headers;
#[cfg(any(feature = "otlp", feature = "zipkin"))]
pub(crate) mod http_client;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
#[cfg(feature = "tls")]
mod tls;

use std::time::Duration;

pub use headers::{ExportHeaders, HeaderProblem};
#[cfg(feature = "tls")]
pub use tls::ExportTls;
#[cfg(feature = "tls")]
pub(crate) use tls::{ensure_process_provider, LoadedTls, TlsFile};

use crate::core::env::{invalid, Env};
use crate::error::{Error, Result};

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (default port 4317).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318).
    HttpProtobuf,
}

impl OtlpProtocol {
    /// Parses `grpc` or `http/protobuf` (also `http`).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "grpc" => Some(Self::Grpc),
            "http/protobuf" | "http" => Some(Self::HttpProtobuf),
            _ => None,
        }
    }
}

/// Body compression of export requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Bodies sent as they are.
    #[default]
    None,
    /// gzip (`Content-Encoding: gzip`, or gRPC's `grpc-encoding: gzip`).
    Gzip,
}

/// Transport settings of one signal's exporter: headers, compression, TLS.
/// From code, or from the `OTEL_EXPORTER_OTLP_*` variables (see the
/// [module docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportOptions {
    /// Headers sent with every export (secrets: never printed).
    pub headers: ExportHeaders,
    /// Body compression.
    pub compression: Compression,
    /// CA and client certificate for `https://` endpoints.
    #[cfg(feature = "tls")]
    pub tls: ExportTls,
}

impl ExportOptions {
    /// Adds (or replaces) a header sent with every export.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers = self.headers.insert(name, value);
        self
    }

    /// Sets the body compression.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Trusts only the CA certificate(s) in this PEM file.
    #[cfg(feature = "tls")]
    pub fn ca_certificate(mut self, pem_file: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca_certificate = Some(pem_file.into());
        self
    }

    /// Shows this client certificate (PEM chain and key files) for mTLS.
    #[cfg(feature = "tls")]
    pub fn client_certificate(
        mut self,
        cert_pem_file: impl Into<std::path::PathBuf>,
        key_pem_file: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.client_certificate = Some(cert_pem_file.into());
        self.tls.client_key = Some(key_pem_file.into());
        self
    }

    /// Reads and checks the TLS files (code-built configurations; errors name
    /// `field`).
    #[cfg(feature = "tls")]
    pub(crate) fn load_tls(&self, field: &'static str) -> Result<LoadedTls> {
        self.tls.load().map_err(|p| p.into_error(field))
    }
}

/// A signal with its own `OTEL_EXPORTER_OTLP_<SIGNAL>_*` variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Logs,
}

/// The variables of one setting: the signal's own, then the general one.
struct Vars {
    headers: [&'static str; 2],
    compression: [&'static str; 2],
    timeout: [&'static str; 2],
    #[cfg(feature = "tls")]
    certificate: [&'static str; 2],
    #[cfg(feature = "tls")]
    client_certificate: [&'static str; 2],
    #[cfg(feature = "tls")]
    client_key: [&'static str; 2],
}

impl Signal {
    fn vars(self) -> Vars {
        macro_rules! vars {
            ($sig:literal) => {
                Vars {
                    headers: [
                        concat!("OTEL_EXPORTER_OTLP_", $sig, "_HEADERS"),
                        "OTEL_EXPORTER_OTLP_HEADERS",
                    ],
                    compression: [
                        concat!("OTEL_EXPORTER_OTLP_", $sig, "_COMPRESSION"),
                        "OTEL_EXPORTER_OTLP_COMPRESSION",
                    ],
                    timeout: [
                        concat!("OTEL_EXPORTER_OTLP_", $sig, "_TIMEOUT"),
                        "OTEL_EXPORTER_OTLP_TIMEOUT",
                    ],
                    #[cfg(feature = "tls")]
                    certificate: [
                        concat!("OTEL_EXPORTER_OTLP_", $sig, "_CERTIFICATE"),
                        "OTEL_EXPORTER_OTLP_CERTIFICATE",
                    ],
                    #[cfg(feature = "tls")]
                    client_certificate: [
                        concat!("OTEL_EXPORTER_OTLP_", $sig, "_CLIENT_CERTIFICATE"),
                        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                    ],
                    #[cfg(feature = "tls")]
                    client_key: [
                        concat!("OTEL_EXPORTER_OTLP_", $sig, "_CLIENT_KEY"),
                        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                    ],
                }
            };
        }
        match self {
            Self::Traces => vars!("TRACES"),
            Self::Logs => vars!("LOGS"),
        }
    }
}

/// One signal's export settings from the environment, checked: the headers
/// parse, the compression is known, the timeout is a positive number of
/// milliseconds, the TLS files exist and hold PEM of the right kind. Returns
/// the options and the timeout, if one was set.
pub(crate) fn from_env<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    signal: Signal,
) -> Result<(ExportOptions, Option<Duration>)> {
    let vars = signal.vars();
    let mut options = ExportOptions::default();
    if let Some((var, raw)) = env.first_set(&vars.headers) {
        options.headers = ExportHeaders::parse(&raw).map_err(|p| Error::InvalidHeaders {
            setting: var,
            reason: p.0,
        })?;
    }
    if let Some((var, raw)) = env.first_set(&vars.compression) {
        options.compression = match raw.trim().to_ascii_lowercase().as_str() {
            "gzip" => Compression::Gzip,
            "none" => Compression::None,
            _ => return Err(invalid(var, &raw, "gzip or none")),
        };
    }
    let timeout = match env.first_set(&vars.timeout) {
        Some((var, raw)) => Some(
            raw.trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .ok_or_else(|| {
                    invalid(
                        var,
                        &raw,
                        "a positive whole number of milliseconds, e.g. 10000",
                    )
                })?,
        ),
        None => None,
    };
    #[cfg(feature = "tls")]
    {
        let ca = env.first_set(&vars.certificate);
        let cert = env.first_set(&vars.client_certificate);
        let key = env.first_set(&vars.client_key);
        options.tls = ExportTls {
            ca_certificate: ca.as_ref().map(|(_, p)| p.trim().into()),
            client_certificate: cert.as_ref().map(|(_, p)| p.trim().into()),
            client_key: key.as_ref().map(|(_, p)| p.trim().into()),
        };
        options.tls.load().map_err(|p| {
            let set = |v: &Option<(&'static str, String)>, general: &'static str| {
                v.as_ref().map_or(general, |(var, _)| *var)
            };
            let var = match p.file {
                TlsFile::Ca => set(&ca, vars.certificate[1]),
                TlsFile::ClientCertificate => set(&cert, vars.client_certificate[1]),
                TlsFile::ClientKey => set(&key, vars.client_key[1]),
            };
            p.into_error(var)
        })?;
    }
    #[cfg(not(feature = "tls"))]
    for var in [
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    ] {
        if let Some(raw) = env.get(var) {
            return Err(invalid(
                var,
                &raw,
                "nothing: megaobs was built without its `tls` feature (enable it to use certificates)",
            ));
        }
    }
    Ok((options, timeout))
}

/// Why an `https://` endpoint is refused in a build without the `tls` feature.
#[cfg(not(feature = "tls"))]
pub(crate) const NO_TLS: &str = "an http:// endpoint: megaobs is built without its `tls` \
     feature; enable it, or send to a local OpenTelemetry Collector over http:// and let it \
     forward over TLS";

/// What a failure report knows of an exporter: the header values to mask,
/// and whether it speaks TLS without a client certificate.
#[derive(Debug, Clone, Default)]
pub(crate) struct FailureReport {
    headers: ExportHeaders,
    /// An `https://` endpoint and no client certificate configured.
    tls_without_client_certificate: bool,
}

impl FailureReport {
    /// The report for an exporter sending to `endpoint` with `options`.
    pub(crate) fn new(endpoint: &str, options: &ExportOptions) -> Self {
        #[cfg(feature = "tls")]
        let no_client_certificate = options.tls.client_certificate.is_none();
        #[cfg(not(feature = "tls"))]
        let no_client_certificate = true;
        Self {
            headers: options.headers.clone(),
            tls_without_client_certificate: no_client_certificate
                && endpoint
                    .get(..8)
                    .is_some_and(|s| s.eq_ignore_ascii_case("https://")),
        }
    }

    /// An export error made fit to print: header values masked, and a plain
    /// statement of the likely cause (an unknown CA, an expired certificate, a
    /// missing client certificate, a refused credential) in front.
    pub(crate) fn describe(&self, error: &str) -> String {
        let mut text = error.to_string();
        for value in self.headers.values().filter(|v| v.len() >= 4) {
            text = text.replace(value, "[REDACTED]");
        }
        let lower = text.to_ascii_lowercase();
        let cause = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
            Some("the server's certificate is not signed by the configured CA (OTEL_EXPORTER_OTLP_CERTIFICATE, or the public roots when unset)")
        } else if lower.contains("expired") {
            Some("the server's certificate has expired")
        } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
            Some("the server's certificate is not valid for the endpoint's host name")
        } else if lower.contains("certificaterequired") || lower.contains("certificate required") {
            Some(CLIENT_CERTIFICATE_REQUIRED)
        } else if self.tls_without_client_certificate
            && (lower.contains("broken pipe") || lower.contains("connection reset"))
        {
            // A TLS 1.3 server refuses a missing client certificate after the
            // handshake; a client already writing sees the connection close
            // before it reads the server's alert.
            Some("the server closed the TLS connection; if it requires a client certificate, set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY")
        } else if lower.contains("401") || lower.contains("unauthenticated") {
            Some("401 Unauthorized: the server refused the credentials in the export headers (OTEL_EXPORTER_OTLP_HEADERS)")
        } else if lower.contains("403")
            || lower.contains("permissiondenied")
            || lower.contains("permission denied")
        {
            Some("403 Forbidden: the credentials in the export headers may not write here")
        } else {
            None
        };
        match cause {
            Some(cause) => format!("{cause} ({text})"),
            None => text,
        }
    }
}

/// The cause named when the server asks for a client certificate.
const CLIENT_CERTIFICATE_REQUIRED: &str =
    "the server requires a client certificate (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY)";

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)], signal: Signal) -> Result<(ExportOptions, Option<Duration>)> {
        let lookup = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        from_env(&Env(&lookup), signal)
    }

    #[test]
    fn a_signal_variable_overrides_the_general_one() {
        let (o, t) = read(
            &[
                ("OTEL_EXPORTER_OTLP_HEADERS", "a=general"),
                ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "a=logs"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ],
            Signal::Logs,
        )
        .unwrap();
        assert_eq!(o.headers.get("a"), Some("logs"));
        assert_eq!(o.compression, Compression::Gzip);
        assert_eq!(t, None);
        let (o, t) = read(
            &[
                ("OTEL_EXPORTER_OTLP_HEADERS", "a=general"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ],
            Signal::Traces,
        )
        .unwrap();
        assert_eq!(o.headers.get("a"), Some("general"));
        assert_eq!(t, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn bad_values_name_their_variable_and_hide_header_values() {
        for (vars, needle) in [
            (
                vec![("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli")],
                "OTEL_EXPORTER_OTLP_COMPRESSION",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-5")],
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TIMEOUT", "0")],
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ),
            (
                vec![(
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "authorization Bearer s3cr3t-value",
                )],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
        ] {
            let e = read(&vars, Signal::Traces).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn failures_are_described_without_header_values() {
        let options = ExportOptions::default().header("authorization", "Bearer tok-12345");
        let report = FailureReport::new("http://collector:4318", &options);
        let d = report.describe("status: Unauthenticated, sent Bearer tok-12345");
        assert!(d.starts_with("401 Unauthorized"), "{d}");
        assert!(!d.contains("tok-12345"), "{d}");
        let d = report.describe("invalid peer certificate: UnknownIssuer");
        assert!(d.contains("not signed by the configured CA"), "{d}");
    }

    #[test]
    fn a_closed_tls_connection_without_a_client_certificate_points_at_one() {
        let error = "transport error: connection error: Broken pipe (os error 32)";
        let https = FailureReport::new("HTTPS://collector:4317", &ExportOptions::default());
        let d = https.describe(error);
        assert!(
            d.starts_with("the server closed the TLS connection; if it requires a client certificate, set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
            "{d}"
        );
        assert!(d.ends_with(&format!("({error})")), "{d}");
        // Over plain HTTP a closed connection says nothing about certificates.
        let http = FailureReport::new("http://collector:4317", &ExportOptions::default());
        assert_eq!(http.describe(error), error);
        #[cfg(feature = "tls")]
        {
            let with_cert = ExportOptions::default().client_certificate("c.pem", "k.pem");
            let d = FailureReport::new("https://collector:4317", &with_cert).describe(error);
            assert_eq!(d, error, "a client certificate is configured already");
        }
        let d = https.describe("received fatal alert: CertificateRequired");
        assert!(d.starts_with(CLIENT_CERTIFICATE_REQUIRED), "{d}");
    }
}
