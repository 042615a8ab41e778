//! Syslog output against a real rsyslog daemon on loopback UDP and TCP ports.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, require_bin};
use megaobs::config::{LoggingConfig, SyslogTarget};
use megaobs::logging::LogLayer;
use megaobs::metrics::MetricsCollector;
use tracing_subscriber::layer::SubscriberExt;

/// A real rsyslogd with UDP and TCP inputs writing what it receives to a file.
struct Rsyslog {
    child: Child,
    dir: PathBuf,
    udp: u16,
    tcp: u16,
}

impl Rsyslog {
    fn start(dir: &Path, udp: u16, tcp: u16) -> Self {
        let bin = require_bin("rsyslogd");
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{dir}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="t" type="string" string="%syslogseverity-text%|%app-name%|%msg%\n")
action(type="omfile" file="{dir}/received.log" template="t")
"#,
                dir = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", tcp)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen on {tcp}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200)); // UDP input comes up with TCP's
        Self {
            child,
            dir: dir.to_path_buf(),
            udp,
            tcp,
        }
    }

    /// Received lines from `app`, as (severity, json message), waiting for `n`.
    fn received(&self, app: &str, n: usize) -> Vec<(String, serde_json::Value)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(self.dir.join("received.log")).unwrap_or_default();
            let got: Vec<_> = text
                .lines()
                .filter_map(|l| {
                    let mut parts = l.splitn(3, '|');
                    let (sev, a, msg) = (parts.next()?, parts.next()?, parts.next()?);
                    (a == app).then(|| {
                        (
                            sev.to_string(),
                            serde_json::from_str(msg.trim()).expect(msg),
                        )
                    })
                })
                .collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emit_three(app: &str, target: SyslogTarget, metrics: &MetricsCollector) {
    let config = LoggingConfig::default()
        .service_name(app)
        .console(false)
        .file(false)
        .syslog(Some(target));
    let (layer, guard) = LogLayer::builder(config)
        .metrics(metrics.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(user_id = "123", "User logged in");
        tracing::warn!(rate = 0.8, "High cache miss rate");
        tracing::error!(
            host = "db1",
            password = "hunter2",
            "Database connection failed"
        );
    });
    assert!(guard.flush(Duration::from_secs(5)));
}

fn check(lines: &[(String, serde_json::Value)], app: &str) {
    assert_eq!(lines.len(), 3, "{lines:?}");
    let sev: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(sev, ["info", "warning", "err"]);
    assert_eq!(lines[0].1["message"], "User logged in");
    assert_eq!(lines[0].1["service"], app);
    assert_eq!(lines[2].1["host"], "db1");
    assert_eq!(
        lines[2].1["password"], "[REDACTED]",
        "secrets are redacted in syslog too"
    );
}

#[test]
fn lines_reach_rsyslog_over_udp_and_tcp_with_severity_and_app_name() {
    let dir = tempfile::tempdir().unwrap();
    let rs = Rsyslog::start(dir.path(), free_port(), free_port());
    let metrics = MetricsCollector::new();
    emit_three(
        "megaobs-udp",
        SyslogTarget::Udp(format!("127.0.0.1:{}", rs.udp)),
        &metrics,
    );
    check(&rs.received("megaobs-udp", 3), "megaobs-udp");
    emit_three(
        "megaobs-tcp",
        SyslogTarget::Tcp(format!("127.0.0.1:{}", rs.tcp)),
        &metrics,
    );
    check(&rs.received("megaobs-tcp", 3), "megaobs-tcp");
    assert!(metrics
        .encode_text()
        .contains("log_output_errors_total{output=\"syslog\"} 0"));
}

#[test]
fn unreachable_tcp_syslog_is_an_init_error() {
    let port = free_port();
    let config = LoggingConfig::default()
        .console(false)
        .file(false)
        .syslog(Some(SyslogTarget::Tcp(format!("127.0.0.1:{port}"))));
    let err = LogLayer::builder(config)
        .build::<tracing_subscriber::Registry>()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("tcp://127.0.0.1:{port}")) && err.contains("LOG_SYSLOG"),
        "{err}"
    );
}

#[test]
fn a_tcp_outage_is_counted_and_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_port(), free_port());
    let rs = Rsyslog::start(dir.path(), udp, tcp);
    let metrics = MetricsCollector::new();
    let config = LoggingConfig::default()
        .service_name("megaobs-outage")
        .console(false)
        .file(false)
        .syslog(Some(SyslogTarget::Tcp(format!("127.0.0.1:{tcp}"))));
    let (layer, guard) = LogLayer::builder(config)
        .metrics(metrics.clone())
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || tracing::info!(phase = "before", "up"));
    assert!(guard.flush(Duration::from_secs(5)));
    assert_eq!(rs.received("megaobs-outage", 1).len(), 1);
    drop(rs); // the daemon goes away

    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..20 {
            tracing::info!(phase = "down", i, "lost");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    assert!(guard.flush(Duration::from_secs(5)));
    let errors = metrics.encode_text();
    assert!(
        !errors.contains("log_output_errors_total{output=\"syslog\"} 0\n"),
        "the outage must be counted:\n{}",
        errors
            .lines()
            .filter(|l| l.contains("log_output"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let dir2 = tempfile::tempdir().unwrap();
    let rs2 = Rsyslog::start(dir2.path(), free_port(), tcp);
    std::thread::sleep(Duration::from_millis(1_100)); // reconnects are at most once a second
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..3 {
            tracing::info!(phase = "after", "back");
            std::thread::sleep(Duration::from_millis(400));
        }
    });
    assert!(guard.flush(Duration::from_secs(5)));
    let after = rs2.received("megaobs-outage", 1);
    assert!(
        after.iter().any(|(_, v)| v["phase"] == "after"),
        "lines after the outage arrive: {after:?}"
    );
}
