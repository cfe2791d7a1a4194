use std::path::PathBuf;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("wal segment {path} is corrupt at byte {offset}: {reason}")]
    CorruptWal { path: PathBuf, offset: u64, reason: String },
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
