//! `POST /api/v1/sql`: runs `{"sql": "..."}` through the query engine and answers with JSON (default) or,
//! for `Accept: application/vnd.apache.arrow.stream`, the Arrow IPC stream of the result.
//!
//! JSON shape: `{"columns": [{"name", "type"}], "rows": [[...]], "truncated": bool}`. `type` is the Arrow
//! type's display string. Values: numbers, strings, bools and null as such; timestamps with a time zone as
//! RFC 3339 in UTC with nanoseconds (`2024-01-02T03:04:05.000000006Z`), timestamps without one the same
//! without `Z`; maps and structs as objects; lists as arrays.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_json::writer::{EncoderOptions, make_encoder};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sightline_storage::QueryOutput;

use super::{ApiError, ApiState, parse_json};
use crate::auth::Principal;

pub(crate) const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// Set on Arrow IPC answers whose rows were cut at the row limit (JSON says it in the body).
pub(crate) const TRUNCATED_HEADER: &str = "sightline-truncated";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    sql: String,
}

#[derive(Debug, Serialize)]
struct Column {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
}

pub(crate) async fn handle(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: SqlRequest = parse_json(&body)?;
    // The principal's services only, whatever the statement says.
    let output = state.engine.sql_scoped(&request.sql, &principal.scope).await?;
    if wants_arrow(&headers) { arrow_response(&output) } else { json_response(&output) }
}

fn wants_arrow(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|t| t.trim().starts_with(ARROW_STREAM)))
}

fn arrow_response(output: &QueryOutput) -> Result<Response, ApiError> {
    let bytes = ipc_stream(output).map_err(|e| ApiError::internal(&e))?;
    let mut response = ([(header::CONTENT_TYPE, ARROW_STREAM)], bytes).into_response();
    if output.truncated {
        response.headers_mut().insert(TRUNCATED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn ipc_stream(output: &QueryOutput) -> Result<Vec<u8>, ArrowError> {
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &output.schema)?;
    for batch in &output.batches {
        writer.write(batch)?;
    }
    writer.into_inner()
}

fn json_response(output: &QueryOutput) -> Result<Response, ApiError> {
    let body = json_body(output).map_err(|e| ApiError::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Writes the JSON answer directly: arrow-json encodes each cell, the rows are framed here.
fn json_body(output: &QueryOutput) -> Result<Vec<u8>, ArrowError> {
    let columns: Vec<Column> = output
        .schema
        .fields()
        .iter()
        .map(|f| Column { name: f.name().clone(), data_type: f.data_type().to_string() })
        .collect();
    let mut out = br#"{"columns":"#.to_vec();
    serde_json::to_writer(&mut out, &columns).map_err(|e| ArrowError::JsonError(e.to_string()))?;
    out.extend_from_slice(br#","rows":["#);
    let options = EncoderOptions::default()
        .with_explicit_nulls(true)
        .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.9f".into())
        .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.9fZ".into());
    let mut first_row = true;
    for batch in &output.batches {
        let batch = utc_timestamps(batch)?;
        let schema = batch.schema();
        let mut encoders = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| make_encoder(field, array.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            if !first_row {
                out.push(b',');
            }
            first_row = false;
            out.push(b'[');
            for (i, encoder) in encoders.iter_mut().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if encoder.is_null(row) {
                    out.extend_from_slice(b"null");
                } else {
                    encoder.encode(row, &mut out);
                }
            }
            out.push(b']');
        }
    }
    out.extend_from_slice(br#"],"truncated":"#);
    out.extend_from_slice(if output.truncated { b"true}" } else { b"false}" });
    Ok(out)
}

/// The batch with every zoned timestamp column re-labelled as UTC (the instants are unchanged), so the
/// `Z` in the output format is true whatever zone a query produced (`now()` is `+00:00`, `AT TIME ZONE`…).
fn utc_timestamps(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let zoned = |f: &FieldRef| matches!(f.data_type(), DataType::Timestamp(_, Some(_)));
    if !batch.schema().fields().iter().any(zoned) {
        return Ok(batch.clone());
    }
    let mut fields: Vec<FieldRef> = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        let DataType::Timestamp(unit, Some(_)) = field.data_type() else {
            fields.push(Arc::clone(field));
            columns.push(Arc::clone(array));
            continue;
        };
        let utc: ArrayRef = match unit {
            TimeUnit::Second => {
                Arc::new(array.as_primitive::<TimestampSecondType>().clone().with_timezone_utc())
            }
            TimeUnit::Millisecond => Arc::new(
                array.as_primitive::<TimestampMillisecondType>().clone().with_timezone_utc(),
            ),
            TimeUnit::Microsecond => Arc::new(
                array.as_primitive::<TimestampMicrosecondType>().clone().with_timezone_utc(),
            ),
            TimeUnit::Nanosecond => Arc::new(
                array.as_primitive::<TimestampNanosecondType>().clone().with_timezone_utc(),
            ),
        };
        fields.push(Arc::new(Field::new(
            field.name(),
            utc.data_type().clone(),
            field.is_nullable(),
        )));
        columns.push(utc);
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, columns)
}

#[cfg(test)]
mod tests;
