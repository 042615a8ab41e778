//! [`LoggingConfig`]: levels, format, outputs, rotation and redaction of the
//! logging pillar, from code or from `LOG_*` (and `RUST_LOG`).

use std::path::PathBuf;
use std::time::Duration;

use crate::core::env::{env_lookup, invalid, service_name, Env};
use crate::core::resource::DEFAULT_SERVICE_NAME;
use tracing_subscriber::filter::Targets;

use crate::error::Result;
use crate::export::{ExportOptions, OtlpProtocol, Signal};

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

/// OTLP export of log records (`LOG_EXPORTER=otlp`): where to, and how.
///
/// ```
/// use megaobs::config::{LoggingConfig, OtlpLogs};
/// use megaobs::export::{ExportOptions, OtlpProtocol};
///
/// let config = LoggingConfig::default().otlp(Some(
///     OtlpLogs::new("https://otlp.example.com/v1/logs", OtlpProtocol::HttpProtobuf)
///         .options(ExportOptions::default().header("authorization", "Bearer TOKEN")),
/// ));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtlpLogs {
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (used as is), else `OTLP_ENDPOINT` /
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (HTTP gets `/v1/logs` appended to a bare
    /// `host:port`); scheme-less means plain `http://`.
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, else `OTLP_PROTOCOL` /
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub protocol: OtlpProtocol,
    /// Headers, compression and TLS (`OTEL_EXPORTER_OTLP_LOGS_*` over the
    /// general `OTEL_EXPORTER_OTLP_*`).
    pub options: ExportOptions,
    /// Deadline of one export (`OTEL_EXPORTER_OTLP_LOGS_TIMEOUT` /
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`, ms).
    pub timeout: Duration,
    /// Records that may wait for export; when full, new ones are dropped and
    /// counted (`otel_log_records_dropped_total{reason="queue_full"}`).
    pub max_queue_size: usize,
}

impl OtlpLogs {
    /// Export to `endpoint` over `protocol`, with default options.
    pub fn new(endpoint: impl Into<String>, protocol: OtlpProtocol) -> Self {
        Self {
            endpoint: endpoint.into(),
            protocol,
            options: ExportOptions::default(),
            timeout: Duration::from_secs(3),
            max_queue_size: 4096,
        }
    }
    /// Sets headers, compression and TLS.
    pub fn options(mut self, options: ExportOptions) -> Self {
        self.options = options;
        self
    }
    /// Sets one export's deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the export queue's capacity in records.
    pub fn max_queue_size(mut self, records: usize) -> Self {
        self.max_queue_size = records;
        self
    }
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
    /// Scan message and string values for secret shapes (`password=…`, bearer
    /// tokens, `sk-…` keys, JWTs, AWS key ids, PEM private keys) and mask the
    /// secret part (default: on).
    pub redact_values: bool,
    /// Token prefixes masked inside values besides the fixed shapes (default `sk-`).
    pub secret_prefixes: Vec<String>,
    /// Also write the records of the `log` crate (used by many libraries), with
    /// the same filter, format and trace ids as `tracing` events. `init_logging`
    /// then installs the process' `log` logger, and fails if another one (say
    /// `env_logger`) is installed already.
    pub capture_log_crate: bool,
    /// `LOG_EXPORTER=otlp` (fallback `OTEL_LOGS_EXPORTER`): also send every
    /// line as an OTLP log record (`None`: no OTLP export). Needs the `otlp`
    /// cargo feature.
    pub otlp: Option<OtlpLogs>,
}

impl LoggingConfig {
    /// Sets the service name (log file names and the `service` field).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }
    /// Sets the level or filter directives (`info`, `info,hyper=warn`). Level
    /// names are case-insensitive and include the Python names `WARNING` and
    /// `CRITICAL`; a bare word that is not a level is refused when the layer is
    /// built (it would otherwise be read as a target name and hide every line).
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
    /// Sends every line also as an OTLP log record (`None`: not).
    pub fn otlp(mut self, export: Option<OtlpLogs>) -> Self {
        self.otlp = export;
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
            redact: crate::core::redact::default_names(),
            redact_values: true,
            secret_prefixes: crate::core::redact::default_prefixes(),
            capture_log_crate: true,
            otlp: None,
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
                    if parse_filter(&directives).is_err() {
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
            redact_values: d.redact_values,
            secret_prefixes: d.secret_prefixes.clone(),
            capture_log_crate: d.capture_log_crate,
            otlp: otlp_from_env(&env)?,
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

/// `LOG_EXPORTER` / `OTEL_LOGS_EXPORTER` and, for `otlp`, where and how.
fn otlp_from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Option<OtlpLogs>> {
    match env.first_set(&["LOG_EXPORTER", "OTEL_LOGS_EXPORTER"]) {
        None => return Ok(None),
        Some((var, raw)) => match raw.trim().to_ascii_lowercase().as_str() {
            "none" => return Ok(None),
            "otlp" => {}
            _ => return Err(invalid(var, &raw, "otlp or none")),
        },
    }
    let protocol = match env.first_set(&[
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
        "OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]) {
        Some((var, raw)) => {
            OtlpProtocol::parse(&raw).ok_or_else(|| invalid(var, &raw, "grpc or http/protobuf"))?
        }
        None => OtlpProtocol::Grpc,
    };
    let endpoint = match env.first_set(&[
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]) {
        Some((_, url)) => url.trim().to_string(),
        None if protocol == OtlpProtocol::HttpProtobuf => "localhost:4318".to_string(),
        None => "localhost:4317".to_string(),
    };
    let (options, timeout) = crate::export::from_env(env, Signal::Logs)?;
    let mut export = OtlpLogs::new(endpoint, protocol).options(options);
    if let Some(t) = timeout {
        export.timeout = t;
    }
    Ok(Some(export))
}

fn parse_level(raw: &str) -> Result<String> {
    match level_word(raw) {
        Some(level) => Ok(level.to_string()),
        None => Err(invalid(
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

impl LoggingConfig {
    /// Checks the configuration as building a log layer does: an error names
    /// the field, the value and what is accepted.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, value: String, reason: &str| {
            Err(crate::error::Error::InvalidConfig {
                field,
                value,
                reason: reason.to_string(),
            })
        };
        if let Some(expected) = crate::core::resource::service_name_problem(&self.service_name) {
            return bad(
                "LoggingConfig::service_name",
                self.service_name.clone(),
                expected,
            );
        }
        if self.max_bytes < 1024 {
            return bad(
                "LoggingConfig::max_bytes",
                self.max_bytes.to_string(),
                "at least 1024 bytes",
            );
        }
        if self.backups > 1000 {
            return bad(
                "LoggingConfig::backups",
                self.backups.to_string(),
                "at most 1000",
            );
        }
        if let Err(reason) = parse_filter(&self.level) {
            return bad("LoggingConfig::level", self.level.clone(), &reason);
        }
        Ok(())
    }
}

/// The level words accepted wherever a level is: `tracing`'s names plus the
/// Python names `WARNING` and `CRITICAL`, in any letter case.
fn level_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "critical" => "error",
        "off" => "off",
        _ => return None,
    })
}

/// Parses a level or comma-separated `target=level` directives (`info`,
/// `warn,my_app=debug`), as [`LoggingConfig::level`], `RUST_LOG` and the runtime
/// level handle take them. A bare word must be a level: `tracing`'s own parser
/// reads `WARNING` as a target name, which would silently hide every line.
pub(crate) fn parse_filter(directives: &str) -> std::result::Result<Targets, String> {
    let mut parts = Vec::new();
    for part in directives
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match part.rsplit_once('=') {
            Some((target, level)) => {
                let level = level_word(level).ok_or_else(|| {
                    format!("`{level}` in `{part}` is not a level (trace, debug, info, warn, error, off)")
                })?;
                parts.push(format!("{}={level}", target.trim()));
            }
            None => match level_word(part) {
                Some(level) => parts.push(level.to_string()),
                None => {
                    return Err(format!(
                    "`{part}` is neither a level (trace, debug, info, warn or warning, error or \
                         critical, off) nor a target=level directive"
                ))
                }
            },
        }
    }
    if parts.is_empty() {
        return Err(
            "no level given; use a level (info) or target=level directives (info,hyper=warn)"
                .into(),
        );
    }
    parts.join(",").parse::<Targets>().map_err(|e| {
        format!("{e}; use a level (info) or target=level directives (info,hyper=warn)")
    })
}
