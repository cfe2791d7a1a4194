//! Flushes: the write buffer to Parquet files, then the checkpoint, then the WAL trimmed.

use super::*;

impl Storage {
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
            background::run("sightline-flush", move || write_flush(&root, &store, tables, through))
                .await?;
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
