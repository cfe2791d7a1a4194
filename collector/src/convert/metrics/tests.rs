use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch, StructArray};

use super::*;
use crate::convert::test_support::*;
use crate::otlp::metrics::v1::exemplar;
use crate::otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::v1::summary_data_point::ValueAtQuantile;
use crate::otlp::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};

const TIME: u64 = 1_544_712_660_300_000_000;
const START: u64 = 1_544_712_660_000_000_000;

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(test_resource()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(test_scope()),
                metrics,
                schema_url: "https://scope".to_string(),
            }],
            schema_url: "https://resource".to_string(),
        }],
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.to_string(),
        description: format!("I'm {name}"),
        unit: "ms".to_string(),
        metadata: vec![kv("meta", string("data"))],
        data: Some(data),
    }
}

fn exemplar() -> Exemplar {
    Exemplar {
        filtered_attributes: vec![kv("filtered", boolean(true))],
        time_unix_nano: TIME - 1,
        span_id: vec![0xAB; 8],
        trace_id: vec![0xCD; 16],
        value: Some(exemplar::Value::AsInt(7)),
    }
}

fn number_point(value: Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("my.counter.attr", string("some value"))],
        start_time_unix_nano: START,
        time_unix_nano: TIME,
        exemplars: vec![exemplar()],
        flags: 1,
        value: Some(value),
    }
}

fn batches(request: &ExportMetricsServiceRequest) -> Vec<TableBatch> {
    let batches = metrics_to_arrow(request).expect("converts");
    for batch in &batches {
        assert_eq!(batch.batch.schema(), batch.table.schema(), "{}", batch.table);
        assert_columns_match_schema(&batch.batch);
    }
    batches
}

fn only_batch(request: &ExportMetricsServiceRequest, table: Table) -> RecordBatch {
    let batches = batches(request);
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].table, table);
    batches[0].batch.clone()
}

fn struct_list(batch: &RecordBatch, name: &str, row: usize) -> StructArray {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    column.as_list::<i32>().value(row).as_struct().clone()
}

fn list<T: arrow_array::ArrowPrimitiveType>(
    batch: &RecordBatch,
    name: &str,
    row: usize,
) -> Vec<T::Native> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    column.as_list::<i32>().value(row).as_primitive::<T>().values().to_vec()
}

/// Checks the identity columns of `row`.
fn assert_identity(
    batch: &RecordBatch,
    row: usize,
    name: &str,
    metric_type: &str,
    temporality: Option<&str>,
) {
    let ts = |column| primitive::<TimestampNanosecondType>(batch, column, row);
    assert_eq!(ts("timestamp"), Some(TIME as i64));
    assert_eq!(ts("start_timestamp"), Some(START as i64));
    assert_eq!(text(batch, "metric_name", row).as_deref(), Some(name));
    assert_eq!(text(batch, "metric_description", row), Some(format!("I'm {name}")));
    assert_eq!(text(batch, "metric_type", row).as_deref(), Some(metric_type));
    assert_eq!(text(batch, "temporality", row).as_deref(), temporality);
    assert_eq!(text(batch, "unit", row).as_deref(), Some("ms"));
    assert_eq!(text(batch, "service_name", row).as_deref(), Some("my.service"));
    assert_eq!(primitive::<UInt32Type>(batch, "flags", row), Some(1));
    assert_eq!(map(batch, "metric_metadata", row), entries(&[("meta", Some("data"))]));
    assert_test_origin(batch, row);
}

fn assert_exemplar(batch: &RecordBatch, row: usize) {
    let exemplars = struct_list(batch, "exemplars", row);
    assert_eq!(exemplars.len(), 1);
    let field = |name| exemplars.column_by_name(name).unwrap_or_else(|| panic!("no {name}"));
    let time = field("time").as_primitive::<TimestampNanosecondType>().value(0);
    assert_eq!(time, TIME as i64 - 1);
    assert_eq!(field("value").as_primitive::<Float64Type>().value(0), 7.0);
    assert_eq!(field("value_int").as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(field("trace_id").as_string::<i32>().value(0), "cd".repeat(16));
    assert_eq!(field("span_id").as_string::<i32>().value(0), "ab".repeat(8));
    assert_eq!(
        map_entries(field("filtered_attributes").as_map(), 0),
        entries(&[("filtered", Some("true"))])
    );
}

#[test]
fn gauge_and_sum_points() {
    let sum = Sum {
        data_points: vec![number_point(Value::AsInt(5))],
        aggregation_temporality: 1,
        is_monotonic: true,
    };
    let gauge = Gauge { data_points: vec![number_point(Value::AsDouble(10.5))] };
    let request =
        request(vec![metric("my.counter", Data::Sum(sum)), metric("my.gauge", Data::Gauge(gauge))]);
    let batch = only_batch(&request, Table::Metrics);
    assert_eq!(batch.num_rows(), 2);
    assert_identity(&batch, 0, "my.counter", "sum", Some("delta"));
    assert_identity(&batch, 1, "my.gauge", "gauge", None);
    assert_eq!(map(&batch, "attributes", 0), entries(&[("my.counter.attr", Some("some value"))]));
    let is_monotonic = batch.column_by_name("is_monotonic").expect("is_monotonic").as_boolean();
    assert!(is_monotonic.value(0));
    assert!(is_monotonic.is_null(1));
    assert_eq!(primitive::<Float64Type>(&batch, "value", 0), Some(5.0));
    assert_eq!(primitive::<Int64Type>(&batch, "value_int", 0), Some(5));
    assert_eq!(primitive::<Float64Type>(&batch, "value", 1), Some(10.5));
    assert_eq!(primitive::<Int64Type>(&batch, "value_int", 1), None);
    assert_exemplar(&batch, 0);
    assert_exemplar(&batch, 1);
}

#[test]
fn histogram_points() {
    let point = HistogramDataPoint {
        attributes: vec![kv("route", string("/"))],
        start_time_unix_nano: START,
        time_unix_nano: TIME,
        count: 3,
        sum: Some(3.5),
        bucket_counts: vec![1, 2],
        explicit_bounds: vec![1.0],
        exemplars: vec![exemplar()],
        flags: 1,
        min: Some(0.5),
        max: None,
    };
    let histogram = Histogram { data_points: vec![point], aggregation_temporality: 2 };
    let batch = only_batch(
        &request(vec![metric("my.histogram", Data::Histogram(histogram))]),
        Table::MetricsHistogram,
    );
    assert_identity(&batch, 0, "my.histogram", "histogram", Some("cumulative"));
    assert_eq!(map(&batch, "attributes", 0), entries(&[("route", Some("/"))]));
    assert_eq!(primitive::<UInt64Type>(&batch, "count", 0), Some(3));
    assert_eq!(primitive::<Float64Type>(&batch, "sum", 0), Some(3.5));
    assert_eq!(primitive::<Float64Type>(&batch, "min", 0), Some(0.5));
    assert_eq!(primitive::<Float64Type>(&batch, "max", 0), None);
    assert_eq!(list::<Float64Type>(&batch, "explicit_bounds", 0), vec![1.0]);
    assert_eq!(list::<UInt64Type>(&batch, "bucket_counts", 0), vec![1, 2]);
    assert_exemplar(&batch, 0);
}

#[test]
fn exponential_histogram_points() {
    let point = ExponentialHistogramDataPoint {
        attributes: vec![],
        start_time_unix_nano: START,
        time_unix_nano: TIME,
        count: 6,
        sum: Some(12.0),
        scale: 3,
        zero_count: 1,
        positive: Some(Buckets { offset: -2, bucket_counts: vec![2, 3] }),
        negative: None,
        flags: 1,
        exemplars: vec![exemplar()],
        min: Some(0.0),
        max: Some(4.0),
        zero_threshold: 0.001,
    };
    let histogram = ExponentialHistogram { data_points: vec![point], aggregation_temporality: 0 };
    let request = request(vec![metric("my.exp", Data::ExponentialHistogram(histogram))]);
    let batch = only_batch(&request, Table::MetricsExpHistogram);
    assert_identity(&batch, 0, "my.exp", "exponential_histogram", None);
    assert_eq!(primitive::<UInt64Type>(&batch, "count", 0), Some(6));
    assert_eq!(primitive::<Float64Type>(&batch, "sum", 0), Some(12.0));
    assert_eq!(primitive::<Float64Type>(&batch, "min", 0), Some(0.0));
    assert_eq!(primitive::<Float64Type>(&batch, "max", 0), Some(4.0));
    assert_eq!(primitive::<Int32Type>(&batch, "scale", 0), Some(3));
    assert_eq!(primitive::<UInt64Type>(&batch, "zero_count", 0), Some(1));
    assert_eq!(primitive::<Float64Type>(&batch, "zero_threshold", 0), Some(0.001));
    assert_eq!(primitive::<Int32Type>(&batch, "positive_offset", 0), Some(-2));
    assert_eq!(list::<UInt64Type>(&batch, "positive_bucket_counts", 0), vec![2, 3]);
    assert_eq!(primitive::<Int32Type>(&batch, "negative_offset", 0), Some(0));
    assert_eq!(list::<UInt64Type>(&batch, "negative_bucket_counts", 0), Vec::<u64>::new());
    assert_exemplar(&batch, 0);
}

#[test]
fn summary_points() {
    let point = SummaryDataPoint {
        attributes: vec![],
        start_time_unix_nano: START,
        time_unix_nano: TIME,
        count: 10,
        sum: 55.5,
        quantile_values: vec![
            ValueAtQuantile { quantile: 0.5, value: 5.0 },
            ValueAtQuantile { quantile: 0.99, value: 9.9 },
        ],
        flags: 1,
    };
    let summary = Summary { data_points: vec![point] };
    let batch = only_batch(
        &request(vec![metric("my.summary", Data::Summary(summary))]),
        Table::MetricsSummary,
    );
    assert_identity(&batch, 0, "my.summary", "summary", None);
    assert_eq!(primitive::<UInt64Type>(&batch, "count", 0), Some(10));
    assert_eq!(primitive::<Float64Type>(&batch, "sum", 0), Some(55.5));
    let quantiles = struct_list(&batch, "quantiles", 0);
    let field = |name| {
        quantiles
            .column_by_name(name)
            .expect("field")
            .as_primitive::<Float64Type>()
            .values()
            .to_vec()
    };
    assert_eq!(field("quantile"), vec![0.5, 0.99]);
    assert_eq!(field("value"), vec![5.0, 9.9]);
}

#[test]
fn one_batch_per_table_in_table_order() {
    let histogram = Histogram {
        data_points: vec![HistogramDataPoint { count: 1, ..Default::default() }],
        aggregation_temporality: 1,
    };
    let summary = Summary { data_points: vec![SummaryDataPoint::default()] };
    let gauge = Gauge {
        data_points: vec![
            NumberDataPoint { value: Some(Value::AsDouble(1.0)), ..Default::default() },
            // No value: skipped.
            NumberDataPoint::default(),
        ],
    };
    let mut request = request(vec![
        metric("s", Data::Summary(summary)),
        metric("h", Data::Histogram(histogram)),
        metric("g", Data::Gauge(gauge)),
    ]);
    // A second scope without points, and a metric without data.
    let mut empty_scope = request.resource_metrics[0].scope_metrics[0].clone();
    empty_scope.metrics = vec![Metric { name: "nothing".to_string(), ..Default::default() }];
    request.resource_metrics[0].scope_metrics.push(empty_scope);
    let batches = batches(&request);
    let tables: Vec<Table> = batches.iter().map(|batch| batch.table).collect();
    assert_eq!(tables, [Table::Metrics, Table::MetricsHistogram, Table::MetricsSummary]);
    assert!(batches.iter().all(|batch| batch.batch.num_rows() == 1));
    let gauge = &batches[0].batch;
    assert_eq!(primitive::<TimestampNanosecondType>(gauge, "start_timestamp", 0), None);
    assert_eq!(struct_list(gauge, "exemplars", 0).len(), 0);
    assert_test_origin(gauge, 0);
}

#[test]
fn missing_service_name_is_unknown_service() {
    let gauge = Gauge { data_points: vec![number_point(Value::AsInt(1))] };
    let mut request = request(vec![metric("g", Data::Gauge(gauge))]);
    request.resource_metrics[0].resource = None;
    let batch = only_batch(&request, Table::Metrics);
    assert_eq!(text(&batch, "service_name", 0).as_deref(), Some("unknown_service"));
}

#[test]
fn empty_requests_give_no_batches() {
    assert!(batches(&ExportMetricsServiceRequest::default()).is_empty());
    assert!(batches(&request(vec![])).is_empty());
}
