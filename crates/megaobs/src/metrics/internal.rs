//! megaobs' own health: what the logging and tracing pillars drop or fail to write.
// Recorded by the logging and tracing pillars: unused in a build without them.
#![cfg_attr(not(all(feature = "tracing", feature = "logging")), allow(dead_code))]

use super::catalog::{
    EXPORT_ERRORS, LOG_LINES_DROPPED, LOG_OUTPUT_ERRORS, LOG_RECORDS_DROPPED, LOG_RECORDS_EXPORTED,
    SPANS_DROPPED, SPANS_EXPORTED,
};
use super::encode::Encoder;
use super::value::Counter;
use super::MetricsCollector;

/// A log output, as labelled in `log_output_errors_total{output}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogOutput {
    Console,
    File,
    Syslog,
    Writer,
}

impl LogOutput {
    const ALL: [Self; 4] = [Self::Console, Self::File, Self::Syslog, Self::Writer];

    fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::File => "file",
            Self::Syslog => "syslog",
            Self::Writer => "writer",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct InternalMetrics {
    log_lines_dropped: Counter,
    log_output_errors: [Counter; 4],
    spans_exported: Counter,
    /// queue_full, export_failed, shutdown
    spans_dropped: [Counter; 3],
    export_errors: Counter,
    log_records_exported: Counter,
    /// queue_full, export_failed, shutdown
    log_records_dropped: [Counter; 3],
}

/// Why spans (or OTLP log records) were lost, as labelled in
/// `otel_spans_dropped_total{reason}` and `otel_log_records_dropped_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanDrop {
    QueueFull,
    ExportFailed,
    Shutdown,
}

impl InternalMetrics {
    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&LOG_LINES_DROPPED);
        enc.counter(&LOG_LINES_DROPPED, &[], self.log_lines_dropped.get());
        enc.header(&LOG_OUTPUT_ERRORS);
        for o in LogOutput::ALL {
            enc.counter(
                &LOG_OUTPUT_ERRORS,
                &[o.as_str()],
                self.log_output_errors[o as usize].get(),
            );
        }
        enc.header(&SPANS_EXPORTED);
        enc.counter(&SPANS_EXPORTED, &[], self.spans_exported.get());
        enc.header(&SPANS_DROPPED);
        for (reason, i) in [("queue_full", 0), ("export_failed", 1), ("shutdown", 2)] {
            enc.counter(&SPANS_DROPPED, &[reason], self.spans_dropped[i].get());
        }
        enc.header(&EXPORT_ERRORS);
        enc.counter(&EXPORT_ERRORS, &[], self.export_errors.get());
        enc.header(&LOG_RECORDS_EXPORTED);
        enc.counter(&LOG_RECORDS_EXPORTED, &[], self.log_records_exported.get());
        enc.header(&LOG_RECORDS_DROPPED);
        for (reason, i) in [("queue_full", 0), ("export_failed", 1), ("shutdown", 2)] {
            enc.counter(
                &LOG_RECORDS_DROPPED,
                &[reason],
                self.log_records_dropped[i].get(),
            );
        }
    }
}

impl MetricsCollector {
    pub(crate) fn record_log_line_dropped(&self) {
        self.inner.internal.log_lines_dropped.inc();
    }

    pub(crate) fn record_spans_exported(&self, n: u64) {
        self.inner.internal.spans_exported.inc_by(n);
    }

    pub(crate) fn record_spans_dropped(&self, reason: SpanDrop, n: u64) {
        self.inner.internal.spans_dropped[reason as usize].inc_by(n);
    }

    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn record_log_records_exported(&self, n: u64) {
        self.inner.internal.log_records_exported.inc_by(n);
    }

    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn record_log_records_dropped(&self, reason: SpanDrop, n: u64) {
        self.inner.internal.log_records_dropped[reason as usize].inc_by(n);
    }

    pub(crate) fn record_export_error(&self) {
        self.inner.internal.export_errors.inc();
    }

    pub(crate) fn record_log_output_error(&self, output: LogOutput) {
        self.inner.internal.log_output_errors[output as usize].inc();
    }
}
