//! OTLP/JSON encoding of decoded requests: for people to read (`sightline redact test`) in
//! [`Style::CANONICAL`], and for the decoder's round-trip tests in every spelling the spec allows.
//!
//! The mapping the decoder in [`crate::decode::json`] reads: lowerCamelCase (or snake_case) names, trace
//! and span ids in hex, other bytes in base64, 64-bit integers as decimal strings, enums as numbers (or
//! names), and fields at their default value left out.

use serde_json::{Map, Value, json};

use crate::otlp::common::v1::{AnyValue, EntityRef, InstrumentationScope, KeyValue, any_value};
use crate::otlp::logs::v1::LogRecord;
use crate::otlp::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{Span, Status, span};
use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// The spellings proto3 JSON allows; the decoder must accept each of them.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub snake_case: bool,
    /// Every integer as a decimal string, 32-bit ones too.
    pub ints_as_strings: bool,
    /// 64-bit integers as decimal strings (the proto3 mapping: JSON numbers lose precision past 2^53).
    pub int64_as_strings: bool,
    pub upper_hex: bool,
    pub enum_names: bool,
}

impl Style {
    /// What the OTLP specification writes: camelCase, 64-bit integers as strings, lower-case hex, enums as
    /// numbers.
    pub const CANONICAL: Style = Style {
        snake_case: false,
        ints_as_strings: false,
        int64_as_strings: true,
        upper_hex: false,
        enum_names: false,
    };

    fn int64_text(&self) -> bool {
        self.ints_as_strings || self.int64_as_strings
    }
}

/// Builds one JSON object, skipping default values as proto3 JSON encoders do.
struct Object<'s> {
    style: &'s Style,
    members: Map<String, Value>,
}

impl<'s> Object<'s> {
    fn new(style: &'s Style) -> Self {
        Object { style, members: Map::new() }
    }

    fn put(mut self, camel: &str, value: Value) -> Self {
        let empty = matches!(&value, Value::Array(a) if a.is_empty())
            || matches!(&value, Value::String(s) if s.is_empty())
            || value.is_null();
        if !empty {
            let name = if self.style.snake_case { snake(camel) } else { camel.to_owned() };
            self.members.insert(name, value);
        }
        self
    }

    fn int(self, camel: &str, value: impl Into<i128>) -> Self {
        let value = value.into();
        if value == 0 {
            return self;
        }
        let json = if self.style.ints_as_strings { json!(value.to_string()) } else { exact(value) };
        self.put(camel, json)
    }

    /// A 64-bit field.
    fn int64(self, camel: &str, value: impl Into<i128>) -> Self {
        let value = value.into();
        if value == 0 {
            return self;
        }
        let json = if self.style.int64_text() { json!(value.to_string()) } else { exact(value) };
        self.put(camel, json)
    }

    fn double(self, camel: &str, value: f64) -> Self {
        if value == 0.0 { self } else { self.put(camel, double(value)) }
    }

    fn id(self, camel: &str, bytes: &[u8]) -> Self {
        let text = hex::encode(bytes);
        let text = if self.style.upper_hex { text.to_uppercase() } else { text };
        self.put(camel, json!(text))
    }

    fn enumeration(self, camel: &str, number: i32, name: Option<&str>) -> Self {
        match name {
            Some(name) if self.style.enum_names => self.put(camel, json!(name)),
            _ => self.int(camel, number),
        }
    }

    fn done(self) -> Value {
        Value::Object(self.members)
    }
}

fn exact(value: i128) -> Value {
    match (u64::try_from(value), i64::try_from(value)) {
        (Ok(u), _) => json!(u),
        (_, Ok(i)) => json!(i),
        _ => json!(value.to_string()),
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn double(value: f64) -> Value {
    match value {
        f if f.is_nan() => json!("NaN"),
        f64::INFINITY => json!("Infinity"),
        f64::NEG_INFINITY => json!("-Infinity"),
        f => json!(f),
    }
}

fn list<T>(items: &[T], encode: impl Fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(encode).collect())
}

pub fn any_value(s: &Style, value: &AnyValue) -> Value {
    use any_value::Value as V;
    match &value.value {
        None => json!({}),
        // Strings and bools are written even when empty/false: the member itself carries the value.
        Some(V::StringValue(v)) => json!({ name(s, "stringValue"): v }),
        Some(V::BoolValue(v)) => json!({ name(s, "boolValue"): v }),
        Some(V::IntValue(v)) => json!({ name(s, "intValue"): int_any(s, *v) }),
        Some(V::DoubleValue(v)) => json!({ name(s, "doubleValue"): double(*v) }),
        Some(V::BytesValue(v)) => {
            use base64::Engine as _;
            let text = base64::engine::general_purpose::STANDARD.encode(v);
            json!({ name(s, "bytesValue"): text })
        }
        Some(V::StringValueStrindex(v)) => json!({ name(s, "stringValueStrindex"): v }),
        Some(V::ArrayValue(a)) => {
            json!({ name(s, "arrayValue"): { "values": list(&a.values, |v| any_value(s, v)) } })
        }
        Some(V::KvlistValue(l)) => {
            json!({ name(s, "kvlistValue"): { "values": list(&l.values, |kv| key_value(s, kv)) } })
        }
    }
}

fn name(s: &Style, camel: &str) -> String {
    if s.snake_case { snake(camel) } else { camel.to_owned() }
}

fn int_any(s: &Style, v: i64) -> Value {
    if s.int64_text() { json!(v.to_string()) } else { json!(v) }
}

pub fn key_value(s: &Style, kv: &KeyValue) -> Value {
    let o = Object::new(s).put("key", json!(kv.key)).int("keyStrindex", kv.key_strindex);
    o.put("value", kv.value.as_ref().map_or(Value::Null, |v| any_value(s, v))).done()
}

fn attributes(s: &Style, attributes: &[KeyValue]) -> Value {
    list(attributes, |kv| key_value(s, kv))
}

fn resource(s: &Style, r: &Resource) -> Value {
    let entity = |e: &EntityRef| {
        Object::new(s)
            .put("schemaUrl", json!(e.schema_url))
            .put("type", json!(e.r#type))
            .put("idKeys", json!(e.id_keys))
            .put("descriptionKeys", json!(e.description_keys))
            .done()
    };
    Object::new(s)
        .put("attributes", attributes(s, &r.attributes))
        .int("droppedAttributesCount", r.dropped_attributes_count)
        .put("entityRefs", list(&r.entity_refs, entity))
        .done()
}

fn scope(s: &Style, scope: &InstrumentationScope) -> Value {
    Object::new(s)
        .put("name", json!(scope.name))
        .put("version", json!(scope.version))
        .put("attributes", attributes(s, &scope.attributes))
        .int("droppedAttributesCount", scope.dropped_attributes_count)
        .done()
}

/// `{"scope": ..., "<items>": [...], "schemaUrl": ...}`.
fn scope_object(
    s: &Style,
    sc: Option<&InstrumentationScope>,
    items_name: &str,
    items: Value,
    url: &str,
) -> Value {
    Object::new(s)
        .put("scope", sc.map_or(Value::Null, |sc| scope(s, sc)))
        .put(items_name, items)
        .put("schemaUrl", json!(url))
        .done()
}

/// `{"resource": ..., "<scopes>": [...], "schemaUrl": ...}`.
fn resource_object(
    s: &Style,
    r: Option<&Resource>,
    scopes_name: &str,
    scopes: Value,
    url: &str,
) -> Value {
    Object::new(s)
        .put("resource", r.map_or(Value::Null, |r| resource(s, r)))
        .put(scopes_name, scopes)
        .put("schemaUrl", json!(url))
        .done()
}

pub fn logs(s: &Style, request: &ExportLogsServiceRequest) -> Value {
    let resources = list(&request.resource_logs, |rl| {
        let scopes = list(&rl.scope_logs, |sc| {
            let items = list(&sc.log_records, |item| log_record(s, item));
            scope_object(s, sc.scope.as_ref(), "logRecords", items, &sc.schema_url)
        });
        resource_object(s, rl.resource.as_ref(), "scopeLogs", scopes, &rl.schema_url)
    });
    Object::new(s).put("resourceLogs", resources).done()
}

fn log_record(s: &Style, r: &LogRecord) -> Value {
    let severity = crate::otlp::logs::v1::SeverityNumber::try_from(r.severity_number).ok();
    Object::new(s)
        .int64("timeUnixNano", r.time_unix_nano)
        .int64("observedTimeUnixNano", r.observed_time_unix_nano)
        .enumeration("severityNumber", r.severity_number, severity.map(|e| e.as_str_name()))
        .put("severityText", json!(r.severity_text))
        .put("body", r.body.as_ref().map_or(Value::Null, |b| any_value(s, b)))
        .put("attributes", attributes(s, &r.attributes))
        .int("droppedAttributesCount", r.dropped_attributes_count)
        .int("flags", r.flags)
        .id("traceId", &r.trace_id)
        .id("spanId", &r.span_id)
        .put("eventName", json!(r.event_name))
        .done()
}

pub fn traces(s: &Style, request: &ExportTraceServiceRequest) -> Value {
    let resources = list(&request.resource_spans, |rs| {
        let scopes = list(&rs.scope_spans, |sc| {
            let items = list(&sc.spans, |item| span(s, item));
            scope_object(s, sc.scope.as_ref(), "spans", items, &sc.schema_url)
        });
        resource_object(s, rs.resource.as_ref(), "scopeSpans", scopes, &rs.schema_url)
    });
    Object::new(s).put("resourceSpans", resources).done()
}

fn span(s: &Style, sp: &Span) -> Value {
    let kind = span::SpanKind::try_from(sp.kind).ok();
    let event = |e: &span::Event| {
        Object::new(s)
            .int64("timeUnixNano", e.time_unix_nano)
            .put("name", json!(e.name))
            .put("attributes", attributes(s, &e.attributes))
            .int("droppedAttributesCount", e.dropped_attributes_count)
            .done()
    };
    let link = |l: &span::Link| {
        Object::new(s)
            .id("traceId", &l.trace_id)
            .id("spanId", &l.span_id)
            .put("traceState", json!(l.trace_state))
            .put("attributes", attributes(s, &l.attributes))
            .int("droppedAttributesCount", l.dropped_attributes_count)
            .int("flags", l.flags)
            .done()
    };
    Object::new(s)
        .id("traceId", &sp.trace_id)
        .id("spanId", &sp.span_id)
        .put("traceState", json!(sp.trace_state))
        .id("parentSpanId", &sp.parent_span_id)
        .int("flags", sp.flags)
        .put("name", json!(sp.name))
        .enumeration("kind", sp.kind, kind.map(|k| k.as_str_name()))
        .int64("startTimeUnixNano", sp.start_time_unix_nano)
        .int64("endTimeUnixNano", sp.end_time_unix_nano)
        .put("attributes", attributes(s, &sp.attributes))
        .int("droppedAttributesCount", sp.dropped_attributes_count)
        .put("events", list(&sp.events, event))
        .int("droppedEventsCount", sp.dropped_events_count)
        .put("links", list(&sp.links, link))
        .int("droppedLinksCount", sp.dropped_links_count)
        .put("status", sp.status.as_ref().map_or(Value::Null, |st| status(s, st)))
        .done()
}

fn status(s: &Style, st: &Status) -> Value {
    let code = crate::otlp::trace::v1::status::StatusCode::try_from(st.code).ok();
    Object::new(s)
        .put("message", json!(st.message))
        .enumeration("code", st.code, code.map(|c| c.as_str_name()))
        .done()
}

pub fn metrics(s: &Style, request: &ExportMetricsServiceRequest) -> Value {
    let resources = list(&request.resource_metrics, |rm| {
        let scopes = list(&rm.scope_metrics, |sc| {
            let items = list(&sc.metrics, |item| metric(s, item));
            scope_object(s, sc.scope.as_ref(), "metrics", items, &sc.schema_url)
        });
        resource_object(s, rm.resource.as_ref(), "scopeMetrics", scopes, &rm.schema_url)
    });
    Object::new(s).put("resourceMetrics", resources).done()
}

fn metric(s: &Style, m: &Metric) -> Value {
    use metric::Data;
    let temporality = |t: i32| {
        let name = crate::otlp::metrics::v1::AggregationTemporality::try_from(t).ok();
        (t, name.map(|n| n.as_str_name()))
    };
    let o = Object::new(s)
        .put("name", json!(m.name))
        .put("description", json!(m.description))
        .put("unit", json!(m.unit))
        .put("metadata", attributes(s, &m.metadata));
    let o = match &m.data {
        None => o,
        Some(Data::Gauge(g)) => o.put(
            "gauge",
            json!({ name(s, "dataPoints"): list(&g.data_points, |p| number_point(s, p)) }),
        ),
        Some(Data::Sum(sum)) => {
            let (t, n) = temporality(sum.aggregation_temporality);
            let inner = Object::new(s)
                .put("dataPoints", list(&sum.data_points, |p| number_point(s, p)))
                .enumeration("aggregationTemporality", t, n)
                .put("isMonotonic", if sum.is_monotonic { json!(true) } else { Value::Null });
            o.put("sum", inner.done())
        }
        Some(Data::Histogram(h)) => {
            let (t, n) = temporality(h.aggregation_temporality);
            let inner = Object::new(s)
                .put("dataPoints", list(&h.data_points, |p| histogram_point(s, p)))
                .enumeration("aggregationTemporality", t, n);
            o.put("histogram", inner.done())
        }
        Some(Data::ExponentialHistogram(h)) => {
            let (t, n) = temporality(h.aggregation_temporality);
            let inner = Object::new(s)
                .put("dataPoints", list(&h.data_points, |p| exponential_point(s, p)))
                .enumeration("aggregationTemporality", t, n);
            o.put("exponentialHistogram", inner.done())
        }
        Some(Data::Summary(sm)) => o.put(
            "summary",
            json!({ name(s, "dataPoints"): list(&sm.data_points, |p| summary_point(s, p)) }),
        ),
    };
    o.done()
}

fn optional_double(value: Option<f64>) -> Value {
    value.map_or(Value::Null, double)
}

fn number_point(s: &Style, p: &NumberDataPoint) -> Value {
    let o = Object::new(s)
        .put("attributes", attributes(s, &p.attributes))
        .int64("startTimeUnixNano", p.start_time_unix_nano)
        .int64("timeUnixNano", p.time_unix_nano)
        .put("exemplars", list(&p.exemplars, |e| exemplar(s, e)))
        .int("flags", p.flags);
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => o.put("asDouble", double(d)),
        Some(number_data_point::Value::AsInt(i)) => o.put("asInt", int_any(s, i)),
        None => o,
    }
    .done()
}

fn exemplar(s: &Style, e: &Exemplar) -> Value {
    let o = Object::new(s)
        .put("filteredAttributes", attributes(s, &e.filtered_attributes))
        .int64("timeUnixNano", e.time_unix_nano)
        .id("spanId", &e.span_id)
        .id("traceId", &e.trace_id);
    match e.value {
        Some(exemplar::Value::AsDouble(d)) => o.put("asDouble", double(d)),
        Some(exemplar::Value::AsInt(i)) => o.put("asInt", int_any(s, i)),
        None => o,
    }
    .done()
}

fn counts(s: &Style, counts: &[u64]) -> Value {
    list(counts, |c| if s.int64_text() { json!(c.to_string()) } else { json!(c) })
}

fn histogram_point(s: &Style, p: &HistogramDataPoint) -> Value {
    Object::new(s)
        .put("attributes", attributes(s, &p.attributes))
        .int64("startTimeUnixNano", p.start_time_unix_nano)
        .int64("timeUnixNano", p.time_unix_nano)
        .int64("count", p.count)
        .put("sum", optional_double(p.sum))
        .put("bucketCounts", counts(s, &p.bucket_counts))
        .put("explicitBounds", list(&p.explicit_bounds, |b| double(*b)))
        .put("exemplars", list(&p.exemplars, |e| exemplar(s, e)))
        .int("flags", p.flags)
        .put("min", optional_double(p.min))
        .put("max", optional_double(p.max))
        .done()
}

fn exponential_point(s: &Style, p: &ExponentialHistogramDataPoint) -> Value {
    let buckets = |b: Option<&Buckets>| {
        b.map_or(Value::Null, |b| {
            Object::new(s)
                .int("offset", b.offset)
                .put("bucketCounts", counts(s, &b.bucket_counts))
                .done()
        })
    };
    Object::new(s)
        .put("attributes", attributes(s, &p.attributes))
        .int64("startTimeUnixNano", p.start_time_unix_nano)
        .int64("timeUnixNano", p.time_unix_nano)
        .int64("count", p.count)
        .put("sum", optional_double(p.sum))
        .int("scale", p.scale)
        .int64("zeroCount", p.zero_count)
        .put("positive", buckets(p.positive.as_ref()))
        .put("negative", buckets(p.negative.as_ref()))
        .int("flags", p.flags)
        .put("exemplars", list(&p.exemplars, |e| exemplar(s, e)))
        .put("min", optional_double(p.min))
        .put("max", optional_double(p.max))
        .double("zeroThreshold", p.zero_threshold)
        .done()
}

fn summary_point(s: &Style, p: &SummaryDataPoint) -> Value {
    let quantile = |q: &crate::otlp::metrics::v1::summary_data_point::ValueAtQuantile| {
        Object::new(s).double("quantile", q.quantile).double("value", q.value).done()
    };
    Object::new(s)
        .put("attributes", attributes(s, &p.attributes))
        .int64("startTimeUnixNano", p.start_time_unix_nano)
        .int64("timeUnixNano", p.time_unix_nano)
        .int64("count", p.count)
        .double("sum", p.sum)
        .put("quantileValues", list(&p.quantile_values, quantile))
        .int("flags", p.flags)
        .done()
}

#[cfg(test)]
mod tests {
    use super::Style;
    use crate::decode::json::{logs_from_json, metrics_from_json, traces_from_json};

    /// The OTLP project's own example payloads, in the canonical style, decode back to themselves (the
    /// decoder's round-trip property covers every style and field).
    #[test]
    fn the_otlp_examples_survive_a_canonical_round_trip() {
        let examples =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/otlp-examples");
        let read = |name: &str| std::fs::read(examples.join(name)).expect("example payload");
        let style = Style::CANONICAL;
        let logs = logs_from_json(&read("logs.json")).expect("logs example");
        assert_eq!(logs_from_json(super::logs(&style, &logs).to_string().as_bytes()), Ok(logs));
        let traces = traces_from_json(&read("trace.json")).expect("trace example");
        assert_eq!(
            traces_from_json(super::traces(&style, &traces).to_string().as_bytes()),
            Ok(traces)
        );
        let metrics = metrics_from_json(&read("metrics.json")).expect("metrics example");
        assert_eq!(
            metrics_from_json(super::metrics(&style, &metrics).to_string().as_bytes()),
            Ok(metrics)
        );
    }
}
