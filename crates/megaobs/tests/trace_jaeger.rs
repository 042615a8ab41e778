//! `jaeger` means OTLP to Jaeger's host and port; the removed UDP agent ports
//! are refused with the port to use instead.

mod common;

use std::time::Duration;

use common::receivers::Receivers;
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::TracingContext;

#[test]
fn jaeger_sends_otlp_to_host_and_port_and_refuses_agent_ports() {
    for port in [6831, 6832] {
        let err = megaobs::init_tracing(
            TracingConfig::default()
                .exporter(TracingExporter::Jaeger)
                .jaeger("localhost", port),
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&port.to_string()) && err.contains("4317") && err.contains("4318"),
            "{err}"
        );
    }
    // Refused up front, not at every export: a scheme in the Jaeger host, and
    // TLS files that cannot be read (https:// endpoints themselves are fine).
    let missing_ca =
        || megaobs::export::ExportOptions::default().ca_certificate("/nonexistent/ca.pem");
    for (config, field, reason) in [
        (
            TracingConfig::default()
                .exporter(TracingExporter::Otlp)
                .otlp("https://collector:4317", OtlpProtocol::Grpc)
                .export(missing_ca()),
            "ExportOptions::tls",
            "/nonexistent/ca.pem",
        ),
        (
            TracingConfig::default()
                .exporter(TracingExporter::Otlp)
                .otlp("HTTPS://collector:4318", OtlpProtocol::HttpProtobuf)
                .export(missing_ca()),
            "ExportOptions::tls",
            "/nonexistent/ca.pem",
        ),
        (
            TracingConfig::default()
                .exporter(TracingExporter::Jaeger)
                .jaeger("https://jaeger", 4317),
            "jaeger_host",
            "without a scheme",
        ),
        (
            TracingConfig::default()
                .exporter(TracingExporter::Zipkin)
                .zipkin_endpoint("https://zipkin:9411/api/v2/spans")
                .export(missing_ca()),
            "ExportOptions::tls",
            "/nonexistent/ca.pem",
        ),
    ] {
        let err = megaobs::init_tracing(config)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(field) && err.contains(reason), "{err}");
    }
    let rx = Receivers::new();
    let addr = rx.grpc();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("jaeger-e2e")
            .exporter(TracingExporter::Jaeger)
            .jaeger("127.0.0.1", addr.port())
            .scheduled_delay(Duration::from_millis(50)),
    )
    .expect("the refused configs did not use up init_tracing");
    drop(TracingContext::new("to_jaeger"));
    assert!(guard.shutdown());
    let spans = rx.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        (spans[0].name.as_str(), spans[0].service.as_str()),
        ("to_jaeger", "jaeger-e2e")
    );
}
