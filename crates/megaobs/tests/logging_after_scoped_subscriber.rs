//! A subscriber set for a scope only (`with_default`, as tests and tools do)
//! does not stop `init_logging` from installing the global one.

use std::time::Duration;

use megaobs::config::LoggingConfig;

#[test]
fn a_scoped_subscriber_before_does_not_block_init_logging() {
    let scoped = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::dispatcher::with_default(&scoped, || tracing::info!("in a scope"));

    let dir = tempfile::tempdir().unwrap();
    let guard = megaobs::init_logging(LoggingConfig::default().console(false).dir(dir.path()))
        .expect("a scoped subscriber is not a global one");
    tracing::info!("after the scope");
    assert!(guard.flush(Duration::from_secs(5)));
    let written: String = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(written.contains("after the scope"), "{written}");
}
