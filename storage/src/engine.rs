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

use crate::buffer::WriteBuffer;
use crate::catalog::{TableSnapshot, TableSource};
use crate::files::{self, DataFile};
use crate::metrics::StorageMetrics;
use crate::sink::{BatchSink, WriteFuture};
use crate::store::{DataStore, FileLocation};
use crate::wal::{Lsn, Recovery, Wal, WalOptions};
use crate::{Error, Result, Table, TableBatch, failpoint};

const CHECKPOINT_FILE: &str = "checkpoint";
/// How long a file taken out of the file list (by retention) stays on disk for queries already reading it.
const RETIRED_FILE_GRACE: Duration = Duration::from_secs(5);
/// How often retention is enforced and compaction runs.
const RETENTION_INTERVAL: Duration = Duration::from_secs(60);
/// An hour partition counts as closed, for compaction, this long (plus `flush_age`) after the hour ends: by
/// then the rows stamped in it have usually arrived and been flushed.
const CLOSED_HOUR_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Memory a compaction takes for each file it reads, and for its writer besides the row group it builds
/// (zstd contexts at the compaction level, a page per column), measured on log rows with 300-byte bodies
/// (`files::tests::compaction_memory_does_not_grow_with_the_size_of_the_inputs`; `files::merge` says what
/// they hold). Neither grows with the size of the files.
const MERGE_INPUT_BYTES: usize = 6 * 1024 * 1024;
const MERGE_WRITER_BYTES: usize = 32 * 1024 * 1024;
/// Files merged at once whatever the memory: two, or a merge would not reduce the file count.
const MIN_MERGE_INPUTS: usize = 2;
/// Row groups of compacted files stay at least this large (in encoded bytes) whatever the memory.
const MIN_ROW_GROUP_BYTES: usize = 1024 * 1024;

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
    /// Memory one compaction may use: half for the files it reads at once, half for the row group it writes.
    pub compaction_memory_bytes: usize,
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
            // A flush's share: the two never run at once.
            compaction_memory_bytes: 3 * 64 * 1024 * 1024,
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

    /// Writes every buffered row (up to the watermark) to Parquet files and drops the WAL segments covered,
    /// `flush_bytes` at a time.
    pub async fn flush(&self) -> Result<()> {
        let _one_at_a_time = self.inner.flushing.lock().await;
        let target = self.state().buffer.watermark();
        loop {
            let started = Instant::now();
            let result = self.flush_now().await;
            self.inner.metrics.flushed(result.is_ok(), started.elapsed());
            match result {
                Ok(Some(through)) if through < target => continue,
                Ok(_) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    }

    /// One flush of at most about `flush_bytes`; returns the LSN it covered, `None` when there was nothing.
    async fn flush_now(&self) -> Result<Option<Lsn>> {
        let (through, tables) = {
            let state = self.state();
            let through = state.buffer.flush_point(self.inner.options.flush_bytes);
            match state.buffer.first_lsn() {
                Some(first) if first <= through => (through, state.buffer.through(through)),
                _ => return Ok(None),
            }
        };
        failpoint::hit("flush.started");
        let root = self.inner.options.data_dir.clone();
        let store = self.inner.store.clone();
        let written =
            tokio::task::spawn_blocking(move || write_flush(&root, &store, tables, through))
                .await
                .map_err(|_| Error::Closed)??;
        {
            let mut state = self.state();
            for (table, file) in written {
                state.files.entry(table).or_default().push(file);
            }
            state.buffer.remove_through(through);
            state.oldest_write = (!state.buffer.is_empty()).then(Instant::now);
        }
        failpoint::hit("flush.buffer_released");
        self.inner.wal.truncate_through(through)?;
        Ok(Some(through))
    }

    /// Merges runs of small files in every partition (see [`compaction_runs`]), as of `now_ns` (Unix ns),
    /// which decides which hours are over. Returns how many runs were merged, each into one file. Queries
    /// see the old files or the new one, never both: the swap is one step under the state lock, and the old
    /// files stay on disk for queries already reading them. Each merge holds off flushes (the two share
    /// one memory budget) while it runs, and only then.
    pub async fn compact(&self, now_ns: i64) -> Result<usize> {
        let options = &self.inner.options;
        let (max_inputs, row_group_bytes) = merge_limits(options.compaction_memory_bytes);
        let runs = compaction_runs(&self.state().files, now_ns, options, max_inputs);
        let mut compacted = 0;
        for (table, old) in runs {
            let _no_flush_meanwhile = self.inner.flushing.lock().await;
            let store = self.inner.store.clone();
            let inputs = old.clone();
            let new = tokio::task::spawn_blocking(move || {
                files::compact(&store, table, &inputs, row_group_bytes)
            })
            .await
            .map_err(|_| Error::Closed)??;
            failpoint::hit("compact.file_written");
            let swapped = {
                let mut state = self.state();
                let files = state.files.entry(table).or_default();
                // Retention may have taken some of them meanwhile: then their rows must not come back.
                let all_listed = old.iter().all(|file| files.contains(file));
                if all_listed {
                    files.retain(|file| !old.contains(file));
                    files.push(new.clone());
                    files.sort_by(|a, b| (a.lsn, &a.path).cmp(&(b.lsn, &b.path)));
                }
                all_listed
            };
            if !swapped {
                let store = self.inner.store.clone();
                tokio::task::spawn_blocking(move || files::remove(&store, &new))
                    .await
                    .map_err(|_| Error::Closed)??;
                continue;
            }
            failpoint::hit("compact.swapped");
            let input_bytes = old.iter().map(|file| file.size_bytes).sum();
            self.inner.metrics.compacted(old.len(), input_bytes, new.size_bytes);
            self.retire(old);
            compacted += 1;
        }
        Ok(compacted)
    }

    /// Deletes files that left the file list, once queries that may still read them are done.
    fn retire(&self, files: Vec<DataFile>) {
        let store = self.inner.store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(RETIRED_FILE_GRACE).await;
            let result = tokio::task::spawn_blocking(move || {
                files.iter().try_for_each(|f| files::remove(&store, f))
            })
            .await;
            if let Ok(Err(error)) = result {
                // The next start removes them: the compacted file lists what it replaces.
                tracing::warn!(%error, "deleting compacted data files failed");
            }
        });
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

    /// Flushes when the buffer is big or old enough, until `shutdown`; then flushes what is left.
    pub async fn run_flusher(self, shutdown: CancellationToken) {
        let tick = Duration::from_secs(1).min(self.inner.options.flush_age);
        let mut last_retention: Option<Instant> = None;
        loop {
            if last_retention.is_none_or(|at| at.elapsed() >= RETENTION_INTERVAL) {
                last_retention = Some(Instant::now());
                if let Err(error) = self.enforce_retention(unix_now_ns()).await {
                    tracing::error!(%error, "enforcing retention failed; retrying");
                }
                if let Err(error) = self.compact(unix_now_ns()).await {
                    tracing::error!(%error, "compaction failed; retrying");
                }
            }
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
    }

    fn flush_due(&self) -> bool {
        let state = self.state();
        let options = &self.inner.options;
        state.buffer.bytes() >= options.flush_bytes
            || state.oldest_write.is_some_and(|since| since.elapsed() >= options.flush_age)
    }

    async fn write(&self, batches: Vec<TableBatch>) -> Result<()> {
        if self.buffered_bytes() >= self.inner.options.buffer_limit_bytes {
            self.inner.flush_wanted.notify_one();
            self.inner.metrics.refused_write();
            return Err(Error::Backpressure {
                what: "the write buffer is full",
                retry_after: Duration::from_secs(1),
            });
        }
        let lsn = match self.inner.wal.append(batches.clone()).await {
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
}

/// Every row stored under `data_dir` and in its data files' store (data files, then the WAL records no file
/// covers), read without opening either for writing: for tests and tools, also while a daemon runs.
///
/// The reads go in the reverse order of a flush (which writes files, then the checkpoint, then truncates the
/// WAL), so that a flush running meanwhile can neither hide rows nor show them twice: a file for a later
/// checkpoint than the one read is skipped (its rows are in the WAL read before), and every record missing
/// from the WAL was flushed first.
pub fn read_all(data_dir: &Path, location: &FileLocation) -> Result<Vec<TableBatch>> {
    let wal_records = crate::wal::read_dir(&data_dir.join("wal"))?;
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

/// How a compaction stays within `memory` bytes: how many files it reads at once, and the encoded size of
/// the row groups it writes (the writer holds one in memory). A quarter goes to the row group; what the
/// writer needs besides, and the inputs, share the rest.
fn merge_limits(memory: usize) -> (usize, usize) {
    let row_group_bytes = (memory / 4).max(MIN_ROW_GROUP_BYTES);
    let for_inputs = memory.saturating_sub(row_group_bytes + MERGE_WRITER_BYTES);
    ((for_inputs / MERGE_INPUT_BYTES).max(MIN_MERGE_INPUTS), row_group_bytes)
}

/// The runs of files that compaction merges, each into one file: in each hour partition, files contiguous
/// in LSN order, at most `compaction_target_bytes` and `max_inputs` of them together.
///
/// While a partition's hour is open, runs are of flush files only and need `compaction_min_files` of them:
/// a compacted file stays as it is, so that rows are not rewritten again and again as the hour fills up.
/// Once the hour is over, any two or more files that fit together are merged, so that a closed hour ends as
/// a few large files. Every merge leaves one file fewer than it took, so a partition settles: a lone file,
/// compacted or not, is never merged with itself.
fn compaction_runs(
    files: &BTreeMap<Table, Vec<DataFile>>,
    now_ns: i64,
    options: &StorageOptions,
    max_inputs: usize,
) -> Vec<(Table, Vec<DataFile>)> {
    let closing = options.flush_age + CLOSED_HOUR_MARGIN;
    let closed_before =
        now_ns.saturating_sub(i64::try_from(closing.as_nanos()).unwrap_or(i64::MAX));
    let mut runs = Vec::new();
    for (table, files) in files {
        let mut partitions: BTreeMap<&str, Vec<&DataFile>> = BTreeMap::new();
        for file in files {
            partitions.entry(file.partition()).or_default().push(file);
        }
        for mut partition in partitions.into_values() {
            partition.sort_by_key(|file| file.lsn);
            let newest = partition.iter().map(|file| file.max_time_ns).max().unwrap_or_default();
            let closed = files::hour_end_ns(newest) <= closed_before;
            let min_files = if closed { 2 } else { options.compaction_min_files.max(2) };
            let mut run: Vec<DataFile> = Vec::new();
            for file in partition {
                let run_bytes: u64 = run.iter().map(|f| f.size_bytes).sum();
                let fits = run.len() < max_inputs
                    && run_bytes + file.size_bytes <= options.compaction_target_bytes;
                if !fits || (!closed && !file.replaces.is_empty()) {
                    let done = std::mem::take(&mut run);
                    if done.len() >= min_files {
                        runs.push((*table, done));
                    }
                }
                if closed || file.replaces.is_empty() {
                    run.push(file.clone());
                }
            }
            if run.len() >= min_files {
                runs.push((*table, run));
            }
        }
    }
    runs
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

/// Writes the files of a flush through `through`, then its checkpoint: the flush's commit point. Blocking.
/// When it fails, the files it wrote are deleted: left behind, they would count once a later flush's
/// checkpoint covers their LSN, beside that flush's files holding the same rows.
fn write_flush(
    root: &Path,
    store: &DataStore,
    tables: BTreeMap<Table, Vec<arrow_array::RecordBatch>>,
    through: Lsn,
) -> Result<Vec<(Table, DataFile)>> {
    let mut written = Vec::new();
    let result = tables.into_iter().try_for_each(|(table, batches)| {
        let files = files::write(store, table, &batches, through)?;
        written.extend(files.into_iter().map(|file| (table, file)));
        Ok(())
    });
    let committed = result.and_then(|()| {
        failpoint::hit("flush.files_written");
        write_checkpoint(root, through)
    });
    match committed {
        Ok(()) => {
            failpoint::hit("flush.checkpoint_written");
            Ok(written)
        }
        Err(error) => {
            remove_failed_flush(root, store, through, &written);
            Err(error)
        }
    }
}

/// Deletes the files a failed flush through `through` wrote, unless its checkpoint made it into place (only
/// syncing the directory failed): then the files count.
fn remove_failed_flush(
    root: &Path,
    store: &DataStore,
    through: Lsn,
    written: &[(Table, DataFile)],
) {
    let removed = read_checkpoint(root).and_then(|checkpoint| {
        if checkpoint >= through {
            return Ok(());
        }
        written.iter().try_for_each(|(_, file)| files::remove(store, file))
    });
    if let Err(error) = removed {
        tracing::error!(%error, lsn = through, "deleting the files of a failed flush failed; after a restart their rows may be there twice");
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

/// Records that every row up to `lsn` is in data files: written aside, fsynced, renamed, directory fsynced.
fn write_checkpoint(root: &Path, lsn: Lsn) -> Result<()> {
    let path = root.join(CHECKPOINT_FILE);
    let temporary = root.join(format!(".tmp-{CHECKPOINT_FILE}"));
    let write = || -> std::io::Result<()> {
        fs::write(&temporary, format!("{lsn}\n"))?;
        failpoint::hit("checkpoint.temporary_written");
        fs::File::open(&temporary)?.sync_all()?;
        failpoint::hit("checkpoint.temporary_synced");
        fs::rename(&temporary, &path)?;
        failpoint::hit("checkpoint.renamed");
        Ok(())
    };
    write().map_err(|error| {
        // Nothing half-written stays behind to fill a full disk further.
        let _ = fs::remove_file(&temporary);
        io("write checkpoint", &temporary)(error)
    })?;
    fs::File::open(root).and_then(|d| d.sync_all()).map_err(io("fsync data directory", root))
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
