//! OTLP log export (`LOG_EXPORTER=otlp`): every line that passes the filter is
//! also sent as an OpenTelemetry log record — severity, body (the message),
//! attributes (the line's other fields), the current span's `trace_id` and
//! `span_id`, and the `service.name` resource.
//!
//! The application thread pays nothing for it: the writer thread hands the
//! finished (already redacted) JSON line to this module's export thread
//! through a bounded queue, and that thread reads the line back into a record,
//! batches and exports it with `opentelemetry-otlp`'s exporter. When the queue
//! is full the record is dropped and counted
//! (`otel_log_records_dropped_total{reason="queue_full"}`); a failed export
//! counts its records (`reason="export_failed"`) and prints one rate-limited
//! line naming the endpoint and the cause; stopping exports what is queued
//! until its deadline (`reason="shutdown"` for the rest).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;
use serde_json::Value;

use super::config::OtlpLogs;
use crate::error::{Error, Result};
use crate::export::otlp::{Destination, LastCause, Runtime};
use crate::metrics::internal::SpanDrop;
use crate::metrics::MetricsCollector;

/// Records per export request.
const MAX_BATCH: usize = 512;
/// Longest a record waits for its batch.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// At most one printed failure report per this interval.
const REPORT_EVERY: Duration = Duration::from_secs(60);

enum Msg {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
    Shutdown(SyncSender<()>),
}

/// The writer thread's side of the export: a bounded queue to the export thread.
pub(crate) struct OtlpLogSink {
    tx: Sender<Msg>,
    metrics: MetricsCollector,
    dropped: Arc<AtomicU64>,
    deadline: Arc<OnceLock<Instant>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    // Kept alive for the gRPC channel; shut down in the background on drop.
    runtime: Mutex<Runtime>,
}

impl std::fmt::Debug for OtlpLogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpLogSink")
            .field("queued", &self.tx.len())
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl OtlpLogSink {
    /// Builds the exporter (an error names the setting) and starts the export thread.
    pub(crate) fn start(
        config: &OtlpLogs,
        service_name: &str,
        metrics: MetricsCollector,
    ) -> Result<Arc<Self>> {
        let destination = Destination {
            endpoint: &config.endpoint,
            protocol: config.protocol,
            signal_path: "v1/logs",
            timeout: config.timeout,
            options: &config.options,
            field: "OtlpLogs::endpoint",
        };
        let url = destination.url();
        let report = crate::export::FailureReport::new(&url, &config.options);
        let (mut exporter, runtime, cause) = destination.log_exporter()?;
        exporter.set_resource(
            &Resource::builder()
                .with_service_name(service_name.to_string())
                .with_attribute(KeyValue::new(
                    "host.name",
                    crate::core::resource::hostname(),
                ))
                .build(),
        );
        let (tx, rx) = crossbeam_channel::bounded(config.max_queue_size.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let deadline = Arc::new(OnceLock::new());
        let provider = SdkLoggerProvider::builder().build();
        let worker = Worker {
            rx,
            logger: provider.logger("megaobs"),
            _provider: provider,
            scope: InstrumentationScope::builder("megaobs").build(),
            exporter,
            metrics: metrics.clone(),
            dropped: Arc::clone(&dropped),
            deadline: Arc::clone(&deadline),
            destination: url,
            report,
            cause,
            last_report: None,
            handle: runtime.as_ref().map(|rt| rt.handle().clone()),
        };
        let thread = std::thread::Builder::new()
            .name("megaobs-log-export".into())
            .spawn(move || worker.run())
            .map_err(|source| Error::Io {
                path: "megaobs-log-export thread".into(),
                source,
            })?;
        Ok(Arc::new(Self {
            tx,
            metrics,
            dropped,
            deadline,
            thread: Mutex::new(Some(thread)),
            runtime: Mutex::new(runtime),
        }))
    }

    /// Queues a JSON line for export; never blocks (a full queue drops and counts it).
    pub(crate) fn offer(&self, line: Vec<u8>) {
        if self.tx.try_send(Msg::Line(line)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.metrics
                .record_log_records_dropped(SpanDrop::QueueFull, 1);
        }
    }

    /// Records lost so far (queue full, failed exports, shutdown).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Exports everything queued before this call (at most `timeout`).
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.round_trip(Msg::Flush, timeout)
    }

    /// Exports what is queued until `timeout`, counts the rest as lost, and
    /// stops the export thread.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let _ = self.deadline.set(Instant::now() + timeout);
        let done = self.round_trip(Msg::Shutdown, timeout);
        if done {
            if let Some(t) = self.thread.lock().take() {
                let _ = t.join();
            }
        }
        if let Some(rt) = self.runtime.lock().take() {
            rt.shutdown_background();
        }
        done
    }

    fn round_trip(&self, make: fn(SyncSender<()>) -> Msg, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let mut msg = make(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return true,
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        ack_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

struct Worker<E> {
    rx: Receiver<Msg>,
    logger: SdkLogger,
    _provider: SdkLoggerProvider,
    scope: InstrumentationScope,
    exporter: E,
    metrics: MetricsCollector,
    dropped: Arc<AtomicU64>,
    deadline: Arc<OnceLock<Instant>>,
    destination: String,
    report: crate::export::FailureReport,
    cause: LastCause,
    last_report: Option<Instant>,
    handle: Option<tokio::runtime::Handle>,
}

impl<E: LogExporter> Worker<E> {
    fn run(mut self) {
        // tonic's channel and timers live on the exporter's runtime.
        let handle = self.handle.take();
        let _entered = handle.as_ref().map(|h| h.enter());
        let mut batch: Vec<SdkLogRecord> = Vec::with_capacity(MAX_BATCH);
        let mut oldest: Option<Instant> = None;
        loop {
            let wait = oldest.map_or(MAX_DELAY, |t| MAX_DELAY.saturating_sub(t.elapsed()));
            match self.rx.recv_timeout(wait) {
                Ok(Msg::Line(line)) => {
                    if let Some(record) = self.record(&line) {
                        oldest.get_or_insert_with(Instant::now);
                        batch.push(record);
                    }
                    if batch.len() >= MAX_BATCH {
                        self.export(&mut batch);
                        oldest = None;
                    }
                }
                Ok(Msg::Flush(ack)) => {
                    self.export(&mut batch);
                    oldest = None;
                    let _ = ack.send(());
                }
                Ok(Msg::Shutdown(ack)) => {
                    // Lines that arrived before the shutdown are still exported.
                    while let Ok(Msg::Line(line)) = self.rx.try_recv() {
                        batch.extend(self.record(&line));
                        if batch.len() >= MAX_BATCH {
                            self.export(&mut batch);
                        }
                    }
                    self.export(&mut batch);
                    let _ = self.exporter.shutdown();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.export(&mut batch);
                    oldest = None;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.export(&mut batch);
                    return;
                }
            }
        }
    }

    /// A JSON line read back into a log record; `None` if it is not a JSON object.
    fn record(&self, line: &[u8]) -> Option<SdkLogRecord> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(line) else {
            return None;
        };
        let mut record = self.logger.create_log_record();
        record.set_observed_timestamp(SystemTime::now());
        let (mut trace_id, mut span_id) = (None, None);
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("timestamp", Value::String(t)) => {
                    if let Some(t) = super::timestamp::parse_rfc3339_millis(&t) {
                        record.set_timestamp(t);
                    }
                }
                ("level", Value::String(level)) => {
                    let (number, text) = severity(&level);
                    record.set_severity_number(number);
                    record.set_severity_text(text);
                }
                ("message", Value::String(message)) => record.set_body(AnyValue::from(message)),
                ("trace_id", Value::String(id)) => trace_id = TraceId::from_hex(&id).ok(),
                ("span_id", Value::String(id)) => span_id = SpanId::from_hex(&id).ok(),
                // The resource carries it.
                ("service", _) | (_, Value::Null) => {}
                (_, value) => record.add_attribute(Key::new(key), any_value(value)),
            }
        }
        if let (Some(t), Some(s)) = (trace_id, span_id) {
            record.set_trace_context(t, s, Some(TraceFlags::SAMPLED));
        }
        Some(record)
    }

    fn export(&mut self, batch: &mut Vec<SdkLogRecord>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        if self.deadline.get().is_some_and(|d| Instant::now() >= *d) {
            batch.clear();
            self.lost(SpanDrop::Shutdown, n);
            return;
        }
        let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|r| (r, &self.scope)).collect();
        let result = futures_executor::block_on(self.exporter.export(LogBatch::new(&pairs)));
        drop(pairs);
        batch.clear();
        match result {
            Ok(()) => self.metrics.record_log_records_exported(n),
            Err(e) => {
                self.lost(SpanDrop::ExportFailed, n);
                if self.last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
                    self.last_report = Some(Instant::now());
                    // stderr, not `tracing`: a log event here would feed the
                    // exporter's failure back into the export.
                    eprintln!(
                        "megaobs: log export to {} failed: {}; {n} records lost. Further failures are counted in \
                         otel_log_records_dropped_total{{reason=\"export_failed\"}} (reported again in {}s at most).",
                        self.destination,
                        self.report.describe(&self.cause.explain(&e.to_string())),
                        REPORT_EVERY.as_secs()
                    );
                }
            }
        }
    }

    fn lost(&self, reason: SpanDrop, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        self.metrics.record_log_records_dropped(reason, n);
    }
}

/// The OpenTelemetry severity of a line's level.
fn severity(level: &str) -> (Severity, &'static str) {
    match level {
        "TRACE" => (Severity::Trace, "TRACE"),
        "DEBUG" => (Severity::Debug, "DEBUG"),
        "WARN" | "WARNING" => (Severity::Warn, "WARN"),
        "ERROR" => (Severity::Error, "ERROR"),
        _ => (Severity::Info, "INFO"),
    }
}

fn any_value(value: Value) -> AnyValue {
    match value {
        Value::String(s) => AnyValue::from(s),
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AnyValue::Int(i),
            None => AnyValue::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => AnyValue::from(other.to_string()),
    }
}
