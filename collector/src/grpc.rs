//! The OTLP/gRPC receiver: the logs, metrics and trace services, with gzip and zstd request compression and a
//! limit on the decoded (decompressed) message size.

use std::time::Instant;

use axum::Router;
use axum::response::Response;
use http::HeaderValue;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Status};

use crate::Error;
use crate::admission::{self, Admission};
use crate::ingest::{ExportRequest, Pipeline};
use crate::metrics::Transport;
use crate::otlp::{
    ExportLogsServiceRequest, ExportLogsServiceResponse, ExportMetricsServiceRequest,
    ExportMetricsServiceResponse, ExportTraceServiceRequest, ExportTraceServiceResponse,
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
    macro_rules! configured {
        ($server:expr) => {
            $server
                .max_decoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
        };
    }
    let router = Routes::new(configured!(LogsServiceServer::new(receiver.clone())))
        .add_service(configured!(MetricsServiceServer::new(receiver.clone())))
        .add_service(configured!(TraceServiceServer::new(receiver)))
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
        request: Request<R>,
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
        request: Request<R>,
    ) -> crate::Result<(R::Response, u64)> {
        let authorization = request.metadata().get("authorization").map(|value| value.as_bytes());
        self.pipeline.authorize(authorization, R::SIGNAL)?;
        let request = request.into_inner();
        self.pipeline.metrics().received_bytes(
            R::SIGNAL,
            Transport::Grpc,
            prost::Message::encoded_len(&request),
        );
        let accepted = self.pipeline.export(request).await?;
        Ok((R::response(&accepted), accepted.rejected))
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

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, Status> {
        GrpcReceiver::export(self, request).await
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, Status> {
        GrpcReceiver::export(self, request).await
    }
}

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        GrpcReceiver::export(self, request).await
    }
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
