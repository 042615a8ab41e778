//! The README's main job, run as a test: the example service on an ephemeral
//! port with its built-in load, traces sent to an in-process OTLP receiver.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::example::Example;
use common::receivers::Receivers;
use megaobs::metrics::catalog;

#[test]
fn the_example_serves_every_pillar_and_exits_cleanly() {
    let rx = Receivers::new();
    let grpc = rx.grpc();
    let logs = tempfile::tempdir().unwrap();
    let mut example = Example::start(
        &["--listen", "127.0.0.1:0", "--duration", "12", "--rps", "20"],
        &[
            ("TRACING_EXPORTER", "otlp".into()),
            ("OTLP_ENDPOINT", format!("127.0.0.1:{}", grpc.port())),
            ("TRACING_SAMPLE_RATE", "1.0".into()),
            ("LOG_DIR", logs.path().display().to_string()),
            ("API_RATE_LIMIT", "60".into()),
        ],
    );
    let http = common::http_client();
    let url = |p: &str| example.url(p);

    // Bad input: clear 4xx JSON errors, no panic.
    let post = |body: Vec<u8>| {
        http.post(url("/api/research"))
            .header("content-type", "application/json")
            .header("x-api-key", "test-client")
            // The server may answer (413) before reading a large body and close
            // the connection: never reuse it for the next request.
            .header("connection", "close")
            .body(body)
            .send()
            .unwrap()
    };
    for (body, status) in [
        (b"{\"query\": ".to_vec(), 400),
        (b"{\"query\": \"What is AI?\"}".to_vec(), 422),
        (b"{\"query\": \"\", \"user_id\": \"u\"}".to_vec(), 422),
        (vec![b'a'; 1024 * 1024], 413),
    ] {
        let r = post(body);
        assert_eq!(r.status().as_u16(), status);
        let v: serde_json::Value = r.json().expect("a JSON error body");
        assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
    }
    let r = http
        .get(url("/no/such/route"))
        .header("x-api-key", "test-client")
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "not_found");
    let ok =
        post(br#"{"query": "What is retrieval augmented generation?", "user_id": "u1"}"#.to_vec());
    assert_eq!(ok.status(), 201);
    let id = ok.json::<serde_json::Value>().unwrap()["id"]
        .as_u64()
        .unwrap();
    let fetched: serde_json::Value = http
        .get(url(&format!("/api/research/{id}")))
        .header("x-api-key", "test-client")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(fetched["id"], id);
    assert_eq!(http.get(url("/ready")).send().unwrap().status(), 200);

    std::thread::sleep(Duration::from_secs(8));
    let exposition = http.get(url("/metrics")).send().unwrap().text().unwrap();
    let status = example.wait_exit(Duration::from_secs(40));
    let printed = &example.printed;
    assert!(
        status.success(),
        "exit status {status}; output:\n{}",
        printed.join("\n")
    );
    assert!(
        printed.iter().any(|l| l.contains("status:")),
        "a status line: {printed:?}"
    );
    assert_eq!(printed.last().map(String::as_str), Some("stopped cleanly"));

    // Every family of the catalogue has non-zero samples (gauges that are
    // legitimately zero at any instant, counters of a safety valve that a healthy
    // run never opens, and megaobs' own health counters, aside).
    let may_be_zero = [
        "workflow_human_reviews_pending",
        "mega_agent_open_connections",
        "mega_agent_rate_limit_evictions_total",
        "tokio_global_queue_depth",
        // The example prices every model it calls.
        "gen_ai_client_unpriced_operations_total",
    ];
    for d in catalog::ALL.iter().filter(|d| {
        d.domain != "megaobs"
            && !may_be_zero.contains(&d.name)
            && (cfg!(tokio_unstable) || !catalog::TOKIO_UNSTABLE_ONLY.contains(&d.name))
    }) {
        let nonzero = exposition.lines().any(|l| {
            !l.starts_with('#')
                && l.starts_with(d.name)
                && l[d.name.len()..].starts_with(['{', ' ', '_'])
                && l.rsplit(' ')
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|v| v > 0.0)
        });
        assert!(
            nonzero,
            "no non-zero sample of {} in the example's /metrics",
            d.name
        );
    }
    assert!(!exposition.contains("/no/such/route"));
    // The runtime's metrics are plausible: its workers (one per core), busy
    // for at most all their time, with tasks alive.
    let value = |name: &str| {
        exposition
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    assert_eq!(value("tokio_workers"), cores);
    let busy = value("tokio_worker_busy_seconds_total");
    assert!(busy > 0.0 && busy < cores * 30.0, "busy {busy} s");
    assert!(value("tokio_alive_tasks") >= 1.0);

    // Logs: both files exist, every line is JSON with the original design's fields.
    for f in ["megaagent-pro.log", "megaagent-pro.error.log"] {
        let text =
            std::fs::read_to_string(logs.path().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        for l in text.lines() {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{f}: {e}: {l}"));
            for k in ["timestamp", "level", "logger", "message", "service"] {
                assert!(v.get(k).is_some(), "{f}: no {k} in {l}");
            }
        }
    }
    let main_log = std::fs::read_to_string(logs.path().join("megaagent-pro.log")).unwrap();
    assert!(main_log.lines().count() > 50);
    assert!(main_log.contains("\"trace_id\""));

    // Traces: one whole trace per request, rooted at the load generator's
    // CLIENT span, the API's SERVER span beneath it.
    const CLIENT: i32 = 3;
    const SERVER: i32 = 2;
    let spans = rx.spans();
    let mut traces: HashMap<&str, Vec<&common::receivers::ReceivedSpan>> = HashMap::new();
    for s in &spans {
        traces.entry(s.trace_id.as_str()).or_default().push(s);
    }
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "POST /api/research" && s.kind == SERVER)
        .collect();
    assert!(servers.len() > 50, "{} server spans", servers.len());
    let distinct: std::collections::HashSet<_> = servers.iter().map(|s| &s.trace_id).collect();
    assert_eq!(distinct.len(), servers.len(), "one trace per request");
    let (mut whole, mut full) = (0, 0);
    for server in &servers {
        let trace = &traces[server.trace_id.as_str()];
        let ids: std::collections::HashSet<&str> =
            trace.iter().map(|s| s.span_id.as_str()).collect();
        let roots: Vec<_> = trace
            .iter()
            .filter(|s| !ids.contains(s.parent_span_id.as_str()))
            .collect();
        if let [root] = roots.as_slice() {
            if root.kind == CLIENT && root.parent_span_id.is_empty() {
                assert_eq!(root.name, "POST /api/research");
                assert_eq!(server.parent_span_id, root.span_id);
                whole += 1;
            }
        }
        let Some(wf) = trace.iter().find(|s| s.name == "research_workflow") else {
            continue;
        };
        assert_eq!(wf.parent_span_id, server.span_id);
        let nodes: Vec<_> = trace
            .iter()
            .filter(|s| s.parent_span_id == wf.span_id)
            .map(|s| s.name.as_str())
            .collect();
        assert!(nodes.contains(&"analyze_query"), "{nodes:?}");
        // The LLM call: its CLIENT span (gen_ai.*), an HTTP CLIENT span per
        // attempt beneath it, and the provider's SERVER span beneath that.
        let over_http = |llm: &&&common::receivers::ReceivedSpan| {
            trace.iter().any(|http| {
                http.parent_span_id == llm.span_id
                    && http.kind == CLIENT
                    && http.name == "POST /v1/chat/completions"
                    && trace.iter().any(|p| {
                        p.parent_span_id == http.span_id
                            && p.kind == SERVER
                            && p.name == "POST /v1/chat/completions"
                    })
            })
        };
        if let Some(llm) = trace
            .iter()
            .filter(|s| s.name.starts_with("chat ") && s.kind == CLIENT && s.status_code != 2)
            .find(over_http)
        {
            for k in [
                "gen_ai.operation.name",
                "gen_ai.provider.name",
                "gen_ai.request.model",
                "gen_ai.usage.input_tokens",
            ] {
                assert!(
                    llm.attributes.contains_key(k),
                    "{k} missing on {}",
                    llm.name
                );
            }
            full += 1;
        }
    }
    assert!(
        whole * 10 >= servers.len() * 9,
        "only {whole} of {} research traces are whole from a CLIENT root",
        servers.len()
    );
    assert!(
        full > 5,
        "only {full} traces had the whole workflow with an LLM call over HTTP"
    );
    // The provider's 429s and 503s were retried by the client: resends are spans.
    let resent = spans
        .iter()
        .filter(|s| s.name == "POST /v1/chat/completions" && s.kind == CLIENT)
        .filter(|s| s.attributes.contains_key("http.request.resend_count"))
        .count();
    assert!(resent > 0, "no resent LLM request");
    // Every provider SERVER span sits beneath an HTTP CLIENT span of the service.
    let by_id: HashMap<&str, &common::receivers::ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    for p in spans
        .iter()
        .filter(|s| s.name == "POST /v1/chat/completions" && s.kind == SERVER)
    {
        let parent = by_id.get(p.parent_span_id.as_str());
        assert!(
            parent.is_some_and(|c| c.kind == CLIENT),
            "a provider span without its client span"
        );
    }
}
