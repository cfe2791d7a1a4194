//! Admission by memory: a request may only be read, decoded and stored while its memory fits in one budget
//! shared by both receivers. Without it, the memory of requests in flight (bodies, decompressed bytes, decoded
//! messages, Arrow batches, WAL records) grows with the offered load, whatever the write buffer's limit.
//!
//! A request reserves its estimated peak memory as its body arrives (wire bytes times a decode factor) and
//! holds the reservation until it is answered. When the budget cannot cover it, the request is refused at
//! once — HTTP 429 with Retry-After, gRPC `UNAVAILABLE` with `RetryInfo` — rather than queued: a queue would
//! only move the memory elsewhere, and the exporter keeps the data and retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, header};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Error;
use crate::ingest::Pipeline;
use crate::metrics::Transport;
use crate::otlp::Signal;

/// Peak memory of an uncompressed request while it is stored, per byte of it: the body, the decoded protobuf
/// or JSON message (strings copied, plus per-item structs and vectors: four to five times the encoding for
/// logs with a few attributes), the Arrow batches, and the encoded WAL record.
const DECODE_FACTOR: usize = 8;
/// Assumed expansion of a compressed body; the reservation never exceeds what the decompressed size limit
/// allows.
const COMPRESSION_RATIO: usize = 8;
/// How long a refused exporter is asked to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Wire bytes a request may have beyond its decoded size limit (gRPC message framing).
const FRAMING_SLACK: usize = 1024;

/// The memory budget of requests in flight; cheap to clone, clones share the budget.
#[derive(Debug, Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
    budget_bytes: usize,
}

impl Admission {
    pub fn new(budget_bytes: usize) -> Admission {
        let budget_bytes = budget_bytes.clamp(1, Semaphore::MAX_PERMITS);
        Admission { permits: Arc::new(Semaphore::new(budget_bytes)), budget_bytes }
    }

    /// Bytes of the budget not reserved right now.
    pub fn available_bytes(&self) -> usize {
        self.permits.available_permits()
    }

    /// Reserves `bytes` more for a request that holds `held` (None when nothing yet); refuses when the budget
    /// cannot cover it now.
    fn reserve(&self, held: &mut Option<OwnedSemaphorePermit>, bytes: usize) -> Result<(), Error> {
        if bytes == 0 {
            return Ok(());
        }
        let more = u32::try_from(bytes).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.permits)
            .try_acquire_many_owned(more)
            .map_err(|_| Error::Overloaded { retry_after: RETRY_AFTER })?;
        match held {
            Some(held) => held.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
    }
}

/// How a receiver answers a request it refuses before its handler runs.
pub type Refusal = fn(&HeaderMap, &Error) -> Response;

/// The receiver a gate stands in front of.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub transport: Transport,
    /// The receiver's limit on the decoded (decompressed) request size.
    pub max_decoded_bytes: usize,
    /// How it answers a request refused before its handler runs.
    pub refuse: Refusal,
    /// Where requests go: asked whether storage has room before a body is read, and where a refusal is
    /// counted, as the handler counts the requests it answers.
    pub pipeline: Pipeline,
}

#[derive(Debug, Clone)]
struct Gate {
    admission: Admission,
    receiver: Receiver,
}

/// Wraps every route of `router` in the admission check.
pub fn layer(router: Router, admission: Admission, receiver: Receiver) -> Router {
    let gate = Gate { admission, receiver };
    router.layer(axum::middleware::from_fn_with_state(gate, admit))
}

async fn admit(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > gate.receiver.max_decoded_bytes + FRAMING_SLACK) {
        // The receiver refuses it by its declared length alone, without reading it.
        return next.run(Request::from_parts(parts, body)).await;
    }
    let mut reservation = None;
    let mut body = body;
    // A full write buffer would refuse the request after it was read, decoded and converted: refuse it now,
    // while refusing costs nothing. Only an authorized request: any other gets its 401 from the handler, and
    // learns nothing of the storage's state. (The token is checked here only while storage refuses; the
    // handler checks every request.)
    let pipeline = &gate.receiver.pipeline;
    let authorized = || {
        let authorization = parts.headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        Signal::of_path(parts.uri.path())
            .is_some_and(|signal| pipeline.authorize(authorization, signal).is_ok())
    };
    let admitted = match pipeline.storage_refusal().filter(|_| authorized()) {
        Some(refused) => Err(refused),
        None => read(&gate, &parts.headers, &mut body, declared, &mut reservation).await,
    };
    match admitted {
        Ok(bytes) => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            // Everything the request allocated is gone once it is answered.
            drop(reservation);
            response
        }
        Err(error) => {
            drop(reservation);
            if matches!(error, Error::Overloaded { .. } | Error::Unavailable { .. }) {
                // An HTTP/1.1 client still sending its body would see the connection close instead of our
                // answer: read the rest (within the size limit) and throw it away, which costs no memory.
                discard(&mut body, gate.receiver.max_decoded_bytes + FRAMING_SLACK).await;
            }
            let receiver = &gate.receiver;
            if let Some(signal) = Signal::of_path(parts.uri.path()) {
                receiver.pipeline.metrics().request(
                    signal,
                    receiver.transport,
                    error.outcome(),
                    started.elapsed(),
                );
            }
            (receiver.refuse)(&parts.headers, &error)
        }
    }
}

async fn discard(body: &mut Body, limit: usize) {
    let mut seen = 0;
    while seen <= limit
        && let Some(Ok(frame)) = body.frame().await
    {
        seen += frame.data_ref().map_or(0, Bytes::len);
    }
}

/// Reads the whole body, reserving memory for the request as its bytes arrive.
async fn read(
    gate: &Gate,
    headers: &HeaderMap,
    body: &mut Body,
    declared: Option<usize>,
    reservation: &mut Option<OwnedSemaphorePermit>,
) -> Result<Bytes, Error> {
    let compressed = [header::CONTENT_ENCODING.as_str(), "grpc-encoding"].iter().any(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"))
    });
    let ceiling = (gate.receiver.max_decoded_bytes.saturating_mul(DECODE_FACTOR))
        .min(gate.admission.budget_bytes);
    let estimate = |wire_bytes: usize| {
        let ratio = if compressed { DECODE_FACTOR * COMPRESSION_RATIO } else { DECODE_FACTOR };
        wire_bytes.saturating_mul(ratio).min(ceiling)
    };
    let mut reserved = 0;
    if let Some(length) = declared {
        reserved = estimate(length);
        gate.admission.reserve(reservation, reserved)?;
    }
    let mut received = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Error::Decode(format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        if received.len() + data.len() > gate.receiver.max_decoded_bytes + FRAMING_SLACK {
            return Err(Error::TooLarge { limit: gate.receiver.max_decoded_bytes as u64 });
        }
        let wanted = estimate(received.len() + data.len());
        gate.admission.reserve(reservation, wanted.saturating_sub(reserved))?;
        reserved = reserved.max(wanted);
        received.extend_from_slice(&data);
    }
    Ok(received.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_and_return_when_dropped() {
        let admission = Admission::new(100);
        let mut first = None;
        admission.reserve(&mut first, 60).expect("fits");
        admission.reserve(&mut first, 30).expect("still fits");
        assert_eq!(admission.available_bytes(), 10);
        let mut second = None;
        let refused = admission.reserve(&mut second, 20).expect_err("over the budget");
        assert!(matches!(refused, Error::Overloaded { .. }));
        assert!(refused.retry_after().is_some(), "a refusal tells when to retry");
        drop(first);
        admission.reserve(&mut second, 20).expect("room again");
        assert_eq!(admission.available_bytes(), 80);
    }
}
