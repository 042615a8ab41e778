//! W3C trace context and baggage in and out of HTTP headers.
//!
//! ```
//! use megaobs::trace::{extract_context, inject_context};
//! use opentelemetry::trace::TraceContextExt;
//!
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! let parent = extract_context(&incoming);
//! assert_eq!(parent.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = http::HeaderMap::new();
//! inject_context(&parent, &mut outgoing);
//! assert!(outgoing["traceparent"].to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! ```

use std::sync::OnceLock;

use http::HeaderName;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

fn propagator() -> &'static TextMapCompositePropagator {
    static P: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    P.get_or_init(|| {
        TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ])
    })
}

/// Writes `traceparent`, `tracestate` and `baggage` for `cx` into `headers`.
pub fn inject_context(cx: &Context, headers: &mut http::HeaderMap) {
    if !inject_plain_traceparent(cx, headers) {
        propagator().inject_context(cx, &mut HeaderInjector(headers));
    }
}

/// Writes the `traceparent` of a context with no trace state and no baggage
/// (every outgoing call megaobs makes, nearly), and returns whether it did.
///
/// Written by hand because it runs for every outgoing call: the SDK's
/// propagators format the value through `format!`, parse the header names
/// from strings, and add an empty `tracestate` header besides. The value is
/// the one the propagator writes (a test compares them).
fn inject_plain_traceparent(cx: &Context, headers: &mut http::HeaderMap) -> bool {
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{TraceContextExt, TraceState};
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() || *sc.trace_state() != TraceState::NONE || !cx.baggage().is_empty() {
        return false;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut v = [0u8; 55];
    v[..3].copy_from_slice(b"00-");
    let mut put = |at: usize, bytes: &[u8]| {
        for (i, b) in bytes.iter().enumerate() {
            v[at + 2 * i] = HEX[usize::from(b >> 4)];
            v[at + 2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
    };
    put(3, &sc.trace_id().to_bytes());
    put(36, &sc.span_id().to_bytes());
    put(53, &[sc.trace_flags().to_u8() & 1]);
    v[35] = b'-';
    v[52] = b'-';
    match http::HeaderValue::from_bytes(&v) {
        Ok(value) => {
            headers.insert(TRACEPARENT.clone(), value);
            // The trace state of another trace must not ride along (the
            // propagator would overwrite it with this context's, empty).
            headers.remove(&TRACESTATE);
            true
        }
        Err(_) => false,
    }
}

/// Writes the current context's headers (for an outgoing request).
pub fn inject_current(headers: &mut http::HeaderMap) {
    Context::map_current(|cx| inject_context(cx, headers));
}

/// Reads `traceparent`/`tracestate`/`baggage` into a context whose span is the
/// remote parent (an invalid `traceparent` gives a context without span).
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    match plain_traceparent(headers) {
        Some(sc) => Context::map_current(|cx| {
            opentelemetry::trace::TraceContextExt::with_remote_span_context(cx, sc)
        }),
        None => propagator().extract(&Headers::new(headers)),
    }
}

/// The span context of a request whose only propagation header is a canonical
/// version-00 `traceparent` (`00-` 32 lowercase hex `-` 16 lowercase hex `-` 2
/// lowercase hex), else `None` (the propagators then read every header).
///
/// Written by hand because it runs for every traced request and the SDK's
/// `TraceContextPropagator` (which splits into a vector, checks case char by
/// char and parses each part through `from_str_radix`) was a large share of the
/// layer's cost per traced request in its profile. The result is the same context the
/// propagator gives for these inputs (a test compares them); anything else — other
/// versions, `tracestate`, `baggage`, whitespace — goes through the propagator.
fn plain_traceparent(headers: &http::HeaderMap) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let v = single(headers, &TRACEPARENT)?.as_bytes();
    if v.len() != 55 || &v[..3] != b"00-" || v[35] != b'-' || v[52] != b'-' {
        return None;
    }
    if headers.contains_key(&TRACESTATE) || headers.contains_key(&BAGGAGE) {
        return None;
    }
    let trace = lower_hex(&v[3..35])?;
    let span = u64::try_from(lower_hex(&v[36..52])?).ok()?;
    let flags = u8::try_from(lower_hex(&v[53..55])?).ok()?;
    let sc = SpanContext::new(
        TraceId::from_bytes(trace.to_be_bytes()),
        SpanId::from_bytes(span.to_be_bytes()),
        // Unknown flags are accepted and cleared (W3C trace context, "other flags").
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    // All-zero ids are invalid: no parent, as with the propagator.
    sc.is_valid().then_some(sc)
}

/// The value of header `name` if it appears exactly once. A repeated
/// `traceparent` is invalid (W3C trace context): a request carrying two starts a
/// new trace rather than pick one, on both extraction paths.
fn single<'a>(headers: &'a http::HeaderMap, name: &HeaderName) -> Option<&'a http::HeaderValue> {
    let mut all = headers.get_all(name).iter();
    all.next().filter(|_| all.next().is_none())
}

/// `digits` (at most 32 lowercase hex digits) as a number; `None` for any other byte.
#[inline]
fn lower_hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |n, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(n << 4 | u128::from(d))
    })
}

/// `opentelemetry_http::HeaderExtractor`, with the propagators' own header names
/// looked up as constants (a lookup by `&str` parses and validates the name
/// first, three times per request), and repeated `tracestate` and `baggage`
/// headers read as one.
///
/// Both are lists that W3C lets a request split over several headers, to be
/// combined as one comma-separated value (RFC 9110 §5.3); the SDK's propagators
/// read one value per name (`Extractor::get`), so without the join every entry
/// after the first header would be lost.
struct Headers<'a> {
    map: &'a http::HeaderMap,
    /// `tracestate`'s values joined, when it appears more than once.
    tracestate: Option<String>,
    /// `baggage`'s values joined, when it appears more than once.
    baggage: Option<String>,
}

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
static BAGGAGE: HeaderName = HeaderName::from_static("baggage");

impl<'a> Headers<'a> {
    fn new(map: &'a http::HeaderMap) -> Self {
        Self {
            map,
            tracestate: joined(map, &TRACESTATE),
            baggage: joined(map, &BAGGAGE),
        }
    }

    fn known(key: &str) -> Option<&'static HeaderName> {
        match key {
            "traceparent" => Some(&TRACEPARENT),
            "tracestate" => Some(&TRACESTATE),
            "baggage" => Some(&BAGGAGE),
            _ => None,
        }
    }
}

/// The values of list header `name`, joined with `,`, if it appears more than
/// once (values that are not visible ASCII are left out, as a single one would be).
fn joined(map: &http::HeaderMap, name: &HeaderName) -> Option<String> {
    let mut all = map.get_all(name).iter();
    let (first, second) = (all.next()?, all.next()?);
    let values: Vec<&str> = [first, second]
        .into_iter()
        .chain(all)
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(values.join(","))
}

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = match Self::known(key) {
            Some(name) if *name == TRACEPARENT => single(self.map, name),
            Some(name) if *name == TRACESTATE && self.tracestate.is_some() => {
                return self.tracestate.as_deref();
            }
            Some(name) if *name == BAGGAGE && self.baggage.is_some() => {
                return self.baggage.as_deref();
            }
            Some(name) => self.map.get(name),
            None => self.map.get(key),
        };
        value.and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.map.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values = match Self::known(key) {
            Some(name) => self.map.get_all(name),
            None => self.map.get_all(key),
        };
        let values: Vec<&str> = values.iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then_some(values)
    }
}

pub(crate) fn install_global() {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

/// [`extract_context`], also accepting B3 (the single `b3` header or the
/// `X-B3-TraceId`/`X-B3-SpanId`/`X-B3-Sampled` set) and Jaeger's
/// `uber-trace-id` when no valid `traceparent` is present: for services called by
/// older Zipkin- or Jaeger-instrumented clients. W3C wins when both are present.
///
/// ```
/// use megaobs::trace::extract_context_any;
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut h = http::HeaderMap::new();
/// h.insert("uber-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1".parse().unwrap());
/// let cx = extract_context_any(&h);
/// assert_eq!(cx.span().span_context().span_id().to_string(), "00f067aa0ba902b7");
/// assert!(cx.span().span_context().is_sampled());
/// ```
pub fn extract_context_any(headers: &http::HeaderMap) -> Context {
    use opentelemetry::trace::TraceContextExt;
    // Most requests carry none of these headers: one pass over the (few) header
    // names answers that more cheaply than the propagators' five hashed lookups.
    if !headers.keys().any(|name| {
        matches!(
            name.as_str(),
            "traceparent" | "baggage" | "b3" | "x-b3-traceid" | "uber-trace-id"
        )
    }) {
        return Context::current();
    }
    let cx = extract_context(headers);
    if cx.span().span_context().is_valid() {
        return cx;
    }
    match b3(headers).or_else(|| jaeger(headers)) {
        Some(sc) => cx.with_remote_span_context(sc),
        None => cx,
    }
}

const B3: HeaderName = HeaderName::from_static("b3");
const B3_TRACE_ID: HeaderName = HeaderName::from_static("x-b3-traceid");
const B3_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-spanid");
const B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");
const B3_FLAGS: HeaderName = HeaderName::from_static("x-b3-flags");
const UBER_TRACE_ID: HeaderName = HeaderName::from_static("uber-trace-id");

fn header<'a>(headers: &'a http::HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn ids(trace: &str, span: &str, sampled: bool) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    // 64-bit trace ids (B3, Jaeger) are left-padded to 128 bits.
    let trace = u128::from_str_radix(trace, 16)
        .ok()
        .filter(|_| trace.len() <= 32)?;
    let span = u64::from_str_radix(span, 16)
        .ok()
        .filter(|_| span.len() <= 16)?;
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let sc = SpanContext::new(
        TraceId::from_bytes(trace.to_be_bytes()),
        SpanId::from_bytes(span.to_be_bytes()),
        flags,
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

fn b3(headers: &http::HeaderMap) -> Option<opentelemetry::trace::SpanContext> {
    if let Some(single) = header(headers, &B3) {
        let mut parts = single.split('-');
        let (trace, span) = (parts.next()?, parts.next()?);
        let sampled = !matches!(parts.next(), Some("0"));
        return ids(trace, span, sampled);
    }
    let trace = header(headers, &B3_TRACE_ID)?;
    let span = header(headers, &B3_SPAN_ID)?;
    let sampled = match header(headers, &B3_SAMPLED) {
        Some(s) => matches!(s, "1" | "true"),
        None => header(headers, &B3_FLAGS) == Some("1"),
    };
    ids(trace, span, sampled)
}

fn jaeger(headers: &http::HeaderMap) -> Option<opentelemetry::trace::SpanContext> {
    let raw = header(headers, &UBER_TRACE_ID)?
        .replace("%3A", ":")
        .replace("%3a", ":");
    let mut parts = raw.split(':');
    let (trace, span, _parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let flags = u8::from_str_radix(flags, 16).ok()?;
    ids(trace, span, flags & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    /// The hand-written `traceparent` is the propagator's, byte for byte; a
    /// context with trace state or baggage goes through the propagators.
    #[test]
    fn plain_injection_agrees_with_the_propagator() {
        use opentelemetry::baggage::BaggageExt;
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        for (trace, span, flags) in [
            (
                0x4bf92f3577b34da6a3ce929d0e0e4736_u128,
                0x00f067aa0ba902b7_u64,
                TraceFlags::SAMPLED,
            ),
            (1, 1, TraceFlags::default()),
            (u128::MAX, u64::MAX, TraceFlags::new(0xff)),
        ] {
            let sc = SpanContext::new(
                TraceId::from_bytes(trace.to_be_bytes()),
                SpanId::from_bytes(span.to_be_bytes()),
                flags,
                false,
                TraceState::NONE,
            );
            let cx = Context::new().with_remote_span_context(sc);
            let mut ours = http::HeaderMap::new();
            inject_context(&cx, &mut ours);
            let mut theirs = http::HeaderMap::new();
            propagator().inject_context(&cx, &mut HeaderInjector(&mut theirs));
            assert_eq!(ours.get("traceparent"), theirs.get("traceparent"));
            assert_eq!(ours.len(), 1, "no empty tracestate: {ours:?}");
        }
        // Trace state and baggage: the propagators write them.
        let sc = SpanContext::new(
            TraceId::from_bytes(7u128.to_be_bytes()),
            SpanId::from_bytes(7u64.to_be_bytes()),
            TraceFlags::SAMPLED,
            false,
            TraceState::from_key_value([("vendor", "x")]).unwrap(),
        );
        let cx = Context::new()
            .with_remote_span_context(sc)
            .with_baggage([opentelemetry::KeyValue::new("tenant", "acme")]);
        let mut headers = http::HeaderMap::new();
        inject_context(&cx, &mut headers);
        assert_eq!(headers["tracestate"], "vendor=x");
        assert_eq!(headers["baggage"], "tenant=acme");
        assert!(headers["traceparent"].to_str().unwrap().ends_with("-01"));
    }

    /// The hand-written fast path gives exactly the propagator's context, for the
    /// inputs it takes and the ones it leaves to the propagator.
    #[test]
    fn plain_traceparent_agrees_with_the_propagator() {
        let t = "4bf92f3577b34da6a3ce929d0e0e4736";
        let s = "00f067aa0ba902b7";
        let cases: Vec<Vec<(&'static str, String)>> = [
            format!("00-{t}-{s}-01"),
            format!("00-{t}-{s}-00"),
            format!("00-{t}-{s}-ff"),
            format!("00-{t}-{s}-03"),
            format!("00-{}-{s}-01", "0".repeat(32)),
            format!("00-{t}-{}-01", "0".repeat(16)),
            format!("00-{}-{s}-01", t.to_uppercase()),
            format!("00-{t}-{}-01", s.to_uppercase()),
            format!("00-{t}-{s}-0A"),
            format!("00-{t}-{s}-0g"),
            format!("00-{t}-{s}-01-extra"),
            format!("01-{t}-{s}-01"),
            format!("01-{t}-{s}-01-future"),
            format!("ff-{t}-{s}-01"),
            format!("00-{t}-{s}-1"),
            format!("00-+{}-{s}-01", &t[1..]),
            format!("00-{t}x{s}-01"),
            format!(" 00-{t}-{s}-01"),
            "garbage".to_string(),
            String::new(),
        ]
        .into_iter()
        .map(|tp| vec![("traceparent", tp)])
        .chain([
            vec![
                ("traceparent", format!("00-{t}-{s}-01")),
                ("tracestate", "congo=t61rcWkgMzE".to_string()),
            ],
            vec![
                ("traceparent", format!("00-{t}-{s}-01")),
                ("baggage", "user=alice".to_string()),
            ],
            vec![],
        ])
        .collect();
        // The first four are canonical: the fast path takes them, and only them.
        for (i, case) in cases.iter().enumerate() {
            let h = header_map(case);
            assert_eq!(plain_traceparent(&h).is_some(), i < 4, "{case:?}");
            same_as_propagator(&h);
        }
        // Every byte of a canonical header changed to every value: where the
        // fast path accepts, it agrees with the propagator.
        let canonical = format!("00-{t}-{s}-01").into_bytes();
        for at in 0..canonical.len() {
            for b in 0..=255u8 {
                let mut v = canonical.clone();
                v[at] = b;
                if let Ok(v) = http::HeaderValue::from_bytes(&v) {
                    let mut h = http::HeaderMap::new();
                    h.insert("traceparent", v);
                    same_as_propagator(&h);
                }
            }
        }
        // Two traceparent headers are invalid for both paths.
        let mut h = headers(&[("traceparent", &format!("00-{t}-{s}-01"))]);
        h.append("traceparent", format!("00-{t}-{s}-00").parse().unwrap());
        assert!(plain_traceparent(&h).is_none());
        assert!(!extract_context(&h).has_active_span());
        // Under a current context with baggage and a span, both build on it.
        let current =
            Context::new().with_remote_span_context(opentelemetry::trace::SpanContext::new(
                opentelemetry::trace::TraceId::from_bytes([7; 16]),
                opentelemetry::trace::SpanId::from_bytes([7; 8]),
                opentelemetry::trace::TraceFlags::SAMPLED,
                false,
                Default::default(),
            ));
        let current = opentelemetry::baggage::BaggageExt::with_baggage(
            &current,
            [opentelemetry::KeyValue::new("tenant", "acme")],
        );
        let _attached = current.attach();
        for case in &cases {
            same_as_propagator(&header_map(case));
        }
    }

    fn header_map(pairs: &[(&'static str, String)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = v.parse() {
                h.append(*k, v);
            }
        }
        h
    }

    fn same_as_propagator(h: &http::HeaderMap) {
        use opentelemetry::baggage::BaggageExt;
        let fast = extract_context(h);
        let reference = propagator().extract(&Headers::new(h));
        let (a, b) = (fast.span(), reference.span());
        assert_eq!(a.span_context(), b.span_context(), "{h:?}");
        assert_eq!(
            a.span_context().is_remote(),
            b.span_context().is_remote(),
            "{h:?}"
        );
        assert_eq!(fast.has_active_span(), reference.has_active_span(), "{h:?}");
        let entries = |cx: &Context| {
            let mut e: Vec<(String, String)> = cx
                .baggage()
                .iter()
                .map(|(k, (v, _))| (k.to_string(), v.to_string()))
                .collect();
            e.sort();
            e
        };
        assert_eq!(entries(&fast), entries(&reference), "{h:?}");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn ids_of(cx: &Context) -> (String, String, bool) {
        let span = cx.span();
        let sc = span.span_context();
        (
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
            sc.is_sampled(),
        )
    }

    #[test]
    fn b3_single_and_multi_and_jaeger() {
        let single = extract_context_any(&headers(&[(
            "b3",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
        )]));
        assert_eq!(
            ids_of(&single),
            (
                "80f198ee56343ba864fe8b2a57d3eff7".into(),
                "e457b5a2e4d86bd1".into(),
                true
            )
        );
        let multi = extract_context_any(&headers(&[
            ("x-b3-traceid", "64fe8b2a57d3eff7"),
            ("x-b3-spanid", "e457b5a2e4d86bd1"),
            ("x-b3-sampled", "0"),
        ]));
        assert_eq!(
            ids_of(&multi),
            (
                "000000000000000064fe8b2a57d3eff7".into(),
                "e457b5a2e4d86bd1".into(),
                false
            )
        );
        let jaeger = extract_context_any(&headers(&[(
            "uber-trace-id",
            "64fe8b2a57d3eff7%3Ae457b5a2e4d86bd1%3A0%3A1",
        )]));
        assert_eq!(ids_of(&jaeger).1, "e457b5a2e4d86bd1");
        assert!(ids_of(&jaeger).2);
    }

    #[test]
    fn w3c_wins_and_garbage_gives_no_span() {
        let both = extract_context_any(&headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"),
        ]));
        assert_eq!(ids_of(&both).0, "4bf92f3577b34da6a3ce929d0e0e4736");
        for bad in ["zz-yy-1", "0-0-1", ""] {
            let cx = extract_context_any(&headers(&[("b3", bad)]));
            assert!(!cx.span().span_context().is_valid(), "{bad}");
        }
        let cx = extract_context_any(&headers(&[(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )]));
        assert!(!cx.span().span_context().is_valid());
    }

    #[test]
    fn tracestate_and_baggage_round_trip() {
        use opentelemetry::baggage::BaggageExt;
        let incoming = headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
            ("baggage", "userId=alice,isProduction=false"),
        ]);
        let cx = extract_context_any(&incoming);
        let span = cx.span();
        assert_eq!(
            span.span_context().trace_state().get("congo"),
            Some("t61rcWkgMzE")
        );
        assert_eq!(
            cx.baggage().get("userId").map(|v| v.as_str().to_string()),
            Some("alice".to_string())
        );
        let mut outgoing = http::HeaderMap::new();
        inject_context(&cx, &mut outgoing);
        assert!(outgoing["traceparent"]
            .to_str()
            .unwrap()
            .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(
            outgoing["tracestate"],
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
        let baggage = outgoing["baggage"].to_str().unwrap();
        assert!(
            baggage.contains("userId=alice") && baggage.contains("isProduction=false"),
            "{baggage}"
        );
        // Baggage alone (no trace headers) is extracted too.
        let only = extract_context_any(&headers(&[("baggage", "tenant=acme")]));
        assert_eq!(
            only.baggage().get("tenant").map(|v| v.as_str().to_string()),
            Some("acme".to_string())
        );
    }

    #[test]
    fn a_stale_tracestate_does_not_ride_along_with_a_new_traceparent() {
        let cx = extract_context_any(&headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]));
        let mut outgoing = headers(&[("tracestate", "other=trace")]);
        inject_context(&cx, &mut outgoing);
        assert!(outgoing.contains_key("traceparent"));
        assert!(
            !outgoing.contains_key("tracestate"),
            "the propagator would not send it either: {outgoing:?}"
        );
    }

    #[test]
    fn repeated_tracestate_and_baggage_headers_are_one_list() {
        use opentelemetry::baggage::BaggageExt;
        let mut h = headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]);
        for (name, value) in [
            ("tracestate", "congo=t61rcWkgMzE"),
            ("tracestate", "rojo=00f067aa0ba902b7"),
            ("baggage", "userId=alice"),
            ("baggage", "tenant=acme"),
        ] {
            h.append(name, value.parse().unwrap());
        }
        let cx = extract_context_any(&h);
        let span = cx.span();
        let state = span.span_context().trace_state();
        assert_eq!(state.get("congo"), Some("t61rcWkgMzE"));
        assert_eq!(
            state.get("rojo"),
            Some("00f067aa0ba902b7"),
            "second header kept"
        );
        assert_eq!(state.header(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        let baggage = cx.baggage();
        assert_eq!(baggage.get("userId").map(|v| v.as_str()), Some("alice"));
        assert_eq!(baggage.get("tenant").map(|v| v.as_str()), Some("acme"));
        // Still one traceparent: a second one makes the request a new trace.
        h.append(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .parse()
                .unwrap(),
        );
        assert!(!extract_context_any(&h).span().span_context().is_valid());
    }
}
