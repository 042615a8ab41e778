//! Configuration of every pillar, from code or from the environment.
//!
//! [`ObservabilityConfig::from_env`] reads the variables of the original
//! MegaAgent Pro design (`TRACING_*`, `JAEGER_*`, `ZIPKIN_ENDPOINT`,
//! `OTLP_ENDPOINT`, `API_RATE_*`), the ones megaobs adds (`OTLP_PROTOCOL`,
//! `LOG_*`, `METRICS_ADDR`) and, as fallbacks, the standard `OTEL_*` variables.
//! Every value is validated: an invalid one is an
//! [`Error::InvalidEnv`](crate::Error::InvalidEnv) naming the variable, the
//! value and what is accepted.
//!
//! ```
//! use megaobs::config::{ObservabilityConfig, TracingExporter};
//!
//! let cfg = ObservabilityConfig::from_lookup(|var| match var {
//!     "TRACING_EXPORTER" => Some("otlp".to_string()),
//!     "OTLP_ENDPOINT" => Some("localhost:4317".to_string()),
//!     _ => None,
//! })?;
//! assert_eq!(cfg.tracing.exporter, TracingExporter::Otlp);
//! assert_eq!(cfg.tracing.service_name, "megaagent-pro");
//!
//! let err = ObservabilityConfig::from_lookup(|var| {
//!     (var == "TRACING_SAMPLE_RATE").then(|| "1.5".to_string())
//! })
//! .unwrap_err();
//! assert!(err.to_string().contains("TRACING_SAMPLE_RATE"));
//! # Ok::<(), megaobs::Error>(())
//! ```

//! Each pillar owns its configuration type and its variables (they live next to
//! the pillar: [`TracingConfig`] in `trace`, [`LoggingConfig`] in `logging`,
//! [`MetricsConfig`] in `metrics`, [`ApiConfig`] in `http`); this module gathers
//! them and re-exports them under one path.

#[cfg(feature = "axum")]
pub use crate::http::ApiConfig;
#[cfg(feature = "logging")]
pub use crate::logging::{LogFormat, LoggingConfig, OtlpLogs, SyslogTarget};
#[cfg(feature = "metrics")]
pub use crate::metrics::MetricsConfig;
#[cfg(feature = "tracing")]
pub use crate::trace::{OtlpProtocol, TracingConfig, TracingExporter};

use crate::core::env::env_lookup;
pub use crate::core::resource::DEFAULT_SERVICE_NAME;
use crate::error::Result;

/// Configuration of all pillars together.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ObservabilityConfig {
    /// Distributed tracing.
    #[cfg(feature = "tracing")]
    pub tracing: TracingConfig,
    /// Structured logging.
    #[cfg(feature = "logging")]
    pub logging: LoggingConfig,
    /// Prometheus metrics.
    #[cfg(feature = "metrics")]
    pub metrics: MetricsConfig,
    /// HTTP API protection (rate limiting).
    #[cfg(feature = "axum")]
    pub api: ApiConfig,
}

impl ObservabilityConfig {
    /// Reads every pillar's configuration from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads every pillar's configuration through `lookup` instead of the
    /// process environment (tests, config files mapped to variables).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let _ = &lookup;
        Ok(Self {
            #[cfg(feature = "tracing")]
            tracing: TracingConfig::from_lookup(&lookup)?,
            #[cfg(feature = "logging")]
            logging: LoggingConfig::from_lookup(&lookup)?,
            #[cfg(feature = "metrics")]
            metrics: MetricsConfig::from_lookup(&lookup)?,
            #[cfg(feature = "axum")]
            api: ApiConfig::from_lookup(&lookup)?,
        })
    }

    /// Sets the secret names of every pillar at once (log fields and span
    /// attributes alike: one list, whichever layer is built first). Names match
    /// case-insensitively, as a whole name or a `_`/`.`/`-` suffix; an empty list
    /// turns name-based redaction off.
    #[allow(unused_mut)] // nothing to set in a build without tracing and logging
    pub fn redact<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        #[cfg(feature = "tracing")]
        {
            self.tracing.redact = names.clone();
        }
        #[cfg(feature = "logging")]
        {
            self.logging.redact = names.clone();
        }
        let _ = names;
        self
    }

    /// Turns the scanning of values for secret shapes (`password=…`, bearer
    /// tokens, `sk-…` keys, JWTs, AWS key ids, PEM private keys) on or off for
    /// every pillar at once (default: on).
    #[allow(unused_mut)] // nothing to set in a build without tracing and logging
    pub fn redact_values(mut self, on: bool) -> Self {
        #[cfg(feature = "tracing")]
        {
            self.tracing.redact_values = on;
        }
        #[cfg(feature = "logging")]
        {
            self.logging.redact_values = on;
        }
        let _ = on;
        self
    }
}

#[cfg(all(test, feature = "tracing", feature = "logging", feature = "axum"))]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::time::Duration;

    fn cfg(vars: &[(&str, &str)]) -> Result<ObservabilityConfig> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ObservabilityConfig::from_lookup(|k| map.get(k).cloned())
    }

    fn err_of(vars: &[(&str, &str)]) -> String {
        match cfg(vars) {
            Ok(c) => panic!("expected an error for {vars:?}, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_follow_the_original_design() {
        let c = cfg(&[]).unwrap();
        assert!(c.tracing.enabled);
        assert_eq!(c.tracing.service_name, "megaagent-pro");
        assert_eq!(c.tracing.exporter, TracingExporter::Console);
        assert_eq!(c.tracing.sample_rate, 1.0);
        assert_eq!(c.tracing.jaeger_port, 4317);
        assert_eq!(c.logging.max_bytes, 10_485_760);
        assert_eq!(c.logging.backups, 5);
        assert_eq!(c.logging.level, "info");
        assert_eq!(c.api.rate_limit, 60);
        assert_eq!(c.api.rate_window, Duration::from_secs(60));
        assert_eq!(c.metrics.addr.to_string(), "127.0.0.1:8000");
    }

    #[test]
    fn every_variable_is_read() {
        let c = cfg(&[
            ("TRACING_ENABLED", "false"),
            ("TRACING_SERVICE_NAME", "research-api"),
            ("TRACING_EXPORTER", "zipkin"),
            ("TRACING_SAMPLE_RATE", "0.25"),
            ("JAEGER_HOST", "jaeger.local"),
            ("JAEGER_PORT", "4318"),
            ("ZIPKIN_ENDPOINT", "http://z:9411/api/v2/spans"),
            ("OTLP_ENDPOINT", "collector:4317"),
            ("OTLP_PROTOCOL", "http/protobuf"),
            ("API_RATE_LIMIT", "10"),
            ("API_RATE_WINDOW", "5"),
            ("LOG_LEVEL", "WARNING"),
            ("LOG_FORMAT", "text"),
            ("LOG_DIR", "/var/log/x"),
            ("LOG_MAX_BYTES", "2048"),
            ("LOG_BACKUPS", "2"),
            ("LOG_SYSLOG", "udp://127.0.0.1:514"),
            ("METRICS_ADDR", "0.0.0.0:9464"),
        ])
        .unwrap();
        assert!(!c.tracing.enabled);
        assert_eq!(c.tracing.service_name, "research-api");
        assert_eq!(c.logging.service_name, "research-api");
        assert_eq!(c.tracing.exporter, TracingExporter::Zipkin);
        assert_eq!(c.tracing.sample_rate, 0.25);
        assert_eq!(c.tracing.jaeger_host, "jaeger.local");
        assert_eq!(c.tracing.jaeger_port, 4318);
        assert_eq!(c.tracing.zipkin_endpoint, "http://z:9411/api/v2/spans");
        assert_eq!(c.tracing.otlp_endpoint, "collector:4317");
        assert_eq!(c.tracing.otlp_protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.api.rate_limit, 10);
        assert_eq!(c.api.rate_window, Duration::from_secs(5));
        assert_eq!(c.logging.level, "warn");
        assert_eq!(c.logging.format, LogFormat::Text);
        assert_eq!(c.logging.dir, PathBuf::from("/var/log/x"));
        assert_eq!(c.logging.max_bytes, 2048);
        assert_eq!(c.logging.backups, 2);
        assert_eq!(
            c.logging.syslog,
            Some(SyslogTarget::Udp("127.0.0.1:514".into()))
        );
        assert_eq!(c.metrics.addr.to_string(), "0.0.0.0:9464");
    }

    #[test]
    fn otel_variables_are_fallbacks() {
        let c = cfg(&[
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(c.tracing.service_name, "svc");
        assert_eq!(c.tracing.otlp_endpoint, "http://c:4318");
        assert_eq!(c.tracing.sample_rate, 0.5);
        assert_eq!(c.tracing.exporter, TracingExporter::Otlp);
        assert_eq!(c.tracing.otlp_protocol, OtlpProtocol::HttpProtobuf);
        // The original design's variables win over OTEL_*.
        let c = cfg(&[
            ("OTEL_SERVICE_NAME", "svc"),
            ("TRACING_SERVICE_NAME", "mine"),
        ])
        .unwrap();
        assert_eq!(c.tracing.service_name, "mine");
        let c = cfg(&[("OTEL_SDK_DISABLED", "true")]).unwrap();
        assert!(!c.tracing.enabled);
    }

    #[test]
    fn invalid_values_name_variable_value_and_what_is_accepted() {
        let cases: &[(&str, &str, &str)] = &[
            ("TRACING_SAMPLE_RATE", "abc", "0.0 to 1.0"),
            ("TRACING_SAMPLE_RATE", "1.5", "0.0 to 1.0"),
            ("TRACING_SAMPLE_RATE", "-0.1", "0.0 to 1.0"),
            ("OTEL_TRACES_SAMPLER_ARG", "x", "0.0 to 1.0"),
            ("API_RATE_LIMIT", "-3", "whole number"),
            ("API_RATE_LIMIT", "0", "whole number"),
            ("API_RATE_WINDOW", "soon", "seconds"),
            ("TRACING_ENABLED", "maybe", "true or false"),
            (
                "TRACING_EXPORTER",
                "jaegar",
                "console, jaeger, zipkin, otlp, none",
            ),
            ("OTLP_PROTOCOL", "udp", "grpc or http/protobuf"),
            ("LOG_LEVEL", "loud", "WARNING"),
            ("LOG_FORMAT", "xml", "json or text"),
            ("LOG_MAX_BYTES", "10", "at least 1024"),
            ("LOG_BACKUPS", "many", "whole number"),
            ("LOG_SYSLOG", "syslog.local", "udp://host:port"),
            ("LOG_SYSLOG", "udp://host", "udp://host:port"),
            ("METRICS_ADDR", "8000", "socket address"),
            ("TRACING_SERVICE_NAME", "../etc/passwd", "log files"),
        ];
        for (var, value, expected) in cases {
            let msg = err_of(&[(var, value)]);
            assert!(msg.contains(var), "{msg}");
            assert!(msg.contains(&format!("{value:?}")), "{msg}");
            assert!(msg.contains(expected), "{var}={value}: {msg}");
        }
        // Jaeger's and Zipkin's variables are checked when their exporter is
        // chosen (and ignored otherwise, below)...
        for (exporter, var, value, expected) in [
            ("jaeger", "JAEGER_PORT", "6831", "4317"),
            ("jaeger", "JAEGER_PORT", "6832", "4318"),
            ("jaeger", "JAEGER_PORT", "70000", "TCP port"),
            ("zipkin", "ZIPKIN_ENDPOINT", "localhost:9411", "http://"),
        ] {
            let msg = err_of(&[("TRACING_EXPORTER", exporter), (var, value)]);
            assert!(msg.contains(var), "{msg}");
            assert!(msg.contains(&format!("{value:?}")), "{msg}");
            assert!(msg.contains(expected), "{msg}");
        }
    }

    #[test]
    fn the_original_env_block_starts_with_the_console_exporter() {
        // ...and ignored otherwise: the original design's environment block
        // (JAEGER_PORT=6831 beside TRACING_EXPORTER=console) must start.
        let c = cfg(&[
            ("TRACING_ENABLED", "true"),
            ("TRACING_SERVICE_NAME", "megaagent-pro"),
            ("TRACING_EXPORTER", "console"),
            ("TRACING_SAMPLE_RATE", "1.0"),
            ("JAEGER_HOST", "localhost"),
            ("JAEGER_PORT", "6831"),
            ("ZIPKIN_ENDPOINT", "http://localhost:9411/api/v2/spans"),
            ("OTLP_ENDPOINT", "localhost:4317"),
            ("API_RATE_LIMIT", "60"),
            ("API_RATE_WINDOW", "60"),
        ])
        .unwrap();
        assert_eq!(c.tracing.jaeger_port, 6831);
        c.tracing.validate().unwrap();
        // What Kubernetes injects for a Service named `jaeger` does not stop an
        // otlp service from starting.
        let k8s = cfg(&[
            ("TRACING_EXPORTER", "otlp"),
            ("JAEGER_PORT", "tcp://10.0.0.7:4317"),
            ("ZIPKIN_ENDPOINT", "zipkin:9411"),
        ])
        .unwrap();
        assert_eq!(k8s.tracing.jaeger_port, 4317);
        let jaeger = c
            .tracing
            .clone()
            .exporter(crate::trace::TracingExporter::Jaeger);
        assert!(jaeger.validate().unwrap_err().to_string().contains("4317"));
    }

    #[test]
    fn code_built_logging_configs_follow_the_env_rules() {
        use crate::logging::{LogLayer, LoggingConfig};
        let quiet = || LoggingConfig::default().console(false).file(false);
        for (config, field) in [
            (quiet().service_name("../../etc/x"), "service_name"),
            (quiet().service_name(".."), "service_name"),
            (quiet().max_bytes(0), "max_bytes"),
            (quiet().backups(5000), "backups"),
        ] {
            let err = LogLayer::builder(config)
                .build::<tracing_subscriber::Registry>()
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{err}");
        }
        quiet().validate().unwrap();
    }

    #[test]
    fn level_names_in_code_behave_like_log_level() {
        use crate::logging::{LogLayer, LoggingConfig};
        let quiet = || LoggingConfig::default().console(false).file(false);
        for level in ["WARNING", "CRITICAL", "Info", "warn,my_app=DEBUG"] {
            let (layer, _guard) = LogLayer::builder(quiet().level(level))
                .build::<tracing_subscriber::Registry>()
                .unwrap();
            assert_eq!(layer.level_handle().current(), level);
        }
        // A bare word that is no level would be read as a target name by
        // `tracing` and hide every line: refused, with the reason.
        for bad in ["loud", "WARNNG", "my_app", ""] {
            let err = LogLayer::builder(quiet().level(bad))
                .build::<tracing_subscriber::Registry>()
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("LoggingConfig::level") && err.contains("level"),
                "{err}"
            );
        }
    }

    #[test]
    #[cfg(not(feature = "tls"))]
    fn https_endpoints_of_the_chosen_exporter_are_refused_when_read() {
        // A build without TLS: refused at once, naming the variable,
        // rather than by init_tracing later.
        for (exporter, var, url) in [
            (
                "zipkin",
                "ZIPKIN_ENDPOINT",
                "https://zipkin:9411/api/v2/spans",
            ),
            (
                "zipkin",
                "ZIPKIN_ENDPOINT",
                "HTTPS://zipkin:9411/api/v2/spans",
            ),
            ("otlp", "OTLP_ENDPOINT", "https://collector:4317"),
            (
                "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector:4317",
            ),
        ] {
            let msg = err_of(&[("TRACING_EXPORTER", exporter), (var, url)]);
            assert!(
                msg.contains(var) && msg.contains("without its `tls`"),
                "{msg}"
            );
        }
        // Another exporter's endpoint is not used, so not refused; the scheme's
        // letter case does not matter.
        let c = cfg(&[
            ("TRACING_EXPORTER", "zipkin"),
            ("ZIPKIN_ENDPOINT", "HTTP://zipkin:9411/api/v2/spans"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
        ])
        .unwrap();
        assert_eq!(c.tracing.zipkin_endpoint, "HTTP://zipkin:9411/api/v2/spans");
        c.tracing.validate().unwrap();
    }

    #[test]
    #[cfg(feature = "tls")]
    fn https_endpoints_are_accepted_and_tls_files_checked_when_read() {
        let c = cfg(&[
            ("TRACING_EXPORTER", "otlp"),
            ("OTLP_ENDPOINT", "https://collector:4317"),
        ])
        .unwrap();
        c.tracing.validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.txt");
        std::fs::write(&not_pem, "hello").unwrap();
        let missing = dir.path().join("missing.pem");
        let (not_pem, missing) = (not_pem.to_str().unwrap(), missing.to_str().unwrap());
        for (vars, var, needle) in [
            (
                vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", missing)],
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                "missing.pem",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", not_pem)],
                "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                "no PEM certificate",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", not_pem)],
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                "needs its private key",
            ),
        ] {
            let mut all = vec![("TRACING_EXPORTER", "otlp")];
            all.extend(vars);
            let msg = err_of(&all);
            assert!(msg.contains(var) && msg.contains(needle), "{msg}");
        }
        // A console tracer ignores export settings; logs read their own.
        let msg = err_of(&[
            ("LOG_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", missing),
        ]);
        assert!(msg.contains("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE"), "{msg}");
        let msg = err_of(&[("LOG_EXPORTER", "loki")]);
        assert!(
            msg.contains("LOG_EXPORTER") && msg.contains("otlp or none"),
            "{msg}"
        );
        let msg = err_of(&[
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "udp"),
        ]);
        assert!(msg.contains("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"), "{msg}");
    }

    #[test]
    fn log_export_reads_its_own_endpoint_then_the_general_one() {
        let c = cfg(&[
            ("LOG_EXPORTER", "otlp"),
            ("OTLP_ENDPOINT", "collector:4317"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://loki:3100/otlp/v1/logs",
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-scope-orgid=tenant1"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1500"),
        ])
        .unwrap();
        let otlp = c.logging.otlp.unwrap();
        assert_eq!(otlp.endpoint, "http://loki:3100/otlp/v1/logs");
        assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(otlp.options.headers.get("x-scope-orgid"), Some("tenant1"));
        assert_eq!(otlp.timeout, std::time::Duration::from_millis(1500));
        let c = cfg(&[("LOG_EXPORTER", "otlp"), ("OTLP_PROTOCOL", "http/protobuf")]).unwrap();
        assert_eq!(c.logging.otlp.unwrap().endpoint, "localhost:4318");
        assert!(cfg(&[("LOG_EXPORTER", "none")])
            .unwrap()
            .logging
            .otlp
            .is_none());
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = cfg(&[("TRACING_SAMPLE_RATE", ""), ("LOG_DIR", "  ")]).unwrap();
        assert_eq!(c.tracing.sample_rate, 1.0);
        assert_eq!(c.logging.dir, PathBuf::from("logs"));
    }
}
