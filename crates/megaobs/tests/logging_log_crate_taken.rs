//! An application that installed its own `log` logger gets a clear error from
//! `init_logging`, naming the option that keeps its logger.

use megaobs::config::LoggingConfig;

struct AppLogger;

impl log::Log for AppLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, _: &log::Record<'_>) {}
    fn flush(&self) {}
}

static APP_LOGGER: AppLogger = AppLogger;

#[test]
fn another_log_logger_is_an_error_naming_the_fix() {
    log::set_logger(&APP_LOGGER).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = LoggingConfig::default().console(false).dir(dir.path());
    let err = megaobs::init_logging(config.clone()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("`log` crate logger") && message.contains("capture_log_crate(false)"),
        "{message}"
    );
    // The fix works, and leaves the application's logger in place.
    let _guard = megaobs::init_logging(config.capture_log_crate(false)).unwrap();
    assert!(std::ptr::eq(
        log::logger() as *const dyn log::Log as *const (),
        &APP_LOGGER as *const AppLogger as *const ()
    ));
}
