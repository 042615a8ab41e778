//! The logging pillar: JSON (or text) lines with trace context, written by a
//! background thread to the console, size-rotated files, an error-only file,
//! syslog, or your own writer — without ever blocking the application.
//!
//! Logging is done with the `tracing` macros; the logger name is the event's target:
//!
//! ```no_run
//! use megaobs::config::LoggingConfig;
//!
//! let _guard = megaobs::init_logging(LoggingConfig::default().dir("logs"))?;
//! tracing::info!(user_id = "123", "User logged in");
//! megaobs::log_workflow_event!("research_workflow", "started", query = "What is AI?", user_id = "123");
//! # Ok::<(), megaobs::Error>(())
//! ```
//!
//! writes, to the console and to `logs/megaagent-pro.log`:
//!
//! ```text
//! {"timestamp":"2026-11-28T04:10:07.123Z","level":"INFO","logger":"app","message":"User logged in","module":"app","function":null,"line":5,"service":"megaagent-pro","user_id":"123"}
//! ```
//!
//! `trace_id` and `span_id` appear whenever an OpenTelemetry span is current.
//! ERROR lines also go to `logs/megaagent-pro.error.log`. Files rotate at
//! `max_bytes` (`x.log` → `x.log.1` … `x.log.N`, oldest deleted), between lines.
//! Secret-named fields (`password`, `token`, `api_key`, `authorization`, ...) are
//! written as `"[REDACTED]"` in every output. When the writer falls behind, new
//! lines are dropped and counted (`log_lines_dropped_total`); memory stays bounded.
//!
//! Libraries that log with the `log` crate are captured too (see
//! [`LoggingConfig::capture_log_crate`]): their records are filtered by their own
//! target and written like `tracing` events, with the current trace ids.

mod format;
mod helpers;
mod layer;
pub mod redact;
mod rotate;
mod syslog;
mod timestamp;
mod writer;

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::filter::Targets;

pub(crate) use layer::current_otel_ids;
pub use layer::LogLayer;
pub use redact::Redactor;
pub(crate) use syslog::hostname;

use crate::config::{LogFormat, LoggingConfig};
use crate::error::{Error, Result};
use crate::metrics::MetricsCollector;
use format::LineFormat;
use rotate::RotatingFile;
use writer::{Outputs, WriterHandle};

/// How long dropping a [`LoggingGuard`] waits for queued lines to be written.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Installs the logging pillar into the process' global `tracing` subscriber.
///
/// Call once; a second call is an [`Error::AlreadyInstalled`]. It may come
/// before or after `init_tracing`. A call that fails installs no `log` logger
/// and no subscriber of its own (it may have created the log directory), short
/// of another thread installing a global subscriber during the call.
///
/// Its [`LoggingConfig::redact`] list is also the one exported spans are redacted
/// with from then on (an empty list turns redaction off for both); a
/// [`LogLayer`] composed into your own subscriber leaves spans on the default list.
///
/// Keep the guard alive: dropping it writes what is queued and stops the writer
/// thread.
pub fn init_logging(config: LoggingConfig) -> Result<LoggingGuard> {
    // One call at a time: two racing calls must not both pass the checks below.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Every reason the call could fail is checked before anything global is
    // taken (the `tracing` subscriber, the `log` logger): a failed call installs
    // neither, so the application can still install its own.
    crate::subscriber::check_installable()?;
    if crate::subscriber::logging_installed() {
        return Err(Error::AlreadyInstalled {
            what: "logging (init_logging)",
        });
    }
    let capture = config.capture_log_crate;
    let secrets = Redactor::new(&config.redact);
    let (layer, guard) = LogLayer::builder(config).build()?;
    if capture {
        capture_log_crate(&layer.filter)?;
    }
    crate::subscriber::install_log_layer(layer)?;
    // Exported spans are redacted with the same names as log lines.
    crate::trace::set_redactor(secrets);
    Ok(guard)
}

/// Routes the `log` crate's records into `tracing` (hence into the log layer),
/// up to the most verbose level `filter` lets through: records below it are
/// refused by `log`'s own level check, before anything is built.
fn capture_log_crate(filter: &Targets) -> Result<()> {
    use tracing_log::AsLog;
    let max = filter
        .iter()
        .map(|(_, level)| level)
        .chain(filter.default_level())
        .max()
        .unwrap_or(tracing::level_filters::LevelFilter::OFF);
    tracing_log::LogTracer::builder()
        .with_max_level(max.as_log())
        .init()
        .map_err(|_| Error::AlreadyInstalled {
            what: "a `log` crate logger (env_logger or another; keep it with \
                   LoggingConfig::capture_log_crate(false), which leaves `log` \
                   records out of megaobs' logs)",
        })
}

/// Configures a [`LogLayer`] beyond what [`LoggingConfig`] holds.
#[must_use]
pub struct LogLayerBuilder {
    config: LoggingConfig,
    writer: Option<Box<dyn Write + Send>>,
    metrics: MetricsCollector,
}

impl std::fmt::Debug for LogLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLayerBuilder")
            .field("config", &self.config)
            .field("writer", &self.writer.is_some())
            .finish()
    }
}

impl LogLayer {
    /// A builder for a layer configured by `config`.
    pub fn builder(config: LoggingConfig) -> LogLayerBuilder {
        LogLayerBuilder {
            config,
            writer: None,
            metrics: crate::metrics::metrics().clone(),
        }
    }
}

impl LogLayerBuilder {
    /// Also writes every line to `writer` (from the writer thread).
    pub fn writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.writer = Some(Box::new(writer));
        self
    }

    /// Counts drops and output errors in `collector` instead of the global one.
    pub fn metrics(mut self, collector: MetricsCollector) -> Self {
        self.metrics = collector;
        self
    }

    /// Opens the outputs, starts the writer thread, and returns the layer with
    /// the guard that stops it.
    pub fn build(self) -> Result<(LogLayer, LoggingGuard)> {
        let c = self.config;
        let filter: Targets = c.level.parse().map_err(|e| Error::InvalidConfig {
            field: "LoggingConfig::level",
            value: c.level.clone(),
            reason: format!("{e}; use a level (info) or target=level directives (info,hyper=warn)"),
        })?;
        let mut file = None;
        let mut error_file = None;
        if c.file {
            let dir_err = |source| Error::LogDir {
                path: c.dir.clone(),
                source,
            };
            std::fs::create_dir_all(&c.dir).map_err(dir_err)?;
            let open = |name: String| {
                let path = c.dir.join(name);
                RotatingFile::open(path.clone(), c.max_bytes, c.backups)
                    .map_err(|source| Error::LogDir { path, source })
            };
            file = Some(open(format!("{}.log", c.service_name))?);
            if c.error_file {
                error_file = Some(open(format!("{}.error.log", c.service_name))?);
            }
        }
        let syslog = match &c.syslog {
            Some(target) => Some(syslog::Syslog::connect(target, &c.service_name)?),
            None => None,
        };
        let outputs = Outputs {
            console: c.console,
            file,
            error_file,
            syslog,
            custom: self.writer,
        };
        let (writer, thread) =
            writer::start(outputs, c.queue_capacity, self.metrics).map_err(|source| Error::Io {
                path: "megaobs-log-writer thread".into(),
                source,
            })?;
        let layer = LogLayer {
            format: Arc::new(LineFormat {
                json: c.format == LogFormat::Json,
                service: c.service_name.clone(),
                redactor: Redactor::new(&c.redact),
            }),
            filter: Arc::new(filter),
            writer: Arc::clone(&writer),
        };
        Ok((
            layer,
            LoggingGuard {
                writer,
                thread: Some(thread),
            },
        ))
    }
}

/// Keeps the log writer running; dropping it writes what is queued (at most
/// [`SHUTDOWN_TIMEOUT`]) and stops the writer thread.
#[derive(Debug)]
#[must_use = "dropping the guard stops the log writer: keep it alive for the program's life"]
pub struct LoggingGuard {
    writer: Arc<WriterHandle>,
    thread: Option<JoinHandle<()>>,
}

impl LoggingGuard {
    /// Waits until every line logged before this call is written; `false` on timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.writer.flush(timeout)
    }

    /// Lines dropped because the writer's queue was full.
    pub fn dropped_lines(&self) -> u64 {
        self.writer.dropped()
    }
}

impl Drop for LoggingGuard {
    fn drop(&mut self) {
        let stopped = self.writer.shutdown(SHUTDOWN_TIMEOUT);
        if let Some(t) = self.thread.take() {
            if stopped {
                let _ = t.join();
            }
        }
        let dropped = self.writer.dropped();
        if dropped > 0 {
            eprintln!("megaobs: {dropped} log lines were dropped because the log writer fell behind (log_lines_dropped_total)");
        }
    }
}

#[doc(hidden)]
pub mod __private {
    pub use tracing;
}
