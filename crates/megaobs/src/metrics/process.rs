//! Process metrics (`process_*`), read from `/proc` at scrape time.
//!
//! Written here rather than taken from a crate: `prometheus-client` has no process
//! collector, and the `procfs`/`sysinfo` crates are large for the six numbers the
//! standard `process_*` families need. On systems without `/proc` the families
//! are simply absent.

use super::catalog::{
    PROCESS_CPU, PROCESS_FDS, PROCESS_MAX_FDS, PROCESS_RSS, PROCESS_START, PROCESS_THREADS,
    PROCESS_VSZ,
};
use super::encode::Encoder;

/// One reading of the process' resources.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: i64,
    pub virtual_bytes: i64,
    pub open_fds: i64,
    pub max_fds: i64,
    pub threads: i64,
    pub start_time_seconds: f64,
}

impl ProcessStats {
    #[cfg(target_os = "linux")]
    pub(crate) fn read() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let kib = |key: &str| -> Option<i64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            line[key.len()..]
                .split_whitespace()
                .next()?
                .parse::<i64>()
                .ok()
        };
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // `after` starts at field 3 (state): field N is fields[N - 3].
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let ticks = if ticks > 0.0 { ticks } else { 100.0 };
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })?;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| {
                l.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| {
                        l["Max open files".len()..]
                            .split_whitespace()
                            .next()?
                            .parse::<i64>()
                            .ok()
                    })
            });
        Some(Self {
            cpu_seconds: (field(14)? + field(15)?) / ticks,
            resident_bytes: kib("VmRSS:")? * 1024,
            virtual_bytes: kib("VmSize:")? * 1024,
            open_fds: std::fs::read_dir("/proc/self/fd")
                .map(|d| d.count() as i64)
                .unwrap_or(0),
            max_fds: max_fds.unwrap_or(0),
            threads: kib("Threads:")?,
            start_time_seconds: boot + field(22)? / ticks,
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn read() -> Option<Self> {
        None
    }

    pub(crate) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.header(&PROCESS_CPU);
        enc.counter_f64(&PROCESS_CPU, &[], self.cpu_seconds);
        for (d, v) in [
            (PROCESS_RSS, self.resident_bytes),
            (PROCESS_VSZ, self.virtual_bytes),
            (PROCESS_FDS, self.open_fds),
            (PROCESS_MAX_FDS, self.max_fds),
            (PROCESS_THREADS, self.threads),
        ] {
            enc.header(&d);
            enc.gauge(&d, &[], v);
        }
        enc.header(&PROCESS_START);
        enc.gauge_f64(&PROCESS_START, &[], self.start_time_seconds);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = ProcessStats::read().expect("/proc is readable on Linux");
        assert!(s.resident_bytes > 1024 * 1024, "{s:?}");
        assert!(s.virtual_bytes >= s.resident_bytes);
        assert!(s.open_fds >= 3 && s.max_fds >= s.open_fds, "{s:?}");
        assert!(s.threads >= 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 86400.0,
            "{s:?}"
        );
    }
}
