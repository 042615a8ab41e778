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

mod config;
mod format;
mod helpers;
mod layer;
mod level;
#[cfg(feature = "otlp")]
mod otlp;
mod rotate;
mod syslog;
mod timestamp;
mod writer;

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;

pub use crate::core::redact::{self, Redactor};
pub use config::{LogFormat, LoggingConfig, OtlpLogs, SyslogTarget};
pub(crate) use layer::LineLayer;
pub use layer::LogLayer;
#[cfg(feature = "tracing")]
pub(crate) use level::most_verbose_of;
pub use level::LogLevelHandle;

use crate::error::{Error, Result};
use crate::metrics::MetricsCollector;
use format::LineFormat;
use rotate::RotatingFile;
use writer::{Outputs, WriterHandle};

/// How long dropping a [`LoggingGuard`] waits for queued lines to be written.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// the guard that stops it. Fails, naming the field or path, on an invalid
    /// level, an unwritable log directory or an unreachable syslog target.
    pub fn build<S>(self) -> Result<(LogLayer<S>, LoggingGuard)>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + 'static,
    {
        let (layer, guard) = self.build_parts()?;
        let level = guard.level_handle();
        Ok((LogLayer::new(layer, level), guard))
    }

    /// [`build`](Self::build) without the per-layer filter around the layer
    /// (the installed subscriber puts its own slot filter there).
    pub(crate) fn build_parts(self) -> Result<(LineLayer, LoggingGuard)> {
        let c = self.config;
        c.validate()?;
        let filter = level::shared_filter(&c.level, "LoggingConfig::level")?;
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
        #[cfg(feature = "otlp")]
        let otlp = match &c.otlp {
            Some(export) => Some(otlp::OtlpLogSink::start(
                export,
                &c.service_name,
                self.metrics.clone(),
            )?),
            None => None,
        };
        #[cfg(not(feature = "otlp"))]
        let otlp: Option<()> = match &c.otlp {
            Some(export) => {
                return Err(Error::InvalidConfig {
                    field: "LoggingConfig::otlp",
                    value: export.endpoint.clone(),
                    reason: "megaobs was built without its `otlp` cargo feature".into(),
                })
            }
            None => None,
        };
        let outputs = Outputs {
            console: c.console,
            file,
            error_file,
            syslog,
            custom: self.writer,
            #[cfg(feature = "otlp")]
            otlp: otlp.clone(),
        };
        let (writer, thread) =
            writer::start(outputs, c.queue_capacity, self.metrics).map_err(|source| Error::Io {
                path: "megaobs-log-writer thread".into(),
                source,
            })?;
        let level = LogLevelHandle::new(Arc::clone(&filter));
        let layer = LineLayer {
            format: Arc::new(LineFormat {
                json: c.format == LogFormat::Json,
                // OTLP records are read from JSON: text lines get a JSON twin.
                json_twin: otlp.is_some(),
                service: c.service_name.clone(),
                redactor: Redactor::configured(&c.redact, c.redact_values, &c.secret_prefixes),
            }),
            filter: layer::LogFilter(filter),
            writer: Arc::clone(&writer),
        };
        Ok((
            layer,
            LoggingGuard {
                writer,
                thread: Some(thread),
                level,
                #[cfg(feature = "otlp")]
                otlp,
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
    level: LogLevelHandle,
    #[cfg(feature = "otlp")]
    otlp: Option<Arc<otlp::OtlpLogSink>>,
}

impl LoggingGuard {
    /// Waits until every line logged before this call is written (and, with
    /// OTLP export, exported); `false` on timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let written = self.writer.flush(timeout);
        #[cfg(feature = "otlp")]
        if let Some(sink) = &self.otlp {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            return sink.flush(left) && written;
        }
        let _ = deadline;
        written
    }

    /// Lines dropped because the writer's queue was full.
    pub fn dropped_lines(&self) -> u64 {
        self.writer.dropped()
    }

    /// Log records not exported over OTLP (queue full, failed exports,
    /// shutdown deadline); 0 without OTLP export.
    pub fn dropped_records(&self) -> u64 {
        #[cfg(feature = "otlp")]
        if let Some(sink) = &self.otlp {
            return sink.dropped();
        }
        0
    }

    /// A handle that changes the level of this guard's layer while the program runs.
    pub fn level_handle(&self) -> LogLevelHandle {
        self.level.clone()
    }
}

impl Drop for LoggingGuard {
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + SHUTDOWN_TIMEOUT;
        let stopped = self.writer.shutdown(SHUTDOWN_TIMEOUT);
        if let Some(t) = self.thread.take() {
            if stopped {
                let _ = t.join();
            }
        }
        // The writer has handed over every line: export them, within what is
        // left of the deadline.
        #[cfg(feature = "otlp")]
        if let Some(sink) = self.otlp.take() {
            sink.shutdown(deadline.saturating_duration_since(std::time::Instant::now()));
        }
        let _ = deadline;
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
