use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;

use super::*;
use crate::test_rows::rows;

/// 2024-01-02T03:00:00Z
const T0: i64 = 1_704_164_400_000_000_000;

fn options(dir: &Path) -> StorageOptions {
    StorageOptions::new(dir)
}

fn log(time: i64) -> Vec<TableBatch> {
    vec![TableBatch { table: Table::Logs, batch: rows(Table::Logs, &[(time, "web")]) }]
}

/// Every row of `table` visible to a query, by time, read from files and buffer alike.
fn visible_times(storage: &Storage, table: Table) -> Vec<i64> {
    let (files, buffered) = storage.snapshot(table);
    let mut times = Vec::new();
    for file in files {
        let path = storage.inner.options.data_dir.join(&file.path);
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            fs::File::open(path).expect("open"),
            1024,
        )
        .expect("reader");
        for batch in reader {
            let batch = batch.expect("batch");
            times.extend(
                batch
                    .column_by_name(table.time_column())
                    .expect("time")
                    .as_primitive::<TimestampNanosecondType>()
                    .values(),
            );
        }
    }
    for batch in buffered {
        times.extend(
            batch
                .column_by_name(table.time_column())
                .expect("time")
                .as_primitive::<TimestampNanosecondType>()
                .values(),
        );
    }
    times.sort();
    times
}

#[tokio::test]
async fn written_rows_are_visible_before_and_after_a_flush_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let (storage, _) = Storage::open(options(dir.path())).expect("open");
    for i in 0..3 {
        storage.write(log(T0 + i)).await.expect("write");
    }
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1, T0 + 2]);
    storage.flush().await.expect("flush");
    assert_eq!(storage.buffered_bytes(), 0);
    assert_eq!(storage.snapshot(Table::Logs).0.len(), 1);
    storage.write(log(T0 + 3)).await.expect("write");
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1, T0 + 2, T0 + 3]);
}

#[tokio::test]
async fn a_restart_replays_the_unflushed_rows_and_not_the_flushed_ones() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let (storage, _) = Storage::open(options(dir.path())).expect("open");
        storage.write(log(T0)).await.expect("write");
        storage.flush().await.expect("flush");
        storage.write(log(T0 + 1)).await.expect("write");
    }
    let (storage, opened) = Storage::open(options(dir.path())).expect("reopen");
    assert_eq!(opened.replayed_records, 1);
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1]);
}

#[tokio::test]
async fn a_flush_interrupted_before_its_checkpoint_neither_loses_nor_doubles_rows() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let (storage, _) = Storage::open(options(dir.path())).expect("open");
        storage.write(log(T0)).await.expect("write");
        storage
            .write(vec![TableBatch {
                table: Table::Spans,
                batch: rows(Table::Spans, &[(T0 + 5, "api")]),
            }])
            .await
            .expect("write");
        // The crash: the logs file of a flush through LSN 2 is written, the spans file and checkpoint are not.
        let state = storage.state();
        let logs = state.buffer.through(2).remove(&Table::Logs).expect("logs");
        files::write(dir.path(), Table::Logs, &logs, 2).expect("write file");
    }
    let (storage, _) = Storage::open(options(dir.path())).expect("reopen");
    assert_eq!(visible_times(&storage, Table::Logs), [T0], "the logs row is in its file once");
    assert_eq!(
        visible_times(&storage, Table::Spans),
        [T0 + 5],
        "the spans row came back from the wal"
    );
    storage.flush().await.expect("flush");
    let (storage, _) = Storage::open(options(dir.path())).expect("reopen");
    assert_eq!(visible_times(&storage, Table::Logs), [T0]);
    assert_eq!(visible_times(&storage, Table::Spans), [T0 + 5]);
}

#[tokio::test]
async fn a_full_buffer_refuses_writes_retryably_until_a_flush() {
    let dir = tempfile::tempdir().expect("dir");
    let (storage, _) =
        Storage::open(StorageOptions { buffer_limit_bytes: 1, ..options(dir.path()) })
            .expect("open");
    storage.write(log(T0)).await.expect("the first write fits");
    let refused = storage.write(log(T0 + 1)).await.expect_err("full");
    assert!(matches!(refused, Error::Backpressure { .. }), "{refused:?}");
    storage.flush().await.expect("flush");
    storage.write(log(T0 + 1)).await.expect("room again");
}

#[tokio::test]
async fn flushed_wal_segments_are_deleted() {
    let dir = tempfile::tempdir().expect("dir");
    let wal = WalOptions { segment_size: 1, ..WalOptions::default() };
    let (storage, _) = Storage::open(StorageOptions { wal, ..options(dir.path()) }).expect("open");
    for i in 0..5 {
        storage.write(log(T0 + i)).await.expect("write");
    }
    let segments = |dir: &Path| {
        fs::read_dir(dir.join("wal"))
            .expect("wal dir")
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "wal")))
            .count()
    };
    let before = segments(dir.path());
    storage.flush().await.expect("flush");
    assert!(segments(dir.path()) < before, "flush must delete covered segments");
}

#[tokio::test(start_paused = true)]
async fn retention_deletes_the_partitions_older_than_the_age_and_nothing_newer() {
    let dir = tempfile::tempdir().expect("dir");
    let hour = 3_600_000_000_000_i64;
    let retention = [(Table::Logs, Duration::from_secs(2 * 3600))].into_iter().collect();
    let (storage, _) =
        Storage::open(StorageOptions { retention, ..options(dir.path()) }).expect("open");
    for age_hours in [5, 3, 1, 0] {
        storage.write(log(T0 - age_hours * hour)).await.expect("write");
    }
    storage
        .write(vec![TableBatch {
            table: Table::Spans,
            batch: rows(Table::Spans, &[(T0 - 5 * hour, "api")]),
        }])
        .await
        .expect("write");
    storage.flush().await.expect("flush");
    assert_eq!(storage.snapshot(Table::Logs).0.len(), 4);

    let deleted = storage.enforce_retention(T0).await.expect("retention");
    assert_eq!(deleted, 2, "the partitions 5 and 3 hours old");
    assert_eq!(visible_times(&storage, Table::Logs), [T0 - hour, T0]);
    assert_eq!(
        visible_times(&storage, Table::Spans),
        [T0 - 5 * hour],
        "spans have no retention set"
    );
    let (storage, _) = Storage::open(options(dir.path())).expect("reopen");
    assert_eq!(
        visible_times(&storage, Table::Logs),
        [T0 - hour, T0],
        "the files are gone from disk too"
    );
}
