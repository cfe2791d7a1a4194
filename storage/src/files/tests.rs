use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::EncodingMask;

use super::*;
use crate::test_backends::{Backend, on_both_backends};

const HOUR: i64 = NANOS_PER_HOUR;
/// 2024-01-02T03:00:00Z
const T0: i64 = 1_704_164_400_000_000_000;

/// A batch in a cut-down `logs` shape: the writer only needs the time and service columns.
fn rows(rows: &[(i64, &str)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new("service_name", DataType::Utf8, false),
    ]));
    let times: ArrayRef = Arc::new(
        TimestampNanosecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())
            .with_timezone("UTC"),
    );
    let services: ArrayRef =
        Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()));
    RecordBatch::try_new(schema, vec![times, services]).expect("batch")
}

fn read_one(store: &DataStore, file: &DataFile) -> RecordBatch {
    let batches = read(store, file).expect("read");
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).expect("concat")
}

/// The test batches are not in the full `logs` schema, so write them through the same steps `write` takes.
fn write_rows(store: &DataStore, batch: &RecordBatch, lsn: Lsn) -> Vec<DataFile> {
    let mut written = Vec::new();
    for (n, (hour, rows)) in
        rows_by_hour(Table::Logs, batch).expect("hours").into_iter().enumerate()
    {
        let partition = take_record_batch(batch, &UInt32Array::from(rows)).expect("take");
        let sorted = sort(Table::Logs, &partition).expect("sort");
        let name = format!("{lsn:020}-{n}.parquet");
        let dir = partition_dir(Table::Logs, hour);
        written
            .push(write_file(store, Table::Logs, &dir, &name, &sorted, lsn, &[]).expect("write"));
    }
    written
}

fn rows_are_split_into_hour_partitions_and_sorted_by_service_then_time(backend: Backend) {
    let store = backend.store();
    let batch = rows(&[(T0 + 5, "web"), (T0 + HOUR + 1, "api"), (T0 + 2, "web"), (T0 + 3, "api")]);
    let files = write_rows(&store, &batch, 42);
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "logs/date=2024-01-02/hour=03/00000000000000000042-0.parquet",
            "logs/date=2024-01-02/hour=04/00000000000000000042-1.parquet"
        ]
    );
    assert_eq!((files[0].min_time_ns, files[0].max_time_ns, files[0].lsn), (T0 + 2, T0 + 5, 42));
    let first = read_one(&store, &files[0]);
    let services: Vec<&str> = first.column(1).as_string::<i32>().iter().flatten().collect();
    let times = first.column(0).as_primitive::<TimestampNanosecondType>().values().to_vec();
    assert_eq!(services, ["api", "web", "web"]);
    assert_eq!(times, [T0 + 3, T0 + 2, T0 + 5]);
    assert_eq!(list(&store, Table::Logs).expect("list"), files, "listing reads the same back");
}

/// Only the local directory has temporary files: an object is stored whole in one PUT.
#[test]
fn listing_skips_temporary_files_and_cleanup_removes_them() {
    let backend = Backend::local();
    let store = backend.store();
    let written = write_rows(&store, &rows(&[(T0, "web")]), 7);
    let leftover =
        backend.path().join("logs/date=2024-01-02/hour=03/.tmp-00000000000000000008-0.parquet");
    fs::write(&leftover, b"half a file").expect("write");
    assert_eq!(list(&store, Table::Logs).expect("list"), written);
    assert!(leftover.exists(), "listing never deletes: a flush may be writing that file");
    assert_eq!(remove_temporary(&store, Table::Logs).expect("cleanup"), 1);
    assert!(!leftover.exists());
    assert!(list(&store, Table::Spans).expect("list").is_empty());
}

fn times_before_1970_land_in_their_own_hour(backend: Backend) {
    let files = write_rows(&backend.store(), &rows(&[(-1, "web")]), 1);
    assert_eq!(files[0].path, "logs/date=1969-12-31/hour=23/00000000000000000001-0.parquet");
}

fn removed_files_are_gone_from_the_listing(backend: Backend) {
    let store = backend.store();
    let written = write_rows(&store, &rows(&[(T0, "web"), (T0 + HOUR, "web")]), 3);
    remove(&store, &written[0]).expect("remove");
    assert_eq!(list(&store, Table::Logs).expect("list"), written[1..]);
}

/// `n` rows in the full `logs` schema, one service, a millisecond apart, each with its own body and its own
/// `url.path` attribute (values of ~24 bytes: 60,000 of them overflow a 1 MiB dictionary).
fn access_logs(n: usize) -> RecordBatch {
    let schema = Table::Logs.schema();
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            let is_attributes = field.name() == "attributes";
            match (field.name().as_str(), field.data_type()) {
                ("body", _) => {
                    Arc::new(StringArray::from_iter_values((0..n).map(|i| {
                        format!("10.0.0.1 - - \"GET /api/v1/products/{i} HTTP/1.1\" 200")
                    })))
                }
                (_, DataType::Timestamp(..)) => Arc::new(
                    TimestampNanosecondArray::from_iter_values(
                        (0..n as i64).map(|i| T0 + i * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                (_, DataType::Map(..)) => {
                    let mut map = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
                    for i in 0..n {
                        if is_attributes {
                            map.keys().append_value("url.path");
                            map.values().append_value(format!("/api/v1/products/{i}"));
                        }
                        map.append(true).expect("keys and values are balanced");
                    }
                    Arc::new(map.finish())
                }
                (_, DataType::Utf8) => Arc::new(StringArray::from(vec!["web"; n])),
                (_, DataType::Int32) => Arc::new(Int32Array::from(vec![9; n])),
                (_, DataType::UInt32) => Arc::new(UInt32Array::from(vec![0; n])),
                (name, other) => panic!("no test value for {name}: {other}"),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("columns follow the schema")
}

/// The encodings of the data pages of each column of a local file, by column path.
fn data_page_encodings(store: &DataStore, file: &DataFile) -> BTreeMap<String, EncodingMask> {
    let path = store.location(&file.path);
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open")).expect("footer");
    let group = reader.metadata().row_group(0);
    group
        .columns()
        .iter()
        .map(|column| {
            let encodings = *column.page_encoding_stats_mask().expect("encoding stats");
            (column.column_path().string(), encodings)
        })
        .collect()
}

/// BENCHMARKS.md, "Where the log bytes go": compaction keeps the dictionary of the attribute values where a
/// flush file overflows it, and stores the bodies without one, while flushes keep the defaults.
#[test]
fn compacted_logs_keep_the_attribute_dictionary_and_store_bodies_plain() {
    let backend = Backend::local();
    let store = backend.store();
    let flushed = write(&store, Table::Logs, &[access_logs(60_000)], 1).expect("flush");
    let compacted = compact(&store, Table::Logs, &flushed).expect("compact");

    let before = data_page_encodings(&store, &flushed[0]);
    assert!(before["body"].is_set(Encoding::RLE_DICTIONARY), "flushes keep the defaults");
    assert!(
        before["attributes.entries.values"].is_set(Encoding::PLAIN),
        "a flush file's attribute dictionary overflows into plain pages: {:?}",
        before["attributes.entries.values"]
    );
    let after = data_page_encodings(&store, &compacted);
    assert!(after["body"].is_only(Encoding::PLAIN), "{:?}", after["body"]);
    assert!(
        after["attributes.entries.values"].is_only(Encoding::RLE_DICTIONARY),
        "{:?}",
        after["attributes.entries.values"]
    );
    assert!(after["timestamp"].is_only(Encoding::DELTA_BINARY_PACKED), "{:?}", after["timestamp"]);
    assert_eq!(read_one(&store, &compacted), read_one(&store, &flushed[0]), "the same rows");
}

on_both_backends! {
    #[test] fn rows_are_split_into_hour_partitions_and_sorted_by_service_then_time;
    #[test] fn times_before_1970_land_in_their_own_hour;
    #[test] fn removed_files_are_gone_from_the_listing;
}
