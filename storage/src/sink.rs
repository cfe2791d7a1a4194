//! The one narrow interface through which ingested data enters storage.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::{Result, TableBatch};

/// What [`BatchSink::write`] returns: resolves once the batches are durable.
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Accepts the batches of one ingest request. The collector acknowledges a request only after `write` has
/// returned `Ok`, so an implementation must not return before the batches would survive a crash (as far as the
/// configured durability promises). All batches of one call are kept, or none.
pub trait BatchSink: Send + Sync + 'static {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_>;

    /// As [`BatchSink::write`], for batches made from `source`: a sink with a log may log the source in their
    /// place, and make the batches again from it on replay (see [`Source`]). The default ignores it.
    fn write_from(&self, batches: Vec<TableBatch>, source: Source) -> WriteFuture<'_> {
        drop(source);
        self.write(batches)
    }

    /// The error a write would get now for lack of room, if it would, so that a receiver can refuse a request
    /// before it pays for reading, decoding and converting it. `None` promises nothing: `write` may still
    /// refuse.
    fn refusal(&self) -> Option<crate::Error> {
        None
    }
}

/// What the batches of one write were made from, when that is much smaller than the batches: an OTLP
/// request's protobuf body is a few times smaller than its Arrow batches, which repeat every resource's and
/// metric's strings on each row. The WAL logs the source instead of the batches, and a [`SourceDecoder`] makes
/// the batches again when the WAL is replayed. Whoever writes a source vouches that it is safe to store as it
/// is (the collector: redaction found nothing in it).
#[derive(Debug, Clone)]
pub struct Source {
    /// The format of `bytes`, in the writer's own numbering, for its [`SourceDecoder`].
    pub format: u8,
    /// A number the decoder needs besides the bytes (the collector: when the request was received).
    pub stamp: i64,
    pub bytes: Bytes,
}

/// Makes the batches of a [`Source`] again, when the WAL is replayed: the same batches as the write that
/// logged it (the writer decodes the same way in both places).
pub trait SourceDecoder: Send + Sync + Debug {
    fn decode(
        &self,
        format: u8,
        stamp: i64,
        bytes: &[u8],
    ) -> std::result::Result<Vec<TableBatch>, String>;
}
