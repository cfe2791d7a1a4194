//! Attribute lists as `Map<Utf8, Utf8?>` columns.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_schema::ArrowError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::json::{double_text, write_json_value};
use crate::otlp::common::v1::any_value::Value;
use crate::otlp::common::v1::{AnyValue, KeyValue};

/// Builds one attribute-map column. Keys and values are appended in the order sent.
#[derive(Debug)]
pub(crate) struct AttributesBuilder {
    map: MapBuilder<StringBuilder, StringBuilder>,
    /// Reused for values rendered as JSON or base64.
    scratch: String,
}

impl AttributesBuilder {
    /// `rows` maps holding `entries` key-values in all.
    pub(crate) fn with_capacity(rows: usize, entries: usize) -> Self {
        let keys = StringBuilder::with_capacity(entries, entries * 16);
        let values = StringBuilder::with_capacity(entries, entries * 24);
        AttributesBuilder {
            map: MapBuilder::with_capacity(None, keys, values, rows),
            scratch: String::new(),
        }
    }

    /// Appends one row's map.
    pub(crate) fn append(&mut self, attributes: &[KeyValue]) -> Result<(), ArrowError> {
        let (keys, values) = self.map.entries();
        for attribute in attributes {
            keys.append_value(&attribute.key);
            append_attribute_value(values, attribute.value.as_ref(), &mut self.scratch);
        }
        self.map.append(true)
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        Arc::new(self.map.finish())
    }
}

/// An attribute value as text: strings as sent, bools `true`/`false`, ints in decimal, doubles in shortest
/// round-trip form, bytes as base64, arrays and kvlists as compact JSON; null when there is no value.
fn append_attribute_value(
    column: &mut StringBuilder,
    value: Option<&AnyValue>,
    scratch: &mut String,
) {
    let Some(value) = value.and_then(|value| value.value.as_ref()) else {
        column.append_null();
        return;
    };
    match value {
        Value::StringValue(text) => column.append_value(text),
        Value::BoolValue(flag) => column.append_value(if *flag { "true" } else { "false" }),
        Value::IntValue(int) => column.append_value(itoa::Buffer::new().format(*int)),
        Value::DoubleValue(double) => {
            column.append_value(double_text(*double, &mut ryu::Buffer::new()));
        }
        Value::BytesValue(bytes) => {
            scratch.clear();
            BASE64.encode_string(bytes, scratch);
            column.append_value(&*scratch);
        }
        Value::ArrayValue(_) | Value::KvlistValue(_) => {
            scratch.clear();
            write_json_value(Some(value), scratch);
            column.append_value(&*scratch);
        }
        // Profiles-only; other signals treat it as absent.
        Value::StringValueStrindex(_) => column.append_null(),
    }
}
