//! Process metrics (`process_*`), read at scrape time: from `/proc` on Linux,
//! from `getrusage`, `proc_pidinfo` and `/dev/fd` on macOS.
//!
//! Written here rather than taken from a crate: `prometheus-client` has no process
//! collector, and the `procfs`/`sysinfo` crates are large for the six numbers the
//! standard `process_*` families need. On other systems the families are
//! simply absent.

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

    #[cfg(target_os = "macos")]
    pub(crate) fn read() -> Option<Self> {
        use std::mem::{size_of, MaybeUninit};
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let mut usage = MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` is a writable rusage; RUSAGE_SELF is valid.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: getrusage succeeded, so it initialised `usage`.
        let usage = unsafe { usage.assume_init() };
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        let mut task = MaybeUninit::<libc::proc_taskinfo>::zeroed();
        let size = size_of::<libc::proc_taskinfo>() as libc::c_int;
        // SAFETY: the buffer is a proc_taskinfo of the size given.
        let n = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDTASKINFO,
                0,
                task.as_mut_ptr().cast(),
                size,
            )
        };
        if n != size {
            return None;
        }
        // SAFETY: proc_pidinfo filled the whole struct (it returned its size).
        let task = unsafe { task.assume_init() };
        let mut bsd = MaybeUninit::<libc::proc_bsdinfo>::zeroed();
        let size = size_of::<libc::proc_bsdinfo>() as libc::c_int;
        // SAFETY: the buffer is a proc_bsdinfo of the size given.
        let n = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDTBSDINFO,
                0,
                bsd.as_mut_ptr().cast(),
                size,
            )
        };
        if n != size {
            return None;
        }
        // SAFETY: proc_pidinfo filled the whole struct (it returned its size).
        let bsd = unsafe { bsd.assume_init() };
        let mut limit = MaybeUninit::<libc::rlimit>::zeroed();
        // SAFETY: `limit` is a writable rlimit; RLIMIT_NOFILE is valid.
        let max_fds = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, limit.as_mut_ptr()) } == 0 {
            // SAFETY: getrlimit succeeded.
            i64::try_from(unsafe { limit.assume_init() }.rlim_cur).unwrap_or(i64::MAX)
        } else {
            0
        };
        Some(Self {
            cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            resident_bytes: i64::try_from(task.pti_resident_size).unwrap_or(i64::MAX),
            virtual_bytes: i64::try_from(task.pti_virtual_size).unwrap_or(i64::MAX),
            // The listing opens a descriptor of its own while it runs.
            open_fds: std::fs::read_dir("/dev/fd")
                .map(|d| d.count().saturating_sub(1) as i64)
                .unwrap_or(0),
            max_fds,
            threads: i64::from(task.pti_threadnum),
            start_time_seconds: bsd.pbi_start_tvsec as f64 + bsd.pbi_start_tvusec as f64 / 1e6,
        })
    }

    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
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

#[cfg(all(test, any(target_os = "linux", target_os = "macos")))]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = ProcessStats::read().expect("the process' own statistics are readable");
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
