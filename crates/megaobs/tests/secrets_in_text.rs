//! Secrets typed into free text (a query holding `password=…`, an `sk-…` key, a
//! bearer JWT, an AWS key id, a PEM private key) are masked in log lines (JSON
//! and text, message and field values) and in exported span attributes, while
//! near-misses are written as they are.

mod common;

use common::SharedBuf;
use std::time::Duration;

use common::receivers::Receivers;
use megaobs::logging::{LogFormat, LogLayer, LoggingConfig};
use megaobs::trace::{OtlpProtocol, TracingConfig, TracingContext, TracingExporter};
use tracing_subscriber::prelude::*;

const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
const SECRETS: [&str; 6] = [
    "hunter2",
    "sk-proj-abcdefghijklmnopqrstuv",
    "dozjgNryP4J3jVmNHl0w5N",
    "AKIAIOSFODNN7EXAMPLE",
    "MIIEowIBAAKCAQEA",
    "s3cr3t-token-value",
];

fn hostile_query() -> String {
    format!(
        "login password=hunter2 with key sk-proj-abcdefghijklmnopqrstuv, \
         header Authorization: Bearer {JWT}, aws AKIAIOSFODNN7EXAMPLE, \
         -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    )
}

const NEAR_MISSES: &str = "What is RAG? prompt_tokens=150 sk-short risk-assessment AKIAshort \
     hash deadbeefcafe1234 a bearer of news";

#[test]
fn secret_shapes_are_masked_in_lines_and_spans() {
    // Spans: a real OTLP/gRPC receiver.
    let rx = Receivers::new();
    let addr = rx.grpc();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("secrets")
            .exporter(TracingExporter::Otlp)
            .otlp(format!("127.0.0.1:{}", addr.port()), OtlpProtocol::Grpc)
            .scheduled_delay(Duration::from_millis(50)),
    )
    .unwrap();
    let query = hostile_query();
    {
        let span = TracingContext::new("research");
        span.set_attribute("query", query.clone());
        span.set_attribute("note", NEAR_MISSES);
        span.record_error(&std::io::Error::other(
            "auth failed for token=s3cr3t-token-value",
        ));
    }
    assert!(guard.flush());
    let spans = rx.wait_for(Duration::from_secs(10), |s| !s.is_empty());
    let span = spans.iter().find(|s| s.name == "research").unwrap();
    let exported = format!("{:?}", span);
    for secret in SECRETS {
        assert!(
            !exported.contains(secret),
            "span leaked {secret}: {exported}"
        );
    }
    assert!(span.attributes["query"].starts_with("login password=[REDACTED] with key [REDACTED],"));
    assert!(span.attributes["query"].contains("Authorization: Bearer [REDACTED]"));
    assert_eq!(
        span.attributes["note"], NEAR_MISSES,
        "near-misses are left alone"
    );
    assert_eq!(span.status_message, "auth failed for token=[REDACTED]");

    // Lines: JSON and text, message and field values.
    for format in [LogFormat::Json, LogFormat::Text] {
        let buf = SharedBuf::default();
        let (layer, log_guard) = LogLayer::builder(
            LoggingConfig::default()
                .console(false)
                .file(false)
                .format(format),
        )
        .writer(buf.clone())
        .build()
        .unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(query = %query, note = NEAR_MISSES, "user sent password=hunter2");
        });
        assert!(log_guard.flush(Duration::from_secs(5)));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        for secret in SECRETS {
            assert!(!text.contains(secret), "{format:?} leaked {secret}: {text}");
        }
        assert!(text.contains("user sent password=[REDACTED]"), "{text}");
        assert!(
            text.contains("What is RAG? prompt_tokens=150 sk-short"),
            "{text}"
        );
        if format == LogFormat::Json {
            let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
            assert_eq!(line["note"], NEAR_MISSES);
            assert!(line["query"].as_str().unwrap().contains("aws [REDACTED],"));
        }
    }
    // Value scanning can be turned off (field names are still redacted).
    let buf = SharedBuf::default();
    let (layer, log_guard) = LogLayer::builder(
        LoggingConfig::default()
            .console(false)
            .file(false)
            .redact_values(false),
    )
    .writer(buf.clone())
    .build()
    .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(password = "pw", "raw password=hunter2");
    });
    assert!(log_guard.flush(Duration::from_secs(5)));
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("raw password=hunter2") && text.contains("\"password\":\"[REDACTED]\""),
        "{text}"
    );
}
