//! Configuration of every pillar, from code or from the environment.
//!
//! [`ObservabilityConfig::from_env`] reads the variables of the seed
//! (`TRACING_*`, `JAEGER_*`, `ZIPKIN_ENDPOINT`, `OTLP_ENDPOINT`, `API_RATE_*`),
//! the ones megaobs adds (`OTLP_PROTOCOL`, `LOG_*`, `METRICS_ADDR`) and, as
//! fallbacks, the standard `OTEL_*` variables. Every value is validated: an
//! invalid one is an [`Error::InvalidEnv`] naming the variable, the value and
//! what is accepted.
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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// The service name used when none is configured (the seed's default).
pub const DEFAULT_SERVICE_NAME: &str = "megaagent-pro";

/// Configuration of all pillars together.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ObservabilityConfig {
    /// Distributed tracing.
    pub tracing: TracingConfig,
    /// Structured logging.
    pub logging: LoggingConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// HTTP API protection (rate limiting).
    pub api: ApiConfig,
}

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

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (default port 4317).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318).
    HttpProtobuf,
}

/// Tracing configuration (the seed's `TracingConfig`).
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
    /// `OTLP_PROTOCOL` (fallback `OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub otlp_protocol: OtlpProtocol,
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
    /// Deadline of one export request (retries included).
    pub export_timeout: Duration,
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
            service_version: None,
            deployment_environment: None,
            resource_attributes: Vec::new(),
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_millis(1000),
            export_timeout: Duration::from_secs(3),
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
        let sample_rate = match sample_var {
            Some((var, raw)) => parse_ratio(var, &raw)?,
            None => d.sample_rate,
        };
        let jaeger_port = env.parse(
            "JAEGER_PORT",
            "a TCP port of Jaeger's OTLP receiver (4317 gRPC or 4318 HTTP)",
            |s| s.parse::<u16>().ok().filter(|p| *p != 0),
        )?;
        let jaeger_port = jaeger_port.unwrap_or(d.jaeger_port);
        if matches!(jaeger_port, 6831 | 6832) {
            return Err(Error::InvalidEnv {
                var: "JAEGER_PORT",
                value: jaeger_port.to_string(),
                expected: "an OTLP port: Jaeger's UDP agent (6831/6832) is gone in Jaeger v2; use 4317 (OTLP/gRPC) or 4318 (OTLP/HTTP)",
            });
        }
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
        let otlp_protocol = match env.first_set(&["OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
            Some((var, raw)) => match raw.trim() {
                "grpc" => OtlpProtocol::Grpc,
                "http/protobuf" | "http" => OtlpProtocol::HttpProtobuf,
                _ => return Err(invalid(var, &raw, "grpc or http/protobuf")),
            },
            None => d.otlp_protocol,
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
        Ok(Self {
            service_version,
            deployment_environment,
            resource_attributes,
            max_queue_size: d.max_queue_size,
            max_export_batch_size: d.max_export_batch_size,
            scheduled_delay: d.scheduled_delay,
            export_timeout: d.export_timeout,
            enabled,
            service_name: service_name(&env)?,
            exporter,
            sample_rate,
            jaeger_host: env.string("JAEGER_HOST")?.unwrap_or(d.jaeger_host),
            jaeger_port,
            zipkin_endpoint: match env.string("ZIPKIN_ENDPOINT")? {
                Some(url)
                    if exporter == TracingExporter::Zipkin && has_scheme(&url, "https://") =>
                {
                    return Err(invalid("ZIPKIN_ENDPOINT", &url, NO_TLS))
                }
                Some(url) if !(has_scheme(&url, "http://") || has_scheme(&url, "https://")) => {
                    return Err(invalid(
                        "ZIPKIN_ENDPOINT",
                        &url,
                        "an http:// URL, e.g. http://localhost:9411/api/v2/spans",
                    ))
                }
                Some(url) => url,
                None => d.zipkin_endpoint,
            },
            otlp_endpoint: match env.first_set(&[
                "OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ]) {
                Some((var, url))
                    if exporter == TracingExporter::Otlp && has_scheme(&url, "https://") =>
                {
                    return Err(invalid(var, &url, NO_TLS))
                }
                Some((_, url)) => url.trim().to_string(),
                None => d.otlp_endpoint,
            },
            otlp_protocol,
        })
    }
}

/// Output format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// One human-readable line.
    Text,
}

/// Where syslog lines go (`LOG_SYSLOG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTarget {
    /// A local unix datagram socket, e.g. `/dev/log`.
    Unix(PathBuf),
    /// UDP to `host:port`.
    Udp(String),
    /// TCP to `host:port` (octet-counted framing, RFC 6587).
    Tcp(String),
}

/// Logging configuration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// Names the log files and the `service` field (shared with tracing).
    pub service_name: String,
    /// `LOG_LEVEL` (or `RUST_LOG`): a level or a full filter directive.
    pub level: String,
    /// `LOG_FORMAT`.
    pub format: LogFormat,
    /// Write to standard output.
    pub console: bool,
    /// Write `{dir}/{service}.log` and `{dir}/{service}.error.log`.
    pub file: bool,
    /// `LOG_DIR`.
    pub dir: PathBuf,
    /// `LOG_MAX_BYTES`: rotate a file when it would exceed this size.
    pub max_bytes: u64,
    /// `LOG_BACKUPS`: how many rotated files to keep.
    pub backups: u32,
    /// `LOG_SYSLOG`.
    pub syslog: Option<SyslogTarget>,
    /// Write ERROR lines also to `{dir}/{service}.error.log`.
    pub error_file: bool,
    /// Lines the writer thread may have queued before new ones are dropped.
    pub queue_capacity: usize,
    /// Field names whose values are written as `[REDACTED]` (case-insensitive,
    /// whole name or `_`/`.`/`-` suffix).
    pub redact: Vec<String>,
    /// Also write the records of the `log` crate (used by many libraries), with
    /// the same filter, format and trace ids as `tracing` events. `init_logging`
    /// then installs the process' `log` logger, and fails if another one (say
    /// `env_logger`) is installed already.
    pub capture_log_crate: bool,
}

impl LoggingConfig {
    /// Sets the service name (log file names and the `service` field).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }
    /// Sets the level or filter directives (`info`, `info,hyper=warn`).
    pub fn level(mut self, level: impl Into<String>) -> Self {
        self.level = level.into();
        self
    }
    /// Sets the line format.
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }
    /// Turns console output on or off.
    pub fn console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }
    /// Turns file output on or off.
    pub fn file(mut self, on: bool) -> Self {
        self.file = on;
        self
    }
    /// Sets the log directory.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }
    /// Sets the rotation size.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }
    /// Sets how many rotated files are kept.
    pub fn backups(mut self, backups: u32) -> Self {
        self.backups = backups;
        self
    }
    /// Sets the syslog target.
    pub fn syslog(mut self, target: Option<SyslogTarget>) -> Self {
        self.syslog = target;
        self
    }
    /// Turns the error-only file on or off.
    pub fn error_file(mut self, on: bool) -> Self {
        self.error_file = on;
        self
    }
    /// Sets the writer queue's capacity in lines.
    pub fn queue_capacity(mut self, lines: usize) -> Self {
        self.queue_capacity = lines;
        self
    }
    /// Whether records of the `log` crate are captured (default: yes); `false`
    /// leaves the `log` logger to the application.
    pub fn capture_log_crate(mut self, on: bool) -> Self {
        self.capture_log_crate = on;
        self
    }
    /// Replaces the list of secret field names.
    pub fn redact<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redact = names.into_iter().map(Into::into).collect();
        self
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            service_name: DEFAULT_SERVICE_NAME.to_string(),
            level: "info".to_string(),
            format: LogFormat::Json,
            console: true,
            file: true,
            dir: PathBuf::from("logs"),
            max_bytes: 10 * 1024 * 1024,
            backups: 5,
            syslog: None,
            error_file: true,
            queue_capacity: 16 * 1024,
            redact: crate::logging::redact::DEFAULT_SECRET_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            capture_log_crate: true,
        }
    }
}

impl LoggingConfig {
    /// Reads the logging variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the logging variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let d = Self::default();
        let level = match env.string("LOG_LEVEL")? {
            Some(l) => parse_level(&l)?,
            None => match env.string("RUST_LOG")? {
                Some(directives) => {
                    if directives
                        .parse::<tracing_subscriber::filter::Targets>()
                        .is_err()
                    {
                        return Err(invalid(
                            "RUST_LOG",
                            &directives,
                            "comma-separated `level` or `target=level` directives, e.g. info,hyper=warn",
                        ));
                    }
                    directives
                }
                None => d.level.clone(),
            },
        };
        Ok(Self {
            service_name: service_name(&env)?,
            level,
            format: env
                .parse("LOG_FORMAT", "json or text", |s| {
                    match s.to_ascii_lowercase().as_str() {
                        "json" => Some(LogFormat::Json),
                        "text" => Some(LogFormat::Text),
                        _ => None,
                    }
                })?
                .unwrap_or(d.format),
            console: d.console,
            file: d.file,
            error_file: d.error_file,
            queue_capacity: d.queue_capacity,
            redact: d.redact.clone(),
            capture_log_crate: d.capture_log_crate,
            dir: env.string("LOG_DIR")?.map(PathBuf::from).unwrap_or(d.dir),
            max_bytes: env
                .parse(
                    "LOG_MAX_BYTES",
                    "a whole number of bytes, at least 1024",
                    |s| s.parse::<u64>().ok().filter(|n| *n >= 1024),
                )?
                .unwrap_or(d.max_bytes),
            backups: env
                .parse("LOG_BACKUPS", "a whole number from 0 to 1000", |s| {
                    s.parse::<u32>().ok().filter(|n| *n <= 1000)
                })?
                .unwrap_or(d.backups),
            syslog: env.parse(
                "LOG_SYSLOG",
                "unix:///dev/log, udp://host:port or tcp://host:port",
                parse_syslog,
            )?,
        })
    }
}

/// Metrics configuration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// `METRICS_ADDR`: where the standalone `/metrics` server listens.
    pub addr: SocketAddr,
    /// Cardinality guard: most distinct values one label of one metric may take
    /// before new values are folded into `__overflow__`.
    pub max_label_values: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            max_label_values: crate::metrics::DEFAULT_MAX_LABEL_VALUES,
        }
    }
}

impl MetricsConfig {
    /// Reads the metrics variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the metrics variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let d = Self::default();
        Ok(Self {
            addr: env
                .parse(
                    "METRICS_ADDR",
                    "a socket address such as 127.0.0.1:8000 or 0.0.0.0:9464",
                    |s| s.parse::<SocketAddr>().ok(),
                )?
                .unwrap_or(d.addr),
            max_label_values: d.max_label_values,
        })
    }
}

/// HTTP API configuration (rate limiting).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiConfig {
    /// `API_RATE_LIMIT`: requests allowed per window and client.
    pub rate_limit: u32,
    /// `API_RATE_WINDOW`: the window.
    pub rate_window: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit: 60,
            rate_window: Duration::from_secs(60),
        }
    }
}

impl ApiConfig {
    /// Reads the API variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the API variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let d = Self::default();
        Ok(Self {
            rate_limit: env
                .parse(
                    "API_RATE_LIMIT",
                    "a whole number of requests from 1 to 1000000",
                    |s| {
                        s.parse::<u32>()
                            .ok()
                            .filter(|n| (1..=1_000_000).contains(n))
                    },
                )?
                .unwrap_or(d.rate_limit),
            rate_window: env
                .parse(
                    "API_RATE_WINDOW",
                    "a whole number of seconds from 1 to 86400",
                    |s| s.parse::<u64>().ok().filter(|n| (1..=86_400).contains(n)),
                )?
                .map(Duration::from_secs)
                .unwrap_or(d.rate_window),
        })
    }
}

impl ObservabilityConfig {
    /// Reads every pillar's configuration from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads every pillar's configuration through `lookup` instead of the
    /// process environment (tests, config files mapped to variables).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Ok(Self {
            tracing: TracingConfig::from_lookup(&lookup)?,
            logging: LoggingConfig::from_lookup(&lookup)?,
            metrics: MetricsConfig::from_lookup(&lookup)?,
            api: ApiConfig::from_lookup(&lookup)?,
        })
    }
}

fn env_lookup(var: &str) -> Option<String> {
    // A variable that is set but not valid UTF-8 is reported as its lossy form,
    // so the error names it instead of silently treating it as unset.
    std::env::var_os(var).map(|v| v.to_string_lossy().into_owned())
}

/// Reads variables; an empty value counts as unset.
struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn string(&self, var: &'static str) -> Result<Option<String>> {
        match self.get(var) {
            Some(v) if v.contains('\u{FFFD}') => Err(invalid(var, &v, "valid UTF-8 text")),
            other => Ok(other.map(|v| v.trim().to_string())),
        }
    }

    fn first_set(&self, vars: &[&'static str]) -> Option<(&'static str, String)> {
        vars.iter().find_map(|v| self.get(v).map(|val| (*v, val)))
    }

    fn parse<T>(
        &self,
        var: &'static str,
        expected: &'static str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get(var) {
            None => Ok(None),
            Some(raw) => f(raw.trim())
                .map(Some)
                .ok_or_else(|| invalid(var, &raw, expected)),
        }
    }
}

/// Why an `https://` span export endpoint is refused, and the way out.
pub(crate) const NO_TLS: &str = "an http:// endpoint: megaobs is built without TLS for span \
     export; send to a local OpenTelemetry Collector (or agent) over http:// and let it \
     forward over TLS";

/// Whether `url` starts with `scheme` (such as `"http://"`), in any letter case.
pub(crate) fn has_scheme(url: &str, scheme: &str) -> bool {
    url.trim_start()
        .get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
}

fn invalid(var: &'static str, value: &str, expected: &'static str) -> Error {
    Error::InvalidEnv {
        var,
        value: value.to_string(),
        expected,
    }
}

fn service_name<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<String> {
    match env.first_set(&["TRACING_SERVICE_NAME", "OTEL_SERVICE_NAME"]) {
        Some((var, name)) => {
            let name = name.trim();
            let ok = name.len() <= 128
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if ok {
                Ok(name.to_string())
            } else {
                // The name becomes a file name (`{service}.log`): no separators.
                Err(invalid(
                    var,
                    name,
                    "1 to 128 characters from A-Z a-z 0-9 - _ . (it names the log files)",
                ))
            }
        }
        None => Ok(DEFAULT_SERVICE_NAME.to_string()),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_ratio(var: &'static str, raw: &str) -> Result<f64> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| invalid(var, raw, "a number from 0.0 to 1.0"))
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

fn parse_level(raw: &str) -> Result<String> {
    let l = raw.trim().to_ascii_lowercase();
    match l.as_str() {
        "trace" | "debug" | "info" | "error" | "off" => Ok(l),
        "warn" | "warning" => Ok("warn".to_string()),
        // The seed's Python level name.
        "critical" => Ok("error".to_string()),
        _ => Err(invalid(
            "LOG_LEVEL",
            raw,
            "one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL, OFF (use RUST_LOG for per-target directives)",
        )),
    }
}

fn parse_syslog(raw: &str) -> Option<SyslogTarget> {
    if let Some(path) = raw.strip_prefix("unix://") {
        return (!path.is_empty()).then(|| SyslogTarget::Unix(PathBuf::from(path)));
    }
    let host_port = |rest: &str| {
        let (host, port) = rest.rsplit_once(':')?;
        let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
        (!host.is_empty()).then(|| format!("{host}:{port}"))
    };
    if let Some(rest) = raw.strip_prefix("udp://") {
        return host_port(rest).map(SyslogTarget::Udp);
    }
    if let Some(rest) = raw.strip_prefix("tcp://") {
        return host_port(rest).map(SyslogTarget::Tcp);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
    fn defaults_follow_the_seed() {
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
        // The seed's variables win over OTEL_*.
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
            ("JAEGER_PORT", "70000", "TCP port"),
            ("JAEGER_PORT", "6831", "4317"),
            ("JAEGER_PORT", "6832", "4318"),
            ("ZIPKIN_ENDPOINT", "localhost:9411", "http://"),
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
    }

    #[test]
    fn https_endpoints_of_the_chosen_exporter_are_refused_when_read() {
        // This build has no TLS client: refused at once, naming the variable,
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
            assert!(msg.contains(var) && msg.contains("without TLS"), "{msg}");
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
        crate::trace::validate(&c.tracing).unwrap();
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = cfg(&[("TRACING_SAMPLE_RATE", ""), ("LOG_DIR", "  ")]).unwrap();
        assert_eq!(c.tracing.sample_rate, 1.0);
        assert_eq!(c.logging.dir, PathBuf::from("logs"));
    }
}
