//! Secrets inside free text: a log message, a field value or a span attribute
//! that holds `password=hunter2`, `Authorization: Bearer …`, an `sk-…` API key,
//! a JWT, an AWS access key id or a PEM private key has the secret part
//! replaced by `[REDACTED]`.
//!
//! Written by hand rather than with `regex`: this runs on the application
//! thread for every log line, and text without a secret (nearly all of it) must
//! cost little. Each shape has a short anchor (`=`/`:`, a space, `sk-`, `eyJ`,
//! `AKIA`, `-----BEGIN`) found with `memchr`; only around an anchor is the
//! shape checked, and each detector resumes after the text it has consumed, so
//! no input makes the scan worse than linear.

use memchr::memmem;
use std::sync::LazyLock;

use super::redact::REDACTED;

/// Token prefixes recognised by default (OpenAI- and Anthropic-style keys).
pub const DEFAULT_SECRET_PREFIXES: &[&str] = &["sk-"];

/// Fewest characters after a prefix for a token to count as a key (shorter
/// ones, such as `sk-1`, are ordinary words).
const MIN_PREFIXED_TOKEN: usize = 16;
/// Fewest characters of a bearer/basic credential.
const MIN_CREDENTIAL: usize = 8;
/// Longest key looked at before an `=` or `:` (secret names are short).
const MAX_KEY: usize = 64;

static BEGIN: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("-----BEGIN "));
static JWT: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("eyJ"));
static AKIA: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("AKIA"));
static ASIA: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("ASIA"));

/// Bits of [`ShapeScanner::triggers`]: which detectors a byte can start.
const ASSIGNMENT: u8 = 1;
const CREDENTIAL: u8 = 2;
const PREFIXED: u8 = 4;
const JWT_TOKEN: u8 = 8;
const AWS_KEY: u8 = 16;
const PEM: u8 = 32;

/// Finds secret shapes in text and masks them.
#[derive(Debug, Clone)]
pub(crate) struct ShapeScanner {
    /// Assignment keys (`password=`, `token: `), lower-case: the secret names.
    keys: Vec<Vec<u8>>,
    prefixes: Vec<memmem::Finder<'static>>,
    /// Per byte value, the detectors whose shape contains it: one pass over
    /// the text says which detectors can match at all, and ordinary text
    /// usually runs none (`=`/`:`; `B`/`b`; each prefix's last byte; `J`;
    /// `K`/`S`; `-`).
    triggers: [u8; 256],
}

/// A byte range to replace by `[REDACTED]`.
type Span = (usize, usize);

impl ShapeScanner {
    /// A scanner treating `key=value` for each of `keys` (matched as a whole
    /// word or a `_`/`.`/`-` suffix, any case) and tokens starting with one of
    /// `prefixes` as secrets, besides the fixed shapes.
    pub(crate) fn new(keys: &[String], prefixes: &[String]) -> Self {
        let mut triggers = [0u8; 256];
        triggers[usize::from(b'=')] |= ASSIGNMENT;
        triggers[usize::from(b':')] |= ASSIGNMENT;
        triggers[usize::from(b'B')] |= CREDENTIAL;
        triggers[usize::from(b'b')] |= CREDENTIAL;
        for p in prefixes {
            if let Some(&last) = p.as_bytes().last() {
                triggers[usize::from(last)] |= PREFIXED;
            }
        }
        triggers[usize::from(b'J')] |= JWT_TOKEN;
        triggers[usize::from(b'K')] |= AWS_KEY;
        triggers[usize::from(b'S')] |= AWS_KEY;
        triggers[usize::from(b'-')] |= PEM;
        Self {
            triggers,
            keys: keys
                .iter()
                .map(|k| k.to_ascii_lowercase().into_bytes())
                .filter(|k| !k.is_empty())
                .collect(),
            prefixes: prefixes
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| memmem::Finder::new(p.as_bytes()).into_owned())
                .collect(),
        }
    }

    /// `text` with every secret masked, or `None` when it holds none (the usual
    /// case, which allocates nothing).
    pub(crate) fn scrub(&self, text: &str) -> Option<String> {
        let b = text.as_bytes();
        let present = b
            .iter()
            .fold(0u8, |seen, &c| seen | self.triggers[usize::from(c)]);
        if present == 0 {
            return None;
        }
        let mut spans: Vec<Span> = Vec::new();
        if present & ASSIGNMENT != 0 {
            self.assignments(b, &mut spans);
        }
        if present & CREDENTIAL != 0 {
            credentials(b, &mut spans);
        }
        if present & PREFIXED != 0 {
            for p in &self.prefixes {
                prefixed_tokens(b, p, &mut spans);
            }
        }
        if present & JWT_TOKEN != 0 {
            jwts(b, &mut spans);
        }
        if present & AWS_KEY != 0 {
            aws_key_ids(b, &mut spans);
        }
        if present & PEM != 0 {
            pem_blocks(b, &mut spans);
        }
        if spans.is_empty() {
            return None;
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            if end <= at {
                continue;
            }
            // Overlapping spans are one secret: extend it, no second marker.
            if start >= at || at == 0 {
                // Spans end on ASCII bytes or the text's end, so both are char
                // boundaries; `get` keeps that a check rather than a panic.
                out.push_str(text.get(at..start).unwrap_or(""));
                out.push_str(REDACTED);
            }
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        Some(out)
    }

    /// `key=value`, `key: value`, `"key": "value"`: the value is masked.
    fn assignments(&self, b: &[u8], spans: &mut Vec<Span>) {
        if self.keys.is_empty() {
            return;
        }
        // Every byte is looked at a bounded number of times: separators inside a
        // value already masked are skipped, and keys are at most MAX_KEY long.
        let mut done = 0;
        for sep in memchr::memchr2_iter(b'=', b':', b) {
            if sep < done {
                continue;
            }
            // The key: letters, digits, `_`, `.`, `-` just before the separator
            // (after an optional closing quote and spaces).
            let floor = sep.saturating_sub(MAX_KEY);
            let mut end = sep;
            while end > floor && b[end - 1] == b' ' {
                end -= 1;
            }
            if end > 0 && (b[end - 1] == b'"' || b[end - 1] == b'\'') {
                end -= 1;
            }
            let mut start = end;
            while start > floor && is_key_byte(b[start - 1]) {
                start -= 1;
            }
            if start == end || !self.is_secret_key(&b[start..end]) {
                continue;
            }
            // `http://` and `a::b` are not assignments.
            if b.get(sep + 1) == Some(&b'/') || b.get(sep + 1) == Some(&b':') {
                continue;
            }
            let key = &b[start..end];
            let mut v = sep + 1;
            while v < b.len() && b[v] == b' ' {
                v += 1;
            }
            // `Authorization: Bearer x` / `Token x`: the scheme stays, the
            // credential goes.
            if ends_with_ignore_case(key, b"authorization") {
                v += scheme_word_len(&b[v..]);
            }
            let quote = match b.get(v) {
                Some(q @ (b'"' | b'\'')) => Some(*q),
                _ => None,
            };
            let value_start = v + usize::from(quote.is_some());
            let mut value_end = value_start;
            // A cookie header's value runs to the end of the line (every cookie
            // in it may be a session).
            let whole_line = ends_with_ignore_case(key, b"cookie");
            match quote {
                Some(q) => {
                    while value_end < b.len() && b[value_end] != q {
                        value_end += 1;
                    }
                }
                None if whole_line => {
                    while value_end < b.len() && !matches!(b[value_end], b'\n' | b'\r' | b'"') {
                        value_end += 1;
                    }
                }
                None => {
                    while value_end < b.len() && !is_value_end(b[value_end]) {
                        value_end += 1;
                    }
                }
            }
            if value_end > value_start {
                spans.push((value_start, value_end));
            }
            done = value_end;
        }
    }

    /// Whether `key` (as written) is a secret name, whole or as a suffix.
    fn is_secret_key(&self, key: &[u8]) -> bool {
        self.keys.iter().any(|k| {
            key.len() >= k.len() && {
                let tail = &key[key.len() - k.len()..];
                tail.eq_ignore_ascii_case(k)
                    && (key.len() == k.len()
                        || matches!(key[key.len() - k.len() - 1], b'_' | b'.' | b'-'))
            }
        })
    }
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// Where an unquoted value ends.
fn is_value_end(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'&' | b',' | b';' | b'"' | b'\'' | b')' | b']' | b'}')
}

fn is_token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

fn is_base64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=')
}

fn ends_with_ignore_case(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The length of a leading scheme word and its space (`Bearer `, `Basic `,
/// `Token `: letters only, at most 16) in an authorization value, else 0.
fn scheme_word_len(value: &[u8]) -> usize {
    let word = value
        .iter()
        .take(17)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if (1..=16).contains(&word) && value.get(word) == Some(&b' ') {
        word + 1
    } else {
        0
    }
}

/// Whether `t` looks like a credential rather than a word: it has a digit, a
/// `+`, `/`, `=`, `-`, `_` or `.`, or both letter cases.
fn looks_like_credential(t: &[u8]) -> bool {
    t.iter()
        .any(|c| c.is_ascii_digit() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_' | b'.'))
        || (t.iter().any(u8::is_ascii_uppercase) && t.iter().any(u8::is_ascii_lowercase))
}

/// `Bearer <credential>` / `Basic <credential>` anywhere in the text.
fn credentials(b: &[u8], spans: &mut Vec<Span>) {
    // Anchored on the space after the scheme word.
    for space in memchr::memchr_iter(b' ', b) {
        let word_end = space;
        let scheme = [&b"bearer"[..], b"basic"].into_iter().find(|s| {
            word_end >= s.len()
                && b[word_end - s.len()..word_end].eq_ignore_ascii_case(s)
                && (word_end == s.len() || !b[word_end - s.len() - 1].is_ascii_alphanumeric())
        });
        if scheme.is_none() {
            continue;
        }
        let start = space + 1;
        let mut end = start;
        while end < b.len() && is_token_byte(b[end]) {
            end += 1;
        }
        // "a basic question" is no credential.
        if end - start >= MIN_CREDENTIAL && looks_like_credential(&b[start..end]) {
            spans.push((start, end));
        }
    }
}

/// Tokens starting with a configured prefix (`sk-…`), at a word start.
fn prefixed_tokens(b: &[u8], prefix: &memmem::Finder<'_>, spans: &mut Vec<Span>) {
    let plen = prefix.needle().len();
    let mut done = 0;
    for at in prefix.find_iter(b) {
        // Matches inside a run already scanned would scan it again.
        if at < done || (at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_')) {
            continue;
        }
        let mut end = at + plen;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || matches!(b[end], b'-' | b'_')) {
            end += 1;
        }
        if end - (at + plen) >= MIN_PREFIXED_TOKEN {
            spans.push((at, end));
        }
        done = end;
    }
}

/// JSON Web Tokens: three base64url parts, the first starting `eyJ` (`{"`).
fn jwts(b: &[u8], spans: &mut Vec<Span>) {
    let mut done = 0;
    for at in JWT.find_iter(b) {
        // After `=` (`?jwt=eyJ…`) a token may start; inside a base64 run it does not.
        if at < done
            || (at > 0 && (b[at - 1].is_ascii_alphanumeric() || matches!(b[at - 1], b'-' | b'_')))
        {
            continue;
        }
        let mut end = at;
        let mut dots = 0;
        let mut part = 0;
        let mut ok = true;
        while end < b.len() && (is_base64url(b[end]) || b[end] == b'.') {
            if b[end] == b'.' {
                if part < 4 {
                    ok = false;
                }
                dots += 1;
                part = 0;
            } else {
                part += 1;
            }
            end += 1;
        }
        done = end;
        // A sentence's full stop after the token is not a fourth part.
        if dots == 3 && part == 0 {
            dots = 2;
            end -= 1;
            part = 4;
        }
        if ok && dots == 2 && part >= 4 {
            spans.push((at, end));
        }
    }
}

/// AWS access key ids: `AKIA`/`ASIA` and 16 more upper-case letters or digits.
fn aws_key_ids(b: &[u8], spans: &mut Vec<Span>) {
    for finder in [&*AKIA, &*ASIA] {
        for at in finder.find_iter(b) {
            let end = at + 20;
            if end > b.len() || (at > 0 && b[at - 1].is_ascii_alphanumeric()) {
                continue;
            }
            if b[at + 4..end]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                spans.push((at, end));
            }
        }
    }
}

/// `-----BEGIN … PRIVATE KEY-----` through its `-----END … -----` line (or to
/// the end of the text when the block is cut).
fn pem_blocks(b: &[u8], spans: &mut Vec<Span>) {
    let mut done = 0;
    for at in BEGIN.find_iter(b) {
        if at < done {
            continue;
        }
        let header_end = match memmem::find(&b[at + 11..], b"-----") {
            Some(i) => at + 11 + i + 5,
            None => continue,
        };
        if !b[at..header_end].ends_with(b"PRIVATE KEY-----") {
            continue;
        }
        let end = match memmem::find(&b[header_end..], b"-----END ") {
            Some(i) => {
                let from = header_end + i + 9;
                memmem::find(&b[from..], b"-----").map_or(b.len(), |j| from + j + 5)
            }
            None => b.len(),
        };
        spans.push((at, end));
        done = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> ShapeScanner {
        let keys: Vec<String> = super::super::redact::default_names();
        let prefixes: Vec<String> = DEFAULT_SECRET_PREFIXES
            .iter()
            .map(|s| s.to_string())
            .collect();
        ShapeScanner::new(&keys, &prefixes)
    }

    fn scrub(s: &str) -> String {
        scanner().scrub(s).unwrap_or_else(|| s.to_string())
    }

    #[test]
    fn every_shape_is_masked() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases = [
            ("login password=hunter2 ok", "login password=[REDACTED] ok"),
            ("db_password: s3cr3t", "db_password: [REDACTED]"),
            ("{\"token\": \"abc def\"}", "{\"token\": \"[REDACTED]\"}"),
            ("url?api_key=XYZ123&x=1", "url?api_key=[REDACTED]&x=1"),
            (
                "Authorization: Bearer abcdefghijkl",
                "Authorization: Bearer [REDACTED]",
            ),
            (
                "sent Basic dXNlcjpwYXNzd29yZA== to it",
                "sent Basic [REDACTED] to it",
            ),
            (
                "key sk-proj-abcdefghijklmnopqrstuv used",
                "key [REDACTED] used",
            ),
            (
                "anthropic sk-ant-api03-AbCdEfGhIjKlMnOp",
                "anthropic [REDACTED]",
            ),
            ("aws AKIAIOSFODNN7EXAMPLE here", "aws [REDACTED] here"),
            ("aws ASIAY34FZKBOKMUTVV7A", "aws [REDACTED]"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub(input), want, "{input}");
        }
        assert_eq!(scrub(&format!("jwt {jwt} end")), "jwt [REDACTED] end");
        let pem = "k=1 -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY----- after";
        assert_eq!(scrub(pem), "k=1 [REDACTED] after");
        let cut = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN";
        assert_eq!(scrub(cut), "[REDACTED]");
        assert_eq!(
            scrub(&format!("url?jwt={jwt}&x=1")),
            "url?jwt=[REDACTED]&x=1"
        );
        assert_eq!(scrub(&format!("token was {jwt}.")), "token was [REDACTED].");
        assert_eq!(
            scrub("Authorization: Token abcdef123456 sent"),
            "Authorization: Token [REDACTED] sent"
        );
        assert_eq!(scrub("Cookie: a=1; session=xyz42"), "Cookie: [REDACTED]");
        assert_eq!(scrub("SECRET_KEY=abc123"), "SECRET_KEY=[REDACTED]");
        // Overlapping shapes are one secret, one marker.
        assert_eq!(
            scrub("password=sk-proj-abcdefghijklmnopqrstuv end"),
            "password=[REDACTED] end"
        );
    }

    #[test]
    fn hostile_input_is_scanned_in_linear_time() {
        let mb = 1 << 20;
        for unit in [
            "password=",
            "sk-",
            "eyJ.",
            "-----BEGIN PRIVATE KEY-----",
            "Bearer ",
            "a:",
        ] {
            let text = unit.repeat(mb / unit.len());
            let t = std::time::Instant::now();
            let _ = scanner().scrub(&text);
            // Quadratic would be ~10^11 steps; linear is milliseconds even unoptimised.
            assert!(
                t.elapsed() < std::time::Duration::from_secs(2),
                "{unit}: {:?}",
                t.elapsed()
            );
        }
    }

    #[test]
    fn near_misses_are_left_alone() {
        for text in [
            "What is RAG? A password manager review",
            "tokens: 150 prompt_tokens=150",
            "see http://example.com:8080/a::b",
            "task-sk-1 and sk-short and risk-assessment-document-xyz",
            "hash deadbeefcafe1234 and uuid 550e8400-e29b-41d4-a716-446655440000",
            "AKIA is a prefix, AKIAshort, XAKIAIOSFODNN7EXAMPLE",
            "a bearer of news arrived; basic idea",
            "a basic question and Basic authentication failed",
            "eyJ alone, eyJhbGci.only",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "secretary: Jane",
        ] {
            assert_eq!(scanner().scrub(text), None, "{text}");
        }
    }

    #[test]
    fn custom_names_and_prefixes_count() {
        let s = ShapeScanner::new(&["ssn".to_string()], &["ghp_".to_string()]);
        assert_eq!(
            s.scrub("user_ssn=078-05-1120").as_deref(),
            Some("user_ssn=[REDACTED]")
        );
        assert_eq!(
            s.scrub("ghp_abcdefghijklmnopqrstu1234").as_deref(),
            Some("[REDACTED]")
        );
        assert_eq!(s.scrub("password=x"), None, "only the configured names");
    }

    #[test]
    fn non_ascii_text_stays_valid() {
        assert_eq!(
            scrub("mot de passe: é password=hé€llo ü"),
            "mot de passe: é password=[REDACTED] ü"
        );
    }
}
