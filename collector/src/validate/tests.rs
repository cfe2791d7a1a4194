use super::*;
use crate::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Link};
use crate::otlp::{ExportMetricsServiceRequest, ExportTraceServiceRequest};

fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn logs_request(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn spans_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn valid_span() -> Span {
    Span { trace_id: vec![1; 16], span_id: vec![2; 8], name: "GET /".into(), ..Default::default() }
}

fn metrics_request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn gauge(points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: "queue.depth".into(),
        data: Some(Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    }
}

fn int_point(value: i64) -> NumberDataPoint {
    NumberDataPoint {
        time_unix_nano: 1,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

#[test]
fn invalid_log_record_is_rejected_alone_with_its_path() {
    let mut request = logs_request(vec![
        LogRecord { trace_id: vec![1; 15], ..Default::default() },
        LogRecord { trace_id: vec![1; 16], span_id: vec![2; 8], ..Default::default() },
        LogRecord::default(),
    ]);
    let report = logs(&mut request, &Limits::default());
    assert_eq!((report.accepted, report.rejected), (2, 1));
    assert_eq!(
        report.error_message(),
        "resourceLogs[0].scopeLogs[0].logRecords[0]: trace_id must be 16 bytes, got 15"
    );
    assert_eq!(request.resource_logs[0].scope_logs[0].log_records.len(), 2);
}

#[test]
fn all_zero_log_ids_mean_no_trace_context() {
    let mut request = logs_request(vec![LogRecord {
        trace_id: vec![0; 16],
        span_id: vec![0; 8],
        ..Default::default()
    }]);
    let report = logs(&mut request, &Limits::default());
    assert_eq!(report.rejected, 0);
    let record = &request.resource_logs[0].scope_logs[0].log_records[0];
    assert!(record.trace_id.is_empty() && record.span_id.is_empty());
}

#[test]
fn spans_need_nonzero_ids_of_the_right_length_and_known_enums() {
    let mut request = spans_request(vec![
        valid_span(),
        Span { trace_id: vec![0; 16], ..valid_span() },
        Span { span_id: vec![], ..valid_span() },
        Span { kind: 9, ..valid_span() },
        Span {
            links: vec![Link { trace_id: vec![1; 3], span_id: vec![1; 8], ..Default::default() }],
            ..valid_span()
        },
        Span { start_time_unix_nano: u64::MAX, ..valid_span() },
    ]);
    let report = traces(&mut request, &Limits::default());
    assert_eq!((report.accepted, report.rejected), (1, 5));
    let message = report.error_message();
    for expected in [
        "spans[1]: trace_id is all zeroes",
        "spans[2]: span_id is missing",
        "spans[3]: unknown span kind 9",
        "spans[4]: links[0].trace_id must be 16 bytes, got 3",
        "spans[5]: start_time_unix_nano 18446744073709551615 is past the year 2262",
    ] {
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn error_message_keeps_five_reasons_and_counts_the_rest() {
    let mut request =
        spans_request((0..8).map(|_| Span { span_id: vec![], ..valid_span() }).collect());
    let report = traces(&mut request, &Limits::default());
    assert_eq!(report.rejected, 8);
    assert!(report.error_message().ends_with("; and 3 more"), "{}", report.error_message());
}

#[test]
fn attributes_past_the_limit_are_dropped_and_counted_on_the_item() {
    let limits = Limits { max_attributes: 2, ..Limits::default() };
    let attributes = (0..5).map(|i| string_attribute(&format!("k{i}"), "v")).collect();
    let mut request = logs_request(vec![LogRecord {
        attributes,
        dropped_attributes_count: 1,
        ..Default::default()
    }]);
    let report = logs(&mut request, &limits);
    let record = &request.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(record.attributes.len(), 2);
    assert_eq!(record.dropped_attributes_count, 4);
    assert_eq!(report.attributes_dropped, 3);
}

#[test]
fn long_values_are_truncated_at_a_character_boundary_even_when_nested() {
    let limits = Limits { max_attribute_value_length: 4, ..Limits::default() };
    let nested = AnyValue {
        value: Some(Value::ArrayValue(crate::otlp::common::v1::ArrayValue {
            values: vec![AnyValue { value: Some(Value::StringValue("abcdefgh".into())) }],
        })),
    };
    let mut request = logs_request(vec![LogRecord {
        attributes: vec![
            string_attribute("a", "ééé"),
            KeyValue { key: "b".into(), value: Some(nested), ..Default::default() },
        ],
        ..Default::default()
    }]);
    let report = logs(&mut request, &limits);
    let attributes = &request.resource_logs[0].scope_logs[0].log_records[0].attributes;
    assert_eq!(
        attributes[0].value,
        Some(AnyValue { value: Some(Value::StringValue("éé".into())) })
    );
    let Some(Value::ArrayValue(array)) =
        &attributes[1].value.as_ref().and_then(|v| v.value.clone())
    else {
        panic!("array expected")
    };
    assert_eq!(array.values[0].value, Some(Value::StringValue("abcd".into())));
    assert_eq!(report.values_truncated, 2);
}

#[test]
fn items_past_the_request_limit_are_rejected() {
    let limits = Limits { max_items_per_request: 2, ..Limits::default() };
    let mut request = spans_request((0..5).map(|_| valid_span()).collect());
    let report = traces(&mut request, &limits);
    assert_eq!((report.accepted, report.rejected, report.over_item_limit), (2, 3, 3));
    assert!(report.error_message().contains("more than 2 items"));
}

#[test]
fn data_point_without_value_is_rejected_alone() {
    let mut request =
        metrics_request(vec![gauge(vec![int_point(7), NumberDataPoint::default(), int_point(8)])]);
    let report = metrics(&mut request, &Limits::default());
    assert_eq!((report.accepted, report.rejected), (2, 1));
    assert_eq!(
        report.error_message(),
        "resourceMetrics[0].scopeMetrics[0].metrics[0].dataPoints[1]: data point has no value"
    );
}

#[test]
fn histogram_needs_one_more_bucket_count_than_bounds() {
    // The shape of the histogram point in the OTLP project's own metrics.json example.
    let bad = HistogramDataPoint {
        count: 2,
        bucket_counts: vec![1, 1, 0],
        explicit_bounds: vec![1.0],
        ..Default::default()
    };
    let good = HistogramDataPoint {
        count: 2,
        bucket_counts: vec![1, 1],
        explicit_bounds: vec![1.0],
        ..Default::default()
    };
    let metric = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![bad, good],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let mut request = metrics_request(vec![metric]);
    let report = metrics(&mut request, &Limits::default());
    assert_eq!((report.accepted, report.rejected), (1, 1));
    assert!(report.error_message().contains("3 bucket counts for 1 explicit bounds"));
}

#[test]
fn unspecified_temporality_rejects_every_point_of_the_metric() {
    let metric = Metric {
        name: "requests".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![int_point(1), int_point(2)],
            aggregation_temporality: 0,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let mut request = metrics_request(vec![metric, gauge(vec![int_point(3)])]);
    let report = metrics(&mut request, &Limits::default());
    assert_eq!((report.accepted, report.rejected), (1, 2));
}

#[test]
fn data_point_over_the_attribute_limit_is_rejected_not_trimmed() {
    let limits = Limits { max_attributes: 1, ..Limits::default() };
    let point = NumberDataPoint {
        attributes: vec![string_attribute("a", "1"), string_attribute("b", "2")],
        ..int_point(1)
    };
    let mut request = metrics_request(vec![gauge(vec![point, int_point(2)])]);
    let report = metrics(&mut request, &limits);
    assert_eq!((report.accepted, report.rejected), (1, 1));
}

#[test]
fn empty_request_accepts_and_rejects_nothing() {
    let report = logs(&mut ExportLogsServiceRequest::default(), &Limits::default());
    assert_eq!(report, Report::default());
    assert_eq!(report.error_message(), "");
}
