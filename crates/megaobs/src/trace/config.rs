//! [`TracingConfig`]: what the tracing pillar exports, where, and how much,
//! from code or from `TRACING_*`, `JAEGER_*`, `ZIPKIN_ENDPOINT`, `OTLP_*` and
//! the standard `OTEL_*` fallbacks.

use std::time::Duration;

use crate::core::env::{
    env_lookup, has_scheme, invalid, parse_bool, parse_ratio, service_name, Env,
};
use crate::core::resource::DEFAULT_SERVICE_NAME;
use crate::error::{Error, Result};
pub use crate::export::OtlpProtocol;
use crate::export::{ExportOptions, Signal};

/// Which span exporter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TracingExporter {
    /// Readable spans on standard output (development).
    #[default]
    Console,
    /// OTLP/gRPC to Jaeger (Jaeger v2 ingests OTLP natively).
    Jaeger,
    /// Zipkin v2 JSON over HTTP.
    Zipkin,
    /// OTLP over gRPC or HTTP/protobuf.
    Otlp,
    /// Spans are created (ids exist for logs) but exported nowhere.
    None,
}

impl TracingExporter {
    /// The name used in `TRACING_EXPORTER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Jaeger => "jaeger",
            Self::Zipkin => "zipkin",
            Self::Otlp => "otlp",
            Self::None => "none",
        }
    }
}

/// Tracing configuration (`TracingConfig` of the original Python design).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TracingConfig {
    /// `TRACING_ENABLED`: when false nothing is installed.
    pub enabled: bool,
    /// `TRACING_SERVICE_NAME` (fallback `OTEL_SERVICE_NAME`).
    pub service_name: String,
    /// `TRACING_EXPORTER` (fallback `OTEL_TRACES_EXPORTER`).
    pub exporter: TracingExporter,
    /// `TRACING_SAMPLE_RATE` (fallback `OTEL_TRACES_SAMPLER_ARG`), 0.0 to 1.0.
    pub sample_rate: f64,
    /// `JAEGER_HOST`.
    pub jaeger_host: String,
    /// `JAEGER_PORT`: an OTLP port of Jaeger (4317 gRPC, 4318 HTTP).
    pub jaeger_port: u16,
    /// `ZIPKIN_ENDPOINT`.
    pub zipkin_endpoint: String,
    /// `OTLP_ENDPOINT` (fallback `OTEL_EXPORTER_OTLP_ENDPOINT`); scheme-less means plain `http://`.
    pub otlp_endpoint: String,
    /// `OTLP_PROTOCOL` (fallback `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, then
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub otlp_protocol: OtlpProtocol,
    /// Headers, compression and TLS of span export (OTLP, Jaeger and Zipkin),
    /// from `OTEL_EXPORTER_OTLP_TRACES_*` or the general `OTEL_EXPORTER_OTLP_*`
    /// variables (see [`crate::export`]).
    pub export: ExportOptions,
    /// `service.version` resource attribute (also from `OTEL_RESOURCE_ATTRIBUTES`).
    pub service_version: Option<String>,
    /// `deployment.environment.name` resource attribute (also from `OTEL_RESOURCE_ATTRIBUTES`).
    pub deployment_environment: Option<String>,
    /// Further resource attributes (`OTEL_RESOURCE_ATTRIBUTES=k=v,k2=v2`).
    pub resource_attributes: Vec<(String, String)>,
    /// Spans that may wait for export; when full, new spans are dropped and counted.
    /// The queue is reserved up front at ≈ 360 bytes a slot (≈ 0.7 MiB for the
    /// default 2048); the spans' own strings and attributes come on top.
    pub max_queue_size: usize,
    /// Spans per export request.
    pub max_export_batch_size: usize,
    /// Longest a finished span waits before its batch is exported.
    pub scheduled_delay: Duration,
    /// Deadline of one export request (retries included);
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` in ms.
    pub export_timeout: Duration,
    /// Longest stopping tracing may take (exporting what is queued), even
    /// when the backend never answers; spans not exported by then are counted
    /// in `otel_spans_dropped_total{reason="shutdown"}`.
    pub shutdown_timeout: Duration,
    /// Attribute names whose values are exported as `[REDACTED]` (the same
    /// matching as the logging pillar's list; `ObservabilityConfig::redact` sets
    /// both).
    pub redact: Vec<String>,
    /// Scan message and string values for secret shapes (`password=…`, bearer
    /// tokens, `sk-…` keys, JWTs, AWS key ids, PEM private keys) and mask the
    /// secret part (default: on).
    pub redact_values: bool,
    /// Token prefixes masked inside values besides the fixed shapes (default `sk-`).
    pub secret_prefixes: Vec<String>,
}

impl TracingConfig {
    /// Sets the service name.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }
    /// Turns tracing on or off.
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }
    /// Chooses the exporter.
    pub fn exporter(mut self, exporter: TracingExporter) -> Self {
        self.exporter = exporter;
        self
    }
    /// Sets the head sampling ratio (0.0 to 1.0, parent-based).
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = rate;
        self
    }
    /// Sets Jaeger's host and OTLP port.
    pub fn jaeger(mut self, host: impl Into<String>, port: u16) -> Self {
        self.jaeger_host = host.into();
        self.jaeger_port = port;
        self
    }
    /// Sets the Zipkin collector URL.
    pub fn zipkin_endpoint(mut self, url: impl Into<String>) -> Self {
        self.zipkin_endpoint = url.into();
        self
    }
    /// Sets the OTLP endpoint and protocol.
    pub fn otlp(mut self, endpoint: impl Into<String>, protocol: OtlpProtocol) -> Self {
        self.otlp_endpoint = endpoint.into();
        self.otlp_protocol = protocol;
        self
    }
    /// Sets the headers, compression and TLS of span export.
    pub fn export(mut self, options: ExportOptions) -> Self {
        self.export = options;
        self
    }
    /// Sets `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }
    /// Sets `deployment.environment.name`.
    pub fn deployment_environment(mut self, env: impl Into<String>) -> Self {
        self.deployment_environment = Some(env.into());
        self
    }
    /// Adds a resource attribute.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }
    /// Sets the export queue's capacity in spans (reserved up front, ≈ 360 bytes each).
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = spans;
        self
    }
    /// Sets the batch size.
    pub fn max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size = spans;
        self
    }
    /// Sets how long a finished span may wait for its batch.
    pub fn scheduled_delay(mut self, delay: Duration) -> Self {
        self.scheduled_delay = delay;
        self
    }
    /// Sets one export's deadline.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }
    /// Sets the longest stopping may take.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
    /// Replaces the list of secret attribute names.
    pub fn redact<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redact = names.into_iter().map(Into::into).collect();
        self
    }
    /// Turns the scanning of values for secret shapes on or off.
    pub fn redact_values(mut self, on: bool) -> Self {
        self.redact_values = on;
        self
    }
    /// Replaces the token prefixes masked inside values (default `sk-`).
    pub fn secret_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secret_prefixes = prefixes.into_iter().map(Into::into).collect();
        self
    }
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            service_name: DEFAULT_SERVICE_NAME.to_string(),
            exporter: TracingExporter::Console,
            sample_rate: 1.0,
            jaeger_host: "localhost".to_string(),
            jaeger_port: 4317,
            zipkin_endpoint: "http://localhost:9411/api/v2/spans".to_string(),
            otlp_endpoint: "localhost:4317".to_string(),
            otlp_protocol: OtlpProtocol::Grpc,
            export: ExportOptions::default(),
            service_version: None,
            deployment_environment: None,
            resource_attributes: Vec::new(),
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_millis(1000),
            export_timeout: Duration::from_secs(3),
            shutdown_timeout: Duration::from_secs(3),
            redact: crate::core::redact::default_names(),
            redact_values: true,
            secret_prefixes: crate::core::redact::default_prefixes(),
        }
    }
}

impl TracingConfig {
    /// Reads the tracing variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the tracing variables through `lookup` (a test seam for `from_env`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let d = Self::default();
        let sample_var = env.first_set(&["TRACING_SAMPLE_RATE", "OTEL_TRACES_SAMPLER_ARG"]);
        let sample_rate = match &sample_var {
            Some((var, raw)) => parse_ratio(var, raw)?,
            None => d.sample_rate,
        };
        let enabled = match env.parse(
            "TRACING_ENABLED",
            "true or false (also 1/0, yes/no, on/off)",
            parse_bool,
        )? {
            Some(b) => b,
            None => !env
                .parse("OTEL_SDK_DISABLED", "true or false", parse_bool)?
                .unwrap_or(false),
        };
        let exporter = match env.first_set(&["TRACING_EXPORTER", "OTEL_TRACES_EXPORTER"]) {
            Some((var, raw)) => parse_exporter(var, &raw)?,
            None => d.exporter,
        };
        // Jaeger's and Zipkin's variables matter only with their exporter:
        // elsewhere a value of another form (Kubernetes injects
        // `JAEGER_PORT=tcp://10.0.0.7:4317` for a Service named `jaeger`) is
        // not this service's setting, and is ignored.
        let jaeger_port = match env.parse(
            "JAEGER_PORT",
            "a TCP port of Jaeger's OTLP receiver (4317 gRPC or 4318 HTTP)",
            |s| s.parse::<u16>().ok().filter(|p| *p != 0),
        ) {
            Ok(port) => port.unwrap_or(d.jaeger_port),
            Err(e) if exporter == TracingExporter::Jaeger => return Err(e),
            Err(_) => d.jaeger_port,
        };
        let zipkin_endpoint = match env.parse(
            "ZIPKIN_ENDPOINT",
            "an http:// URL, e.g. http://localhost:9411/api/v2/spans",
            |s| (has_scheme(s, "http://") || has_scheme(s, "https://")).then(|| s.to_string()),
        ) {
            Ok(url) => url.unwrap_or(d.zipkin_endpoint.clone()),
            Err(e) if exporter == TracingExporter::Zipkin => return Err(e),
            Err(_) => d.zipkin_endpoint.clone(),
        };
        let otlp_protocol = match env.first_set(&[
            "OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]) {
            Some((var, raw)) => OtlpProtocol::parse(&raw)
                .ok_or_else(|| invalid(var, &raw, "grpc or http/protobuf"))?,
            None => d.otlp_protocol,
        };
        // Only exporters that send over the network read these: a console or
        // disabled tracer ignores certificate and header settings meant for
        // another signal.
        let (export, timeout) = match exporter {
            TracingExporter::Console | TracingExporter::None => (ExportOptions::default(), None),
            _ => crate::export::from_env(&env, Signal::Traces)?,
        };
        let mut resource_attributes = Vec::new();
        let (mut service_version, mut deployment_environment) = (None, None);
        if let Some(raw) = env.string("OTEL_RESOURCE_ATTRIBUTES")? {
            for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((k, v)) = pair.split_once('=').filter(|(k, _)| !k.trim().is_empty())
                else {
                    return Err(invalid(
                        "OTEL_RESOURCE_ATTRIBUTES",
                        &raw,
                        "comma-separated key=value pairs",
                    ));
                };
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                match k.as_str() {
                    "service.version" => service_version = Some(v),
                    "deployment.environment" | "deployment.environment.name" => {
                        deployment_environment = Some(v)
                    }
                    "service.name" => {}
                    _ => resource_attributes.push((k, v)),
                }
            }
        }
        let otlp_endpoint = env.first_set(&[
            "OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]);
        let otlp_var = otlp_endpoint
            .as_ref()
            .map_or("OTLP_ENDPOINT", |(var, _)| *var);
        let config = Self {
            service_version,
            deployment_environment,
            resource_attributes,
            max_queue_size: d.max_queue_size,
            max_export_batch_size: d.max_export_batch_size,
            scheduled_delay: d.scheduled_delay,
            export_timeout: timeout.unwrap_or(d.export_timeout),
            shutdown_timeout: d.shutdown_timeout,
            export,
            enabled,
            service_name: service_name(&env)?,
            exporter,
            sample_rate,
            jaeger_host: env.string("JAEGER_HOST")?.unwrap_or(d.jaeger_host),
            jaeger_port,
            zipkin_endpoint,
            otlp_endpoint: otlp_endpoint.map_or(d.otlp_endpoint, |(_, url)| url.trim().to_string()),
            otlp_protocol,
            redact: d.redact,
            redact_values: d.redact_values,
            secret_prefixes: d.secret_prefixes,
        };
        // The same rules as for a configuration built in code, named by the
        // variable that set the field.
        config.check().map_err(|v| {
            let var = match v.field {
                Field::SampleRate => sample_var
                    .as_ref()
                    .map_or("TRACING_SAMPLE_RATE", |(var, _)| *var),
                Field::JaegerHost => "JAEGER_HOST",
                Field::JaegerPort => "JAEGER_PORT",
                Field::ZipkinEndpoint => "ZIPKIN_ENDPOINT",
                Field::OtlpEndpoint => otlp_var,
                Field::MaxQueueSize | Field::MaxExportBatchSize => v.field.code_name(),
            };
            Error::InvalidEnv {
                var,
                value: v.value,
                expected: v.expected,
            }
        })?;
        Ok(config)
    }

    /// Checks the configuration as `TracingLayer::builder(..).build()` and
    /// `init_tracing` do: an error names the field, the value and the fix.
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|v| Error::InvalidConfig {
            field: v.field.code_name(),
            value: v.value,
            reason: v.expected.to_string(),
        })
    }

    /// Every rule on a tracing configuration, in one place.
    fn check(&self) -> std::result::Result<(), Violation> {
        let bad = |field, value: String, expected| {
            Err(Violation {
                field,
                value,
                expected,
            })
        };
        if !(0.0..=1.0).contains(&self.sample_rate) {
            return bad(
                Field::SampleRate,
                self.sample_rate.to_string(),
                "a number from 0.0 to 1.0",
            );
        }
        if self.exporter == TracingExporter::Jaeger {
            if self.jaeger_host.contains("://") {
                return bad(
                    Field::JaegerHost,
                    self.jaeger_host.clone(),
                    "a host name or address without a scheme, such as localhost \
                     (megaobs sends plain OTLP to it)",
                );
            }
            if matches!(self.jaeger_port, 6831 | 6832) {
                return bad(
                    Field::JaegerPort,
                    self.jaeger_port.to_string(),
                    "an OTLP port: Jaeger's UDP agent (6831/6832) is gone in Jaeger v2; \
                     use 4317 (OTLP/gRPC) or 4318 (OTLP/HTTP)",
                );
            }
        }
        // Without the `tls` feature there is no TLS client: an https://
        // endpoint would fail at every export, so it is refused here, with
        // the way out.
        #[cfg(not(feature = "tls"))]
        {
            if self.exporter == TracingExporter::Otlp && has_scheme(&self.otlp_endpoint, "https://")
            {
                return bad(
                    Field::OtlpEndpoint,
                    self.otlp_endpoint.clone(),
                    crate::export::NO_TLS,
                );
            }
            if self.exporter == TracingExporter::Zipkin
                && has_scheme(&self.zipkin_endpoint, "https://")
            {
                return bad(
                    Field::ZipkinEndpoint,
                    self.zipkin_endpoint.clone(),
                    crate::export::NO_TLS,
                );
            }
        }
        if self.exporter == TracingExporter::Zipkin
            && !has_scheme(&self.zipkin_endpoint, "http://")
            && !has_scheme(&self.zipkin_endpoint, "https://")
        {
            return bad(
                Field::ZipkinEndpoint,
                self.zipkin_endpoint.clone(),
                "an http:// or https:// URL such as http://localhost:9411/api/v2/spans",
            );
        }
        if self.max_queue_size == 0 {
            return bad(Field::MaxQueueSize, "0".into(), "at least 1");
        }
        if self.max_export_batch_size == 0 {
            return bad(Field::MaxExportBatchSize, "0".into(), "at least 1");
        }
        Ok(())
    }
}

/// A broken rule: which field, its value, what would be accepted.
struct Violation {
    field: Field,
    value: String,
    expected: &'static str,
}

/// The fields a rule can refuse.
#[derive(Clone, Copy)]
enum Field {
    SampleRate,
    JaegerHost,
    JaegerPort,
    ZipkinEndpoint,
    // Refused only in a build without TLS.
    #[cfg_attr(feature = "tls", allow(dead_code))]
    OtlpEndpoint,
    MaxQueueSize,
    MaxExportBatchSize,
}

impl Field {
    fn code_name(self) -> &'static str {
        match self {
            Self::SampleRate => "TracingConfig::sample_rate",
            Self::JaegerHost => "TracingConfig::jaeger_host",
            Self::JaegerPort => "TracingConfig::jaeger_port",
            Self::ZipkinEndpoint => "TracingConfig::zipkin_endpoint",
            Self::OtlpEndpoint => "TracingConfig::otlp_endpoint",
            Self::MaxQueueSize => "TracingConfig::max_queue_size",
            Self::MaxExportBatchSize => "TracingConfig::max_export_batch_size",
        }
    }
}

fn parse_exporter(var: &'static str, raw: &str) -> Result<TracingExporter> {
    Ok(match raw.trim().to_ascii_lowercase().as_str() {
        "console" | "stdout" => TracingExporter::Console,
        "jaeger" => TracingExporter::Jaeger,
        "zipkin" => TracingExporter::Zipkin,
        "otlp" => TracingExporter::Otlp,
        "none" => TracingExporter::None,
        _ => {
            return Err(invalid(
                var,
                raw,
                "one of console, jaeger, zipkin, otlp, none",
            ))
        }
    })
}
