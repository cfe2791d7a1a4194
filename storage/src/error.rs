use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    /// A request to the object store holding the data files failed; `location` names the store and key.
    #[error("{what} {location}: {source}")]
    ObjectStore { what: &'static str, location: String, source: object_store::Error },
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("wal segment {path} is corrupt at byte {offset}: {reason}")]
    CorruptWal { path: PathBuf, offset: u64, reason: String },
    /// A WAL write failed (disk full, I/O error): the LSNs the write had taken will never hold data.
    #[error("{what} {path}: {source}")]
    WalWrite {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
        lsns: std::ops::Range<u64>,
    },
    #[error("wal record of {bytes} bytes exceeds the limit of {limit} bytes")]
    WalRecordTooLarge { bytes: usize, limit: usize },
    #[error("the wal writer thread panicked")]
    WalWriterPanicked,
    #[error("data file {path} is unreadable: {reason}")]
    CorruptData { path: PathBuf, reason: String },
    #[error("writing data file {path} failed: {reason}")]
    WriteData { path: PathBuf, reason: String },
    /// Intake must wait: a buffer, the WAL or the disk is at its limit. Nothing was stored.
    #[error("{what}: retry in {retry_after:?}")]
    Backpressure { what: &'static str, retry_after: Duration },
    #[error("storage is shutting down")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a SQL query gave no result. Each variant maps to one HTTP status in the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The statement would change something (DDL, DML, COPY, SET…): only queries are allowed.
    #[error("{0}")]
    Refused(String),
    /// The SQL does not parse or plan: syntax, unknown table, column or function, type errors.
    #[error("{0}")]
    Invalid(String),
    /// Planning and execution together took longer than the configured limit.
    #[error("query exceeded its time limit")]
    Timeout,
    /// The query needed more memory than the query memory pool holds; the message names the limit.
    #[error("{0}")]
    ResourcesExhausted(String),
    /// Anything else: I/O errors reading files, bugs. Details are for logs, not clients.
    #[error("internal query error: {0}")]
    Internal(String),
}
