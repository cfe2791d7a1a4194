//! Strategies for arbitrary OTLP requests, every field of every message included (NaN aside: it is not equal
//! to itself), for property tests.

use std::fmt;

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

use super::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use super::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use super::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use super::resource::v1::Resource;
use super::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use super::{ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest};

/// Any value, and often the default, which protobuf leaves out.
fn scalar<T: Arbitrary + Default + Clone + fmt::Debug + 'static>()
-> impl Strategy<Value = T> + Clone {
    prop_oneof![Just(T::default()), any::<T>()]
}

/// Includes quotes, backslashes, control and non-ASCII characters to exercise JSON escaping.
fn text() -> impl Strategy<Value = String> {
    "[a-z.\"\\\\\n é漢]{0,6}"
}

fn id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 16), vec(any::<u8>(), 8), vec(any::<u8>(), 0..4)]
}

/// Doubles that survive any JSON number parser exactly (no NaN: it is not equal to itself).
fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        (scalar::<i32>(), 0..20).prop_map(|(m, e)| f64::from(m) / 2f64.powi(e)),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn any_value() -> BoxedStrategy<AnyValue> {
    use any_value::Value as V;
    let leaf = prop_oneof![
        Just(None),
        text().prop_map(|v| Some(V::StringValue(v))),
        scalar::<bool>().prop_map(|v| Some(V::BoolValue(v))),
        scalar::<i64>().prop_map(|v| Some(V::IntValue(v))),
        double().prop_map(|v| Some(V::DoubleValue(v))),
        vec(any::<u8>(), 0..6).prop_map(|v| Some(V::BytesValue(v))),
        scalar::<i32>().prop_map(|v| Some(V::StringValueStrindex(v))),
    ]
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(|values| Some(V::ArrayValue(ArrayValue { values }))),
            vec((text(), of(inner), scalar::<i32>()), 0..3).prop_map(|kvs| {
                let values = kvs
                    .into_iter()
                    .map(|(key, value, key_strindex)| KeyValue { key, value, key_strindex })
                    .collect();
                Some(V::KvlistValue(KeyValueList { values }))
            }),
        ]
        .prop_map(|value| AnyValue { value })
    })
    .boxed()
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    let key_value = (text(), of(any_value()), scalar::<i32>())
        .prop_map(|(key, value, key_strindex)| KeyValue { key, value, key_strindex });
    vec(key_value, 0..3)
}

fn resource() -> impl Strategy<Value = Option<Resource>> {
    let entity = (text(), text(), vec(text(), 0..2), vec(text(), 0..2)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef {
            schema_url,
            r#type,
            id_keys,
            description_keys,
        },
    );
    of((attributes(), scalar::<u32>(), vec(entity, 0..2)).prop_map(
        |(attributes, dropped_attributes_count, entity_refs)| Resource {
            attributes,
            dropped_attributes_count,
            entity_refs,
        },
    ))
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    of((text(), text(), attributes(), scalar::<u32>()).prop_map(
        |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
            name,
            version,
            attributes,
            dropped_attributes_count,
        },
    ))
}

pub fn log_record() -> impl Strategy<Value = LogRecord> {
    let times = (scalar::<u64>(), scalar::<u64>(), scalar::<i32>(), text(), of(any_value()));
    let rest = (attributes(), scalar::<u32>(), scalar::<u32>(), id(), id(), text());
    (times, rest).prop_map(|((t, observed, severity, severity_text, body), rest)| LogRecord {
        time_unix_nano: t,
        observed_time_unix_nano: observed,
        severity_number: severity,
        severity_text,
        body,
        attributes: rest.0,
        dropped_attributes_count: rest.1,
        flags: rest.2,
        trace_id: rest.3,
        span_id: rest.4,
        event_name: rest.5,
    })
}

pub fn span() -> impl Strategy<Value = Span> {
    let event =
        (scalar::<u64>(), text(), attributes(), scalar::<u32>()).prop_map(|(t, name, a, d)| {
            span::Event { time_unix_nano: t, name, attributes: a, dropped_attributes_count: d }
        });
    let link = (id(), id(), text(), attributes(), scalar::<u32>(), scalar::<u32>()).prop_map(
        |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| {
            span::Link {
                trace_id,
                span_id,
                trace_state,
                attributes,
                dropped_attributes_count,
                flags,
            }
        },
    );
    let status = (text(), scalar::<i32>()).prop_map(|(message, code)| Status { message, code });
    let ids = (id(), id(), text(), id(), scalar::<u32>(), text(), scalar::<i32>());
    let body = (scalar::<u64>(), scalar::<u64>(), attributes(), scalar::<u32>(), vec(event, 0..2));
    let rest = (scalar::<u32>(), vec(link, 0..2), scalar::<u32>(), of(status));
    (ids, body, rest).prop_map(|(ids, body, rest)| Span {
        trace_id: ids.0,
        span_id: ids.1,
        trace_state: ids.2,
        parent_span_id: ids.3,
        flags: ids.4,
        name: ids.5,
        kind: ids.6,
        start_time_unix_nano: body.0,
        end_time_unix_nano: body.1,
        attributes: body.2,
        dropped_attributes_count: body.3,
        events: body.4,
        dropped_events_count: rest.0,
        links: rest.1,
        dropped_links_count: rest.2,
        status: rest.3,
    })
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    let value = of(prop_oneof![
        double().prop_map(exemplar::Value::AsDouble),
        scalar::<i64>().prop_map(exemplar::Value::AsInt),
    ]);
    let exemplar =
        (attributes(), scalar::<u64>(), id(), id(), value).prop_map(|(a, t, s, tr, value)| {
            Exemplar { filtered_attributes: a, time_unix_nano: t, span_id: s, trace_id: tr, value }
        });
    vec(exemplar, 0..2)
}

fn number_points() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let value = of(prop_oneof![
        double().prop_map(number_data_point::Value::AsDouble),
        scalar::<i64>().prop_map(number_data_point::Value::AsInt),
    ]);
    let point =
        (attributes(), scalar::<u64>(), scalar::<u64>(), exemplars(), scalar::<u32>(), value)
            .prop_map(|(attributes, start, time, exemplars, flags, value)| NumberDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: time,
                exemplars,
                flags,
                value,
            });
    vec(point, 0..2)
}

fn histogram_point() -> impl Strategy<Value = HistogramDataPoint> {
    let head = (attributes(), scalar::<u64>(), scalar::<u64>(), scalar::<u64>(), of(double()));
    let tail = (vec(scalar::<u64>(), 0..3), vec(double(), 0..3), exemplars(), scalar::<u32>());
    (head, tail, of(double()), of(double())).prop_map(|(h, t, min, max)| HistogramDataPoint {
        attributes: h.0,
        start_time_unix_nano: h.1,
        time_unix_nano: h.2,
        count: h.3,
        sum: h.4,
        bucket_counts: t.0,
        explicit_bounds: t.1,
        exemplars: t.2,
        flags: t.3,
        min,
        max,
    })
}

fn exponential_point() -> impl Strategy<Value = ExponentialHistogramDataPoint> {
    let buckets = of((scalar::<i32>(), vec(scalar::<u64>(), 0..3))
        .prop_map(|(offset, bucket_counts)| Buckets { offset, bucket_counts }));
    let head = (
        attributes(),
        scalar::<u64>(),
        scalar::<u64>(),
        scalar::<u64>(),
        of(double()),
        scalar::<i32>(),
    );
    let tail = (scalar::<u64>(), buckets.clone(), buckets, scalar::<u32>(), exemplars());
    (head, tail, of(double()), of(double()), double()).prop_map(|(h, t, min, max, zero)| {
        ExponentialHistogramDataPoint {
            attributes: h.0,
            start_time_unix_nano: h.1,
            time_unix_nano: h.2,
            count: h.3,
            sum: h.4,
            scale: h.5,
            zero_count: t.0,
            positive: t.1,
            negative: t.2,
            flags: t.3,
            exemplars: t.4,
            min,
            max,
            zero_threshold: zero,
        }
    })
}

fn summary_point() -> impl Strategy<Value = SummaryDataPoint> {
    let quantile =
        (double(), double()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value });
    (
        attributes(),
        scalar::<u64>(),
        scalar::<u64>(),
        scalar::<u64>(),
        double(),
        vec(quantile, 0..3),
        scalar::<u32>(),
    )
        .prop_map(|(attributes, start, time, count, sum, quantile_values, flags)| {
            SummaryDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: time,
                count,
                sum,
                quantile_values,
                flags,
            }
        })
}

pub fn metric() -> impl Strategy<Value = Metric> {
    use metric::Data;
    let data = of(prop_oneof![
        number_points().prop_map(|data_points| Data::Gauge(Gauge { data_points })),
        (number_points(), scalar::<i32>(), scalar::<bool>()).prop_map(
            |(data_points, t, is_monotonic)| {
                Data::Sum(Sum { data_points, aggregation_temporality: t, is_monotonic })
            }
        ),
        (vec(histogram_point(), 0..2), scalar::<i32>()).prop_map(|(data_points, t)| {
            Data::Histogram(Histogram { data_points, aggregation_temporality: t })
        }),
        (vec(exponential_point(), 0..2), scalar::<i32>()).prop_map(|(data_points, t)| {
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points,
                aggregation_temporality: t,
            })
        }),
        vec(summary_point(), 0..2).prop_map(|data_points| Data::Summary(Summary { data_points })),
    ]);
    (text(), text(), text(), attributes(), data).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data,
        },
    )
}

pub fn logs_request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope_logs = (scope(), vec(log_record(), 0..3), text())
        .prop_map(|(scope, log_records, schema_url)| ScopeLogs { scope, log_records, schema_url });
    let resource_logs = (resource(), vec(scope_logs, 0..2), text()).prop_map(
        |(resource, scope_logs, schema_url)| ResourceLogs { resource, scope_logs, schema_url },
    );
    vec(resource_logs, 0..2).prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

pub fn traces_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans = (scope(), vec(span(), 0..3), text())
        .prop_map(|(scope, spans, schema_url)| ScopeSpans { scope, spans, schema_url });
    let resource_spans = (resource(), vec(scope_spans, 0..2), text()).prop_map(
        |(resource, scope_spans, schema_url)| ResourceSpans { resource, scope_spans, schema_url },
    );
    vec(resource_spans, 0..2)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

pub fn metrics_request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics = (scope(), vec(metric(), 0..3), text())
        .prop_map(|(scope, metrics, schema_url)| ScopeMetrics { scope, metrics, schema_url });
    let resource_metrics = (resource(), vec(scope_metrics, 0..2), text()).prop_map(
        |(resource, scope_metrics, schema_url)| ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
        },
    );
    vec(resource_metrics, 0..2)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}
