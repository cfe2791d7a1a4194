// Tests may unwrap: a panic is a test failure with its message.
#![allow(clippy::unwrap_used)]

mod roundtrip;

use super::*;
use crate::otlp::common::v1::{AnyValue, any_value};
use crate::otlp::metrics::v1::{Metric, NumberDataPoint, metric, number_data_point};
use crate::otlp::trace::v1::Span;

fn example(name: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/otlp-examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn hex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

/// Decodes one span given the members of its JSON object.
fn span(members: &str) -> Result<Span, JsonError> {
    let body = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{{members}}}]}}]}}]}}"#);
    let mut request = traces_from_json(body.as_bytes())?;
    Ok(request.resource_spans.remove(0).scope_spans.remove(0).spans.remove(0))
}

/// Decodes one metric given the members of its JSON object.
fn metric(members: &str) -> Result<Metric, JsonError> {
    let body =
        format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{{members}}}]}}]}}]}}"#);
    let mut request = metrics_from_json(body.as_bytes())?;
    Ok(request.resource_metrics.remove(0).scope_metrics.remove(0).metrics.remove(0))
}

/// Decodes one gauge point given the members of its JSON object.
fn gauge_point(members: &str) -> Result<NumberDataPoint, JsonError> {
    match metric(&format!(r#""gauge":{{"dataPoints":[{{{members}}}]}}"#))?.data {
        Some(metric::Data::Gauge(mut gauge)) => Ok(gauge.data_points.remove(0)),
        other => panic!("expected a gauge, got {other:?}"),
    }
}

/// Decodes a log body given as JSON.
fn body(json: &str) -> Result<Option<AnyValue>, JsonError> {
    let body =
        format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{json}}}]}}]}}]}}"#);
    let mut request = logs_from_json(body.as_bytes())?;
    Ok(request.resource_logs.remove(0).scope_logs.remove(0).log_records.remove(0).body)
}

fn body_value(json: &str) -> Option<any_value::Value> {
    body(json).unwrap().and_then(|v| v.value)
}

fn error(result: Result<impl fmt::Debug, JsonError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn example_logs_decode() {
    let request = logs_from_json(&example("logs.json")).unwrap();
    let resource_logs = &request.resource_logs[0];
    let resource = resource_logs.resource.as_ref().unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
    let scope_logs = &resource_logs.scope_logs[0];
    let scope = scope_logs.scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("my.library", "1.0.0"));
    assert_eq!(scope.attributes[0].key, "my.scope.attribute");
    let record = &scope_logs.log_records[0];
    assert_eq!(record.time_unix_nano, 1_544_712_660_300_000_000);
    assert_eq!(record.observed_time_unix_nano, 1_544_712_660_300_000_000);
    assert_eq!(record.severity_text, "Information");
    assert_eq!(record.trace_id, hex("5b8efff798038103d269b633813fc60c"));
    assert_eq!(record.span_id, hex("eee19b7ec3c1b174"));
    let body = record.body.as_ref().and_then(|b| b.value.clone());
    assert_eq!(body, Some(any_value::Value::StringValue("Example log record".into())));
    let values: Vec<_> =
        record.attributes.iter().map(|kv| kv.value.clone().unwrap().value.unwrap()).collect();
    assert_eq!(values[0], any_value::Value::StringValue("some string".into()));
    assert_eq!(values[1], any_value::Value::BoolValue(true));
    assert_eq!(values[2], any_value::Value::IntValue(10));
    assert_eq!(values[3], any_value::Value::DoubleValue(637.704));
    let any_value::Value::ArrayValue(array) = &values[4] else { panic!("{:?}", values[4]) };
    assert_eq!(array.values.len(), 2);
    let any_value::Value::KvlistValue(kvlist) = &values[5] else { panic!("{:?}", values[5]) };
    assert_eq!(kvlist.values[0].key, "some.map.key");
}

#[test]
fn example_trace_decodes() {
    let request = traces_from_json(&example("trace.json")).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.trace_id, hex("5b8efff798038103d269b633813fc60c"));
    assert_eq!(span.span_id, hex("eee19b7ec3c1b174"));
    assert_eq!(span.parent_span_id, hex("eee19b7ec3c1b173"));
    assert_eq!(span.name, "I'm a server span");
    assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
    assert_eq!(span.kind, 2);
    assert_eq!(span.attributes[0].key, "my.span.attr");
}

#[test]
fn example_metrics_decode() {
    let request = metrics_from_json(&example("metrics.json")).unwrap();
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), 3);
    let Some(metric::Data::Sum(sum)) = &metrics[0].data else { panic!("{:?}", metrics[0]) };
    assert_eq!((metrics[0].name.as_str(), metrics[0].unit.as_str()), ("my.counter", "1"));
    assert_eq!(sum.aggregation_temporality, 1);
    assert!(sum.is_monotonic);
    assert_eq!(sum.data_points[0].value, Some(number_data_point::Value::AsDouble(5.0)));
    assert_eq!(sum.data_points[0].start_time_unix_nano, 1_544_712_660_300_000_000);
    let Some(metric::Data::Gauge(gauge)) = &metrics[1].data else { panic!("{:?}", metrics[1]) };
    assert_eq!(gauge.data_points[0].value, Some(number_data_point::Value::AsDouble(10.0)));
    let Some(metric::Data::Histogram(histogram)) = &metrics[2].data else { panic!() };
    let point = &histogram.data_points[0];
    // Kept as sent: the count/bounds mismatch is for item validation to reject, not the decoder.
    assert_eq!(point.bucket_counts, vec![1, 1, 1]);
    assert_eq!(point.explicit_bounds, vec![1.0]);
    assert_eq!(
        (point.count, point.sum, point.min, point.max),
        (3, Some(3.0), Some(1.0), Some(1.0))
    );
}

#[test]
fn as_int_as_string_and_as_number_give_the_same_value() {
    let from_string = gauge_point(r#""asInt": "7""#).unwrap();
    let from_number = gauge_point(r#""asInt": 7"#).unwrap();
    assert_eq!(from_string.value, Some(number_data_point::Value::AsInt(7)));
    assert_eq!(from_number.value, Some(number_data_point::Value::AsInt(7)));
    let big = gauge_point(r#""asInt": "-9223372036854775808""#).unwrap();
    assert_eq!(big.value, Some(number_data_point::Value::AsInt(i64::MIN)));
}

#[test]
fn int_value_as_string_and_as_number_give_the_same_value() {
    assert_eq!(body_value(r#"{"intValue": "42"}"#), Some(any_value::Value::IntValue(42)));
    assert_eq!(body_value(r#"{"intValue": 42}"#), Some(any_value::Value::IntValue(42)));
}

#[test]
fn upper_and_lower_case_hex_give_the_same_bytes() {
    let upper =
        span(r#""traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174""#);
    let lower =
        span(r#""traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174""#);
    let (upper, lower) = (upper.unwrap(), lower.unwrap());
    assert_eq!(upper.trace_id, lower.trace_id);
    assert_eq!(upper.span_id, hex("eee19b7ec3c1b174"));
    assert_eq!(span(r#""traceId": """#).unwrap().trace_id, Vec::<u8>::new());
    // A wrong length is item validation's business, not a decode error.
    assert_eq!(span(r#""spanId": "abcd""#).unwrap().span_id, vec![0xab, 0xcd]);
}

#[test]
fn bad_hex_is_an_error_with_its_path() {
    assert_eq!(
        error(span(r#""traceId": "5g""#)),
        "resourceSpans[0].scopeSpans[0].spans[0].traceId: invalid hex digit 'g'"
    );
    assert_eq!(
        error(span(r#""parentSpanId": "abc""#)),
        "resourceSpans[0].scopeSpans[0].spans[0].parentSpanId: odd number of hex digits (3)"
    );
}

#[test]
fn enums_accept_names_and_numbers() {
    let by_name =
        span(r#""kind": "SPAN_KIND_SERVER", "status": {"code": "STATUS_CODE_ERROR"}"#).unwrap();
    let by_number = span(r#""kind": 2, "status": {"code": 2}"#).unwrap();
    assert_eq!((by_name.kind, by_name.status.unwrap().code), (2, 2));
    assert_eq!((by_number.kind, by_number.status.unwrap().code), (2, 2));
    // Unknown numbers are kept for validation to judge; unknown names cannot be kept.
    assert_eq!(span(r#""kind": 99"#).unwrap().kind, 99);
    assert_eq!(
        error(span(r#""kind": "SPAN_KIND_NOPE""#)),
        r#"resourceSpans[0].scopeSpans[0].spans[0].kind: unknown enum value name "SPAN_KIND_NOPE""#
    );

    let logs = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"SEVERITY_NUMBER_INFO"}]}]}]}"#;
    let record = &logs_from_json(logs).unwrap().resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(record.severity_number, 9);

    let sum =
        metric(r#""sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA"}"#).unwrap();
    let Some(metric::Data::Sum(sum)) = sum.data else { panic!() };
    assert_eq!(sum.aggregation_temporality, 1);
}

#[test]
fn snake_case_field_names_are_accepted() {
    let body = br#"{"resource_spans":[{"scope_spans":[{"spans":[{
        "trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
        "parent_span_id":"eee19b7ec3c1b173","start_time_unix_nano":"1","end_time_unix_nano":2,
        "dropped_attributes_count":3,"dropped_events_count":4,"dropped_links_count":5,"trace_state":"a=b"
    }],"schema_url":"s"}]}]}"#;
    let request = traces_from_json(body).unwrap();
    let scope_spans = &request.resource_spans[0].scope_spans[0];
    let span = &scope_spans.spans[0];
    assert_eq!(scope_spans.schema_url, "s");
    assert_eq!(span.parent_span_id, hex("eee19b7ec3c1b173"));
    assert_eq!((span.start_time_unix_nano, span.end_time_unix_nano), (1, 2));
    assert_eq!(
        (span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count),
        (3, 4, 5)
    );
    assert_eq!(span.trace_state, "a=b");
    let point = gauge_point(r#""as_int": "5", "time_unix_nano": "10""#).unwrap();
    assert_eq!((point.value, point.time_unix_nano), (Some(number_data_point::Value::AsInt(5)), 10));
}

#[test]
fn unknown_fields_are_ignored() {
    let span = span(
        r#""name": "s", "futureField": {"deep": [1, {"x": null}]}, "other": [[]], "n": 1.5, "b": true"#,
    )
    .unwrap();
    assert_eq!(span.name, "s");
    let body = br#"{"resourceSpans":[], "extra": {"a": [1,2,3]}}"#;
    assert!(traces_from_json(body).unwrap().resource_spans.is_empty());
    assert_eq!(
        body_value(r#"{"stringValue": "x", "unknownValue": {}}"#),
        Some(any_value::Value::StringValue("x".into()))
    );
}

#[test]
fn null_means_default() {
    let span =
        span(r#""name": null, "kind": null, "traceId": null, "attributes": null, "status": null"#)
            .unwrap();
    assert_eq!(span, Span::default());
    assert_eq!(body(r#"{}"#).unwrap(), Some(AnyValue { value: None }));
    assert_eq!(
        body_value(r#"{"stringValue": null, "intValue": 3}"#),
        Some(any_value::Value::IntValue(3))
    );
    assert_eq!(traces_from_json(b"{}").unwrap().resource_spans.len(), 0);
}

#[test]
fn doubles_accept_special_strings_and_numeric_strings() {
    let value = |json: &str| match gauge_point(&format!(r#""asDouble": {json}"#)).unwrap().value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        other => panic!("{other:?}"),
    };
    assert!(value(r#""NaN""#).is_nan());
    assert_eq!(value(r#""Infinity""#), f64::INFINITY);
    assert_eq!(value(r#""-Infinity""#), f64::NEG_INFINITY);
    assert_eq!(value(r#""2.5""#), 2.5);
    assert_eq!(value("3"), 3.0);
    assert!(
        error(gauge_point(r#""asDouble": "inf""#))
            .ends_with(r#"asDouble: invalid double string "inf""#)
    );
}

#[test]
fn integers_are_checked() {
    let count =
        |json: &str| gauge_point(&format!(r#""timeUnixNano": {json}"#)).map(|p| p.time_unix_nano);
    assert_eq!(count("\"18446744073709551615\"").unwrap(), u64::MAX);
    assert_eq!(count("1e3").unwrap(), 1000);
    assert!(error(count("1.5")).ends_with("timeUnixNano: expected an integer, found 1.5"));
    assert!(error(count("-1")).ends_with("timeUnixNano: negative value -1 for uint64 field"));
    assert!(error(count("\"18446744073709551616\"")).contains("out of range for uint64"));
    assert!(error(count("\"12abc\"")).contains(r#"invalid integer string "12abc""#));
    assert!(error(count("true")).contains("expected an integer, found a boolean"));
    let flags = error(gauge_point(r#""flags": 4294967296"#));
    assert!(flags.ends_with("flags: integer 4294967296 is out of range for uint32"), "{flags}");
}

#[test]
fn bytes_values_are_base64() {
    let bytes = |json: &str| body_value(&format!(r#"{{"bytesValue": {json}}}"#));
    assert_eq!(bytes(r#""aGk/Pz8=""#), Some(any_value::Value::BytesValue(b"hi???".to_vec())));
    assert_eq!(bytes(r#""aGk_Pz8""#), Some(any_value::Value::BytesValue(b"hi???".to_vec())));
    let bad = error(body(r#"{"bytesValue": "a!!b"}"#));
    assert!(bad.ends_with("body.bytesValue: invalid base64 character '!' at offset 1"), "{bad}");
}

#[test]
fn two_members_of_a_oneof_are_an_error() {
    let point = error(gauge_point(r#""asInt": 1, "asDouble": 1.0"#));
    assert!(point.contains("more than one member of oneof 'value' is set"), "{point}");
    let value = error(body(r#"{"stringValue": "a", "boolValue": true}"#));
    assert!(value.contains("more than one member of oneof 'value' is set"), "{value}");
    let data = error(metric(r#""gauge": {}, "sum": {}"#));
    assert!(data.contains("more than one member of oneof 'data' is set"), "{data}");
}

#[test]
fn wrong_json_types_are_errors_with_paths() {
    assert_eq!(
        error(traces_from_json(br#"{"resourceSpans":[{"scopeSpans":"x"}]}"#)),
        "resourceSpans[0].scopeSpans: expected an array, found a string"
    );
    assert_eq!(
        error(traces_from_json(br#"{"resourceSpans":[{"resource":[]}]}"#)),
        "resourceSpans[0].resource: expected an object, found an array"
    );
    assert_eq!(error(traces_from_json(b"[]")), "$: expected an object, found an array");
    assert!(error(logs_from_json(b"{")).starts_with("$: invalid json: "));
    assert!(
        error(span(r#""name": 5"#)).ends_with("spans[0].name: expected a string, found a number")
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 40;
    let nested = format!("{}{}", r#"{"arrayValue":{"values":["#.repeat(depth), "]}}".repeat(depth));
    let message = error(body(&nested));
    assert!(message.contains("values nested deeper than 32 levels"), "{message}");
    // Deeper than serde_json's own limit: still an error.
    let very_deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(error(logs_from_json(very_deep.as_bytes())).contains("recursion limit"));
}

#[test]
fn every_metric_kind_and_its_fields_decode() {
    let exponential = metric(
        r#""exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [{
            "count": "5", "sum": 1.5, "scale": -3, "zeroCount": "1", "zeroThreshold": 0.001,
            "positive": {"offset": -2, "bucketCounts": ["1", 2]}, "negative": {"offset": 1},
            "min": 0, "max": "9.5", "flags": 1,
            "exemplars": [{"asInt": "4", "spanId": "EEE19B7EC3C1B174", "timeUnixNano": "8",
                           "filteredAttributes": [{"key": "k", "value": {"boolValue": false}}]}]
        }]}"#,
    )
    .unwrap();
    let Some(metric::Data::ExponentialHistogram(histogram)) = exponential.data else { panic!() };
    let point = &histogram.data_points[0];
    assert_eq!(
        (histogram.aggregation_temporality, point.count, point.scale, point.zero_count),
        (2, 5, -3, 1)
    );
    assert_eq!(
        (point.sum, point.min, point.max, point.zero_threshold),
        (Some(1.5), Some(0.0), Some(9.5), 0.001)
    );
    let positive = point.positive.as_ref().unwrap();
    assert_eq!((positive.offset, positive.bucket_counts.clone()), (-2, vec![1, 2]));
    assert_eq!(point.negative.as_ref().unwrap().offset, 1);
    let exemplar = &point.exemplars[0];
    assert_eq!(exemplar.value, Some(crate::otlp::metrics::v1::exemplar::Value::AsInt(4)));
    assert_eq!((exemplar.span_id.clone(), exemplar.time_unix_nano), (hex("eee19b7ec3c1b174"), 8));
    assert_eq!(exemplar.filtered_attributes[0].key, "k");

    let summary = metric(
        r#""summary": {"dataPoints": [{"count": 2, "sum": "3.5",
            "quantileValues": [{"quantile": 0.5, "value": 1}, {"quantile": 1, "value": "NaN"}]}]}"#,
    )
    .unwrap();
    let Some(metric::Data::Summary(summary)) = summary.data else { panic!() };
    let point = &summary.data_points[0];
    assert_eq!((point.count, point.sum, point.quantile_values.len()), (2, 3.5, 2));
    assert!(point.quantile_values[1].value.is_nan());

    let histogram =
        metric(r#""histogram": {"dataPoints": [{"count": 1}]}, "metadata": [{"key": "m"}]"#)
            .unwrap();
    assert_eq!(histogram.metadata[0].key, "m");
    let Some(metric::Data::Histogram(histogram)) = histogram.data else { panic!() };
    assert_eq!((histogram.data_points[0].sum, histogram.data_points[0].min), (None, None));
}

#[test]
fn span_events_links_status_and_newer_fields_decode() {
    let span = span(
        r#""flags": 769, "traceState": "k=v",
        "events": [{"timeUnixNano": "5", "name": "e", "droppedAttributesCount": 1}],
        "links": [{"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
                   "traceState": "x=y", "flags": 256, "droppedAttributesCount": 2,
                   "attributes": [{"key": "l", "value": {"doubleValue": "Infinity"}}]}],
        "status": {"message": "bad", "code": 2}"#,
    )
    .unwrap();
    assert_eq!((span.flags, span.trace_state.as_str()), (769, "k=v"));
    assert_eq!((span.events[0].time_unix_nano, span.events[0].name.as_str()), (5, "e"));
    let link = &span.links[0];
    assert_eq!(
        (link.flags, link.dropped_attributes_count, link.trace_state.as_str()),
        (256, 2, "x=y")
    );
    assert_eq!(link.span_id, hex("eee19b7ec3c1b174"));
    let status = span.status.unwrap();
    assert_eq!((status.message.as_str(), status.code), ("bad", 2));

    let logs = br#"{"resourceLogs":[{"resource":{"droppedAttributesCount":1,
        "entityRefs":[{"type":"host","idKeys":["host.id"],"descriptionKeys":["host.name"],"schemaUrl":"u"}]},
        "scopeLogs":[{"scope":{"droppedAttributesCount":2},"logRecords":[{"eventName":"boot","flags":1,
        "body":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}]}}}]}]}]}"#;
    let request = logs_from_json(logs).unwrap();
    let resource = request.resource_logs[0].resource.as_ref().unwrap();
    assert_eq!(
        (resource.dropped_attributes_count, resource.entity_refs[0].r#type.as_str()),
        (1, "host")
    );
    assert_eq!(resource.entity_refs[0].id_keys, vec!["host.id"]);
    let scope_logs = &request.resource_logs[0].scope_logs[0];
    assert_eq!(scope_logs.scope.as_ref().unwrap().dropped_attributes_count, 2);
    let record = &scope_logs.log_records[0];
    assert_eq!((record.event_name.as_str(), record.flags), ("boot", 1));
    let Some(any_value::Value::KvlistValue(kvlist)) = record.body.clone().unwrap().value else {
        panic!()
    };
    assert_eq!(kvlist.values[0].key, "a");
}
