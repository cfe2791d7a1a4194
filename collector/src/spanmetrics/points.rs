//! A finished interval as an OTLP metrics request, so that derived points take the same conversion to
//! Arrow rows as the metrics services send (one row builder for the metric tables).

use std::collections::BTreeMap;

use super::aggregate::{BUCKET_BOUNDS_NS, Interval, ResourceKey, SeriesKey, SeriesStats};
use crate::otlp::ExportMetricsServiceRequest;
use crate::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::metrics::v1::number_data_point;
use crate::otlp::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use crate::otlp::resource::v1::Resource;

/// The scope of every derived point.
pub const SCOPE_NAME: &str = "sightline.spanmetrics";
/// A monotonic delta sum without unit: `traces_span_metrics_calls_total` to Prometheus.
pub const CALLS_METRIC: &str = "traces.span.metrics.calls";
/// An explicit-bucket delta histogram in seconds: `traces_span_metrics_duration_seconds_*` to Prometheus.
pub const DURATION_METRIC: &str = "traces.span.metrics.duration";
/// The attribute of the overflow series, as the connector's cardinality limit writes it.
pub const OVERFLOW_ATTRIBUTE: &str = "otel.metric.overflow";

const NANOS_PER_SECOND: f64 = 1e9;

/// The interval's points: per resource, one calls point and one duration point for each series. The
/// overflow series has no resource attributes (so `unknown_service`) and only the overflow attribute.
pub fn to_request(interval: &Interval) -> ExportMetricsServiceRequest {
    // Sorted, so that the rows of one flush come out in a stable order.
    let mut by_resource: BTreeMap<&ResourceKey, Vec<(&SeriesKey, &SeriesStats)>> = BTreeMap::new();
    for (key, stats) in &interval.series {
        by_resource.entry(&key.resource).or_default().push((key, stats));
    }
    let mut resource_metrics: Vec<ResourceMetrics> = by_resource
        .into_iter()
        .map(|(resource, mut series)| {
            series.sort_unstable_by_key(|(key, _)| *key);
            let points = series.into_iter().map(|(key, stats)| (series_attributes(key), stats));
            resource_points(resource_of(resource), interval, points)
        })
        .collect();
    if interval.overflow.count > 0 {
        let attributes = vec![bool_attribute(OVERFLOW_ATTRIBUTE, true)];
        let points = std::iter::once((attributes, &interval.overflow));
        resource_metrics.push(resource_points(Resource::default(), interval, points));
    }
    ExportMetricsServiceRequest { resource_metrics }
}

/// The connector's dimensions as datapoint attributes.
fn series_attributes(key: &SeriesKey) -> Vec<KeyValue> {
    vec![
        string_attribute("service.name", key.resource.service()),
        string_attribute("span.name", &key.span_name),
        string_attribute("span.kind", key.span_kind),
        string_attribute("status.code", key.status_code),
    ]
}

fn resource_of(key: &ResourceKey) -> Resource {
    let kept = [
        ("service.name", &key.service_name),
        ("service.namespace", &key.service_namespace),
        ("service.instance.id", &key.service_instance_id),
    ];
    Resource {
        attributes: kept
            .into_iter()
            .filter_map(|(name, value)| Some(string_attribute(name, value.as_deref()?)))
            .collect(),
        ..Resource::default()
    }
}

fn resource_points<'a>(
    resource: Resource,
    interval: &Interval,
    points: impl Iterator<Item = (Vec<KeyValue>, &'a SeriesStats)>,
) -> ResourceMetrics {
    let (mut calls, mut durations) = (Vec::new(), Vec::new());
    for (attributes, stats) in points {
        calls.push(NumberDataPoint {
            attributes: attributes.clone(),
            start_time_unix_nano: interval.start_ns,
            time_unix_nano: interval.end_ns,
            value: Some(number_data_point::Value::AsInt(
                i64::try_from(stats.count).unwrap_or(i64::MAX),
            )),
            ..NumberDataPoint::default()
        });
        durations.push(HistogramDataPoint {
            attributes,
            start_time_unix_nano: interval.start_ns,
            time_unix_nano: interval.end_ns,
            count: stats.count,
            sum: Some(stats.sum_ns as f64 / NANOS_PER_SECOND),
            bucket_counts: stats.bucket_counts.to_vec(),
            explicit_bounds: BUCKET_BOUNDS_NS
                .iter()
                .map(|ns| *ns as f64 / NANOS_PER_SECOND)
                .collect(),
            min: Some(stats.min_ns as f64 / NANOS_PER_SECOND),
            max: Some(stats.max_ns as f64 / NANOS_PER_SECOND),
            ..HistogramDataPoint::default()
        });
    }
    let delta = AggregationTemporality::Delta as i32;
    let metrics = vec![
        Metric {
            name: CALLS_METRIC.to_owned(),
            description: "Spans ended, by service, span name, kind and status".to_owned(),
            data: Some(Data::Sum(Sum {
                data_points: calls,
                aggregation_temporality: delta,
                is_monotonic: true,
            })),
            ..Metric::default()
        },
        Metric {
            name: DURATION_METRIC.to_owned(),
            description: "Span durations, by service, span name, kind and status".to_owned(),
            unit: "s".to_owned(),
            data: Some(Data::Histogram(Histogram {
                data_points: durations,
                aggregation_temporality: delta,
            })),
            ..Metric::default()
        },
    ];
    ResourceMetrics {
        resource: Some(resource),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: SCOPE_NAME.to_owned(),
                ..InstrumentationScope::default()
            }),
            metrics,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_owned())) }),
        ..KeyValue::default()
    }
}

fn bool_attribute(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::BoolValue(value)) }),
        ..KeyValue::default()
    }
}
