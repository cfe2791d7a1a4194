//! [`SnapshotTable`]: one store table as a DataFusion [`TableProvider`]. Each scan takes one snapshot from the
//! [`TableSource`] and plans the union of a Parquet scan over the snapshot's files (pruned by time first,
//! then by row-group statistics and page indexes inside the files) and a scan of the buffered batches. Logs
//! files whose bodies refer to their attributes get a scan of their own that expands them
//! ([`super::log_bodies`]).
//! Because the engine guarantees that files and buffer never share a row, the union holds every row once.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::union::UnionExec;

use super::log_bodies;
use super::time_range::TimeRange;
use crate::catalog::{DataFile, TableSnapshot, TableSource};
use crate::schema::Table;

/// One table of the store, read through a [`TableSource`] and the object store at `store_url`.
pub(crate) struct SnapshotTable {
    table: Table,
    source: Arc<dyn TableSource>,
    store_url: ObjectStoreUrl,
}

impl SnapshotTable {
    pub fn new(table: Table, source: Arc<dyn TableSource>, store_url: ObjectStoreUrl) -> Self {
        Self { table, source, store_url }
    }

    /// The column files are pruned on.
    fn time_column(&self) -> &'static str {
        match self.table {
            Table::Spans => "start_time",
            _ => "timestamp",
        }
    }

    fn parquet_scan(
        &self,
        state: &dyn Session,
        files: Vec<DataFile>,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.table.schema();
        let mut options = state.table_options().parquet.clone();
        // Evaluate filters while decoding (late materialisation), not only for row-group and page pruning.
        options.global.pushdown_filters = true;
        options.global.enable_page_index = true;
        options.global.pruning = true;
        let mut source =
            ParquetSource::new(Arc::clone(&schema)).with_table_parquet_options(options);
        if let Some(predicate) = conjunction(filters.iter().cloned()) {
            let df_schema = DFSchema::try_from(Arc::clone(&schema))?;
            source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
        }
        let files: Vec<PartitionedFile> = files
            .into_iter()
            .map(|file| PartitionedFile::new(file.path, file.size_bytes))
            .collect();
        // Spread the files over the session's partitions so they are read in parallel.
        let partitions = state.config().target_partitions().max(1);
        let groups = chunk_round_robin(files, partitions).into_iter().map(FileGroup::new).collect();
        let config = FileScanConfigBuilder::new(self.store_url.clone(), Arc::new(source))
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters are used to skip files and row groups, never to drop single rows for sure, so DataFusion must
    /// still apply them: `Inexact`.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let TableSnapshot { files, buffered } = self.source.snapshot(self.table);
        let range = TimeRange::from_filters(self.time_column(), filters);
        let files: Vec<DataFile> = files.into_iter().filter(|file| range.overlaps(file)).collect();

        let partitions = state.config().target_partitions().max(1);
        let buffered = chunk_round_robin(buffered, partitions);
        let memory =
            MemorySourceConfig::try_new(&buffered, self.table.schema(), projection.cloned())?
                .with_limit(limit);
        let memory: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(memory);
        if files.is_empty() {
            return Ok(memory);
        }
        let (referenced, plain): (Vec<DataFile>, Vec<DataFile>) =
            files.into_iter().partition(|file| file.body_references);
        let mut inputs = Vec::new();
        if !plain.is_empty() {
            inputs.push(self.parquet_scan(state, plain, projection, filters, limit)?);
        }
        if !referenced.is_empty() {
            // Read as stored, with the attributes the bodies refer to, then expanded.
            let schema = self.table.schema();
            let wanted: Vec<usize> =
                projection.cloned().unwrap_or_else(|| (0..schema.fields().len()).collect());
            let read = log_bodies::columns_to_read(&schema, &wanted)?;
            let filters = log_bodies::filters_on_stored(filters);
            let stored = self.parquet_scan(state, referenced, Some(&read), &filters, limit)?;
            let config = Arc::clone(state.config().options());
            inputs.push(log_bodies::expanded(&schema, &wanted, stored, config)?);
        }
        inputs.push(memory);
        UnionExec::try_new(inputs)
    }
}

/// Deals `items` into at most `n` non-empty groups, round robin; at least one group, possibly empty.
fn chunk_round_robin<T>(items: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = (0..n.min(items.len()).max(1)).map(|_| Vec::new()).collect();
    let len = groups.len();
    for (i, item) in items.into_iter().enumerate() {
        groups[i % len].push(item);
    }
    groups
}

// DataFusion requires `Debug` of providers; sources need not implement it.
impl std::fmt::Debug for SnapshotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotTable").field("table", &self.table).finish_non_exhaustive()
    }
}
