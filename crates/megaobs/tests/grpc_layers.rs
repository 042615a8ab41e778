//! `GrpcClientLayer` on a tonic channel calling a tonic server behind
//! `GrpcServerLayer` (the OTLP trace service from opentelemetry-proto serves as
//! the gRPC API), spans exported over OTLP/gRPC into an in-process receiver:
//! the CLIENT span, the SERVER span as its child, `rpc.*` attributes and the
//! status from the trailers, and a call cut short by the caller's timeout.

mod common;

use std::time::Duration;

use common::receivers::{ReceivedSpan, Receivers};
use megaobs::config::{OtlpProtocol, TracingConfig, TracingExporter};
use megaobs::grpc::{GrpcClientLayer, GrpcServerLayer};
use megaobs::TracingContext;
use opentelemetry::trace::FutureExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

const METHOD: &str = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
const CLIENT: i32 = 3;
const SERVER: i32 = 2;
const STATUS_ERROR: i32 = 2;

/// Answers OK, NOT_FOUND for a request without spans, and only after 30 s for
/// one with several (a call the client gives up on).
struct Api;

#[tonic::async_trait]
impl TraceService for Api {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match request.get_ref().resource_spans.len() {
            0 => return Err(tonic::Status::not_found("no spans")),
            1 => {}
            _ => tokio::time::sleep(Duration::from_secs(30)).await,
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attr<'a>(s: &'a ReceivedSpan, key: &str) -> Option<&'a str> {
    s.attributes.get(key).map(String::as_str)
}

#[test]
fn grpc_client_and_server_spans_join_one_trace_with_statuses() {
    let rx = Receivers::new();
    let guard = megaobs::init_tracing(
        TracingConfig::default()
            .service_name("grpc-e2e")
            .exporter(TracingExporter::Otlp)
            .otlp(format!("http://{}", rx.grpc()), OtlpProtocol::Grpc)
            .sample_rate(1.0)
            .scheduled_delay(Duration::from_millis(100)),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (root_trace, root_span, port) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(GrpcServerLayer::new())
                .add_service(TraceServiceServer::new(Api))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let origin: http::Uri = format!("http://{addr}").parse().unwrap();
        let channel = tonic::transport::Endpoint::from(origin.clone())
            .connect()
            .await
            .unwrap();
        let channel = tower::ServiceBuilder::new()
            .layer(GrpcClientLayer::new().origin(&origin))
            .service(channel);
        let mut client = TraceServiceClient::new(channel);
        let root = TracingContext::new("grpc_root");
        let cx = root.context();
        drop(root);
        let one_span = ExportTraceServiceRequest {
            resource_spans: vec![Default::default()],
        };
        client
            .export(one_span)
            .with_context(cx.clone())
            .await
            .expect("OK");
        let err = client
            .export(ExportTraceServiceRequest::default())
            .with_context(cx.clone())
            .await
            .expect_err("NOT_FOUND");
        assert_eq!(err.code(), tonic::Code::NotFound);
        // The caller gives up: both futures are dropped before any response.
        let slow = ExportTraceServiceRequest {
            resource_spans: vec![Default::default(), Default::default()],
        };
        let gave_up = tokio::time::timeout(
            Duration::from_millis(300),
            client.export(slow).with_context(cx.clone()),
        )
        .await;
        assert!(gave_up.is_err(), "the slow call times out");
        use opentelemetry::trace::TraceContextExt;
        let sc = cx.span().span_context().clone();
        (
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
            addr.port(),
        )
    });
    assert!(guard.flush());
    let spans = rx.wait_for(Duration::from_secs(10), |s| {
        s.iter().filter(|s| s.name == METHOD).count() >= 6
    });
    let calls: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == METHOD).collect();
    let clients: Vec<&&ReceivedSpan> = calls.iter().filter(|s| s.kind == CLIENT).collect();
    assert_eq!(clients.len(), 3, "{calls:#?}");
    for client in &clients {
        assert_eq!(client.trace_id, root_trace);
        assert_eq!(client.parent_span_id, root_span);
        assert_eq!(attr(client, "rpc.system.name"), Some("grpc"));
        assert_eq!(attr(client, "rpc.method"), Some(METHOD));
        assert_eq!(attr(client, "server.address"), Some("127.0.0.1"));
        assert_eq!(attr(client, "server.port"), Some(port.to_string().as_str()));
        let server = calls
            .iter()
            .find(|s| s.kind == SERVER && s.parent_span_id == client.span_id)
            .expect("the server span is the client span's child");
        assert_eq!(server.trace_id, root_trace);
        assert_eq!(
            attr(server, "rpc.response.status_code"),
            attr(client, "rpc.response.status_code")
        );
        match attr(client, "rpc.response.status_code") {
            Some("OK") => {
                assert_ne!(client.status_code, STATUS_ERROR);
                assert_ne!(server.status_code, STATUS_ERROR);
            }
            Some("NOT_FOUND") => {
                // A failed call for the caller; not the server's failure.
                assert_eq!(client.status_code, STATUS_ERROR);
                assert_eq!(attr(client, "error.type"), Some("NOT_FOUND"));
                assert_ne!(server.status_code, STATUS_ERROR);
            }
            Some("CANCELLED") => {
                // The caller's timeout: failed for the caller, not the server's fault.
                assert_eq!(client.status_code, STATUS_ERROR);
                assert_eq!(attr(client, "error.type"), Some("CANCELLED"));
                assert_ne!(server.status_code, STATUS_ERROR);
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    let statuses: std::collections::BTreeSet<_> = clients
        .iter()
        .filter_map(|c| attr(c, "rpc.response.status_code"))
        .collect();
    assert_eq!(
        statuses,
        ["CANCELLED", "NOT_FOUND", "OK"].into_iter().collect()
    );
    drop(guard);
}
