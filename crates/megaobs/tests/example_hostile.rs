//! The example service under hostile load and operator faults, as a process:
//! SIGTERM and SIGINT under load (with and without `--duration`), half-open
//! connections, a flood of distinct requests and keys, a scrape flood. Loops
//! are bounded in count and time; all traffic is on loopback. One test at a
//! time (they measure throughput and memory).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::example::Example;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn quiet_env(logs: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("LOG_DIR", logs.display().to_string()),
        ("TRACING_EXPORTER", "none".into()),
    ]
}

/// Every log file line is one whole JSON object.
fn assert_whole_lines(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'));
        for l in text.lines() {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|err| panic!("torn line ({err}): {l}"));
            n += 1;
        }
    }
    n
}

/// Exit 0, the signal named, "stopped cleanly" last.
fn assert_stopped_cleanly(ex: &Example, status: std::process::ExitStatus, signal: &str) {
    assert_eq!(status.code(), Some(0), "{:?}", ex.printed);
    let stopping = format!("{signal}: stopping");
    assert!(ex.printed.contains(&stopping), "{:?}", ex.printed);
    assert_eq!(
        ex.printed.last().map(String::as_str),
        Some("stopped cleanly")
    );
}

/// Keeps `threads` clients posting research requests until `stop`; counts 201s.
fn post_load(
    base: String,
    threads: usize,
    stop: Arc<AtomicBool>,
    query_len: usize,
) -> (Vec<std::thread::JoinHandle<()>>, Arc<AtomicU64>) {
    let ok = Arc::new(AtomicU64::new(0));
    let handles = (0..threads)
        .map(|t| {
            let (base, stop, ok) = (base.clone(), Arc::clone(&stop), Arc::clone(&ok));
            std::thread::spawn(move || {
                let http = common::http_client_builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let filler = "x".repeat(query_len);
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    i += 1;
                    let body = serde_json::json!({
                        "query": format!("q{t}-{i} {filler}"),
                        "user_id": format!("u{t}"),
                    });
                    let r = http
                        .post(format!("{base}/api/research"))
                        .header("x-api-key", format!("invented-{t}-{i}"))
                        .json(&body)
                        .send();
                    if r.is_ok_and(|r| r.status() == 201) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    (handles, ok)
}

#[test]
fn sigterm_under_load_drains_flushes_and_exits_0() {
    let _one = serial();
    let logs = tempfile::tempdir().unwrap();
    let mut ex = Example::start(
        &["--listen", "127.0.0.1:0", "--rps", "50"],
        &quiet_env(logs.path()),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (load, ok) = post_load(ex.url(""), 4, Arc::clone(&stop), 100);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(ok.load(Ordering::Relaxed) > 0, "the service was serving");
    ex.signal(libc::SIGTERM);
    let status = ex.wait_exit(Duration::from_secs(20));
    stop.store(true, Ordering::Relaxed);
    for h in load {
        h.join().unwrap();
    }
    assert_stopped_cleanly(&ex, status, "SIGTERM");
    assert!(assert_whole_lines(logs.path()) > 0, "logs were flushed");
}

#[test]
fn sigint_during_a_duration_run_stops_gracefully() {
    let _one = serial();
    let logs = tempfile::tempdir().unwrap();
    let mut ex = Example::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--rps",
            "50",
            "--duration",
            "120",
        ],
        &quiet_env(logs.path()),
    );
    std::thread::sleep(Duration::from_secs(1));
    let asked = Instant::now();
    ex.signal(libc::SIGINT);
    let status = ex.wait_exit(Duration::from_secs(20));
    assert_stopped_cleanly(&ex, status, "SIGINT");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "it did not wait for --duration"
    );
    assert_whole_lines(logs.path());
}

#[test]
fn half_open_connections_are_closed_and_health_still_answers() {
    let _one = serial();
    let logs = tempfile::tempdir().unwrap();
    let ex = Example::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--rps",
            "0",
            "--header-read-timeout",
            "1",
        ],
        &quiet_env(logs.path()),
    );
    // 300 connections: half send nothing, half an unfinished request head.
    let mut conns: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut c = TcpStream::connect(&ex.addr).unwrap();
            if i % 2 == 1 {
                c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap();
            }
            c
        })
        .collect();
    let http = common::http_client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let t = Instant::now();
    let health = http.get(ex.url("/health")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Within the timeout (plus slack) the server closes every one of them.
    std::thread::sleep(Duration::from_millis(2500));
    for c in &mut conns {
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = [0u8; 512];
        match c.read(&mut buf) {
            // EOF, or a 408 the server sent before closing, then EOF.
            Ok(0) => {}
            Ok(n) => {
                assert!(
                    buf[..n].starts_with(b"HTTP/1.1 408"),
                    "{:?}",
                    String::from_utf8_lossy(&buf[..n])
                );
                assert_eq!(c.read(&mut buf).unwrap_or(0), 0);
            }
            Err(e) => assert!(
                e.kind() == std::io::ErrorKind::ConnectionReset,
                "a connection was left open: {e}"
            ),
        }
    }
    let metrics = http.get(ex.url("/metrics")).send().unwrap().text().unwrap();
    let open = common::sample(&metrics, "mega_agent_open_connections").unwrap();
    assert!(open <= 2.0, "connections still counted open: {open}");
}

#[test]
fn memory_stays_bounded_under_a_flood_of_distinct_requests() {
    let _one = serial();
    let logs = tempfile::tempdir().unwrap();
    let mut env = quiet_env(logs.path());
    env.push(("API_RATE_LIMIT", "1000000".into()));
    env.push(("API_RATE_WINDOW", "1".into()));
    let ex = Example::start(&["--listen", "127.0.0.1:0", "--rps", "0"], &env);
    // Each request streams an answer from the LLM provider (tens of
    // milliseconds of waiting): enough clients to keep the service busy.
    const CLIENTS: usize = 48;
    // Warm up at the flood's concurrency (threads, connection pools, caches,
    // allocator), then measure.
    let stop = Arc::new(AtomicBool::new(false));
    // Queries just under the service's 2,000-byte cap.
    let (warm, ok) = post_load(ex.url(""), CLIENTS, Arc::clone(&stop), 1_900);
    let until = Instant::now() + Duration::from_secs(20);
    while ok.load(Ordering::Relaxed) < 1_000 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        ok.load(Ordering::Relaxed) >= 1_000,
        "warm-up requests failed"
    );
    stop.store(true, Ordering::Relaxed);
    warm.into_iter().for_each(|h| h.join().unwrap());
    let before = ex.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let (flood, ok) = post_load(ex.url(""), CLIENTS, Arc::clone(&stop), 1_900);
    let until = Instant::now() + Duration::from_secs(35);
    // Well past the result store's cap, so an unbounded store would show.
    while ok.load(Ordering::Relaxed) < 15_000 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    flood.into_iter().for_each(|h| h.join().unwrap());
    let served = ok.load(Ordering::Relaxed);
    let after = ex.rss_kib();
    assert!(served >= 8_000, "too few requests to tell ({served})");
    let grown_mib = after.saturating_sub(before) / 1024;
    eprintln!("{served} requests: RSS {before} -> {after} KiB");
    // Unbounded, ~4.6 KB per stored result would be ≥ 35 MiB here.
    assert!(
        grown_mib < 24,
        "RSS grew {grown_mib} MiB over {served} requests ({before} -> {after} KiB)"
    );
    let http = common::http_client();
    let first = http.get(ex.url("/api/research/1")).send().unwrap();
    assert_eq!(first.status(), 404, "the oldest results are forgotten");
}

#[test]
fn the_api_keeps_serving_during_a_scrape_flood() {
    let _one = serial();
    let logs = tempfile::tempdir().unwrap();
    let mut env = quiet_env(logs.path());
    env.push(("API_RATE_LIMIT", "1000000".into()));
    env.push(("API_RATE_WINDOW", "1".into()));
    let ex = Example::start(&["--listen", "127.0.0.1:0", "--rps", "0"], &env);
    let api_rate = |secs: u64| {
        let stop = Arc::new(AtomicBool::new(false));
        let (load, ok) = post_load(ex.url(""), 4, Arc::clone(&stop), 50);
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
        load.into_iter().for_each(|h| h.join().unwrap());
        ok.load(Ordering::Relaxed) as f64 / secs as f64
    };
    let normal = api_rate(3);
    // 300 connections scraping /metrics as fast as they can.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let flooding = Arc::new(AtomicBool::new(true));
    let scrapes = Arc::new(AtomicU64::new(0));
    let url = ex.url("/metrics");
    // One client, cloned: building a rustls client loads the system's roots,
    // too slow to do 300 times on one worker inside the measured window.
    let client = common::async_http_client();
    for _ in 0..300 {
        let (url, flooding, scrapes) = (url.clone(), Arc::clone(&flooding), Arc::clone(&scrapes));
        let http = client.clone();
        rt.spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while flooding.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok(r) = http.get(&url).send().await {
                    let _ = r.bytes().await;
                    scrapes.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    std::thread::sleep(Duration::from_millis(500));
    let during = api_rate(3);
    flooding.store(false, Ordering::Relaxed);
    rt.shutdown_timeout(Duration::from_secs(5));
    let scraped = scrapes.load(Ordering::Relaxed);
    eprintln!("API {normal:.0} req/s normally, {during:.0} during {scraped} scrapes");
    assert!(scraped > 300, "the flood ran");
    assert!(
        during >= 0.3 * normal,
        "API served {during:.0} req/s during the scrape flood vs {normal:.0} normally"
    );
}

#[test]
fn bad_load_rates_stop_the_start_with_a_sentence_not_a_panic() {
    let _one = serial();
    for rps in ["1e-320", "-1", "NaN", "inf", "20000"] {
        let mut child = std::process::Command::new(common::example::example_binary())
            .args(["--listen", "127.0.0.1:0", &format!("--rps={rps}")])
            .env("LOG_DIR", std::env::temp_dir().join("megaobs-bad-rps"))
            .env("TRACING_EXPORTER", "none")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded: a rate that slipped through would serve until killed.
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(1),
            "--rps {rps}: {stderr}"
        );
        assert!(
            stderr.contains("--rps must be 0 (no built-in load) or between 0.01 and 10000")
                && !stderr.contains("panicked"),
            "--rps {rps}: {stderr}"
        );
    }
}
