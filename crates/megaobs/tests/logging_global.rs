//! `init_logging` installs the process-wide subscriber once.

use std::time::Duration;

use megaobs::config::LoggingConfig;

#[test]
fn init_logging_once_writes_files_and_refuses_a_second_call() {
    let dir = tempfile::tempdir().unwrap();
    let config = LoggingConfig::default()
        .console(false)
        .dir(dir.path())
        .service_name("global");
    let guard = megaobs::init_logging(config.clone()).expect("first init");
    let again = megaobs::init_logging(config)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        again.contains("init_logging") && again.contains("already installed"),
        "{again}"
    );

    tracing::info!(answer = 42, "from the global subscriber");
    tracing::debug!("below the default level");
    tracing::error!("an error");
    assert!(guard.flush(Duration::from_secs(5)));
    drop(guard);
    let all = std::fs::read_to_string(dir.path().join("global.log")).unwrap();
    assert_eq!(all.lines().count(), 2, "{all}");
    assert!(all.contains("\"answer\":42"));
    let errors = std::fs::read_to_string(dir.path().join("global.error.log")).unwrap();
    assert_eq!(errors.lines().count(), 1);
}
