//! The collector's one error type, and its single mapping to HTTP statuses and gRPC codes.

use std::time::Duration;

use crate::otlp::Signal;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not valid OTLP: bad protobuf, bad JSON, or structure OTLP does not allow.
    #[error("{0}")]
    Decode(String),
    #[error("missing ingest token")]
    MissingToken,
    #[error("invalid ingest token")]
    InvalidToken,
    #[error("ingest token {token:?} may not send {signal}")]
    SignalNotAllowed { token: String, signal: Signal },
    #[error("request is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("unsupported content type {0:?} (use application/x-protobuf or application/json)")]
    UnsupportedContentType(String),
    #[error("unsupported content encoding {0:?} (use gzip, zstd, deflate or identity)")]
    UnsupportedContentEncoding(String),
    /// Storage cannot take the request now; the exporter should retry after the delay.
    #[error("storage is unavailable: {reason}")]
    Unavailable { reason: String, retry_after: Duration },
    /// Requests in flight already use the memory budget; the exporter should retry after the delay.
    #[error("too many requests in flight")]
    Overloaded { retry_after: Duration },
    /// A bug or an unexpected failure: logged in full, reported to the client without details.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("tls configuration: {0}")]
    Tls(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn http_status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Error::Decode(_) => StatusCode::BAD_REQUEST,
            Error::MissingToken | Error::InvalidToken => StatusCode::UNAUTHORIZED,
            Error::SignalNotAllowed { .. } => StatusCode::FORBIDDEN,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedContentType(_) | Error::UnsupportedContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) | Error::Tls(_) | Error::Io { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            Error::Decode(_) | Error::UnsupportedContentType(_) => Code::InvalidArgument,
            Error::UnsupportedContentEncoding(_) => Code::Unimplemented,
            Error::MissingToken | Error::InvalidToken => Code::Unauthenticated,
            Error::SignalNotAllowed { .. } => Code::PermissionDenied,
            Error::TooLarge { .. } => Code::ResourceExhausted,
            // RESOURCE_EXHAUSTED would mean "too large" to exporters, which then drop the data.
            Error::Unavailable { .. } | Error::Overloaded { .. } => Code::Unavailable,
            Error::Internal(_) | Error::Tls(_) | Error::Io { .. } => Code::Internal,
        }
    }

    /// When the exporter should retry; `None` means the request must not be retried as it is.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Unavailable { retry_after, .. } | Error::Overloaded { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// What the client is told. Internal details stay in our logs.
    pub fn client_message(&self) -> String {
        match self {
            Error::Internal(_) | Error::Io { .. } | Error::Tls(_) => "internal error".to_owned(),
            Error::Unavailable { .. } => "storage is busy, retry later".to_owned(),
            Error::Overloaded { .. } => "too many requests in flight, retry later".to_owned(),
            other => other.to_string(),
        }
    }

    /// The `outcome` label of the request counters.
    pub fn outcome(&self) -> &'static str {
        match self {
            Error::Decode(_) => "invalid",
            Error::MissingToken | Error::InvalidToken => "unauthenticated",
            Error::SignalNotAllowed { .. } => "forbidden",
            Error::TooLarge { .. } => "too_large",
            Error::UnsupportedContentType(_) | Error::UnsupportedContentEncoding(_) => {
                "unsupported"
            }
            Error::Unavailable { .. } => "unavailable",
            Error::Overloaded { .. } => "overloaded",
            Error::Internal(_) | Error::Tls(_) | Error::Io { .. } => "internal_error",
        }
    }
}

impl From<sightline_storage::Error> for Error {
    fn from(error: sightline_storage::Error) -> Error {
        // Whatever failed, the batches were not made durable: the exporter keeps them and retries.
        let retry_after = match error {
            sightline_storage::Error::Backpressure { retry_after, .. } => retry_after,
            sightline_storage::Error::Closed => Duration::from_secs(1),
            _ => Duration::from_secs(5),
        };
        Error::Unavailable { reason: error.to_string(), retry_after }
    }
}
