//! Senders: OTLP/HTTP (protobuf or JSON, hyper-util's client) and OTLP/gRPC (the tonic clients
//! generated in `opentelemetry-proto`), behind one [`Sender`].

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::json;
use crate::payload::{Request, Signal};

/// How requests travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
    Grpc,
}

/// A request ready to send: for HTTP its body bytes (compressed when asked), for gRPC the message
/// (tonic encodes it).
#[derive(Debug)]
pub struct Prepared {
    pub request: Request,
    pub body: Bytes,
    /// Items (records, spans, data points) in the request.
    pub items: u64,
    /// Bytes sent: the HTTP body as sent, or the encoded protobuf message for gRPC.
    pub bytes: u64,
}

impl Prepared {
    pub fn new(request: Request, protocol: Protocol, gzip: bool) -> anyhow::Result<Prepared> {
        let items = request.items();
        let encoded = match protocol {
            Protocol::HttpProtobuf | Protocol::Grpc => match &request {
                Request::Logs(r) => r.encode_to_vec(),
                Request::Traces(r) => r.encode_to_vec(),
                Request::Metrics(r) => r.encode_to_vec(),
            },
            Protocol::HttpJson => json::encode(&request),
        };
        let body = if gzip && protocol != Protocol::Grpc {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(&encoded).context("gzip a request body")?;
            encoder.finish().context("gzip a request body")?
        } else {
            encoded
        };
        let bytes = body.len() as u64;
        let body = if protocol == Protocol::Grpc { Bytes::new() } else { Bytes::from(body) };
        Ok(Prepared { request, body, items, bytes })
    }
}

/// What one request came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged; `rejected` items were refused in a partial success.
    Accepted { rejected: u64 },
    /// Failed with `status` (`http 503`, `grpc Unavailable`, `transport: connect`); `retry_after` is the
    /// wait the receiver asked for (HTTP `Retry-After` in seconds), if it asked.
    Failed { status: String, retry_advised: bool, retry_after: Option<Duration> },
}

/// Sends requests of one signal to one target.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "one sender per worker, made once and never moved")]
pub enum Sender {
    Http(HttpSender),
    Grpc(GrpcSender),
}

impl Sender {
    /// A sender for `target` (`http://127.0.0.1:4318` or `http://127.0.0.1:4317`). gRPC senders
    /// connect now, each over its own HTTP/2 connection; HTTP senders share `http_client`'s pool.
    pub async fn connect(
        target: &str,
        protocol: Protocol,
        signal: Signal,
        gzip: bool,
        token: Option<&str>,
        http_client: &HttpClient,
    ) -> anyhow::Result<Sender> {
        let authorization = token.map(|t| format!("Bearer {t}"));
        match protocol {
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let path = match signal {
                    Signal::Logs => "/v1/logs",
                    Signal::Traces => "/v1/traces",
                    Signal::Metrics => "/v1/metrics",
                };
                let uri: Uri = format!("{}{path}", target.trim_end_matches('/'))
                    .parse()
                    .with_context(|| format!("target {target} is not a URL"))?;
                let authorization = authorization
                    .map(|a| HeaderValue::from_str(&a))
                    .transpose()
                    .context("the token is not a valid header value")?;
                Ok(Sender::Http(HttpSender {
                    client: http_client.clone(),
                    uri,
                    json: protocol == Protocol::HttpJson,
                    gzip,
                    authorization,
                    signal,
                }))
            }
            Protocol::Grpc => {
                let channel = Endpoint::from_shared(target.to_string())
                    .with_context(|| format!("target {target} is not a URL"))?
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .with_context(|| format!("connect to {target}"))?;
                let authorization = authorization
                    .map(|a| MetadataValue::try_from(a.as_str()))
                    .transpose()
                    .context("the token is not a valid metadata value")?;
                let limit = 64 * 1024 * 1024;
                let client = match signal {
                    Signal::Logs => {
                        let mut c =
                            LogsServiceClient::new(channel).max_encoding_message_size(limit);
                        if gzip {
                            c = c.send_compressed(CompressionEncoding::Gzip);
                        }
                        GrpcClient::Logs(c)
                    }
                    Signal::Traces => {
                        let mut c =
                            TraceServiceClient::new(channel).max_encoding_message_size(limit);
                        if gzip {
                            c = c.send_compressed(CompressionEncoding::Gzip);
                        }
                        GrpcClient::Traces(c)
                    }
                    Signal::Metrics => {
                        let mut c =
                            MetricsServiceClient::new(channel).max_encoding_message_size(limit);
                        if gzip {
                            c = c.send_compressed(CompressionEncoding::Gzip);
                        }
                        GrpcClient::Metrics(c)
                    }
                };
                Ok(Sender::Grpc(GrpcSender { client, authorization }))
            }
        }
    }

    /// Sends one request and waits for its acknowledgement.
    pub async fn send(&mut self, prepared: &Prepared) -> Outcome {
        match self {
            Sender::Http(sender) => sender.send(prepared).await,
            Sender::Grpc(sender) => sender.send(prepared).await,
        }
    }
}

/// The HTTP client all HTTP senders share (keep-alive connections, one per request in flight).
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

#[derive(Debug)]
pub struct HttpSender {
    client: HttpClient,
    uri: Uri,
    json: bool,
    gzip: bool,
    authorization: Option<HeaderValue>,
    signal: Signal,
}

impl HttpSender {
    async fn send(&self, prepared: &Prepared) -> Outcome {
        let content_type = if self.json { "application/json" } else { "application/x-protobuf" };
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(header::CONTENT_TYPE, content_type);
        if self.gzip {
            builder = builder.header(header::CONTENT_ENCODING, "gzip");
        }
        if let Some(authorization) = &self.authorization {
            builder = builder.header(header::AUTHORIZATION, authorization.clone());
        }
        let request = match builder.body(Full::new(prepared.body.clone())) {
            Ok(request) => request,
            Err(e) => return failed(format!("request: {e}"), false),
        };
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return failed("transport: connect".into(), true),
            Err(_) => return failed("transport: request".into(), true),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => return failed("transport: response body".into(), true),
        };
        if status != StatusCode::OK {
            let retry_advised =
                matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE);
            return Outcome::Failed {
                status: format!("http {}", status.as_u16()),
                retry_advised,
                retry_after,
            };
        }
        Outcome::Accepted { rejected: self.rejected(&body) }
    }

    /// Items refused in a partial success, from a 200 response body.
    fn rejected(&self, body: &[u8]) -> u64 {
        if self.json {
            return rejected_in_json(self.signal, body);
        }
        match self.signal {
            Signal::Logs => ExportLogsServiceResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map_or(0, |p| p.rejected_log_records.max(0) as u64),
            Signal::Traces => ExportTraceServiceResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map_or(0, |p| p.rejected_spans.max(0) as u64),
            Signal::Metrics => ExportMetricsServiceResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map_or(0, |p| p.rejected_data_points.max(0) as u64),
        }
    }
}

/// `partialSuccess.rejected…` of an OTLP/JSON response (a string or a number), 0 when absent.
pub fn rejected_in_json(signal: Signal, body: &[u8]) -> u64 {
    let field = match signal {
        Signal::Logs => "rejectedLogRecords",
        Signal::Traces => "rejectedSpans",
        Signal::Metrics => "rejectedDataPoints",
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return 0 };
    match &value["partialSuccess"][field] {
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn failed(status: String, retry_advised: bool) -> Outcome {
    Outcome::Failed { status, retry_advised, retry_after: None }
}

#[derive(Debug)]
enum GrpcClient {
    Logs(LogsServiceClient<Channel>),
    Traces(TraceServiceClient<Channel>),
    Metrics(MetricsServiceClient<Channel>),
}

#[derive(Debug)]
pub struct GrpcSender {
    client: GrpcClient,
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl GrpcSender {
    async fn send(&mut self, prepared: &Prepared) -> Outcome {
        let authorization = self.authorization.as_ref();
        let result = match (&mut self.client, &prepared.request) {
            (GrpcClient::Logs(c), Request::Logs(r)) => c
                .export(authorize(tonic::Request::new(r.clone()), authorization))
                .await
                .map(|r| r.into_inner().partial_success.map_or(0, |p| p.rejected_log_records)),
            (GrpcClient::Traces(c), Request::Traces(r)) => c
                .export(authorize(tonic::Request::new(r.clone()), authorization))
                .await
                .map(|r| r.into_inner().partial_success.map_or(0, |p| p.rejected_spans)),
            (GrpcClient::Metrics(c), Request::Metrics(r)) => c
                .export(authorize(tonic::Request::new(r.clone()), authorization))
                .await
                .map(|r| r.into_inner().partial_success.map_or(0, |p| p.rejected_data_points)),
            _ => return failed("request of another signal".into(), false),
        };
        match result {
            Ok(rejected) => Outcome::Accepted { rejected: rejected.max(0) as u64 },
            Err(status) => {
                let code = status.code();
                let retry_advised =
                    matches!(code, tonic::Code::Unavailable | tonic::Code::ResourceExhausted);
                failed(format!("grpc {code:?}"), retry_advised)
            }
        }
    }
}

fn authorize<T>(
    mut request: tonic::Request<T>,
    authorization: Option<&MetadataValue<tonic::metadata::Ascii>>,
) -> tonic::Request<T> {
    if let Some(authorization) = authorization {
        request.metadata_mut().insert("authorization", authorization.clone());
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_success_counts_are_read_from_json_strings_and_numbers() {
        let body = br#"{"partialSuccess":{"rejectedSpans":"7","errorMessage":"x"}}"#;
        assert_eq!(rejected_in_json(Signal::Traces, body), 7);
        let body = br#"{"partialSuccess":{"rejectedLogRecords":3}}"#;
        assert_eq!(rejected_in_json(Signal::Logs, body), 3);
        assert_eq!(rejected_in_json(Signal::Metrics, b"{}"), 0);
    }
}
