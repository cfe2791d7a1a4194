//! Senders: OTLP/HTTP (protobuf or JSON, hyper-util's client) and OTLP/gRPC (tonic, sending the
//! already encoded messages), behind one [`Sender`].

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::{Buf, BufMut, Bytes};
use flate2::Compression;
use flate2::write::GzEncoder;
use http::uri::PathAndQuery;
use http::{HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::json;
use crate::payload::{Request, Signal};
use crate::timestamps::{Encoding, Timestamps};

/// How requests travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
    Grpc,
}

/// A request ready to send, encoded once: its bytes (protobuf or OTLP/JSON, uncompressed) and where
/// its timestamps are, so each send can move them to the time of sending.
#[derive(Debug)]
pub struct Prepared {
    encoded: Vec<u8>,
    timestamps: Timestamps,
    /// Compress each body (HTTP only: over gRPC tonic compresses the message).
    gzip: bool,
    /// When the request's timestamps were current.
    built: Instant,
    /// Items (records, spans, data points) in the request.
    pub items: u64,
    /// Bytes sent: the HTTP body as sent, or the encoded protobuf message for gRPC.
    pub bytes: u64,
}

impl Prepared {
    /// Encodes `request` for `protocol`; `one_later` is the same request with every time one
    /// nanosecond later (see [`Timestamps::find`]).
    pub fn new(
        request: &Request,
        one_later: &Request,
        protocol: Protocol,
        gzip: bool,
    ) -> anyhow::Result<Prepared> {
        let (encoding, encoded, encoded_later) = match protocol {
            Protocol::HttpProtobuf | Protocol::Grpc => {
                (Encoding::Protobuf, request.encode_protobuf(), one_later.encode_protobuf())
            }
            Protocol::HttpJson => (Encoding::Json, json::encode(request), json::encode(one_later)),
        };
        let timestamps = Timestamps::find(encoding, &encoded, &encoded_later)
            .context("find the timestamps of a request")?;
        let mut prepared = Prepared {
            encoded,
            timestamps,
            gzip: gzip && protocol != Protocol::Grpc,
            built: Instant::now(),
            items: request.items(),
            bytes: 0,
        };
        prepared.bytes = prepared.body_shifted(0)?.len() as u64;
        Ok(prepared)
    }

    /// The body to send now: the request with its timestamps moved forward by the time since it
    /// was built, compressed when asked.
    pub fn body_now(&self) -> anyhow::Result<Bytes> {
        let elapsed = u64::try_from(self.built.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.body_shifted(elapsed)
    }

    /// The body with every timestamp `by_ns` later than when the request was built.
    pub fn body_shifted(&self, by_ns: u64) -> anyhow::Result<Bytes> {
        let mut body = self.encoded.clone();
        self.timestamps.shift(&mut body, by_ns);
        if self.gzip {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(&body).context("gzip a request body")?;
            body = encoder.finish().context("gzip a request body")?;
        }
        Ok(Bytes::from(body))
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
                let mut client =
                    tonic::client::Grpc::new(channel).max_encoding_message_size(64 * 1024 * 1024);
                if gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                let path = match signal {
                    Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                    Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                    Signal::Metrics => {
                        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
                    }
                };
                Ok(Sender::Grpc(GrpcSender {
                    client,
                    path: PathAndQuery::from_static(path),
                    authorization,
                    signal,
                }))
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
        let body = match prepared.body_now() {
            Ok(body) => body,
            Err(e) => return failed(format!("request: {e:#}"), false),
        };
        let request = match builder.body(Full::new(body)) {
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
        rejected_in_protobuf(self.signal, body)
    }
}

/// `partial_success.rejected_…` of an OTLP/protobuf response, 0 when absent.
fn rejected_in_protobuf(signal: Signal, body: &[u8]) -> u64 {
    let rejected = match signal {
        Signal::Logs => ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_log_records),
        Signal::Traces => ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans),
        Signal::Metrics => ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_data_points),
    };
    rejected.map_or(0, |r| r.max(0) as u64)
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

/// Sends already encoded messages: the generated clients would encode each one as it is sent.
#[derive(Debug)]
pub struct GrpcSender {
    client: tonic::client::Grpc<Channel>,
    path: PathAndQuery,
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
    signal: Signal,
}

impl GrpcSender {
    async fn send(&mut self, prepared: &Prepared) -> Outcome {
        let body = match prepared.body_now() {
            Ok(body) => body,
            Err(e) => return failed(format!("request: {e:#}"), false),
        };
        if let Err(e) = self.client.ready().await {
            return failed(format!("transport: {e}"), true);
        }
        let request = authorize(tonic::Request::new(body), self.authorization.as_ref());
        match self.client.unary(request, self.path.clone(), EncodedCodec).await {
            Ok(response) => Outcome::Accepted {
                rejected: rejected_in_protobuf(self.signal, response.get_ref()),
            },
            Err(status) => {
                let code = status.code();
                let retry_advised =
                    matches!(code, tonic::Code::Unavailable | tonic::Code::ResourceExhausted);
                failed(format!("grpc {code:?}"), retry_advised)
            }
        }
    }
}

/// A gRPC codec for messages that are already encoded: bytes in, bytes out.
#[derive(Debug, Clone, Copy)]
struct EncodedCodec;

impl Codec for EncodedCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = EncodedCodec;
    type Decoder = EncodedCodec;

    fn encoder(&mut self) -> EncodedCodec {
        EncodedCodec
    }

    fn decoder(&mut self) -> EncodedCodec {
        EncodedCodec
    }
}

impl Encoder for EncodedCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for EncodedCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
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
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::payload;

    /// Moving a prepared request's timestamps gives exactly the bytes of the same request built
    /// that much later: every timestamp was found, and nothing else changed.
    #[test]
    fn a_body_sent_later_is_the_request_encoded_at_that_later_time() {
        let base = 1_764_000_000_000_000_000;
        let later = 37_123_456_789;
        for signal in [Signal::Logs, Signal::Traces, Signal::Metrics] {
            for (protocol, gzip) in [
                (Protocol::HttpProtobuf, false),
                (Protocol::HttpProtobuf, true),
                (Protocol::HttpJson, false),
                (Protocol::Grpc, true),
            ] {
                let at = |time| payload::pool(signal, &[], 48, 2, time);
                let (requests, one_later, expected) = (at(base), at(base + 1), at(base + later));
                for k in 0..2 {
                    let prepared = Prepared::new(&requests[k], &one_later[k], protocol, gzip)
                        .expect("prepared");
                    let mut body = prepared.body_shifted(later).expect("body").to_vec();
                    if gzip && protocol != Protocol::Grpc {
                        let mut plain = Vec::new();
                        GzDecoder::new(&body[..]).read_to_end(&mut plain).expect("gzip");
                        body = plain;
                    }
                    let expected = match protocol {
                        Protocol::HttpJson => json::encode(&expected[k]),
                        _ => expected[k].encode_protobuf(),
                    };
                    assert!(body == expected, "{signal:?} over {protocol:?}, gzip {gzip}");
                }
            }
        }
    }

    #[test]
    fn partial_success_counts_are_read_from_json_strings_and_numbers() {
        let body = br#"{"partialSuccess":{"rejectedSpans":"7","errorMessage":"x"}}"#;
        assert_eq!(rejected_in_json(Signal::Traces, body), 7);
        let body = br#"{"partialSuccess":{"rejectedLogRecords":3}}"#;
        assert_eq!(rejected_in_json(Signal::Logs, body), 3);
        assert_eq!(rejected_in_json(Signal::Metrics, b"{}"), 0);
    }
}
