//! sightline's storage: the Arrow shape of every table, the narrow interface through which ingested batches
//! arrive ([`sink::BatchSink`]), and the write-ahead log that makes an acknowledged batch survive a crash.
//!
//! [`catalog`] is the interface through which queries see the store's files and write buffer, and [`query`]
//! runs read-only SQL over it with DataFusion. Parquet writing, compaction and retention arrive with the
//! storage engine. This crate knows nothing about HTTP, gRPC or OTLP: it receives Arrow record batches, tagged with the
//! [`schema::Table`] they belong to.

pub mod catalog;
pub mod error;
pub mod query;
pub mod schema;
pub mod sink;
pub mod wal;

pub use catalog::{DataFile, StaticSource, TableSnapshot, TableSource};
pub use error::{Error, QueryError, Result};
pub use query::{QueryEngine, QueryLimits, QueryOutput};
pub use schema::{Table, TableBatch};
pub use sink::BatchSink;
