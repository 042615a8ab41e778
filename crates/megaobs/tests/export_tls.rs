//! The example service exporting traces and logs to backends that need TLS, a
//! client certificate and an auth header — over OTLP/gRPC, OTLP/HTTP and
//! Zipkin — against in-process receivers with certificates made at test time.
//! The header's value is a credential: it must reach the receiver and appear
//! nowhere else (stdout, stderr, log files, span or log attributes).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::example::Example;
use common::pki::Pki;
use common::receivers::Receivers;

const TOKEN: &str = "tok-4f1d9c2a7e5b";

/// Runs the example for `secs` with `env`; returns its stdout lines, its
/// stderr and every log file's text.
fn run(secs: u32, env: Vec<(&str, String)>) -> (Vec<String>, String, String) {
    let logs = tempfile::tempdir().unwrap();
    let stderr_path = logs.path().join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut env = env;
    env.push(("LOG_DIR", logs.path().join("logs").display().to_string()));
    let duration = secs.to_string();
    let mut example = Example::start_with_stderr(
        &[
            "--listen",
            "127.0.0.1:0",
            "--duration",
            &duration,
            "--rps",
            "10",
        ],
        &env,
        Stdio::from(stderr),
    );
    let status = example.wait_exit(Duration::from_secs(u64::from(secs) + 30));
    assert!(status.success(), "the example exits cleanly: {status:?}");
    let mut files = String::new();
    for entry in std::fs::read_dir(logs.path().join("logs")).unwrap() {
        files.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    (
        example.printed.clone(),
        std::fs::read_to_string(stderr_path).unwrap(),
        files,
    )
}

fn tls_env(pki: &Pki, endpoint: String, protocol: &str) -> Vec<(&'static str, String)> {
    let client = pki.client();
    vec![
        ("TRACING_EXPORTER", "otlp".into()),
        ("OTLP_ENDPOINT", endpoint),
        ("OTLP_PROTOCOL", protocol.into()),
        ("LOG_EXPORTER", "otlp".into()),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca_file.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            client.cert_file.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            client.key_file.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization=Bearer%20{TOKEN},x-tenant=acme"),
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
    ]
}

#[test]
fn traces_and_logs_reach_an_mtls_backend_with_the_auth_header_and_nothing_secret_is_printed() {
    for protocol in ["grpc", "http/protobuf"] {
        let pki = Pki::new("private");
        let tls = pki.server_tls(&pki.server(), true);
        let rx = Receivers::new();
        let addr = match protocol {
            "grpc" => rx.grpc_tls(&tls),
            _ => rx.http_tls(&tls),
        };
        let endpoint = format!("https://localhost:{}", addr.port());
        let (stdout, stderr, files) = run(4, tls_env(&pki, endpoint, protocol));

        let spans = rx.spans();
        let logs = rx.logs();
        assert!(!spans.is_empty(), "{protocol}: spans delivered over mTLS");
        assert!(
            !logs.is_empty(),
            "{protocol}: log records delivered over mTLS"
        );
        // A log record written inside a span carries that span's ids, and the
        // same receiver got the span.
        let linked = logs.iter().find(|l| {
            !l.trace_id.is_empty()
                && spans
                    .iter()
                    .any(|s| s.trace_id == l.trace_id && s.span_id == l.span_id)
        });
        let linked = linked.unwrap_or_else(|| panic!("{protocol}: a log record linked to a span"));
        assert_eq!(linked.service, "megaagent-pro");
        assert!(linked.severity_number > 0 && !linked.severity_text.is_empty());
        assert!(!linked.body.is_empty());
        // Every request carried the headers, gzip-compressed.
        let headers = rx.headers();
        assert!(!headers.is_empty());
        for h in &headers {
            assert_eq!(
                h.get("authorization").map(String::as_str),
                Some(&*format!("Bearer {TOKEN}"))
            );
            assert_eq!(h.get("x-tenant").map(String::as_str), Some("acme"));
            let encoding = match protocol {
                "grpc" => h.get("grpc-encoding"),
                _ => h.get("content-encoding"),
            };
            assert_eq!(
                encoding.map(String::as_str),
                Some("gzip"),
                "{protocol}: {h:?}"
            );
        }
        // The credential appears nowhere but on the wire.
        assert!(!stdout.join("\n").contains(TOKEN), "{protocol}: stdout");
        assert!(!stderr.contains(TOKEN), "{protocol}: stderr: {stderr}");
        assert!(!files.contains(TOKEN), "{protocol}: log files");
        for s in &spans {
            assert!(!s.attributes.values().any(|v| v.contains(TOKEN)), "{s:?}");
        }
        for l in &logs {
            assert!(!l.body.contains(TOKEN) && !l.attributes.values().any(|v| v.contains(TOKEN)));
        }
    }
}

#[test]
fn a_server_signed_by_another_ca_gets_nothing_and_the_failure_is_named_once() {
    let pki = Pki::new("private");
    let other = Pki::new("other");
    let rx = Receivers::new();
    let addr = rx.http_tls(&other.server_tls(&other.server(), false));
    let env = tls_env(
        &pki,
        format!("https://localhost:{}", addr.port()),
        "http/protobuf",
    );
    let (stdout, stderr, _) = run(6, env);
    assert!(
        rx.spans().is_empty() && rx.logs().is_empty(),
        "nothing delivered"
    );
    assert!(rx.refused_handshakes() > 0, "the client refused the server");
    assert!(
        stderr.contains("span export to https://localhost")
            && stderr.contains("not signed by the configured CA"),
        "{stderr}"
    );
    assert!(
        stderr.contains("log export to https://localhost"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN) && !stdout.join("\n").contains(TOKEN));
    // Rate-limited: one report per signal in a short run, not one per batch.
    assert_eq!(stderr.matches("span export to").count(), 1, "{stderr}");
    // The service kept serving: its load generator's requests were answered.
    let served = stdout.iter().find_map(|l| {
        let n = l.trim().strip_prefix("status: ")?.split(' ').next()?;
        n.parse::<u64>().ok()
    });
    assert!(served.is_some_and(|n| n > 0), "status line: {stdout:?}");
}

#[test]
fn zipkin_over_https_with_a_private_ca_and_gzip() {
    let pki = Pki::new("private");
    let rx = Receivers::new();
    let addr = rx.zipkin_tls(&pki.server_tls(&pki.server(), false));
    let (_, stderr, _) = run(
        3,
        vec![
            ("TRACING_EXPORTER", "zipkin".into()),
            (
                "ZIPKIN_ENDPOINT",
                format!("https://localhost:{}/api/v2/spans", addr.port()),
            ),
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                pki.ca_file.display().to_string(),
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization=Bearer%20{TOKEN}"),
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
        ],
    );
    let spans = rx.zipkin.lock().unwrap().clone();
    assert!(!spans.is_empty(), "Zipkin spans over TLS; stderr: {stderr}");
    assert_eq!(spans[0]["localEndpoint"]["serviceName"], "megaagent-pro");
    let headers = rx.headers();
    assert!(!headers.is_empty());
    assert!(headers
        .iter()
        .all(|h| h.get("authorization") == Some(&format!("Bearer {TOKEN}"))));
    assert!(
        headers
            .iter()
            .all(|h| h.get("content-encoding").map(String::as_str) == Some("gzip")),
        "every request gzipped: {headers:?}"
    );
    assert!(!stderr.contains(TOKEN));
}

#[test]
fn a_missing_certificate_file_stops_the_start_naming_the_variable_and_path() {
    let out = std::process::Command::new(common::example::example_binary())
        .args(["--listen", "127.0.0.1:0", "--duration", "1"])
        .env("TRACING_EXPORTER", "otlp")
        .env("OTLP_ENDPOINT", "https://localhost:4317")
        .env("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization=Bearer%20{TOKEN}"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_CERTIFICATE") && stderr.contains("/nonexistent/ca.pem"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN));
}
