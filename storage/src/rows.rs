//! Rows in a table's full schema built from some of its columns: the caller gives the columns it has, the
//! others get nulls where the schema allows them and zero values (empty text, 0, empty maps and lists)
//! where it does not. For writers that are not OTLP decoders: the rules' recorded series, rule unit tests'
//! input records, and tests.

use std::sync::Arc;

use arrow_array::builder::{MapBuilder, MapFieldNames, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, MapArray, RecordBatch,
    StringArray, TimestampNanosecondArray, UInt32Array, UInt64Array, new_empty_array,
    new_null_array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{ArrowError, DataType, Field};

use crate::Table;

/// `n` rows of `table`: the column `given` returns for a field, else nulls or zero values. Fails with the
/// column's name when a given column has the wrong type or length.
pub fn batch(
    table: Table,
    n: usize,
    mut given: impl FnMut(&Field) -> Option<ArrayRef>,
) -> Result<RecordBatch, ArrowError> {
    let schema = table.schema();
    let columns = schema
        .fields()
        .iter()
        .map(|field| match given(field) {
            Some(column) => Ok(column),
            None if field.is_nullable() => Ok(new_null_array(field.data_type(), n)),
            None => zero_column(field.data_type(), n).ok_or_else(|| {
                ArrowError::InvalidArgumentError(format!(
                    "column {} of {table} has no zero value and was not given",
                    field.name()
                ))
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

/// `n` zero values of `data_type`, for the types the tables use; `None` for any other.
pub fn zero_column(data_type: &DataType, n: usize) -> Option<ArrayRef> {
    Some(match data_type {
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
        DataType::Map(entries, sorted) => Arc::new(MapArray::new(
            Arc::clone(entries),
            OffsetBuffer::new_zeroed(n),
            new_empty_array(entries.data_type()).as_struct().clone(),
            None,
            *sorted,
        )),
        _ => return None,
    })
}

/// A timestamp column (nanoseconds, UTC), the type of every time column.
pub fn timestamps(nanos: impl IntoIterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from_iter_values(nanos).with_timezone("UTC"))
}

/// An attribute column ([`crate::schema::attributes_map_type`]), one map per row from its entries.
pub fn attribute_maps<'a>(
    rows: impl IntoIterator<Item = impl IntoIterator<Item = (&'a str, &'a str)>>,
) -> ArrayRef {
    let names = MapFieldNames {
        entry: "entries".to_owned(),
        key: "keys".to_owned(),
        value: "values".to_owned(),
    };
    let mut builder = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    for entries in rows {
        for (key, value) in entries {
            builder.keys().append_value(key);
            builder.values().append_value(value);
        }
        builder.append(true).expect("keys and values were appended in pairs");
    }
    Arc::new(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_zero_row_and_given_columns_are_kept() {
        for table in Table::ALL {
            let rows = batch(table, 2, |_| None).expect("zero rows");
            assert_eq!(rows.num_rows(), 2, "{table}");
        }
        let rows = batch(Table::Logs, 1, |field| {
            (field.name() == "attributes").then(|| attribute_maps([[("k", "v")]]))
        })
        .expect("logs row");
        let attributes = rows.column_by_name("attributes").expect("attributes").as_map();
        assert_eq!(arrow_array::Array::len(&attributes.value(0)), 1);
    }

    #[test]
    fn a_given_column_of_the_wrong_type_is_an_error() {
        let wrong = batch(Table::Logs, 1, |field| {
            (field.name() == "severity_number").then(|| zero_column(&DataType::Utf8, 1)).flatten()
        });
        assert!(wrong.is_err());
    }
}
