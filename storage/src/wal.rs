//! The write-ahead log: every ingest request is appended here, as one record, before it is acknowledged.
//!
//! # Format
//! The WAL directory holds segment files named by the LSN of their first record, zero-padded to 20 digits
//! (`00000000000000000001.wal`), so that names order the segments and bound their LSN ranges. A segment is a
//! sequence of records:
//!
//! `[payload length: u32 LE][CRC32C of (lsn bytes + payload): u32 LE][lsn: u64 LE][payload]`
//!
//! and a payload holds the batches of one request, so a request is recovered whole or not at all:
//! `[batch count: u32 LE]` then, per batch, `[table tag: u8][length: u32 LE][Arrow IPC stream]`; or, for a
//! write that came with its [`Source`], that source in place of the batches, which the options' decoder makes
//! again on recovery. A payload is at most 1 GiB; a larger length field reads as damage. LSNs (log sequence
//! numbers) start at 1 and strictly increase across segments and restarts; they may skip numbers (the LSNs of
//! a failed write are never reused).
//!
//! # Durability
//! [`Wal::append`] resolves once its record is written and, with [`Durability::Fsync`], `fdatasync`ed: an
//! acknowledged request then survives a process crash and a power loss. Appends running at the same time share
//! one write and one fsync (group commit, on a dedicated writer thread). A full segment is synced, closed, and
//! the next one is created (and the directory synced) for the next write.
//!
//! With [`Durability::None`] nothing waits for the disk: a crash of the process loses nothing (the data is in
//! the operating system's page cache), but a crash of the machine can lose the last seconds of acknowledged
//! requests, and recovery then finds a torn segment tail.
//!
//! # Recovery
//! [`Wal::open`] reads every segment. A torn or corrupt record (or a source that does not decode) ends its
//! segment: the intact records before it are recovered, a copy of the damaged file goes to `<dir>/corrupt/`
//! for an operator, and the live segment is cut back to its intact records; later segments are still read.
//! Damage never fails the open; I/O errors do.

mod crc;
mod record;
mod recovery;
mod writer;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::sink::{Source, SourceDecoder};
use crate::{Error, Result, TableBatch};
use record::Unsealed;
use writer::{Request, Shared, Writer};

/// Log sequence number: strictly increasing across segments and restarts, starting at 1.
pub type Lsn = u64;

const SEGMENT_SUFFIX: &str = ".wal";

/// Appends that may wait for the writer at once; a further append waits for room (backpressure).
const QUEUE_CAPACITY: usize = 1024;

/// Whether an append waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before acknowledging: an acknowledged request survives a power loss.
    Fsync,
    /// Leave flushing to the operating system: a crash of the machine (not of the process) can lose the last
    /// seconds of acknowledged data.
    None,
}

#[derive(Debug, Clone)]
pub struct WalOptions {
    pub durability: Durability,
    /// A segment that reached this size is closed and a new one started (default 64 MiB).
    pub segment_size: u64,
    /// How long the writer waits for more appends to share one fsync (default 1 ms; 0 = no wait, still groups
    /// whatever queued up meanwhile).
    pub commit_delay: Duration,
    /// Makes the batches of records appended with [`Wal::append_source`] again on recovery; without it, such
    /// a record reads as damaged.
    pub sources: Option<Arc<dyn SourceDecoder>>,
}

impl Default for WalOptions {
    fn default() -> WalOptions {
        WalOptions {
            durability: Durability::Fsync,
            segment_size: 64 << 20,
            commit_delay: Duration::from_millis(1),
            sources: None,
        }
    }
}

/// What [`Wal::open`] found.
#[derive(Debug)]
pub struct Recovery {
    /// Every intact record with LSN > `after`, oldest first.
    pub records: Vec<(Lsn, Vec<TableBatch>)>,
    /// Segments that were damaged (torn tail, bad checksum, bad payload), as kept in `<dir>/corrupt/`; the
    /// records before the damage are in `records` (and stay in the live segment).
    pub corrupt_segments: Vec<PathBuf>,
    /// The LSN the next append will get.
    pub next_lsn: Lsn,
}

/// An open write-ahead log directory. `Send + Sync`: share it through an `Arc`.
#[derive(Debug)]
pub struct Wal {
    queue: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    /// Taken by [`Wal::close`] or on drop.
    writer: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Wal {
    /// Opens (creating) the WAL directory, scans every segment, and starts a new segment for appends.
    /// `after`: the caller's checkpoint — records with LSN <= after are not returned (they are durable elsewhere),
    /// and the next LSN is above it.
    pub fn open(dir: &Path, options: WalOptions, after: Lsn) -> Result<(Wal, Recovery)> {
        fs::create_dir_all(dir).map_err(io("create wal directory", dir))?;
        let found = recovery::recover(dir, after, options.sources.as_deref())?;
        let disk_bytes = found.live.iter().map(|segment| segment.size).sum();
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            closed: std::sync::Mutex::new(found.live),
            disk_bytes: AtomicU64::new(disk_bytes),
            syncs: AtomicU64::new(0),
            #[cfg(test)]
            fail_writes: std::sync::atomic::AtomicU32::new(0),
        });
        let writer = Writer::new(Arc::clone(&shared), options, found.next_lsn)?;
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let writer = std::thread::Builder::new()
            .name("wal-writer".to_owned())
            .spawn(move || writer.run(receiver))
            .map_err(io("start the writer thread of", dir))?;
        let recovery = Recovery {
            records: found.records,
            corrupt_segments: found.corrupt_segments,
            next_lsn: found.next_lsn,
        };
        Ok((Wal { queue, shared, writer: Some(writer) }, recovery))
    }

    /// Appends the batches of one request as one record; resolves with its LSN when the record is durable (per
    /// `durability`). Concurrent appends share one write + one fsync. An I/O error (disk full…) is returned to
    /// every append of the failed group; later appends go to a fresh segment and succeed once the cause is gone.
    /// Dropping the future after the record was queued does not withdraw it.
    pub async fn append(&self, batches: Vec<TableBatch>) -> Result<Lsn> {
        let record = Unsealed::encode(&batches)?;
        drop(batches);
        self.append_record(record).await
    }

    /// As [`Wal::append`], for a request's batches made from `source`: the record holds the source in their
    /// place, and recovery makes them again with [`WalOptions::sources`].
    pub async fn append_source(&self, source: &Source) -> Result<Lsn> {
        self.append_record(Unsealed::encode_source(source)?).await
    }

    async fn append_record(&self, record: Unsealed) -> Result<Lsn> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Request { record, reply }).await.map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Deletes every closed segment whose records all have LSN <= lsn (never the segment being written).
    pub fn truncate_through(&self, lsn: Lsn) -> Result<()> {
        let mut closed = self.shared.closed();
        let mut failed = None;
        closed.retain(|segment| {
            if segment.last_lsn > lsn || failed.is_some() {
                return true;
            }
            match fs::remove_file(&segment.path) {
                Ok(()) => crate::failpoint::hit("wal.segment_removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    failed = Some(io("remove wal segment", &segment.path)(e));
                    return true;
                }
            }
            self.shared.disk_bytes.fetch_sub(segment.size, Ordering::Relaxed);
            false
        });
        failed.map_or(Ok(()), Err)
    }

    /// Bytes currently on disk in live segments (for backpressure decisions by the caller).
    pub fn disk_bytes(&self) -> u64 {
        self.shared.disk_bytes.load(Ordering::Relaxed)
    }

    /// fsyncs of appended data since the open: with group commit, far fewer than appends under load.
    pub fn sync_count(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// Stops the writer after the queued appends are done, and syncs the last segment.
    pub async fn close(mut self) -> Result<()> {
        self.stop_appends();
        let Some(writer) = self.writer.take() else { return Ok(()) };
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|_| Error::Closed)?
            .map_err(|_| Error::WalWriterPanicked)?
    }

    /// Closes the queue: the writer finishes the appends already queued, then its last segment, and exits.
    fn stop_appends(&mut self) {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.queue, closed));
    }
}

impl Drop for Wal {
    /// Waits for the writer to finish its last segment (which it may remove when empty), so that the directory
    /// can be opened again at once, as a restart within one process (tests, tools) does, without the old writer
    /// still at work in it. Brief: the writer only has the queued appends left.
    fn drop(&mut self) {
        self.stop_appends();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Reads every intact record of every segment in `dir` without opening it for writing (tests and tools).
/// Damage ends a segment silently; nothing is moved or removed. `sources` decodes logged sources.
pub fn read_dir(
    dir: &Path,
    sources: Option<&dyn SourceDecoder>,
) -> Result<Vec<(Lsn, Vec<TableBatch>)>> {
    recovery::read_only(dir, sources)
}

/// The file name of the segment whose first record has `lsn`.
fn segment_name(lsn: Lsn) -> String {
    format!("{lsn:020}{SEGMENT_SUFFIX}")
}

/// The segments of `dir` with the LSNs their names carry, oldest first.
fn segment_paths(dir: &Path) -> Result<Vec<(Lsn, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list wal directory", dir)(e)),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let path = entry.map_err(io("list wal directory", dir))?.path();
        let lsn = path.file_name().and_then(|name| name.to_str()).and_then(|name| {
            name.strip_suffix(SEGMENT_SUFFIX).filter(|digits| digits.len() == 20)?.parse().ok()
        });
        if let Some(lsn) = lsn
            && path.is_file()
        {
            segments.push((lsn, path));
        }
    }
    segments.sort();
    Ok(segments)
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}
