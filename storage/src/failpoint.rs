//! Named crash points at every step of a flush, a compaction and retention, for the crash tests in
//! `engine/crash_tests.rs`.
//!
//! [`hit`] does nothing outside this crate's own test build. In the test build it counts the hits of each
//! name, and aborts the process — no unwinding, no `Drop`, no error path, like a real crash — when
//! [`CRASH_AT`] names this hit as `<name>#<n>` (the n-th hit of `name`, from 1). A tiny hook rather than the
//! `fail` crate: one action (abort) is all the tests need, and `cfg(test)` compiles it out of every other
//! build without a cargo feature to keep in step across the workspace.

/// Environment variable naming the hit to crash at: `<name>#<n>`.
#[cfg(test)]
pub(crate) const CRASH_AT: &str = "SIGHTLINE_CRASH_AT";

/// Every failpoint, in the order a flush, a compaction and a retention pass reach them.
#[cfg(test)]
pub(crate) const ALL: &[&str] = &[
    // engine::flush_now
    "flush.started",
    // files::write_file, for every data file written by a flush or a compaction
    "file.temporary_written",
    "file.temporary_synced",
    "file.renamed",
    "file.directory_synced",
    // engine::flush_now and write_checkpoint
    "flush.files_written",
    "checkpoint.temporary_written",
    "checkpoint.temporary_synced",
    "checkpoint.renamed",
    "flush.checkpoint_written",
    "flush.buffer_released",
    // wal::truncate_through, for every segment deleted
    "wal.segment_removed",
    // engine::compact
    "compact.file_written",
    "compact.swapped",
    // engine::enforce_retention
    "retention.unlisted",
    // files::remove, for every file deleted by compaction (after the grace period) or retention
    "file.removed",
    "file.removal_synced",
];

#[cfg(test)]
static HITS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// Marks a step; in a crash test, may be where the process dies.
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn hit(_name: &'static str) {}

/// Marks a step; in a crash test, may be where the process dies.
#[cfg(test)]
pub(crate) fn hit(name: &'static str) {
    let mut hits = HITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    hits.push(name);
    let n = hits.iter().filter(|hit| **hit == name).count();
    if std::env::var(CRASH_AT).is_ok_and(|target| target == format!("{name}#{n}")) {
        std::process::abort();
    }
}

/// Every hit so far in this process, in order.
#[cfg(test)]
pub(crate) fn hits() -> Vec<&'static str> {
    HITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}
