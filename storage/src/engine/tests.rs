use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;

use super::*;
use crate::test_backends::{Backend, on_both_backends};
use crate::test_rows::rows;

/// 2024-01-02T03:00:00Z
const T0: i64 = 1_704_164_400_000_000_000;
const HOUR: i64 = 3_600_000_000_000;

fn log(time: i64) -> Vec<TableBatch> {
    vec![TableBatch { table: Table::Logs, batch: rows(Table::Logs, &[(time, "web")]) }]
}

/// Every row of `table` visible to a query, by time, read from files and buffer alike.
fn visible_times(storage: &Storage, table: Table) -> Vec<i64> {
    let TableSnapshot { files, buffered } = storage.snapshot(table);
    let store = storage.data_store();
    let from_files =
        files.iter().flat_map(|file| files::read(store, file).expect("read data file"));
    let mut times: Vec<i64> = from_files
        .chain(buffered)
        .flat_map(|batch| {
            let column = batch.column_by_name(table.time_column()).expect("time column");
            column.as_primitive::<TimestampNanosecondType>().values().to_vec()
        })
        .collect();
    times.sort();
    times
}

async fn written_rows_are_visible_before_and_after_a_flush_exactly_once(backend: Backend) {
    let (storage, _) = Storage::open(backend.options()).expect("open");
    for i in 0..3 {
        storage.write(log(T0 + i)).await.expect("write");
    }
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1, T0 + 2]);
    storage.flush().await.expect("flush");
    assert_eq!(storage.buffered_bytes(), 0);
    assert_eq!(storage.snapshot(Table::Logs).files.len(), 1);
    storage.write(log(T0 + 3)).await.expect("write");
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1, T0 + 2, T0 + 3]);
}

async fn a_restart_replays_the_unflushed_rows_and_not_the_flushed_ones(backend: Backend) {
    {
        let (storage, _) = Storage::open(backend.options()).expect("open");
        storage.write(log(T0)).await.expect("write");
        storage.flush().await.expect("flush");
        storage.write(log(T0 + 1)).await.expect("write");
    }
    let (storage, opened) = Storage::open(backend.options()).expect("reopen");
    assert_eq!(opened.replayed_records, 1);
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1]);
}

async fn a_flush_interrupted_before_its_checkpoint_neither_loses_nor_doubles_rows(
    backend: Backend,
) {
    {
        let (storage, _) = Storage::open(backend.options()).expect("open");
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
        files::write(storage.data_store(), Table::Logs, &logs, 2).expect("write file");
    }
    let (storage, _) = Storage::open(backend.options()).expect("reopen");
    assert_eq!(visible_times(&storage, Table::Logs), [T0], "the logs row is in its file once");
    assert_eq!(
        visible_times(&storage, Table::Spans),
        [T0 + 5],
        "the spans row came back from the wal"
    );
    storage.flush().await.expect("flush");
    let (storage, _) = Storage::open(backend.options()).expect("reopen");
    assert_eq!(visible_times(&storage, Table::Logs), [T0]);
    assert_eq!(visible_times(&storage, Table::Spans), [T0 + 5]);
}

async fn a_full_buffer_refuses_writes_retryably_until_a_flush(backend: Backend) {
    let (storage, _) =
        Storage::open(StorageOptions { buffer_limit_bytes: 1, ..backend.options() }).expect("open");
    storage.write(log(T0)).await.expect("the first write fits");
    let refused = storage.write(log(T0 + 1)).await.expect_err("full");
    assert!(matches!(refused, Error::Backpressure { .. }), "{refused:?}");
    storage.flush().await.expect("flush");
    storage.write(log(T0 + 1)).await.expect("room again");
}

async fn flushed_wal_segments_are_deleted(backend: Backend) {
    let wal = WalOptions { segment_size: 1, ..WalOptions::default() };
    let (storage, _) = Storage::open(StorageOptions { wal, ..backend.options() }).expect("open");
    for i in 0..5 {
        storage.write(log(T0 + i)).await.expect("write");
    }
    let segments = |dir: &Path| {
        fs::read_dir(dir.join("wal"))
            .expect("wal dir")
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "wal")))
            .count()
    };
    let before = segments(backend.path());
    storage.flush().await.expect("flush");
    assert!(segments(backend.path()) < before, "flush must delete covered segments");
}

async fn retention_deletes_the_partitions_older_than_the_age_and_nothing_newer(backend: Backend) {
    let hour = 3_600_000_000_000_i64;
    let retention = [(Table::Logs, Duration::from_secs(2 * 3600))].into_iter().collect();
    let (storage, _) =
        Storage::open(StorageOptions { retention, ..backend.options() }).expect("open");
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
    assert_eq!(storage.snapshot(Table::Logs).files.len(), 4);

    let deleted = storage.enforce_retention(T0).await.expect("retention");
    assert_eq!(deleted, 2, "the partitions 5 and 3 hours old");
    assert_eq!(visible_times(&storage, Table::Logs), [T0 - hour, T0]);
    assert_eq!(
        visible_times(&storage, Table::Spans),
        [T0 - 5 * hour],
        "spans have no retention set"
    );
    let (storage, _) = Storage::open(backend.options()).expect("reopen");
    assert_eq!(
        visible_times(&storage, Table::Logs),
        [T0 - hour, T0],
        "the files are gone from disk too"
    );
}

async fn compaction_merges_a_partitions_files_and_every_row_stays_visible_once(backend: Backend) {
    let (storage, _) = Storage::open(backend.options()).expect("open");
    for i in 0..5 {
        storage.write(log(T0 + i)).await.expect("write");
        storage.flush().await.expect("flush");
    }
    assert_eq!(storage.snapshot(Table::Logs).files.len(), 5);
    assert_eq!(storage.compact(T0).await.expect("compact"), 1);
    let files = storage.snapshot(Table::Logs).files;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].replaces.len(), 5);
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
    // The originals are deleted once the grace period for running queries is over.
    tokio::time::sleep(RETIRED_FILE_GRACE * 2).await;
    let parquet_files = backend.parquet_objects("logs").await;
    assert_eq!(parquet_files.len(), 1, "only the compacted file is left: {parquet_files:?}");
}

async fn a_crash_after_compaction_before_deleting_the_originals_shows_each_row_once(
    backend: Backend,
) {
    {
        let (storage, _) = Storage::open(backend.options()).expect("open");
        for i in 0..4 {
            storage.write(log(T0 + i)).await.expect("write");
            storage.flush().await.expect("flush");
        }
        // The crash: the compacted file is in place, the originals were never deleted.
        let originals = storage.snapshot(Table::Logs).files;
        files::compact(storage.data_store(), Table::Logs, &originals, 1 << 20, true)
            .expect("compact");
    }
    assert_eq!(backend.parquet_objects("logs").await.len(), 5);
    let rows =
        read_all(backend.path(), &backend.files, None).expect("read while the leftovers are there");
    assert_eq!(rows.iter().map(|b| b.batch.num_rows()).sum::<usize>(), 4);
    let (storage, _) = Storage::open(backend.options()).expect("reopen");
    assert_eq!(visible_times(&storage, Table::Logs), [T0, T0 + 1, T0 + 2, T0 + 3]);
    assert_eq!(backend.parquet_objects("logs").await.len(), 1, "opening finishes the compaction");
}

/// The (service, time) of every row of each file, in file order.
fn keys_by_file(storage: &Storage, files: &[DataFile]) -> Vec<Vec<(String, i64)>> {
    files
        .iter()
        .map(|file| {
            let batches = files::read(storage.data_store(), file).expect("read data file");
            batches
                .iter()
                .flat_map(|batch| {
                    let services = batch.column_by_name("service_name").expect("service");
                    let times = batch.column_by_name("timestamp").expect("time");
                    let services = services.as_string::<i32>();
                    let times = times.as_primitive::<TimestampNanosecondType>();
                    (0..batch.num_rows())
                        .map(|i| (services.value(i).to_owned(), times.value(i)))
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .collect()
}

/// Writes and flushes `flushes` files into the hour from `T0`, each of two rows of two services.
async fn flush_files(storage: &Storage, flushes: i64) -> Vec<i64> {
    let mut times = Vec::new();
    for i in 0..flushes {
        let (a, b) = (T0 + 1000 - i, T0 + i);
        let batch = rows(Table::Logs, &[(a, "web"), (b, "api")]);
        storage.write(vec![TableBatch { table: Table::Logs, batch }]).await.expect("write");
        storage.flush().await.expect("flush");
        times.extend([a, b]);
    }
    times.sort();
    times
}

async fn a_busy_partition_is_compacted_in_runs_of_the_target_size(backend: Backend) {
    let (storage, _) = Storage::open(backend.options()).expect("open");
    let times = flush_files(&storage, 10).await;
    let files = storage.snapshot(Table::Logs).files;
    let largest = files.iter().map(|f| f.size_bytes).max().expect("files");
    // Three files fit in a run: the ten files are more than the target, which once kept a partition from
    // ever being compacted.
    let target = 3 * largest;
    let options = StorageOptions {
        compaction_target_bytes: target,
        compaction_min_files: 3,
        ..backend.options()
    };
    drop(storage);
    let (storage, _) = Storage::open(options).expect("reopen");
    assert_eq!(storage.compact(T0).await.expect("compact"), 3, "runs of 3, 3 and 3; one file left");

    let files = storage.snapshot(Table::Logs).files;
    let compacted: Vec<&DataFile> = files.iter().filter(|f| !f.replaces.is_empty()).collect();
    assert_eq!((files.len(), compacted.len()), (4, 3), "{files:?}");
    let mut replaced: Vec<&String> = compacted.iter().flat_map(|f| &f.replaces).collect();
    replaced.sort();
    replaced.dedup();
    assert_eq!(replaced.len(), 9, "each original is replaced once");
    for (file, keys) in files.iter().zip(keys_by_file(&storage, &files)) {
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{} is sorted by service, then time", file.path);
    }
    assert_eq!(visible_times(&storage, Table::Logs), times);
    let (storage, _) = Storage::open(backend.options()).expect("reopen");
    assert_eq!(visible_times(&storage, Table::Logs), times, "after a restart too");
}

async fn a_closed_hour_is_compacted_once_even_with_few_files(backend: Backend) {
    let (storage, _) = Storage::open(backend.options()).expect("open");
    let times = flush_files(&storage, 3).await;
    assert_eq!(storage.compact(T0 + HOUR).await.expect("compact"), 0, "the hour has just ended");
    let closed = T0 + 2 * HOUR;
    assert_eq!(
        storage.compact(closed).await.expect("compact"),
        1,
        "three files are fewer than four"
    );
    let files = storage.snapshot(Table::Logs).files;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].replaces.len(), 3);
    assert_eq!(storage.compact(closed).await.expect("compact"), 0, "a lone file stays as it is");
    assert_eq!(visible_times(&storage, Table::Logs), times);
}

async fn an_open_hour_leaves_its_compacted_files_alone_until_it_is_over(backend: Backend) {
    let options =
        StorageOptions { compaction_min_files: 2, compaction_memory_bytes: 0, ..backend.options() };
    let (storage, _) = Storage::open(options).expect("open");
    let times = flush_files(&storage, 5).await;
    // Two files at once: (1 2) (3 4), and 5 alone.
    assert_eq!(storage.compact(T0).await.expect("compact"), 2);
    assert_eq!(
        storage.compact(T0).await.expect("compact"),
        0,
        "compacted files wait for the hour's end"
    );
    let mut passes = 0;
    while storage.compact(T0 + 2 * HOUR).await.expect("compact") > 0 {
        passes += 1;
        assert!(passes < 5, "compaction settles");
    }
    let files = storage.snapshot(Table::Logs).files;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(visible_times(&storage, Table::Logs), times);
}

on_both_backends! {
    #[tokio::test] async fn written_rows_are_visible_before_and_after_a_flush_exactly_once;
    #[tokio::test] async fn a_restart_replays_the_unflushed_rows_and_not_the_flushed_ones;
    #[tokio::test] async fn a_flush_interrupted_before_its_checkpoint_neither_loses_nor_doubles_rows;
    #[tokio::test] async fn a_full_buffer_refuses_writes_retryably_until_a_flush;
    #[tokio::test] async fn flushed_wal_segments_are_deleted;
    #[tokio::test(start_paused = true)] async fn retention_deletes_the_partitions_older_than_the_age_and_nothing_newer;
    #[tokio::test(start_paused = true)] async fn compaction_merges_a_partitions_files_and_every_row_stays_visible_once;
    #[tokio::test] async fn a_crash_after_compaction_before_deleting_the_originals_shows_each_row_once;
    #[tokio::test] async fn a_busy_partition_is_compacted_in_runs_of_the_target_size;
    #[tokio::test] async fn a_closed_hour_is_compacted_once_even_with_few_files;
    #[tokio::test] async fn an_open_hour_leaves_its_compacted_files_alone_until_it_is_over;
}

/// Snapshots taken while compactions swap files in (each reading every file it lists, as a query does)
/// see every row exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_during_compaction_sees_every_row_once() {
    let backend = Backend::local();
    let options =
        StorageOptions { compaction_min_files: 2, compaction_memory_bytes: 0, ..backend.options() };
    let (storage, _) = Storage::open(options).expect("open");
    let times = flush_files(&storage, 12).await;
    let compaction = tokio::spawn({
        let storage = storage.clone();
        async move {
            let mut merges = 0;
            for now in [T0, T0 + 2 * HOUR, T0 + 2 * HOUR, T0 + 2 * HOUR, T0 + 2 * HOUR] {
                merges += storage.compact(now).await.expect("compact");
            }
            merges
        }
    });
    let mut snapshots = 0;
    while !compaction.is_finished() {
        let reader = storage.clone();
        let seen = tokio::task::spawn_blocking(move || visible_times(&reader, Table::Logs))
            .await
            .expect("read");
        assert_eq!(seen, times, "snapshot {snapshots}");
        snapshots += 1;
    }
    assert!(compaction.await.expect("compaction") >= 11, "12 files merged down to one");
    assert_eq!(storage.snapshot(Table::Logs).files.len(), 1);
    assert_eq!(visible_times(&storage, Table::Logs), times);
    assert!(snapshots > 0);
}
