//! Redaction of secrets by field name.
//!
//! A field is secret when its lower-cased name equals one of the configured
//! names, or ends with one after a `_`, `.` or `-` separator (`db_password`,
//! `http.request.header.authorization`, `x-api-key`). Counting names such as
//! `prompt_tokens` are not secrets (`tokens` ≠ `token`).

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
];

/// Decides which field names are secrets.
#[derive(Debug, Clone)]
pub struct Redactor {
    names: Vec<String>,
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
        Self {
            names: names
                .into_iter()
                .map(|n| n.as_ref().to_ascii_lowercase())
                .collect(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            last_bytes: [0; 4],
        }
        .with_last_bytes()
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
        match field.as_bytes().last() {
            Some(&b) => {
                let b = b.to_ascii_lowercase();
                if self.last_bytes[usize::from(b >> 6)] & (1 << (b & 63)) == 0 {
                    return false;
                }
            }
            None => return false,
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
