//! The one error type of megaobs.
//!
//! Every fallible entry point returns [`Result<T>`](Result). Each variant names
//! what was wrong (the variable, the path, the value) and what would be accepted,
//! so the message alone tells a user how to fix it.

use std::path::PathBuf;

/// Convenience alias for `Result<T, megaobs::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while configuring or running megaobs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An environment variable holds a value megaobs cannot use.
    #[error("invalid value {value:?} for environment variable {var}: expected {expected}")]
    InvalidEnv {
        /// The variable, e.g. `TRACING_SAMPLE_RATE`.
        var: &'static str,
        /// The value found in the environment.
        value: String,
        /// What would have been accepted, e.g. `a number from 0.0 to 1.0`.
        expected: &'static str,
    },

    /// A configuration value set in code (not from the environment) is invalid.
    #[error("invalid configuration {field} = {value:?}: {reason}")]
    InvalidConfig {
        /// The field, e.g. `TracingConfig::jaeger_port`.
        field: &'static str,
        /// The offending value.
        value: String,
        /// Why it is refused and what to use instead.
        reason: String,
    },

    /// A certificate or key file for TLS export cannot be used.
    #[error("cannot use {path} (from {setting}) as {what}: {reason}")]
    TlsFile {
        /// The variable or field that named the file, e.g. `OTEL_EXPORTER_OTLP_CERTIFICATE`.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What it should hold, e.g. `a CA certificate`.
        what: &'static str,
        /// Why it cannot serve, and what to do.
        reason: String,
    },

    /// A list of export headers is malformed. The message never holds a header
    /// value: they are credentials.
    #[error("invalid {setting}: {reason}; expected comma-separated key=value pairs with percent-encoded values, e.g. authorization=Bearer%20TOKEN (values not shown)")]
    InvalidHeaders {
        /// The variable or field, e.g. `OTEL_EXPORTER_OTLP_HEADERS`.
        setting: &'static str,
        /// What is wrong, by entry position and key.
        reason: String,
    },

    /// A network address could not be bound (e.g. the `/metrics` listener).
    #[error("cannot listen on {addr}: {source} (is another process using the port? set METRICS_ADDR or --listen to a free address)")]
    Bind {
        /// The address that was asked for.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A file or directory could not be created, opened or written.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The log directory (or a log file in it) cannot be created or written.
    #[error("cannot write logs to {path}: {source} (set LOG_DIR to a writable directory, or turn file output off)")]
    LogDir {
        /// The directory or file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The syslog target given in `LOG_SYSLOG` cannot be reached at start-up.
    #[error("cannot reach syslog at {target}: {source} (check LOG_SYSLOG and that the syslog daemon listens there)")]
    Syslog {
        /// The target, e.g. `udp://127.0.0.1:514`.
        target: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The LLM price table (`LLM_PRICES`, or one given in code) cannot be used;
    /// the error names the file, the model and the key, and the fix.
    #[cfg(feature = "metrics")]
    #[error(transparent)]
    PriceTable(#[from] crate::metrics::PriceTableError),

    /// A process-wide component (global collector hook, subscriber, provider)
    /// was installed twice.
    #[error("{what} is already installed; it can be set once per process")]
    AlreadyInstalled {
        /// What was installed twice.
        what: &'static str,
    },
}
