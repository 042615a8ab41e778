//! OTLP log export (`LOG_EXPORTER=otlp`) against in-process receivers built
//! from opentelemetry-proto: what a record carries, both protocols, with and
//! without TLS; refused TLS (unknown CA, missing client certificate, expired
//! certificate) and a dead endpoint lose records visibly, never blocking a
//! log call.

mod common;

use std::time::{Duration, Instant};

use megaobs::config::{LoggingConfig, OtlpLogs};
use megaobs::export::{Compression, ExportOptions, OtlpProtocol};
use megaobs::logging::LogLayer;
use megaobs::MetricsCollector;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_subscriber::prelude::*;

use common::pki::Pki;
use common::receivers::Receivers;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn config(endpoint: String, protocol: OtlpProtocol, options: ExportOptions) -> LoggingConfig {
    LoggingConfig::default()
        .console(false)
        .file(false)
        .service_name("log-export-test")
        .otlp(Some(
            OtlpLogs::new(endpoint, protocol)
                .options(options)
                .timeout(Duration::from_secs(2)),
        ))
}

/// Logs `n` INFO lines and one ERROR inside a remote span context, with a
/// secret field; returns the longest single log call.
fn log_lines(layer: LogLayer, n: usize) -> Duration {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let cx = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        let _attached = cx.attach();
        let mut longest = Duration::ZERO;
        for i in 0..n {
            let t = Instant::now();
            tracing::info!(
                user_id = "u1",
                documents = i,
                password = "hunter2",
                "research step done"
            );
            longest = longest.max(t.elapsed());
        }
        tracing::error!(code = 503, "provider failed");
        longest
    })
}

fn counter(collector: &MetricsCollector, series: &str) -> f64 {
    common::sample(&collector.encode_text(), series).unwrap_or(0.0)
}

#[test]
fn records_carry_severity_body_attributes_service_and_the_span_ids() {
    for (protocol, text) in [
        (OtlpProtocol::Grpc, false),
        (OtlpProtocol::HttpProtobuf, false),
        (OtlpProtocol::Grpc, true),
    ] {
        let rx = Receivers::new();
        let addr = match protocol {
            OtlpProtocol::Grpc => rx.grpc(),
            OtlpProtocol::HttpProtobuf => rx.http(),
        };
        let mut cfg = config(
            format!("127.0.0.1:{}", addr.port()),
            protocol,
            ExportOptions::default(),
        );
        if text {
            cfg = cfg.format(megaobs::config::LogFormat::Text);
        }
        let collector = MetricsCollector::new();
        let (layer, guard) = LogLayer::builder(cfg)
            .metrics(collector.clone())
            .build()
            .unwrap();
        log_lines(layer, 3);
        assert!(
            guard.flush(Duration::from_secs(10)),
            "{protocol:?}: flushed"
        );
        let logs = rx.wait_for_logs(Duration::from_secs(5), |l| l.len() >= 4);
        assert_eq!(logs.len(), 4, "{protocol:?} text={text}: {logs:?}");
        let info = &logs[0];
        assert_eq!(info.service, "log-export-test");
        assert_eq!(
            (info.severity_number, info.severity_text.as_str()),
            (9, "INFO")
        );
        assert_eq!(info.body, "research step done");
        assert_eq!(info.attributes["user_id"], "u1");
        assert_eq!(info.attributes["documents"], "0");
        assert_eq!(
            info.attributes["password"], "[REDACTED]",
            "redacted before export"
        );
        assert_eq!(
            (info.trace_id.as_str(), info.span_id.as_str()),
            (TRACE, SPAN)
        );
        assert!(info.time_unix_nano > 0);
        let error = &logs[3];
        assert_eq!(
            (error.severity_number, error.severity_text.as_str()),
            (17, "ERROR")
        );
        assert_eq!(error.attributes["code"], "503");
        assert_eq!(counter(&collector, "otel_log_records_exported_total"), 4.0);
        assert_eq!(guard.dropped_records(), 0);
    }
}

#[test]
fn a_private_ca_and_client_certificate_deliver_with_headers_and_gzip() {
    let pki = Pki::new("private");
    let client = pki.client();
    let tls = pki.server_tls(&pki.server(), true);
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
        let rx = Receivers::new();
        let addr = match protocol {
            OtlpProtocol::Grpc => rx.grpc_tls(&tls),
            OtlpProtocol::HttpProtobuf => rx.http_tls(&tls),
        };
        let options = ExportOptions::default()
            .ca_certificate(&pki.ca_file)
            .client_certificate(&client.cert_file, &client.key_file)
            .header("authorization", "Bearer tok-123456")
            .compression(Compression::Gzip);
        let cfg = config(
            format!("https://localhost:{}", addr.port()),
            protocol,
            options,
        );
        let (layer, guard) = LogLayer::builder(cfg)
            .metrics(MetricsCollector::new())
            .build()
            .unwrap();
        log_lines(layer, 2);
        assert!(guard.flush(Duration::from_secs(10)));
        assert_eq!(
            rx.wait_for_logs(Duration::from_secs(5), |l| l.len() >= 3)
                .len(),
            3,
            "{protocol:?}"
        );
        let h = rx.headers();
        assert!(h
            .iter()
            .all(|h| h.get("authorization").map(String::as_str) == Some("Bearer tok-123456")));
        let gzip = |h: &std::collections::HashMap<String, String>| {
            h.get("grpc-encoding")
                .or(h.get("content-encoding"))
                .map(String::as_str)
                == Some("gzip")
        };
        assert!(h.iter().all(gzip), "{protocol:?}: {h:?}");
    }
}

#[test]
fn refused_tls_delivers_nothing_and_counts_every_record() {
    let pki = Pki::new("private");
    let other = Pki::new("other");
    let client = pki.client();
    let cases = [
        ("unknown CA", other.server_tls(&other.server(), false), true),
        (
            "client certificate required",
            pki.server_tls(&pki.server(), true),
            false,
        ),
        (
            "expired certificate",
            pki.server_tls(&pki.expired_server(), false),
            true,
        ),
    ];
    for (case, tls, with_client_cert) in cases {
        for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
            let rx = Receivers::new();
            let addr = match protocol {
                OtlpProtocol::Grpc => rx.grpc_tls(&tls),
                OtlpProtocol::HttpProtobuf => rx.http_tls(&tls),
            };
            let mut options = ExportOptions::default().ca_certificate(&pki.ca_file);
            if with_client_cert {
                options = options.client_certificate(&client.cert_file, &client.key_file);
            }
            let cfg = config(
                format!("https://localhost:{}", addr.port()),
                protocol,
                options,
            );
            let collector = MetricsCollector::new();
            let (layer, guard) = LogLayer::builder(cfg)
                .metrics(collector.clone())
                .build()
                .unwrap();
            let longest = log_lines(layer, 9);
            assert!(
                longest < Duration::from_millis(200),
                "{case}: a log call took {longest:?}"
            );
            assert!(
                guard.flush(Duration::from_secs(15)),
                "{case} {protocol:?}: flush returns"
            );
            assert!(
                rx.logs().is_empty(),
                "{case} {protocol:?}: nothing delivered"
            );
            assert_eq!(guard.dropped_records(), 10, "{case} {protocol:?}");
            assert_eq!(
                counter(
                    &collector,
                    "otel_log_records_dropped_total{reason=\"export_failed\"}"
                ),
                10.0,
                "{case} {protocol:?}"
            );
        }
    }
}

#[test]
fn a_refused_credential_delivers_nothing_and_counts_every_record() {
    let rx = Receivers::new();
    rx.require_authorization("Bearer right-token");
    let addr = rx.http();
    let endpoint = format!("127.0.0.1:{}", addr.port());
    // The right token is delivered; a wrong one is answered 401 and counted.
    for (token, delivered) in [("Bearer right-token", 3), ("Bearer wrong-token", 0)] {
        let options = ExportOptions::default().header("authorization", token);
        let cfg = config(endpoint.clone(), OtlpProtocol::HttpProtobuf, options);
        let collector = MetricsCollector::new();
        let (layer, guard) = LogLayer::builder(cfg)
            .metrics(collector.clone())
            .build()
            .unwrap();
        let before = rx.logs().len();
        log_lines(layer, 2);
        assert!(guard.flush(Duration::from_secs(10)));
        assert_eq!(rx.logs().len() - before, delivered, "{token}");
        assert_eq!(guard.dropped_records(), 3 - delivered as u64, "{token}");
        assert_eq!(
            counter(
                &collector,
                "otel_log_records_dropped_total{reason=\"export_failed\"}"
            ),
            (3 - delivered) as f64
        );
    }
}

#[test]
fn a_dead_endpoint_never_blocks_a_log_call_and_counts_every_record() {
    let port = common::free_port();
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
        let cfg = config(
            format!("127.0.0.1:{port}"),
            protocol,
            ExportOptions::default(),
        );
        let collector = MetricsCollector::new();
        let (layer, guard) = LogLayer::builder(cfg)
            .metrics(collector.clone())
            .build()
            .unwrap();
        let longest = log_lines(layer, 999);
        assert!(
            longest < Duration::from_millis(200),
            "a log call took {longest:?}"
        );
        let started = Instant::now();
        assert!(
            guard.flush(Duration::from_secs(20)),
            "{protocol:?}: flush returns"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(guard.dropped_records(), 1000, "{protocol:?}");
        assert_eq!(
            counter(
                &collector,
                "otel_log_records_dropped_total{reason=\"export_failed\"}"
            ),
            1000.0
        );
        assert_eq!(counter(&collector, "otel_log_records_exported_total"), 0.0);
    }
}

#[test]
fn a_full_export_queue_drops_and_counts_without_touching_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = LoggingConfig::default()
        .console(false)
        .dir(dir.path())
        .service_name("queue-test")
        .otlp(Some(
            OtlpLogs::new(format!("127.0.0.1:{port}"), OtlpProtocol::HttpProtobuf)
                .max_queue_size(10),
        ));
    let collector = MetricsCollector::new();
    let (layer, guard) = LogLayer::builder(cfg)
        .metrics(collector.clone())
        .build()
        .unwrap();
    log_lines(layer, 2_000);
    assert!(guard.flush(Duration::from_secs(20)));
    let full = counter(
        &collector,
        "otel_log_records_dropped_total{reason=\"queue_full\"}",
    );
    let failed = counter(
        &collector,
        "otel_log_records_dropped_total{reason=\"export_failed\"}",
    );
    assert!(full > 0.0, "a 10-record queue overflows");
    assert_eq!(full + failed, 2_001.0, "every record is accounted for");
    drop(guard);
    let text = std::fs::read_to_string(dir.path().join("queue-test.log")).unwrap();
    assert_eq!(text.lines().count(), 2_001, "the file output is unaffected");
}
