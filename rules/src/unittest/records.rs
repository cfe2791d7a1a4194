//! Input for `sql:` rules in unit tests: `input_logs` and `input_spans`, sightline's extension of promtool's
//! test format. Each entry gives the columns of its records and how many records arrive at each step:
//!
//! ```yaml
//! input_logs:
//!   - fields: { service_name: checkout, severity_number: 17, severity_text: ERROR, attributes: { http.route: /pay } }
//!     counts: "0x4 3x10"          # input_series notation: 0 records at steps 0..4, then 3 a step
//! input_spans:
//!   - fields: { service_name: checkout, name: POST /pay, kind: SERVER, status_code: ERROR, duration_ns: 250ms }
//!     counts: "1x15"
//! ```
//!
//! Fields are the table's columns (DESIGN.md), by name. The time columns come from the step: a log's
//! `timestamp` and `observed_timestamp` are the step's time; a span ends at the step's time and starts
//! `duration_ns` before (a number of nanoseconds or a duration such as `250ms`). Columns not given are what
//! ingest stores for an absent field: `unknown_service`, a span's kind `UNSPECIFIED` and status `UNSET`,
//! empty text and maps, nulls where the column allows them; spans get distinct trace and span ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field};
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;
use sightline_storage::{Table, TableBatch, rows};

use super::series::{self, Step};
use crate::file::parse_duration;

/// One entry of `input_logs` or `input_spans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRecords {
    #[serde(default)]
    fields: BTreeMap<String, Yaml>,
    counts: String,
}

/// The records of `input` as rows of `table` (logs or spans), steps `interval_ms` apart from time 0.
pub fn to_rows(table: Table, input: &InputRecords, interval_ms: i64) -> Result<TableBatch, String> {
    let times_ns = record_times(&input.counts, interval_ms)?;
    let n = times_ns.len();
    let schema = table.schema();
    let columns: Vec<&str> = schema.fields().iter().map(|field| field.name().as_str()).collect();
    for name in input.fields.keys() {
        if !columns.contains(&name.as_str()) {
            return Err(format!(
                "{table} have no column {name:?}; they have {}",
                columns.join(", ")
            ));
        }
        if is_time_column(table, name) {
            return Err(format!("{name:?} is the time of the step its record arrives at"));
        }
    }
    let duration_ns = match input.fields.get("duration_ns") {
        Some(value) => duration_ns(value)?,
        None => 0,
    };
    let mut failure = None;
    let batch = rows::batch(table, n, |field| {
        let name = field.name().as_str();
        let column = match (table, name) {
            (Table::Logs, "timestamp" | "observed_timestamp") | (Table::Spans, "end_time") => {
                Ok(rows::timestamps(times_ns.iter().copied()))
            }
            (Table::Spans, "start_time") => {
                Ok(rows::timestamps(times_ns.iter().map(|t| t - duration_ns)))
            }
            (Table::Spans, "duration_ns") => {
                Ok(Arc::new(Int64Array::from(vec![duration_ns; n])) as _)
            }
            (Table::Spans, "trace_id") if !input.fields.contains_key(name) => {
                Ok(strings((0..n).map(|record| format!("{:032x}", record + 1))))
            }
            (Table::Spans, "span_id") if !input.fields.contains_key(name) => {
                Ok(strings((0..n).map(|record| format!("{:016x}", record + 1))))
            }
            _ => match input.fields.get(name) {
                Some(value) => repeated(field, value, n),
                None => return default(table, name, n),
            },
        };
        column.map_err(|error| failure.get_or_insert(error).clone()).ok()
    });
    if let Some(error) = failure {
        return Err(error);
    }
    let batch = batch.map_err(|error| format!("{table} records: {error}"))?;
    Ok(TableBatch { table, batch })
}

/// The time of each record (ns): `count` records at each step's time.
fn record_times(counts: &str, interval_ms: i64) -> Result<Vec<i64>, String> {
    let steps = series::expand(counts).map_err(|error| format!("counts {counts:?}: {error}"))?;
    let mut times = Vec::new();
    for (index, step) in steps.into_iter().enumerate() {
        let count = match step {
            Step::Missing => 0.0,
            Step::Value(count) => count,
        };
        if !(count >= 0.0 && count.fract() == 0.0) {
            return Err(format!("counts {counts:?}: {count} is not a number of records"));
        }
        let t_ns = (index as i64 * interval_ms).saturating_mul(1_000_000);
        times.extend(std::iter::repeat_n(t_ns, count as usize));
    }
    Ok(times)
}

fn is_time_column(table: Table, name: &str) -> bool {
    matches!(
        (table, name),
        (Table::Logs, "timestamp" | "observed_timestamp")
            | (Table::Spans, "start_time" | "end_time")
    )
}

/// What ingest stores when the field is absent, where that is not the column's zero or null.
fn default(table: Table, name: &str, n: usize) -> Option<ArrayRef> {
    let text = match (table, name) {
        (_, "service_name") => "unknown_service",
        (Table::Spans, "kind") => "UNSPECIFIED",
        (Table::Spans, "status_code") => "UNSET",
        _ => return None,
    };
    Some(strings(std::iter::repeat_n(text, n)))
}

fn duration_ns(value: &Yaml) -> Result<i64, String> {
    match value {
        Yaml::Number(number) => {
            number.as_i64().ok_or_else(|| format!("duration_ns {number} is not a whole number"))
        }
        Yaml::String(text) => {
            let duration =
                parse_duration(text).map_err(|error| format!("duration_ns {text:?}: {error}"))?;
            i64::try_from(duration.as_nanos())
                .map_err(|_| format!("duration_ns {text:?} is too long"))
        }
        other => Err(format!("duration_ns {other:?} is neither nanoseconds nor a duration")),
    }
}

/// `value` repeated `n` times as a column of `field`'s type.
fn repeated(field: &Field, value: &Yaml, n: usize) -> Result<ArrayRef, String> {
    let name = field.name();
    let wrong = |expected: &str| format!("{name}: {value:?} is not {expected}");
    let integer = || value.as_i64().ok_or_else(|| wrong("a whole number"));
    Ok(match field.data_type() {
        DataType::Utf8 => {
            strings(std::iter::repeat_n(text(value).ok_or_else(|| wrong("text"))?, n))
        }
        DataType::Int32 => {
            let value = i32::try_from(integer()?).map_err(|_| wrong("a 32-bit number"))?;
            Arc::new(Int32Array::from(vec![value; n]))
        }
        DataType::Int64 => Arc::new(Int64Array::from(vec![integer()?; n])),
        DataType::UInt32 => {
            let value =
                u32::try_from(integer()?).map_err(|_| wrong("an unsigned 32-bit number"))?;
            Arc::new(UInt32Array::from(vec![value; n]))
        }
        DataType::UInt64 => {
            let value = u64::try_from(integer()?).map_err(|_| wrong("an unsigned number"))?;
            Arc::new(UInt64Array::from(vec![value; n]))
        }
        DataType::Float64 => {
            Arc::new(Float64Array::from(vec![value.as_f64().ok_or_else(|| wrong("a number"))?; n]))
        }
        DataType::Boolean => Arc::new(BooleanArray::from(vec![
            value.as_bool().ok_or_else(
                || wrong("true or false")
            )?;
            n
        ])),
        DataType::Map(_, _) => {
            let Yaml::Mapping(mapping) = value else {
                return Err(wrong("a map of attributes"));
            };
            let mut entries = Vec::with_capacity(mapping.len());
            for (key, value) in mapping {
                let key = text(key).ok_or_else(|| format!("{name}: key {key:?} is not text"))?;
                let value =
                    text(value).ok_or_else(|| format!("{name}.{key}: {value:?} is not text"))?;
                entries.push((key, value));
            }
            let entries = entries.iter().map(|(key, value)| (key.as_str(), value.as_str()));
            rows::attribute_maps(std::iter::repeat_n(entries, n))
        }
        other => return Err(format!("{name}: columns of type {other} cannot be given in a test")),
    })
}

/// A scalar as attribute text, as ingest renders non-string values.
fn text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Number(number) => Some(number.to_string()),
        Yaml::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn strings<T: AsRef<str>>(values: impl Iterator<Item = T>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}
