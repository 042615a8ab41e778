//! In-process trace receivers built from the official protocol definitions:
//! OTLP/gRPC (opentelemetry-proto's tonic server), OTLP/HTTP (protobuf bodies
//! decoded with prost into opentelemetry-proto's types) and Zipkin v2 JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;

/// One received span, flattened for assertions.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service: String,
    pub scope: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub kind: i32,
    pub status_code: i32,
    pub status_message: String,
    pub attributes: HashMap<String, String>,
    pub events: Vec<(String, HashMap<String, String>)>,
    /// Each link's attributes.
    pub links: Vec<HashMap<String, String>>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn value(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attrs(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), value(kv))).collect()
}

fn flatten(req: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let res = rs
            .resource
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        let service = res.get("service.name").cloned().unwrap_or_default();
        for ss in rs.scope_spans {
            let scope = ss.scope.map(|s| s.name).unwrap_or_default();
            for s in ss.spans {
                out.push(ReceivedSpan {
                    service: service.clone(),
                    scope: scope.clone(),
                    name: s.name,
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_span_id: hex(&s.parent_span_id),
                    kind: s.kind,
                    status_code: s.status.as_ref().map_or(0, |st| st.code),
                    status_message: s.status.map(|st| st.message).unwrap_or_default(),
                    attributes: attrs(&s.attributes),
                    events: s
                        .events
                        .iter()
                        .map(|e| (e.name.clone(), attrs(&e.attributes)))
                        .collect(),
                    links: s.links.iter().map(|l| attrs(&l.attributes)).collect(),
                });
            }
        }
    }
    out
}

#[derive(Clone, Default)]
struct Sink {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    requests: Arc<Mutex<usize>>,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        *self.requests.lock().unwrap() += 1;
        self.spans
            .lock()
            .unwrap()
            .extend(flatten(request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Receivers on loopback, sharing one span store, served by their own runtime.
pub struct Receivers {
    rt: tokio::runtime::Runtime,
    sink: Sink,
    pub zipkin: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receivers {
    pub fn new() -> Self {
        Self {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            sink: Sink::default(),
            zipkin: Arc::default(),
        }
    }

    /// An OTLP/gRPC receiver on `addr` (port 0: any free port).
    pub fn grpc_on(&self, addr: SocketAddr) -> SocketAddr {
        let sink = self.sink.clone();
        self.rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .expect("bind gRPC receiver");
            let local = listener.local_addr().unwrap();
            tokio::spawn(async move {
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(sink))
                    .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                    .await
                    .unwrap();
            });
            local
        })
    }

    pub fn grpc(&self) -> SocketAddr {
        self.grpc_on("127.0.0.1:0".parse().unwrap())
    }

    /// An OTLP/HTTP receiver (POST /v1/traces, application/x-protobuf).
    pub fn http(&self) -> SocketAddr {
        let sink = self.sink.clone();
        self.rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let local = listener.local_addr().unwrap();
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let sink = sink.clone();
                        async move {
                            assert_eq!(headers["content-type"], "application/x-protobuf");
                            let req = ExportTraceServiceRequest::decode(body.as_ref())
                                .expect("valid OTLP protobuf");
                            *sink.requests.lock().unwrap() += 1;
                            sink.spans.lock().unwrap().extend(flatten(req));
                            (
                                [("content-type", "application/x-protobuf")],
                                ExportTraceServiceResponse {
                                    partial_success: None,
                                }
                                .encode_to_vec(),
                            )
                        }
                    },
                ),
            );
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            local
        })
    }

    /// A Zipkin v2 receiver (POST /api/v2/spans, JSON array), answering 202.
    pub fn zipkin(&self) -> SocketAddr {
        let store = Arc::clone(&self.zipkin);
        self.rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let local = listener.local_addr().unwrap();
            let app = axum::Router::new().route(
                "/api/v2/spans",
                axum::routing::post(move |body: axum::body::Bytes| {
                    let store = Arc::clone(&store);
                    async move {
                        let v: serde_json::Value =
                            serde_json::from_slice(&body).expect("Zipkin JSON");
                        store
                            .lock()
                            .unwrap()
                            .extend(v.as_array().expect("a JSON array of spans").clone());
                        axum::http::StatusCode::ACCEPTED
                    }
                }),
            );
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            local
        })
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.sink.spans.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        *self.sink.requests.lock().unwrap()
    }

    /// Waits until `pred` holds on the received spans (or the timeout); returns them.
    pub fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if pred(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
