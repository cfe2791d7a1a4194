//! Builders for OTLP values in tests, and accessors for the columns of produced batches.

use arrow_array::cast::AsArray;
use arrow_array::{Array, MapArray, RecordBatch};

use crate::otlp::common::v1::any_value::Value;
use crate::otlp::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList};
use crate::otlp::resource::v1::Resource;

pub(crate) fn string(text: &str) -> AnyValue {
    AnyValue { value: Some(Value::StringValue(text.to_string())) }
}
pub(crate) fn int(int: i64) -> AnyValue {
    AnyValue { value: Some(Value::IntValue(int)) }
}
pub(crate) fn double(double: f64) -> AnyValue {
    AnyValue { value: Some(Value::DoubleValue(double)) }
}
pub(crate) fn boolean(flag: bool) -> AnyValue {
    AnyValue { value: Some(Value::BoolValue(flag)) }
}
pub(crate) fn bytes(bytes: &[u8]) -> AnyValue {
    AnyValue { value: Some(Value::BytesValue(bytes.to_vec())) }
}
pub(crate) fn array(values: Vec<AnyValue>) -> AnyValue {
    AnyValue { value: Some(Value::ArrayValue(ArrayValue { values })) }
}
pub(crate) fn kvlist(values: Vec<KeyValue>) -> AnyValue {
    AnyValue { value: Some(Value::KvlistValue(KeyValueList { values })) }
}
pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(value), ..Default::default() }
}
pub(crate) fn empty_kv(key: &str) -> KeyValue {
    KeyValue { key: key.to_string(), value: None, ..Default::default() }
}

/// A resource with `service.name` = `my.service` and one more attribute, 3 dropped attributes.
pub(crate) fn test_resource() -> Resource {
    Resource {
        attributes: vec![kv("service.name", string("my.service")), kv("host.name", string("h1"))],
        dropped_attributes_count: 3,
        ..Default::default()
    }
}

pub(crate) fn test_scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "my.library".to_string(),
        version: "1.0.0".to_string(),
        attributes: vec![kv("my.scope.attribute", string("some scope attribute"))],
        dropped_attributes_count: 1,
    }
}

/// The value of the string column `name` at `row`; `None` when null.
pub(crate) fn text(batch: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let column = column.as_string::<i32>();
    column.is_valid(row).then(|| column.value(row).to_string())
}

/// The value of the primitive column `name` at `row`; `None` when null.
pub(crate) fn primitive<T: arrow_array::ArrowPrimitiveType>(
    batch: &RecordBatch,
    name: &str,
    row: usize,
) -> Option<T::Native> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let column = column.as_primitive::<T>();
    column.is_valid(row).then(|| column.value(row))
}

/// The entries of a map array's row, values `None` when null.
pub(crate) fn map_entries(map: &MapArray, row: usize) -> Vec<(String, Option<String>)> {
    let entries = map.value(row);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries.column(1).as_string::<i32>();
    (0..entries.len())
        .map(|i| {
            (keys.value(i).to_string(), values.is_valid(i).then(|| values.value(i).to_string()))
        })
        .collect()
}

/// The entries of the map column `name` at `row`.
pub(crate) fn map(batch: &RecordBatch, name: &str, row: usize) -> Vec<(String, Option<String>)> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    map_entries(column.as_map(), row)
}

pub(crate) fn entries(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.map(str::to_string))).collect()
}

/// Checks the resource/scope columns of `row` against [`test_resource`] and [`test_scope`], with the
/// schema URLs "https://resource" and "https://scope".
pub(crate) fn assert_test_origin(batch: &RecordBatch, row: usize) {
    use arrow_array::types::UInt32Type;
    assert_eq!(
        map(batch, "resource_attributes", row),
        entries(&[("service.name", Some("my.service")), ("host.name", Some("h1"))])
    );
    assert_eq!(primitive::<UInt32Type>(batch, "resource_dropped_attributes_count", row), Some(3));
    assert_eq!(text(batch, "resource_schema_url", row).as_deref(), Some("https://resource"));
    assert_eq!(text(batch, "scope_name", row).as_deref(), Some("my.library"));
    assert_eq!(text(batch, "scope_version", row).as_deref(), Some("1.0.0"));
    assert_eq!(
        map(batch, "scope_attributes", row),
        entries(&[("my.scope.attribute", Some("some scope attribute"))])
    );
    assert_eq!(primitive::<UInt32Type>(batch, "scope_dropped_attributes_count", row), Some(1));
    assert_eq!(text(batch, "scope_schema_url", row).as_deref(), Some("https://scope"));
}

/// `RecordBatch::try_new` compares nested types loosely (ignoring nested field names and nullability),
/// so check that every column's type is exactly the schema's.
pub(crate) fn assert_columns_match_schema(batch: &RecordBatch) {
    let schema = batch.schema();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        assert_eq!(column.data_type(), field.data_type(), "column {}", field.name());
        if !field.is_nullable() {
            assert_eq!(column.null_count(), 0, "nulls in column {}", field.name());
        }
    }
}
