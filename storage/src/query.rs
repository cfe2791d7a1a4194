//! The SQL query layer: [`QueryEngine`] runs one read-only SQL statement over the six store tables, through
//! DataFusion, bounded in memory, time and rows. It owns the DataFusion session (tables, runtime, memory
//! pool) and the mapping of DataFusion's errors to [`QueryError`]. It knows nothing about HTTP.
//!
//! Files are read from the engine's object store, registered under one fixed URL ([`STORE_URL`]) so the
//! rest of the layer is the same whether the store is a local directory or S3.

mod log_bodies;
mod provider;
mod read_only;
mod scope;
#[cfg(test)]
mod tests;
mod time_range;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use futures::StreamExt;
use object_store::ObjectStore;

use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;

use crate::catalog::{StaticSource, TableSnapshot, TableSource};
use crate::error::QueryError;
use crate::schema::{Table, TableBatch};
use provider::SnapshotTable;
use scope::ScopedTable;
pub use scope::ServiceScope;

/// The URL under which the engine's object store is known to DataFusion.
pub const STORE_URL: &str = "sightline://data/";

/// How much one query may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLimits {
    /// Memory shared by all running queries (sorts, aggregates, joins); a query that needs more fails.
    pub memory_bytes: usize,
    /// Planning plus execution of one query.
    pub timeout: Duration,
    /// Rows returned; the rest of the result is not computed.
    pub max_rows: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self { memory_bytes: 512 * 1024 * 1024, timeout: Duration::from_secs(30), max_rows: 10_000 }
    }
}

/// The result of one query.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// True when the query had more than `max_rows` rows and only the first `max_rows` are here.
    pub truncated: bool,
}

impl QueryOutput {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Runs read-only SQL over the store's tables.
pub struct QueryEngine {
    /// Made for the first query: a session registers DataFusion's hundreds of functions, whose code an idle
    /// daemon then keeps mapped for nothing (BENCHMARKS.md, "Idle RSS on the Intel machine").
    ctx: OnceLock<SessionContext>,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    source: Arc<dyn TableSource>,
    /// The store tables, as registered in `ctx`: scoped queries see them through a filter.
    tables: Vec<(Table, Arc<dyn TableProvider>)>,
    limits: QueryLimits,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl QueryEngine {
    pub fn new(
        source: Arc<dyn TableSource>,
        store: Arc<dyn ObjectStore>,
        limits: QueryLimits,
    ) -> Result<Self, QueryError> {
        let internal = |e: DataFusionError| QueryError::Internal(e.to_string());
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(limits.memory_bytes)))
            // No spilling: ad-hoc queries must not fill the disk, so the memory limit is a hard limit.
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .map_err(internal)?;
        let store_url = ObjectStoreUrl::parse(STORE_URL).map_err(internal)?;
        runtime.register_object_store(store_url.as_ref(), store);
        // The default registry also serves the local file system; nothing here should reach it.
        let _ = runtime.deregister_object_store(ObjectStoreUrl::local_filesystem().as_ref());

        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let config =
            SessionConfig::new().with_target_partitions(cpus).with_information_schema(true);
        let tables = Table::ALL
            .iter()
            .map(|&table| {
                let provider = SnapshotTable::new(table, Arc::clone(&source), store_url.clone());
                (table, Arc::new(provider) as Arc<dyn TableProvider>)
            })
            .collect();
        Ok(Self { ctx: OnceLock::new(), config, runtime, source, tables, limits })
    }

    /// The session every query starts from, made at the first.
    fn context(&self) -> Result<&SessionContext, DataFusionError> {
        if let Some(ctx) = self.ctx.get() {
            return Ok(ctx);
        }
        // `SessionContext` leaves URL tables (`SELECT * FROM '/etc/passwd'`) off and registers no table
        // function that reads files; only the store tables are reachable.
        let ctx =
            SessionContext::new_with_config_rt(self.config.clone(), Arc::clone(&self.runtime));
        for (table, provider) in &self.tables {
            ctx.register_table(table.name(), Arc::clone(provider))?;
        }
        // Two first queries at once each made one; the one kept is as good as the other.
        Ok(self.ctx.get_or_init(|| ctx))
    }

    /// Whether `table` holds any row, in files or in the write buffer.
    pub fn holds_rows(&self, table: Table) -> bool {
        let snapshot = self.source.snapshot(table);
        !snapshot.files.is_empty() || snapshot.buffered.iter().any(|batch| batch.num_rows() > 0)
    }

    /// An engine over `rows` alone, without files: what the `sql:` rules of a rule unit test query.
    pub fn in_memory(rows: Vec<TableBatch>, limits: QueryLimits) -> Result<Self, QueryError> {
        let source = StaticSource::new();
        for table in Table::ALL {
            let buffered =
                rows.iter().filter(|rows| rows.table == table).map(|rows| rows.batch.clone());
            source.set(table, TableSnapshot { files: Vec::new(), buffered: buffered.collect() });
        }
        Self::new(source, Arc::new(object_store::memory::InMemory::new()), limits)
    }

    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// Plans and runs one statement, which must only read.
    pub async fn sql(&self, sql: &str) -> Result<QueryOutput, QueryError> {
        self.sql_with_max_rows(sql, self.limits.max_rows).await
    }

    /// [`QueryEngine::sql`] with another row cap: the PromQL engine reads every sample of its window.
    pub async fn sql_with_max_rows(
        &self,
        sql: &str,
        max_rows: usize,
    ) -> Result<QueryOutput, QueryError> {
        self.sql_with(sql, max_rows, None).await
    }

    /// [`QueryEngine::sql`] as if run at `now_ns` (nanoseconds since the Unix epoch): `now()` and the
    /// functions built on it answer that time. For rule evaluations, which run at their own timestamp.
    pub async fn sql_at(&self, sql: &str, now_ns: i64) -> Result<QueryOutput, QueryError> {
        self.sql_with(sql, self.limits.max_rows, Some(now_ns)).await
    }

    /// [`QueryEngine::sql`] over the rows of the services of `scope` only: every table the statement reads,
    /// however it reaches it, holds only those rows.
    pub async fn sql_scoped(
        &self,
        sql: &str,
        scope: &ServiceScope,
    ) -> Result<QueryOutput, QueryError> {
        self.sql_in(scope, sql, self.limits.max_rows, None).await
    }

    async fn sql_with(
        &self,
        sql: &str,
        max_rows: usize,
        now_ns: Option<i64>,
    ) -> Result<QueryOutput, QueryError> {
        self.sql_in(&ServiceScope::All, sql, max_rows, now_ns).await
    }

    async fn sql_in(
        &self,
        scope: &ServiceScope,
        sql: &str,
        max_rows: usize,
        now_ns: Option<i64>,
    ) -> Result<QueryOutput, QueryError> {
        match tokio::time::timeout(self.limits.timeout, self.run(scope, sql, max_rows, now_ns))
            .await
        {
            Ok(result) => result.map_err(|e| self.classify(e)),
            // Dropping the stream cancels the query's tasks.
            Err(_elapsed) => Err(QueryError::Timeout),
        }
    }

    /// A session whose catalog holds the store tables seen through `scope`.
    fn state_in(&self, scope: &ServiceScope) -> Result<SessionState, DataFusionError> {
        let ctx = self.context()?;
        let Some(predicate) = scope.predicate() else { return Ok(ctx.state()) };
        let schema = MemorySchemaProvider::new();
        for (table, provider) in &self.tables {
            let scoped = ScopedTable::new(Arc::clone(provider), predicate.clone());
            schema.register_table(table.name().to_owned(), Arc::new(scoped))?;
        }
        let options = ctx.copied_config();
        let catalog = MemoryCatalogProvider::new();
        catalog.register_schema(&options.options().catalog.default_schema, Arc::new(schema))?;
        let catalogs = MemoryCatalogProviderList::new();
        catalogs
            .register_catalog(options.options().catalog.default_catalog.clone(), Arc::new(catalog));
        Ok(SessionStateBuilder::new_from_existing(ctx.state())
            .with_catalog_list(Arc::new(catalogs))
            .build())
    }

    async fn run(
        &self,
        scope: &ServiceScope,
        sql: &str,
        max_rows: usize,
        now_ns: Option<i64>,
    ) -> Result<QueryOutput, Failure> {
        let mut state = self.state_in(scope)?;
        if let Some(now_ns) = now_ns {
            state.execution_props_mut().query_execution_start_time =
                Some(chrono::DateTime::from_timestamp_nanos(now_ns));
        }
        let plan = state.create_logical_plan(sql).await?;
        if let Some(reason) = read_only::refusal(&plan) {
            return Err(Failure::Refused(reason));
        }
        // A plan's metrics count the rows its scans read before the scope's filter: other services' rows.
        if *scope != ServiceScope::All
            && matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_))
        {
            return Err(Failure::Refused(
                "EXPLAIN is not available to users limited to some services".to_owned(),
            ));
        }
        // Planned and run in this query's own state, which holds its `now()`.
        let frame = DataFrame::new(state, plan);
        let mut stream = frame.execute_stream().await?;
        let schema = stream.schema();
        let (mut batches, mut rows, mut truncated) = (Vec::new(), 0usize, false);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let room = max_rows - rows;
            if batch.num_rows() > room {
                batches.push(batch.slice(0, room));
                truncated = true;
                break;
            }
            rows += batch.num_rows();
            batches.push(batch);
        }
        batches.retain(|batch| batch.num_rows() > 0);
        Ok(QueryOutput { schema, batches, truncated })
    }

    fn classify(&self, failure: Failure) -> QueryError {
        let error = match failure {
            Failure::Refused(reason) => return QueryError::Refused(reason),
            Failure::DataFusion(error) => error,
        };
        match error.find_root() {
            DataFusionError::ResourcesExhausted(detail) => QueryError::ResourcesExhausted(format!(
                "query exceeded the memory limit of {} bytes: {detail}",
                self.limits.memory_bytes
            )),
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_) => {
                QueryError::Invalid(error.find_root().strip_backtrace())
            }
            _ => QueryError::Internal(error.strip_backtrace()),
        }
    }
}

/// Why `run` stopped, before it is mapped to a [`QueryError`] with the limits in hand.
enum Failure {
    Refused(String),
    DataFusion(DataFusionError),
}

impl From<DataFusionError> for Failure {
    fn from(error: DataFusionError) -> Self {
        Failure::DataFusion(error)
    }
}
