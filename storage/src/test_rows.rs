//! Rows in a table's full schema for tests: every column at its zero value (empty strings, maps and lists),
//! except the time and `service_name`, which the test chooses.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, MapArray, RecordBatch,
    StringArray, TimestampNanosecondArray, UInt32Array, UInt64Array, new_empty_array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::DataType;

use crate::Table;

/// One row per `(time_ns, service)`.
pub fn rows(table: Table, rows: &[(i64, &str)]) -> RecordBatch {
    let schema = table.schema();
    let n = rows.len();
    let columns = schema
        .fields()
        .iter()
        .map(|field| match field.name().as_str() {
            "service_name" => {
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef
            }
            name if name == table.time_column() => Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.0))
                    .with_timezone("UTC"),
            ),
            _ => zeros(field.data_type(), n),
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("rows in the table's schema")
}

fn zeros(data_type: &DataType, n: usize) -> ArrayRef {
    match data_type {
        DataType::Utf8 => Arc::new(StringArray::from_iter_values(std::iter::repeat_n("", n))),
        DataType::Boolean => Arc::new(BooleanArray::from(vec![false; n])),
        DataType::Int32 => Arc::new(Int32Array::from(vec![0; n])),
        DataType::Int64 => Arc::new(Int64Array::from(vec![0; n])),
        DataType::UInt32 => Arc::new(UInt32Array::from(vec![0; n])),
        DataType::UInt64 => Arc::new(UInt64Array::from(vec![0; n])),
        DataType::Float64 => Arc::new(Float64Array::from(vec![0.0; n])),
        DataType::Timestamp(_, _) => {
            Arc::new(TimestampNanosecondArray::from(vec![0; n]).with_timezone("UTC"))
        }
        DataType::List(item) => Arc::new(ListArray::new(
            Arc::clone(item),
            OffsetBuffer::new_zeroed(n),
            new_empty_array(item.data_type()),
            None,
        )),
        DataType::Map(entries, sorted) => {
            let empty = new_empty_array(entries.data_type()).as_struct().clone();
            Arc::new(MapArray::new(
                Arc::clone(entries),
                OffsetBuffer::new_zeroed(n),
                empty,
                None,
                *sorted,
            ))
        }
        other => panic!("no zero value for {other} in test rows"),
    }
}
