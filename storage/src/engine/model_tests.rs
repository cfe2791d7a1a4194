//! Model test: random sequences of appends, flushes, compactions, retention passes, crashes and restarts run
//! against the engine and against an in-memory list of the rows that must be there; every query (row ids,
//! and an aggregate through the SQL engine) must give the same answer from both.
//!
//! A crash abandons the engine without running anything more of it: the `Storage` is leaked (no `Drop`, so
//! the WAL writer is never told to finish and the buffer is never flushed) and the runtime it ran on is
//! dropped, which cancels its background tasks (the deletion of compacted files), as the death of the
//! process would. The engine keeps no lock on its data directory, so nothing else needs releasing.
#![allow(clippy::unwrap_used)]

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use proptest::prelude::*;

use super::crash_tests::{
    HOUR_NS, T0, ids_of, numbered, queried_ids, query_engine, temporary_files,
};
use super::*;

/// Tables written, and the hours (from `T0`) rows fall in.
const TABLES: [Table; 2] = [Table::Logs, Table::Spans];
const HOURS: i64 = 3;

#[derive(Debug, Clone)]
enum Op {
    /// One write of `rows` new rows of `table` in `hour`.
    Append {
        table: Table,
        hour: i64,
        rows: i64,
    },
    Flush,
    /// Compaction at a time when the hours before `open_hour` are over.
    Compact {
        open_hour: i64,
    },
    /// Retention at a time when logs before `before_hour` are older than their one-hour retention.
    Retention {
        before_hour: i64,
    },
    /// The process dies and starts again.
    Crash,
    /// A graceful stop and start.
    Restart,
    Query,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..TABLES.len(), 0..HOURS, 1..4i64)
            .prop_map(|(table, hour, rows)| Op::Append { table: TABLES[table], hour, rows }),
        3 => Just(Op::Flush),
        2 => (0..=HOURS).prop_map(|open_hour| Op::Compact { open_hour }),
        1 => (0..=HOURS).prop_map(|before_hour| Op::Retention { before_hour }),
        2 => Just(Op::Crash),
        1 => Just(Op::Restart),
        2 => Just(Op::Query),
    ]
}

/// A row that must be stored: its table, hour and id, and whether a flush has put it in a file.
#[derive(Debug, Clone, Copy)]
struct ModelRow {
    table: Table,
    hour: i64,
    id: i64,
    flushed: bool,
}

fn options(dir: &Path) -> StorageOptions {
    StorageOptions {
        // Several segments, so that flushes delete some and keep others.
        wal: WalOptions { segment_size: 512, ..WalOptions::default() },
        compaction_min_files: 2,
        // Two files merged at once, so that a partition's files take several merges.
        compaction_memory_bytes: 0,
        retention: [(Table::Logs, Duration::from_secs(3600))].into_iter().collect(),
        ..StorageOptions::new(dir)
    }
}

/// One life of the engine: the runtime its tasks run on, and the engine.
struct Incarnation {
    runtime: tokio::runtime::Runtime,
    storage: Storage,
}

impl Incarnation {
    fn start(dir: &Path) -> Incarnation {
        // Paused time: retention's grace period for running queries passes at once.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let (storage, _) = Storage::open(options(dir)).unwrap();
        Incarnation { runtime, storage }
    }

    fn crash(self) {
        let Incarnation { runtime, storage } = self;
        std::mem::forget(storage);
        drop(runtime);
    }

    fn stop(self) {
        let Incarnation { runtime, storage } = self;
        drop(storage);
        drop(runtime);
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut model: Vec<ModelRow> = Vec::new();
    let mut next_id = 1;
    let mut engine = Incarnation::start(dir.path());
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Append { table, hour, rows } => {
                let ids: Vec<i64> = (next_id..next_id + rows).collect();
                next_id += rows;
                engine.runtime.block_on(engine.storage.write(numbered(table, hour, &ids))).unwrap();
                model.extend(ids.iter().map(|&id| ModelRow { table, hour, id, flushed: false }));
            }
            Op::Flush => {
                engine.runtime.block_on(engine.storage.flush()).unwrap();
                model.iter_mut().for_each(|row| row.flushed = true);
            }
            Op::Compact { open_hour } => {
                let now = T0 + open_hour * HOUR_NS + HOUR_NS / 2;
                engine.runtime.block_on(engine.storage.compact(now)).unwrap();
            }
            Op::Retention { before_hour } => {
                let now = T0 + (before_hour + 1) * HOUR_NS;
                engine.runtime.block_on(engine.storage.enforce_retention(now)).unwrap();
                // Whole files go, and only files: rows still in the buffer stay whatever their age.
                model.retain(|row| {
                    !(row.table == Table::Logs && row.flushed && row.hour < before_hour)
                });
            }
            Op::Crash => {
                engine.crash();
                engine = Incarnation::start(dir.path());
            }
            Op::Restart => {
                engine.stop();
                engine = Incarnation::start(dir.path());
            }
            Op::Query => check(&engine, &model, &format!("step {step}: {op:?}"))?,
        }
    }
    check(&engine, &model, "at the end")?;
    engine.crash();
    let engine = Incarnation::start(dir.path());
    check(&engine, &model, "after a final crash")?;
    engine.stop();
    Ok(())
}

/// Compares what queries see with the model: the row ids of each table, and rows per hour through SQL.
fn check(engine: &Incarnation, model: &[ModelRow], context: &str) -> Result<(), TestCaseError> {
    let query = query_engine(&engine.storage);
    for table in TABLES {
        let mut expected: Vec<i64> =
            model.iter().filter(|row| row.table == table).map(|row| row.id).collect();
        expected.sort_unstable();
        let found = engine.runtime.block_on(queried_ids(&query, table));
        prop_assert_eq!(&found, &expected, "{} row ids, {}", table, context);

        let TableSnapshot { files, buffered } = engine.storage.snapshot(table);
        let store = engine.storage.data_store();
        let from_files: Vec<RecordBatch> =
            files.iter().flat_map(|file| files::read(store, file).unwrap()).collect();
        let snapshot = ids_of(table, from_files.iter().chain(&buffered));
        prop_assert_eq!(&snapshot, &expected, "{} snapshot, {}", table, context);
    }
    let per_hour = engine.runtime.block_on(rows_per_hour(&query));
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for row in model.iter().filter(|row| row.table == Table::Logs) {
        *expected.entry(row.hour).or_default() += 1;
    }
    prop_assert_eq!(per_hour, expected, "logs per hour, {}", context);
    prop_assert_eq!(temporary_files(dir_of(engine)), Vec::<PathBuf>::new(), "{}", context);
    Ok(())
}

fn dir_of(engine: &Incarnation) -> &Path {
    &engine.storage.inner.options.data_dir
}

/// Logs per hour (counted from `T0`), aggregated by the SQL engine.
async fn rows_per_hour(query: &crate::QueryEngine) -> BTreeMap<i64, i64> {
    let output = query
        .sql("SELECT date_trunc('hour', timestamp) AS hour, count(*) AS n FROM logs GROUP BY 1")
        .await
        .unwrap();
    let mut counts = BTreeMap::new();
    for batch in &output.batches {
        let hours = batch.column(0).as_primitive::<arrow_array::types::TimestampNanosecondType>();
        let counts_column = batch.column(1).as_primitive::<arrow_array::types::Int64Type>();
        for (hour, n) in hours.values().iter().zip(counts_column.values()) {
            counts.insert((hour - T0) / HOUR_NS, *n);
        }
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn queries_match_a_model_through_appends_flushes_compactions_retention_crashes_and_restarts(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        run(&ops)?;
    }
}
