//! The log level changes at run time: through `LogLevelHandle` under load from
//! several threads (nothing admitted by both levels is lost), and through the
//! opt-in `/log-level` route on a real server with a bearer token.

mod common;

use common::SharedBuf;
use std::time::Duration;

use megaobs::logging::{LogLayer, LoggingConfig};
use tracing_subscriber::prelude::*;

impl SharedBuf {
    fn messages(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["message"].as_str().unwrap().to_string()
            })
            .collect()
    }
    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

const THREADS: usize = 4;
const PER_THREAD: usize = 5_000;

#[test]
fn level_changes_apply_at_once_and_lose_nothing_under_load() {
    let buf = SharedBuf::default();
    let (layer, guard) = LogLayer::builder(
        LoggingConfig::default()
            .console(false)
            .file(false)
            .level("info")
            .queue_capacity(1 << 20),
    )
    .writer(buf.clone())
    .build()
    .unwrap();
    let level = layer.level_handle();
    tracing_subscriber::registry().with(layer).init();

    // Lines appear and disappear after a change.
    tracing::debug!("hidden at info");
    level.set("debug").unwrap();
    tracing::debug!("shown at debug");
    level.set("WARNING").unwrap();
    assert_eq!(level.current(), "WARNING");
    tracing::info!("hidden at warning");
    tracing::warn!("shown at warning");
    level.set("warn,log_level::chatty=trace").unwrap();
    tracing::trace!(target: "log_level::chatty", "shown by directive");
    let err = level.set("loud").unwrap_err().to_string();
    assert!(err.contains("loud") && err.contains("level"), "{err}");
    assert_eq!(
        level.current(),
        "warn,log_level::chatty=trace",
        "a bad value changes nothing"
    );
    assert!(guard.flush(Duration::from_secs(5)));
    assert_eq!(
        buf.messages(),
        ["shown at debug", "shown at warning", "shown by directive"]
    );
    buf.clear();

    // Under load: WARN lines pass every level the toggler sets, so every one
    // must be written; DEBUG lines come and go.
    level.set("info").unwrap();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    tracing::warn!(thread = t, i, "kept");
                    tracing::debug!(thread = t, i, "maybe");
                }
            })
        })
        .collect();
    let toggler = {
        let level = level.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                level
                    .set(if i % 2 == 0 { "debug" } else { "warn" })
                    .unwrap();
                std::thread::yield_now();
            }
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    toggler.join().unwrap();
    assert!(guard.flush(Duration::from_secs(10)));
    assert_eq!(guard.dropped_lines(), 0);
    let messages = buf.messages();
    let kept = messages.iter().filter(|m| *m == "kept").count();
    let maybe = messages.iter().filter(|m| *m == "maybe").count();
    assert_eq!(
        kept,
        THREADS * PER_THREAD,
        "no WARN line lost while levels changed"
    );
    assert!(maybe <= THREADS * PER_THREAD);
}

#[test]
fn log_level_route_reads_and_changes_the_level_behind_a_token() {
    let (layer, _guard) = LogLayer::builder(
        LoggingConfig::default()
            .console(false)
            .file(false)
            .level("info"),
    )
    .build::<tracing_subscriber::Registry>()
    .unwrap();
    let level = layer.level_handle();
    let app = megaobs::http::log_level_router(level.clone(), Some("s3cret")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/log-level", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });
    let server = std::thread::spawn(move || rt.block_on(std::future::pending::<()>()));
    drop(server);

    let client = common::http_client();
    let no_token = client.get(&url).send().unwrap();
    assert_eq!(no_token.status(), 401);
    let wrong = client
        .put(&url)
        .bearer_auth("guess")
        .body("trace")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        level.current(),
        "info",
        "an unauthorised PUT changes nothing"
    );

    let got = client.get(&url).bearer_auth("s3cret").send().unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.text().unwrap(), "info\n");
    let put = client
        .put(&url)
        .bearer_auth("s3cret")
        .body("debug,hyper=warn")
        .send()
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(level.current(), "debug,hyper=warn");
    let bad = client
        .put(&url)
        .bearer_auth("s3cret")
        .body("WARNNG")
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().unwrap().contains("WARNNG"));
    assert_eq!(level.current(), "debug,hyper=warn");
    let huge = client
        .put(&url)
        .bearer_auth("s3cret")
        .body("a=info,".repeat(2000))
        .send()
        .unwrap();
    assert_eq!(huge.status(), 413, "bodies are bounded");
    assert!(megaobs::http::log_level_router(level, Some("two words")).is_err());
}
