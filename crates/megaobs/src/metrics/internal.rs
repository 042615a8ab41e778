//! megaobs' own health: what the logging and tracing pillars drop or fail to write.

use super::catalog::{LOG_LINES_DROPPED, LOG_OUTPUT_ERRORS};
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
    }
}

impl MetricsCollector {
    pub(crate) fn record_log_line_dropped(&self) {
        self.inner.internal.log_lines_dropped.inc();
    }

    pub(crate) fn record_log_output_error(&self, output: LogOutput) {
        self.inner.internal.log_output_errors[output as usize].inc();
    }
}
