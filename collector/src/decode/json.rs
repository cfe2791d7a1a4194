//! A spec-exact, tolerant OTLP/JSON decoder.
//!
//! Follows the "JSON Protobuf Encoding" section of the OTLP specification and the proto3 JSON mapping:
//! lowerCamelCase and original snake_case field names, unknown fields ignored, `null` meaning the default,
//! ids as case-insensitive hex, other bytes as base64, enums by number or name, 64-bit integers as numbers or
//! decimal strings, doubles including `"NaN"` and `"Infinity"`.
//!
//! The body is parsed once into a [`serde_json::Value`] and the tree is then consumed (moved, not cloned) into
//! the prost structs, so strings are not copied a second time. Errors carry the JSON path of the offending
//! field, rendered only when an error actually happens.

mod common;
mod logs;
mod metrics;
mod scalar;
#[cfg(test)]
mod tests;
mod trace;

use std::fmt;

use serde_json::{Map, Value};

use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// Why an OTLP/JSON body could not be decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct JsonError {
    /// JSON path of the offending value, e.g. `resourceSpans[0].scopeSpans[0].spans[3].traceId`;
    /// `$` for the document itself.
    pub path: String,
    /// What is wrong with it, lower-case, without a final period.
    pub message: String,
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest`.
pub fn logs_from_json(body: &[u8]) -> Result<ExportLogsServiceRequest, JsonError> {
    logs::request(parse(body)?, &Path::Root)
}

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn metrics_from_json(body: &[u8]) -> Result<ExportMetricsServiceRequest, JsonError> {
    metrics::request(parse(body)?, &Path::Root)
}

/// Decodes an OTLP/JSON `ExportTraceServiceRequest`.
pub fn traces_from_json(body: &[u8]) -> Result<ExportTraceServiceRequest, JsonError> {
    trace::request(parse(body)?, &Path::Root)
}

/// Parses the body; serde_json's own recursion limit (128) stays on, so deep documents fail here rather
/// than overflowing the stack.
fn parse(body: &[u8]) -> Result<Value, JsonError> {
    serde_json::from_slice(body).map_err(|e| Path::Root.error(format!("invalid json: {e}")))
}

type Result<T, E = JsonError> = std::result::Result<T, E>;

/// Where a value sits in the document. Built on the stack while walking and only rendered to a string
/// when an error is reported, so the happy path does not allocate for it.
#[derive(Debug, Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn field(&'a self, name: &'static str) -> Path<'a> {
        Path::Field(self, name)
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError { path: self.to_string(), message: message.into() }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The JSON type of a value, for error messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The members of a message; `null` is the default message, i.e. no members.
fn object(value: Value, path: &Path) -> Result<Map<String, Value>> {
    match value {
        Value::Object(members) => Ok(members),
        Value::Null => Ok(Map::new()),
        other => Err(path.error(format!("expected an object, found {}", type_name(&other)))),
    }
}

/// Decodes a repeated field; `null` is the empty list.
fn repeated<T>(
    value: Value,
    path: &Path,
    decode: impl Fn(Value, &Path) -> Result<T>,
) -> Result<Vec<T>> {
    match value {
        Value::Array(items) => {
            items.into_iter().enumerate().map(|(i, item)| decode(item, &path.index(i))).collect()
        }
        Value::Null => Ok(Vec::new()),
        other => Err(path.error(format!("expected an array, found {}", type_name(&other)))),
    }
}

/// Sets the member of a oneof, refusing a second member of the same oneof (proto3 JSON forbids it).
fn set_oneof<T>(slot: &mut Option<T>, value: T, path: &Path, oneof: &str) -> Result<()> {
    if slot.is_some() {
        return Err(path.error(format!("more than one member of oneof '{oneof}' is set")));
    }
    *slot = Some(value);
    Ok(())
}
