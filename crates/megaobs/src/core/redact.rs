//! Redaction of secrets: by field name, and by shape inside values.
//!
//! A value is scanned for well-known secret shapes (`password=…` and the like
//! for every secret name, `Bearer …`/`Basic …` credentials, `sk-…` keys, JWTs,
//! AWS access key ids, PEM private keys) and only the secret part is replaced;
//! see [`Redactor::scrub`].
//!
//! A field is secret when its lower-cased name equals one of the configured
//! names, or ends with one after a `_`, `.` or `-` separator (`db_password`,
//! `http.request.header.authorization`, `x-api-key`). Counting names such as
//! `prompt_tokens` are not secrets (`tokens` ≠ `token`).

use super::secret_shapes::ShapeScanner;
pub use super::secret_shapes::DEFAULT_SECRET_PREFIXES;

/// The value written in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// The names redacted by default.
pub const DEFAULT_SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "cookie",
    "set-cookie",
    "private_key",
    "access_key",
    "secret_key",
];

/// The default token prefixes as owned strings, for configuration types.
pub(crate) fn default_prefixes() -> Vec<String> {
    DEFAULT_SECRET_PREFIXES
        .iter()
        .map(|p| p.to_string())
        .collect()
}

/// The default names as owned strings, for configuration types.
pub(crate) fn default_names() -> Vec<String> {
    DEFAULT_SECRET_NAMES.iter().map(|s| s.to_string()).collect()
}

/// Decides which field names are secrets, and masks secrets inside values.
#[derive(Debug, Clone)]
pub struct Redactor {
    names: Vec<String>,
    /// Token prefixes treated as secrets inside values (`sk-` by default).
    prefixes: Vec<String>,
    /// `None` when value scanning is off.
    shapes: Option<std::sync::Arc<ShapeScanner>>,
    /// Bit per possible last byte of a secret name: most field names fail this
    /// one-instruction test and are never string-compared.
    last_bytes: [u64; 4],
    /// Unique per list (clones share it): keys the per-thread answer cache.
    id: u64,
}

impl PartialEq for Redactor {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names
    }
}

impl Eq for Redactor {}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Default for Redactor {
    fn default() -> Self {
        Self::new(DEFAULT_SECRET_NAMES.iter().copied())
    }
}

impl Redactor {
    /// A redactor for `names` (matched case-insensitively, as whole name or suffix).
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        Self::configured(&names, true, &default_prefixes())
    }

    /// A redactor for `names`, scanning values for secret shapes (with these
    /// token `prefixes`) or not: what a pillar's configuration says, built once.
    pub(crate) fn configured(names: &[String], scan_values: bool, prefixes: &[String]) -> Self {
        let names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        Self {
            shapes: scan_values.then(|| std::sync::Arc::new(ShapeScanner::new(&names, prefixes))),
            names,
            prefixes: prefixes.to_vec(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            last_bytes: [0; 4],
        }
        .with_last_bytes()
    }

    /// Turns the scanning of values for secret shapes on (the default) or off;
    /// names are redacted either way.
    pub fn scan_values(mut self, on: bool) -> Self {
        self.shapes =
            on.then(|| std::sync::Arc::new(ShapeScanner::new(&self.names, &self.prefixes)));
        self
    }

    /// Replaces the token prefixes treated as secrets inside values (default
    /// `sk-`): a token starting with one, followed by at least 16 letters, digits,
    /// `-` or `_`, is masked whole (e.g. `ghp_` for GitHub tokens).
    pub fn secret_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prefixes = prefixes.into_iter().map(Into::into).collect();
        let on = self.shapes.is_some();
        self.scan_values(on)
    }

    /// Whether values are scanned for secret shapes.
    pub fn scans_values(&self) -> bool {
        self.shapes.is_some()
    }

    /// The token prefixes treated as secrets inside values.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// `text` with every secret shape in it replaced by `[REDACTED]` (borrowed
    /// unchanged when it holds none, or when value scanning is off).
    ///
    /// ```
    /// use megaobs::logging::Redactor;
    ///
    /// let r = Redactor::default();
    /// assert_eq!(r.scrub("retry with password=hunter2"), "retry with password=[REDACTED]");
    /// assert_eq!(r.scrub("What is RAG?"), "What is RAG?");
    /// ```
    pub fn scrub<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match self.shapes.as_ref().and_then(|s| s.scrub(text)) {
            Some(clean) => std::borrow::Cow::Owned(clean),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// [`scrub`](Self::scrub) in place.
    pub(crate) fn scrub_string(&self, text: &mut String) {
        if let Some(clean) = self.shapes.as_ref().and_then(|s| s.scrub(text)) {
            *text = clean;
        }
    }

    /// The names, lower-cased.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// [`is_secret`](Self::is_secret) for `tracing` field names, which are
    /// `&'static str`: answers are cached per thread by the name's address, so a
    /// callsite's fields are matched against the list once, not on every event.
    #[inline]
    pub(crate) fn is_secret_static(&self, field: &'static str) -> bool {
        use std::cell::Cell;
        const SLOTS: usize = 64;
        thread_local! {
            // (redactor id, name address, answer)
            static CACHE: [Cell<(u64, usize, bool)>; SLOTS] = const { [const { Cell::new((0, 0, false)) }; SLOTS] };
        }
        let me = self.id;
        let key = field.as_ptr() as usize;
        let slot = (key >> 3 ^ key >> 9) % SLOTS;
        let hit = CACHE.try_with(|c| {
            let (r, k, answer) = c[slot].get();
            (r == me && k == key).then_some(answer)
        });
        if let Ok(Some(answer)) = hit {
            return answer;
        }
        let answer = self.is_secret(field);
        let _ = CACHE.try_with(|c| c[slot].set((me, key, answer)));
        answer
    }

    /// [`is_secret`](Self::is_secret) with the answer cached per thread by the
    /// name's bytes (names up to 32 bytes): span attribute keys repeat, and most
    /// pass the last-byte filter only to fail the full comparison. The cache
    /// compares content, never addresses, so a reused buffer cannot fool it.
    #[inline]
    pub(crate) fn is_secret_cached(&self, field: &str) -> bool {
        use std::cell::Cell;
        const SLOTS: usize = 64;
        const MAX: usize = 32;
        type Slot = (u64, u8, [u8; MAX], bool);
        thread_local! {
            static CACHE: [Cell<Slot>; SLOTS] =
                const { [const { Cell::new((0, 0, [0; MAX], false)) }; SLOTS] };
        }
        let bytes = field.as_bytes();
        if !self.may_be_secret(bytes) {
            return false;
        }
        if bytes.len() > MAX {
            return self.is_secret(field);
        }
        let mut key = [0u8; MAX];
        key[..bytes.len()].copy_from_slice(bytes);
        // Cheap mix of length, first and last bytes, and a middle one.
        let h = bytes.len()
            ^ usize::from(bytes[0]) << 1
            ^ usize::from(bytes[bytes.len() - 1]) << 3
            ^ usize::from(bytes[bytes.len() / 2]) << 2;
        let slot = h % SLOTS;
        let me = self.id;
        // `len` fits in u8: bytes.len() <= MAX.
        let len = bytes.len() as u8;
        let hit = CACHE.try_with(|c| {
            let (r, l, k, answer) = c[slot].get();
            (r == me && l == len && k == key).then_some(answer)
        });
        if let Ok(Some(answer)) = hit {
            return answer;
        }
        let answer = self.is_secret(field);
        let _ = CACHE.try_with(|c| c[slot].set((me, len, key, answer)));
        answer
    }

    /// The one-instruction pre-filter of [`is_secret`](Self::is_secret): false
    /// means "certainly not a secret name".
    #[inline]
    fn may_be_secret(&self, bytes: &[u8]) -> bool {
        match bytes.last() {
            Some(&b) => {
                let b = b.to_ascii_lowercase();
                self.last_bytes[usize::from(b >> 6)] & (1 << (b & 63)) != 0
            }
            None => false,
        }
    }

    fn with_last_bytes(mut self) -> Self {
        for n in &self.names {
            if let Some(&b) = n.as_bytes().last() {
                self.last_bytes[usize::from(b >> 6)] |= 1 << (b & 63);
            }
        }
        self
    }

    /// Whether a field called `field` must be redacted.
    pub fn is_secret(&self, field: &str) -> bool {
        if !self.may_be_secret(field.as_bytes()) {
            return false;
        }
        // Fast path: most names are short, lower-case identifiers.
        let owned;
        let lower = if field.bytes().any(|b| b.is_ascii_uppercase()) {
            owned = field.to_ascii_lowercase();
            owned.as_str()
        } else {
            field
        };
        self.names.iter().any(|n| {
            lower == n
                || (lower.len() > n.len()
                    && lower.ends_with(n.as_str())
                    && matches!(
                        lower.as_bytes()[lower.len() - n.len() - 1],
                        b'_' | b'.' | b'-'
                    ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_answers_match_uncached_ones() {
        let r = Redactor::default();
        let other = Redactor::new(["user_id"]);
        let long = "a_very_long_attribute_name_that_exceeds_the_cache_password";
        for _ in 0..3 {
            for name in [
                "password",
                "PASSWORD",
                "db_password",
                "user_id",
                "passwords",
                "api_key",
                "token",
                "x",
                "",
                "result_count",
                long,
                "cache_hit",
            ] {
                assert_eq!(r.is_secret_cached(name), r.is_secret(name), "{name}");
                // Another list on the same thread gets its own answers.
                assert_eq!(
                    other.is_secret_cached(name),
                    other.is_secret(name),
                    "{name}"
                );
            }
        }
        // A reused buffer with new content is looked up by content.
        let mut buf = String::from("user_id");
        assert!(!r.is_secret_cached(&buf));
        buf.clear();
        buf.push_str("api_key");
        assert!(r.is_secret_cached(&buf));
    }

    #[test]
    fn names_and_suffixes() {
        let r = Redactor::default();
        for secret in [
            "password",
            "PASSWORD",
            "db_password",
            "api_key",
            "X-Api-Key",
            "apikey",
            "auth_token",
            "token",
            "http.request.header.authorization",
            "Cookie",
            "client_secret",
            "passwd",
        ] {
            assert!(r.is_secret(secret), "{secret}");
        }
        for plain in [
            "prompt_tokens",
            "completion_tokens",
            "user_id",
            "query",
            "tokens",
            "keyboard",
            "secretary",
        ] {
            assert!(!r.is_secret(plain), "{plain}");
        }
    }

    #[test]
    fn configurable() {
        let r = Redactor::new(["ssn"]);
        assert!(r.is_secret("user_ssn"));
        assert!(!r.is_secret("password"));
    }
}
