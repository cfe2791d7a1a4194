//! The storage engine: WAL, write buffer and Parquet files behind the collector's [`BatchSink`].
//!
//! A write is appended to the WAL (group commit), then inserted into the write buffer, and only then
//! acknowledged; from that moment queries see it. A flush writes everything the buffer holds up to its
//! watermark `X` as Parquet files named for `X`, records `X` in the checkpoint file, swaps the files in for the
//! buffered rows in one step (so a query sees every row exactly once), and deletes the WAL segments `X` covers.
//!
//! Exactly once across crashes: the checkpoint is the commit point of a flush. On start, files for a later
//! checkpoint (a flush that a crash interrupted, perhaps after some of its files) are deleted, and the WAL,
//! which still holds every record after the checkpoint, is replayed from it; so no row is lost or doubled
//! whatever step a crash interrupts.
//!
//! Compaction ([`Storage::compact`]) merges runs of an hour partition's files, streaming (its memory does not
//! grow with the files' size), into files of up to `compaction_target_bytes` of input: during the hour, runs
//! of `compaction_min_files` flush files; once the hour is over, whatever fits together, so that a closed
//! hour ends as a few large files (see `compaction_runs`). A compacted file names the files it replaces in its
//! footer; the swap into the file list is one step under the state lock, and the replaced files are deleted
//! after a grace period for the queries reading them. A crash before the swap leaves both on disk: opening
//! the store keeps the compacted file and deletes the ones it replaces, so every row is there once.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::background;
use crate::buffer::WriteBuffer;
use crate::catalog::{TableSnapshot, TableSource};
use crate::files::{self, DataFile};
use crate::metrics::StorageMetrics;
use crate::sink::{BatchSink, Source, SourceDecoder, WriteFuture};
use crate::store::{DataStore, FileLocation};
use crate::wal::{Lsn, Recovery, Wal, WalOptions};
use crate::{Error, Result, Table, TableBatch, failpoint};

const CHECKPOINT_FILE: &str = "checkpoint";
/// How long a file taken out of the file list (by retention) stays on disk for queries already reading it.
const RETIRED_FILE_GRACE: Duration = Duration::from_secs(5);
/// How often retention and compaction look for files to delete and to merge.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// The WAL and checkpoint, and the data files unless `files` puts them elsewhere.
    pub data_dir: PathBuf,
    /// Where the Parquet data files live.
    pub files: FileLocation,
    pub wal: WalOptions,
    /// Buffered bytes past which writes are refused (retryably) until a flush makes room.
    pub buffer_limit_bytes: usize,
    /// A flush starts when the buffer holds this many bytes, and one flush takes about that much (a fuller
    /// buffer is written in several flushes), which bounds a flush's working set to a few times this…
    pub flush_bytes: usize,
    /// …or when its oldest rows have waited this long.
    pub flush_age: Duration,
    /// Files whose newest row is older than this are deleted, per table; a table not listed keeps everything.
    pub retention: BTreeMap<Table, Duration>,
    /// In an hour partition still being written, this many flush files in a row are merged into one…
    pub compaction_min_files: usize,
    /// …with at most this many bytes of input, the size compacted files aim at. Compaction streams, so this
    /// does not bound its memory; it bounds how much one merge rewrites, and how large files get.
    pub compaction_target_bytes: u64,
    /// Memory one compaction may use: a quarter for the row group it writes, the rest for its writer and the
    /// files it reads at once (at least two, whatever this says).
    pub compaction_memory_bytes: usize,
    /// Compacted logs files store the attribute values a body holds as references to the attributes
    /// ([`files::body_references`]): smaller files, whose bodies other Parquet readers see with the
    /// references in them.
    pub log_body_references: bool,
}

impl StorageOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> StorageOptions {
        StorageOptions {
            data_dir: data_dir.into(),
            files: FileLocation::DataDir,
            wal: WalOptions::default(),
            buffer_limit_bytes: 512 * 1024 * 1024,
            flush_bytes: 64 * 1024 * 1024,
            flush_age: Duration::from_secs(60),
            retention: BTreeMap::new(),
            compaction_min_files: 4,
            compaction_target_bytes: 128 * 1024 * 1024,
            // As much as a flush of `flush_bytes` takes.
            compaction_memory_bytes: 3 * 64 * 1024 * 1024,
            log_body_references: true,
        }
    }
}

/// Sizes of the engine's parts, for monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub buffer_bytes: usize,
    pub wal_bytes: u64,
    pub wal_fsyncs: u64,
    pub files: BTreeMap<Table, u64>,
    pub file_bytes: BTreeMap<Table, u64>,
}

/// What opening found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Opened {
    /// WAL records replayed into the buffer.
    pub replayed_records: usize,
    /// Damaged WAL segments, copied into `wal/corrupt/`.
    pub corrupt_segments: Vec<PathBuf>,
}

/// Cheap to clone: all clones share one engine.
#[derive(Debug, Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: StorageOptions,
    store: DataStore,
    metrics: StorageMetrics,
    wal: Wal,
    state: Mutex<State>,
    /// One flush at a time.
    flushing: tokio::sync::Mutex<()>,
    /// One compaction at a time (the background one and a caller's).
    compacting: tokio::sync::Mutex<()>,
    /// Wakes the flusher early when the buffer fills up.
    flush_wanted: Notify,
}

#[derive(Debug)]
struct State {
    buffer: WriteBuffer,
    files: BTreeMap<Table, Vec<DataFile>>,
    /// When the buffer last went from empty to non-empty.
    oldest_write: Option<Instant>,
}

impl Storage {
    /// Opens the data directory and the data files' store: lists the data files (the only listing: the
    /// engine keeps its own catalog from then on), replays the WAL after the checkpoint. Blocking.
    pub fn open(options: StorageOptions) -> Result<(Storage, Opened)> {
        let root = &options.data_dir;
        fs::create_dir_all(root).map_err(io("create data directory", root))?;
        let store = DataStore::open(root, &options.files)?;
        let checkpoint = read_checkpoint(root)?;
        remove_temporary_checkpoint(root)?;
        files::remove_staging(&store)?;
        let mut files = BTreeMap::new();
        for table in Table::ALL {
            let (committed, unfinished) =
                files::recover(&store, table)?.into_iter().partition(|file| file.lsn <= checkpoint);
            for file in &unfinished {
                files::remove(&store, file)?;
            }
            files.insert(table, committed);
        }
        let (wal, Recovery { records, corrupt_segments, next_lsn }) =
            Wal::open(&root.join("wal"), options.wal.clone(), checkpoint)?;
        for segment in &corrupt_segments {
            tracing::error!(segment = %segment.display(), "damaged wal segment copied aside; its intact records were recovered");
        }
        // Everything below `next_lsn` is now either in files or about to be in the buffer: records lost to
        // damage are gone and must not hold back flushes.
        let mut buffer = WriteBuffer::new(next_lsn.saturating_sub(1));
        let replayed_records = records.len();
        for (lsn, batches) in records {
            buffer.insert(lsn, batches);
        }
        let oldest_write = (!buffer.is_empty()).then(Instant::now);
        let state = State { buffer, files, oldest_write };
        let metrics = StorageMetrics::default();
        metrics.corrupt_wal_segments(corrupt_segments.len());
        let inner = Inner {
            options,
            store,
            metrics,
            wal,
            state: Mutex::new(state),
            flushing: tokio::sync::Mutex::new(()),
            compacting: tokio::sync::Mutex::new(()),
            flush_wanted: Notify::new(),
        };
        let opened = Opened { replayed_records, corrupt_segments };
        Ok((Storage { inner: Arc::new(inner) }, opened))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn metrics(&self) -> &StorageMetrics {
        &self.inner.metrics
    }

    /// The store the data files live in, for the query layer to read them.
    pub fn data_store(&self) -> &DataStore {
        &self.inner.store
    }

    /// Sizes for monitoring.
    pub fn status(&self) -> Status {
        let state = self.state();
        let count = |measure: fn(&DataFile) -> u64| -> BTreeMap<Table, u64> {
            Table::ALL
                .into_iter()
                .map(|table| {
                    (
                        table,
                        state.files.get(&table).map_or(0, |files| files.iter().map(measure).sum()),
                    )
                })
                .collect()
        };
        Status {
            buffer_bytes: state.buffer.bytes(),
            wal_bytes: self.inner.wal.disk_bytes(),
            wal_fsyncs: self.inner.wal.sync_count(),
            files: count(|_| 1),
            file_bytes: count(|file| file.size_bytes),
        }
    }

    /// Bytes of rows waiting in memory for a flush.
    pub fn buffered_bytes(&self) -> usize {
        self.state().buffer.bytes()
    }

    /// Deletes the data files whose rows are all older than their table's retention, as of `now_ns` (Unix ns).
    /// Files are per hour partition, so whole partitions go. Returns how many files were deleted.
    pub async fn enforce_retention(&self, now_ns: i64) -> Result<usize> {
        let expired: Vec<DataFile> = {
            let mut state = self.state();
            let mut expired = Vec::new();
            for (table, max_age) in &self.inner.options.retention {
                let oldest_kept =
                    now_ns.saturating_sub(i64::try_from(max_age.as_nanos()).unwrap_or(i64::MAX));
                if let Some(files) = state.files.get_mut(table) {
                    let (old, kept): (Vec<_>, Vec<_>) =
                        files.drain(..).partition(|f| f.max_time_ns < oldest_kept);
                    *files = kept;
                    expired.extend(old);
                }
            }
            expired
        };
        if expired.is_empty() {
            return Ok(0);
        }
        failpoint::hit("retention.unlisted");
        // Queries that took their snapshot before the files left the list may still be reading them.
        tokio::time::sleep(RETIRED_FILE_GRACE).await;
        let store = self.inner.store.clone();
        let count = expired.len();
        tokio::task::spawn_blocking(move || {
            expired.iter().try_for_each(|file| files::remove(&store, file))
        })
        .await
        .map_err(|_| Error::Closed)??;
        self.inner.metrics.retention_deleted(count);
        Ok(count)
    }

    /// Flushes when the buffer is big or old enough, until `shutdown`; then flushes what is left. Retention
    /// and compaction run beside it in a task of their own, so that a long merge, or retention's wait for
    /// queries still reading the files it removes, never holds up a flush (and with it, intake).
    pub async fn run_flusher(self, shutdown: CancellationToken) {
        let maintenance = tokio::spawn(self.clone().run_maintenance(shutdown.clone()));
        let tick = Duration::from_secs(1).min(self.inner.options.flush_age);
        loop {
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = self.inner.flush_wanted.notified() => {}
                () = shutdown.cancelled() => break,
            }
            if self.flush_due()
                && let Err(error) = self.flush().await
            {
                tracing::error!(%error, "flushing the write buffer failed; retrying");
            }
        }
        if let Err(error) = self.flush().await {
            tracing::error!(%error, "final flush failed; the wal still holds the data");
        }
        if maintenance.await.is_err() {
            tracing::error!("the retention and compaction task panicked");
        }
    }

    /// Enforces retention, then compacts, every [`MAINTENANCE_INTERVAL`] until `shutdown`, which compaction
    /// also checks between merges. One after the other, so that retention never removes a merge's inputs
    /// while it reads them.
    async fn run_maintenance(self, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.enforce_retention(unix_now_ns()).await {
                tracing::error!(%error, "enforcing retention failed; retrying");
            }
            if let Err(error) = self.compact_until(unix_now_ns(), &shutdown).await {
                tracing::error!(%error, "compaction failed; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(MAINTENANCE_INTERVAL) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    fn flush_due(&self) -> bool {
        let state = self.state();
        let options = &self.inner.options;
        state.buffer.bytes() >= options.flush_bytes
            || state.oldest_write.is_some_and(|since| since.elapsed() >= options.flush_age)
    }

    /// The refusal of a write while the write buffer is full (counted, and a flush asked for).
    fn refusal(&self) -> Option<Error> {
        if self.buffered_bytes() < self.inner.options.buffer_limit_bytes {
            return None;
        }
        self.inner.flush_wanted.notify_one();
        self.inner.metrics.refused_write();
        Some(Error::Backpressure {
            what: "the write buffer is full",
            retry_after: Duration::from_secs(1),
        })
    }

    async fn write(&self, batches: Vec<TableBatch>) -> Result<()> {
        self.write_with_source(batches, None).await
    }

    /// Logs `batches` (or the `source` they were made from) in the WAL, then keeps them in the buffer.
    async fn write_with_source(
        &self,
        batches: Vec<TableBatch>,
        source: Option<Source>,
    ) -> Result<()> {
        if let Some(refused) = self.refusal() {
            return Err(refused);
        }
        let appended = match source {
            Some(source) => self.inner.wal.append_source(&source).await,
            None => self.inner.wal.append(batches.clone()).await,
        };
        let lsn = match appended {
            Ok(lsn) => lsn,
            Err(error) => {
                if let Error::WalWrite { lsns, .. } = &error {
                    // Those LSNs will never hold data: let flushes pass them.
                    self.state().buffer.void(lsns.clone());
                }
                return Err(error);
            }
        };
        let full = {
            let mut state = self.state();
            if state.buffer.is_empty() {
                state.oldest_write = Some(Instant::now());
            }
            state.buffer.insert(lsn, batches);
            state.buffer.bytes() >= self.inner.options.flush_bytes
        };
        if full {
            self.inner.flush_wanted.notify_one();
        }
        Ok(())
    }
}

impl TableSource for Storage {
    /// The data files of `table` and its rows still in the buffer, taken under one lock: a flush or a
    /// compaction swaps files and rows in one step, so a snapshot sees every row exactly once.
    fn snapshot(&self, table: Table) -> TableSnapshot {
        let state = self.state();
        TableSnapshot {
            files: state.files.get(&table).cloned().unwrap_or_default(),
            buffered: state.buffer.batches(table),
        }
    }
}

impl BatchSink for Storage {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_> {
        Box::pin(Storage::write(self, batches))
    }

    fn write_from(&self, batches: Vec<TableBatch>, source: Source) -> WriteFuture<'_> {
        Box::pin(self.write_with_source(batches, Some(source)))
    }

    fn refusal(&self) -> Option<Error> {
        Storage::refusal(self)
    }
}

/// Every row stored under `data_dir` and in its data files' store (data files, then the WAL records no file
/// covers), read without opening either for writing: for tests and tools, also while a daemon runs. `sources`
/// decodes the sources the WAL logged (see [`WalOptions::sources`]).
///
/// The reads go in the reverse order of a flush (which writes files, then the checkpoint, then truncates the
/// WAL), so that a flush running meanwhile can neither hide rows nor show them twice: a file for a later
/// checkpoint than the one read is skipped (its rows are in the WAL read before), and every record missing
/// from the WAL was flushed first.
pub fn read_all(
    data_dir: &Path,
    location: &FileLocation,
    sources: Option<&dyn SourceDecoder>,
) -> Result<Vec<TableBatch>> {
    let wal_records = crate::wal::read_dir(&data_dir.join("wal"), sources)?;
    let checkpoint = read_checkpoint(data_dir)?;
    let store = DataStore::open(data_dir, location)?;
    let mut stored = Vec::new();
    for table in Table::ALL {
        for file in files::list(&store, table)?.iter().filter(|file| file.lsn <= checkpoint) {
            for batch in files::read(&store, file)? {
                stored.push(TableBatch { table, batch });
            }
        }
    }
    for (lsn, batches) in wal_records {
        if lsn > checkpoint {
            stored.extend(batches);
        }
    }
    Ok(stored)
}

fn unix_now_ns() -> i64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}

fn read_checkpoint(root: &Path) -> Result<Lsn> {
    let path = root.join(CHECKPOINT_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| Error::CorruptData {
            path: path.clone(),
            reason: format!("checkpoint {:?} is not a sequence number", text.trim()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io("read checkpoint", &path)(e)),
    }
}

/// Deletes the temporary checkpoint of a write a crash interrupted. Only the process that owns `root` may call it.
fn remove_temporary_checkpoint(root: &Path) -> Result<()> {
    let temporary = root.join(format!(".tmp-{CHECKPOINT_FILE}"));
    match fs::remove_file(&temporary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(io("remove temporary checkpoint", &temporary)(e))
        }
        _ => Ok(()),
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}

mod compaction;
mod flush;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
