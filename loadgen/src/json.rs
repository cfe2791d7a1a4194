//! OTLP/JSON encoding of the requests [`crate::payload`] builds.
//!
//! Written by hand (the `with-serde` feature of `opentelemetry-proto` would change the daemon's
//! build through feature unification). It covers the fields the payloads set, in the OTLP/JSON
//! mapping: lowerCamelCase keys, hex trace and span ids, 64-bit integers as strings, enums as
//! numbers.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use opentelemetry_proto::tonic::metrics::v1::{HistogramDataPoint, NumberDataPoint};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value, json};

use crate::payload::Request;

/// The request as an OTLP/JSON body.
pub fn encode(request: &Request) -> Vec<u8> {
    let value = match request {
        Request::Logs(r) => json!({ "resourceLogs": r.resource_logs.iter().map(|rl| json!({
            "resource": resource(rl.resource.as_ref()),
            "schemaUrl": rl.schema_url,
            "scopeLogs": rl.scope_logs.iter().map(|sl| json!({
                "scope": scope(sl.scope.as_ref()),
                "logRecords": sl.log_records.iter().map(|r| json!({
                    "timeUnixNano": r.time_unix_nano.to_string(),
                    "observedTimeUnixNano": r.observed_time_unix_nano.to_string(),
                    "severityNumber": r.severity_number,
                    "severityText": r.severity_text,
                    "body": any_value(r.body.as_ref()),
                    "attributes": attributes(&r.attributes),
                    "traceId": hex::encode(&r.trace_id),
                    "spanId": hex::encode(&r.span_id),
                    "flags": r.flags,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>() }),
        Request::Traces(r) => json!({ "resourceSpans": r.resource_spans.iter().map(|rs| json!({
            "resource": resource(rs.resource.as_ref()),
            "schemaUrl": rs.schema_url,
            "scopeSpans": rs.scope_spans.iter().map(|ss| json!({
                "scope": scope(ss.scope.as_ref()),
                "spans": ss.spans.iter().map(|s| json!({
                    "traceId": hex::encode(&s.trace_id),
                    "spanId": hex::encode(&s.span_id),
                    "parentSpanId": hex::encode(&s.parent_span_id),
                    "name": s.name,
                    "kind": s.kind,
                    "startTimeUnixNano": s.start_time_unix_nano.to_string(),
                    "endTimeUnixNano": s.end_time_unix_nano.to_string(),
                    "attributes": attributes(&s.attributes),
                    "events": s.events.iter().map(|e| json!({
                        "timeUnixNano": e.time_unix_nano.to_string(),
                        "name": e.name,
                        "attributes": attributes(&e.attributes),
                    })).collect::<Vec<_>>(),
                    "status": s.status.as_ref().map(|st| json!({ "code": st.code })),
                    "flags": s.flags,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>() }),
        Request::Metrics(r) => {
            json!({ "resourceMetrics": r.resource_metrics.iter().map(|rm| json!({
            "resource": resource(rm.resource.as_ref()),
            "schemaUrl": rm.schema_url,
            "scopeMetrics": rm.scope_metrics.iter().map(|sm| json!({
                "scope": scope(sm.scope.as_ref()),
                "metrics": sm.metrics.iter().map(|m| {
                    let mut metric = Map::new();
                    metric.insert("name".into(), json!(m.name));
                    metric.insert("description".into(), json!(m.description));
                    metric.insert("unit".into(), json!(m.unit));
                    match &m.data {
                        Some(Data::Sum(s)) => { metric.insert("sum".into(), json!({
                            "dataPoints": s.data_points.iter().map(number_point).collect::<Vec<_>>(),
                            "aggregationTemporality": s.aggregation_temporality,
                            "isMonotonic": s.is_monotonic,
                        })); }
                        Some(Data::Gauge(g)) => { metric.insert("gauge".into(), json!({
                            "dataPoints": g.data_points.iter().map(number_point).collect::<Vec<_>>(),
                        })); }
                        Some(Data::Histogram(h)) => { metric.insert("histogram".into(), json!({
                            "dataPoints": h.data_points.iter().map(histogram_point).collect::<Vec<_>>(),
                            "aggregationTemporality": h.aggregation_temporality,
                        })); }
                        // The payloads build no other kinds.
                        _ => {}
                    }
                    Value::Object(metric)
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>() })
        }
    };
    value.to_string().into_bytes()
}

fn resource(resource: Option<&Resource>) -> Value {
    resource.map_or(Value::Null, |r| json!({ "attributes": attributes(&r.attributes) }))
}

fn scope(scope: Option<&InstrumentationScope>) -> Value {
    scope.map_or(Value::Null, |s| json!({ "name": s.name, "version": s.version }))
}

fn attributes(attributes: &[KeyValue]) -> Value {
    attributes
        .iter()
        .map(|kv| json!({ "key": kv.key, "value": any_value(kv.value.as_ref()) }))
        .collect()
}

fn any_value(value: Option<&AnyValue>) -> Value {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Any::StringValue(s)) => json!({ "stringValue": s }),
        Some(Any::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(Any::DoubleValue(d)) => json!({ "doubleValue": d }),
        Some(Any::BoolValue(b)) => json!({ "boolValue": b }),
        // The payloads build no other kinds.
        _ => json!({}),
    }
}

fn number_point(point: &NumberDataPoint) -> Value {
    let mut value = json!({
        "attributes": attributes(&point.attributes),
        "startTimeUnixNano": point.start_time_unix_nano.to_string(),
        "timeUnixNano": point.time_unix_nano.to_string(),
    });
    if let Value::Object(fields) = &mut value {
        match point.value {
            Some(Number::AsInt(i)) => fields.insert("asInt".into(), json!(i.to_string())),
            Some(Number::AsDouble(d)) => fields.insert("asDouble".into(), json!(d)),
            None => None,
        };
    }
    value
}

fn histogram_point(point: &HistogramDataPoint) -> Value {
    json!({
        "attributes": attributes(&point.attributes),
        "startTimeUnixNano": point.start_time_unix_nano.to_string(),
        "timeUnixNano": point.time_unix_nano.to_string(),
        "count": point.count.to_string(),
        "sum": point.sum,
        "bucketCounts": point.bucket_counts.iter().map(u64::to_string).collect::<Vec<_>>(),
        "explicitBounds": point.explicit_bounds,
        "min": point.min,
        "max": point.max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Signal, pool};

    #[test]
    fn json_bodies_keep_every_item_and_hex_ids() {
        let logs = &pool(Signal::Logs, &[], 3, 1, 1_764_000_000_000_000_000)[0];
        let value: Value = serde_json::from_slice(&encode(logs)).expect("valid json");
        let records = &value["resourceLogs"][0]["scopeLogs"][0]["logRecords"];
        assert_eq!(records.as_array().map(Vec::len), Some(3));
        assert_eq!(records[0]["traceId"].as_str().map(str::len), Some(32));

        let metrics = &pool(Signal::Metrics, &[], 40, 1, 1_764_000_000_000_000_000)[0];
        let value: Value = serde_json::from_slice(&encode(metrics)).expect("valid json");
        let points: usize = value["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| {
                ["sum", "gauge", "histogram"]
                    .iter()
                    .filter_map(|k| m[*k]["dataPoints"].as_array())
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum();
        assert_eq!(points, 40);
    }
}
