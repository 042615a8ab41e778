//! [`ExportHeaders`]: the headers sent with every export (API keys, tenant
//! ids), parsed from `OTEL_EXPORTER_OTLP_HEADERS` as the OpenTelemetry
//! specification says. Their values are secrets: no `Debug`, error or log line
//! prints them.

use std::fmt;

/// Headers sent with every export request (HTTP headers, or gRPC metadata).
///
/// `Debug` prints the names only: values such as `authorization=Bearer …` are
/// credentials.
///
/// ```
/// use megaobs::export::ExportHeaders;
///
/// let headers = ExportHeaders::parse("authorization=Bearer%20abc,x-tenant=acme").unwrap();
/// assert_eq!(headers.get("authorization"), Some("Bearer abc"));
/// assert_eq!(format!("{headers:?}"), r#"ExportHeaders { names: ["authorization", "x-tenant"] }"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExportHeaders(Vec<(String, String)>);

impl fmt::Debug for ExportHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportHeaders")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a header list was refused; never holds a header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderProblem(pub(crate) String);

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ExportHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a header; the name is lower-cased, as HTTP/2 sends it.
    pub fn insert(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into().trim().to_ascii_lowercase();
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
        self
    }

    /// Parses the specification's form: comma-separated `key=value` pairs,
    /// whitespace around each trimmed, values percent-decoded. A later key
    /// replaces an earlier one. The error names the entry by position and key,
    /// never by value.
    pub fn parse(list: &str) -> Result<Self, HeaderProblem> {
        let mut headers = Self::new();
        for (i, entry) in list.split(',').enumerate() {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let n = i + 1;
            let Some((key, value)) = entry.split_once('=') else {
                return Err(HeaderProblem(format!(
                    "entry {n} has no '=' (expected key=value)"
                )));
            };
            let key = key.trim();
            if key.is_empty() || !key.bytes().all(is_token_byte) {
                return Err(HeaderProblem(format!(
                    "entry {n} has an invalid header name {key:?} (letters, digits and !#$%&'*+-.^_`|~ only)"
                )));
            }
            let value = percent_decode(value.trim()).ok_or_else(|| {
                HeaderProblem(format!(
                    "the value of {key:?} is not valid percent-encoded UTF-8 text"
                ))
            })?;
            if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(HeaderProblem(format!(
                    "the value of {key:?} holds a control character (encode it as %XX? header values cannot carry it)"
                )));
            }
            headers = headers.insert(key, value);
        }
        Ok(headers)
    }

    /// The value of `name` (case-insensitive), if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The header names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Names and values (crate-internal: the values are secrets).
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The values, for scrubbing them out of error texts.
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, v)| v.as_str())
    }
}

/// RFC 9110 token characters (a header name).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `%XX` decoding; `None` on a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_specification_form() {
        let h = ExportHeaders::parse(" api-key = k%3D1 , X-Tenant=acme,,api-key=k2").unwrap();
        assert_eq!(h.get("api-key"), Some("k2"));
        assert_eq!(h.get("x-tenant"), Some("acme"));
        assert_eq!(h.names().collect::<Vec<_>>(), ["api-key", "x-tenant"]);
        assert_eq!(
            ExportHeaders::parse("a=%E2%9C%93").unwrap().get("a"),
            Some("✓")
        );
        assert!(ExportHeaders::parse("").unwrap().is_empty());
    }

    #[test]
    fn problems_never_quote_a_value() {
        for (list, needle) in [
            ("authorization", "entry 1 has no '='"),
            ("a=1,bad key=secret-1", "invalid header name"),
            ("authorization=secret-1%zz", "percent-encoded"),
            ("authorization=secret-1%0A", "control character"),
        ] {
            let e = ExportHeaders::parse(list).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains("secret-1"), "{e}");
        }
    }
}
