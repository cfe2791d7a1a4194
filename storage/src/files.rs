//! Parquet data files: how a table's rows are laid out on disk, written atomically, and found again.
//!
//! Layout: `<root>/<table>/date=YYYY-MM-DD/hour=HH/<lsn>-<n>.parquet`, where `<lsn>` is the WAL checkpoint the
//! file belongs to (every row in it came from a WAL record with LSN <= `<lsn>`). Rows are sorted by
//! `service_name`, then time, and compressed with zstd; times, numbers, `service_name`, `metric_name` and `name`
//! have page statistics and page indexes (`properties` says why not the other strings), and `trace_id` has
//! a bloom filter, so that queries on time, service or trace read little. A file is written to a
//! hidden temporary name, fsynced, renamed into place and its directory fsynced: a crash leaves either the whole
//! file or a temporary one, which the next start deletes. In an object store ([`crate::store`]) a file is
//! encoded to a local staging file and uploaded in one PUT, or a multipart upload when large; either makes
//! the object appear whole or not at all, so no temporary name is needed there.
//!
//! Compaction ([`compact`]) merges a partition's sorted files into one, streaming ([`merge`]), and the new
//! file names the files it replaces in its footer. A compacted logs file stores the attribute values a body
//! holds once, as references from the body ([`body_references`]); [`read`] gives the bodies as sent.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::timestamp_ns_to_datetime;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};
use arrow_select::interleave::interleave_record_batch;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, ParquetMetaData, ParquetMetaDataReader, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use crate::store::{Backend, DataStore};
use crate::wal::Lsn;
use crate::{Error, Result, Table, failpoint};

const NANOS_PER_HOUR: i64 = 3_600_000_000_000;
const TMP_PREFIX: &str = ".tmp-";
const LSN_KEY: &str = "sightline.wal_lsn";
const MIN_TIME_KEY: &str = "sightline.min_time_ns";
const MAX_TIME_KEY: &str = "sightline.max_time_ns";
const REPLACES_KEY: &str = "sightline.replaces";
/// zstd levels, measured on access logs (BENCHMARKS.md, "Where the log bytes go"): level 9 stores 20% less than
/// 3 for 3x the CPU time; 12 would store another 1.7% less for 1.8x the CPU of 9, 19 another 8% for 24x.
/// Compaction has to keep up with intake, so it stays at 9. A flush is on the ingest path and its file is
/// usually soon replaced by a compacted one: it gets the fastest level.
const FLUSH_ZSTD_LEVEL: i32 = 1;
const COMPACTION_ZSTD_LEVEL: i32 = 9;
/// The largest dictionary page of the attribute values in a compacted logs file (see [`compacted_logs`]).
const COMPACTED_ATTRIBUTE_DICTIONARY_BYTES: usize = 16 << 20;

/// The string columns that keep their statistics: files are sorted by service, and queries name a metric
/// or a span exactly.
const PRUNING_STRING_COLUMNS: [&str; 3] = ["service_name", "metric_name", "name"];

/// One Parquet file of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Relative to the data root, with `/` separators (also an object-store key).
    pub path: String,
    pub size_bytes: u64,
    /// The WAL checkpoint the file belongs to.
    pub lsn: Lsn,
    /// Smallest and largest value of the table's time column in the file (Unix ns).
    pub min_time_ns: i64,
    pub max_time_ns: i64,
    /// For a compacted file: the files it replaces (paths as above). Those are ignored by [`list`] while they
    /// still exist, so a crash between writing this file and deleting them never shows their rows twice.
    pub replaces: Vec<String>,
    /// A logs file whose bodies refer to their attributes' values ([`body_references`]): a reader expands
    /// them.
    pub body_references: bool,
}

impl DataFile {
    /// The partition directory, relative to the data root (`logs/date=2024-01-02/hour=03`).
    pub fn partition(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

impl Table {
    /// The column that places a row in time (and in an hour partition).
    pub fn time_column(self) -> &'static str {
        match self {
            Table::Spans => "start_time",
            _ => "timestamp",
        }
    }
}

/// Writes `batches` of `table` as one sorted file per hour partition. Blocking.
pub fn write(
    store: &DataStore,
    table: Table,
    batches: &[RecordBatch],
    lsn: Lsn,
) -> Result<Vec<DataFile>> {
    let mut written = Vec::new();
    for (n, (hour, sorted)) in sorted_partitions(table, batches)?.into_iter().enumerate() {
        let name = format!("{lsn:020}-{n}.parquet");
        written.push(write_sorted(store, table, &partition_dir(table, hour), &name, &sorted, lsn)?);
    }
    Ok(written)
}

/// Merges `files` (all of one partition of `table`, each sorted) into one sorted file that replaces them:
/// logs with their bodies' attribute values as references when `log_body_references` is set and as sent
/// otherwise, whichever way the inputs store them ([`body_references`]). Blocking. Streams: memory stays
/// near one record batch per input plus the writer's row group, at most `row_group_bytes` encoded, whatever
/// the inputs' total size (see [`merge`]). The caller removes the originals once no query can be reading
/// them; until then [`list`] skips them.
///
/// The name holds the lowest and highest LSN of the inputs. Compaction merges runs of a partition's files
/// that are contiguous in LSN order, and the result takes the highest LSN: afterwards it is the only file of
/// the partition with an LSN in that range, and new files have higher LSNs, so no later compaction produces
/// the same name (which would overwrite a file that its own `replaces` list then hides).
pub fn compact(
    store: &DataStore,
    table: Table,
    files: &[DataFile],
    row_group_bytes: usize,
    log_body_references: bool,
) -> Result<DataFile> {
    let (Some(first), Some(lsn), Some(lowest_lsn)) =
        (files.first(), files.iter().map(|f| f.lsn).max(), files.iter().map(|f| f.lsn).min())
    else {
        return Err(Error::CorruptData {
            path: PathBuf::from(table.name()),
            reason: "compaction of no files".into(),
        });
    };
    let partition = first.partition();
    let name = format!("{lsn:020}-compacted-from-{lowest_lsn:020}.parquet");
    let replaces: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let info = FileInfo {
        lsn,
        // Exact: the inputs' footers record their own.
        min_time_ns: files.iter().map(|f| f.min_time_ns).min().unwrap_or_default(),
        max_time_ns: files.iter().map(|f| f.max_time_ns).max().unwrap_or_default(),
        replaces: &replaces,
        row_group_bytes: Some(row_group_bytes),
        body_references: table == Table::Logs && log_body_references,
    };
    let inputs = merge::Inputs::open(store, files)?;
    let location = store.location(partition);
    let mut rows = merge::merged(table, &inputs, info.body_references, &location)?;
    write_file(store, table, partition, &name, &table.schema(), &info, &mut rows)
}

/// When the hour partition holding `time_ns` (Unix ns) ends.
pub fn hour_end_ns(time_ns: i64) -> i64 {
    time_ns.div_euclid(NANOS_PER_HOUR).saturating_add(1).saturating_mul(NANOS_PER_HOUR)
}

/// `<table>/date=YYYY-MM-DD/hour=HH` for an hour counted from the epoch.
fn partition_dir(table: Table, hour: i64) -> String {
    let start = timestamp_ns_to_datetime(hour * NANOS_PER_HOUR).unwrap_or_default();
    format!("{table}/date={}/hour={:02}", start.format("%Y-%m-%d"), hour.rem_euclid(24))
}

/// The rows of `batches` by hour partition (hours since the epoch), each partition sorted by service, then
/// time: the order most queries filter in, as consecutive pieces ([`gather`]).
fn sorted_partitions(
    table: Table,
    batches: &[RecordBatch],
) -> Result<Vec<(i64, Vec<RecordBatch>)>> {
    let mut hours: BTreeMap<i64, Vec<(usize, usize)>> = BTreeMap::new();
    let mut keys = Vec::with_capacity(batches.len());
    for (index, batch) in batches.iter().enumerate() {
        let times = time_values(table, batch)?;
        for (row, time) in times.values().iter().enumerate() {
            hours.entry(time.div_euclid(NANOS_PER_HOUR)).or_default().push((index, row));
        }
        let services = batch.column_by_name("service_name").and_then(|c| c.as_string_opt::<i32>());
        keys.push((services, times));
    }
    // As arrow's `sort` orders them: ascending, a row without a service first (the files' sorting columns).
    let key = |&(batch, row): &(usize, usize)| {
        let (services, times) = &keys[batch];
        let service = services.filter(|services| services.is_valid(row)).map(|s| s.value(row));
        (service, times.value(row))
    };
    let batches: Vec<&RecordBatch> = batches.iter().collect();
    hours
        .into_iter()
        .map(|(hour, mut rows)| {
            // Stable: rows of one service and time stay in the order they were written.
            rows.sort_by(|a, b| key(a).cmp(&key(b)));
            Ok((hour, gather(&batches, &rows)?))
        })
        .collect()
}

/// Rows that follow each other in one batch and in the sorted order, this many or more, are written as a
/// slice of that batch instead of being copied.
const MIN_SLICED_RUN: usize = 64;

/// The `rows` (batch, row) of `batches`, in that order, as consecutive pieces: a long run of rows that are
/// consecutive in one batch is a slice of it; the rows between such runs are copied, gathered from the
/// batches. An exporter's metrics request holds one service's points of one collection, all at one time, so
/// sorted it stays one run and is not copied at all (gathering every row was ≈ 11 % of the daemon's CPU
/// under a metrics load, BENCHMARKS.md); log records and spans of concurrent requests mix row by row.
fn gather(batches: &[&RecordBatch], rows: &[(usize, usize)]) -> Result<Vec<RecordBatch>> {
    let mut pieces = Vec::new();
    // Where the rows not yet in a piece begin.
    let mut pending = 0;
    let mut at = 0;
    while at < rows.len() {
        let (batch, first) = rows[at];
        let run = rows[at..]
            .iter()
            .enumerate()
            .take_while(|&(n, &row)| row == (batch, first + n))
            .count();
        if run >= MIN_SLICED_RUN {
            if pending < at {
                pieces.push(interleave_record_batch(batches, &rows[pending..at])?);
            }
            pieces.push(batches[batch].slice(first, run));
            pending = at + run;
        }
        at += run;
    }
    if pending < rows.len() {
        pieces.push(interleave_record_batch(batches, &rows[pending..])?);
    }
    Ok(pieces)
}

fn time_values(
    table: Table,
    batch: &RecordBatch,
) -> Result<&arrow_array::TimestampNanosecondArray> {
    let column = batch.column_by_name(table.time_column()).ok_or_else(|| {
        Error::Arrow(arrow_schema::ArrowError::SchemaError(format!(
            "{table} has no {} column",
            table.time_column()
        )))
    })?;
    Ok(column.as_primitive::<TimestampNanosecondType>())
}

/// What a file's footer records besides its rows, and how its row groups are cut.
struct FileInfo<'a> {
    lsn: Lsn,
    min_time_ns: i64,
    max_time_ns: i64,
    replaces: &'a [String],
    /// Encoded bytes past which a row group is closed (the writer holds the open one in memory); `None`:
    /// only the writer's row count limit.
    row_group_bytes: Option<usize>,
    /// The rows' bodies hold references to their attributes ([`body_references`]).
    body_references: bool,
}

/// Writes the sorted pieces of one partition of a flush as a partition file.
fn write_sorted(
    store: &DataStore,
    table: Table,
    relative_dir: &str,
    name: &str,
    pieces: &[RecordBatch],
    lsn: Lsn,
) -> Result<DataFile> {
    let (mut min_time_ns, mut max_time_ns) = (i64::MAX, i64::MIN);
    for piece in pieces {
        for &time in time_values(table, piece)?.values() {
            min_time_ns = min_time_ns.min(time);
            max_time_ns = max_time_ns.max(time);
        }
    }
    let Some(schema) = pieces.first().map(RecordBatch::schema) else {
        return Err(Error::CorruptData {
            path: PathBuf::from(relative_dir),
            reason: "a flush of no rows".into(),
        });
    };
    // A flush file is plain: finding attribute values in bodies is work for compaction, off the ingest path.
    let info = FileInfo {
        lsn,
        min_time_ns,
        max_time_ns,
        replaces: &[],
        row_group_bytes: None,
        body_references: false,
    };
    let mut rows = pieces.iter().cloned().map(Ok);
    write_file(store, table, relative_dir, name, &schema, &info, &mut rows)
}

/// Writes one partition file from sorted `rows`: locally to a hidden temporary name, fsync, rename, fsync the
/// directory; to an object store through a local staging file, then one upload.
fn write_file(
    store: &DataStore,
    table: Table,
    relative_dir: &str,
    name: &str,
    schema: &SchemaRef,
    info: &FileInfo<'_>,
    rows: &mut dyn Iterator<Item = Result<RecordBatch>>,
) -> Result<DataFile> {
    let properties = properties(table, schema, info)?;
    let relative = format!("{relative_dir}/{name}");
    let described = |size_bytes| DataFile {
        path: relative.clone(),
        size_bytes,
        lsn: info.lsn,
        min_time_ns: info.min_time_ns,
        max_time_ns: info.max_time_ns,
        replaces: info.replaces.to_vec(),
        body_references: info.body_references,
    };
    let root = match store.backend() {
        Backend::Local(root) => root,
        Backend::Object(objects) => {
            let staged = objects.staging_file()?;
            let uploaded = File::create(&staged)
                .map_err(io("create staging file", &staged))
                .and_then(|mut file| {
                    encode(&mut file, schema, properties, rows, &staged)?;
                    Ok(file)
                })
                .and_then(|file| file.metadata().map_err(io("stat staging file", &staged)))
                .and_then(|metadata| {
                    objects.upload(&relative, &staged)?;
                    Ok(metadata.len())
                });
            let _ = fs::remove_file(&staged);
            return Ok(described(uploaded?));
        }
    };
    let dir = root.join(relative_dir);
    create_dir_durably(root, &dir)?;
    let temporary = dir.join(format!("{TMP_PREFIX}{name}"));
    let path = dir.join(name);
    let write = || -> Result<u64> {
        let mut file = File::create(&temporary).map_err(io("create data file", &temporary))?;
        encode(&mut file, schema, properties, rows, &temporary)?;
        failpoint::hit("file.temporary_written");
        file.sync_all().map_err(io("fsync data file", &temporary))?;
        failpoint::hit("file.temporary_synced");
        let size_bytes = file.metadata().map_err(io("stat data file", &temporary))?.len();
        drop(file);
        fs::rename(&temporary, &path).map_err(io("rename data file", &temporary))?;
        failpoint::hit("file.renamed");
        sync_dir(&dir)?;
        failpoint::hit("file.directory_synced");
        Ok(size_bytes)
    };
    let size_bytes = write().inspect_err(|_| {
        // A failed write (disk full…) leaves nothing behind: no temporary file filling the disk, and no file
        // whose rows the caller did not take over (the name is this write's own).
        let _ = fs::remove_file(&temporary);
        let _ = fs::remove_file(&path);
    })?;
    Ok(described(size_bytes))
}

/// Encodes `rows` as Parquet into `sink`; `path` names it in errors.
fn encode<W: std::io::Write + Send>(
    sink: &mut W,
    schema: &SchemaRef,
    properties: WriterProperties,
    rows: &mut dyn Iterator<Item = Result<RecordBatch>>,
    path: &Path,
) -> Result<()> {
    let mut writer = ArrowWriter::try_new(sink, Arc::clone(schema), Some(properties))
        .map_err(parquet_write_error(path))?;
    for batch in rows {
        writer.write(&batch?).map_err(parquet_write_error(path))?;
    }
    // `finish` flushes the writer's buffer itself, so a failed write surfaces as the I/O error it is
    // (`into_inner` would turn it into a message).
    writer.finish().map_err(parquet_write_error(path))?;
    Ok(())
}

fn properties(table: Table, schema: &Schema, info: &FileInfo<'_>) -> Result<WriterProperties> {
    // A compacted file replaces others and is written once, in the background: it gets the slower, denser level.
    let level = if info.replaces.is_empty() { FLUSH_ZSTD_LEVEL } else { COMPACTION_ZSTD_LEVEL };
    let zstd = ZstdLevel::try_new(level).map_err(parquet_write_error(Path::new(table.name())))?;
    let sorting: Vec<SortingColumn> = ["service_name", table.time_column()]
        .iter()
        .filter_map(|name| schema.index_of(name).ok())
        .map(|index| SortingColumn {
            column_idx: index as i32,
            descending: false,
            // As `sort` orders them (arrow's default): a row without a service comes first.
            nulls_first: true,
        })
        .collect();
    let mut footer = vec![
        KeyValue::new(LSN_KEY.to_owned(), info.lsn.to_string()),
        KeyValue::new(MIN_TIME_KEY.to_owned(), info.min_time_ns.to_string()),
        KeyValue::new(MAX_TIME_KEY.to_owned(), info.max_time_ns.to_string()),
        KeyValue::new(REPLACES_KEY.to_owned(), info.replaces.join("\n")),
    ];
    if info.body_references {
        footer.push(KeyValue::new(
            body_references::FOOTER_KEY.to_owned(),
            body_references::FOOTER_VALUE.to_owned(),
        ));
    }
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorting))
        .set_max_row_group_bytes(info.row_group_bytes)
        .set_key_value_metadata(Some(footer));
    // A flush is on the ingest path, and a dictionary costs a hash and a compare for every value written: at
    // saturation that was 12-19 % of the daemon's CPU (perf, BENCHMARKS.md). zstd finds most of the same
    // repeats, and the compacted file that replaces the flush file gets the dictionaries.
    if info.replaces.is_empty() {
        builder = builder.set_dictionary_enabled(false);
    }
    // Times are sorted within a service, so their deltas are small: delta encoding stores them in a few bits
    // where a dictionary (the default) overflows into plain 8-byte values.
    for field in schema.fields() {
        if matches!(field.data_type(), DataType::Timestamp(..)) {
            let column = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_enabled(column.clone(), false)
                .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
        }
    }
    // Statistics prune by time, numbers, and the few strings that files cluster or queries name exactly.
    // Nothing prunes by what is inside a map or a list, by a log's body (a search looks inside it), by ids
    // (random: the bloom filter serves `trace_id`) or by strings every page holds a mix of (severities,
    // kinds, units, scope names); keeping a string's minimum and maximum costs two comparisons for every
    // value written (≈ 4 % of the daemon's CPU under a metrics load, 6 % under logs, BENCHMARKS.md).
    let columns = ArrowSchemaConverter::new()
        .convert(schema)
        .map_err(parquet_write_error(Path::new(table.name())))?;
    for column in columns.columns() {
        let prunes = match column.path().parts() {
            [name] => {
                let string =
                    schema.field_with_name(name).is_ok_and(|f| f.data_type() == &DataType::Utf8);
                !string || PRUNING_STRING_COLUMNS.contains(&name.as_str())
            }
            _ => false,
        };
        if !prunes {
            builder = builder
                .set_column_statistics_enabled(column.path().clone(), EnabledStatistics::None);
        }
    }
    if schema.index_of("trace_id").is_ok() {
        builder = builder.set_column_bloom_filter_enabled(ColumnPath::from("trace_id"), true);
    }
    if table == Table::Logs && !info.replaces.is_empty() {
        builder = compacted_logs(builder);
    }
    Ok(builder.build())
}

/// The settings a compacted logs file adds, measured on a day of access logs at zstd 9 (BENCHMARKS.md,
/// `scripts/parquet-settings.py`). An hour of attribute values (methods, routes, addresses, statuses) repeats a
/// lot but overflows the default 1 MiB dictionary, and the rest of the chunk falls back to plain pages; a 16 MiB
/// one keeps it (1.5% smaller files, no slower to write or read). A body is mostly unique (an access-log line),
/// so a dictionary only costs the work of filling it before the fallback. Not taken: delta-encoding the body
/// saves another 2.3% but costs up to 18% more CPU in every scan of the bodies. Other tables were not measured.
fn compacted_logs(builder: WriterPropertiesBuilder) -> WriterPropertiesBuilder {
    let attribute_values =
        ColumnPath::new(vec!["attributes".into(), "entries".into(), "values".into()]);
    builder
        .set_column_dictionary_enabled(ColumnPath::from("body"), false)
        .set_column_dictionary_page_size_limit(
            attribute_values,
            COMPACTED_ATTRIBUTE_DICTIONARY_BYTES,
        )
}

/// Every data file of `table`, oldest checkpoint first, without the files a compacted file replaces.
/// Read-only: temporary files are skipped (see [`remove_temporary`]). Reads every file's footer, so the
/// engine lists only when it opens and keeps its own catalog afterwards.
pub fn list(store: &DataStore, table: Table) -> Result<Vec<DataFile>> {
    let mut files = list_all(store, table)?;
    let superseded: std::collections::HashSet<String> =
        files.iter().flat_map(|f| f.replaces.clone()).collect();
    files.retain(|file| !superseded.contains(&file.path));
    files.sort_by(|a, b| (a.lsn, &a.path).cmp(&(b.lsn, &b.path)));
    Ok(files)
}

/// Every data file of `table`, including those a compacted file replaces.
fn list_all(store: &DataStore, table: Table) -> Result<Vec<DataFile>> {
    let root = match store.backend() {
        Backend::Local(root) => root,
        Backend::Object(objects) => {
            return objects
                .list_parquet(table.name())?
                .into_iter()
                .map(|listed| {
                    let location = store.location(&listed.path);
                    describe_metadata(listed.path, listed.size_bytes, &listed.metadata, &location)
                })
                .collect();
        }
    };
    let mut files = Vec::new();
    let table_dir = root.join(table.name());
    for date_dir in subdirectories(&table_dir)? {
        for hour_dir in subdirectories(&date_dir)? {
            for entry in fs::read_dir(&hour_dir).map_err(io("list data directory", &hour_dir))? {
                let path = entry.map_err(io("list data directory", &hour_dir))?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
                if name.ends_with(".parquet") && !name.starts_with(TMP_PREFIX) {
                    files.push(describe(root, &path)?);
                }
            }
        }
    }
    Ok(files)
}

/// What opening the store does for `table`: deletes what writes and compactions interrupted by a crash left
/// behind (temporary files, files a compacted file replaces), and returns the table's files as [`list`]
/// does, from one listing. Only the process that owns the store may call it.
pub fn recover(store: &DataStore, table: Table) -> Result<Vec<DataFile>> {
    remove_temporary(store, table)?;
    let (superseded, mut files): (Vec<DataFile>, Vec<DataFile>) = {
        let files = list_all(store, table)?;
        let replaced: std::collections::HashSet<String> =
            files.iter().flat_map(|f| f.replaces.clone()).collect();
        files.into_iter().partition(|file| replaced.contains(&file.path))
    };
    for file in &superseded {
        remove(store, file)?;
    }
    files.sort_by(|a, b| (a.lsn, &a.path).cmp(&(b.lsn, &b.path)));
    Ok(files)
}

/// Deletes the local staging files of object-store uploads and compactions a crash interrupted. Only the
/// process that owns the data directory may call it.
pub fn remove_staging(store: &DataStore) -> Result<()> {
    match store.backend() {
        Backend::Local(_) => Ok(()),
        Backend::Object(objects) => objects.remove_staging(),
    }
}

/// Deletes the temporary files of writes a crash interrupted. Only the process that owns the store may call
/// it. An object store has none: an object is written whole or not at all.
pub fn remove_temporary(store: &DataStore, table: Table) -> Result<usize> {
    let Backend::Local(root) = store.backend() else { return Ok(0) };
    let mut removed = 0;
    for date_dir in subdirectories(&root.join(table.name()))? {
        for hour_dir in subdirectories(&date_dir)? {
            for entry in fs::read_dir(&hour_dir).map_err(io("list data directory", &hour_dir))? {
                let path = entry.map_err(io("list data directory", &hour_dir))?.path();
                if path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(TMP_PREFIX))
                {
                    fs::remove_file(&path).map_err(io("remove temporary data file", &path))?;
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

/// Reads a file's footer for what [`DataFile`] records.
fn describe(root: &Path, path: &Path) -> Result<DataFile> {
    let file = File::open(path).map_err(io("open data file", path))?;
    let size_bytes = file.metadata().map_err(io("stat data file", path))?.len();
    let metadata =
        ParquetMetaDataReader::new().parse_and_finish(&file).map_err(parquet_error(path))?;
    let relative = path.strip_prefix(root).unwrap_or(path);
    let relative = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    describe_metadata(relative, size_bytes, &metadata, path)
}

/// What [`DataFile`] records, from a file's footer; `path` names the file in errors.
fn describe_metadata(
    relative: String,
    size_bytes: u64,
    metadata: &ParquetMetaData,
    path: &Path,
) -> Result<DataFile> {
    let text = |key: &str| -> Option<&str> {
        metadata
            .file_metadata()
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_deref()
    };
    let value = |key: &str| -> Option<i64> { text(key)?.parse().ok() };
    let (Some(lsn), Some(min_time_ns), Some(max_time_ns)) =
        (value(LSN_KEY), value(MIN_TIME_KEY), value(MAX_TIME_KEY))
    else {
        return Err(Error::CorruptData {
            path: path.to_owned(),
            reason: "missing sightline metadata".into(),
        });
    };
    let replaces = text(REPLACES_KEY)
        .map(|value| value.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    let body_references = match text(body_references::FOOTER_KEY) {
        None => false,
        Some(body_references::FOOTER_VALUE) => true,
        // A later version's encoding: reading its bodies as they are stored would be wrong.
        Some(other) => {
            return Err(Error::CorruptData {
                path: path.to_owned(),
                reason: format!("log bodies stored as {other:?}, which this version cannot read"),
            });
        }
    };
    Ok(DataFile {
        path: relative,
        size_bytes,
        lsn: lsn as Lsn,
        min_time_ns,
        max_time_ns,
        replaces,
        body_references,
    })
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list data directory", dir)(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("list data directory", dir))?;
        if entry.file_type().map_err(io("list data directory", dir))?.is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Creates `dir` and fsyncs each directory it had to create, up to `root`, so the new entries survive a crash.
fn create_dir_durably(root: &Path, dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.is_dir() {
        missing.push(current);
        match current.parent() {
            Some(parent) if parent.starts_with(root) || parent == root => current = parent,
            _ => break,
        }
    }
    fs::create_dir_all(dir).map_err(io("create data directory", dir))?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync directory", dir))
}

/// Every row of one data file.
pub fn read(store: &DataStore, file: &DataFile) -> Result<Vec<RecordBatch>> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let path = store.location(&file.path);
    let reader = match store.backend() {
        Backend::Local(_) => ParquetRecordBatchReaderBuilder::try_new(
            File::open(&path).map_err(io("open data file", &path))?,
        )
        .and_then(|builder| builder.build()),
        Backend::Object(objects) => {
            ParquetRecordBatchReaderBuilder::try_new(objects.get(&file.path)?)
                .and_then(|builder| builder.build())
        }
    }
    .map_err(parquet_error(&path))?;
    reader
        .map(|batch| {
            let batch = batch.map_err(Error::Arrow)?;
            if !file.body_references {
                return Ok(batch);
            }
            body_references::expanded(&batch)
                .map_err(|e| Error::CorruptData { path: path.clone(), reason: e.to_string() })
        })
        .collect()
}

/// Removes a data file (after compaction or retention) and makes the removal durable.
pub fn remove(store: &DataStore, file: &DataFile) -> Result<()> {
    let root = match store.backend() {
        Backend::Local(root) => root,
        Backend::Object(objects) => return objects.delete(&file.path),
    };
    let path = root.join(&file.path);
    fs::remove_file(&path).map_err(io("remove data file", &path))?;
    failpoint::hit("file.removed");
    path.parent().map_or(Ok(()), sync_dir)?;
    failpoint::hit("file.removal_synced");
    Ok(())
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}

/// A Parquet error reading `path`.
fn parquet_error(path: &Path) -> impl FnOnce(ParquetError) -> Error + '_ {
    move |e| Error::CorruptData { path: path.to_owned(), reason: e.to_string() }
}

/// A Parquet error writing `path`: a failed write underneath (a full disk) stays the I/O error it is.
fn parquet_write_error(path: &Path) -> impl FnOnce(ParquetError) -> Error + '_ {
    move |e| match e {
        ParquetError::External(source) => match source.downcast::<std::io::Error>() {
            Ok(source) => {
                Error::Io { what: "write data file", path: path.to_owned(), source: *source }
            }
            Err(source) => Error::WriteData { path: path.to_owned(), reason: source.to_string() },
        },
        e => Error::WriteData { path: path.to_owned(), reason: e.to_string() },
    }
}

pub mod body_references;
mod merge;
#[cfg(test)]
mod tests;
