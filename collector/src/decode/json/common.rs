//! Messages shared by the three signals: `AnyValue`, `KeyValue`, `InstrumentationScope`, `Resource`.

use serde_json::Value;

use super::scalar::{base64, boolean, f64, i32, i64, string, u32};
use super::{Path, Result, object, repeated, set_oneof};
use crate::otlp::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use crate::otlp::resource::v1::Resource;

/// How deeply `AnyValue`s may nest (arrays and kvlists inside each other). Deeper input is refused so
/// that hostile bodies cannot exhaust the stack further down the pipeline (conversion, redaction, drop).
/// Each level costs three (array) or four (kvlist) JSON levels, so serde_json's own limit of 128 may
/// trip first for kvlists; either way the body is refused with an error, never a crash.
pub(super) const MAX_ANY_VALUE_DEPTH: usize = 32;

pub(super) fn attributes(value: Value, path: &Path) -> Result<Vec<KeyValue>> {
    repeated(value, path, |v, p| key_value(v, p, 0))
}

fn key_value(value: Value, path: &Path, depth: usize) -> Result<KeyValue> {
    let mut kv = KeyValue::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue; // null means the default
        }
        match name.as_str() {
            "key" => kv.key = string(value, &path.field("key"))?,
            "value" => kv.value = Some(any_value(value, &path.field("value"), depth)?),
            "keyStrindex" | "key_strindex" => {
                kv.key_strindex = i32(value, &path.field("keyStrindex"))?
            }
            _ => {} // unknown fields are ignored
        }
    }
    Ok(kv)
}

/// An `AnyValue`; `{}` is a value with no member set. `depth` counts the enclosing AnyValues.
pub(super) fn any_value(value: Value, path: &Path, depth: usize) -> Result<AnyValue> {
    use any_value::Value as V;

    if depth >= MAX_ANY_VALUE_DEPTH {
        return Err(path.error(format!("values nested deeper than {MAX_ANY_VALUE_DEPTH} levels")));
    }
    let mut member: Option<V> = None;
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        let decoded = match name.as_str() {
            "stringValue" | "string_value" => {
                V::StringValue(string(value, &path.field("stringValue"))?)
            }
            "boolValue" | "bool_value" => V::BoolValue(boolean(value, &path.field("boolValue"))?),
            "intValue" | "int_value" => V::IntValue(i64(value, &path.field("intValue"))?),
            "doubleValue" | "double_value" => {
                V::DoubleValue(f64(value, &path.field("doubleValue"))?)
            }
            "bytesValue" | "bytes_value" => {
                V::BytesValue(base64(value, &path.field("bytesValue"))?)
            }
            "arrayValue" | "array_value" => {
                V::ArrayValue(array_value(value, &path.field("arrayValue"), depth + 1)?)
            }
            "kvlistValue" | "kvlist_value" => {
                V::KvlistValue(kvlist_value(value, &path.field("kvlistValue"), depth + 1)?)
            }
            "stringValueStrindex" | "string_value_strindex" => {
                V::StringValueStrindex(i32(value, &path.field("stringValueStrindex"))?)
            }
            _ => continue,
        };
        set_oneof(&mut member, decoded, &path.field(static_name(&name)), "value")?;
    }
    Ok(AnyValue { value: member })
}

/// The camelCase spelling of an AnyValue member, for error paths.
fn static_name(name: &str) -> &'static str {
    match name {
        "stringValue" | "string_value" => "stringValue",
        "boolValue" | "bool_value" => "boolValue",
        "intValue" | "int_value" => "intValue",
        "doubleValue" | "double_value" => "doubleValue",
        "bytesValue" | "bytes_value" => "bytesValue",
        "arrayValue" | "array_value" => "arrayValue",
        "kvlistValue" | "kvlist_value" => "kvlistValue",
        _ => "stringValueStrindex",
    }
}

fn array_value(value: Value, path: &Path, depth: usize) -> Result<ArrayValue> {
    let mut array = ArrayValue::default();
    for (name, value) in object(value, path)? {
        if name == "values" {
            array.values = repeated(value, &path.field("values"), |v, p| any_value(v, p, depth))?;
        }
    }
    Ok(array)
}

fn kvlist_value(value: Value, path: &Path, depth: usize) -> Result<KeyValueList> {
    let mut list = KeyValueList::default();
    for (name, value) in object(value, path)? {
        if name == "values" {
            list.values = repeated(value, &path.field("values"), |v, p| key_value(v, p, depth))?;
        }
    }
    Ok(list)
}

pub(super) fn scope(value: Value, path: &Path) -> Result<InstrumentationScope> {
    let mut scope = InstrumentationScope::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "name" => scope.name = string(value, &path.field("name"))?,
            "version" => scope.version = string(value, &path.field("version"))?,
            "attributes" => scope.attributes = attributes(value, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                scope.dropped_attributes_count = u32(value, &path.field("droppedAttributesCount"))?
            }
            _ => {}
        }
    }
    Ok(scope)
}

pub(super) fn resource(value: Value, path: &Path) -> Result<Resource> {
    let mut resource = Resource::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "attributes" => resource.attributes = attributes(value, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                resource.dropped_attributes_count =
                    u32(value, &path.field("droppedAttributesCount"))?
            }
            "entityRefs" | "entity_refs" => {
                resource.entity_refs = repeated(value, &path.field("entityRefs"), entity_ref)?
            }
            _ => {}
        }
    }
    Ok(resource)
}

fn entity_ref(value: Value, path: &Path) -> Result<EntityRef> {
    let mut entity = EntityRef::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "schemaUrl" | "schema_url" => {
                entity.schema_url = string(value, &path.field("schemaUrl"))?
            }
            "type" => entity.r#type = string(value, &path.field("type"))?,
            "idKeys" | "id_keys" => {
                entity.id_keys = repeated(value, &path.field("idKeys"), string)?
            }
            "descriptionKeys" | "description_keys" => {
                entity.description_keys = repeated(value, &path.field("descriptionKeys"), string)?
            }
            _ => {}
        }
    }
    Ok(entity)
}
