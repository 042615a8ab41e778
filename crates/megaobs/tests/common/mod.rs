//! Shared test helpers: real binaries, exposition parsing, a real Prometheus,
//! in-process trace receivers.
#![allow(dead_code)]

pub mod compose;
pub mod example;

/// A writer whose bytes the test can read (give a clone to a log layer).
#[derive(Clone, Default)]
pub struct SharedBuf(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Everything written, line by line.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }
}
/// A blocking HTTP client for tests. reqwest is built with rustls and no
/// default crypto provider (megaobs' `tls` feature): ring is installed first,
/// as `megaobs::init` does in an application.
pub fn http_client() -> reqwest::blocking::Client {
    http_client_builder().build().unwrap()
}

/// [`http_client`]'s builder.
pub fn http_client_builder() -> reqwest::blocking::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
}

/// An async HTTP client for tests (see [`http_client`]).
pub fn async_http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub mod pki;
pub mod receivers;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use megaobs::metrics::{CacheHitKind, CacheOperation, ReviewDecision, Status};
use megaobs::MetricsCollector;

/// Path of a required system binary; panics with how to install it.
pub fn require_bin(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = PathBuf::from(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    let package = match name {
        "amtool" => "prometheus-alertmanager",
        "rsyslogd" => "rsyslog",
        _ => "prometheus",
    };
    panic!(
        "`{name}` is not installed: this test runs against the real binary. \
         Install it with `apt-get install -y {package}` (scripts/test.sh does this)."
    );
}

/// Records at least one sample in every metric family.
pub fn record_every_family(c: &MetricsCollector) {
    let d = Duration::from_millis;
    c.record_workflow_execution(
        "research_workflow",
        Status::Success,
        Duration::from_secs_f64(15.5),
    );
    c.record_workflow_node("research_workflow", "analyze_query", Status::Success);
    c.record_error_recovery_attempt("exponential_backoff");
    c.record_error_recovery_success("exponential_backoff");
    c.record_human_review_requested("research_workflow", "quality_check");
    c.record_human_review_requested("research_workflow", "quality_check");
    c.record_human_review_completed(
        "research_workflow",
        ReviewDecision::Approved,
        Duration::from_secs(120),
    );
    c.record_routing_decision("research", 0.87);
    c.record_cache_hit(CacheHitKind::Exact, d(1));
    c.record_cache_hit(CacheHitKind::Semantic, d(4));
    c.record_cache_miss(d(2));
    c.record_cache_set(d(1));
    c.record_cache_error(CacheOperation::Set);
    c.record_http_request("GET", "/api/research/{id}", 200, d(12));
    c.record_http_request("POST", "/api/research", 429, d(1));
    c.record_http_client_request("POST", "api.openai.com", Some(200), d(850));
    c.record_http_client_request("GET", "vector-db", None, d(30));
    c.record_rate_limit_rejection("api_default");
    c.record_rate_limit_eviction("api_default");
    c.connection_opened();
    c.set_database_connections(3, 7);
    c.record_database_query("select_documents", Status::Success, d(3));
    c.record_database_query("select_documents", Status::Error, d(9));
    c.record_vector_store_operation("search", Status::Success, d(8));
    c.set_vector_store_collection("research_documents", 384, 1200);
    c.set_prices(megaobs::metrics::PriceTable::new().with_model(
        "claude-3-opus",
        megaobs::metrics::ModelPrice::new(15.0, Some(1.5), 75.0, None),
    ));
    c.record_gen_ai_operation(
        megaobs::metrics::GenAiOperation::Chat,
        "anthropic",
        "claude-3-opus",
        Duration::from_millis(2500),
        None,
        &megaobs::metrics::TokenUsage::from_anthropic(150, 0, 0, 300),
    );
    c.record_gen_ai_operation(
        megaobs::metrics::GenAiOperation::Chat,
        "anthropic",
        "claude-3-opus",
        Duration::from_millis(900),
        Some("timeout"),
        &megaobs::metrics::TokenUsage::default(),
    );
    c.record_gen_ai_operation(
        megaobs::metrics::GenAiOperation::Chat,
        "openai",
        "gpt-unpriced",
        Duration::from_millis(900),
        None,
        &megaobs::metrics::TokenUsage::from_openai(100, 20, 50, 5),
    );
    #[cfg(feature = "tracing")]
    {
        let mut call = megaobs::trace::LlmSpan::start(
            c,
            megaobs::metrics::GenAiOperation::Chat,
            "anthropic",
            "claude-3-opus",
        );
        for _ in 0..3 {
            call.chunk();
        }
        call.finish();
    }
    c.record_agent_invocation("researcher", Duration::from_millis(3000), None);
    c.record_tool_execution("web_search", Duration::from_millis(300), Some("timeout"));
    c.observe_tokio_runtime(runtime().handle().clone());
}

/// A small multi-threaded runtime shared by the tests that need one to observe.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// The value of the sample whose series (name and labels, as exposed) is `series`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    let prefix = format!("{series} ");
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(&prefix)?;
        let v = rest.split_whitespace().next()?;
        match v {
            "+Inf" => Some(f64::INFINITY),
            v => v.parse().ok(),
        }
    })
}

/// Runs `promtool check metrics` on `exposition`; returns its combined output.
pub fn promtool_check_metrics(exposition: &str) -> (bool, String) {
    let mut child = Command::new(require_bin("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The promtool findings other than the one the original design's metric name forces.
pub fn unexpected_findings(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !l.starts_with(
                "cache_avg_hit_latency_ms metric names should not contain abbreviated units",
            )
        })
        .map(str::to_string)
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real Prometheus server on a loopback port, killed on drop.
pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

impl Prometheus {
    /// Starts Prometheus scraping each `(job, target)` every second.
    pub fn start(jobs: &[(&str, SocketAddr)], rule_files: &[PathBuf]) -> Self {
        let mut cfg = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
        if !rule_files.is_empty() {
            cfg.push_str("rule_files:\n");
            for r in rule_files {
                cfg.push_str(&format!("  - {}\n", r.display()));
            }
        }
        cfg.push_str("scrape_configs:\n");
        for (job, target) in jobs {
            cfg.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        Self::start_with_config(&cfg)
    }

    /// Starts Prometheus with the given prometheus.yml text (exemplar storage on).
    pub fn start_with_config(cfg: &str) -> Self {
        let bin = require_bin("prometheus");
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("prometheus.yml");
        std::fs::write(&cfg_path, cfg).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Self {
            child,
            addr,
            _dir: dir,
            http: http_client_builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = p
                .http
                .get(format!("http://{addr}/-/ready"))
                .send()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus did not become ready: {}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Runs an instant query; returns the `data.result` array.
    pub fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let v: serde_json::Value = self
            .http
            .get(format!("http://{}/api/v1/query", self.addr))
            .query(&[("query", q)])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("query {q}: {e}"));
        assert_eq!(v["status"], "success", "query {q}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Runs an instant query evaluated at `time` (Unix seconds); returns the
    /// `data.result` vector.
    pub fn query_at(&self, q: &str, time: f64) -> Vec<serde_json::Value> {
        let v: serde_json::Value = self
            .http
            .get(format!("http://{}/api/v1/query", self.addr))
            .query(&[("query", q), ("time", &time.to_string())])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("query {q}: {e}"));
        assert_eq!(v["status"], "success", "query {q}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Runs a range query with a 1 s step; returns the `data.result` matrix.
    pub fn query_range(&self, q: &str, start: f64, end: f64) -> Vec<serde_json::Value> {
        let v: serde_json::Value = self
            .http
            .get(format!("http://{}/api/v1/query_range", self.addr))
            .query(&[
                ("query", q.to_string()),
                ("start", format!("{start:.3}")),
                ("end", format!("{end:.3}")),
                ("step", "1".to_string()),
            ])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("query_range {q}: {e}"));
        assert_eq!(v["status"], "success", "query_range {q}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The single value of an instant query, if it has exactly one series.
    pub fn value(&self, q: &str) -> Option<f64> {
        let r = self.query(q);
        (r.len() == 1).then(|| r[0]["value"][1].as_str().unwrap().parse().unwrap())
    }

    /// Polls `q` until `pred(value)` or the timeout; returns the last value.
    pub fn wait_value(
        &self,
        q: &str,
        timeout: Duration,
        pred: impl Fn(f64) -> bool,
    ) -> Option<f64> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.value(q);
            if v.is_some_and(&pred) || Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `query_exemplars` over the last `secs` seconds.
    pub fn exemplars(&self, q: &str, secs: u64) -> Vec<serde_json::Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let v: serde_json::Value = self
            .http
            .get(format!("http://{}/api/v1/query_exemplars", self.addr))
            .query(&[
                ("query", q.to_string()),
                ("start", (now - secs).to_string()),
                ("end", (now + 5).to_string()),
            ])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("query_exemplars {q}: {e}"));
        assert_eq!(v["status"], "success", "{v}");
        v["data"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
