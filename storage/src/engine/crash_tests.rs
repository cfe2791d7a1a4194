//! Crash tests: a child process (this test binary, re-run on [`crash_scenario_child`] alone) writes numbered
//! rows, flushes, compacts and enforces retention, and dies at one failpoint hit (see `crate::failpoint`):
//! `abort`, so nothing after the point runs — no error path, no `Drop`, no background task. The parent then
//! checks the directory as a read-only reader sees it and as a fresh [`Storage`] serves it through SQL: every
//! acknowledged row exactly once, and no temporary file, visible or on disk.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use object_store::local::LocalFileSystem;

use super::*;
use crate::failpoint::{self, CRASH_AT};
use crate::test_rows::rows;
use crate::{QueryEngine, QueryLimits};

/// 2024-01-02T03:00:00Z; row `id` of hour `h` is at `T0 + h * HOUR_NS + id`, so its time is its identity.
pub(super) const T0: i64 = 1_704_164_400_000_000_000;
pub(super) const HOUR_NS: i64 = 3_600_000_000_000;

/// Tells the child scenario where to work; unset, the scenario does nothing.
const DIR_ENV: &str = "SIGHTLINE_CRASH_TEST_DIR";
/// Under that directory: the data directory, the acknowledged rows, the failpoints hit by a full run.
const DATA: &str = "data";
const ACKED: &str = "acked";
const HITS: &str = "hits";
/// A line in [`ACKED`]: retention was about to start, so rows of its expired hour may be gone.
const RETENTION_STARTED: &str = "retention started";

/// The tables the scenario writes, and the hours (from `T0`) it writes them in.
const SCENARIO: [(Table, i64); 3] = [(Table::Logs, 0), (Table::Logs, 1), (Table::Spans, 0)];
/// Retention keeps logs for an hour; the scenario enforces it at `T0 + 2h`, so logs of hour 0 expire.
const RETENTION_NOW: i64 = T0 + 2 * HOUR_NS;
/// A time when every hour the scenario writes is over, for compaction.
const CLOSED_NOW: i64 = T0 + 3 * HOUR_NS;

fn scenario_options(data: &Path) -> StorageOptions {
    StorageOptions {
        // A segment per write, so that flushes delete segments.
        wal: WalOptions { segment_size: 1, ..WalOptions::default() },
        compaction_min_files: 2,
        // Two files merged at once, so that a partition's files take several merges.
        compaction_memory_bytes: 0,
        retention: [(Table::Logs, Duration::from_secs(3600))].into_iter().collect(),
        ..StorageOptions::new(data)
    }
}

/// `ids` as rows of `table` in hour `hour`.
pub(super) fn numbered(table: Table, hour: i64, ids: &[i64]) -> Vec<TableBatch> {
    let times: Vec<(i64, &str)> = ids.iter().map(|id| (T0 + hour * HOUR_NS + id, "svc")).collect();
    vec![TableBatch { table, batch: rows(table, &times) }]
}

/// The row ids in `batches` of `table`, sorted (duplicates kept).
pub(super) fn ids_of<'a>(
    table: Table,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Vec<i64> {
    let mut ids: Vec<i64> = batches
        .into_iter()
        .flat_map(|batch| {
            let column = batch.column_by_name(table.time_column()).expect("time column");
            column.as_primitive::<TimestampNanosecondType>().values().to_vec()
        })
        .map(|time| (time - T0).rem_euclid(HOUR_NS))
        .collect();
    ids.sort_unstable();
    ids
}

/// A SQL engine over `storage`, as the daemon builds it.
pub(super) fn query_engine(storage: &Storage) -> QueryEngine {
    let store = LocalFileSystem::new_with_prefix(&storage.inner.options.data_dir).expect("store");
    QueryEngine::new(Arc::new(storage.clone()), Arc::new(store), QueryLimits::default())
        .expect("query engine")
}

/// The row ids of `table` that a SQL query sees, sorted (duplicates kept).
pub(super) async fn queried_ids(engine: &QueryEngine, table: Table) -> Vec<i64> {
    let sql = format!("SELECT {} FROM {}", table.time_column(), table.name());
    let output = engine.sql(&sql).await.expect("query");
    assert!(!output.truncated, "{sql} was cut at the row limit");
    ids_of(table, &output.batches)
}

/// Temporary files (data or checkpoint) anywhere under `dir`.
pub(super) fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(temporary_files(&path));
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".tmp-"))
        {
            found.push(path);
        }
    }
    found
}

/// The child: writes four rounds of rows, each round flushed, so each partition gets four files. After the
/// third round, compaction merges the first two files of each partition (hours still open); after the
/// fourth, with every hour over, it merges the compacted file with the third, then that with the fourth,
/// two at a time. After each compaction it waits out the grace period of the merged files; at the end it
/// enforces retention. Every write that returned `Ok` is recorded in [`ACKED`] before the next step. With
/// no failpoint to crash at, it records the failpoints it hit.
#[tokio::test(start_paused = true)]
#[ignore = "run in a child process by the crash tests"]
async fn crash_scenario_child() {
    let Some(dir) = std::env::var_os(DIR_ENV).map(PathBuf::from) else { return };
    let mut acked = fs::File::create(dir.join(ACKED)).expect("create acked");
    let (storage, _) = Storage::open(scenario_options(&dir.join(DATA))).expect("open");
    let mut next_id = 1;
    for round in 0..4 {
        for (table, hour) in SCENARIO {
            let ids = [next_id, next_id + 1];
            next_id += 2;
            storage.write(numbered(table, hour, &ids)).await.expect("write");
            for id in ids {
                writeln!(acked, "{table} {hour} {id}").expect("record acked");
            }
        }
        storage.flush().await.expect("flush");
        let passes = match round {
            2 => vec![(T0, SCENARIO.len())],
            3 => vec![(CLOSED_NOW, SCENARIO.len()), (CLOSED_NOW, SCENARIO.len()), (CLOSED_NOW, 0)],
            _ => Vec::new(),
        };
        for (now, merges) in passes {
            assert_eq!(storage.compact(now).await.expect("compact"), merges);
            // The compacted originals are deleted after the grace period, by a background task.
            tokio::time::sleep(RETIRED_FILE_GRACE * 2).await;
        }
    }
    writeln!(acked, "{RETENTION_STARTED}").expect("record retention");
    assert_eq!(storage.enforce_retention(RETENTION_NOW).await.expect("retention"), 1);
    fs::write(dir.join(HITS), failpoint::hits().join("\n")).expect("record hits");
}

/// Runs the scenario in a child process, crashing at `crash_at` (`<failpoint>#<n>`) if given.
fn run_child(dir: &Path, crash_at: Option<&str>) -> Output {
    let test = format!(
        "{}::crash_scenario_child",
        module_path!().split_once("::").expect("crate::module").1
    );
    // Through a shell only to switch core dumps off: a hundred aborts must not each write one.
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -c 0; exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().expect("test binary"))
        .args([test.as_str(), "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir)
        .env_remove(CRASH_AT);
    if let Some(crash_at) = crash_at {
        command.env(CRASH_AT, crash_at);
    }
    command.output().expect("run the child scenario")
}

/// The failpoints a full run of the scenario hits, with how often.
fn scenario_hits() -> BTreeMap<String, usize> {
    let dir = tempfile::tempdir().expect("dir");
    let output = run_child(dir.path(), None);
    assert!(output.status.success(), "the scenario failed: {}", describe(&output));
    let hits = fs::read_to_string(dir.path().join(HITS)).expect("the scenario records its hits");
    let mut counts = BTreeMap::new();
    for name in hits.lines() {
        *counts.entry(name.to_owned()).or_default() += 1;
    }
    counts
}

fn describe(output: &Output) -> String {
    format!("{}\n{}", output.status, String::from_utf8_lossy(&output.stderr))
}

#[test]
fn every_failpoint_is_listed_and_reached_by_the_scenario() {
    let reached: Vec<String> = scenario_hits().into_keys().collect();
    let mut listed: Vec<String> = failpoint::ALL.iter().map(|name| name.to_string()).collect();
    listed.sort();
    assert_eq!(reached, listed, "failpoint::ALL must name exactly the failpoints in the code");
}

#[test]
fn a_crash_at_any_failpoint_loses_no_row_doubles_none_and_leaves_no_temporary_file() {
    let crashes: Vec<String> = scenario_hits()
        .into_iter()
        .flat_map(|(name, count)| (1..=count).map(move |n| format!("{name}#{n}")))
        .collect();
    assert!(crashes.len() >= failpoint::ALL.len(), "{crashes:?}");
    // The children mostly wait for fsyncs: a few at a time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                while let Some(crash_at) =
                    crashes.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let dir = tempfile::tempdir().expect("dir");
                    let output = run_child(dir.path(), Some(crash_at));
                    assert!(
                        !output.status.success() && output.status.code().is_none(),
                        "the child must die at {crash_at}: {}",
                        describe(&output)
                    );
                    runtime.block_on(check_after_crash(dir.path(), crash_at));
                }
            });
        }
    });
}

/// What the child acknowledged, per table: ids that must be there once, and ids that retention may have
/// deleted (there at most once).
struct Acknowledged {
    kept: BTreeMap<Table, Vec<i64>>,
    expirable: Vec<i64>,
}

fn acknowledged(dir: &Path) -> Acknowledged {
    let text = fs::read_to_string(dir.join(ACKED)).expect("read acked");
    let retention_started = text.lines().any(|line| line == RETENTION_STARTED);
    let mut acknowledged = Acknowledged { kept: BTreeMap::new(), expirable: Vec::new() };
    for line in text.lines().filter(|line| *line != RETENTION_STARTED) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [table, hour, id] = fields[..] else { panic!("bad acked line {line:?}") };
        let table = Table::ALL.into_iter().find(|t| t.name() == table).expect("table");
        let id: i64 = id.parse().expect("id");
        if retention_started && table == Table::Logs && hour == "0" {
            acknowledged.expirable.push(id);
        } else {
            acknowledged.kept.entry(table).or_default().push(id);
        }
    }
    acknowledged
}

/// Checks `found` ids of `table` against what was acknowledged.
fn check_ids(acknowledged: &Acknowledged, table: Table, found: &[i64], context: &str) {
    let mut kept: Vec<i64> = acknowledged.kept.get(&table).cloned().unwrap_or_default();
    kept.sort_unstable();
    let mut rest: Vec<i64> = found.to_vec();
    for id in &kept {
        let position = rest.iter().position(|r| r == id);
        let position = position.unwrap_or_else(|| panic!("{context}: {table} row {id} is lost"));
        rest.remove(position);
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in rest {
        let expirable = table == Table::Logs && acknowledged.expirable.contains(&id);
        assert!(expirable, "{context}: {table} row {id} is duplicated or was never written");
        assert!(seen.insert(id), "{context}: {table} row {id} is duplicated");
    }
}

async fn check_after_crash(dir: &Path, crash_at: &str) {
    let data = dir.join(DATA);
    let acknowledged = acknowledged(dir);
    let by_table = |batches: &[TableBatch], table: Table| {
        ids_of(table, batches.iter().filter(|b| b.table == table).map(|b| &b.batch))
    };

    let stored = read_all(&data, &FileLocation::DataDir, None).expect("read the crashed directory");
    for table in [Table::Logs, Table::Spans] {
        let context = format!("crash at {crash_at}, read-only");
        check_ids(&acknowledged, table, &by_table(&stored, table), &context);
    }

    for pass in ["reopened", "flushed, compacted and reopened"] {
        let (storage, _) = Storage::open(scenario_options(&data)).expect("reopen");
        let context = format!("crash at {crash_at}, {pass}");
        assert_eq!(temporary_files(&data), Vec::<PathBuf>::new(), "{context}");
        let engine = query_engine(&storage);
        for table in [Table::Logs, Table::Spans] {
            check_ids(&acknowledged, table, &queried_ids(&engine, table).await, &context);
        }
        storage.flush().await.expect("flush");
        storage.compact(CLOSED_NOW).await.expect("compact");
    }
}

#[tokio::test]
async fn a_flush_that_failed_half_way_doubles_no_row_after_the_next_flush_and_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let (storage, _) = Storage::open(StorageOptions::new(dir.path())).expect("open");
    storage.write(numbered(Table::Logs, 0, &[1])).await.expect("write");
    storage.write(numbered(Table::Spans, 0, &[2])).await.expect("write");
    // A file where the spans directory belongs: the flush fails after writing the logs file.
    let obstacle = dir.path().join(Table::Spans.name());
    fs::write(&obstacle, "").expect("obstacle");
    storage.flush().await.expect_err("the spans directory cannot be created");
    fs::remove_file(&obstacle).expect("remove obstacle");
    storage.write(numbered(Table::Logs, 0, &[3])).await.expect("write");
    storage.flush().await.expect("flush");
    drop(storage);

    let (storage, _) = Storage::open(StorageOptions::new(dir.path())).expect("reopen");
    let engine = query_engine(&storage);
    assert_eq!(queried_ids(&engine, Table::Logs).await, [1, 3]);
    assert_eq!(queried_ids(&engine, Table::Spans).await, [2]);
}
