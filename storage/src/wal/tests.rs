//! Unit tests of the WAL: round trips, group commit, rotation, truncation, damage and write failures.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::*;
use crate::Table;
use recovery::scan;

/// A small batch whose content identifies it: `n` rows counting from `seed`.
pub(super) fn batch(table: Table, seed: i64, n: usize) -> TableBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("s", DataType::Utf8, true),
    ]));
    let numbers: Vec<i64> = (0..n as i64).map(|i| seed + i).collect();
    let strings: Vec<Option<String>> =
        numbers.iter().map(|n| (n % 3 != 0).then(|| format!("value {n}"))).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from(numbers)), Arc::new(StringArray::from(strings))],
    )
    .unwrap();
    TableBatch { table, batch }
}

/// Records in a comparable form.
pub(super) fn plain(records: &[(Lsn, Vec<TableBatch>)]) -> Vec<(Lsn, Vec<(Table, RecordBatch)>)> {
    records
        .iter()
        .map(|(lsn, batches)| {
            (*lsn, batches.iter().map(|b| (b.table, b.batch.clone())).collect::<Vec<_>>())
        })
        .collect()
}

pub(super) fn options(durability: Durability, segment_size: u64) -> WalOptions {
    WalOptions { durability, segment_size, commit_delay: Duration::ZERO, sources: None }
}

pub(super) fn segment_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".wal"))
        .collect();
    names.sort();
    names
}

fn segment_bytes(dir: &Path) -> u64 {
    segment_names(dir).iter().map(|name| fs::metadata(dir.join(name)).unwrap().len()).sum()
}

fn request(i: i64) -> Vec<TableBatch> {
    vec![batch(Table::Logs, i * 10, 3), batch(Table::Spans, i * 100, 2)]
}

#[tokio::test]
async fn appended_records_come_back_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert!(recovery.records.is_empty() && recovery.corrupt_segments.is_empty());
    assert_eq!(recovery.next_lsn, 1);
    let mut written = Vec::new();
    for i in 0..3 {
        let lsn = wal.append(request(i)).await.unwrap();
        written.push((lsn, request(i)));
    }
    assert_eq!(written.iter().map(|(lsn, _)| *lsn).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(wal.append(Vec::new()).await.unwrap(), 4);
    written.push((4, Vec::new()));
    assert!(wal.disk_bytes() > 0);
    wal.close().await.unwrap();

    assert_eq!(plain(&read_dir(dir.path(), None).unwrap()), plain(&written));
    let (wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert_eq!(plain(&recovery.records), plain(&written));
    assert!(recovery.corrupt_segments.is_empty());
    assert_eq!(recovery.next_lsn, 5);
    assert_eq!(wal.append(request(9)).await.unwrap(), 5);
    wal.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_fsyncs_and_get_distinct_lsns() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    let wal = Arc::new(wal);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let wal = Arc::clone(&wal);
            tokio::spawn(async move { (wal.append(request(i)).await.unwrap(), i) })
        })
        .collect();
    let mut by_lsn = Vec::new();
    for task in tasks {
        by_lsn.push(task.await.unwrap());
    }
    by_lsn.sort();
    let lsns: Vec<Lsn> = by_lsn.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(lsns, (1..=100).collect::<Vec<_>>());
    let syncs = wal.sync_count();
    assert!(syncs < 50, "100 concurrent appends took {syncs} fsyncs");
    Arc::into_inner(wal).unwrap().close().await.unwrap();

    let (_wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    let expected: Vec<_> = by_lsn.iter().map(|(lsn, i)| (*lsn, request(*i))).collect();
    assert_eq!(plain(&recovery.records), plain(&expected));
}

#[tokio::test]
async fn full_segments_rotate_and_truncate_deletes_only_covered_closed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let record_len = {
        let probe = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(probe.path(), options(Durability::None, 1 << 20), 0).unwrap();
        wal.append(request(10)).await.unwrap();
        let len = wal.disk_bytes();
        wal.close().await.unwrap();
        len
    };
    // Records of about the same size; two fill a segment: [1, 2] [3, 4] [5 (active)].
    let (wal, _) =
        Wal::open(dir.path(), options(Durability::Fsync, record_len + record_len / 2), 0).unwrap();
    for i in 0..5 {
        wal.append(request(10 + i)).await.unwrap();
    }
    let names = segment_names(dir.path());
    assert_eq!(names, [segment_name(1), segment_name(3), segment_name(5)]);
    assert_eq!(wal.disk_bytes(), segment_bytes(dir.path()));

    wal.truncate_through(3).unwrap();
    assert_eq!(segment_names(dir.path()), [segment_name(3), segment_name(5)]);
    assert_eq!(wal.disk_bytes(), segment_bytes(dir.path()));
    wal.truncate_through(4).unwrap();
    wal.truncate_through(100).unwrap();
    assert_eq!(segment_names(dir.path()), [segment_name(5)], "the active segment stays");
    assert_eq!(wal.disk_bytes(), segment_bytes(dir.path()));
    // The next append fills segment 5, which then closes; the one after starts segment 7.
    assert_eq!(wal.append(request(15)).await.unwrap(), 6);
    assert_eq!(wal.append(request(16)).await.unwrap(), 7);
    wal.truncate_through(6).unwrap();
    assert_eq!(segment_names(dir.path()), [segment_name(7)]);
    wal.close().await.unwrap();

    let (_wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert_eq!(plain(&recovery.records), plain(&[(7, request(16))]));
    assert_eq!(recovery.next_lsn, 8);
}

#[tokio::test]
async fn after_filters_recovered_records_and_bounds_the_next_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    for i in 0..4 {
        wal.append(request(i)).await.unwrap();
    }
    wal.close().await.unwrap();

    let (wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 2).unwrap();
    assert_eq!(plain(&recovery.records), plain(&[(3, request(2)), (4, request(3))]));
    assert_eq!(recovery.next_lsn, 5);
    wal.close().await.unwrap();

    // A checkpoint beyond everything in the log (its segments were truncated) still moves LSNs past it.
    let (wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 40).unwrap();
    assert!(recovery.records.is_empty());
    assert_eq!(recovery.next_lsn, 41);
    assert_eq!(wal.append(request(5)).await.unwrap(), 41);
    wal.close().await.unwrap();
}

#[tokio::test]
async fn empty_segments_are_removed_and_their_names_are_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(segment_name(42)), b"").unwrap();
    let (wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert_eq!(recovery.next_lsn, 43);
    assert_eq!(segment_names(dir.path()), [segment_name(43)]);
    wal.close().await.unwrap();
    assert!(segment_names(dir.path()).is_empty(), "closing removes an empty active segment");
}

#[tokio::test]
async fn a_failed_write_is_reported_and_the_wal_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert_eq!(wal.append(request(0)).await.unwrap(), 1);
    wal.shared.fail_writes.store(1, Ordering::Relaxed);
    let error = wal.append(request(1)).await.unwrap_err();
    assert!(error.to_string().contains("injected: disk full"), "{error}");
    // The failed LSN is not reused; the next group goes to a fresh segment.
    assert_eq!(wal.append(request(2)).await.unwrap(), 3);
    assert_eq!(segment_names(dir.path()), [segment_name(1), segment_name(3)]);
    wal.close().await.unwrap();

    let (_wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert!(recovery.corrupt_segments.is_empty(), "the partial write was cut off");
    assert_eq!(plain(&recovery.records), plain(&[(1, request(0)), (3, request(2))]));
    assert_eq!(recovery.next_lsn, 4);
}

#[tokio::test]
async fn damage_in_one_segment_keeps_its_prefix_and_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), options(Durability::Fsync, 1), 0).unwrap();
    for i in 0..3 {
        wal.append(request(i)).await.unwrap();
    }
    wal.close().await.unwrap();
    // Segment 2: append garbage after its record, as a torn write would leave.
    let damaged = dir.path().join(segment_name(2));
    let mut bytes = fs::read(&damaged).unwrap();
    let good_len = bytes.len();
    bytes.extend_from_slice(&[7; 11]);
    fs::write(&damaged, &bytes).unwrap();

    let expected = [(1, request(0)), (2, request(1)), (3, request(2))];
    let (wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert_eq!(plain(&recovery.records), plain(&expected));
    let kept = dir.path().join("corrupt").join(segment_name(2));
    assert_eq!(recovery.corrupt_segments, std::slice::from_ref(&kept));
    assert_eq!(fs::read(&kept).unwrap(), bytes);
    assert_eq!(fs::metadata(&damaged).unwrap().len(), good_len as u64);
    assert_eq!(recovery.next_lsn, 4);
    wal.close().await.unwrap();

    let (_wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert_eq!(plain(&recovery.records), plain(&expected));
    assert!(recovery.corrupt_segments.is_empty());
}

#[tokio::test]
async fn a_corrupt_length_field_reads_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    wal.append(request(0)).await.unwrap();
    wal.close().await.unwrap();
    let path = dir.path().join(segment_name(1));
    let mut bytes = fs::read(&path).unwrap();
    bytes[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&path, &bytes).unwrap();

    let (_wal, recovery) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    assert!(recovery.records.is_empty());
    assert_eq!(recovery.corrupt_segments, [dir.path().join("corrupt").join(segment_name(1))]);
    assert_eq!(recovery.next_lsn, 2);
}

#[test]
fn records_of_the_tables_schemas_hold_the_stream_writers_bytes() {
    for table in Table::ALL {
        let rows = crate::test_rows::rows(table, &[(1_000, "checkout"), (2_000, "payments")]);
        let sliced = rows.slice(1, 1);
        for batch in [rows, sliced] {
            let mut expected = Vec::new();
            let mut writer =
                arrow_ipc::writer::StreamWriter::try_new(&mut expected, &batch.schema()).unwrap();
            writer.write(&batch).unwrap();
            writer.finish().unwrap();
            drop(writer);

            let mut record =
                Unsealed::encode(&[TableBatch { table, batch: batch.clone() }]).unwrap();
            // The payload: the batch count, the table's tag and the stream's length, then the stream.
            let stream = &record.bytes[record::HEADER_LEN + 4 + 5..];
            assert_eq!(stream, &expected[..], "{}", table.name());
            match record::decode(record.seal(7), None) {
                record::Decoded::Record { lsn: 7, batches, .. } => {
                    assert_eq!(plain(&[(7, batches)]), vec![(7, vec![(table, batch)])]);
                }
                other => panic!("{}: {other:?}", table.name()),
            }
        }
    }
}

/// Decodes sources written as `[seed: i64 LE]` into `request(seed + stamp)`; fails on anything else.
#[derive(Debug)]
struct SeedSources;

impl SourceDecoder for SeedSources {
    fn decode(
        &self,
        format: u8,
        stamp: i64,
        bytes: &[u8],
    ) -> std::result::Result<Vec<TableBatch>, String> {
        let seed: [u8; 8] = bytes.try_into().map_err(|_| format!("{} bytes", bytes.len()))?;
        match format {
            7 => Ok(request(i64::from_le_bytes(seed) + stamp)),
            other => Err(format!("unknown format {other}")),
        }
    }
}

fn seed_source(seed: i64, stamp: i64) -> Source {
    Source { format: 7, stamp, bytes: bytes::Bytes::copy_from_slice(&seed.to_le_bytes()) }
}

#[tokio::test]
async fn a_logged_source_is_decoded_again_on_recovery_in_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let sources = WalOptions { sources: Some(Arc::new(SeedSources)), ..WalOptions::default() };
    let (wal, _) = Wal::open(dir.path(), sources.clone(), 0).unwrap();
    assert_eq!(wal.append(request(1)).await.unwrap(), 1);
    assert_eq!(wal.append_source(&seed_source(2, 0)).await.unwrap(), 2);
    assert_eq!(wal.append_source(&seed_source(3, 10)).await.unwrap(), 3);
    wal.close().await.unwrap();
    let expected = vec![(1, request(1)), (2, request(2)), (3, request(13))];

    assert_eq!(plain(&read_dir(dir.path(), Some(&SeedSources)).unwrap()), plain(&expected));
    let (wal, recovery) = Wal::open(dir.path(), sources, 0).unwrap();
    assert_eq!(plain(&recovery.records), plain(&expected));
    assert!(recovery.corrupt_segments.is_empty());
    wal.close().await.unwrap();
}

#[tokio::test]
async fn a_source_that_does_not_decode_ends_its_segment_as_damage_does() {
    let dir = tempfile::tempdir().unwrap();
    let sources = WalOptions { sources: Some(Arc::new(SeedSources)), ..WalOptions::default() };
    let (wal, _) = Wal::open(dir.path(), sources.clone(), 0).unwrap();
    wal.append(request(1)).await.unwrap();
    wal.append_source(&Source { format: 8, ..seed_source(2, 0) }).await.unwrap();
    wal.append(request(3)).await.unwrap();
    wal.close().await.unwrap();

    let (wal, recovery) = Wal::open(dir.path(), sources, 0).unwrap();
    assert_eq!(plain(&recovery.records), plain(&[(1, request(1))]));
    assert_eq!(recovery.corrupt_segments.len(), 1, "kept aside for an operator, whole");
    let kept = fs::read(&recovery.corrupt_segments[0]).unwrap();
    assert!(scan(&kept, 1, Some(&SeedSources)).damage.unwrap().1.contains("unknown format 8"));
    wal.close().await.unwrap();
}

#[tokio::test]
async fn without_a_decoder_a_logged_source_reads_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
    wal.append(request(1)).await.unwrap();
    wal.append_source(&seed_source(2, 0)).await.unwrap();
    wal.close().await.unwrap();
    assert_eq!(plain(&read_dir(dir.path(), None).unwrap()), plain(&[(1, request(1))]));
}
