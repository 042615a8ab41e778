//! The blocking HTTP client every HTTP exporter (OTLP/HTTP, Zipkin) sends with.

use std::time::Duration;

use super::ExportOptions;
use crate::error::{Error, Result};

/// A blocking HTTP client for exports: the deadline, and with the `tls`
/// feature the configured trust and client certificate (rustls with ring).
pub(crate) fn http_client(
    timeout: Duration,
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))] options: &ExportOptions,
    field: &'static str,
) -> Result<reqwest::blocking::Client> {
    let builder = reqwest::blocking::Client::builder().timeout(timeout);
    // With rustls built in, reqwest needs a TLS configuration even for
    // http:// endpoints: it gets ours.
    #[cfg(feature = "tls")]
    let builder = {
        let config = options
            .load_tls("ExportOptions::tls")?
            .rustls_config()
            .map_err(|reason| Error::InvalidConfig {
                field,
                value: String::new(),
                reason,
            })?;
        builder.tls_backend_preconfigured(config)
    };
    builder.build().map_err(|e| Error::InvalidConfig {
        field,
        value: String::new(),
        reason: format!("cannot build the export HTTP client: {e}"),
    })
}
