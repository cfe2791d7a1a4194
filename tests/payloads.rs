//! Realistic OTLP requests, built with the generated protobuf types, covering every field and point type.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

/// 2024-01-02T03:04:05Z
pub const T0: u64 = 1_704_164_645_000_000_000;

pub fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, Value::StringValue(value.into()))
}

pub fn attribute(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

pub fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![string("service.name", service), string("host.name", "web-1")],
        dropped_attributes_count: 1,
        ..Default::default()
    }
}

pub fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "checkout".into(),
        version: "2.1.0".into(),
        attributes: vec![string("scope.kind", "library")],
        dropped_attributes_count: 0,
    }
}

pub fn log_record(i: u64) -> LogRecord {
    LogRecord {
        time_unix_nano: T0 + i,
        observed_time_unix_nano: T0 + i + 1_000,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue { value: Some(Value::StringValue(format!("payment {i} declined"))) }),
        attributes: vec![
            string("http.route", "/pay"),
            attribute("http.status_code", Value::IntValue(402)),
            attribute("retry", Value::BoolValue(false)),
            attribute("ratio", Value::DoubleValue(0.25)),
            attribute(
                "tags",
                Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue { value: Some(Value::StringValue("a".into())) }],
                }),
            ),
        ],
        dropped_attributes_count: 2,
        flags: 1,
        trace_id: vec![0x5b; 16],
        span_id: vec![0xee; 8],
        event_name: "payment.declined".into(),
    }
}

pub fn logs_request(records: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource("payments")),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope()),
                log_records: (0..records as u64).map(log_record).collect(),
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    }
}

pub fn span(i: u64) -> Span {
    Span {
        trace_id: vec![0x5b; 16],
        span_id: [0x10, 0, 0, 0, 0, 0, 0, i as u8].to_vec(),
        trace_state: "vendor=1".into(),
        parent_span_id: vec![0xee; 8],
        flags: 0x301,
        name: "POST /pay".into(),
        kind: 2,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 1_500_000 + i,
        attributes: vec![
            string("http.request.method", "POST"),
            attribute("http.response.status_code", Value::IntValue(500)),
        ],
        dropped_attributes_count: 3,
        events: vec![span::Event {
            time_unix_nano: T0 + 1_000,
            name: "exception".into(),
            attributes: vec![string("exception.type", "CardDeclined")],
            dropped_attributes_count: 1,
        }],
        dropped_events_count: 4,
        links: vec![span::Link {
            trace_id: vec![0x7a; 16],
            span_id: vec![0x11; 8],
            trace_state: "other=2".into(),
            attributes: vec![string("link.kind", "batch")],
            dropped_attributes_count: 5,
            flags: 0x100,
        }],
        dropped_links_count: 6,
        status: Some(Status { message: "card declined".into(), code: 2 }),
    }
}

pub fn traces_request(spans: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource("payments")),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope()),
                spans: (0..spans as u64).map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn exemplar() -> Exemplar {
    Exemplar {
        filtered_attributes: vec![string("user.tier", "gold")],
        time_unix_nano: T0 + 5,
        span_id: vec![0xee; 8],
        trace_id: vec![0x5b; 16],
        value: Some(exemplar::Value::AsInt(3)),
    }
}

/// One metric of each kind: gauge, monotonic delta sum, cumulative up-down sum, histogram, exponential
/// histogram and summary.
pub fn metrics_request() -> ExportMetricsServiceRequest {
    let number = |value| NumberDataPoint {
        attributes: vec![string("queue", "emails")],
        start_time_unix_nano: T0 - 60_000_000_000,
        time_unix_nano: T0,
        exemplars: vec![exemplar()],
        flags: 0,
        value: Some(value),
    };
    let metric = |name: &str, unit: &str, data| Metric {
        name: name.into(),
        description: format!("{name} description"),
        unit: unit.into(),
        metadata: vec![string("origin", "test")],
        data: Some(data),
    };
    let metrics = vec![
        metric(
            "queue.depth",
            "{message}",
            Data::Gauge(Gauge {
                data_points: vec![number(number_data_point::Value::AsDouble(12.5))],
            }),
        ),
        metric(
            "jobs.processed",
            "{job}",
            Data::Sum(Sum {
                data_points: vec![number(number_data_point::Value::AsInt(9_007_199_254_740_993))],
                aggregation_temporality: 1,
                is_monotonic: true,
            }),
        ),
        metric(
            "jobs.active",
            "{job}",
            Data::Sum(Sum {
                data_points: vec![number(number_data_point::Value::AsInt(-3))],
                aggregation_temporality: 2,
                is_monotonic: false,
            }),
        ),
        metric(
            "http.server.request.duration",
            "s",
            Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: vec![string("http.route", "/pay")],
                    start_time_unix_nano: T0 - 60_000_000_000,
                    time_unix_nano: T0,
                    count: 6,
                    sum: Some(2.5),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![0.1, 1.0],
                    exemplars: vec![exemplar()],
                    flags: 0,
                    min: Some(0.05),
                    max: Some(1.7),
                }],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "rpc.duration",
            "ms",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    attributes: vec![string("rpc.method", "Charge")],
                    start_time_unix_nano: T0 - 60_000_000_000,
                    time_unix_nano: T0,
                    count: 7,
                    sum: Some(40.0),
                    scale: 3,
                    zero_count: 1,
                    positive: Some(Buckets { offset: -2, bucket_counts: vec![1, 2, 1] }),
                    negative: Some(Buckets { offset: 1, bucket_counts: vec![2] }),
                    flags: 0,
                    exemplars: vec![],
                    min: Some(-4.0),
                    max: Some(20.0),
                    zero_threshold: 0.001,
                }],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "db.latency",
            "ms",
            Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    attributes: vec![string("db.system", "postgresql")],
                    start_time_unix_nano: T0 - 60_000_000_000,
                    time_unix_nano: T0,
                    count: 10,
                    sum: 55.0,
                    quantile_values: vec![
                        ValueAtQuantile { quantile: 0.5, value: 4.0 },
                        ValueAtQuantile { quantile: 0.99, value: 12.0 },
                    ],
                    flags: 1,
                }],
            }),
        ),
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource("workers")),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope()),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}
