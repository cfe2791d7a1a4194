//! The streaming k-way merge behind compaction. Every data file is sorted by `service_name`, then time
//! ([`super::sort`]), so merging files needs no sort: one Parquet reader per file yields its rows a batch at a
//! time, and DataFusion's streaming merge (the one `SortPreservingMergeExec` runs) interleaves them into
//! sorted batches for the writer.
//!
//! Memory: each reader holds its current batch of [`READ_BATCH_ROWS`] rows and the decompressed page of
//! each column it is decoding (pages are at most about 1 MiB); the merge holds the input batches its current
//! output batch draws from; the writer holds its open row group (capped by the caller in encoded bytes) and
//! one page per column. None of it grows with the size of the inputs, only with their number, which the
//! caller caps ([`crate::engine::StorageOptions::compaction_memory_bytes`]).
//!
//! The readers read local files: an object store's inputs are first downloaded, whole but streamed, to
//! local staging files ([`Inputs`]), one GET each instead of a ranged GET per page.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, UnboundedMemoryPool};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet};
use datafusion::physical_plan::sorts::streaming_merge::StreamingMergeBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{DataFile, body_references, io, parquet_error};
use crate::store::{Backend, DataStore};
use crate::{Error, Result, Table};

/// Rows each input reader decodes at a time.
const READ_BATCH_ROWS: usize = 2048;
/// Rows of each merged batch handed to the writer.
const MERGED_BATCH_ROWS: usize = 8192;

/// The local files holding a compaction's inputs; staged copies of an object store's objects are deleted
/// when this is dropped.
pub(super) struct Inputs {
    paths: Vec<PathBuf>,
    /// Per input: its bodies hold references ([`super::DataFile::body_references`]).
    body_references: Vec<bool>,
    staged: bool,
}

impl Inputs {
    /// The inputs as local files: in place on the local backend, downloaded to staging files from an
    /// object store.
    pub(super) fn open(store: &DataStore, files: &[DataFile]) -> Result<Inputs> {
        let body_references = files.iter().map(|file| file.body_references).collect();
        match store.backend() {
            Backend::Local(_) => Ok(Inputs {
                paths: files.iter().map(|file| store.location(&file.path)).collect(),
                body_references,
                staged: false,
            }),
            Backend::Object(objects) => {
                let mut inputs = Inputs { paths: Vec::new(), body_references, staged: true };
                for file in files {
                    let staged = objects.staging_file()?;
                    // Pushed first: a failed download leaves a partial file to delete.
                    inputs.paths.push(staged.clone());
                    objects.download(&file.path, &staged)?;
                }
                Ok(inputs)
            }
        }
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        if self.staged {
            for path in &self.paths {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// The rows of every input, merged in (`service_name`, time) order, their bodies with references to their
/// attributes when `with_references` is set and as sent otherwise, whichever way each input stores them.
/// `partition` names the inputs in errors.
pub(super) fn merged<'a>(
    table: Table,
    inputs: &'a Inputs,
    with_references: bool,
    partition: &'a Path,
) -> Result<impl Iterator<Item = Result<RecordBatch>> + 'a> {
    let schema = table.schema();
    let mut streams: Vec<SendableRecordBatchStream> = Vec::new();
    for (path, &stored_with_references) in inputs.paths.iter().zip(&inputs.body_references) {
        let convert = match (stored_with_references, with_references) {
            (false, true) => Some(body_references::referenced as fn(&_) -> _),
            (true, false) => Some(body_references::expanded as fn(&_) -> _),
            _ => None,
        };
        let file = File::open(path).map_err(io("open data file", path))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(parquet_error(path))?
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(parquet_error(path))?;
        let batches = reader.map(move |batch| {
            let batch = batch?;
            Ok(match convert {
                Some(convert) => convert(&batch)?,
                None => batch,
            })
        });
        streams.push(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&schema),
            futures::stream::iter(batches),
        )));
    }
    let merge_error = move |error: DataFusionError| match error {
        DataFusionError::ArrowError(error, _) => Error::Arrow(*error),
        error => Error::CorruptData {
            path: partition.to_owned(),
            reason: format!("merging its files: {error}"),
        },
    };
    // The same order as `super::sort`: ascending, nulls first.
    let ordering = LexOrdering::new(
        ["service_name", table.time_column()]
            .into_iter()
            .filter_map(|name| Column::new_with_schema(name, &schema).ok())
            .map(|column| PhysicalSortExpr::new_default(Arc::new(column))),
    )
    .ok_or_else(|| Error::CorruptData {
        path: partition.to_owned(),
        reason: format!("{table} has no sort columns"),
    })?;
    // The merge's memory is bounded by how it is used (see the module documentation), not by a pool.
    let pool: Arc<dyn MemoryPool> = Arc::new(UnboundedMemoryPool::default());
    let merged = StreamingMergeBuilder::new()
        .with_streams(streams)
        .with_schema(schema)
        .with_expressions(&ordering)
        .with_metrics(BaselineMetrics::new(&ExecutionPlanMetricsSet::new(), 0))
        .with_batch_size(MERGED_BATCH_ROWS)
        .with_reservation(MemoryConsumer::new("compaction merge").register(&pool))
        .build()
        .map_err(merge_error)?;
    // Nothing in the merge waits on I/O of its own (the readers are synchronous), so polling it on the
    // calling (blocking) thread is all it needs.
    Ok(futures::executor::block_on_stream(merged).map(move |batch| batch.map_err(merge_error)))
}
