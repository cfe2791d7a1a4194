//! Reading segments back: the scan on open, damage handling, and the read-only [`super::read_dir`].

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::record::{self, Decoded};
use super::{Lsn, io, segment_name, segment_paths};
use crate::sink::SourceDecoder;
use crate::{Error, Result, TableBatch};

/// The directory, under the WAL directory, where damaged segments are kept for an operator.
pub(crate) const CORRUPT_DIR: &str = "corrupt";

/// A closed segment that holds records, as the writer and `truncate_through` know it.
#[derive(Debug, Clone)]
pub(crate) struct SegmentInfo {
    pub(crate) path: PathBuf,
    pub(crate) last_lsn: Lsn,
    pub(crate) size: u64,
}

/// The intact records at the start of one segment's bytes.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) records: Vec<(Lsn, Vec<TableBatch>)>,
    /// Bytes up to the end of the last intact record.
    pub(crate) good_len: u64,
    /// Where the first torn or corrupt record starts, and why it was rejected.
    pub(crate) damage: Option<(u64, String)>,
}

/// Reads records from `bytes` until the end or the first damaged one. `first_lsn` is the segment's name: no
/// record in it may have a smaller LSN, and LSNs must increase. `sources` decodes logged sources: a record
/// whose source does not decode is unreadable, as damage is.
pub(crate) fn scan(bytes: &[u8], first_lsn: Lsn, sources: Option<&dyn SourceDecoder>) -> Scan {
    let mut records: Vec<(Lsn, Vec<TableBatch>)> = Vec::new();
    let mut offset = 0usize;
    let damage = loop {
        match record::decode(&bytes[offset..], sources) {
            Decoded::End => break None,
            Decoded::Damaged(reason) => break Some((offset as u64, reason)),
            Decoded::Record { lsn, batches, len } => {
                let previous = records.last().map(|(lsn, _)| *lsn);
                if lsn < first_lsn || previous.is_some_and(|previous| lsn <= previous) {
                    break Some((offset as u64, format!("lsn {lsn} out of order")));
                }
                records.push((lsn, batches));
                offset += len;
            }
        }
    };
    Scan { records, good_len: offset as u64, damage }
}

/// What [`recover`] found in the directory.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) records: Vec<(Lsn, Vec<TableBatch>)>,
    pub(crate) corrupt_segments: Vec<PathBuf>,
    /// Segments that still hold intact records, oldest first.
    pub(crate) live: Vec<SegmentInfo>,
    pub(crate) next_lsn: Lsn,
}

/// Scans every segment of `dir`: returns the intact records after `after`, removes empty segments, and puts
/// damaged ones aside (see [`quarantine`]). Fails only on I/O errors.
pub(crate) fn recover(
    dir: &Path,
    after: Lsn,
    sources: Option<&dyn SourceDecoder>,
) -> Result<Recovered> {
    let mut found = Recovered {
        records: Vec::new(),
        corrupt_segments: Vec::new(),
        live: Vec::new(),
        next_lsn: 0,
    };
    let mut highest = after;
    for (first_lsn, path) in segment_paths(dir)? {
        highest = highest.max(first_lsn);
        let bytes = fs::read(&path).map_err(io("read wal segment", &path))?;
        if bytes.is_empty() {
            fs::remove_file(&path).map_err(io("remove empty wal segment", &path))?;
            continue;
        }
        let scan = scan(&bytes, first_lsn, sources);
        drop(bytes);
        if let Some((offset, reason)) = scan.damage {
            let error = Error::CorruptWal { path: path.clone(), offset, reason };
            tracing::warn!(%error, intact_records = scan.records.len(), "recovering the wal");
            found.corrupt_segments.push(quarantine(dir, &path, scan.good_len)?);
        }
        if let Some((last_lsn, _)) = scan.records.last() {
            highest = highest.max(*last_lsn);
            found.live.push(SegmentInfo { path, last_lsn: *last_lsn, size: scan.good_len });
        }
        found.records.extend(scan.records.into_iter().filter(|(lsn, _)| *lsn > after));
    }
    found.next_lsn = highest + 1;
    sync_dir(dir).map_err(io("sync wal directory", dir))?;
    Ok(found)
}

/// Keeps a copy of a damaged segment in `<dir>/corrupt/` and cuts the live segment back to its intact records,
/// so that they stay in the WAL until the caller has made them durable elsewhere. Both steps are idempotent: a
/// crash between them repeats them on the next open. Returns the path of the copy.
fn quarantine(dir: &Path, path: &Path, good_len: u64) -> Result<PathBuf> {
    let corrupt_dir = dir.join(CORRUPT_DIR);
    fs::create_dir_all(&corrupt_dir).map_err(io("create wal corrupt directory", &corrupt_dir))?;
    let name = path.file_name().unwrap_or_default();
    let target = corrupt_dir.join(name);
    if good_len == 0 {
        fs::rename(path, &target).map_err(io("move corrupt wal segment", path))?;
    } else {
        fs::copy(path, &target).map_err(io("copy corrupt wal segment", path))?;
        File::open(&target)
            .and_then(|file| file.sync_all())
            .map_err(io("sync corrupt wal segment", &target))?;
    }
    sync_dir(&corrupt_dir).map_err(io("sync wal directory", &corrupt_dir))?;
    if good_len > 0 {
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|file| {
                file.set_len(good_len)?;
                file.sync_all()
            })
            .map_err(io("cut wal segment back to its intact records", path))?;
    }
    Ok(target)
}

/// Every intact record of every segment, without changing anything (damage ends a segment silently).
pub(crate) fn read_only(
    dir: &Path,
    sources: Option<&dyn SourceDecoder>,
) -> Result<Vec<(Lsn, Vec<TableBatch>)>> {
    let mut records = Vec::new();
    for (first_lsn, path) in segment_paths(dir)? {
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            // Removed meanwhile by `truncate_through` of a running WAL.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("read wal segment", &path)(e)),
        };
        records.extend(scan(&bytes, first_lsn, sources).records);
    }
    Ok(records)
}

/// Makes the creation, removal or renaming of files in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The path of the segment whose first record has `lsn`.
pub(crate) fn segment_path(dir: &Path, lsn: Lsn) -> PathBuf {
    dir.join(segment_name(lsn))
}
