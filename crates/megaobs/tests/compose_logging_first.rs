//! A user-built subscriber (`EnvFilter` + `fmt` + megaobs' layers), logging
//! layer built first. Its own process: one tracing pipeline per process.

mod common;

#[test]
fn user_subscriber_with_logging_layer_built_first() {
    common::compose::user_subscriber_exports_and_logs(common::compose::Order::LoggingFirst);
}
