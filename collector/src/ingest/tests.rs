//! The request bodies the WAL logs in place of batches: which are logged, and that replay makes the batches
//! that were written with them.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use prometheus_client::registry::Registry;
use prost::Message;
use sightline_storage::sink::WriteFuture;

use super::*;
use crate::auth::IngestAuth;
use crate::decode::json::{logs_from_json, metrics_from_json, traces_from_json};
use crate::otlp::common::v1::{AnyValue, KeyValue, any_value};

/// Keeps every write: its batches and the source it came with, if any.
#[derive(Default)]
struct KeepingSink {
    writes: Mutex<Vec<(Vec<TableBatch>, Option<Source>)>>,
}

impl BatchSink for KeepingSink {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_> {
        self.writes.lock().unwrap().push((batches, None));
        Box::pin(async { Ok(()) })
    }

    fn write_from(&self, batches: Vec<TableBatch>, source: Source) -> WriteFuture<'_> {
        self.writes.lock().unwrap().push((batches, Some(source)));
        Box::pin(async { Ok(()) })
    }
}

fn pipeline(limits: Limits) -> (Pipeline, Arc<KeepingSink>) {
    let sink = Arc::new(KeepingSink::default());
    let pipeline = Pipeline::new(
        Arc::clone(&sink) as Arc<dyn BatchSink>,
        IngestAuth::default(),
        Redactor::with_defaults(),
        limits,
        CollectorMetrics::register(&mut Registry::default()),
        None,
    );
    (pipeline, sink)
}

/// Exports `body` as OTLP/protobuf; returns what reached the sink.
async fn export<R: ExportRequest>(
    limits: Limits,
    body: Vec<u8>,
) -> (Vec<TableBatch>, Option<Source>) {
    let (pipeline, sink) = pipeline(limits);
    let decoded = pipeline.decode_protobuf::<R>(Bytes::from(body)).unwrap();
    pipeline.export(decoded).await.unwrap();
    let mut writes = sink.writes.lock().unwrap();
    assert_eq!(writes.len(), 1);
    writes.pop().unwrap()
}

fn example(name: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/otlp-examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn plain(batches: &[TableBatch]) -> Vec<(sightline_storage::Table, arrow_array::RecordBatch)> {
    batches.iter().map(|b| (b.table, b.batch.clone())).collect()
}

/// Asserts that the write logged its body and that replay, with `limits`, makes its batches.
fn assert_replays(limits: Limits, (batches, source): &(Vec<TableBatch>, Option<Source>)) {
    let source = source.as_ref().expect("the body was logged");
    let replayed = Replay::new(limits).decode(source.format, source.stamp, &source.bytes).unwrap();
    assert_eq!(plain(&replayed), plain(batches));
}

#[tokio::test]
async fn the_otlp_examples_are_logged_as_their_bodies_and_replay_to_the_same_batches() {
    let logs = logs_from_json(&example("logs.json")).unwrap().encode_to_vec();
    let traces = traces_from_json(&example("trace.json")).unwrap().encode_to_vec();
    let metrics = metrics_from_json(&example("metrics.json")).unwrap().encode_to_vec();
    let limits = Limits::default();
    assert_replays(limits, &export::<ExportLogsServiceRequest>(limits, logs).await);
    assert_replays(limits, &export::<ExportTraceServiceRequest>(limits, traces).await);
    assert_replays(limits, &export::<ExportMetricsServiceRequest>(limits, metrics).await);
}

/// A log record with `attributes`, no times (so the receive time is its observed time) and an all-zero
/// trace id (which validation clears).
fn log_request(attributes: Vec<KeyValue>) -> ExportLogsServiceRequest {
    use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let record = LogRecord { attributes, trace_id: vec![0; 16], ..Default::default() };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![record; 3], ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

#[tokio::test]
async fn what_validation_and_the_receive_time_change_is_made_again_on_replay() {
    let limits =
        Limits { max_attributes: 1, max_attribute_value_length: 4, max_items_per_request: 2 };
    let attributes = vec![attribute("route", "/api/orders"), attribute("method", "GET")];
    let written =
        export::<ExportLogsServiceRequest>(limits, log_request(attributes).encode_to_vec()).await;
    assert_eq!(written.0[0].batch.num_rows(), 2, "one record over the limit");
    assert_replays(limits, &written);
}

#[tokio::test]
async fn a_body_redaction_changed_is_never_logged() {
    let attributes = vec![attribute("password", "hunter2")];
    let limits = Limits::default();
    let (batches, source) =
        export::<ExportLogsServiceRequest>(limits, log_request(attributes).encode_to_vec()).await;
    assert!(source.is_none());
    assert_eq!(batches[0].batch.num_rows(), 3, "its batches are written instead");
}

#[tokio::test]
async fn a_body_with_fields_this_version_does_not_know_is_never_logged() {
    let mut body = log_request(vec![attribute("route", "/")]).encode_to_vec();
    // Field 99, length-delimited: what a newer OTLP version could carry, unseen by redaction.
    body.extend_from_slice(&[0x9a, 0x06, 6]);
    body.extend_from_slice(b"secret");
    let (batches, source) = export::<ExportLogsServiceRequest>(Limits::default(), body).await;
    assert!(source.is_none());
    assert_eq!(batches[0].batch.num_rows(), 3);
}
