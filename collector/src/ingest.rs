//! The path every request takes, whatever its transport: authorize, redact, validate, convert to Arrow, and
//! write to the storage sink. A request is acknowledged only after the sink has made its batches durable.
//!
//! Stored spans are also counted into the span-derived RED metrics ([`crate::spanmetrics`]) once the sink
//! has acknowledged them, so that a request the exporter retries is counted once.
//!
//! Redaction comes before validation so that no limit can cut a secret short of what its detector
//! recognises (a card number truncated to 12 digits is no longer a card number, but still a leak).
//!
//! A request's Arrow batches repeat every resource's and metric's strings on each row, and take a few times
//! the bytes of its OTLP/protobuf body. When redaction changed nothing in a request that came as protobuf, the
//! WAL logs the body in place of the batches (a [`Source`]), and [`Replay`] makes them again on recovery with
//! the same steps after redaction ([`validate_and_convert`]): encoding, writing and syncing the batches was
//! about a sixth of the daemon's CPU under a metrics load (BENCHMARKS.md). A body redaction changed is never
//! logged; one it left alone needs no redaction on replay.

use std::fmt;
use std::sync::Arc;

use arrow_schema::ArrowError;
use bytes::Bytes;
use sightline_storage::{BatchSink, Source, SourceDecoder, TableBatch};

use crate::auth::IngestAuth;
use crate::decode::json::{self, JsonError};
use crate::decode::pool::{Decoded, RequestPool};
use crate::decode::reuse::{self, Reuse};
use crate::metrics::CollectorMetrics;
use crate::otlp::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse, Signal,
};
use crate::redact::{Recorder, Redactor, Session};
use crate::spanmetrics::{RequestSeries, SpanMetrics};
use crate::validate::{self, Limits, Report};
use crate::{Error, Result, convert};

/// What the three OTLP export requests have in common.
pub trait ExportRequest: Reuse + Sized + Send + 'static {
    type Response: prost::Message + Default + Send + 'static;
    const SIGNAL: Signal;
    /// The OTLP/JSON name of the partial-success count of rejected items.
    const REJECTED_FIELD: &'static str;
    /// The OTLP/gRPC service that exports it.
    const GRPC_SERVICE: &'static str;
    /// The [`Source::format`] of its protobuf body in the WAL.
    const SOURCE_FORMAT: u8;

    fn from_json(body: &[u8]) -> Result<Self, JsonError>;
    /// The pipeline's kept requests of this signal.
    fn pool(pools: &RequestPools) -> &RequestPool<Self>;
    fn redact<R: Recorder>(&mut self, session: &mut Session<'_, R>);
    fn validate(&mut self, limits: &Limits) -> Report;
    fn to_batches(&self, received_at_ns: i64) -> Result<Vec<TableBatch>, ArrowError>;
    /// The span-metrics series of the request's spans; `None` for the signals that have no spans.
    fn span_series(&self) -> Option<RequestSeries> {
        None
    }
    fn response(accepted: &Accepted) -> Self::Response;
}

/// The outcome of a stored request, reported to the exporter as OTLP partial success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub rejected: u64,
    pub error_message: String,
}

impl Accepted {
    /// `None` when everything was accepted: the spec asks servers to leave `partial_success` unset then.
    pub fn partial_success(&self) -> Option<(i64, String)> {
        (self.rejected > 0 || !self.error_message.is_empty())
            .then(|| (i64::try_from(self.rejected).unwrap_or(i64::MAX), self.error_message.clone()))
    }
}

/// Requests kept for the next OTLP/protobuf body to be decoded into, per signal.
#[derive(Debug, Default)]
pub struct RequestPools {
    logs: RequestPool<ExportLogsServiceRequest>,
    traces: RequestPool<ExportTraceServiceRequest>,
    metrics: RequestPool<ExportMetricsServiceRequest>,
}

/// Shared by both receivers; cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    sink: Arc<dyn BatchSink>,
    auth: IngestAuth,
    redactor: Redactor,
    limits: Limits,
    metrics: CollectorMetrics,
    /// Where stored spans are counted into RED metrics; `None` when span metrics are off.
    span_metrics: Option<SpanMetrics>,
    pools: RequestPools,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("auth", &self.inner.auth)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl Pipeline {
    pub fn new(
        sink: Arc<dyn BatchSink>,
        auth: IngestAuth,
        redactor: Redactor,
        limits: Limits,
        metrics: CollectorMetrics,
        span_metrics: Option<SpanMetrics>,
    ) -> Pipeline {
        let pools = RequestPools::default();
        let inner = Inner { sink, auth, redactor, limits, metrics, span_metrics, pools };
        Pipeline { inner: Arc::new(inner) }
    }

    /// The redaction rules in force, with what they redacted since the start.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    pub fn metrics(&self) -> &CollectorMetrics {
        &self.inner.metrics
    }

    /// The error storage would answer a request with now for lack of room, if it would (see
    /// [`BatchSink::refusal`]).
    pub fn storage_refusal(&self) -> Option<Error> {
        self.inner.sink.refusal().map(Error::from)
    }

    /// See [`IngestAuth::check`].
    pub fn authorize(&self, authorization: Option<&[u8]>, signal: Signal) -> Result<()> {
        self.inner.auth.check(authorization, signal)
    }

    /// Decodes an OTLP/protobuf body into a request kept from before (see [`crate::decode::reuse`]), keeping
    /// the body for the WAL.
    pub fn decode_protobuf<R: ExportRequest>(
        &self,
        body: Bytes,
    ) -> Result<Decoded<R>, reuse::DecodeError> {
        let mut decoded = R::pool(&self.inner.pools).decode(&body)?;
        decoded.body = Some(body);
        Ok(decoded)
    }

    /// Redacts, validates, converts and stores one decoded request.
    pub async fn export<R: ExportRequest>(&self, mut decoded: Decoded<R>) -> Result<Accepted> {
        let received_at_ns = i64::try_from(crate::unix_now_ns()).unwrap_or(i64::MAX);
        let redactor = &self.inner.redactor;
        let mut session = redactor.session(R::SIGNAL, ());
        decoded.request.redact(&mut session);
        let (tally, ()) = session.finish();
        redactor.record(R::SIGNAL, &tally);
        self.inner.metrics.redacted(R::SIGNAL, redactor, &tally);
        // Logged only when redaction saw all of it: a body with fields the decoder skipped (unknown to this
        // version) is longer than the request's own encoding, the shortest one of what the request holds.
        let source = decoded
            .body
            .take()
            .filter(|body| tally.total() == 0 && decoded.request.encoded_len() == body.len())
            .map(|bytes| Source { format: R::SOURCE_FORMAT, stamp: received_at_ns, bytes });
        let (report, batches) =
            validate_and_convert(&mut decoded.request, &self.inner.limits, received_at_ns);
        let batches = batches
            .map_err(|e| Error::Internal(format!("converting {} to arrow: {e}", R::SIGNAL)))?;
        // Counted now, before the request is given back, and added only once the spans are stored.
        let span_series =
            self.inner.span_metrics.as_ref().and_then(|_| decoded.request.span_series());
        // Done with before the wait for the write, so that the next request can be decoded into it.
        R::pool(&self.inner.pools).give_back(decoded);
        if !batches.is_empty() {
            match source {
                Some(source) => self.inner.sink.write_from(batches, source).await?,
                None => self.inner.sink.write(batches).await?,
            }
        }
        if let (Some(span_metrics), Some(series)) = (&self.inner.span_metrics, span_series) {
            span_metrics.add(series);
        }
        self.inner.metrics.stored(R::SIGNAL, &report);
        Ok(Accepted { rejected: report.rejected, error_message: report.error_message() })
    }
}

/// The steps after redaction: the same live and on replay, so that a logged body makes the batches it was
/// logged for.
fn validate_and_convert<R: ExportRequest>(
    request: &mut R,
    limits: &Limits,
    received_at_ns: i64,
) -> (Report, Result<Vec<TableBatch>, ArrowError>) {
    let report = request.validate(limits);
    (report, request.to_batches(received_at_ns))
}

/// Makes the batches of the request bodies the WAL logged ([`Pipeline::export`]) again, on recovery. Give it
/// the limits the pipeline runs with: a daemon restarted with other limits replays with those.
#[derive(Debug)]
pub struct Replay {
    limits: Limits,
}

impl Replay {
    pub fn new(limits: Limits) -> Replay {
        Replay { limits }
    }

    fn batches<R: ExportRequest>(
        &self,
        received_at_ns: i64,
        body: &[u8],
    ) -> Result<Vec<TableBatch>, String> {
        // The receivers' decoder, which accepts exactly what it accepted live (prost's own nests less deep).
        let mut request = R::default();
        reuse::decode_into(&mut request, body)
            .map_err(|e| format!("invalid protobuf body: {e}"))?;
        validate_and_convert(&mut request, &self.limits, received_at_ns)
            .1
            .map_err(|e| format!("converting {} to arrow: {e}", R::SIGNAL))
    }
}

impl SourceDecoder for Replay {
    fn decode(&self, format: u8, stamp: i64, bytes: &[u8]) -> Result<Vec<TableBatch>, String> {
        match format {
            ExportLogsServiceRequest::SOURCE_FORMAT => {
                self.batches::<ExportLogsServiceRequest>(stamp, bytes)
            }
            ExportTraceServiceRequest::SOURCE_FORMAT => {
                self.batches::<ExportTraceServiceRequest>(stamp, bytes)
            }
            ExportMetricsServiceRequest::SOURCE_FORMAT => {
                self.batches::<ExportMetricsServiceRequest>(stamp, bytes)
            }
            other => Err(format!("unknown source format {other}")),
        }
    }
}

impl ExportRequest for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const SIGNAL: Signal = Signal::Logs;
    const REJECTED_FIELD: &'static str = "rejectedLogRecords";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const SOURCE_FORMAT: u8 = 1;

    fn from_json(body: &[u8]) -> Result<Self, JsonError> {
        json::logs_from_json(body)
    }
    fn pool(pools: &RequestPools) -> &RequestPool<Self> {
        &pools.logs
    }
    fn redact<Rec: Recorder>(&mut self, session: &mut Session<'_, Rec>) {
        session.logs(self)
    }
    fn validate(&mut self, limits: &Limits) -> Report {
        validate::logs(self, limits)
    }
    fn to_batches(&self, received_at_ns: i64) -> Result<Vec<TableBatch>, ArrowError> {
        Ok(convert::logs_to_arrow(self, received_at_ns)?.into_iter().collect())
    }
    fn response(accepted: &Accepted) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: accepted.partial_success().map(
                |(rejected_log_records, error_message)| ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                },
            ),
        }
    }
}

impl ExportRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const SIGNAL: Signal = Signal::Traces;
    const REJECTED_FIELD: &'static str = "rejectedSpans";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const SOURCE_FORMAT: u8 = 2;

    fn from_json(body: &[u8]) -> Result<Self, JsonError> {
        json::traces_from_json(body)
    }
    fn pool(pools: &RequestPools) -> &RequestPool<Self> {
        &pools.traces
    }
    fn redact<Rec: Recorder>(&mut self, session: &mut Session<'_, Rec>) {
        session.traces(self)
    }
    fn validate(&mut self, limits: &Limits) -> Report {
        validate::traces(self, limits)
    }
    fn to_batches(&self, _received_at_ns: i64) -> Result<Vec<TableBatch>, ArrowError> {
        Ok(convert::spans_to_arrow(self)?.into_iter().collect())
    }
    fn span_series(&self) -> Option<RequestSeries> {
        Some(RequestSeries::of(self))
    }
    fn response(accepted: &Accepted) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: accepted.partial_success().map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess { rejected_spans, error_message }
            }),
        }
    }
}

impl ExportRequest for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    const SIGNAL: Signal = Signal::Metrics;
    const REJECTED_FIELD: &'static str = "rejectedDataPoints";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const SOURCE_FORMAT: u8 = 3;

    fn from_json(body: &[u8]) -> Result<Self, JsonError> {
        json::metrics_from_json(body)
    }
    fn pool(pools: &RequestPools) -> &RequestPool<Self> {
        &pools.metrics
    }
    fn redact<Rec: Recorder>(&mut self, session: &mut Session<'_, Rec>) {
        session.metrics(self)
    }
    fn validate(&mut self, limits: &Limits) -> Report {
        validate::metrics(self, limits)
    }
    fn to_batches(&self, _received_at_ns: i64) -> Result<Vec<TableBatch>, ArrowError> {
        convert::metrics_to_arrow(self)
    }
    fn response(accepted: &Accepted) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: accepted.partial_success().map(
                |(rejected_data_points, error_message)| ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests;
