//! The OTLP/HTTP receiver: `POST /v1/logs`, `/v1/metrics` and `/v1/traces` with protobuf or JSON bodies,
//! optionally compressed, answered in the request's encoding as the OTLP specification asks.

mod body;
mod cors;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use prost::Message;

use crate::admission::{self, Admission};
use crate::decode::pool::Decoded;
use crate::ingest::{Accepted, ExportRequest, Pipeline};
use crate::metrics::Transport;
use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use crate::{Error, Result};

pub use cors::CorsSettings;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// Settings of the OTLP/HTTP receiver.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body, in bytes, after decompression.
    pub max_body_size: usize,
    pub cors: CorsSettings,
    /// The memory budget of requests in flight, shared with the gRPC receiver.
    pub admission: Admission,
}

#[derive(Debug, Clone)]
struct HttpState {
    pipeline: Pipeline,
    max_body_size: usize,
}

/// The OTLP/HTTP routes.
pub fn router(pipeline: Pipeline, settings: HttpSettings) -> Router {
    let state = HttpState { pipeline: pipeline.clone(), max_body_size: settings.max_body_size };
    let router = Router::new()
        .route("/v1/logs", post(export::<ExportLogsServiceRequest>))
        .route("/v1/metrics", post(export::<ExportMetricsServiceRequest>))
        .route("/v1/traces", post(export::<ExportTraceServiceRequest>))
        .with_state(state);
    let receiver = admission::Receiver {
        transport: Transport::Http,
        max_decoded_bytes: settings.max_body_size,
        refuse: |headers, error| failure(error, Encoding::of(headers).ok()),
        pipeline,
    };
    let router = admission::layer(router, settings.admission, receiver);
    cors::layer(router, settings.cors)
}

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> Result<Encoding> {
        let content_type =
            headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("")).unwrap_or("");
        // Parameters such as `charset=utf-8` do not change the encoding.
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case(PROTOBUF)
            || media_type.eq_ignore_ascii_case("application/protobuf")
        {
            Ok(Encoding::Protobuf)
        } else if media_type.eq_ignore_ascii_case(JSON) {
            Ok(Encoding::Json)
        } else {
            Err(Error::UnsupportedContentType(content_type.to_owned()))
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        })
    }
}

async fn export<R: ExportRequest>(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let metrics = state.pipeline.metrics().clone();
    let encoding = Encoding::of(&headers).ok();
    let result = receive::<R>(&state, &headers, body).await;
    let outcome = match &result {
        Ok(accepted) if accepted.rejected > 0 => "partial",
        Ok(_) => "ok",
        Err(error) => error.outcome(),
    };
    metrics.request(R::SIGNAL, Transport::Http, outcome, started.elapsed());
    match (result, encoding) {
        (Ok(accepted), Some(encoding)) => success::<R>(&accepted, encoding),
        (Err(error), encoding) => failure(&error, encoding),
        (Ok(_), None) => {
            failure(&Error::Internal("accepted a request of unknown encoding".into()), None)
        }
    }
}

async fn receive<R: ExportRequest>(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Accepted> {
    let authorization = headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    state.pipeline.authorize(authorization, R::SIGNAL)?;
    let encoding = Encoding::of(headers)?;
    let (bytes, received) = body::read(body, headers, state.max_body_size).await?;
    state.pipeline.metrics().received_bytes(R::SIGNAL, Transport::Http, received);
    // A protobuf body is kept with its request, for the WAL; a JSON body is done with once decoded.
    let request = match encoding {
        Encoding::Protobuf => state
            .pipeline
            .decode_protobuf::<R>(bytes::Bytes::from(bytes))
            .map_err(|e| Error::Decode(format!("invalid protobuf body: {e}")))?,
        Encoding::Json => {
            let request = R::from_json(&bytes);
            drop(bytes);
            Decoded::fresh(
                request.map_err(|e| Error::Decode(format!("invalid OTLP/JSON body: {e}")))?,
            )
        }
    };
    state.pipeline.export(request).await
}

fn success<R: ExportRequest>(accepted: &Accepted, encoding: Encoding) -> Response {
    let body = match encoding {
        Encoding::Protobuf => R::response(accepted).encode_to_vec(),
        Encoding::Json => {
            let mut response = serde_json::Map::new();
            if let Some((rejected, message)) = accepted.partial_success() {
                // Proto3 JSON writes 64-bit integers as strings.
                response.insert(
                    "partialSuccess".into(),
                    serde_json::json!({ R::REJECTED_FIELD: rejected.to_string(), "errorMessage": message }),
                );
            }
            serde_json::Value::Object(response).to_string().into_bytes()
        }
    };
    ([(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// `google.rpc.Status`, the error body OTLP/HTTP prescribes.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn failure(error: &Error, encoding: Option<Encoding>) -> Response {
    let status = error.http_status();
    if status.is_server_error() && error.retry_after().is_none() {
        tracing::error!(error = %error, "otlp/http request failed");
    }
    let rpc_status = RpcStatus { code: error.grpc_code() as i32, message: error.client_message() };
    let mut response = match encoding {
        Some(Encoding::Protobuf) => (
            [(header::CONTENT_TYPE, Encoding::Protobuf.content_type())],
            rpc_status.encode_to_vec(),
        )
            .into_response(),
        Some(Encoding::Json) => (
            [(header::CONTENT_TYPE, Encoding::Json.content_type())],
            serde_json::json!({ "code": rpc_status.code, "message": rpc_status.message })
                .to_string(),
        )
            .into_response(),
        // The request's encoding is unknown (that may be the error): answer in plain text.
        None => rpc_status.message.into_response(),
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(delay) = error.retry_after() {
        headers.insert(header::RETRY_AFTER, retry_after_seconds(delay));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn retry_after_seconds(delay: Duration) -> HeaderValue {
    HeaderValue::from(delay.as_secs().max(1))
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            max_body_size: 16 * 1024 * 1024,
            cors: CorsSettings::default(),
            admission: Admission::new(256 * 1024 * 1024),
        }
    }
}

#[cfg(test)]
mod tests;
