//! The OTLP/gRPC receiver: the logs, metrics and trace services, with gzip and zstd request compression and a
//! limit on the decoded (decompressed) message size.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::response::Response;
use bytes::Buf;
use http::HeaderValue;
use tonic::body::Body;
use tonic::codec::{
    Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder,
};
use tonic::codegen::Service;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::service::Routes;
use tonic::{Request, Status};

use crate::Error;
use crate::admission::{self, Admission};
use crate::decode::pool::Decoded;
use crate::ingest::{ExportRequest, Pipeline};
use crate::metrics::Transport;
use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// Settings of the OTLP/gRPC receiver.
#[derive(Debug, Clone)]
pub struct GrpcSettings {
    /// Largest message, in bytes, after decompression.
    pub max_message_size: usize,
    /// The memory budget of requests in flight, shared with the HTTP receiver.
    pub admission: Admission,
}

impl Default for GrpcSettings {
    fn default() -> GrpcSettings {
        GrpcSettings {
            max_message_size: 16 * 1024 * 1024,
            admission: Admission::new(256 * 1024 * 1024),
        }
    }
}

/// The three OTLP services, as routes for the shared HTTP/2 server.
pub fn router(pipeline: Pipeline, settings: &GrpcSettings) -> Router {
    let receiver = GrpcReceiver { pipeline: pipeline.clone() };
    let limit = settings.max_message_size;
    let router = Routes::new(ExportService::<ExportLogsServiceRequest>::new(&receiver, limit))
        .add_service(ExportService::<ExportMetricsServiceRequest>::new(&receiver, limit))
        .add_service(ExportService::<ExportTraceServiceRequest>::new(&receiver, limit))
        .into_axum_router();
    let gate = admission::Receiver {
        transport: Transport::Grpc,
        max_decoded_bytes: limit,
        refuse: |_, error| status(error).into_http(),
        pipeline,
    };
    admission::layer(router, settings.admission.clone(), gate)
        .layer(axum::middleware::map_response(oversize_is_resource_exhausted))
}

/// tonic answers an uncompressed message over the size limit with OUT_OF_RANGE (and an oversize decompressed
/// one with RESOURCE_EXHAUSTED). OTLP exporters, like grpc-go, expect RESOURCE_EXHAUSTED for both, without
/// RetryInfo, so that they drop the message rather than retry it. Our services never answer OUT_OF_RANGE,
/// so every such answer is tonic's size check.
async fn oversize_is_resource_exhausted(mut response: Response) -> Response {
    const OUT_OF_RANGE: &str = "11";
    let headers = response.headers_mut();
    if headers.get("grpc-status").is_some_and(|status| status == OUT_OF_RANGE) {
        let code = (tonic::Code::ResourceExhausted as i32).to_string();
        headers.insert(
            "grpc-status",
            HeaderValue::from_str(&code).unwrap_or(HeaderValue::from_static("8")),
        );
    }
    response
}

#[derive(Debug, Clone)]
struct GrpcReceiver {
    pipeline: Pipeline,
}

impl GrpcReceiver {
    async fn export<R: ExportRequest>(
        &self,
        request: Request<Received<R>>,
    ) -> Result<tonic::Response<R::Response>, Status> {
        let started = Instant::now();
        let result = self.receive(request).await;
        let outcome = match &result {
            Ok(response) if response.1 > 0 => "partial",
            Ok(_) => "ok",
            Err(error) => error.outcome(),
        };
        self.pipeline.metrics().request(R::SIGNAL, Transport::Grpc, outcome, started.elapsed());
        result.map(|(response, _)| tonic::Response::new(response)).map_err(|error| status(&error))
    }

    async fn receive<R: ExportRequest>(
        &self,
        request: Request<Received<R>>,
    ) -> crate::Result<(R::Response, u64)> {
        let authorization = request.metadata().get("authorization").map(|value| value.as_bytes());
        self.pipeline.authorize(authorization, R::SIGNAL)?;
        let Received { request, message_size } = request.into_inner();
        self.pipeline.metrics().received_bytes(R::SIGNAL, Transport::Grpc, message_size);
        let accepted = self.pipeline.export(request).await?;
        Ok((R::response(&accepted), accepted.rejected))
    }
}

/// A decoded export request and the size of its message (decompressed).
struct Received<R> {
    request: Decoded<R>,
    message_size: usize,
}

/// One OTLP service (`opentelemetry.proto.collector.logs.v1.LogsService` and its kin) with its one method,
/// `Export`. Unlike the servers `opentelemetry-proto` generates, which decode with prost into a new request, it
/// decodes into one kept from before ([`crate::decode::reuse`]), as the HTTP receiver does. The rest is tonic's:
/// framing, compression, the message size limit.
struct ExportService<R> {
    receiver: GrpcReceiver,
    max_message_size: usize,
    request: PhantomData<fn() -> R>,
}

impl<R> ExportService<R> {
    fn new(receiver: &GrpcReceiver, max_message_size: usize) -> ExportService<R> {
        ExportService { receiver: receiver.clone(), max_message_size, request: PhantomData }
    }
}

impl<R> Clone for ExportService<R> {
    fn clone(&self) -> ExportService<R> {
        ExportService::new(&self.receiver, self.max_message_size)
    }
}

impl<R: ExportRequest> NamedService for ExportService<R> {
    const NAME: &'static str = R::GRPC_SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<R: ExportRequest> Service<http::Request<Body>> for ExportService<R> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method =
            request.uri().path().strip_prefix('/').and_then(|p| p.strip_prefix(R::GRPC_SERVICE));
        if method != Some("/Export") {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let mut accepted = EnabledCompressionEncodings::default();
        accepted.enable(CompressionEncoding::Gzip);
        accepted.enable(CompressionEncoding::Zstd);
        let codec =
            ExportCodec::<R> { pipeline: self.receiver.pipeline.clone(), request: PhantomData };
        let mut grpc = Grpc::new(codec)
            .apply_compression_config(accepted, EnabledCompressionEncodings::default())
            .apply_max_message_size_config(Some(self.max_message_size), None);
        let method = ExportMethod::<R> { receiver: self.receiver.clone(), request: PhantomData };
        Box::pin(async move { Ok(grpc.unary(method, request).await) })
    }
}

struct ExportMethod<R> {
    receiver: GrpcReceiver,
    request: PhantomData<fn() -> R>,
}

impl<R: ExportRequest> UnaryService<Received<R>> for ExportMethod<R> {
    type Response = R::Response;
    type Future = BoxFuture<Result<tonic::Response<R::Response>, Status>>;

    fn call(&mut self, request: Request<Received<R>>) -> Self::Future {
        let receiver = self.receiver.clone();
        Box::pin(async move { receiver.export(request).await })
    }
}

/// Requests decoded into kept ones, responses encoded by prost.
struct ExportCodec<R> {
    pipeline: Pipeline,
    request: PhantomData<fn() -> R>,
}

impl<R: ExportRequest> Codec for ExportCodec<R> {
    type Encode = R::Response;
    type Decode = Received<R>;
    type Encoder = ResponseEncoder<R::Response>;
    type Decoder = ExportCodec<R>;

    fn encoder(&mut self) -> ResponseEncoder<R::Response> {
        ResponseEncoder(PhantomData)
    }

    fn decoder(&mut self) -> ExportCodec<R> {
        ExportCodec { pipeline: self.pipeline.clone(), request: PhantomData }
    }
}

impl<R: ExportRequest> Decoder for ExportCodec<R> {
    type Item = Received<R>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Received<R>>, Status> {
        // The message is one contiguous buffer: taking it as `Bytes` copies nothing.
        let message = src.copy_to_bytes(src.remaining());
        // A message that does not parse is INTERNAL, as tonic's own codec answers (gRPC's status code guide).
        let message_size = message.len();
        let request = self
            .pipeline
            .decode_protobuf::<R>(message)
            .map_err(|e| Status::internal(format!("invalid protobuf message: {e}")))?;
        Ok(Some(Received { request, message_size }))
    }
}

struct ResponseEncoder<M>(PhantomData<fn(M)>);

impl<M: prost::Message> Encoder for ResponseEncoder<M> {
    type Item = M;
    type Error = Status;

    fn encode(&mut self, response: M, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        response.encode(dst).map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }
}

/// The gRPC status for an error; retryable ones carry `google.rpc.RetryInfo`, as the OTLP spec asks.
fn status(error: &Error) -> Status {
    if error.grpc_code() == tonic::Code::Internal {
        tracing::error!(error = %error, "otlp/grpc request failed");
    }
    match error.retry_after() {
        Some(delay) => {
            let details = status_with_retry_info(error.grpc_code(), error.client_message(), delay);
            Status::with_details(error.grpc_code(), error.client_message(), details.into())
        }
        None => Status::new(error.grpc_code(), error.client_message()),
    }
}

/// The `grpc-status-details-bin` payload: a `google.rpc.Status` whose details hold one `google.rpc.RetryInfo`,
/// encoded by hand, as these are the only googleapis messages we need.
fn status_with_retry_info(
    code: tonic::Code,
    message: String,
    delay: std::time::Duration,
) -> Vec<u8> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Duration {
        #[prost(int64, tag = "1")]
        seconds: i64,
        #[prost(int32, tag = "2")]
        nanos: i32,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        retry_delay: Option<Duration>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct Any {
        #[prost(string, tag = "1")]
        type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<Any>,
    }
    let retry_delay =
        Duration { seconds: delay.as_secs() as i64, nanos: delay.subsec_nanos() as i32 };
    let retry_info = RetryInfo { retry_delay: Some(retry_delay) };
    let any = Any {
        type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
        value: prost::Message::encode_to_vec(&retry_info),
    };
    prost::Message::encode_to_vec(&RpcStatus { code: code as i32, message, details: vec![any] })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prost::Message;

    use super::status;
    use crate::Error;

    #[derive(Clone, PartialEq, Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(message, repeated, tag = "3")]
        details: Vec<Any>,
    }
    #[derive(Clone, PartialEq, Message)]
    struct Any {
        #[prost(string, tag = "1")]
        type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }
    #[derive(Clone, PartialEq, Message)]
    struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        retry_delay: Option<ProtoDuration>,
    }
    #[derive(Clone, PartialEq, Message)]
    struct ProtoDuration {
        #[prost(int64, tag = "1")]
        seconds: i64,
        #[prost(int32, tag = "2")]
        nanos: i32,
    }

    #[test]
    fn retryable_errors_carry_retry_info_and_others_none() {
        let unavailable = status(&Error::Unavailable {
            reason: "wal full".into(),
            retry_after: Duration::from_millis(2500),
        });
        assert_eq!(unavailable.code(), tonic::Code::Unavailable);
        let details = RpcStatus::decode(unavailable.details()).expect("google.rpc.Status");
        assert_eq!(details.code, tonic::Code::Unavailable as i32);
        let [any] = &details.details[..] else { panic!("one detail expected: {details:?}") };
        assert_eq!(any.type_url, "type.googleapis.com/google.rpc.RetryInfo");
        let retry = RetryInfo::decode(&any.value[..]).expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(ProtoDuration { seconds: 2, nanos: 500_000_000 }));

        let too_large = status(&Error::TooLarge { limit: 10 });
        assert_eq!(too_large.code(), tonic::Code::ResourceExhausted);
        assert!(too_large.details().is_empty());
    }
}
