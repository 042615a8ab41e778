//! GenAI metrics: exact token, cost and histogram values for known calls, the
//! price table's errors, unpriced models, and the call guards recording exactly
//! once on every exit path.
#![cfg(feature = "tracing")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::sample;
use megaobs::config::ObservabilityConfig;
use megaobs::metrics::{
    GenAiOperation, GenAiTokenType, MetricsCollector, MetricsConfig, ModelPrice, PriceErrorKind,
    PriceTable, TokenUsage,
};
use megaobs::trace::{GenAiStepSpan, LlmSpan};
use megaobs::Error;

const PRICES: &str = r#"
[models."gpt-4o"]
input = 2.5
cached_input = 1.25
output = 10.0

[models."o4-mini"]
input = 1.1
cached_input = 0.275
output = 4.4
reasoning = 4.4

[models."claude-3-haiku"]
input = 0.25
cached_input = 0.03
output = 1.25
"#;

fn collector() -> MetricsCollector {
    MetricsCollector::builder()
        .prices(PriceTable::from_toml_str(PRICES).unwrap())
        .process_metrics(false)
        .build()
}

fn v(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

fn labels(provider: &str, model: &str) -> String {
    format!(
        r#"gen_ai_operation_name="chat",gen_ai_provider_name="{provider}",gen_ai_request_model="{model}""#
    )
}

#[test]
fn token_helpers_map_provider_usage_onto_four_disjoint_types() {
    // OpenAI: cached ⊂ prompt, reasoning ⊂ completion.
    let u = TokenUsage::from_openai(1500, 700, 1024, 512);
    assert_eq!(u, TokenUsage::new(476, 1024, 188, 512));
    assert_eq!((u.total_input(), u.total_output()), (1500, 700));
    // Inconsistent subsets are capped, never underflow.
    assert_eq!(
        TokenUsage::from_openai(10, 5, 50, 9),
        TokenUsage::new(0, 10, 0, 5)
    );
    // Anthropic: cache reads apart from input; cache writes are input.
    let u = TokenUsage::from_anthropic(40, 1200, 2048, 300);
    assert_eq!(u, TokenUsage::new(1240, 2048, 300, 0));
    assert_eq!(u.total_input(), 40 + 1200 + 2048);
    for t in GenAiTokenType::ALL {
        assert_eq!(GenAiTokenType::parse(t.as_str()), Some(*t));
    }
}

#[test]
fn a_known_sequence_of_calls_gives_exact_tokens_cost_and_histograms() {
    let c = collector();
    // 1. Non-streamed gpt-4o call, OpenAI usage with cached input.
    let cost = c.record_gen_ai_operation(
        GenAiOperation::Chat,
        "openai",
        "gpt-4o",
        Duration::from_millis(1500),
        None,
        &TokenUsage::from_openai(1200, 300, 1000, 0),
    );
    assert_eq!(
        cost,
        Some(200.0 * 2.5 / 1e6 + 1000.0 * 1.25 / 1e6 + 300.0 * 10.0 / 1e6)
    );
    // 2. Streamed o4-mini call: 10 chunks, reasoning tokens.
    let mut call = LlmSpan::start(&c, GenAiOperation::Chat, "openai", "o4-mini");
    std::thread::sleep(Duration::from_millis(25));
    for _ in 0..10 {
        call.chunk();
    }
    call.set_usage(TokenUsage::from_openai(2000, 900, 1024, 600));
    call.finish_reason("stop");
    let cost2 = call.finish();
    assert_eq!(
        cost2,
        Some(976.0 * 1.1 / 1e6 + 1024.0 * 0.275 / 1e6 + 300.0 * 4.4 / 1e6 + 600.0 * 4.4 / 1e6)
    );
    // 3. Streamed gpt-4o call that times out after 4 chunks (usage unknown).
    let mut call = LlmSpan::start(&c, GenAiOperation::Chat, "openai", "gpt-4o");
    for _ in 0..4 {
        call.chunk();
    }
    assert_eq!(call.fail("timeout"), Some(0.0));
    // 4. Non-streamed Anthropic call.
    c.record_gen_ai_operation(
        GenAiOperation::Chat,
        "anthropic",
        "claude-3-haiku",
        Duration::from_millis(300),
        None,
        &TokenUsage::from_anthropic(100, 0, 4096, 50),
    );

    let t = c.encode_text();
    let gpt = labels("openai", "gpt-4o");
    let o4 = labels("openai", "o4-mini");
    let haiku = labels("anthropic", "claude-3-haiku");
    let d = "gen_ai_client_operation_duration_seconds";
    // Durations: successes without error_type, the failure with it.
    assert_eq!(v(&t, &format!("{d}_count{{{gpt}}}")), 1.0);
    assert_eq!(v(&t, &format!("{d}_sum{{{gpt}}}")), 1.5);
    assert_eq!(v(&t, &format!(r#"{d}_bucket{{{gpt},le="1.28"}}"#)), 0.0);
    assert_eq!(v(&t, &format!(r#"{d}_bucket{{{gpt},le="2.56"}}"#)), 1.0);
    assert_eq!(
        v(&t, &format!(r#"{d}_count{{{gpt},error_type="timeout"}}"#)),
        1.0
    );
    assert_eq!(v(&t, &format!("{d}_count{{{o4}}}")), 1.0);
    assert_eq!(v(&t, &format!("{d}_sum{{{haiku}}}")), 0.3);
    // Tokens: one observation per call and type, sums exact.
    let tok = |l: &str, ty: &str, s: &str| {
        v(
            &t,
            &format!(r#"gen_ai_client_token_usage_{s}{{{l},gen_ai_token_type="{ty}"}}"#),
        )
    };
    assert_eq!(tok(&gpt, "input", "sum"), 200.0);
    assert_eq!(tok(&gpt, "cached_input", "sum"), 1000.0);
    assert_eq!(tok(&gpt, "output", "sum"), 300.0);
    assert_eq!(
        tok(&gpt, "input", "count"),
        1.0,
        "the failed call had no usage"
    );
    assert!(sample(
        &t,
        &format!(r#"gen_ai_client_token_usage_sum{{{gpt},gen_ai_token_type="reasoning"}}"#)
    )
    .is_none());
    assert_eq!(tok(&o4, "input", "sum"), 976.0);
    assert_eq!(tok(&o4, "cached_input", "sum"), 1024.0);
    assert_eq!(tok(&o4, "output", "sum"), 300.0);
    assert_eq!(tok(&o4, "reasoning", "sum"), 600.0);
    assert_eq!(
        v(
            &t,
            &format!(
                r#"gen_ai_client_token_usage_bucket{{{o4},gen_ai_token_type="reasoning",le="256.0"}}"#
            )
        ),
        0.0
    );
    assert_eq!(
        v(
            &t,
            &format!(
                r#"gen_ai_client_token_usage_bucket{{{o4},gen_ai_token_type="reasoning",le="1024.0"}}"#
            )
        ),
        1.0
    );
    assert_eq!(tok(&haiku, "input", "sum"), 100.0);
    assert_eq!(tok(&haiku, "cached_input", "sum"), 4096.0);
    // Streaming: one time to first chunk per streamed call, one gap per chunk after the first.
    let ttfc = "gen_ai_client_operation_time_to_first_chunk_seconds";
    let tpoc = "gen_ai_client_operation_time_per_output_chunk_seconds";
    assert_eq!(v(&t, &format!("{ttfc}_count{{{o4}}}")), 1.0);
    assert!(v(&t, &format!("{ttfc}_sum{{{o4}}}")) >= 0.025);
    assert_eq!(
        v(&t, &format!(r#"{ttfc}_bucket{{{o4},le="0.02"}}"#)),
        0.0,
        "first chunk after 25 ms"
    );
    assert_eq!(v(&t, &format!("{ttfc}_count{{{gpt}}}")), 1.0);
    assert_eq!(v(&t, &format!("{tpoc}_count{{{o4}}}")), 9.0);
    assert_eq!(v(&t, &format!("{tpoc}_count{{{gpt}}}")), 3.0);
    assert!(
        sample(&t, &format!("{ttfc}_count{{{haiku}}}")).is_none(),
        "not streamed"
    );
    // Cost: exact sums by type.
    let cost = |p: &str, m: &str, ty: &str| {
        v(
            &t,
            &format!(
                r#"gen_ai_client_cost_usd_total{{gen_ai_provider_name="{p}",gen_ai_request_model="{m}",gen_ai_token_type="{ty}"}}"#
            ),
        )
    };
    assert_eq!(cost("openai", "gpt-4o", "input"), 200.0 * 2.5 / 1e6);
    assert_eq!(
        cost("openai", "gpt-4o", "cached_input"),
        1000.0 * 1.25 / 1e6
    );
    assert_eq!(cost("openai", "gpt-4o", "output"), 300.0 * 10.0 / 1e6);
    assert_eq!(cost("openai", "gpt-4o", "reasoning"), 0.0);
    assert_eq!(cost("openai", "o4-mini", "reasoning"), 600.0 * 4.4 / 1e6);
    assert_eq!(
        cost("anthropic", "claude-3-haiku", "cached_input"),
        4096.0 * 0.03 / 1e6
    );
    assert!(!t.contains("gen_ai_client_unpriced_operations_total{"));
}

#[test]
fn cost_sums_are_exact_across_threads() {
    let c = collector();
    let threads = 8;
    let calls = 2_000;
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || {
                for j in 0..calls {
                    // Uneven counts: float addition call by call would drift.
                    let n = 1 + (i * 7 + j * 13) % 97;
                    c.record_gen_ai_operation(
                        GenAiOperation::Chat,
                        "openai",
                        "o4-mini",
                        Duration::from_millis(5),
                        None,
                        &TokenUsage::new(n, 3 * n, 2 * n, 5 * n),
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut total = 0u64;
    for i in 0..threads {
        for j in 0..calls {
            total += 1 + (i * 7 + j * 13) % 97;
        }
    }
    let t = c.encode_text();
    let price = c.price_of("o4-mini").unwrap();
    for (ty, factor) in [
        (GenAiTokenType::Input, 1),
        (GenAiTokenType::CachedInput, 3),
        (GenAiTokenType::Output, 2),
        (GenAiTokenType::Reasoning, 5),
    ] {
        let tokens = total * factor;
        let series = format!(
            r#"gen_ai_client_cost_usd_total{{gen_ai_provider_name="openai",gen_ai_request_model="o4-mini",gen_ai_token_type="{}"}}"#,
            ty.as_str()
        );
        assert_eq!(v(&t, &series), price.cost(ty, tokens), "{series}");
        assert_eq!(
            v(
                &t,
                &format!(
                    r#"gen_ai_client_token_usage_sum{{{},gen_ai_token_type="{}"}}"#,
                    labels("openai", "o4-mini"),
                    ty.as_str()
                )
            ),
            tokens as f64
        );
    }
}

/// Counts WARN events whose message mentions the price table.
struct CountWarnings(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Msg(bool);
        impl tracing::field::Visit for Msg {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" && format!("{v:?}").contains("LLM_PRICES") {
                    self.0 = true;
                }
            }
        }
        let mut m = Msg(false);
        event.record(&mut m);
        if *event.metadata().level() == tracing::Level::WARN && m.0 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_model_missing_from_the_table_is_counted_and_warned_about_once() {
    use tracing_subscriber::layer::SubscriberExt;
    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(CountWarnings(Arc::clone(&warnings)));
    let c = collector();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..3 {
            c.record_gen_ai_operation(
                GenAiOperation::Chat,
                "openai",
                "gpt-5-preview",
                Duration::from_millis(5),
                None,
                &TokenUsage::new(10, 0, 10, 0),
            );
        }
        let mut call = LlmSpan::start(&c, GenAiOperation::Chat, "acme", "gpt-5-preview");
        call.set_usage(TokenUsage::new(1, 0, 1, 0));
        assert_eq!(call.finish(), None, "no price, no cost");
        c.record_gen_ai_operation(
            GenAiOperation::Chat,
            "mistral",
            "mistral-large",
            Duration::from_millis(5),
            None,
            &TokenUsage::new(10, 0, 10, 0),
        );
    });
    assert_eq!(warnings.load(Ordering::Relaxed), 2, "one warning per model");
    let t = c.encode_text();
    let unpriced = |p: &str, m: &str| {
        v(
            &t,
            &format!(
                r#"gen_ai_client_unpriced_operations_total{{gen_ai_provider_name="{p}",gen_ai_request_model="{m}"}}"#
            ),
        )
    };
    assert_eq!(unpriced("openai", "gpt-5-preview"), 3.0);
    assert_eq!(unpriced("acme", "gpt-5-preview"), 1.0);
    assert_eq!(unpriced("mistral", "mistral-large"), 1.0);
    assert!(
        !t.contains(r#"gen_ai_client_cost_usd_total{gen_ai_provider_name="openai",gen_ai_request_model="gpt-5-preview""#),
        "never priced at 0"
    );
    // Pricing the model later bills what comes after, not what came before.
    c.set_prices(
        PriceTable::from_toml_str(PRICES)
            .unwrap()
            .with_model("gpt-5-preview", ModelPrice::new(1.0, None, 2.0, None)),
    );
    c.record_gen_ai_operation(
        GenAiOperation::Chat,
        "openai",
        "gpt-5-preview",
        Duration::from_millis(5),
        None,
        &TokenUsage::new(1_000_000, 0, 0, 0),
    );
    let t = c.encode_text();
    assert_eq!(
        v(
            &t,
            r#"gen_ai_client_cost_usd_total{gen_ai_provider_name="openai",gen_ai_request_model="gpt-5-preview",gen_ai_token_type="input"}"#
        ),
        1.0
    );
}

fn price_error(toml: &str) -> megaobs::metrics::PriceTableError {
    PriceTable::from_toml_str(toml).unwrap_err()
}

#[test]
fn every_bad_price_table_is_an_error_naming_file_model_and_key() {
    let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
        (
            "[models.\"gpt-4o\"\ninput = 1",
            None,
            None,
            "not valid TOML",
        ),
        (
            "[models.\"gpt-4o\"]\ninput = -2.5\noutput = 10",
            Some("gpt-4o"),
            Some("input"),
            "negative",
        ),
        (
            "[models.\"gpt-4o\"]\ninput = \"2.5\"\noutput = 10",
            Some("gpt-4o"),
            Some("input"),
            "is not a number",
        ),
        (
            "[models.\"gpt-4o\"]\ninput = 2.5\noutput = 10\ncache_read = 1.0",
            Some("gpt-4o"),
            Some("cache_read"),
            "unknown token type",
        ),
        (
            "[models.\"gpt-4o\"]\ninput = 2.5",
            Some("gpt-4o"),
            Some("output"),
            "required",
        ),
        (
            "[prices.\"gpt-4o\"]\ninput = 2.5",
            None,
            Some("prices"),
            "unknown key",
        ),
        ("models = 3", None, Some("models"), "not a table"),
        (
            "[models]\n\"gpt-4o\" = 2.5",
            Some("gpt-4o"),
            None,
            "not a table",
        ),
        (
            "[models.gpt-4.1]\ninput = 2\noutput = 8",
            Some("gpt-4"),
            Some("1"),
            "quote a model name that has dots",
        ),
        (
            "[models.\"gpt-4o\"]\ninput = nan\noutput = 1",
            Some("gpt-4o"),
            Some("input"),
            "not a finite number",
        ),
    ];
    for (toml, model, key, says) in cases {
        let e = price_error(toml);
        assert_eq!(e.model.as_deref(), *model, "{toml}: {e}");
        assert_eq!(e.key.as_deref(), *key, "{toml}: {e}");
        let msg = e.to_string();
        assert!(msg.contains(says), "{toml}: {msg}");
        assert!(msg.contains("LLM_PRICES"), "{msg}");
        if let (Some(m), Some(k)) = (model, key) {
            assert!(msg.contains(&format!("models.\"{m}\".{k}")), "{msg}");
        }
    }
    assert!(matches!(
        price_error("models = 3").kind,
        PriceErrorKind::NotATable
    ));
    assert!(matches!(
        price_error("[models.\"x\"]\ninput = -1\noutput = 1").kind,
        PriceErrorKind::Negative(v) if v == -1.0
    ));
    // Defaults: reasoning = output, cached_input = input; integers are prices too.
    let t = PriceTable::from_toml_str("[models.\"m\"]\ninput = 3\noutput = 15").unwrap();
    let m = t.get("m").unwrap();
    assert_eq!(m.per_million(GenAiTokenType::CachedInput), 3.0);
    assert_eq!(m.per_million(GenAiTokenType::Reasoning), 15.0);
    assert!(PriceTable::from_toml_str("").unwrap().is_empty());
}

#[test]
fn llm_prices_is_read_by_from_env_and_its_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("prices.toml");
    std::fs::write(&good, PRICES).unwrap();
    let lookup = |path: String| move |var: &str| (var == "LLM_PRICES").then(|| path.clone());
    let cfg = MetricsConfig::from_lookup(lookup(good.display().to_string())).unwrap();
    assert_eq!(cfg.prices.as_ref().map(PriceTable::len), Some(3));
    assert_eq!(MetricsConfig::from_lookup(|_| None).unwrap().prices, None);

    let missing = dir.path().join("nope.toml");
    let err = ObservabilityConfig::from_lookup(lookup(missing.display().to_string())).unwrap_err();
    assert!(
        matches!(&err, Error::PriceTable(e) if matches!(e.kind, PriceErrorKind::Unreadable(_)))
    );
    let msg = err.to_string();
    assert!(
        msg.contains("nope.toml") && msg.contains("set LLM_PRICES"),
        "{msg}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[models.\"gpt-4o\"]\ninput = 2.5\noutput = -1").unwrap();
    let msg = ObservabilityConfig::from_lookup(lookup(bad.display().to_string()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bad.toml")
            && msg.contains("models.\"gpt-4o\".output")
            && msg.contains("0 or more"),
        "{msg}"
    );
}

/// The duration series of one outcome of gpt-4o calls.
fn outcomes(c: &MetricsCollector) -> Vec<(String, f64)> {
    let t = c.encode_text();
    let prefix = "gen_ai_client_operation_duration_seconds_count{";
    t.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| {
            let (labels, value) = l.rsplit_once(' ').unwrap();
            let error = labels
                .split("error_type=\"")
                .nth(1)
                .map_or("ok".to_string(), |e| e.trim_end_matches("\"}").to_string());
            (error, value.parse().unwrap())
        })
        .collect()
}

fn stream(c: &MetricsCollector) -> LlmSpan {
    let mut call = LlmSpan::start(c, GenAiOperation::Chat, "openai", "gpt-4o");
    call.chunk();
    call.chunk();
    call.set_usage(TokenUsage::new(10, 0, 2, 0));
    call
}

#[test]
fn the_call_guard_records_exactly_once_on_every_exit_path() {
    // Finished.
    let c = collector();
    stream(&c).finish();
    assert_eq!(outcomes(&c), vec![("ok".into(), 1.0)]);

    // Dropped unfinished (an early return, a cancelled future).
    let c = collector();
    drop(stream(&c));
    assert_eq!(outcomes(&c), vec![("cancelled".into(), 1.0)]);

    // `?` while the call is in flight.
    let c = collector();
    fn call_then_fail(c: &MetricsCollector) -> Result<(), std::num::ParseIntError> {
        let call = stream(c);
        let _n: u32 = "not a number".parse()?;
        call.finish();
        Ok(())
    }
    assert!(call_then_fail(&c).is_err());
    assert_eq!(outcomes(&c), vec![("cancelled".into(), 1.0)]);

    // An error set, then dropped: the error it was given.
    let c = collector();
    let mut call = stream(&c);
    call.error("rate_limited");
    drop(call);
    assert_eq!(outcomes(&c), vec![("rate_limited".into(), 1.0)]);

    // Panic.
    let c = collector();
    let c2 = c.clone();
    let r = std::panic::catch_unwind(move || {
        let _call = stream(&c2);
        panic!("provider client bug");
    });
    assert!(r.is_err());
    assert_eq!(outcomes(&c), vec![("panic".into(), 1.0)]);

    // Tokens and cost were recorded once too.
    let t = c.encode_text();
    assert_eq!(
        v(
            &t,
            &format!(
                r#"gen_ai_client_token_usage_count{{{},gen_ai_token_type="input"}}"#,
                labels("openai", "gpt-4o")
            )
        ),
        1.0
    );
    assert_eq!(
        v(
            &t,
            r#"gen_ai_client_cost_usd_total{gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="input"}"#
        ),
        10.0 * 2.5 / 1e6
    );
}

#[test]
fn agent_and_tool_guards_record_once_and_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<LlmSpan>();
    assert_send::<GenAiStepSpan>();

    let c = collector();
    let agent = GenAiStepSpan::invoke_agent(&c, "researcher");
    let mut tool = GenAiStepSpan::execute_tool(&c, "web_search");
    tool.error("timeout");
    drop(tool);
    // A guard moved to another thread records there.
    std::thread::spawn(move || agent.finish()).join().unwrap();
    drop(GenAiStepSpan::execute_tool(&c, "calculator"));
    let t = c.encode_text();
    assert_eq!(
        v(
            &t,
            r#"gen_ai_invoke_agent_duration_seconds_count{gen_ai_agent_name="researcher"}"#
        ),
        1.0
    );
    assert_eq!(
        v(
            &t,
            r#"gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="web_search",error_type="timeout"}"#
        ),
        1.0
    );
    assert_eq!(
        v(
            &t,
            r#"gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="calculator",error_type="cancelled"}"#
        ),
        1.0
    );
    assert!(!t
        .contains(r#"gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="web_search"} "#));
    // The conventions' buckets: agent runs up to 409.6 s, tools as model calls.
    assert!(t.contains(
        r#"gen_ai_invoke_agent_duration_seconds_bucket{gen_ai_agent_name="researcher",le="409.6"} 1"#
    ));
    assert!(!t.contains(
        r#"gen_ai_invoke_agent_duration_seconds_bucket{gen_ai_agent_name="researcher",le="0.01"}"#
    ));
    assert!(t.contains(
        r#"gen_ai_execute_tool_duration_seconds_bucket{gen_ai_tool_name="calculator",error_type="cancelled",le="81.92"} 1"#
    ));
    assert!(!t.contains(r#"gen_ai_execute_tool_duration_seconds_bucket{gen_ai_tool_name="calculator",error_type="cancelled",le="409.6"}"#));
}

#[test]
fn provider_and_model_labels_pass_the_cardinality_guard() {
    let c = MetricsCollector::builder().max_label_values(4).build();
    for i in 0..20 {
        c.record_gen_ai_operation(
            GenAiOperation::Chat,
            "openai",
            &format!("model-{i}"),
            Duration::from_millis(1),
            Some(&format!("error-{i}")),
            &TokenUsage::new(1, 0, 1, 0),
        );
    }
    let t = c.encode_text();
    assert!(t.contains(r#"gen_ai_request_model="__overflow__""#), "{t}");
    assert!(c.label_overflow_count("gen_ai_client_operation_duration_seconds") > 0);
    let models: std::collections::HashSet<&str> = t
        .lines()
        .filter(|l| l.starts_with("gen_ai_client_token_usage_count"))
        .filter_map(|l| l.split("gen_ai_request_model=\"").nth(1))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert_eq!(models.len(), 5, "{models:?}");
}

#[test]
fn models_past_the_label_cap_keep_their_own_prices() {
    // One model slot: gpt-4o takes it, o4-mini and claude-3-haiku share the
    // overflow series, each billed at its own price; an unpriced model there
    // is counted as unpriced.
    let c = MetricsCollector::builder()
        .prices(PriceTable::from_toml_str(PRICES).unwrap())
        .max_label_values(1)
        .process_metrics(false)
        .build();
    let usage = TokenUsage::new(1_000_000, 0, 1_000_000, 0);
    let mut costs = Vec::new();
    for model in ["gpt-4o", "o4-mini", "claude-3-haiku", "unknown-model"] {
        costs.push(c.record_gen_ai_operation(
            GenAiOperation::Chat,
            "openai",
            model,
            Duration::from_millis(5),
            None,
            &usage,
        ));
    }
    assert_eq!(
        costs,
        [Some(12.5), Some(5.5), Some(1.5), None],
        "each call priced by its own model"
    );
    let t = c.encode_text();
    let overflow_cost: f64 = ["input", "output"]
        .iter()
        .map(|ty| {
            v(
                &t,
                &format!(
                    r#"gen_ai_client_cost_usd_total{{gen_ai_provider_name="openai",gen_ai_request_model="__overflow__",gen_ai_token_type="{ty}"}}"#
                ),
            )
        })
        .sum();
    assert_eq!(overflow_cost, 7.0, "o4-mini 5.5 + claude-3-haiku 1.5");
    assert_eq!(
        v(
            &t,
            r#"gen_ai_client_unpriced_operations_total{gen_ai_provider_name="openai",gen_ai_request_model="__overflow__"}"#
        ),
        1.0,
        "only unknown-model is unpriced"
    );
}

#[test]
fn error_types_are_capped_per_series_below_the_label_cap() {
    // The default cap is 256 per label; error types multiply with provider,
    // model and operation, so each series keeps 16.
    let c = MetricsCollector::new();
    for i in 0..40 {
        c.record_gen_ai_operation(
            GenAiOperation::Chat,
            "openai",
            "gpt-4o",
            Duration::from_millis(1),
            Some(&format!("error-{i}")),
            &TokenUsage::new(1, 0, 1, 0),
        );
        c.record_tool_execution("search", Duration::from_millis(1), Some(&format!("e{i}")));
    }
    let t = c.encode_text();
    let count = |prefix: &str| {
        t.lines()
            .filter(|l| l.starts_with(prefix) && l.contains("error_type="))
            .collect::<Vec<_>>()
    };
    let calls = count("gen_ai_client_operation_duration_seconds_count");
    assert_eq!(
        calls.len(),
        17,
        "16 error types and the overflow: {calls:#?}"
    );
    let tools = count("gen_ai_execute_tool_duration_seconds_count");
    assert_eq!(tools.len(), 17, "{tools:#?}");
    let overflowed: f64 = calls
        .iter()
        .chain(&tools)
        .filter(|l| l.contains(r#"error_type="__overflow__""#))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert_eq!(overflowed, 48.0, "24 of each past the cap");
}

#[megaobs::trace_workflow_node("web_search_step", tool)]
fn web_search_step(query: &str) -> Result<usize, std::fmt::Error> {
    if query.is_empty() {
        return Err(std::fmt::Error);
    }
    Ok(query.len())
}

#[megaobs::trace_workflow_node("planner_step", agent, workflow = "genai_steps")]
fn planner_step(query: &str) -> usize {
    web_search_step(query).unwrap_or(0)
}

#[test]
fn workflow_nodes_marked_agent_or_tool_record_their_step_metrics() {
    assert_eq!(planner_step("rust"), 4);
    assert!(web_search_step("").is_err());
    let t = megaobs::metrics().encode_text();
    assert_eq!(
        v(
            &t,
            r#"gen_ai_invoke_agent_duration_seconds_count{gen_ai_agent_name="planner_step"}"#
        ),
        1.0
    );
    assert_eq!(
        v(
            &t,
            r#"gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="web_search_step"}"#
        ),
        1.0
    );
    assert_eq!(
        v(
            &t,
            r#"gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="web_search_step",error_type="error"}"#
        ),
        1.0
    );
    // Still workflow nodes.
    assert_eq!(
        v(
            &t,
            r#"workflow_nodes_executed_total{workflow_name="genai_steps",node_name="planner_step",status="success"}"#
        ),
        1.0
    );
}

#[test]
fn the_call_guard_crosses_awaits_in_a_spawned_task() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let c = collector();
    let c2 = c.clone();
    let c_for_abort = c.clone();
    rt.block_on(async move {
        // `tokio::spawn` needs a `Send` future: the guard lives across the awaits.
        tokio::spawn(async move {
            let mut call = LlmSpan::start(&c2, GenAiOperation::Chat, "openai", "gpt-4o");
            let _parent_for_http = call.context();
            tokio::time::sleep(Duration::from_millis(15)).await;
            for _ in 0..3 {
                call.chunk();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            call.set_usage(TokenUsage::new(5, 0, 3, 0));
            call.finish();
        })
        .await
        .unwrap();
        // A task aborted mid-stream drops its guard: recorded as cancelled.
        let c3 = c_for_abort;
        let task = tokio::spawn(async move {
            let mut call = LlmSpan::start(&c3, GenAiOperation::Chat, "openai", "gpt-4o");
            call.chunk();
            tokio::time::sleep(Duration::from_secs(60)).await;
            call.finish();
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
    });
    let t = c.encode_text();
    let gpt = labels("openai", "gpt-4o");
    let ttfc = v(
        &t,
        &format!("gen_ai_client_operation_time_to_first_chunk_seconds_sum{{{gpt}}}"),
    );
    assert!(ttfc >= 0.015, "{ttfc}");
    assert_eq!(
        v(
            &t,
            &format!("gen_ai_client_operation_duration_seconds_count{{{gpt}}}")
        ),
        1.0
    );
    assert_eq!(
        v(
            &t,
            &format!(
                r#"gen_ai_client_operation_duration_seconds_count{{{gpt},error_type="cancelled"}}"#
            )
        ),
        1.0
    );
}
