//! A process whose global `tracing` subscriber was installed outside megaobs:
//! `init_logging` says so, and a failed call installs nothing (not even the
//! `log` crate's logger).

use megaobs::config::LoggingConfig;

struct AppLogger;

impl log::Log for AppLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, _: &log::Record<'_>) {}
    fn flush(&self) {}
}

#[test]
fn foreign_global_subscriber_is_an_error_and_nothing_is_left_installed() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = megaobs::init_logging(LoggingConfig::default().console(false).dir(dir.path()))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("global tracing subscriber") && err.contains("LogLayer"),
        "{err}"
    );
    assert!(
        log::set_logger(&AppLogger).is_ok(),
        "the failed init_logging left the `log` logger free"
    );
}
