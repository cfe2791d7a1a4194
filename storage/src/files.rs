//! Parquet data files: how a table's rows are laid out on disk, written atomically, and found again.
//!
//! Layout: `<root>/<table>/date=YYYY-MM-DD/hour=HH/<lsn>-<n>.parquet`, where `<lsn>` is the WAL checkpoint the
//! file belongs to (every row in it came from a WAL record with LSN <= `<lsn>`). Rows are sorted by
//! `service_name`, then time, and compressed with zstd; every column has page statistics and page indexes, and
//! `trace_id` has a bloom filter, so that queries on time, service or trace read little. A file is written to a
//! hidden temporary name, fsynced, renamed into place and its directory fsynced: a crash leaves either the whole
//! file or a temporary one, which the next start deletes.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::timestamp_ns_to_datetime;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{RecordBatch, UInt32Array};
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_select::take::take_record_batch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, ParquetMetaDataReader, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::wal::Lsn;
use crate::{Error, Result, Table};

const NANOS_PER_HOUR: i64 = 3_600_000_000_000;
const TMP_PREFIX: &str = ".tmp-";
const LSN_KEY: &str = "sightline.wal_lsn";
const MIN_TIME_KEY: &str = "sightline.min_time_ns";
const MAX_TIME_KEY: &str = "sightline.max_time_ns";
const REPLACES_KEY: &str = "sightline.replaces";

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
    root: &Path,
    table: Table,
    batches: &[RecordBatch],
    lsn: Lsn,
) -> Result<Vec<DataFile>> {
    let schema = table.schema();
    let all = arrow_select::concat::concat_batches(&schema, batches)?;
    let mut written = Vec::new();
    for (n, (hour, rows)) in rows_by_hour(table, &all)?.into_iter().enumerate() {
        // Usually all rows are in one hour: then a copy would only add to a flush's working set.
        let partition = if rows.len() == all.num_rows() {
            all.clone()
        } else {
            take_record_batch(&all, &UInt32Array::from(rows))?
        };
        let sorted = sort(table, &partition)?;
        let name = format!("{lsn:020}-{n}.parquet");
        written.push(write_file(
            root,
            table,
            &partition_dir(table, hour),
            &name,
            &sorted,
            lsn,
            &[],
        )?);
    }
    Ok(written)
}

/// Merges `files` (all of one partition of `table`) into one sorted file that replaces them. Blocking. The
/// caller removes the originals once no query can be reading them; until then [`list`] skips them.
pub fn compact(root: &Path, table: Table, files: &[DataFile]) -> Result<DataFile> {
    let mut batches = Vec::new();
    for file in files {
        batches.extend(read(root, file)?);
    }
    let all = arrow_select::concat::concat_batches(&table.schema(), &batches)?;
    let sorted = sort(table, &all)?;
    let lsn = files.iter().map(|f| f.lsn).max().unwrap_or(0);
    let partition = files.first().map_or("", DataFile::partition);
    let name = format!("{lsn:020}-compacted-{}.parquet", files.len());
    let replaces: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    write_file(root, table, partition, &name, &sorted, lsn, &replaces)
}

/// `<table>/date=YYYY-MM-DD/hour=HH` for an hour counted from the epoch.
fn partition_dir(table: Table, hour: i64) -> String {
    let start = timestamp_ns_to_datetime(hour * NANOS_PER_HOUR).unwrap_or_default();
    format!("{table}/date={}/hour={:02}", start.format("%Y-%m-%d"), hour.rem_euclid(24))
}

/// Row indices of `batch` grouped by the hour (since the epoch) of their time.
fn rows_by_hour(table: Table, batch: &RecordBatch) -> Result<BTreeMap<i64, Vec<u32>>> {
    let times = time_values(table, batch)?;
    let mut hours: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    for (row, time) in times.values().iter().enumerate() {
        hours.entry(time.div_euclid(NANOS_PER_HOUR)).or_default().push(row as u32);
    }
    Ok(hours)
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

/// Sorts rows by service, then time: the order most queries filter in.
fn sort(table: Table, batch: &RecordBatch) -> Result<RecordBatch> {
    let key = |name: &str| {
        batch
            .column_by_name(name)
            .map(|values| SortColumn { values: Arc::clone(values), options: None })
    };
    let columns: Vec<SortColumn> =
        [key("service_name"), key(table.time_column())].into_iter().flatten().collect();
    let indices = lexsort_to_indices(&columns, None)?;
    Ok(take_record_batch(batch, &indices)?)
}

/// Writes one sorted partition file: to a hidden temporary name, fsync, rename, fsync the directory.
fn write_file(
    root: &Path,
    table: Table,
    relative_dir: &str,
    name: &str,
    batch: &RecordBatch,
    lsn: Lsn,
    replaces: &[String],
) -> Result<DataFile> {
    let dir = root.join(relative_dir);
    create_dir_durably(root, &dir)?;
    let temporary = dir.join(format!("{TMP_PREFIX}{name}"));
    let times = time_values(table, batch)?;
    let min_time_ns = times.values().iter().copied().min().unwrap_or_default();
    let max_time_ns = times.values().iter().copied().max().unwrap_or_default();

    let path = dir.join(name);
    let write = || -> Result<u64> {
        let file = File::create(&temporary).map_err(io("create data file", &temporary))?;
        let properties = properties(table, batch, lsn, (min_time_ns, max_time_ns), replaces)?;
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties))
            .map_err(parquet_error(&temporary))?;
        writer.write(batch).map_err(parquet_error(&temporary))?;
        let file = writer.into_inner().map_err(parquet_error(&temporary))?;
        file.sync_all().map_err(io("fsync data file", &temporary))?;
        let size_bytes = file.metadata().map_err(io("stat data file", &temporary))?.len();
        fs::rename(&temporary, &path).map_err(io("rename data file", &temporary))?;
        sync_dir(&dir)?;
        Ok(size_bytes)
    };
    let size_bytes = write().inspect_err(|_| {
        // A failed write (disk full…) leaves nothing behind: no temporary file filling the disk, and no file
        // whose rows the caller did not take over (the name is this write's own).
        let _ = fs::remove_file(&temporary);
        let _ = fs::remove_file(&path);
    })?;
    Ok(DataFile {
        path: format!("{relative_dir}/{name}"),
        size_bytes,
        lsn,
        min_time_ns,
        max_time_ns,
        replaces: replaces.to_vec(),
    })
}

fn properties(
    table: Table,
    batch: &RecordBatch,
    lsn: Lsn,
    (min_time, max_time): (i64, i64),
    replaces: &[String],
) -> Result<WriterProperties> {
    let zstd = ZstdLevel::try_new(3).map_err(|e| parquet_error(Path::new(table.name()))(e))?;
    let schema = batch.schema();
    let sorting: Vec<SortingColumn> = ["service_name", table.time_column()]
        .iter()
        .filter_map(|name| schema.index_of(name).ok())
        .map(|index| SortingColumn {
            column_idx: index as i32,
            descending: false,
            nulls_first: false,
        })
        .collect();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorting))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(LSN_KEY.to_owned(), lsn.to_string()),
            KeyValue::new(MIN_TIME_KEY.to_owned(), min_time.to_string()),
            KeyValue::new(MAX_TIME_KEY.to_owned(), max_time.to_string()),
            KeyValue::new(REPLACES_KEY.to_owned(), replaces.join("\n")),
        ]));
    if schema.index_of("trace_id").is_ok() {
        builder = builder.set_column_bloom_filter_enabled(ColumnPath::from("trace_id"), true);
    }
    Ok(builder.build())
}

/// Every data file of `table` under `root`, oldest checkpoint first. Read-only: temporary files are skipped
/// (see [`remove_temporary`]).
pub fn list(root: &Path, table: Table) -> Result<Vec<DataFile>> {
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
    let superseded: std::collections::HashSet<String> =
        files.iter().flat_map(|f| f.replaces.clone()).collect();
    files.retain(|file| !superseded.contains(&file.path));
    files.sort_by(|a, b| (a.lsn, &a.path).cmp(&(b.lsn, &b.path)));
    Ok(files)
}

/// Deletes the files that a compacted file replaces, when a crash left them behind. Only the process that
/// owns `root` may call it.
pub fn remove_superseded(root: &Path, table: Table) -> Result<usize> {
    let mut removed = 0;
    for file in list(root, table)? {
        for replaced in &file.replaces {
            let path = root.join(replaced);
            if path.exists() {
                fs::remove_file(&path).map_err(io("remove compacted data file", &path))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Deletes the temporary files of writes a crash interrupted. Only the process that owns `root` may call it.
pub fn remove_temporary(root: &Path, table: Table) -> Result<usize> {
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
    let value = |key: &str| -> Option<i64> {
        metadata
            .file_metadata()
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_deref()?
            .parse()
            .ok()
    };
    let (Some(lsn), Some(min_time_ns), Some(max_time_ns)) =
        (value(LSN_KEY), value(MIN_TIME_KEY), value(MAX_TIME_KEY))
    else {
        return Err(Error::CorruptData {
            path: path.to_owned(),
            reason: "missing sightline metadata".into(),
        });
    };
    let replaces = metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kvs| kvs.iter().find(|kv| kv.key == REPLACES_KEY))
        .and_then(|kv| kv.value.as_deref())
        .map(|value| value.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    let relative = path.strip_prefix(root).unwrap_or(path);
    let relative = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Ok(DataFile { path: relative, size_bytes, lsn: lsn as Lsn, min_time_ns, max_time_ns, replaces })
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
pub fn read(root: &Path, file: &DataFile) -> Result<Vec<RecordBatch>> {
    let path = root.join(&file.path);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(&path).map_err(io("open data file", &path))?,
    )
    .and_then(|builder| builder.build())
    .map_err(parquet_error(&path))?;
    reader.map(|batch| batch.map_err(Error::Arrow)).collect()
}

/// Removes a data file (after compaction or retention) and makes the removal durable.
pub fn remove(root: &Path, file: &DataFile) -> Result<()> {
    let path = root.join(&file.path);
    fs::remove_file(&path).map_err(io("remove data file", &path))?;
    path.parent().map_or(Ok(()), sync_dir)
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}

fn parquet_error(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::CorruptData { path: path.to_owned(), reason: e.to_string() }
}

#[cfg(test)]
mod tests;
