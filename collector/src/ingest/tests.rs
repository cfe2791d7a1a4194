//! The request bodies the WAL logs in place of batches: which are logged, and that replay makes the batches
//! that were written with them.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use prometheus_client::registry::Registry;
use proptest::prelude::*;
use prost::Message;
use sightline_storage::sink::WriteFuture;

use super::*;
use crate::auth::IngestAuth;
use crate::decode::json::{logs_from_json, metrics_from_json, traces_from_json};
use crate::otlp::arbitrary;
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

/// Exports `body` as OTLP/protobuf; returns what reached the sink, if anything did.
async fn try_export<R: ExportRequest>(
    limits: Limits,
    body: Vec<u8>,
) -> Option<(Vec<TableBatch>, Option<Source>)> {
    let (pipeline, sink) = pipeline(limits);
    let decoded = pipeline.decode_protobuf::<R>(Bytes::from(body)).unwrap();
    pipeline.export(decoded).await.unwrap();
    let mut writes = sink.writes.lock().unwrap();
    assert!(writes.len() <= 1, "one request, one write");
    writes.pop()
}

/// Exports `body` as OTLP/protobuf; returns what reached the sink.
async fn export<R: ExportRequest>(
    limits: Limits,
    body: Vec<u8>,
) -> (Vec<TableBatch>, Option<Source>) {
    try_export::<R>(limits, body).await.expect("a write")
}

fn example(name: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/otlp-examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Batches in a comparable form.
type Plain = Vec<(sightline_storage::Table, arrow_array::RecordBatch)>;

fn plain(batches: &[TableBatch]) -> Plain {
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
    let stored = convert::test_support::map(&batches[0].batch, "attributes", 0);
    assert_eq!(stored, [("password".to_owned(), Some("[REDACTED]".to_owned()))], "redacted");
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

/// A time validation accepts.
fn fix_time(unix_nano: &mut u64) {
    *unix_nano %= 1 << 62;
}

/// A point's time and start time validation accepts.
fn fix_times(time: &mut u64, start: &mut u64) {
    fix_time(time);
    fix_time(start);
}

/// An id of `len` bytes, not all zero.
fn fix_id(id: &mut Vec<u8>, len: usize) {
    id.resize(len, 0);
    id[0] |= 1;
}

/// An id that is absent or of `len` bytes, not all zero.
fn fix_optional_id(id: &mut Vec<u8>, len: usize) {
    if !id.is_empty() {
        fix_id(id, len);
    }
}

/// Arbitrary requests put right where validation would reject their items (ids, times, enums, histogram
/// arithmetic), so that most items are stored and the replay comparison below is seldom vacuous. Attribute
/// counts and value lengths stay as they are: the test's limits trim them.
fn fixed_logs(mut request: ExportLogsServiceRequest) -> ExportLogsServiceRequest {
    let scopes = request.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs);
    for record in scopes.flat_map(|s| &mut s.log_records) {
        fix_time(&mut record.time_unix_nano);
        fix_time(&mut record.observed_time_unix_nano);
        fix_optional_id(&mut record.trace_id, 16);
        fix_optional_id(&mut record.span_id, 8);
    }
    request
}

fn fixed_traces(mut request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    let scopes = request.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans);
    for span in scopes.flat_map(|s| &mut s.spans) {
        fix_id(&mut span.trace_id, 16);
        fix_id(&mut span.span_id, 8);
        fix_optional_id(&mut span.parent_span_id, 8);
        fix_time(&mut span.start_time_unix_nano);
        fix_time(&mut span.end_time_unix_nano);
        span.kind = span.kind.rem_euclid(6);
        if let Some(status) = &mut span.status {
            status.code = status.code.rem_euclid(3);
        }
        span.events.iter_mut().for_each(|event| fix_time(&mut event.time_unix_nano));
        for link in &mut span.links {
            fix_id(&mut link.trace_id, 16);
            fix_id(&mut link.span_id, 8);
        }
    }
    request
}

fn fix_number_point(point: &mut crate::otlp::metrics::v1::NumberDataPoint) {
    use crate::otlp::metrics::v1::number_data_point::Value;
    fix_times(&mut point.time_unix_nano, &mut point.start_time_unix_nano);
    point.value.get_or_insert(Value::AsInt(7));
    point.exemplars.clear();
}

fn fixed_metrics(mut request: ExportMetricsServiceRequest) -> ExportMetricsServiceRequest {
    use crate::otlp::metrics::v1::metric::Data;
    let scopes = request.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics);
    let temporality = |t: &mut i32| *t = 1 + t.rem_euclid(2);
    for metric in scopes.flat_map(|s| &mut s.metrics) {
        match &mut metric.data {
            None => {}
            Some(Data::Gauge(gauge)) => gauge.data_points.iter_mut().for_each(fix_number_point),
            Some(Data::Sum(sum)) => {
                temporality(&mut sum.aggregation_temporality);
                sum.data_points.iter_mut().for_each(fix_number_point);
            }
            Some(Data::Histogram(histogram)) => {
                temporality(&mut histogram.aggregation_temporality);
                for point in &mut histogram.data_points {
                    fix_times(&mut point.time_unix_nano, &mut point.start_time_unix_nano);
                    point.explicit_bounds = vec![1.0, 10.0];
                    point.bucket_counts = vec![1, 2, 3];
                    point.count = 6;
                    point.exemplars.clear();
                }
            }
            Some(Data::ExponentialHistogram(histogram)) => {
                temporality(&mut histogram.aggregation_temporality);
                for point in &mut histogram.data_points {
                    fix_times(&mut point.time_unix_nano, &mut point.start_time_unix_nano);
                    point.scale = point.scale.rem_euclid(21);
                    point.zero_threshold = point.zero_threshold.abs();
                    (point.positive, point.negative) = (None, None);
                    point.count = point.zero_count;
                    point.exemplars.clear();
                }
            }
            Some(Data::Summary(summary)) => {
                for point in &mut summary.data_points {
                    fix_times(&mut point.time_unix_nano, &mut point.start_time_unix_nano);
                    point.quantile_values.iter_mut().for_each(|q| q.quantile = 0.5);
                }
            }
        }
    }
    request
}

/// The batches of a write and of the replay of its logged body, if it logged one, for comparison.
fn written_and_replayed<R: ExportRequest>(limits: Limits, request: &R) -> Option<(Plain, Plain)> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (batches, source) = runtime.block_on(try_export::<R>(limits, request.encode_to_vec()))?;
    let source = source?;
    let replayed = Replay::new(limits).decode(source.format, source.stamp, &source.bytes).unwrap();
    Some((plain(&batches), plain(&replayed)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary requests (every field of every message), under the default limits and under small ones that
    /// make validation trim and reject: whenever a body is logged, replay makes exactly the batches written.
    #[test]
    fn a_logged_body_replays_to_the_batches_written_with_it(
        logs in arbitrary::logs_request().prop_map(fixed_logs),
        traces in arbitrary::traces_request().prop_map(fixed_traces),
        metrics in arbitrary::metrics_request().prop_map(fixed_metrics),
        max_attributes in 1usize..4,
        max_attribute_value_length in 1usize..8,
        max_items_per_request in 1u64..6,
    ) {
        let small = Limits { max_attributes, max_attribute_value_length, max_items_per_request };
        for limits in [Limits::default(), small] {
            if let Some((written, replayed)) = written_and_replayed(limits, &logs) {
                prop_assert_eq!(written, replayed);
            }
            if let Some((written, replayed)) = written_and_replayed(limits, &traces) {
                prop_assert_eq!(written, replayed);
            }
            if let Some((written, replayed)) = written_and_replayed(limits, &metrics) {
                prop_assert_eq!(written, replayed);
            }
        }
    }
}
