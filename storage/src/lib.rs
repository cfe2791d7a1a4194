//! sightline's storage: the Arrow shape of every table ([`schema`]), the narrow interface through which
//! ingested batches arrive ([`sink::BatchSink`]), and the engine behind it ([`engine`]): a group-commit
//! write-ahead log ([`wal`]) that makes an acknowledged batch survive a crash, a queryable write buffer
//! ([`buffer`]), and sorted, hour-partitioned Parquet files ([`files`]) with compaction and retention, kept
//! in the data directory or an S3-compatible bucket ([`store`]).
//!
//! [`catalog`] is the interface through which queries see the store's files and write buffer, and [`query`]
//! runs read-only, bounded SQL over it with DataFusion. This crate knows nothing about HTTP, gRPC or OTLP: it
//! receives Arrow record batches, tagged with the [`schema::Table`] they belong to, and sometimes the opaque
//! bytes they were made from ([`sink::Source`]), which the WAL logs in their place and a decoder the caller
//! gives turns back into batches on recovery.

mod background;
pub mod buffer;
pub mod catalog;
pub mod engine;
pub mod error;
mod failpoint;
pub mod files;
pub mod metrics;
pub mod query;
pub mod rows;
pub mod schema;
pub mod sink;
pub mod store;
pub mod wal;

#[cfg(test)]
mod test_backends;
#[cfg(test)]
mod test_rows;
#[cfg(any(test, feature = "test-s3"))]
pub mod test_s3;

pub use catalog::{StaticSource, TableSnapshot, TableSource};
pub use error::{Error, QueryError, Result};
pub use files::DataFile;
pub use query::{QueryEngine, QueryLimits, QueryOutput, ServiceScope};
pub use schema::{Table, TableBatch};
pub use sink::{BatchSink, Source, SourceDecoder};
pub use store::{DataStore, FileLocation, S3Options};
