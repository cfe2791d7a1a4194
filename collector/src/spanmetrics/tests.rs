use std::sync::Mutex;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampNanosecondType, UInt64Type};
use prometheus_client::registry::Registry;
use sightline_storage::sink::WriteFuture;
use sightline_storage::{BatchSink, Error as StorageError, Table, TableBatch};

use super::aggregate::{BUCKETS, SeriesStats};
use super::*;
use crate::convert::test_support::{boolean, entries, kv, map, primitive, string, text};
use crate::otlp::ExportTraceServiceRequest;
use crate::otlp::common::v1::KeyValue;
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

const MS: u64 = 1_000_000;
/// 2024-01-02T03:04:05Z
const T0: u64 = 1_704_164_645_000_000_000;

/// Keeps what it is given, as storage would.
#[derive(Default)]
struct KeepingSink(Mutex<Vec<TableBatch>>);

impl BatchSink for KeepingSink {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_> {
        self.0.lock().expect("sink lock").extend(batches);
        Box::pin(async { Ok(()) })
    }
}

impl KeepingSink {
    /// The batches of `table` written so far, taken out.
    fn take(&self, table: Table) -> Vec<RecordBatch> {
        let mut kept = self.0.lock().expect("sink lock");
        let (wanted, rest) = kept.drain(..).partition(|batch| batch.table == table);
        *kept = rest;
        wanted.into_iter().map(|batch: TableBatch| batch.batch).collect()
    }
}

/// Refuses every write, as storage does while closed.
struct RefusingSink;

impl BatchSink for RefusingSink {
    fn write(&self, _batches: Vec<TableBatch>) -> WriteFuture<'_> {
        Box::pin(async { Err(StorageError::Closed) })
    }
}

fn span(name: &str, kind: i32, status: i32, start_ns: u64, duration_ns: u64) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: name.to_owned(),
        kind,
        start_time_unix_nano: start_ns,
        end_time_unix_nano: start_ns + duration_ns,
        status: Some(Status { code: status, ..Status::default() }),
        ..Span::default()
    }
}

fn request(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: resource, ..Resource::default() }),
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
}

fn checkout() -> Vec<KeyValue> {
    vec![
        kv("service.name", string("checkout")),
        kv("service.namespace", string("shop")),
        kv("service.instance.id", string("pod-1")),
        kv("host.name", string("node-7")),
        kv("process.pid", string("4242")),
    ]
}

fn aggregator(max_series: usize) -> SpanMetrics {
    SpanMetrics::new(max_series, T0, SpanMetricsCounters::register(&mut Registry::default()))
}

/// The stats of every series of a request, by (span name, kind, status).
fn series_of(
    request: &ExportTraceServiceRequest,
) -> Vec<(String, &'static str, &'static str, u64)> {
    let mut series: Vec<_> = RequestSeries::of(request)
        .series
        .into_iter()
        .map(|(key, stats)| (key.span_name, key.span_kind, key.status_code, stats.count))
        .collect();
    series.sort();
    series
}

#[test]
fn kinds_and_statuses_get_the_connector_names() {
    let spans = (0..=5)
        .map(|kind| span("work", kind, kind % 3, T0, MS))
        .chain([span("work", 2, 2, T0, MS)])
        .collect();
    assert_eq!(
        series_of(&request(checkout(), spans)),
        vec![
            ("work".to_owned(), "SPAN_KIND_CLIENT", "STATUS_CODE_UNSET", 1),
            ("work".to_owned(), "SPAN_KIND_CONSUMER", "STATUS_CODE_ERROR", 1),
            ("work".to_owned(), "SPAN_KIND_INTERNAL", "STATUS_CODE_OK", 1),
            ("work".to_owned(), "SPAN_KIND_PRODUCER", "STATUS_CODE_OK", 1),
            ("work".to_owned(), "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", 2),
            ("work".to_owned(), "SPAN_KIND_UNSPECIFIED", "STATUS_CODE_UNSET", 1),
        ]
    );
    // A span without a status is UNSET.
    let no_status = Span { status: None, ..span("idle", 1, 0, T0, MS) };
    assert_eq!(
        series_of(&request(checkout(), vec![no_status])),
        vec![("idle".to_owned(), "SPAN_KIND_INTERNAL", "STATUS_CODE_UNSET", 1)]
    );
}

#[test]
fn a_duration_on_a_bucket_bound_counts_in_the_bucket_that_bound_closes() {
    let bucket_of = |duration_ns: u64| {
        let mut stats = SeriesStats::default();
        stats.record(duration_ns);
        stats.bucket_counts.iter().position(|count| *count == 1).expect("one bucket counted")
    };
    assert_eq!(bucket_of(0), 0);
    assert_eq!(bucket_of(2 * MS), 0, "2 ms is in (0, 0.002]");
    assert_eq!(bucket_of(2 * MS + 1), 1);
    assert_eq!(bucket_of(10 * MS), 4, "10 ms is in (0.008, 0.01]");
    assert_eq!(bucket_of(10 * MS + 1), 5);
    assert_eq!(bucket_of(1_000 * MS), 10, "1 s is in (0.8, 1]");
    assert_eq!(bucket_of(15_000 * MS), 15, "15 s is in (10, 15]");
    assert_eq!(bucket_of(15_000 * MS + 1), BUCKETS - 1, "past 15 s is the +Inf bucket");
}

#[test]
fn a_span_that_ends_before_it_starts_counts_with_no_duration() {
    let backwards = Span { end_time_unix_nano: T0 - MS, ..span("odd", 2, 0, T0, 0) };
    let series = RequestSeries::of(&request(checkout(), vec![backwards])).series;
    assert_eq!(series[0].1.count, 1);
    assert_eq!(series[0].1.sum_ns, 0);
    assert_eq!(series[0].1.bucket_counts[0], 1);
}

#[tokio::test]
async fn a_flush_writes_one_delta_point_per_series_in_both_tables() {
    let spans = vec![
        span("GET /cart", 2, 1, T0, 3 * MS),
        span("GET /cart", 2, 1, T0, 10 * MS),
        span("GET /cart", 2, 1, T0, 1_500 * MS),
        span("GET /cart", 2, 2, T0, 20_000 * MS),
    ];
    let metrics = aggregator(100);
    metrics.add(RequestSeries::of(&request(checkout(), spans)));
    let sink = KeepingSink::default();
    let flushed_at = T0 + 15_000 * MS;
    assert_eq!(metrics.flush(&sink, flushed_at).await.expect("flush"), 2);

    let calls = sink.take(Table::Metrics);
    assert_eq!(calls.len(), 1);
    let calls = &calls[0];
    assert_eq!(calls.num_rows(), 2);
    // Sorted by span name, kind, then status name.
    for (row, (status, count)) in
        [("STATUS_CODE_ERROR", 1.0), ("STATUS_CODE_OK", 3.0)].iter().enumerate()
    {
        assert_eq!(text(calls, "metric_name", row).as_deref(), Some("traces.span.metrics.calls"));
        assert_eq!(text(calls, "metric_type", row).as_deref(), Some("sum"));
        assert_eq!(text(calls, "temporality", row).as_deref(), Some("delta"));
        assert_eq!(text(calls, "unit", row).as_deref(), Some(""));
        assert!(calls.column_by_name("is_monotonic").expect("column").as_boolean().value(row));
        assert_eq!(primitive::<Float64Type>(calls, "value", row), Some(*count));
        assert_eq!(
            primitive::<TimestampNanosecondType>(calls, "start_timestamp", row),
            Some(T0 as i64)
        );
        assert_eq!(
            primitive::<TimestampNanosecondType>(calls, "timestamp", row),
            Some(flushed_at as i64)
        );
        assert_eq!(text(calls, "service_name", row).as_deref(), Some("checkout"));
        assert_eq!(
            map(calls, "attributes", row),
            entries(&[
                ("service.name", Some("checkout")),
                ("span.name", Some("GET /cart")),
                ("span.kind", Some("SPAN_KIND_SERVER")),
                ("status.code", Some(status)),
            ])
        );
        // Only what decides `job` and `instance`: host and process attributes would multiply series.
        assert_eq!(
            map(calls, "resource_attributes", row),
            entries(&[
                ("service.name", Some("checkout")),
                ("service.namespace", Some("shop")),
                ("service.instance.id", Some("pod-1")),
            ])
        );
        assert_eq!(text(calls, "scope_name", row).as_deref(), Some("sightline.spanmetrics"));
    }

    let durations = sink.take(Table::MetricsHistogram);
    let durations = &durations[0];
    assert_eq!(durations.num_rows(), 2);
    assert_eq!(text(durations, "metric_name", 0).as_deref(), Some("traces.span.metrics.duration"));
    assert_eq!(text(durations, "metric_type", 0).as_deref(), Some("histogram"));
    assert_eq!(text(durations, "temporality", 0).as_deref(), Some("delta"));
    assert_eq!(text(durations, "unit", 0).as_deref(), Some("s"));
    assert_eq!(primitive::<UInt64Type>(durations, "count", 1), Some(3));
    assert_eq!(primitive::<Float64Type>(durations, "sum", 1), Some(1.513));
    assert_eq!(primitive::<Float64Type>(durations, "min", 1), Some(0.003));
    assert_eq!(primitive::<Float64Type>(durations, "max", 1), Some(1.5));
    let bounds =
        durations.column_by_name("explicit_bounds").expect("column").as_list::<i32>().value(0);
    assert_eq!(
        bounds.as_primitive::<Float64Type>().values().to_vec(),
        vec![
            0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0,
            15.0
        ]
    );
    let buckets = |row| {
        let counts =
            durations.column_by_name("bucket_counts").expect("column").as_list::<i32>().value(row);
        counts.as_primitive::<UInt64Type>().values().to_vec()
    };
    // 20 s is past the last bound.
    assert_eq!(buckets(0), vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // 3 ms in (0.002, 0.004], 10 ms in (0.008, 0.01], 1.5 s in (1.4, 2].
    assert_eq!(buckets(1), vec![0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(
        primitive::<TimestampNanosecondType>(durations, "start_timestamp", 1),
        Some(T0 as i64)
    );
}

#[tokio::test]
async fn each_flush_covers_the_time_since_the_previous_one_and_quiet_series_write_nothing() {
    let metrics = aggregator(100);
    let sink = KeepingSink::default();
    metrics.add(RequestSeries::of(&request(checkout(), vec![span("a", 2, 0, T0, MS)])));
    let first = T0 + 15_000 * MS;
    assert_eq!(metrics.flush(&sink, first).await.expect("flush"), 1);
    sink.take(Table::Metrics);
    sink.take(Table::MetricsHistogram);

    // Nothing happened in the second interval: nothing is written.
    let second = first + 15_000 * MS;
    assert_eq!(metrics.flush(&sink, second).await.expect("flush"), 0);
    assert!(sink.0.lock().expect("sink lock").is_empty());

    // Series "a" got nothing in the third interval, "b" one span: only "b", starting at the second flush.
    metrics.add(RequestSeries::of(&request(checkout(), vec![span("b", 2, 0, T0, MS)])));
    let third = second + 15_000 * MS;
    assert_eq!(metrics.flush(&sink, third).await.expect("flush"), 1);
    let calls = &sink.take(Table::Metrics)[0];
    assert_eq!(calls.num_rows(), 1);
    assert_eq!(map(calls, "attributes", 0)[1], ("span.name".to_owned(), Some("b".to_owned())));
    assert_eq!(primitive::<Float64Type>(calls, "value", 0), Some(1.0));
    assert_eq!(
        primitive::<TimestampNanosecondType>(calls, "start_timestamp", 0),
        Some(second as i64)
    );
    assert_eq!(primitive::<TimestampNanosecondType>(calls, "timestamp", 0), Some(third as i64));
}

#[tokio::test]
async fn series_past_the_limit_are_counted_in_one_overflow_series() {
    let metrics = aggregator(2);
    let spans = ["a", "b", "c", "d", "d"].map(|name| span(name, 2, 0, T0, MS)).to_vec();
    // Added one request per series, in order, so that "a" and "b" are the two kept series.
    for span in spans {
        metrics.add(RequestSeries::of(&request(checkout(), vec![span])));
    }
    let sink = KeepingSink::default();
    assert_eq!(metrics.flush(&sink, T0 + 15_000 * MS).await.expect("flush"), 3);
    let calls = &sink.take(Table::Metrics)[0];
    let names: Vec<Option<String>> = (0..calls.num_rows())
        .map(|row| {
            map(calls, "attributes", row)
                .into_iter()
                .find(|(key, _)| key == "span.name")
                .and_then(|(_, value)| value)
        })
        .collect();
    assert_eq!(names, vec![Some("a".to_owned()), Some("b".to_owned()), None]);
    assert_eq!(map(calls, "attributes", 2), entries(&[("otel.metric.overflow", Some("true"))]));
    assert_eq!(map(calls, "resource_attributes", 2), entries(&[]));
    assert_eq!(text(calls, "service_name", 2).as_deref(), Some("unknown_service"));
    assert_eq!(primitive::<Float64Type>(calls, "value", 2), Some(3.0));

    // The limit is per interval: the next one starts empty.
    metrics.add(RequestSeries::of(&request(checkout(), vec![span("c", 2, 0, T0, MS)])));
    assert_eq!(metrics.flush(&sink, T0 + 30_000 * MS).await.expect("flush"), 1);
    let calls = &sink.take(Table::Metrics)[0];
    assert_eq!(map(calls, "attributes", 0)[1], ("span.name".to_owned(), Some("c".to_owned())));
}

#[tokio::test]
async fn a_refused_flush_keeps_its_counts_for_the_next_one() {
    let metrics = aggregator(100);
    metrics.add(RequestSeries::of(&request(checkout(), vec![span("a", 2, 2, T0, MS)])));
    let refused_at = T0 + 15_000 * MS;
    assert!(metrics.flush(&RefusingSink, refused_at).await.is_err());

    metrics.add(RequestSeries::of(&request(checkout(), vec![span("a", 2, 2, T0, 3 * MS)])));
    let sink = KeepingSink::default();
    let flushed_at = refused_at + 15_000 * MS;
    assert_eq!(metrics.flush(&sink, flushed_at).await.expect("flush"), 1);
    let calls = &sink.take(Table::Metrics)[0];
    assert_eq!(primitive::<Float64Type>(calls, "value", 0), Some(2.0));
    // One point over both intervals.
    assert_eq!(primitive::<TimestampNanosecondType>(calls, "start_timestamp", 0), Some(T0 as i64));
    assert_eq!(
        primitive::<TimestampNanosecondType>(calls, "timestamp", 0),
        Some(flushed_at as i64)
    );
    let durations = &sink.take(Table::MetricsHistogram)[0];
    assert_eq!(primitive::<UInt64Type>(durations, "count", 0), Some(2));
    assert_eq!(primitive::<Float64Type>(durations, "min", 0), Some(0.001));
    assert_eq!(primitive::<Float64Type>(durations, "max", 0), Some(0.003));
}

#[tokio::test]
async fn a_resource_without_service_name_is_unknown_service_and_non_string_values_are_dropped() {
    let resource = vec![kv("service.instance.id", boolean(true)), kv("k8s.pod.name", string("p"))];
    let metrics = aggregator(100);
    metrics.add(RequestSeries::of(&request(resource, vec![span("a", 2, 0, T0, MS)])));
    let sink = KeepingSink::default();
    metrics.flush(&sink, T0 + MS).await.expect("flush");
    let calls = &sink.take(Table::Metrics)[0];
    assert_eq!(text(calls, "service_name", 0).as_deref(), Some("unknown_service"));
    assert_eq!(
        map(calls, "attributes", 0)[0],
        ("service.name".to_owned(), Some("unknown_service".to_owned()))
    );
    assert_eq!(map(calls, "resource_attributes", 0), entries(&[]));
}
