//! The example service (`observability_example`) as a child process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// The built example binary (`cargo test` builds examples before tests).
pub fn example_binary() -> PathBuf {
    built_example("observability_example")
}

/// The binary of example `name`, next to this test's own binary.
pub fn built_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds the examples first",
        bin.display()
    );
    bin
}

/// A running example; killed on drop if the test fails before it exits.
pub struct Example {
    child: Child,
    lines: Receiver<String>,
    /// Everything it printed so far (as collected by [`Example::collect`]).
    pub printed: Vec<String>,
    /// `host:port` it listens on, read from its start banner.
    pub addr: String,
}

impl Example {
    /// Starts the example with `args` and `env`, waits for its banner.
    pub fn start(args: &[&str], env: &[(&str, String)]) -> Self {
        Self::start_with_stderr(args, env, Stdio::inherit())
    }

    /// [`Example::start`], with its standard error going to `stderr`.
    pub fn start_with_stderr(args: &[&str], env: &[(&str, String)], stderr: Stdio) -> Self {
        let mut cmd = Command::new(example_binary());
        cmd.args(args).stdout(Stdio::piped()).stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the example");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for l in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let mut ex = Self {
            child,
            lines,
            printed: Vec::new(),
            addr: String::new(),
        };
        ex.addr = loop {
            let l = ex
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the banner");
            ex.printed.push(l.clone());
            if let Some(rest) = l.trim().strip_prefix("metrics: http://") {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        ex
    }

    /// `http://{addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits (at most `timeout`) for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                self.collect();
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the example did not stop after --duration"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid this test started and a valid signal number.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.child.id());
    }

    /// Resident memory in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }

    /// Moves what it printed since the last call into [`Example::printed`].
    pub fn collect(&mut self) {
        self.printed.extend(self.lines.try_iter());
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
