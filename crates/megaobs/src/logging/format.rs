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
    pub service: String,
    pub redactor: Redactor,
}

thread_local! {
    /// Scratch buffers: (message, fields, Debug/Display text). Reused per thread.
    static SCRATCH: RefCell<(String, Vec<u8>, String)> = const { RefCell::new((String::new(), Vec::new(), String::new())) };
}

impl LineFormat {
    /// Appends the line for `event` (without a trailing newline) to `out`;
    /// `meta` is the event's metadata, or a `log` record's own (normalized).
    pub fn format(
        &self,
        event: &Event<'_>,
        meta: &Metadata<'_>,
        span: SpanInfo<'_>,
        now: SystemTime,
        out: &mut Vec<u8>,
    ) {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => {
                let (msg, fields, tmp) = &mut *s;
                self.format_with(event, meta, span, now, out, msg, fields, tmp);
            }
            // Re-entered (a field's Debug impl logged): use fresh buffers.
            Err(_) => self.format_with(
                event,
                meta,
                span,
                now,
                out,
                &mut String::new(),
                &mut Vec::new(),
                &mut String::new(),
            ),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn format_with(
        &self,
        event: &Event<'_>,
        meta: &Metadata<'_>,
        span: SpanInfo<'_>,
        now: SystemTime,
        out: &mut Vec<u8>,
        msg: &mut String,
        fields: &mut Vec<u8>,
        tmp: &mut String,
    ) {
        msg.clear();
        fields.clear();
        let mut v = FieldWriter {
            json: self.json,
            // A `log` record carries its metadata as `log.*` fields too: they
            // are in `meta` already.
            log_record: !std::ptr::eq(meta, event.metadata()),
            redactor: &self.redactor,
            msg,
            fields,
            tmp,
        };
        event.record(&mut v);
        // Secrets typed into the message itself (`login failed for password=…`).
        self.redactor.scrub_string(v.msg);
        let module = meta
            .module_path()
            .map(|m| m.rsplit("::").next().unwrap_or(m));
        if self.json {
            out.extend_from_slice(b"{\"timestamp\":\"");
            write_rfc3339_millis(out, now);
            out.extend_from_slice(b"\",\"level\":\"");
            out.extend_from_slice(level_str(meta.level()).as_bytes());
            out.extend_from_slice(b"\",\"logger\":");
            json_str(out, meta.target());
            out.extend_from_slice(b",\"message\":");
            json_str(out, v.msg);
            out.extend_from_slice(b",\"module\":");
            json_opt_str(out, module);
            out.extend_from_slice(b",\"function\":");
            json_opt_str(out, span.name);
            out.extend_from_slice(b",\"line\":");
            match meta.line() {
                Some(l) => out.extend_from_slice(itoa::Buffer::new().format(l).as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
            if let Some((trace, span_id)) = span.ids {
                let _ = write!(
                    Bytes(out),
                    ",\"trace_id\":\"{trace:032x}\",\"span_id\":\"{span_id:016x}\""
                );
            }
            out.extend_from_slice(b",\"service\":");
            json_str(out, &self.service);
            out.extend_from_slice(v.fields);
            out.push(b'}');
        } else {
            write_rfc3339_millis(out, now);
            let _ = write!(
                Bytes(out),
                " {:<5} {}: {}",
                level_str(meta.level()),
                meta.target(),
                v.msg
            );
            out.extend_from_slice(v.fields);
            if let Some(f) = span.name {
                let _ = write!(Bytes(out), " function={f}");
            }
            if let Some(l) = meta.line() {
                let _ = write!(Bytes(out), " line={l}");
            }
            if let Some((trace, span_id)) = span.ids {
                let _ = write!(Bytes(out), " trace_id={trace:032x} span_id={span_id:016x}");
            }
            let _ = write!(Bytes(out), " service={}", self.service);
            // A text line must stay one line whatever the message holds.
            for b in out.iter_mut() {
                if *b == b'\n' || *b == b'\r' {
                    *b = b' ';
                }
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

/// Visits an event's fields: the message into `msg`, the rest into `fields`.
struct FieldWriter<'a> {
    json: bool,
    log_record: bool,
    redactor: &'a Redactor,
    msg: &'a mut String,
    fields: &'a mut Vec<u8>,
    tmp: &'a mut String,
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
            self.fields.push(b',');
            if is_reserved(name) {
                let mut k = String::with_capacity(name.len() + 7);
                k.push_str("fields.");
                k.push_str(name);
                json_str(self.fields, &k);
            } else {
                json_str(self.fields, name);
            }
            self.fields.push(b':');
        } else {
            self.fields.push(b' ');
            self.fields.extend_from_slice(name.as_bytes());
            self.fields.push(b'=');
        }
        if self.redactor.is_secret_static(name) {
            if self.json {
                json_str(self.fields, REDACTED);
            } else {
                self.fields.extend_from_slice(REDACTED.as_bytes());
            }
            return false;
        }
        true
    }

    fn raw(&mut self, field: &Field, text: &str) {
        if self.key(field) {
            self.fields.extend_from_slice(text.as_bytes());
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
