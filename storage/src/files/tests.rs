use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{
    ArrayRef, Int32Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt32Array,
};
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
    let partitions = sorted_partitions(Table::Logs, std::slice::from_ref(batch)).expect("sort");
    for (n, (hour, sorted)) in partitions.into_iter().enumerate() {
        let name = format!("{lsn:020}-{n}.parquet");
        let dir = partition_dir(Table::Logs, hour);
        written.push(write_sorted(store, Table::Logs, &dir, &name, &sorted, lsn).expect("write"));
    }
    written
}

#[test]
fn the_rows_of_several_batches_are_gathered_by_hour_in_service_and_time_order() {
    let first = rows(&[(T0 + 5, "web"), (T0 + 1, "api"), (T0 + HOUR + 2, "api")]);
    let second = rows(&[(T0 + 3, "api"), (T0 + HOUR, "web"), (T0 + 1, "api")]);
    let partitions = sorted_partitions(Table::Logs, &[first, second]).expect("sort");
    let read = |batch: &RecordBatch| -> Vec<(i64, String)> {
        let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
        let services = batch.column(1).as_string::<i32>();
        (0..batch.num_rows())
            .map(|row| (times.value(row) - T0, services.value(row).to_owned()))
            .collect()
    };
    let hours: Vec<(i64, Vec<(i64, String)>)> = partitions
        .iter()
        .map(|(hour, pieces)| (*hour - T0 / HOUR, pieces.iter().flat_map(read).collect()))
        .collect();
    let row = |t: i64, service: &str| (t, service.to_owned());
    assert_eq!(
        hours,
        [
            (0, vec![row(1, "api"), row(1, "api"), row(3, "api"), row(5, "web")]),
            (1, vec![row(HOUR + 2, "api"), row(HOUR, "web")]),
        ]
    );
}

#[test]
fn long_runs_of_sorted_rows_are_sliced_and_the_rows_between_them_gathered() {
    let run = MIN_SLICED_RUN as i64;
    // `first`: "api" at every other nanosecond, then a run far later. `second`: "api" rows that fall into
    // and after the first run of `first`, and a run of "web".
    let mut first: Vec<(i64, &str)> = (0..run).map(|t| (T0 + 2 * t, "api")).collect();
    first.extend((0..run).map(|t| (T0 + 10 * run + t, "api")));
    let mut second: Vec<(i64, &str)> = (0..3).map(|t| (T0 + 2 * run + t, "api")).collect();
    second.extend((0..run).map(|t| (T0 + t, "web")));
    second.push((T0 + 1, "api"));
    let batches = [rows(&first), rows(&second)];
    let partitions = sorted_partitions(Table::Logs, &batches).expect("sort");
    assert_eq!(partitions.len(), 1);
    let pieces = &partitions[0].1;

    let read = |batch: &RecordBatch| -> Vec<(i64, String)> {
        let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
        let services = batch.column(1).as_string::<i32>();
        (0..batch.num_rows()).map(|row| (times.value(row), services.value(row).into())).collect()
    };
    let mut expected: Vec<(i64, String)> = batches.iter().flat_map(read).collect();
    expected.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    assert_eq!(pieces.iter().flat_map(read).collect::<Vec<_>>(), expected);
    // `second`'s row at T0 + 1 cuts `first`'s first run after one row, its three later rows end it: those
    // rows are gathered into one piece (1 + 1 + (run - 1) + 3); the later run of `first` and the run of
    // "web" are slices.
    let lengths: Vec<usize> = pieces.iter().map(RecordBatch::num_rows).collect();
    let run = MIN_SLICED_RUN;
    assert_eq!(lengths, [run + 4, run, run]);
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

/// BENCHMARKS.md, "Where the log bytes go": compaction keeps the dictionary of the attribute values and
/// stores the bodies without one, while flushes (on the ingest path) write no dictionaries at all.
#[test]
fn compacted_logs_keep_the_attribute_dictionary_and_store_bodies_plain() {
    let backend = Backend::local();
    let store = backend.store();
    let flushed = write(&store, Table::Logs, &[access_logs(60_000)], 1).expect("flush");
    let compacted =
        compact(&store, Table::Logs, &flushed, 64 * 1024 * 1024, true).expect("compact");

    let before = data_page_encodings(&store, &flushed[0]);
    for column in ["body", "attributes.entries.values", "service_name"] {
        assert!(before[column].is_only(Encoding::PLAIN), "{column}: {:?}", before[column]);
    }
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

/// The bodies of one file as its Parquet stores them, in file order.
fn stored_bodies(store: &DataStore, file: &DataFile) -> Vec<String> {
    let path = store.location(&file.path);
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
        .expect("footer")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|batch| batch.expect("batch")).collect();
    batches
        .iter()
        .flat_map(|batch| {
            let bodies = batch.column_by_name("body").expect("a body column").as_string::<i32>();
            bodies.iter().map(|body| body.unwrap_or_default().to_owned()).collect::<Vec<_>>()
        })
        .collect()
}

/// A compacted logs file stores each body with the attribute values it holds as references, says so in its
/// footer, and reads back as sent, also when compacted again with a flush file beside it.
#[test]
fn compacted_logs_store_attribute_values_once_and_read_back_as_sent() {
    let backend = Backend::local();
    let store = backend.store();
    let sent = crate::test_rows::access_logs(&["cart", "frontend"], 500);
    let flushed = write(&store, Table::Logs, std::slice::from_ref(&sent), 1).expect("flush");
    assert!(!flushed[0].body_references, "a flush file is plain");
    assert!(stored_bodies(&store, &flushed[0]).iter().all(|body| !body.contains('\u{1a}')));

    let compacted = compact(&store, Table::Logs, &flushed, 64 << 20, true).expect("compact");
    assert!(compacted.body_references);
    let listed = list(&store, Table::Logs).expect("list");
    assert_eq!(listed, vec![compacted.clone()], "the footer says how the bodies are stored");
    let stored = stored_bodies(&store, &compacted);
    assert!(
        stored[0].starts_with("\u{1a}0 - - \"GET \u{1a}1 HTTP/1.1\" \u{1a}2 "),
        "{:?}",
        stored[0]
    );
    assert_eq!(read_one(&store, &compacted), read_one(&store, &flushed[0]), "bodies as sent");

    let later = write(&store, Table::Logs, &[crate::test_rows::access_logs(&["cart"], 10)], 2)
        .expect("flush");
    let again =
        compact(&store, Table::Logs, &[compacted.clone(), later[0].clone()], 64 << 20, true)
            .expect("compact a compacted file with a flush file");
    let mut expected = bodies_by_service_and_time(&read_one(&store, &compacted));
    expected.extend(bodies_by_service_and_time(&read_one(&store, &later[0])));
    expected.sort();
    assert_eq!(bodies_by_service_and_time(&read_one(&store, &again)), expected);

    // With references turned off, compaction writes the bodies as sent again.
    let plain = compact(&store, Table::Logs, std::slice::from_ref(&again), 64 << 20, false)
        .expect("compact without references");
    assert!(!plain.body_references);
    assert!(stored_bodies(&store, &plain).iter().all(|body| !body.contains('\u{1a}')));
    assert_eq!(read_one(&store, &plain), read_one(&store, &again));
}

/// (service, time, body) of every row, sorted.
fn bodies_by_service_and_time(batch: &RecordBatch) -> Vec<(String, i64, String)> {
    let column = |name| batch.column_by_name(name).expect("a logs column");
    let services = column("service_name").as_string::<i32>();
    let times = column("timestamp").as_primitive::<TimestampNanosecondType>();
    let bodies = column("body").as_string::<i32>();
    let mut rows: Vec<_> = (0..batch.num_rows())
        .map(|row| (services.value(row).to_owned(), times.value(row), bodies.value(row).to_owned()))
        .collect();
    rows.sort();
    rows
}

/// Statistics are kept where they prune (times, numbers, the service), and not where they cannot but would
/// cost two comparisons per value written (ids, bodies, what is inside maps).
#[test]
fn files_keep_statistics_on_the_columns_that_prune_and_only_those() {
    let backend = Backend::local();
    let store = backend.store();
    let flushed = write(&store, Table::Logs, &[access_logs(100)], 1).expect("flush");
    let path = store.location(&flushed[0].path);
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open")).expect("footer");
    let group = reader.metadata().row_group(0);
    let with_statistics: BTreeMap<String, bool> = group
        .columns()
        .iter()
        .map(|c| {
            (c.column_path().string(), c.statistics().is_some_and(|s| s.min_bytes_opt().is_some()))
        })
        .collect();
    for column in ["timestamp", "observed_timestamp", "service_name", "severity_number"] {
        assert!(with_statistics[column], "{column} has statistics");
    }
    for column in ["body", "trace_id", "severity_text", "scope_name", "attributes.entries.values"] {
        assert!(!with_statistics[column], "{column} has no statistics");
    }
}

on_both_backends! {
    #[test] fn rows_are_split_into_hour_partitions_and_sorted_by_service_then_time;
    #[test] fn times_before_1970_land_in_their_own_hour;
    #[test] fn removed_files_are_gone_from_the_listing;
}

/// Logs rows for the compaction memory test: `n` rows of one hour, five services, and a body of
/// `BODY_BYTES` of text that compresses about as well as real log lines do.
fn heavy_logs(seed: u64, n: usize) -> RecordBatch {
    const SERVICES: [&str; 5] = ["cart", "checkout", "frontend", "payments", "search"];
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let times: Vec<(i64, &str)> =
        (0..n).map(|_| (T0 + (next() as i64 % HOUR), SERVICES[next() as usize % 5])).collect();
    let batch = crate::test_rows::rows(Table::Logs, &times);
    let bodies: Vec<String> = (0..n)
        .map(|_| {
            let mut body = format!("GET /api/v1/items/{} HTTP/1.1 200 ", next());
            while body.len() < BODY_BYTES {
                body.push_str(&format!("{:x} ", next()));
            }
            body
        })
        .collect();
    let index = batch.schema().index_of("body").expect("body column");
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(StringArray::from(bodies));
    RecordBatch::try_new(batch.schema(), columns).expect("batch")
}

const BODY_BYTES: usize = 300;
const MEMORY_INPUTS: usize = 3;
/// The row group size the measured compactions write.
const MEMORY_ROW_GROUP_BYTES: usize = 4 << 20;
/// Tells [`compaction_memory_child`] where the inputs are; unset, it does nothing.
const MEMORY_DIR_ENV: &str = "SIGHTLINE_COMPACTION_MEMORY_DIR";

/// VmRSS or VmHWM (the peak) of this process, in bytes.
fn resident_bytes(field: &str) -> usize {
    let status = fs::read_to_string("/proc/self/status").expect("proc status");
    let line = status.lines().find(|line| line.starts_with(field)).expect("field");
    let kib: usize = line.split_whitespace().nth(1).expect("value").parse().expect("number");
    kib * 1024
}

/// The child of [`compaction_memory_does_not_grow_with_the_size_of_the_inputs`]: compacts the files it is
/// given, alone in its process, and records how far its peak resident memory rose above where it started.
#[test]
#[ignore = "run in a child process by the compaction memory test"]
fn compaction_memory_child() {
    let Some(dir) = std::env::var_os(MEMORY_DIR_ENV).map(PathBuf::from) else { return };
    let store = DataStore::open(&dir, &crate::FileLocation::DataDir).expect("store");
    let inputs = list(&store, Table::Logs).expect("list");
    let before = resident_bytes("VmRSS:");
    compact(&store, Table::Logs, &inputs, MEMORY_ROW_GROUP_BYTES, true).expect("compact");
    let rise = resident_bytes("VmHWM:").saturating_sub(before);
    fs::write(dir.join("rise"), rise.to_string()).expect("record");
}

/// Compacts [`MEMORY_INPUTS`] files of `rows_per_input` rows in a child process; returns the rows' decoded
/// size and how far the child's peak resident memory rose while it compacted. Checks the merged file.
fn measure_compaction(rows_per_input: usize) -> (usize, usize) {
    let backend = Backend::local();
    let store = backend.store();
    let mut decoded_bytes = 0;
    for input in 0..MEMORY_INPUTS {
        let batch = heavy_logs(input as u64, rows_per_input);
        decoded_bytes += batch.get_array_memory_size();
        write(&store, Table::Logs, &[batch], input as Lsn + 1).expect("write");
    }
    let test =
        format!("{}::compaction_memory_child", module_path!().split_once("::").expect("crate").1);
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test.as_str(), "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(MEMORY_DIR_ENV, backend.path())
        .output()
        .expect("run the child");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rise = fs::read_to_string(backend.path().join("rise")).expect("rise");

    let files = list(&store, Table::Logs).expect("list");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].replaces.len(), MEMORY_INPUTS);
    let merged = read(&store, &files[0]).expect("read");
    let all = arrow_select::concat::concat_batches(&merged[0].schema(), &merged).expect("concat");
    assert_eq!(all.num_rows(), MEMORY_INPUTS * rows_per_input);
    let sorted = sorted_partitions(Table::Logs, std::slice::from_ref(&all)).expect("sort");
    assert_eq!(sorted, [(sorted[0].0, vec![all])], "the merged file is sorted");
    (decoded_bytes, rise.parse().expect("a number"))
}

/// Reading the inputs whole, as compaction once did, takes memory in proportion to their size (twice it:
/// concatenated, then sorted: +235 MB here). A streaming merge's peak does not grow with it: five times the
/// rows, and the peak rises by no more than what the writer holds whatever the input size, and the small
/// inputs do not fill: its row group and its attribute-value dictionaries (+12-13 MB measured).
#[test]
fn compaction_memory_does_not_grow_with_the_size_of_the_inputs() {
    let (small_bytes, small_rise) = measure_compaction(20_000);
    let (large_bytes, large_rise) = measure_compaction(100_000);
    let limit = small_rise + MEMORY_ROW_GROUP_BYTES + COMPACTED_ATTRIBUTE_DICTIONARY_BYTES;
    eprintln!(
        "peak rise: {small_rise} bytes for {small_bytes} decoded, {large_rise} for {large_bytes}"
    );
    assert!(
        large_rise < limit,
        "compacting {small_bytes} decoded bytes raised the peak by {small_rise} bytes, {large_bytes} by \
         {large_rise} (limit {limit})"
    );
}

/// A file larger than an upload part goes up in several parts, a few at once, and arrives whole; a
/// download brings it back.
#[test]
fn a_large_file_is_uploaded_in_parts_and_arrives_whole() {
    let backend = Backend::s3();
    let store = backend.store();
    let crate::store::Backend::Object(objects) = store.backend() else { panic!("an object store") };
    let mut state = 7_u64;
    let bytes: Vec<u8> = (0..20 << 20)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    let local = objects.staging_file().expect("staging file");
    fs::write(&local, &bytes).expect("write");
    objects.upload("logs/large.parquet", &local).expect("upload");
    assert!(objects.get("logs/large.parquet").expect("get") == bytes, "the object is the file");
    let copy = objects.staging_file().expect("staging file");
    objects.download("logs/large.parquet", &copy).expect("download");
    assert!(fs::read(&copy).expect("read") == bytes, "the download is the object");
    objects.remove_staging().expect("remove staging");
    assert!(!local.exists() && !copy.exists());
}

/// A sink whose every write fails as a full disk does.
#[derive(Debug)]
struct FullDisk;

impl std::io::Write for FullDisk {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::StorageFull.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_disk_while_writing_is_reported_as_the_io_error_it_is() {
    let batch = rows(&[(T0, "api"), (T0 + 1, "web")]);
    let info = FileInfo {
        lsn: 1,
        min_time_ns: T0,
        max_time_ns: T0 + 1,
        replaces: &[],
        row_group_bytes: None,
        body_references: false,
    };
    let properties = properties(Table::Logs, &batch.schema(), &info).expect("properties");
    let path = Path::new("logs/full.parquet");
    let error =
        encode(&mut FullDisk, &batch.schema(), properties, &mut std::iter::once(Ok(batch)), path)
            .expect_err("nothing can be written");
    assert!(
        matches!(&error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("write data file logs/full.parquet: "), "{error}");
}
