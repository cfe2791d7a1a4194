use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
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
    /// Intake must wait: a buffer, the WAL or the disk is at its limit. Nothing was stored.
    #[error("{what}: retry in {retry_after:?}")]
    Backpressure { what: &'static str, retry_after: Duration },
    #[error("storage is shutting down")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
