//! One log line from one `tracing` event: JSON (the original design's fields) or text.
//!
//! JSON line: `timestamp`, `level`, `logger` (the event's target), `message`,
//! `module`, `function` (the enclosing span's name, or null), `line`, `trace_id`
//! and `span_id` (when a span with an OpenTelemetry context is current),
//! `service`, then the event's own fields flat at top level with their JSON types
//! kept. A field whose name collides with one of those keys is written as
//! `fields.<name>`. Secret-named fields are written as `"[REDACTED]"`, and secret shapes inside
//! the message and string values (`password=…`, bearer tokens, `sk-…` keys,
//! JWTs, AWS key ids, PEM private keys) have the secret part replaced.
//!
//! The formatter writes straight into a byte buffer (no intermediate map, no
//! serde): this runs on the application thread for every line.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};

use super::redact::{Redactor, REDACTED};
use super::timestamp::write_rfc3339_millis;

fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "timestamp"
            | "level"
            | "logger"
            | "message"
            | "module"
            | "function"
            | "line"
            | "trace_id"
            | "span_id"
            | "service"
    )
}

/// The span context a line is written in.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SpanInfo<'a> {
    /// Name of the innermost span.
    pub name: Option<&'a str>,
    /// W3C trace id and span id of the current OpenTelemetry span.
    pub ids: Option<(u128, u64)>,
}

/// How lines are written.
#[derive(Debug, Clone)]
pub(crate) struct LineFormat {
    pub json: bool,
    /// Text lines also get a JSON twin (OTLP export reads its records from
    /// JSON), made in the same pass over the event's fields.
    pub json_twin: bool,
    pub service: String,
    pub redactor: Redactor,
}

/// Per-thread scratch buffers, reused for every line.
struct Scratch {
    /// The message.
    msg: String,
    /// The fields, in the line's own format.
    fields: Vec<u8>,
    /// The fields as JSON, for a text line's JSON twin.
    twin_fields: Vec<u8>,
    /// One field's Debug/Display text.
    tmp: String,
    /// The timestamp.
    timestamp: Vec<u8>,
}

impl Scratch {
    const fn new() -> Self {
        Self {
            msg: String::new(),
            fields: Vec::new(),
            twin_fields: Vec::new(),
            tmp: String::new(),
            timestamp: Vec::new(),
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// What one line is made of once its fields are visited.
struct Parts<'a> {
    meta: &'a Metadata<'a>,
    timestamp: &'a [u8],
    msg: &'a str,
    module: Option<&'a str>,
    span: SpanInfo<'a>,
}

impl LineFormat {
    /// A buffer size that holds most lines (and their twins) without growing.
    pub fn line_capacity(&self) -> usize {
        if self.json_twin && !self.json {
            768
        } else {
            256
        }
    }

    /// Appends the line for `event` (without a trailing newline) to `out`;
    /// `meta` is the event's metadata, or a `log` record's own (normalized).
    /// When the format makes a JSON twin, it follows the line in `out` from the
    /// returned offset: one buffer, one allocation on the caller's thread.
    pub fn format(
        &self,
        event: &Event<'_>,
        meta: &Metadata<'_>,
        span: SpanInfo<'_>,
        now: SystemTime,
        out: &mut Vec<u8>,
    ) -> Option<usize> {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.format_with(event, meta, span, now, out, &mut s),
            // Re-entered (a field's Debug impl logged): use fresh buffers.
            Err(_) => self.format_with(event, meta, span, now, out, &mut Scratch::new()),
        })
    }

    fn format_with(
        &self,
        event: &Event<'_>,
        meta: &Metadata<'_>,
        span: SpanInfo<'_>,
        now: SystemTime,
        out: &mut Vec<u8>,
        s: &mut Scratch,
    ) -> Option<usize> {
        // A JSON line is its own twin: only text lines make one.
        let twin = self.json_twin && !self.json;
        s.msg.clear();
        s.fields.clear();
        s.twin_fields.clear();
        s.timestamp.clear();
        let mut v = FieldWriter {
            json: self.json,
            // A `log` record carries its metadata as `log.*` fields too: they
            // are in `meta` already.
            log_record: !std::ptr::eq(meta, event.metadata()),
            redactor: &self.redactor,
            msg: &mut s.msg,
            fields: &mut s.fields,
            twin: twin.then_some(&mut s.twin_fields),
            tmp: &mut s.tmp,
        };
        event.record(&mut v);
        // Secrets typed into the message itself (`login failed for password=…`).
        self.redactor.scrub_string(&mut s.msg);
        write_rfc3339_millis(&mut s.timestamp, now);
        let parts = Parts {
            meta,
            timestamp: &s.timestamp,
            msg: &s.msg,
            module: meta
                .module_path()
                .map(|m| m.rsplit("::").next().unwrap_or(m)),
            span,
        };
        if self.json {
            self.json_line(out, &parts, &s.fields);
            return None;
        }
        self.text_line(out, &parts, &s.fields);
        twin.then(|| {
            let at = out.len();
            self.json_line(out, &parts, &s.twin_fields);
            at
        })
    }

    /// Appends a JSON line whose fields (`,"key":value`…) are `fields`.
    fn json_line(&self, out: &mut Vec<u8>, p: &Parts<'_>, fields: &[u8]) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(p.timestamp);
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(level_str(p.meta.level()).as_bytes());
        out.extend_from_slice(b"\",\"logger\":");
        json_str(out, p.meta.target());
        out.extend_from_slice(b",\"message\":");
        json_str(out, p.msg);
        out.extend_from_slice(b",\"module\":");
        json_opt_str(out, p.module);
        out.extend_from_slice(b",\"function\":");
        json_opt_str(out, p.span.name);
        out.extend_from_slice(b",\"line\":");
        match p.meta.line() {
            Some(l) => out.extend_from_slice(itoa::Buffer::new().format(l).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        if let Some((trace, span_id)) = p.span.ids {
            let _ = write!(
                Bytes(out),
                ",\"trace_id\":\"{trace:032x}\",\"span_id\":\"{span_id:016x}\""
            );
        }
        out.extend_from_slice(b",\"service\":");
        json_str(out, &self.service);
        out.extend_from_slice(fields);
        out.push(b'}');
    }

    /// Appends a text line whose fields (` key=value`…) are `fields`.
    fn text_line(&self, out: &mut Vec<u8>, p: &Parts<'_>, fields: &[u8]) {
        let start = out.len();
        out.extend_from_slice(p.timestamp);
        let _ = write!(
            Bytes(out),
            " {:<5} {}: {}",
            level_str(p.meta.level()),
            p.meta.target(),
            p.msg
        );
        out.extend_from_slice(fields);
        if let Some(f) = p.span.name {
            let _ = write!(Bytes(out), " function={f}");
        }
        if let Some(l) = p.meta.line() {
            let _ = write!(Bytes(out), " line={l}");
        }
        if let Some((trace, span_id)) = p.span.ids {
            let _ = write!(Bytes(out), " trace_id={trace:032x} span_id={span_id:016x}");
        }
        let _ = write!(Bytes(out), " service={}", self.service);
        // A text line must stay one line whatever the message holds.
        for b in &mut out[start..] {
            if *b == b'\n' || *b == b'\r' {
                *b = b' ';
            }
        }
    }
}

fn level_str(l: &Level) -> &'static str {
    match *l {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// `fmt::Write` over a byte vector.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if !bytes.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\') {
        out.extend_from_slice(bytes);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(Bytes(out), "\\u{:04x}", c as u32);
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

fn json_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Visits an event's fields: the message into `msg`, the rest into `fields`
/// (and, for a text line's JSON twin, into `twin` as JSON in the same pass).
struct FieldWriter<'a> {
    json: bool,
    log_record: bool,
    redactor: &'a Redactor,
    msg: &'a mut String,
    fields: &'a mut Vec<u8>,
    twin: Option<&'a mut Vec<u8>>,
    tmp: &'a mut String,
}

/// Writes `,"name":` (a reserved name as `fields.<name>`).
fn json_key(out: &mut Vec<u8>, name: &str) {
    out.push(b',');
    if is_reserved(name) {
        out.extend_from_slice(b"\"fields.");
        // `json_str` with its quotes trimmed: reserved names need no escaping.
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
    } else {
        json_str(out, name);
    }
    out.push(b':');
}

impl FieldWriter<'_> {
    /// Writes the key; returns false if the value must not be written (redacted,
    /// already written, or a `log` record's metadata field, skipped).
    fn key(&mut self, field: &Field) -> bool {
        let name = field.name();
        if self.log_record && name.starts_with("log.") {
            return false;
        }
        if self.json {
            json_key(self.fields, name);
        } else {
            self.fields.push(b' ');
            self.fields.extend_from_slice(name.as_bytes());
            self.fields.push(b'=');
        }
        if let Some(twin) = self.twin.as_deref_mut() {
            json_key(twin, name);
        }
        if self.redactor.is_secret_static(name) {
            if self.json {
                json_str(self.fields, REDACTED);
            } else {
                self.fields.extend_from_slice(REDACTED.as_bytes());
            }
            if let Some(twin) = self.twin.as_deref_mut() {
                json_str(twin, REDACTED);
            }
            return false;
        }
        true
    }

    /// A number or boolean: the same text in both formats.
    fn raw(&mut self, field: &Field, text: &str) {
        if self.key(field) {
            self.fields.extend_from_slice(text.as_bytes());
            if let Some(twin) = self.twin.as_deref_mut() {
                twin.extend_from_slice(text.as_bytes());
            }
        }
    }

    fn string(&mut self, field: &Field, s: &str) {
        if self.key(field) {
            let s = &*self.redactor.scrub(s);
            if self.json {
                json_str(self.fields, s);
            } else if s.is_empty() || s.bytes().any(|b| b <= b' ' || b == b'"' || b == b'=') {
                json_str(self.fields, s); // quoted and escaped
            } else {
                self.fields.extend_from_slice(s.as_bytes());
            }
            if let Some(twin) = self.twin.as_deref_mut() {
                json_str(twin, s);
            }
        }
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg.push_str(value);
        } else {
            self.string(field, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, itoa::Buffer::new().format(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, itoa::Buffer::new().format(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.raw(field, itoa::Buffer::new().format(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.raw(field, itoa::Buffer::new().format(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.raw(field, ryu::Buffer::new().format_finite(value));
        } else {
            // JSON has no NaN/Infinity: keep the information as a string.
            let text = if value.is_nan() {
                "NaN"
            } else if value > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            self.string(field, text);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut tmp = std::mem::take(self.tmp);
        tmp.clear();
        let _ = write!(tmp, "{value}");
        self.string(field, &tmp);
        *self.tmp = tmp;
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.msg, "{value:?}");
            return;
        }
        let mut tmp = std::mem::take(self.tmp);
        tmp.clear();
        let _ = write!(tmp, "{value:?}");
        self.string(field, &tmp);
        *self.tmp = tmp;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use tracing_subscriber::layer::{Context, SubscriberExt as _};
    use tracing_subscriber::Layer;

    use super::{LineFormat, Redactor, SpanInfo};

    /// What one event gave: the text line, its twin, and the JSON format's line.
    type Lines = (String, Option<String>, String, Option<String>);

    /// Formats each event as text with a twin and as JSON, at one instant.
    struct Both {
        text: LineFormat,
        json: LineFormat,
        seen: Arc<Mutex<Vec<Lines>>>,
    }

    impl<S: tracing::Subscriber> Layer<S> for Both {
        fn on_event(&self, event: &tracing::Event<'_>, _cx: Context<'_, S>) {
            let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
            let span = SpanInfo {
                name: Some("research"),
                ids: Some((0xabc, 0xdef)),
            };
            let (mut text, mut json) = (Vec::new(), Vec::new());
            let twin_at = self
                .text
                .format(event, event.metadata(), span, now, &mut text);
            let twin = twin_at.map(|at| text.split_off(at));
            let none = self
                .json
                .format(event, event.metadata(), span, now, &mut json);
            let s = |b: Vec<u8>| String::from_utf8(b).unwrap();
            self.seen.lock().unwrap().push((
                s(text),
                twin.map(s),
                s(json),
                none.map(|at| at.to_string()),
            ));
        }
    }

    fn format(json: bool, json_twin: bool) -> LineFormat {
        LineFormat {
            json,
            json_twin,
            service: "svc".into(),
            redactor: Redactor::default(),
        }
    }

    #[test]
    fn a_text_lines_twin_is_the_json_line_of_the_same_event() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let layer = Both {
            text: format(false, true),
            json: format(true, true),
            seen: Arc::clone(&seen),
        };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(
                user = "u 1",
                n = 3_u64,
                neg = -4_i64,
                ratio = 0.25,
                nan = f64::NAN,
                ok = true,
                line = 9,
                password = "hunter2",
                debug = ?vec!["a\"b"],
                "looked up \"docs\"\nwith token=sk-abcdefghijklmnopqrstuvwx"
            );
            tracing::warn!("no fields");
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        for (text, twin, json, json_twin) in seen.iter() {
            assert_eq!(twin.as_deref(), Some(json.as_str()), "text line: {text}");
            assert_eq!(*json_twin, None, "a JSON line is its own twin");
            assert!(!text.starts_with('{') && !text.contains('\n'), "{text}");
        }
        let (text, _, json, _) = &seen[0];
        for secret in ["hunter2", "sk-abcdefghijklmnopqrstuvwx"] {
            assert!(
                !text.contains(secret) && !json.contains(secret),
                "{text}\n{json}"
            );
        }
        assert!(json.contains(r#""fields.line":9"#), "{json}");
        assert!(json.contains(r#""nan":"NaN""#), "{json}");
        assert!(
            text.contains(r#" user="u 1" n=3 neg=-4 ratio=0.25"#),
            "{text}"
        );
    }

    #[test]
    fn no_twin_unless_asked() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let layer = Both {
            text: format(false, false),
            json: format(true, false),
            seen: Arc::clone(&seen),
        };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(a = 1, "x");
        });
        let seen = seen.lock().unwrap();
        assert_eq!((seen[0].1.as_deref(), seen[0].3.as_deref()), (None, None));
    }
}
