//! The exposition: Prometheus text 0.0.4 and OpenMetrics 1.0 text.
//!
//! Why not `prometheus-client`'s encoder: its `MetricEncoder` is public, but its
//! `Exemplar` type has no public constructor, so exemplars held outside its own
//! (lock-per-observation) histogram types cannot be encoded through it, and our
//! series live in lock-free cells of our own. The two text formats are small and
//! stable, so this module writes them directly into one `String` with `itoa`/`ryu`
//! number formatting. Metrics registered in a caller's `prometheus_client`
//! `Registry` are still encoded by that crate (see `MetricsCollector::builder`).

use super::catalog::{MetricDesc, MetricKind};
use super::exemplar::Exemplar;
use super::histogram::Histogram;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Prometheus text format 0.0.4 (no exemplars).
    #[default]
    PrometheusText,
    /// OpenMetrics 1.0 text (exemplars, `# EOF`).
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Chooses the format a scraper asked for in its `Accept` header: OpenMetrics
    /// when `application/openmetrics-text` is acceptable with a quality at least
    /// that of `text/plain`, otherwise Prometheus text.
    ///
    /// ```
    /// use megaobs::metrics::Format;
    /// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
    /// assert_eq!(Format::from_accept(Some("text/plain")), Format::PrometheusText);
    /// assert_eq!(Format::from_accept(None), Format::PrometheusText);
    /// ```
    pub fn from_accept(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::PrometheusText;
        };
        let (mut om, mut text) = (None::<f32>, None::<f32>);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match media.as_str() {
                "application/openmetrics-text" => &mut om,
                "text/plain" => &mut text,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        match (om, text) {
            (Some(o), t) if o > 0.0 && o >= t.unwrap_or(0.0) => Self::OpenMetrics,
            _ => Self::PrometheusText,
        }
    }
}

/// Writes metric families into a `String`.
pub(crate) struct Encoder<'a> {
    out: &'a mut String,
    format: Format,
}

impl<'a> Encoder<'a> {
    pub fn new(out: &'a mut String, format: Format) -> Self {
        Self { out, format }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// `# HELP` and `# TYPE` of a family.
    pub fn header(&mut self, d: &MetricDesc) {
        let name = match self.format {
            Format::PrometheusText => d.name,
            Format::OpenMetrics => d.family_name(),
        };
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(self.out, d.help, self.format);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(d.kind.as_str());
        self.out.push('\n');
    }

    pub fn counter(&mut self, d: &MetricDesc, labels: &[&str], v: u64) {
        debug_assert_eq!(d.kind, MetricKind::Counter);
        self.sample_start(d.name, d.labels, labels, None);
        self.u64(v);
        self.out.push('\n');
    }

    pub fn gauge(&mut self, d: &MetricDesc, labels: &[&str], v: i64) {
        self.sample_start(d.name, d.labels, labels, None);
        self.out.push_str(itoa::Buffer::new().format(v));
        self.out.push('\n');
    }

    pub fn gauge_f64(&mut self, d: &MetricDesc, labels: &[&str], v: f64) {
        self.sample_start(d.name, d.labels, labels, None);
        self.f64(v);
        self.out.push('\n');
    }

    pub fn counter_f64(&mut self, d: &MetricDesc, labels: &[&str], v: f64) {
        self.gauge_f64(d, labels, v);
    }

    pub fn histogram(&mut self, d: &MetricDesc, labels: &[&str], h: &Histogram) {
        self.histogram_keys(d, d.labels, labels, h);
    }

    /// A histogram sample set with only some of the family's label names
    /// (e.g. without `error_type` on successes).
    pub fn histogram_keys(
        &mut self,
        d: &MetricDesc,
        keys: &[&str],
        labels: &[&str],
        h: &Histogram,
    ) {
        debug_assert_eq!(d.kind, MetricKind::Histogram);
        let mut cumulative = 0u64;
        let bounds = h.bounds();
        let mut le_buf = ryu::Buffer::new();
        for i in 0..=bounds.len() {
            cumulative += h.bucket_count(i);
            let le = if i == bounds.len() {
                "+Inf"
            } else {
                le_buf.format(bounds[i])
            };
            self.sample_start_suffixed(d.name, "_bucket", keys, labels, Some(le));
            self.u64(cumulative);
            if self.format == Format::OpenMetrics {
                if let Some(e) = h.exemplar(i) {
                    self.exemplar(&e);
                }
            }
            self.out.push('\n');
        }
        self.sample_start_suffixed(d.name, "_sum", keys, labels, None);
        self.f64(h.sum());
        self.out.push('\n');
        self.sample_start_suffixed(d.name, "_count", keys, labels, None);
        self.u64(cumulative);
        self.out.push('\n');
    }

    pub fn eof(&mut self) {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
    }

    fn exemplar(&mut self, e: &Exemplar) {
        use std::fmt::Write;
        let _ = write!(
            self.out,
            " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} ",
            e.span.trace_id, e.span.span_id
        );
        self.f64(e.value);
        self.out.push(' ');
        self.out.push_str(ryu::Buffer::new().format(e.timestamp));
    }

    fn sample_start(&mut self, name: &str, keys: &[&str], values: &[&str], le: Option<&str>) {
        self.sample_start_suffixed(name, "", keys, values, le);
    }

    fn sample_start_suffixed(
        &mut self,
        name: &str,
        suffix: &str,
        keys: &[&str],
        values: &[&str],
        le: Option<&str>,
    ) {
        debug_assert_eq!(keys.len(), values.len(), "{name}: label arity");
        self.out.push_str(name);
        self.out.push_str(suffix);
        if !keys.is_empty() || le.is_some() {
            self.out.push('{');
            let mut first = true;
            for (k, v) in keys.iter().zip(values) {
                if !first {
                    self.out.push(',');
                }
                first = false;
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(self.out, v);
                self.out.push('"');
            }
            if let Some(le) = le {
                if !first {
                    self.out.push(',');
                }
                self.out.push_str("le=\"");
                self.out.push_str(le);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
    }

    fn u64(&mut self, v: u64) {
        self.out.push_str(itoa::Buffer::new().format(v));
    }

    fn f64(&mut self, v: f64) {
        if v.is_nan() {
            self.out.push_str("NaN");
        } else if v.is_infinite() {
            self.out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            self.out.push_str(ryu::Buffer::new().format_finite(v));
        }
    }
}

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub(crate) fn escape_label_value(out: &mut String, v: &str) {
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(out: &mut String, help: &str, format: Format) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        escape_label_value(&mut s, "a\"b\\c\nd");
        assert_eq!(s, r#"a\"b\\c\nd"#);
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(
            Format::from_accept(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::from_accept(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")),
            Format::PrometheusText
        );
        assert_eq!(
            Format::from_accept(Some("application/openmetrics-text;q=0")),
            Format::PrometheusText
        );
        assert_eq!(Format::from_accept(Some("*/*")), Format::PrometheusText);
    }
}
