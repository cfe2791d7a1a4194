//! Compaction: which files of a partition are merged ([`compaction_runs`]), and the swap of the merged file
//! for them.

use super::*;

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

impl Storage {
    /// Merges runs of small files in every partition (see [`compaction_runs`]), as of `now_ns` (Unix ns),
    /// which decides which hours are over. Returns how many runs were merged, each into one file. Queries
    /// see the old files or the new one, never both: the swap is one step under the state lock, and the old
    /// files stay on disk for queries already reading them. Flushes go on meanwhile: they only add files,
    /// and only committed ones (past their checkpoint), so a merge never takes rows a crash could undo.
    pub async fn compact(&self, now_ns: i64) -> Result<usize> {
        self.compact_until(now_ns, &CancellationToken::new()).await
    }

    /// [`Storage::compact`], stopping between merges once `stop` is cancelled.
    pub(super) async fn compact_until(
        &self,
        now_ns: i64,
        stop: &CancellationToken,
    ) -> Result<usize> {
        let _one_at_a_time = self.inner.compacting.lock().await;
        let options = &self.inner.options;
        let (max_inputs, row_group_bytes) = merge_limits(options.compaction_memory_bytes);
        let runs = compaction_runs(&self.state().files, now_ns, options, max_inputs);
        let mut compacted = 0;
        for (table, old) in runs {
            if stop.is_cancelled() {
                break;
            }
            let store = self.inner.store.clone();
            let inputs = old.clone();
            let body_references = options.log_body_references;
            let new = background::run("sightline-compact", move || {
                files::compact(&store, table, &inputs, row_group_bytes, body_references)
            })
            .await?;
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
    listed: &BTreeMap<Table, Vec<DataFile>>,
    now_ns: i64,
    options: &StorageOptions,
    max_inputs: usize,
) -> Vec<(Table, Vec<DataFile>)> {
    let closing = options.flush_age + CLOSED_HOUR_MARGIN;
    let closed_before =
        now_ns.saturating_sub(i64::try_from(closing.as_nanos()).unwrap_or(i64::MAX));
    let mut runs = Vec::new();
    for (table, table_files) in listed {
        let mut partitions: BTreeMap<&str, Vec<&DataFile>> = BTreeMap::new();
        for file in table_files {
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
