//! In-process receivers built from the official protocol definitions:
//! OTLP/gRPC (opentelemetry-proto's tonic servers for traces and logs),
//! OTLP/HTTP (protobuf bodies decoded with prost into opentelemetry-proto's
//! types) and Zipkin v2 JSON; each also over TLS (rustls), optionally
//! requiring a client certificate. They record every request's headers and
//! accept gzip bodies.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};

use axum::response::IntoResponse;
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

/// One received log record, flattened for assertions.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    pub service: String,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    pub attributes: HashMap<String, String>,
    pub trace_id: String,
    pub span_id: String,
    pub time_unix_nano: u64,
}

fn flatten_logs(req: ExportLogsServiceRequest) -> Vec<ReceivedLog> {
    let mut out = Vec::new();
    for rl in req.resource_logs {
        let res = rl
            .resource
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        let service = res.get("service.name").cloned().unwrap_or_default();
        for sl in rl.scope_logs {
            for r in sl.log_records {
                let body = r.body.as_ref().map_or(String::new(), |b| {
                    value(&KeyValue {
                        key: String::new(),
                        value: Some(b.clone()),
                        ..Default::default()
                    })
                });
                out.push(ReceivedLog {
                    service: service.clone(),
                    severity_number: r.severity_number,
                    severity_text: r.severity_text,
                    body,
                    attributes: attrs(&r.attributes),
                    trace_id: hex(&r.trace_id),
                    span_id: hex(&r.span_id),
                    time_unix_nano: r.time_unix_nano,
                });
            }
        }
    }
    out
}

#[derive(Clone, Default)]
struct Sink {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    logs: Arc<Mutex<Vec<ReceivedLog>>>,
    requests: Arc<Mutex<usize>>,
    /// Each request's headers (names lower-case).
    headers: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// TLS handshakes the servers refused.
    refused: Arc<AtomicUsize>,
    /// When set, OTLP/HTTP requests without exactly this `authorization`
    /// header are answered `401 Unauthorized`, as a managed backend does.
    required_authorization: Arc<Mutex<Option<String>>>,
}

impl Sink {
    /// Whether the request may pass the authorization check.
    fn authorized(&self, headers: &axum::http::HeaderMap) -> bool {
        match &*self.required_authorization.lock().unwrap() {
            None => true,
            Some(want) => headers
                .get("authorization")
                .is_some_and(|v| v.as_bytes() == want.as_bytes()),
        }
    }

    fn record_headers(&self, headers: &axum::http::HeaderMap) {
        let map = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        self.headers.lock().unwrap().push(map);
    }
}

#[tonic::async_trait]
impl LogsService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        *self.requests.lock().unwrap() += 1;
        self.logs
            .lock()
            .unwrap()
            .extend(flatten_logs(request.into_inner()));
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

/// A server's TLS: its certificate and key, and the CA its clients'
/// certificates must chain to (`None`: no client certificate asked for).
#[derive(Clone)]
pub struct ServerTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub client_ca_pem: Option<String>,
}

impl ServerTls {
    fn rustls(&self) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match &self.client_ca_pem {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                    roots.add(c.unwrap()).unwrap();
                }
                builder.with_client_cert_verifier(
                    rustls::server::WebPkiClientVerifier::builder_with_provider(
                        Arc::new(roots),
                        provider,
                    )
                    .build()
                    .unwrap(),
                )
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    fn tonic(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let config =
            ServerTlsConfig::new().identity(Identity::from_pem(&self.cert_pem, &self.key_pem));
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }
}

/// Records each gRPC request's HTTP/2 headers (metadata, `grpc-encoding`).
#[derive(Clone)]
struct HeaderRecorder<S> {
    inner: S,
    sink: Sink,
}

impl<S, B> tower::Service<axum::http::Request<B>> for HeaderRecorder<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        self.sink.record_headers(req.headers());
        self.inner.call(req)
    }
}

#[derive(Clone)]
struct RecordHeaders(Sink);

impl<S> tower::Layer<S> for RecordHeaders {
    type Service = HeaderRecorder<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HeaderRecorder {
            inner,
            sink: self.0.clone(),
        }
    }
}

/// The body, gunzipped when `content-encoding: gzip`.
fn decoded(headers: &axum::http::HeaderMap, body: &[u8]) -> Vec<u8> {
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .expect("a valid gzip body");
        out
    } else {
        body.to_vec()
    }
}

/// Serves `app` over TLS on `listener`; refused handshakes are counted.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
    refused: Arc<AtomicUsize>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, app, refused) = (acceptor.clone(), app.clone(), Arc::clone(&refused));
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                refused.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
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

    /// An OTLP/gRPC receiver (traces and logs) on `addr` (port 0: any free port).
    pub fn grpc_on(&self, addr: SocketAddr) -> SocketAddr {
        self.grpc_with(addr, None)
    }

    /// An OTLP/gRPC receiver over TLS.
    pub fn grpc_tls(&self, tls: &ServerTls) -> SocketAddr {
        self.grpc_with("127.0.0.1:0".parse().unwrap(), Some(tls.clone()))
    }

    fn grpc_with(&self, addr: SocketAddr, tls: Option<ServerTls>) -> SocketAddr {
        use tonic::codec::CompressionEncoding::Gzip;
        let sink = self.sink.clone();
        self.rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .expect("bind gRPC receiver");
            let local = listener.local_addr().unwrap();
            let mut server = tonic::transport::Server::builder();
            if let Some(tls) = &tls {
                server = server.tls_config(tls.tonic()).unwrap();
            }
            let router = server
                .layer(RecordHeaders(sink.clone()))
                .add_service(TraceServiceServer::new(sink.clone()).accept_compressed(Gzip))
                .add_service(LogsServiceServer::new(sink).accept_compressed(Gzip));
            tokio::spawn(async move {
                router
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

    /// An OTLP/HTTP receiver (POST /v1/traces and /v1/logs, application/x-protobuf).
    pub fn http(&self) -> SocketAddr {
        self.serve(self.otlp_http_app(), None)
    }

    /// An OTLP/HTTP receiver over TLS.
    pub fn http_tls(&self, tls: &ServerTls) -> SocketAddr {
        self.serve(self.otlp_http_app(), Some(tls))
    }

    fn otlp_http_app(&self) -> axum::Router {
        let (traces, logs) = (self.sink.clone(), self.sink.clone());
        axum::Router::new()
            .route(
                "/v1/traces",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let sink = traces.clone();
                        async move {
                            assert_eq!(headers["content-type"], "application/x-protobuf");
                            sink.record_headers(&headers);
                            if !sink.authorized(&headers) {
                                return axum::http::StatusCode::UNAUTHORIZED.into_response();
                            }
                            let req = ExportTraceServiceRequest::decode(
                                decoded(&headers, &body).as_slice(),
                            )
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
                                .into_response()
                        }
                    },
                ),
            )
            .route(
                "/v1/logs",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let sink = logs.clone();
                        async move {
                            assert_eq!(headers["content-type"], "application/x-protobuf");
                            sink.record_headers(&headers);
                            if !sink.authorized(&headers) {
                                return axum::http::StatusCode::UNAUTHORIZED.into_response();
                            }
                            let req = ExportLogsServiceRequest::decode(
                                decoded(&headers, &body).as_slice(),
                            )
                            .expect("valid OTLP protobuf");
                            *sink.requests.lock().unwrap() += 1;
                            sink.logs.lock().unwrap().extend(flatten_logs(req));
                            (
                                [("content-type", "application/x-protobuf")],
                                ExportLogsServiceResponse {
                                    partial_success: None,
                                }
                                .encode_to_vec(),
                            )
                                .into_response()
                        }
                    },
                ),
            )
    }

    /// Serves `app` on a free loopback port, over TLS when given.
    fn serve(&self, app: axum::Router, tls: Option<&ServerTls>) -> SocketAddr {
        let tls = tls.map(ServerTls::rustls);
        let refused = Arc::clone(&self.sink.refused);
        self.rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let local = listener.local_addr().unwrap();
            match tls {
                Some(tls) => {
                    tokio::spawn(serve_tls(listener, tls, app, refused));
                }
                None => {
                    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
                }
            }
            local
        })
    }

    /// A Zipkin v2 receiver (POST /api/v2/spans, a JSON array, gzipped or not),
    /// answering 202.
    pub fn zipkin(&self) -> SocketAddr {
        self.serve(self.zipkin_app(), None)
    }

    /// A Zipkin v2 receiver over TLS.
    pub fn zipkin_tls(&self, tls: &ServerTls) -> SocketAddr {
        self.serve(self.zipkin_app(), Some(tls))
    }

    fn zipkin_app(&self) -> axum::Router {
        let store = Arc::clone(&self.zipkin);
        let sink = self.sink.clone();
        axum::Router::new().route(
            "/api/v2/spans",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (store, sink) = (Arc::clone(&store), sink.clone());
                    async move {
                        // Zipkin's collector takes JSON v2 as `application/json`,
                        // plain or with `Content-Encoding: gzip`.
                        assert_eq!(headers["content-type"], "application/json");
                        sink.record_headers(&headers);
                        let v: serde_json::Value =
                            serde_json::from_slice(&decoded(&headers, &body)).expect("Zipkin JSON");
                        store
                            .lock()
                            .unwrap()
                            .extend(v.as_array().expect("a JSON array of spans").clone());
                        axum::http::StatusCode::ACCEPTED
                    }
                },
            ),
        )
    }

    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.sink.logs.lock().unwrap().clone()
    }

    /// Every request's headers so far.
    pub fn headers(&self) -> Vec<HashMap<String, String>> {
        self.sink.headers.lock().unwrap().clone()
    }

    /// From now on, OTLP/HTTP requests need `authorization: {value}`; others get 401.
    pub fn require_authorization(&self, value: &str) {
        *self.sink.required_authorization.lock().unwrap() = Some(value.to_string());
    }

    /// TLS handshakes the HTTPS servers refused.
    pub fn refused_handshakes(&self) -> usize {
        self.sink.refused.load(Ordering::SeqCst)
    }

    /// Waits until `pred` holds on the received log records (or the timeout).
    pub fn wait_for_logs(
        &self,
        timeout: Duration,
        pred: impl Fn(&[ReceivedLog]) -> bool,
    ) -> Vec<ReceivedLog> {
        let deadline = Instant::now() + timeout;
        loop {
            let logs = self.logs();
            if pred(&logs) || Instant::now() > deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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
