//! The one narrow interface through which ingested data enters storage.

use std::future::Future;
use std::pin::Pin;

use crate::{Result, TableBatch};

/// What [`BatchSink::write`] returns: resolves once the batches are durable.
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Accepts the batches of one ingest request. The collector acknowledges a request only after `write` has
/// returned `Ok`, so an implementation must not return before the batches would survive a crash (as far as the
/// configured durability promises). All batches of one call are kept, or none.
pub trait BatchSink: Send + Sync + 'static {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_>;

    /// The error a write would get now for lack of room, if it would, so that a receiver can refuse a request
    /// before it pays for reading, decoding and converting it. `None` promises nothing: `write` may still
    /// refuse.
    fn refusal(&self) -> Option<crate::Error> {
        None
    }
}
