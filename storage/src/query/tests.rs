//! Engine tests over a [`StaticSource`]: real Parquet files in a temporary directory plus buffered batches.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    ArrayRef, Int32Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt32Array,
};
use arrow_schema::DataType;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use parquet::arrow::ArrowWriter;

use super::*;
use crate::catalog::{DataFile, StaticSource, TableSnapshot};

const HOUR_NS: i64 = 3_600_000_000_000;
/// 2024-01-02T03:00:00Z
const T0: i64 = 1_704_164_400_000_000_000;

/// One log row: time, service, `http.route` attribute. The body is the time as text, a unique row id.
type Row = (i64, &'static str, &'static str);

fn logs_batch(rows: &[Row]) -> RecordBatch {
    let schema = Table::Logs.schema();
    let n = rows.len();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            match field.name().as_str() {
                "timestamp" | "observed_timestamp" => Arc::new(
                    TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.0))
                        .with_timezone("UTC"),
                ),
                "service_name" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                "body" => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0.to_string())))
                }
                "attributes" => {
                    let mut map = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
                    for row in rows {
                        map.keys().append_value("http.route");
                        map.values().append_value(row.2);
                        map.append(true).expect("keys and values are balanced");
                    }
                    Arc::new(map.finish())
                }
                _ => match field.data_type() {
                    DataType::Utf8 => Arc::new(StringArray::from(vec![""; n])),
                    DataType::Int32 => Arc::new(Int32Array::from(vec![0; n])),
                    DataType::UInt32 => Arc::new(UInt32Array::from(vec![0; n])),
                    DataType::Map(..) => {
                        let mut map =
                            MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
                        for _ in 0..n {
                            map.append(true).expect("empty map");
                        }
                        Arc::new(map.finish())
                    }
                    other => panic!("no test value for {other}"),
                },
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("columns follow the schema")
}

/// Writes `rows` as a Parquet file at `path` under `root`, and describes it as the engine would.
fn write_file(root: &Path, path: &str, rows: &[Row]) -> DataFile {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("path has a directory")).expect("mkdir");
    let file = std::fs::File::create(&full).expect("create parquet file");
    let mut writer = ArrowWriter::try_new(file, Table::Logs.schema(), None).expect("writer");
    writer.write(&logs_batch(rows)).expect("write");
    writer.close().expect("close");
    DataFile {
        path: path.to_string(),
        size_bytes: std::fs::metadata(&full).expect("stat").len(),
        min_time_ns: rows.iter().map(|r| r.0).min().expect("rows"),
        max_time_ns: rows.iter().map(|r| r.0).max().expect("rows"),
        lsn: 1,
        replaces: Vec::new(),
        body_references: false,
    }
}

/// An engine over `snapshot` as the logs table, files read from `root`.
fn engine_over(root: &Path, snapshot: TableSnapshot, limits: QueryLimits) -> QueryEngine {
    let source = StaticSource::new();
    source.set(Table::Logs, snapshot);
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(root).expect("store root"));
    QueryEngine::new(source, store, limits).expect("engine")
}

fn empty_engine(limits: QueryLimits) -> QueryEngine {
    QueryEngine::new(StaticSource::new(), Arc::new(InMemory::new()), limits).expect("engine")
}

/// Two files an hour apart and one buffered batch after them.
fn three_part_store(root: &Path) -> TableSnapshot {
    let first = write_file(
        root,
        "logs/date=2024-01-02/hour=03/0001.parquet",
        &[(T0, "checkout", "/pay"), (T0 + 1, "cart", "/add")],
    );
    let second = write_file(
        root,
        "logs/date=2024-01-02/hour=04/0002.parquet",
        &[(T0 + HOUR_NS, "checkout", "/pay"), (T0 + HOUR_NS + 1, "cart", "/list")],
    );
    let buffered = logs_batch(&[(T0 + 2 * HOUR_NS, "checkout", "/refund")]);
    TableSnapshot { files: vec![first, second], buffered: vec![buffered] }
}

fn strings(output: &QueryOutput, column: usize) -> Vec<String> {
    let mut values = Vec::new();
    for batch in &output.batches {
        let array = batch.column(column).as_string::<i32>();
        values.extend(array.iter().map(|v| v.unwrap_or("NULL").to_string()));
    }
    values
}

fn count(output: &QueryOutput) -> i64 {
    output.batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn files_and_buffer_give_every_row_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(dir.path(), three_part_store(dir.path()), QueryLimits::default());
    let output = engine.sql("SELECT body FROM logs ORDER BY timestamp").await.expect("query");
    let expected = [T0, T0 + 1, T0 + HOUR_NS, T0 + HOUR_NS + 1, T0 + 2 * HOUR_NS];
    assert_eq!(strings(&output, 0), expected.map(|t| t.to_string()));
    assert!(!output.truncated);
}

#[tokio::test]
async fn a_table_holds_rows_when_a_file_or_the_buffer_has_some() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(dir.path(), three_part_store(dir.path()), QueryLimits::default());
    assert!(engine.holds_rows(Table::Logs));
    assert!(!engine.holds_rows(Table::Spans));

    let source = StaticSource::new();
    let empty_batch = logs_batch(&[]);
    source.set(Table::Logs, TableSnapshot { files: Vec::new(), buffered: vec![empty_batch] });
    let engine = QueryEngine::new(source, Arc::new(InMemory::new()), QueryLimits::default())
        .expect("engine");
    assert!(!engine.holds_rows(Table::Logs), "an empty buffered batch is no row");
    // The session is made at the first query, and the engine answers it.
    let output = engine.sql("SELECT count(*) FROM logs").await.expect("query");
    assert_eq!(count(&output), 0);
}

#[tokio::test]
async fn time_filters_skip_files_outside_the_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut snapshot = three_part_store(dir.path());
    // A file that does not exist: reading it fails, so a query succeeds only if it was pruned.
    snapshot.files.push(DataFile {
        path: "logs/date=2020-01-01/hour=00/missing.parquet".into(),
        size_bytes: 1000,
        min_time_ns: 1_577_836_800_000_000_000,
        max_time_ns: 1_577_836_800_000_000_000 + HOUR_NS,
        lsn: 1,
        replaces: Vec::new(),
        body_references: false,
    });
    let engine = engine_over(dir.path(), snapshot, QueryLimits::default());

    let queries = [
        "SELECT count(*) FROM logs WHERE timestamp >= '2024-01-02T04:00:00Z'",
        "SELECT count(*) FROM logs WHERE timestamp BETWEEN '2024-01-02T04:00:00Z' AND '2030-01-01T00:00:00Z'",
        "SELECT count(*) FROM logs WHERE '2024-01-02T04:00:00Z' <= timestamp",
        "SELECT count(*) FROM logs WHERE timestamp > now() - INTERVAL '3650 days' \
         AND timestamp >= TIMESTAMP '2024-01-02 04:00:00'",
    ];
    for sql in queries {
        let output = engine.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(count(&output), 3, "{sql}");
    }
    let output = engine
        .sql("SELECT count(*) FROM logs WHERE timestamp = '2024-01-02T03:00:00Z'")
        .await
        .expect("equality prunes too");
    assert_eq!(count(&output), 1);

    // Without a time filter the missing file is read, and the query fails.
    let error = engine.sql("SELECT count(*) FROM logs").await.expect_err("missing file");
    assert!(matches!(error, QueryError::Internal(_)), "{error:?}");
}

#[tokio::test]
async fn service_name_filter_applies_to_files_and_buffer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(dir.path(), three_part_store(dir.path()), QueryLimits::default());
    let output = engine
        .sql("SELECT count(*) FROM logs WHERE service_name = 'checkout'")
        .await
        .expect("query");
    assert_eq!(count(&output), 3);
}

#[tokio::test]
async fn attribute_maps_are_indexed_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(dir.path(), three_part_store(dir.path()), QueryLimits::default());
    let output = engine
        .sql("SELECT attributes['http.route'] AS route FROM logs ORDER BY timestamp")
        .await
        .expect("query");
    assert_eq!(strings(&output, 0), ["/pay", "/add", "/pay", "/list", "/refund"]);
    let output = engine
        .sql("SELECT count(*) FROM logs WHERE attributes['http.route'] = '/pay'")
        .await
        .expect("filter on an attribute");
    assert_eq!(count(&output), 2);
}

#[tokio::test]
async fn statements_that_write_or_change_the_session_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(dir.path(), three_part_store(dir.path()), QueryLimits::default());
    let cases = [
        (
            "CREATE EXTERNAL TABLE p (line VARCHAR) STORED AS CSV LOCATION '/etc/passwd'",
            "CREATE EXTERNAL TABLE",
        ),
        ("COPY (SELECT * FROM logs) TO '/tmp/sightline-copy.parquet'", "COPY"),
        ("COPY logs TO '/tmp/sightline-copy.csv' STORED AS CSV", "COPY"),
        ("INSERT INTO logs SELECT * FROM logs", "INSERT INTO"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
        ("DROP TABLE logs", "DROP TABLE"),
        ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
        ("EXPLAIN ANALYZE INSERT INTO logs SELECT * FROM logs", "INSERT INTO"),
    ];
    for (sql, kind) in cases {
        let error = engine.sql(sql).await.expect_err(sql);
        assert_eq!(
            error,
            QueryError::Refused(format!("only SELECT queries are allowed (got {kind})")),
            "{sql}"
        );
    }
    assert!(!Path::new("/tmp/sightline-copy.parquet").exists());
    // The engine still serves, and nothing was dropped.
    let output = engine.sql("SELECT count(*) FROM logs").await.expect("query");
    assert_eq!(count(&output), 5);
}

#[tokio::test]
async fn no_function_or_url_table_reads_files() {
    let engine = empty_engine(QueryLimits::default());
    for sql in [
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_json('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
    ] {
        let error = engine.sql(sql).await.expect_err(sql);
        assert!(matches!(error, QueryError::Invalid(_)), "{sql}: {error:?}");
    }
}

#[tokio::test]
async fn unknown_tables_and_columns_are_invalid() {
    let engine = empty_engine(QueryLimits::default());
    for sql in ["SELECT * FROM nope", "SELECT nope FROM logs", "SELEC 1"] {
        let error = engine.sql(sql).await.expect_err(sql);
        assert!(matches!(error, QueryError::Invalid(_)), "{sql}: {error:?}");
    }
}

#[tokio::test]
async fn results_past_max_rows_are_cut_and_marked_truncated() {
    let limits = QueryLimits { max_rows: 10, ..QueryLimits::default() };
    let engine = empty_engine(limits);
    let output = engine.sql("SELECT value FROM generate_series(1, 100)").await.expect("query");
    assert_eq!(output.num_rows(), 10);
    assert!(output.truncated);
    let output = engine.sql("SELECT value FROM generate_series(1, 10)").await.expect("query");
    assert_eq!(output.num_rows(), 10);
    assert!(!output.truncated);
}

#[tokio::test]
async fn a_query_over_the_memory_limit_fails_and_the_next_one_runs() {
    let limits = QueryLimits { memory_bytes: 1024 * 1024, max_rows: 10, ..QueryLimits::default() };
    let engine = empty_engine(limits);
    let error = engine
        .sql("SELECT value FROM generate_series(1, 3000000) ORDER BY value DESC")
        .await
        .expect_err("a full sort of 3M rows needs more than 1 MiB");
    match error {
        QueryError::ResourcesExhausted(message) => {
            assert!(message.contains("memory limit of 1048576 bytes"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let output = engine.sql("SELECT 1").await.expect("the engine keeps serving");
    assert_eq!(output.num_rows(), 1);
}

#[tokio::test]
async fn a_query_over_the_time_limit_times_out() {
    let limits = QueryLimits { timeout: Duration::from_millis(50), ..QueryLimits::default() };
    let engine = empty_engine(limits);
    let error = engine
        .sql("SELECT sum(value) FROM generate_series(1, 100000000000)")
        .await
        .expect_err("far more than 50 ms of work");
    assert_eq!(error, QueryError::Timeout);
}

#[tokio::test]
async fn a_query_run_at_a_given_time_sees_that_time_as_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(dir.path(), three_part_store(dir.path()), QueryLimits::default());
    // Of the rows at T0, T0 + 1, T0 + 1h, T0 + 1h + 1 and T0 + 2h (ns), those in (T0 + 1, T0 + 1h + 1].
    let sql = "SELECT count(*) FROM logs WHERE timestamp > now() - INTERVAL '1 hour' AND timestamp <= now()";
    let output = engine.sql_at(sql, T0 + HOUR_NS + 1).await.expect("query");
    assert_eq!(count(&output), 2);
    let output = engine.sql_at("SELECT CAST(now() AS BIGINT)", T0).await.expect("query");
    assert_eq!(count(&output), T0);
}

#[tokio::test]
async fn an_in_memory_engine_queries_the_rows_it_was_given() {
    let rows = vec![TableBatch {
        table: Table::Spans,
        batch: crate::test_rows::rows(Table::Spans, &[(T0, "checkout"), (T0 + 1, "cart")]),
    }];
    let engine = QueryEngine::in_memory(rows, QueryLimits::default()).expect("engine");
    let output = engine.sql("SELECT count(*) FROM spans").await.expect("query");
    assert_eq!(count(&output), 2);
    let output = engine.sql("SELECT count(*) FROM logs").await.expect("query");
    assert_eq!(count(&output), 0);
}

/// Logs in files and buffer (`checkout`, `cart`), spans and metrics buffered (`checkout`, `cart`,
/// `paymentsAx`).
fn engine_of_three_services(root: &Path) -> QueryEngine {
    let source = StaticSource::new();
    source.set(Table::Logs, three_part_store(root));
    let others = [(T0, "checkout"), (T0 + 1, "cart"), (T0 + 2, "paymentsAx")];
    for table in [Table::Spans, Table::Metrics] {
        let buffered = vec![crate::test_rows::rows(table, &others)];
        source.set(table, TableSnapshot { files: Vec::new(), buffered });
    }
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(root).expect("store root"));
    QueryEngine::new(source, store, QueryLimits::default()).expect("engine")
}

/// Every string of every row of `output`.
fn all_strings(output: &QueryOutput) -> Vec<String> {
    let mut values = Vec::new();
    for batch in &output.batches {
        for column in batch.columns() {
            if let Some(array) = column.as_string_opt::<i32>() {
                values.extend(array.iter().flatten().map(str::to_owned));
            }
        }
    }
    values
}

#[tokio::test]
async fn a_scoped_querys_joins_unions_subqueries_and_catalog_tricks_reach_only_its_services() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_of_three_services(dir.path());
    let everyone = engine.sql("SELECT count(*) FROM logs WHERE service_name = 'cart'").await;
    assert_eq!(count(&everyone.expect("unscoped")), 2, "the other service's rows exist");

    let scope = ServiceScope::Only(vec!["check*".to_owned()]);
    let names = [
        "SELECT service_name FROM logs",
        "SELECT service_name FROM logs WHERE service_name = 'cart' OR true",
        "SELECT service_name FROM LOGS LIMIT 1",
        "SELECT service_name FROM datafusion.public.logs",
        "SELECT \"service_name\" FROM \"datafusion\".\"public\".\"spans\"",
        "SELECT s.service_name FROM logs l JOIN spans s ON true",
        "SELECT s.service_name FROM logs l RIGHT JOIN spans s ON l.service_name = s.service_name",
        "SELECT m.service_name FROM metrics m FULL OUTER JOIN spans s ON false",
        "SELECT service_name FROM logs UNION ALL SELECT service_name FROM spans \
         UNION SELECT service_name FROM metrics",
        "SELECT service_name FROM spans EXCEPT SELECT 'nothing'",
        "WITH every AS (SELECT * FROM metrics) SELECT service_name FROM every",
        "SELECT service_name FROM (SELECT service_name, row_number() OVER () AS n FROM spans) t",
        "SELECT max(service_name) FROM metrics UNION ALL SELECT min(service_name) FROM spans",
        "SELECT array_to_string(array_agg(service_name), ',') FROM spans",
        "SELECT string_agg(body || service_name, ',') FROM logs",
        "SELECT (SELECT max(service_name) FROM metrics WHERE service_name <> 'checkout')",
        "SELECT service_name FROM spans WHERE service_name IN (SELECT service_name FROM metrics)",
    ];
    for sql in names {
        let output = engine.sql_scoped(sql, &scope).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        for value in all_strings(&output) {
            let others = ["cart", "paymentsAx"];
            assert!(!others.iter().any(|other| value.contains(other)), "{sql} reached {value:?}");
        }
    }
    let counts = [
        ("SELECT count(*) FROM logs", 3),
        ("SELECT count(*) FROM spans", 1),
        ("SELECT count(*) FROM logs WHERE service_name = 'cart'", 0),
        ("SELECT (SELECT count(*) FROM logs WHERE service_name = 'cart')", 0),
        (
            "SELECT count(*) FROM spans WHERE EXISTS (SELECT 1 FROM metrics WHERE service_name = 'cart')",
            0,
        ),
        ("SELECT count(*) FROM logs l, logs r", 9),
        ("SELECT count(*) FROM information_schema.tables WHERE table_name = 'logs'", 1),
    ];
    for (sql, expected) in counts {
        let output = engine.sql_scoped(sql, &scope).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(count(&output), expected, "{sql}");
    }
    // Plans' metrics would count other services' rows; reading files other ways stays refused.
    for sql in ["EXPLAIN ANALYZE SELECT * FROM logs", "EXPLAIN SELECT * FROM logs"] {
        let refused = engine.sql_scoped(sql, &scope).await;
        assert!(matches!(refused, Err(QueryError::Refused(_))), "{sql}: {refused:?}");
    }
    let refused = engine.sql_scoped("SELECT * FROM '/etc/passwd'", &scope).await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test]
async fn scope_globs_match_whole_names_with_sql_wildcards_taken_literally() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_of_three_services(dir.path());
    let cases: [(&[&str], &[&str]); 5] = [
        (&["cart", "checkout"], &["cart", "checkout"]),
        (&["c*t"], &["cart", "checkout"]),
        (&["payments_x", "payments%"], &[]),
        (&["payments?x"], &["paymentsAx"]),
        (&[], &[]),
    ];
    for (globs, expected) in cases {
        let scope = ServiceScope::Only(globs.iter().map(|glob| (*glob).to_owned()).collect());
        let output = engine
            .sql_scoped("SELECT DISTINCT service_name FROM spans ORDER BY 1", &scope)
            .await
            .expect("query");
        assert_eq!(strings(&output, 0), expected, "{globs:?}");
    }
    let all = engine.sql_scoped("SELECT count(*) FROM spans", &ServiceScope::All).await;
    assert_eq!(count(&all.expect("query")), 3);
}

/// Access logs in a compacted file, whose bodies refer to their attributes, answer every query as the same
/// rows in a flush file do: the bodies are expanded before anything sees them, filters on them included.
#[tokio::test]
async fn logs_with_referenced_bodies_answer_as_the_bodies_sent() {
    use crate::test_backends::Backend;
    let sent = crate::test_rows::access_logs(&["cart", "checkout", "frontend"], 300);
    let buffered = crate::test_rows::access_logs(&["search"], 20);
    let engine_of = |backend: &Backend, files: Vec<DataFile>| {
        let source = StaticSource::new();
        let snapshot = TableSnapshot { files, buffered: vec![buffered.clone()] };
        source.set(Table::Logs, snapshot);
        let store = backend.store().object_store().expect("object store");
        QueryEngine::new(source, store, QueryLimits::default()).expect("engine")
    };
    let plain = Backend::local();
    let flushed = crate::files::write(&plain.store(), Table::Logs, std::slice::from_ref(&sent), 1)
        .expect("flush");
    let plain = engine_of(&plain, flushed);
    let referenced = Backend::local();
    let store = referenced.store();
    let flushed = crate::files::write(&store, Table::Logs, &[sent], 1).expect("flush");
    let compacted =
        crate::files::compact(&store, Table::Logs, &flushed, 64 << 20, true).expect("compact");
    assert!(compacted.body_references);
    let referenced = engine_of(&referenced, vec![compacted]);

    let queries = [
        "SELECT * FROM logs ORDER BY service_name, timestamp, body",
        "SELECT body FROM logs ORDER BY service_name, timestamp, body",
        "SELECT timestamp, body, service_name FROM logs WHERE body LIKE '%GET /cart/1%' ORDER BY 1, 2",
        "SELECT count(*) FROM logs WHERE body = '10.0.3.3 - - \"GET /cart/3 HTTP/1.1\" 203 3'",
        "SELECT count(*), sum(length(body)) FROM logs WHERE body LIKE '10.0.1.%'",
        "SELECT attributes['url.path'], body FROM logs WHERE attributes['url.path'] = '/frontend/611'",
        "SELECT service_name, count(*) FROM logs GROUP BY 1 ORDER BY 1",
        "SELECT body FROM logs WHERE strpos(body, '\u{1a}') > 0",
    ];
    for sql in queries {
        let expected = plain.sql(sql).await.expect("query over plain bodies");
        let answered = referenced.sql(sql).await.expect("query over referenced bodies");
        let text = |output: &QueryOutput| {
            datafusion::arrow::util::pretty::pretty_format_batches(&output.batches)
                .expect("printable")
                .to_string()
        };
        assert_eq!(text(&answered), text(&expected), "{sql}");
        assert!(output_rows(&expected) > 0 || sql.contains("strpos"), "{sql} finds rows");
    }
}

fn output_rows(output: &QueryOutput) -> usize {
    output.batches.iter().map(RecordBatch::num_rows).sum()
}
