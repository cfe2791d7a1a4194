//! The OTLP collector: receivers for OTLP/gRPC (tonic) and OTLP/HTTP (axum), decoding of protobuf and
//! OTLP/JSON, redaction of secrets (before anything else sees a request), validation with per-item partial
//! success, limits, ingest authentication, TLS, and conversion of every accepted item into Arrow record batches
//! in the table shapes of `sightline-storage`; and the RED metrics derived from the stored spans
//! ([`spanmetrics`]).
//!
//! Batches leave the collector through one interface, [`sightline_storage::BatchSink`]; a request is
//! acknowledged only after the sink has made its batches durable. This crate never touches files (beyond the
//! TLS material it is pointed at) and knows nothing of Parquet or queries.

pub mod admission;
pub mod auth;
pub mod convert;
pub mod decode;
pub mod encode;
pub mod error;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod otlp;
pub mod redact;
pub mod server;
pub mod spanmetrics;
pub mod tls;
pub mod validate;

pub use error::{Error, Result};

/// Unix time in nanoseconds, as OTLP timestamps are: when a request was received, when a span-metrics
/// interval ends.
pub fn unix_now_ns() -> u64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}
