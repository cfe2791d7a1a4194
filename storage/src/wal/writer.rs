//! The writer thread: takes queued records in groups, writes each group with one vectored write and one
//! fsync, assigns LSNs in write order, answers the waiters, and rotates segments.

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use super::record::Unsealed;
use super::recovery::{SegmentInfo, segment_path, sync_dir};
use super::{Durability, Lsn, WalOptions};
use crate::{Error, Result};

/// The most record bytes one group writes; a record alone may exceed it.
const GROUP_BYTES: usize = 16 << 20;

/// One append waiting for the writer.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) record: Unsealed,
    pub(crate) reply: oneshot::Sender<Result<Lsn>>,
}

/// State the writer shares with the [`super::Wal`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    /// Closed segments with records, oldest first: what `truncate_through` may delete.
    pub(crate) closed: Mutex<Vec<SegmentInfo>>,
    pub(crate) disk_bytes: AtomicU64,
    /// fsyncs of appended data so far.
    pub(crate) syncs: AtomicU64,
    /// Test hook: this many next group writes write half their bytes, then fail as if the disk were full.
    #[cfg(test)]
    pub(crate) fail_writes: std::sync::atomic::AtomicU32,
}

impl Shared {
    pub(crate) fn closed(&self) -> std::sync::MutexGuard<'_, Vec<SegmentInfo>> {
        self.closed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The segment being appended to.
#[derive(Debug)]
struct Active {
    path: PathBuf,
    file: File,
    last_lsn: Option<Lsn>,
    size: u64,
}

/// An I/O failure of one group, reported to each of its waiters.
#[derive(Debug)]
struct Failure {
    what: &'static str,
    path: PathBuf,
    source: std::io::Error,
    /// The LSNs the failed group had taken, when it got that far: they will never hold data.
    lsns: Option<std::ops::Range<Lsn>>,
}

impl Failure {
    fn to_error(&self) -> Error {
        let source = std::io::Error::new(self.source.kind(), self.source.to_string());
        let (what, path) = (self.what, self.path.clone());
        match &self.lsns {
            Some(lsns) => Error::WalWrite { what, path, source, lsns: lsns.clone() },
            None => Error::Io { what, path, source },
        }
    }
}

#[derive(Debug)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
    options: WalOptions,
    next_lsn: Lsn,
    active: Option<Active>,
    /// A record taken from the queue that did not fit in the previous group.
    pending: Option<Request>,
}

impl Writer {
    /// Starts the first segment, named `next_lsn`.
    pub(crate) fn new(shared: Arc<Shared>, options: WalOptions, next_lsn: Lsn) -> Result<Writer> {
        let mut writer = Writer { shared, options, next_lsn, active: None, pending: None };
        writer.active = Some(writer.create_segment().map_err(|failure| failure.to_error())?);
        Ok(writer)
    }

    /// Serves appends until every sender is gone, then syncs and closes the active segment.
    pub(crate) fn run(mut self, mut queue: mpsc::Receiver<Request>) -> Result<()> {
        while let Some(mut group) = self.next_group(&mut queue) {
            let result = self.commit(&mut group);
            for (i, request) in group.into_iter().enumerate() {
                let answer = match &result {
                    Ok(first) => Ok(first + i as Lsn),
                    Err(failure) => Err(failure.to_error()),
                };
                // The waiter may have given up (its future dropped); the record is written all the same.
                let _ = request.reply.send(answer);
            }
            if result.is_ok() {
                self.rotate_if_full();
            }
        }
        self.finish()
    }

    /// Waits for one record, then takes whatever else is queued (after `commit_delay`), up to [`GROUP_BYTES`].
    fn next_group(&mut self, queue: &mut mpsc::Receiver<Request>) -> Option<Vec<Request>> {
        let first = match self.pending.take() {
            Some(request) => request,
            None => queue.blocking_recv()?,
        };
        let mut bytes = first.record.len();
        let mut group = vec![first];
        self.take_queued(queue, &mut group, &mut bytes);
        if !self.options.commit_delay.is_zero() && self.pending.is_none() && bytes < GROUP_BYTES {
            std::thread::sleep(self.options.commit_delay);
            self.take_queued(queue, &mut group, &mut bytes);
        }
        Some(group)
    }

    fn take_queued(
        &mut self,
        queue: &mut mpsc::Receiver<Request>,
        group: &mut Vec<Request>,
        bytes: &mut usize,
    ) {
        while self.pending.is_none()
            && let Ok(request) = queue.try_recv()
        {
            if *bytes + request.record.len() > GROUP_BYTES {
                self.pending = Some(request);
            } else {
                *bytes += request.record.len();
                group.push(request);
            }
        }
    }

    /// Writes one group; returns the LSN of its first record. LSNs of a failed group are not reused.
    fn commit(&mut self, group: &mut [Request]) -> Result<Lsn, Failure> {
        let mut active = match self.active.take() {
            Some(active) => active,
            None => self.create_segment()?,
        };
        let first = self.next_lsn;
        self.next_lsn += group.len() as Lsn;
        // Sealed in place and written from where they are: copying a group into one buffer first was ≈ 1.5 %
        // of the daemon's CPU under load.
        let mut records: Vec<IoSlice<'_>> = group
            .iter_mut()
            .enumerate()
            .map(|(i, request)| IoSlice::new(request.record.seal(first + i as Lsn)))
            .collect();
        let bytes: u64 = records.iter().map(|record| record.len() as u64).sum();
        match write_group(&mut active, &mut records, self.options.durability, &self.shared) {
            Ok(()) => {
                active.size += bytes;
                active.last_lsn = Some(self.next_lsn - 1);
                self.shared.disk_bytes.fetch_add(bytes, Ordering::Relaxed);
                self.active = Some(active);
                Ok(first)
            }
            Err(source) => {
                let path = active.path.clone();
                self.abandon(active);
                let lsns = Some(first..self.next_lsn);
                Err(Failure { what: "append to wal segment", path, source, lsns })
            }
        }
    }

    /// After a failed write: cuts the segment back to its last good record (so a partial write never sits
    /// before later records) and closes it; the next group starts a fresh segment.
    fn abandon(&mut self, active: Active) {
        if let Err(error) = active.file.set_len(active.size).and_then(|()| active.file.sync_all()) {
            // Recovery will find the partial record and put the segment aside, keeping its good records.
            tracing::warn!(path = %active.path.display(), %error, "cutting back a failed wal write");
        }
        self.close_segment(active);
    }

    fn rotate_if_full(&mut self) {
        if self.active.as_ref().is_some_and(|active| active.size >= self.options.segment_size)
            && let Some(active) = self.active.take()
        {
            if let Err(error) = active.file.sync_all() {
                tracing::warn!(path = %active.path.display(), %error, "syncing a full wal segment");
            }
            self.close_segment(active);
        }
    }

    /// Hands a segment to `truncate_through`, or removes it when it holds no record.
    fn close_segment(&mut self, active: Active) {
        match active.last_lsn {
            Some(last_lsn) => self.shared.closed().push(SegmentInfo {
                path: active.path,
                last_lsn,
                size: active.size,
            }),
            None => {
                if let Err(error) = std::fs::remove_file(&active.path) {
                    tracing::warn!(path = %active.path.display(), %error, "removing an empty wal segment");
                }
            }
        }
    }

    /// Creates the segment for the next group, named by its first LSN, and makes its name durable.
    fn create_segment(&self) -> Result<Active, Failure> {
        let path = segment_path(&self.shared.dir, self.next_lsn);
        let failure = |what, source| Failure { what, path: path.clone(), source, lsns: None };
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| failure("create wal segment", e))?;
        if self.options.durability == Durability::Fsync
            && let Err(error) = sync_dir(&self.shared.dir)
        {
            // The next attempt creates a segment of the same name: this one must not be in its way.
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), %error, "removing an unsynced wal segment");
            }
            return Err(failure("sync wal directory after creating", error));
        }
        Ok(Active { path, file, last_lsn: None, size: 0 })
    }

    /// On close: makes the active segment durable whatever the durability, or removes it when empty.
    fn finish(mut self) -> Result<()> {
        let Some(active) = self.active.take() else { return Ok(()) };
        let synced = active.file.sync_all().map_err(super::io("sync wal segment", &active.path));
        self.close_segment(active);
        synced
    }
}

fn write_group(
    active: &mut Active,
    mut records: &mut [IoSlice<'_>],
    durability: Durability,
    shared: &Shared,
) -> std::io::Result<()> {
    #[cfg(test)]
    if shared
        .fail_writes
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        let group: Vec<u8> = records.iter().flat_map(|record| record.iter().copied()).collect();
        active.file.write_all(&group[..group.len() / 2])?;
        return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "injected: disk full"));
    }
    // `Write::write_all_vectored` is not stable yet: its loop. A write may take part of the slices (at most
    // `IOV_MAX` of them, or less when the disk fills).
    while !records.is_empty() {
        match active.file.write_vectored(records) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut records, written),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    if durability == Durability::Fsync {
        active.file.sync_data()?;
        shared.syncs.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
