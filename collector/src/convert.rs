//! Conversion of validated OTLP requests into Arrow record batches, in the table shapes of
//! [`sightline_storage::Table::schema`].
//!
//! Validation happens before conversion, so the converters only guard against what could make Arrow fail
//! (they never panic on odd input; an unknown enum number becomes `UNSPECIFIED`/`UNSET`, an out-of-range time
//! saturates). Every converter counts its rows first, pre-sizes its builders and appends straight into them,
//! reusing scratch buffers for rendered numbers, JSON and hex ids: ingest throughput is a product
//! requirement (see BENCHMARKS.md).

mod attributes;
mod ids;
mod json;
mod logs;
mod metrics;
mod resource;
mod spans;

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::TimestampNanosecondBuilder;
use arrow_schema::{ArrowError, DataType, FieldRef, Fields, Schema};

use crate::otlp::common::v1::any_value::Value;
use crate::otlp::resource::v1::Resource;

pub use logs::logs_to_arrow;
pub use metrics::metrics_to_arrow;
pub use spans::spans_to_arrow;

/// OpenTelemetry's default for a resource without a string `service.name`.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// The resource's `service.name` when it is a string, else [`UNKNOWN_SERVICE`].
pub(crate) fn service_name(resource: Option<&Resource>) -> &str {
    resource
        .into_iter()
        .flat_map(|resource| &resource.attributes)
        .find(|attribute| attribute.key == "service.name")
        .and_then(|attribute| match attribute.value.as_ref()?.value.as_ref()? {
            Value::StringValue(name) => Some(name.as_str()),
            _ => None,
        })
        .unwrap_or(UNKNOWN_SERVICE)
}

/// OTLP times are u64 nanoseconds; Arrow's are i64. Validation keeps them in range; saturate otherwise.
fn nanos(unix_nanos: u64) -> i64 {
    i64::try_from(unix_nanos).unwrap_or(i64::MAX)
}

fn timestamp_builder(capacity: usize) -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::with_capacity(capacity).with_timezone("UTC")
}

fn schema_error(message: String) -> ArrowError {
    ArrowError::SchemaError(message)
}

/// The item field of the list column `column`.
fn list_item_field(schema: &Schema, column: &str) -> Result<FieldRef, ArrowError> {
    match schema.field_with_name(column)?.data_type() {
        DataType::List(item) => Ok(Arc::clone(item)),
        other => Err(schema_error(format!("column {column} is {other}, not a list"))),
    }
}

/// The item field of the list-of-struct column `column` and the struct's fields.
fn struct_list_fields(schema: &Schema, column: &str) -> Result<(FieldRef, Fields), ArrowError> {
    let item = list_item_field(schema, column)?;
    match item.data_type() {
        DataType::Struct(fields) => Ok((Arc::clone(&item), fields.clone())),
        other => Err(schema_error(format!("items of {column} are {other}, not structs"))),
    }
}

/// Stitches per-field child arrays and list offsets into the list-of-struct column `column`.
fn struct_list_array(
    schema: &Schema,
    column: &str,
    offsets: arrow_buffer::OffsetBufferBuilder<i32>,
    children: Vec<ArrayRef>,
) -> Result<ArrayRef, ArrowError> {
    let (item, fields) = struct_list_fields(schema, column)?;
    let values = arrow_array::StructArray::try_new(fields, children, None)?;
    let list = arrow_array::ListArray::try_new(item, offsets.finish(), Arc::new(values), None)?;
    Ok(Arc::new(list))
}

#[cfg(test)]
pub(crate) mod test_support;
