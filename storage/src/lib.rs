//! sightline's storage: the Arrow shape of every table, the narrow interface through which ingested batches
//! arrive ([`sink::BatchSink`]), and the write-ahead log that makes an acknowledged batch survive a crash.
//!
//! Parquet files, compaction, retention, object storage and the DataFusion catalog arrive with the storage
//! issue. This crate knows nothing about HTTP, gRPC or OTLP: it receives Arrow record batches, tagged with the
//! [`schema::Table`] they belong to.

pub mod buffer;
pub mod engine;
pub mod error;
pub mod files;
pub mod metrics;
pub mod schema;
pub mod sink;
pub mod wal;

#[cfg(test)]
mod test_rows;

pub use error::{Error, Result};
pub use schema::{Table, TableBatch};
pub use sink::BatchSink;
