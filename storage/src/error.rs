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
    #[error("wal record of {bytes} bytes exceeds the limit of {limit} bytes")]
    WalRecordTooLarge { bytes: usize, limit: usize },
    #[error("the wal writer thread panicked")]
    WalWriterPanicked,
    #[error("storage is shutting down")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
