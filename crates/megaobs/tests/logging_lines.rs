//! Log lines: format, trace context, error file, redaction, rotation, drops.

mod common;

use common::SharedBuf;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use megaobs::config::{LogFormat, LoggingConfig};
use megaobs::logging::{LogLayer, LoggingGuard};
use megaobs::metrics::MetricsCollector;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

fn quiet(config: LoggingConfig) -> LoggingConfig {
    config.console(false).file(false)
}

/// Runs `f` with a LogLayer writing to a buffer; returns the lines.
fn capture(config: LoggingConfig, f: impl FnOnce()) -> Vec<String> {
    let buf = SharedBuf::default();
    let (layer, guard) = LogLayer::builder(quiet(config))
        .writer(buf.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    assert!(guard.flush(Duration::from_secs(5)));
    buf.lines()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

const REQUIRED: &[&str] = &[
    "timestamp",
    "level",
    "logger",
    "message",
    "module",
    "function",
    "line",
    "service",
];

#[test]
fn json_lines_carry_the_seed_fields_with_types_kept() {
    let lines = capture(
        LoggingConfig::default().service_name("research-api"),
        || {
            tracing::info!(
                user_id = "123",
                attempt = 3u64,
                ratio = 0.5,
                ok = true,
                delta = -2i64,
                "User logged in"
            );
            let span = tracing::info_span!("execute_workflow");
            let _e = span.enter();
            tracing::warn!(rate = 0.8, "High cache miss rate");
        },
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    let a = json(&lines[0]);
    for k in REQUIRED {
        assert!(a.get(k).is_some(), "missing {k}: {a}");
    }
    let ts = a["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    assert_eq!(a["level"], "INFO");
    assert_eq!(a["logger"], "logging_lines");
    assert_eq!(a["module"], "logging_lines");
    assert_eq!(a["message"], "User logged in");
    assert_eq!(a["service"], "research-api");
    assert_eq!(a["function"], Value::Null);
    assert!(a["line"].as_u64().unwrap() > 0);
    assert_eq!(a["user_id"], "123");
    assert_eq!(a["attempt"], 3);
    assert_eq!(a["ratio"], 0.5);
    assert_eq!(a["ok"], true);
    assert_eq!(a["delta"], -2);
    assert!(a.get("trace_id").is_none(), "no span, no trace id");
    let b = json(&lines[1]);
    assert_eq!(b["level"], "WARN");
    assert_eq!(b["function"], "execute_workflow");
    assert_eq!(b["rate"], 0.8);
}

#[test]
fn lines_inside_an_opentelemetry_span_carry_its_ids() {
    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let span = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let lines = capture(LoggingConfig::default(), || {
        let sc = SpanContext::new(
            trace,
            span,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let _cx = opentelemetry::Context::current()
            .with_remote_span_context(sc)
            .attach();
        tracing::info!("inside");
    });
    let l = json(&lines[0]);
    assert_eq!(l["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(l["span_id"], "00f067aa0ba902b7");
}

#[test]
fn hostile_values_stay_one_valid_line() {
    let lines = capture(LoggingConfig::default(), || {
        tracing::error!(
            query = "a\"b\\c\nd\u{1}",
            level = "spoofed",
            "multi\nline \"message\""
        );
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let l = json(&lines[0]);
    assert_eq!(l["query"], "a\"b\\c\nd\u{1}");
    assert_eq!(l["message"], "multi\nline \"message\"");
    assert_eq!(
        l["level"], "ERROR",
        "a field cannot overwrite a reserved key"
    );
    assert_eq!(l["fields.level"], "spoofed");
}

#[test]
fn secrets_are_redacted_in_json_and_text() {
    let emit = || {
        tracing::info!(
            password = "hunter2",
            api_key = "sk-live-123",
            authorization = "Bearer abc",
            db_password = %"pw",
            session_token = ?"t0ken-val",
            prompt_tokens = 150u64,
            "login"
        );
    };
    for format in [LogFormat::Json, LogFormat::Text] {
        let lines = capture(LoggingConfig::default().format(format), emit);
        let line = &lines[0];
        for secret in ["hunter2", "sk-live-123", "Bearer abc", "pw\"", "t0ken-val"] {
            assert!(!line.contains(secret), "{format:?} leaked {secret}: {line}");
        }
        assert_eq!(line.matches("[REDACTED]").count(), 5, "{line}");
        assert!(
            line.contains("150"),
            "prompt_tokens is not a secret: {line}"
        );
    }
    // Configurable list.
    let lines = capture(LoggingConfig::default().redact(["ssn"]), || {
        tracing::info!(user_ssn = "078-05-1120", "x")
    });
    assert_eq!(json(&lines[0])["user_ssn"], "[REDACTED]");
}

#[test]
fn text_format_is_one_readable_line() {
    let lines = capture(LoggingConfig::default().format(LogFormat::Text), || {
        let s = tracing::info_span!("analyze_query");
        let _e = s.enter();
        tracing::info!(user_id = "123", words = "two words", "Workflow\nstarted");
    });
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert!(
        l.contains(" INFO  logging_lines: Workflow started user_id=123 words=\"two words\""),
        "{l}"
    );
    assert!(
        l.contains("function=analyze_query") && l.contains("service=megaagent-pro"),
        "{l}"
    );
}

#[test]
fn filter_applies_to_events_and_accepts_directives() {
    let lines = capture(
        LoggingConfig::default().level("warn,logging_lines::chatty=debug"),
        || {
            tracing::info!("dropped by level");
            tracing::warn!("kept");
            tracing::debug!(target: "logging_lines::chatty", "kept by directive");
        },
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    let err = LogLayer::builder(quiet(LoggingConfig::default().level("[span]=loud")))
        .build::<tracing_subscriber::Registry>()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LoggingConfig::level") && err.contains("[span]=loud"),
        "{err}"
    );
}

#[test]
fn helpers_emit_stable_fields() {
    let lines = capture(LoggingConfig::default(), || {
        megaobs::log_workflow_event!(
            "research_workflow",
            "started",
            query = "What is AI?",
            user_id = "123"
        );
        megaobs::log_llm_request!("claude-3-opus", 150, 300, 2500.0, temperature = 0.7);
        megaobs::log_cache_operation!("get", true, 2.5, "user:123");
    });
    let (w, l, c) = (json(&lines[0]), json(&lines[1]), json(&lines[2]));
    assert_eq!(
        (w["workflow_name"].as_str(), w["event_type"].as_str()),
        (Some("research_workflow"), Some("started"))
    );
    assert_eq!(w["query"], "What is AI?");
    assert_eq!(w["user_id"], "123");
    assert_eq!(l["model"], "claude-3-opus");
    assert_eq!(
        (l["prompt_tokens"].as_u64(), l["completion_tokens"].as_u64()),
        (Some(150), Some(300))
    );
    assert_eq!(l["total_tokens"], 450);
    assert_eq!(l["latency_ms"], 2500.0);
    assert_eq!(l["temperature"], 0.7);
    assert_eq!(
        (c["operation"].as_str(), c["hit"].as_bool()),
        (Some("get"), Some(true))
    );
    assert_eq!(c["latency_ms"], 2.5);
    assert_eq!(c["key"], "user:123");
}

fn file_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn with_files(config: LoggingConfig, f: impl FnOnce()) -> LoggingGuard {
    let (layer, guard) = LogLayer::builder(config.console(false)).build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    assert!(guard.flush(Duration::from_secs(10)));
    guard
}

#[test]
fn error_file_holds_exactly_the_error_lines() {
    let dir = tempfile::tempdir().unwrap();
    let _g = with_files(
        LoggingConfig::default().dir(dir.path()).service_name("svc"),
        || {
            for i in 0..50 {
                match i % 5 {
                    0 => tracing::error!(i, "failed"),
                    1 => tracing::warn!(i, "slow"),
                    _ => tracing::info!(i, "fine"),
                }
            }
        },
    );
    let all = file_lines(&dir.path().join("svc.log"));
    let errors = file_lines(&dir.path().join("svc.error.log"));
    assert_eq!(all.len(), 50);
    let expected: Vec<&String> = all.iter().filter(|l| json(l)["level"] == "ERROR").collect();
    assert_eq!(expected.len(), 10);
    assert_eq!(errors.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn rotation_keeps_whole_lines_and_the_newest_files() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 12_500; // 100,000 lines
    const MAX: u64 = 256 * 1024;
    const BACKUPS: u32 = 3;
    let dir = tempfile::tempdir().unwrap();
    let config = LoggingConfig::default()
        .dir(dir.path())
        .service_name("rot")
        .max_bytes(MAX)
        .backups(BACKUPS)
        .queue_capacity(200_000);
    let (layer, guard) = LogLayer::builder(config.console(false)).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..PER_THREAD {
                        tracing::info!(
                            t,
                            i,
                            pad = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                            "rotation test line"
                        );
                    }
                })
            });
        }
    });
    assert!(guard.flush(Duration::from_secs(30)));
    assert_eq!(guard.dropped_lines(), 0);
    let base = dir.path().join("rot.log");
    let mut files = vec![base.clone()];
    for i in 1..=BACKUPS + 2 {
        let p = dir.path().join(format!("rot.log.{i}"));
        if p.exists() {
            files.push(p);
        }
    }
    assert_eq!(
        files.len(),
        BACKUPS as usize + 1,
        "exactly N backups: {files:?}"
    );
    // Oldest first: rot.log.3, .2, .1, rot.log.
    files.reverse();
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(); THREADS];
    let mut longest = 0;
    for f in &files {
        let size = std::fs::metadata(f).unwrap().len();
        let lines = file_lines(f);
        for l in &lines {
            let v = json(l);
            seen[v["t"].as_u64().unwrap() as usize].push(v["i"].as_u64().unwrap());
            longest = longest.max(l.len() as u64 + 1);
        }
        assert!(size <= MAX, "{} is {size} bytes", f.display());
        if *f != base {
            assert!(
                size + longest > MAX,
                "{} was rotated early ({size} bytes)",
                f.display()
            );
        }
    }
    let kept: usize = seen.iter().map(Vec::len).sum();
    assert!(
        kept as u64 * longest >= (BACKUPS as u64) * (MAX - longest),
        "only {kept} lines kept"
    );
    for (t, s) in seen.iter().enumerate() {
        // What is kept is, per thread, a contiguous run ending with its last line
        // (or nothing, for a thread that finished early): the oldest lines are the
        // ones gone, none in the middle.
        let Some(last) = s.last() else { continue };
        assert_eq!(*last, PER_THREAD as u64 - 1, "thread {t}");
        for w in s.windows(2) {
            assert_eq!(w[1], w[0] + 1, "thread {t}: gap or reorder");
        }
    }

    // When everything fits in N+1 files, every line is there exactly once.
    let dir2 = tempfile::tempdir().unwrap();
    let _g = with_files(
        LoggingConfig::default()
            .dir(dir2.path())
            .service_name("fit")
            .max_bytes(64 * 1024)
            .backups(20),
        || {
            for i in 0..2_000 {
                tracing::info!(i, "fits");
            }
        },
    );
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir2.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().contains("fit.log") {
            all.extend(
                file_lines(&p)
                    .iter()
                    .map(|l| json(l)["i"].as_u64().unwrap()),
            );
        }
    }
    all.sort();
    assert_eq!(all, (0..2_000).collect::<Vec<u64>>());
}

/// A writer that blocks until released: a stalled disk or pipe.
struct Stalled {
    release: Arc<(Mutex<bool>, std::sync::Condvar)>,
    written: Arc<Mutex<usize>>,
}

impl Write for Stalled {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let (lock, cv) = &*self.release;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        *self.written.lock().unwrap() += b.iter().filter(|c| **c == b'\n').count();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_stalled_writer_never_blocks_and_drops_are_counted_exactly() {
    const LINES: usize = 1_000;
    let release = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let written = Arc::new(Mutex::new(0));
    let metrics = MetricsCollector::new();
    let (layer, guard) = LogLayer::builder(quiet(LoggingConfig::default().queue_capacity(16)))
        .writer(Stalled {
            release: Arc::clone(&release),
            written: Arc::clone(&written),
        })
        .metrics(metrics.clone())
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..LINES {
            let t = Instant::now();
            tracing::info!(i, "while stalled");
            slowest = slowest.max(t.elapsed());
        }
    });
    assert!(
        slowest < Duration::from_millis(50),
        "a log call blocked for {slowest:?}"
    );
    let dropped = guard.dropped_lines();
    assert!(dropped >= (LINES - 16 - 2) as u64, "dropped only {dropped}");
    {
        let (lock, cv) = &*release;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
    assert!(guard.flush(Duration::from_secs(5)));
    let written = *written.lock().unwrap() as u64;
    assert_eq!(
        written + dropped,
        LINES as u64,
        "written {written} + dropped {dropped}"
    );
    let exposition = metrics.encode_text();
    assert!(
        exposition.contains(&format!("log_lines_dropped_total {dropped}\n")),
        "metric must equal the guard's count"
    );
}

#[test]
fn an_unwritable_log_dir_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let bad = file.join("logs");
    let err = LogLayer::builder(LoggingConfig::default().console(false).dir(&bad))
        .build::<tracing_subscriber::Registry>()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("LOG_DIR"),
        "{err}"
    );
}
