//! `BatchProcessor`: finished spans → bounded queue → export thread.
//!
//! Why not the SDK's `BatchSpanProcessor`: it drops spans on a full queue with a
//! private counter (no API to read it), and a log call on the ending thread is its
//! only signal. Our contract is "never block the app, count every lost span", so
//! this processor owns the queue: `on_end` is one `try_send`; a full queue drops
//! and counts (`otel_spans_dropped_total{reason="queue_full"}`); a failed export
//! counts its spans (`reason="export_failed"`) and the error
//! (`otel_export_errors_total`), and reports it at most once per
//! [`ERROR_REPORT_EVERY`]. `force_flush` and `shutdown` export what is queued.
//!
//! Spans travel in the queue by value, not boxed: a box allocated on the app's
//! thread and freed on the export thread sends every span through the
//! allocator's shared arena, which the `span_sampled_interleaved` bench showed to
//! cost more than the move of a few hundred bytes. The queue's slots are
//! reserved up front (`max_queue_size` × ≈ 360 bytes).
//!
//! Like the log writer, the export thread is not woken per span (that would cost
//! every span end a futex syscall): it sleeps until the batch is due, and an
//! ending span unparks it only when a full batch is waiting.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::metrics::internal::SpanDrop;
use crate::metrics::MetricsCollector;

/// How often an export failure is reported on stderr at most.
pub const ERROR_REPORT_EVERY: Duration = Duration::from_secs(30);

// Spans stay inline on purpose (see the module docs): every slot is a span.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Span(SpanData),
    Resource(Resource),
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
}

/// Sizes and timing of the processor.
#[derive(Debug, Clone)]
pub(crate) struct BatchSettings {
    pub max_queue_size: usize,
    pub max_export_batch_size: usize,
    pub scheduled_delay: Duration,
    pub export_timeout: Duration,
    /// Where spans go, for the failure report (e.g. `https://collector:4317`).
    pub destination: String,
    /// How a failure is described (header values masked, the likely cause).
    pub report: crate::export::FailureReport,
    /// The full cause of an HTTP export failure, when the exporter records it.
    #[cfg(feature = "otlp")]
    pub cause: Option<crate::export::otlp::LastCause>,
}

/// A span processor that batches sampled spans on its own thread.
pub(crate) struct BatchProcessor {
    tx: Sender<Msg>,
    wake_at: usize,
    parked: Arc<AtomicBool>,
    worker: OnceLock<Thread>,
    join: Mutex<Option<JoinHandle<()>>>,
    dropped: Arc<AtomicU64>,
    metrics: MetricsCollector,
    control_timeout: Duration,
    is_shutdown: AtomicBool,
    /// Set at shutdown: exports not started by then drop their spans.
    deadline: Arc<OnceLock<Instant>>,
    /// The queue's other end, to count what a stuck export thread leaves.
    rx: Receiver<Msg>,
}

impl std::fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("queued", &self.tx.len())
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl BatchProcessor {
    /// Starts the export thread for `exporter`.
    pub fn new<E: SpanExporter + 'static>(
        exporter: E,
        settings: BatchSettings,
        metrics: MetricsCollector,
    ) -> std::io::Result<Self> {
        let capacity = settings.max_queue_size.max(1);
        let batch = settings.max_export_batch_size.clamp(1, capacity);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let rx_for_shutdown = rx.clone();
        let parked = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let deadline = Arc::new(OnceLock::new());
        let worker = Worker {
            deadline: Arc::clone(&deadline),
            rx,
            exporter,
            batch_size: batch,
            delay: settings.scheduled_delay,
            parked: Arc::clone(&parked),
            metrics: metrics.clone(),
            dropped: Arc::clone(&dropped),
            last_report: None,
            destination: settings.destination,
            report: settings.report,
            #[cfg(feature = "otlp")]
            cause: settings.cause,
        };
        let join = std::thread::Builder::new()
            .name("megaobs-span-export".into())
            .spawn(move || worker.run())?;
        let p = Self {
            tx,
            wake_at: batch,
            parked,
            worker: OnceLock::new(),
            dropped,
            metrics,
            // A flush may wait for one export in flight plus its own.
            control_timeout: settings.export_timeout * 2 + Duration::from_secs(1),
            is_shutdown: AtomicBool::new(false),
            join: Mutex::new(None),
            deadline,
            rx: rx_for_shutdown,
        };
        let _ = p.worker.set(join.thread().clone());
        if let Ok(mut j) = p.join.lock() {
            *j = Some(join);
        }
        Ok(p)
    }

    /// A shared handle on the count of spans lost (queue full or failed export).
    pub fn dropped_handle(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    fn wake(&self) {
        if let Some(t) = self.worker.get() {
            t.unpark();
        }
    }

    fn control(
        &self,
        make: fn(SyncSender<OTelSdkResult>) -> Msg,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let deadline = Instant::now() + timeout;
        let mut msg = make(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Err(OTelSdkError::AlreadyShutdown),
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return Err(OTelSdkError::Timeout(timeout));
                    }
                    msg = m;
                    self.wake();
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        self.wake();
        match ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(r) => r,
            Err(_) => Err(OTelSdkError::Timeout(timeout)),
        }
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() || self.is_shutdown.load(Ordering::Relaxed) {
            return;
        }
        match self.tx.try_send(Msg::Span(span)) {
            Ok(()) => {
                // `parked` first: it changes rarely, while `len` reads the queue's
                // head, which the export thread moves (a cache miss per span).
                if self.parked.load(Ordering::Relaxed) && self.tx.len() >= self.wake_at {
                    self.wake();
                }
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                self.metrics.record_spans_dropped(SpanDrop::QueueFull, 1);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.control(Msg::Flush, self.control_timeout)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::SeqCst) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // A hard deadline: exports not begun by then drop their spans (counted),
        // and the caller waits no longer than `timeout` for the thread.
        let _ = self.deadline.set(Instant::now() + timeout);
        let result = self.control(Msg::Shutdown, timeout);
        if result.is_ok() {
            if let Some(j) = self.join.lock().ok().and_then(|mut j| j.take()) {
                let _ = j.join();
            }
        } else {
            // The export thread is stuck (a backend that never answers): take
            // what is still queued and count it now, so the count is right when
            // this returns. Whoever takes a span from the queue counts it, once.
            let mut left = 0;
            while let Ok(msg) = self.rx.try_recv() {
                if matches!(msg, Msg::Span(_)) {
                    left += 1;
                }
            }
            if left > 0 {
                self.metrics.record_spans_dropped(SpanDrop::Shutdown, left);
                self.dropped.fetch_add(left, Ordering::Relaxed);
            }
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.tx.try_send(Msg::Resource(resource.clone()));
    }
}

/// Replaces the values of secret-named attributes (of spans, events and links)
/// with `[REDACTED]`, and secret shapes inside string values and error
/// descriptions with the same, for every span exported: megaobs' own, those of `tracing`
/// code (whose fields tracing-opentelemetry turns into attributes) and those made
/// with the OpenTelemetry API directly. The names are the logging pillar's list
/// once `init_logging` ran, else the default list. Done here, on the export
/// thread, so the application's threads do not pay for it. Secret shapes in
/// string values, event names (a `tracing` event's message) and error
/// descriptions are masked too; span names are not scanned.
fn redact(spans: &mut [SpanData]) {
    use std::borrow::Cow;
    let redactor = super::redactor();
    let scrub_str = |s: &str| match redactor.scrub(s) {
        Cow::Owned(clean) => Some(clean),
        Cow::Borrowed(_) => None,
    };
    let scrub = |kv: &mut opentelemetry::KeyValue| {
        if redactor.is_secret_cached(kv.key.as_str()) {
            kv.value = opentelemetry::Value::from(crate::core::redact::REDACTED);
            return;
        }
        match &mut kv.value {
            opentelemetry::Value::String(s) => {
                if let Some(clean) = scrub_str(s.as_str()) {
                    kv.value = opentelemetry::Value::from(clean);
                }
            }
            opentelemetry::Value::Array(opentelemetry::Array::String(items)) => {
                for item in items.iter_mut() {
                    if let Some(clean) = scrub_str(item.as_str()) {
                        *item = clean.into();
                    }
                }
            }
            _ => {}
        }
    };
    for span in spans {
        span.attributes.iter_mut().for_each(scrub);
        for event in span.events.events.iter_mut() {
            // `tracing` events inside spans arrive with their message as the
            // event's name: scanned like a value.
            if let Some(clean) = scrub_str(&event.name) {
                event.name = clean.into();
            }
            event.attributes.iter_mut().for_each(scrub);
        }
        for link in span.links.links.iter_mut() {
            link.attributes.iter_mut().for_each(scrub);
        }
        if let opentelemetry::trace::Status::Error { description } = &mut span.status {
            if let Some(clean) = scrub_str(description) {
                *description = clean.into();
            }
        }
    }
}

struct Worker<E> {
    rx: Receiver<Msg>,
    exporter: E,
    batch_size: usize,
    delay: Duration,
    parked: Arc<AtomicBool>,
    metrics: MetricsCollector,
    dropped: Arc<AtomicU64>,
    last_report: Option<Instant>,
    deadline: Arc<OnceLock<Instant>>,
    destination: String,
    report: crate::export::FailureReport,
    #[cfg(feature = "otlp")]
    cause: Option<crate::export::otlp::LastCause>,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let mut batch: Vec<SpanData> = Vec::with_capacity(self.batch_size);
        let mut oldest: Option<Instant> = None;
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Span(span)) => {
                    oldest.get_or_insert_with(Instant::now);
                    batch.push(span);
                    if batch.len() >= self.batch_size {
                        let _ = self.export(&mut batch);
                        oldest = None;
                    }
                }
                Ok(Msg::Resource(r)) => self.exporter.set_resource(&r),
                Ok(Msg::Flush(ack)) => {
                    let r = self.export(&mut batch);
                    oldest = None;
                    let _ = ack.send(r.and_then(|()| self.exporter.force_flush()));
                }
                Ok(Msg::Shutdown(ack)) => {
                    let r = self.export(&mut batch);
                    let _ = ack.send(r.and_then(|()| self.exporter.shutdown()));
                    return;
                }
                Err(TryRecvError::Disconnected) => {
                    let _ = self.export(&mut batch);
                    let _ = self.exporter.shutdown();
                    return;
                }
                Err(TryRecvError::Empty) => {
                    let wait = match oldest {
                        Some(t) if t.elapsed() >= self.delay => {
                            let _ = self.export(&mut batch);
                            oldest = None;
                            continue;
                        }
                        Some(t) => self.delay - t.elapsed(),
                        None => self.delay,
                    };
                    self.parked.store(true, Ordering::SeqCst);
                    if self.rx.is_empty() {
                        std::thread::park_timeout(wait);
                    }
                    self.parked.store(false, Ordering::SeqCst);
                }
            }
        }
    }

    /// The error, with the transport's own cause when one was recorded.
    fn explain(&self, e: &OTelSdkError) -> String {
        #[cfg(feature = "otlp")]
        if let Some(cause) = &self.cause {
            return cause.explain(&e.to_string());
        }
        e.to_string()
    }

    fn export(&mut self, batch: &mut Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() as u64;
        if self.deadline.get().is_some_and(|d| Instant::now() >= *d) {
            batch.clear();
            self.metrics.record_spans_dropped(SpanDrop::Shutdown, n);
            self.dropped.fetch_add(n, Ordering::Relaxed);
            return Err(OTelSdkError::Timeout(Duration::ZERO));
        }
        let mut spans = std::mem::replace(batch, Vec::with_capacity(self.batch_size));
        redact(&mut spans);
        let result = futures_executor::block_on(self.exporter.export(spans));
        match &result {
            Ok(()) => self.metrics.record_spans_exported(n),
            Err(e) => {
                self.metrics.record_export_error();
                self.metrics.record_spans_dropped(SpanDrop::ExportFailed, n);
                self.dropped.fetch_add(n, Ordering::Relaxed);
                let due = self
                    .last_report
                    .is_none_or(|t| t.elapsed() >= ERROR_REPORT_EVERY);
                if due {
                    self.last_report = Some(Instant::now());
                    // stderr, not `tracing`: an error event here could feed the
                    // exporter's own failure back into the pipeline.
                    eprintln!(
                        "megaobs: span export to {} failed: {}; {n} spans lost. Further failures are counted in \
                         otel_export_errors_total and otel_spans_dropped_total (reported again in {}s at most).",
                        self.destination,
                        self.report.describe(&self.explain(e)),
                        ERROR_REPORT_EVERY.as_secs()
                    );
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue holds spans inline (no box per span: a box allocated by the app
    /// thread and freed by the export thread costs both a trip through the
    /// allocator's shared arena). Its memory is reserved up front, so keep the
    /// per-slot size known: `max_queue_size` × this.
    #[test]
    fn queue_slot_size_is_bounded() {
        let size = std::mem::size_of::<Msg>();
        println!("queue slot: {size} bytes");
        assert!(size <= 512, "{size}");
    }
}
