//! Rows in a table's full schema for tests: every column at its zero value (empty strings, maps and lists),
//! except the time and `service_name`, which the test chooses.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};

use crate::Table;

/// One row per `(time_ns, service)`.
pub fn rows(table: Table, rows: &[(i64, &str)]) -> RecordBatch {
    crate::rows::batch(table, rows.len(), |field| match field.name().as_str() {
        "service_name" => {
            Some(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef)
        }
        name if name == table.time_column() => {
            Some(crate::rows::timestamps(rows.iter().map(|r| r.0)))
        }
        // Zero values rather than nulls: tests compare what they read back.
        _ => crate::rows::zero_column(field.data_type(), rows.len()),
    })
    .expect("rows in the table's schema")
}
