//! Stored requests kept for the next OTLP/protobuf body to be decoded into ([`super::reuse`]).

use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use super::reuse::{self, DecodeError, Reuse};

/// Requests kept per signal: a request is given back before its batches are written, so about as many are in
/// use at once as threads decode and convert (the runtime's workers).
const KEPT_REQUESTS: usize = 4;

/// The most heap a kept request may hold; a request of 512 log records of the load generator holds ≈ 0.5 MiB.
/// With [`KEPT_REQUESTS`], the pools of the three signals hold at most 24 MiB between requests.
const KEPT_REQUEST_BYTES: usize = 2 << 20;

/// A request as the pipeline receives it.
#[derive(Debug)]
pub struct Decoded<R> {
    pub request: R,
    /// The heap the request held once decoded, if it was decoded by a [`RequestPool`]: others (OTLP/JSON) are
    /// not kept.
    held: Option<usize>,
    /// The OTLP/protobuf body it was decoded from, when the caller kept it: the WAL may log it in place of
    /// the request's batches ([`crate::ingest`]).
    pub(crate) body: Option<Bytes>,
}

impl<R> Decoded<R> {
    /// A request decoded otherwise, to be dropped once stored.
    pub fn fresh(request: R) -> Decoded<R> {
        Decoded { request, held: None, body: None }
    }
}

/// Stored requests of one signal, for the next body to be decoded into.
#[derive(Debug)]
pub struct RequestPool<R> {
    kept: Mutex<Vec<R>>,
}

impl<R> Default for RequestPool<R> {
    fn default() -> RequestPool<R> {
        RequestPool { kept: Mutex::new(Vec::with_capacity(KEPT_REQUESTS)) }
    }
}

impl<R: Reuse> RequestPool<R> {
    /// Decodes `body` into a kept request, or a new one if none is kept.
    pub fn decode(&self, body: &[u8]) -> Result<Decoded<R>, DecodeError> {
        let mut request = self.lock().pop().unwrap_or_default();
        let held = reuse::decode_into(&mut request, body)?;
        Ok(Decoded { request, held: Some(held), body: None })
    }

    /// Keeps a request that is done with, if there is room and it holds little enough.
    pub fn give_back(&self, decoded: Decoded<R>) {
        if decoded.held.is_some_and(|held| held <= KEPT_REQUEST_BYTES) {
            let mut kept = self.lock();
            if kept.len() < KEPT_REQUESTS {
                kept.push(decoded.request);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<R>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::otlp::ExportLogsServiceRequest;
    use crate::otlp::logs::v1::{ResourceLogs, ScopeLogs};

    fn request(scope_name_len: usize) -> Vec<u8> {
        let scope = crate::otlp::common::v1::InstrumentationScope {
            name: "s".repeat(scope_name_len),
            ..Default::default()
        };
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { scope: Some(scope), ..ScopeLogs::default() }],
                ..ResourceLogs::default()
            }],
        }
        .encode_to_vec()
    }

    fn scope_name(decoded: &Decoded<ExportLogsServiceRequest>) -> *const u8 {
        let scope = decoded.request.resource_logs[0].scope_logs[0].scope.as_ref();
        scope.expect("a scope").name.as_ptr()
    }

    #[test]
    fn a_request_given_back_is_decoded_into_by_the_next_body() {
        let pool = RequestPool::<ExportLogsServiceRequest>::default();
        let first = pool.decode(&request(100)).expect("decodes");
        let name = scope_name(&first);
        pool.give_back(first);
        let second = pool.decode(&request(50)).expect("decodes");
        assert_eq!(scope_name(&second), name, "the scope name was decoded into the same string");
        assert_eq!(
            second.request,
            ExportLogsServiceRequest::decode(&request(50)[..]).expect("valid")
        );
    }

    #[test]
    fn only_a_few_requests_of_bounded_size_are_kept() {
        let pool = RequestPool::<ExportLogsServiceRequest>::default();
        let decoded: Vec<_> = (0..KEPT_REQUESTS + 2).map(|_| pool.decode(&request(10))).collect();
        for request in decoded {
            pool.give_back(request.expect("decodes"));
        }
        assert_eq!(pool.lock().len(), KEPT_REQUESTS);

        let pool = RequestPool::<ExportLogsServiceRequest>::default();
        pool.give_back(pool.decode(&request(KEPT_REQUEST_BYTES + 1)).expect("decodes"));
        pool.give_back(Decoded::fresh(ExportLogsServiceRequest::default()));
        assert_eq!(pool.lock().len(), 0, "a large request, and one decoded otherwise, are dropped");
        pool.give_back(pool.decode(&request(KEPT_REQUEST_BYTES / 2)).expect("decodes"));
        assert_eq!(pool.lock().len(), 1);
    }
}
