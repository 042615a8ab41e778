//! What a client span and its metrics say about the URL called: the host and
//! port, and `url.full` with its secrets taken out.

use std::fmt::Write as _;

/// Longest `url.full` kept: spans wait in a queue bounded in spans, not bytes.
const MAX_URL_LEN: usize = 2048;
/// What replaces credentials and query values in `url.full`.
const REDACTED: &str = "REDACTED";

/// The parts of a request URL a client span needs, borrowed from the caller's
/// URL type (`http::Uri`, `reqwest::Url`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub scheme: &'a str,
    /// The host as written in the URL (IPv6 in brackets).
    pub host: &'a str,
    /// The port, explicit or the scheme's default.
    pub port: Option<u16>,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Whether the URL carries `user[:password]@`.
    pub has_credentials: bool,
}

impl<'a> Target<'a> {
    /// From an `http::Uri` (hyper, tonic and most HTTP clients). A path-only
    /// URI (as a tonic channel's requests are) has no host, no scheme and no port.
    pub(crate) fn from_uri(uri: &'a http::Uri) -> Self {
        let host = uri.host().unwrap_or("");
        let scheme = match uri.scheme_str() {
            Some(s) => s,
            None if host.is_empty() => "",
            None => "http",
        };
        Self {
            scheme,
            host,
            port: uri.port_u16().or_else(|| default_port(scheme)),
            path: uri.path(),
            query: uri.query(),
            has_credentials: uri.authority().is_some_and(|a| a.as_str().contains('@')),
        }
    }

    /// Whether the URL names a host (else there is no `server.*` and no `url.full`).
    pub(crate) fn has_host(&self) -> bool {
        !self.host.is_empty()
    }

    /// `server.address`: the host, without the brackets of an IPv6 literal.
    pub(crate) fn server_address(&self) -> &'a str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host)
    }

    /// `url.full` with credentials replaced (`REDACTED:REDACTED@`) and every
    /// query value replaced (`?api_key=REDACTED`), a part without `=` whole
    /// (`?sk-live-abc` is a value too): a query carries signatures, keys and
    /// personal data too often to keep any value. The fragment is never sent,
    /// so never shown.
    pub(crate) fn redacted_full(&self) -> String {
        let mut s =
            String::with_capacity(self.scheme.len() + self.host.len() + self.path.len() + 32);
        s.push_str(self.scheme);
        s.push_str("://");
        if self.has_credentials {
            s.push_str(REDACTED);
            s.push(':');
            s.push_str(REDACTED);
            s.push('@');
        }
        s.push_str(self.host);
        if let Some(port) = self.port.filter(|p| Some(*p) != default_port(self.scheme)) {
            let _ = write!(s, ":{port}");
        }
        s.push_str(if self.path.is_empty() { "/" } else { self.path });
        if let Some(query) = self.query {
            s.push('?');
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    s.push('&');
                }
                match pair.split_once('=') {
                    Some((key, value)) => {
                        s.push_str(key);
                        s.push('=');
                        if !value.is_empty() {
                            s.push_str(REDACTED);
                        }
                    }
                    None if pair.is_empty() => {}
                    None => s.push_str(REDACTED),
                }
            }
        }
        if s.len() > MAX_URL_LEN {
            let keep = crate::core::text::prefix(&s, MAX_URL_LEN).len();
            s.truncate(keep);
        }
        s
    }
}

/// The port a scheme implies when the URL names none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(url: &str) -> String {
        let uri: http::Uri = url.parse().expect("a valid test URL");
        Target::from_uri(&uri).redacted_full()
    }

    #[test]
    fn credentials_and_query_values_never_appear() {
        let s =
            full("https://alice:s3cret@api.example.com:8443/v1/x?api_key=sk-123&mode=fast&flag");
        assert_eq!(
            s,
            "https://REDACTED:REDACTED@api.example.com:8443/v1/x?api_key=REDACTED&mode=REDACTED&REDACTED"
        );
        // A bare part may be the secret itself, percent-encoded or not.
        assert_eq!(
            full("http://h/x?sk-live-abc&a%3Dsecret&empty=&&"),
            "http://h/x?REDACTED&REDACTED&empty=&&"
        );
    }

    #[test]
    fn a_path_only_uri_names_no_host_and_no_port() {
        let uri: http::Uri = "/grpc.health.v1.Health/Check".parse().expect("valid");
        let t = Target::from_uri(&uri);
        assert!(!t.has_host());
        assert_eq!(t.port, None);
        let uri: http::Uri = "h:8080".parse().expect("an authority-form URI");
        let t = Target::from_uri(&uri);
        assert!(t.has_host());
        assert_eq!((t.scheme, t.port), ("http", Some(8080)));
    }

    #[test]
    fn default_ports_are_implied_and_ipv6_hosts_lose_their_brackets() {
        let uri: http::Uri = "http://[::1]/health".parse().expect("valid");
        let t = Target::from_uri(&uri);
        assert_eq!(t.port, Some(80));
        assert_eq!(t.server_address(), "::1");
        assert_eq!(t.redacted_full(), "http://[::1]/health");
    }

    #[test]
    fn long_urls_are_cut() {
        let long = format!("http://h/{}", "a".repeat(10_000));
        assert_eq!(full(&long).len(), MAX_URL_LEN);
    }
}
