//! The interface between the storage engine and the query layer: what a query sees of one table at one
//! instant. The engine implements [`TableSource`]; the query layer ([`crate::query`]) only reads snapshots.
//! [`StaticSource`] is a fixed, in-memory source for tests and tools.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use crate::files::DataFile;
use crate::schema::Table;

/// A consistent view of one table at one instant.
#[derive(Debug, Clone, Default)]
pub struct TableSnapshot {
    /// Parquet files, as paths relative to the object store root (e.g.
    /// `logs/date=2024-01-02/hour=03/00000000000000000042-0.parquet`).
    pub files: Vec<DataFile>,
    /// Rows not yet in any file, in the table's schema.
    pub buffered: Vec<arrow_array::RecordBatch>,
}

/// Implemented by the storage engine: files and buffered rows never overlap, and a row is in exactly one
/// of them.
pub trait TableSource: Send + Sync + 'static {
    fn snapshot(&self, table: Table) -> TableSnapshot;
}

/// A [`TableSource`] holding whatever snapshots it was given; tables never set are empty.
#[derive(Debug, Default)]
pub struct StaticSource {
    tables: RwLock<HashMap<Table, TableSnapshot>>,
}

impl StaticSource {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Replaces what `table` shows to the next query.
    pub fn set(&self, table: Table, snapshot: TableSnapshot) {
        // A poisoned lock only means another writer panicked mid-insert; the map itself is still whole.
        let mut tables = self.tables.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        tables.insert(table, snapshot);
    }
}

impl TableSource for StaticSource {
    fn snapshot(&self, table: Table) -> TableSnapshot {
        let tables = self.tables.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        tables.get(&table).cloned().unwrap_or_default()
    }
}
