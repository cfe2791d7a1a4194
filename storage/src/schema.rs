//! The tables of DESIGN.md and their Arrow schemas. The table names and the documented columns are a public
//! contract: add columns freely, never rename or remove one.

use std::fmt;

use arrow_array::RecordBatch;

/// One table of the store. Every ingested batch belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Logs,
    Spans,
    Metrics,
    MetricsHistogram,
    MetricsExpHistogram,
    MetricsSummary,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Logs,
        Table::Spans,
        Table::Metrics,
        Table::MetricsHistogram,
        Table::MetricsExpHistogram,
        Table::MetricsSummary,
    ];

    /// The table's name in SQL and on disk.
    pub fn name(self) -> &'static str {
        match self {
            Table::Logs => "logs",
            Table::Spans => "spans",
            Table::Metrics => "metrics",
            Table::MetricsHistogram => "metrics_histogram",
            Table::MetricsExpHistogram => "metrics_exp_histogram",
            Table::MetricsSummary => "metrics_summary",
        }
    }

    /// A stable one-byte tag, used where a table is named in a binary format (the WAL).
    pub fn tag(self) -> u8 {
        match self {
            Table::Logs => 1,
            Table::Spans => 2,
            Table::Metrics => 3,
            Table::MetricsHistogram => 4,
            Table::MetricsExpHistogram => 5,
            Table::MetricsSummary => 6,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Table> {
        Table::ALL.into_iter().find(|table| table.tag() == tag)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Rows for one table, in that table's schema.
#[derive(Debug, Clone)]
pub struct TableBatch {
    pub table: Table,
    pub batch: RecordBatch,
}
