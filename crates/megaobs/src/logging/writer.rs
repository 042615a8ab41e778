//! The log writer thread: application threads format a line and hand it over
//! through a bounded queue; this thread does all I/O (console, files, syslog, a
//! custom writer), so logging never blocks on a slow disk, a full pipe or a
//! syslog outage.
//!
//! Drop policy: when the queue is full, the new line is dropped and counted
//! (`log_lines_dropped_total`, and in [`super::LoggingGuard::dropped_lines`]).
//! Memory is bounded by the queue capacity.
//!
//! Wake-ups: the writer does not block in `recv` (waking a blocked receiver
//! costs every log call a futex syscall). It drains the queue, then parks
//! for a short while; a logging thread unparks it only when the queue is half
//! full, and control messages (flush, shutdown) unpark it at once. Idle, it wakes
//! at most every [`MAX_IDLE`]; a line waits at most that long before being written.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use tracing::Level;

use super::rotate::RotatingFile;
use super::syslog::Syslog;
use crate::metrics::internal::LogOutput;
use crate::metrics::MetricsCollector;

pub(crate) enum Msg {
    /// A line; when lines are text, their JSON twin for OTLP export follows
    /// in `bytes` from `twin_at`.
    Line {
        bytes: Vec<u8>,
        level: Level,
        twin_at: Option<usize>,
    },
    Flush(SyncSender<()>),
    Shutdown(SyncSender<()>),
}

/// Where lines go; owned by the writer thread.
pub(crate) struct Outputs {
    pub console: bool,
    pub file: Option<RotatingFile>,
    pub error_file: Option<RotatingFile>,
    pub syslog: Option<Syslog>,
    pub custom: Option<Box<dyn Write + Send>>,
    /// OTLP log export, fed the JSON lines after the other outputs.
    #[cfg(feature = "otlp")]
    pub otlp: Option<Arc<super::otlp::OtlpLogSink>>,
}

/// Longest the idle writer sleeps between looks at the queue.
pub(crate) const MAX_IDLE: Duration = Duration::from_millis(50);
const MIN_IDLE: Duration = Duration::from_millis(2);

/// The application side of the writer: a queue and its drop counter.
#[derive(Debug)]
pub(crate) struct WriterHandle {
    tx: Sender<Msg>,
    dropped: AtomicU64,
    metrics: MetricsCollector,
    wake_at: usize,
    thread: OnceLock<Thread>,
    parked: Arc<AtomicBool>,
}

impl WriterHandle {
    /// Enqueues a line without blocking; a full queue drops and counts it.
    #[inline]
    pub fn send(&self, bytes: Vec<u8>, level: Level, twin_at: Option<usize>) {
        match self.tx.try_send(Msg::Line {
            bytes,
            level,
            twin_at,
        }) {
            Ok(()) => {
                if self.tx.len() >= self.wake_at && self.parked.load(Ordering::Relaxed) {
                    self.wake();
                }
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                self.metrics.record_log_line_dropped();
            }
        }
    }

    fn wake(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (at most `timeout`) until every line queued before this call is written.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.round_trip(Msg::Flush, timeout)
    }

    /// Writes what is queued, flushes, and stops the thread (at most `timeout`).
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.round_trip(Msg::Shutdown, timeout)
    }

    fn round_trip(&self, make: fn(SyncSender<()>) -> Msg, timeout: Duration) -> bool {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        // A control message waits for room (bounded by `timeout`): it must not be dropped.
        let deadline = std::time::Instant::now() + timeout;
        let mut msg = make(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => {
                    self.wake();
                    break;
                }
                Err(TrySendError::Disconnected(_)) => return true, // already stopped
                Err(TrySendError::Full(m)) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    self.wake();
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        ack_rx.recv_timeout(left).is_ok()
    }
}

/// Starts the writer thread.
pub(crate) fn start(
    outputs: Outputs,
    capacity: usize,
    metrics: MetricsCollector,
) -> io::Result<(Arc<WriterHandle>, JoinHandle<()>)> {
    let capacity = capacity.max(1);
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    let parked = Arc::new(AtomicBool::new(false));
    let handle = Arc::new(WriterHandle {
        tx,
        dropped: AtomicU64::new(0),
        metrics: metrics.clone(),
        wake_at: (capacity / 2).max(1),
        thread: OnceLock::new(),
        parked: Arc::clone(&parked),
    });
    let thread = std::thread::Builder::new()
        .name("megaobs-log-writer".into())
        .spawn(move || run(rx, outputs, metrics, parked))?;
    let _ = handle.thread.set(thread.thread().clone());
    Ok((handle, thread))
}

struct ErrorReporter {
    metrics: MetricsCollector,
    reported: [bool; 4],
}

impl ErrorReporter {
    /// Counts a failed write; tells stderr about the first failure of each output.
    fn failed(&mut self, output: LogOutput, e: &io::Error) {
        self.failed_lines(output, e, 1);
    }

    /// Counts `lines` lines lost to one failure.
    fn failed_lines(&mut self, output: LogOutput, e: &io::Error, lines: u64) {
        for _ in 0..lines {
            self.metrics.record_log_output_error(output);
        }
        let i = output as usize;
        if !self.reported[i] {
            self.reported[i] = true;
            eprintln!(
                "megaobs: log output {output:?} failed: {e}; further failures are counted in log_output_errors_total"
            );
        }
    }
}

fn run(rx: Receiver<Msg>, mut out: Outputs, metrics: MetricsCollector, parked: Arc<AtomicBool>) {
    let mut stdout = io::BufWriter::with_capacity(64 * 1024, io::stdout());
    let mut errors = ErrorReporter {
        metrics,
        reported: [false; 4],
    };
    let mut idle = MIN_IDLE;
    loop {
        let first = match rx.try_recv() {
            Ok(m) => m,
            Err(crossbeam_channel::TryRecvError::Disconnected) => break,
            Err(crossbeam_channel::TryRecvError::Empty) => {
                parked.store(true, Ordering::SeqCst);
                if rx.is_empty() {
                    std::thread::park_timeout(idle);
                    idle = (idle * 2).min(MAX_IDLE);
                }
                parked.store(false, Ordering::SeqCst);
                continue;
            }
        };
        idle = MIN_IDLE;
        let mut next = Some(first);
        let mut acks = Vec::new();
        let mut stop = false;
        // Write everything queued, then flush once: batching without latency.
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line {
                    mut bytes,
                    level,
                    twin_at,
                } => {
                    // Split here, off the caller's thread.
                    let twin = twin_at.map(|at| bytes.split_off(at.min(bytes.len())));
                    write_line(&mut out, &mut stdout, &mut errors, &bytes, level);
                    #[cfg(feature = "otlp")]
                    if let Some(sink) = &out.otlp {
                        sink.offer(twin.unwrap_or(bytes));
                    }
                    #[cfg(not(feature = "otlp"))]
                    let _ = twin;
                }
                Msg::Flush(ack) => acks.push(ack),
                Msg::Shutdown(ack) => {
                    acks.push(ack);
                    stop = true;
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        flush_all(&mut out, &mut stdout, &mut errors);
        for ack in acks {
            let _ = ack.send(());
        }
        if stop {
            return;
        }
    }
    flush_all(&mut out, &mut stdout, &mut errors);
}

fn write_line(
    out: &mut Outputs,
    stdout: &mut impl Write,
    errors: &mut ErrorReporter,
    line: &[u8],
    level: Level,
) {
    if out.console {
        if let Err(e) = stdout
            .write_all(line)
            .and_then(|()| stdout.write_all(b"\n"))
        {
            errors.failed(LogOutput::Console, &e);
        }
    }
    if let Some(f) = out.file.as_mut() {
        if let Err(lost) = f.write_line(line) {
            errors.failed_lines(LogOutput::File, &lost.error, lost.lines);
        }
    }
    if level == Level::ERROR {
        if let Some(f) = out.error_file.as_mut() {
            if let Err(lost) = f.write_line(line) {
                errors.failed_lines(LogOutput::File, &lost.error, lost.lines);
            }
        }
    }
    if let Some(s) = out.syslog.as_mut() {
        if let Err(e) = s.send(level, line) {
            errors.failed(LogOutput::Syslog, &e);
        }
    }
    if let Some(w) = out.custom.as_mut() {
        if let Err(e) = w.write_all(line).and_then(|()| w.write_all(b"\n")) {
            errors.failed(LogOutput::Writer, &e);
        }
    }
}

fn flush_all(out: &mut Outputs, stdout: &mut impl Write, errors: &mut ErrorReporter) {
    if out.console {
        if let Err(e) = stdout.flush() {
            errors.failed(LogOutput::Console, &e);
        }
    }
    for f in [out.file.as_mut(), out.error_file.as_mut()]
        .into_iter()
        .flatten()
    {
        if let Err(lost) = f.flush() {
            errors.failed_lines(LogOutput::File, &lost.error, lost.lines);
        }
    }
    if let Some(w) = out.custom.as_mut() {
        if let Err(e) = w.flush() {
            errors.failed(LogOutput::Writer, &e);
        }
    }
}
