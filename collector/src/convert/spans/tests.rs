use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampNanosecondType, UInt32Type};
use arrow_array::{Array, RecordBatch, StructArray};

use super::*;
use crate::convert::test_support::*;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Status};

const TRACE_ID: [u8; 16] = [
    0x5B, 0x8E, 0xFF, 0xF7, 0x98, 0x03, 0x81, 0x03, 0xD2, 0x69, 0xB6, 0x33, 0x81, 0x3F, 0xC6, 0x0C,
];
const SPAN_ID: [u8; 8] = [0xEE, 0xE1, 0x9B, 0x7E, 0xC3, 0xC1, 0xB1, 0x74];
const PARENT_ID: [u8; 8] = [0xEE, 0xE1, 0x9B, 0x7E, 0xC3, 0xC1, 0xB1, 0x73];

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(test_resource()),
            scope_spans: vec![ScopeSpans {
                scope: Some(test_scope()),
                spans,
                schema_url: "https://scope".to_string(),
            }],
            schema_url: "https://resource".to_string(),
        }],
    }
}

fn convert(request: &ExportTraceServiceRequest) -> RecordBatch {
    let batch = spans_to_arrow(request).expect("converts").expect("has rows");
    assert_eq!(batch.table, Table::Spans);
    assert_eq!(batch.batch.schema(), Table::Spans.schema());
    assert_columns_match_schema(&batch.batch);
    batch.batch
}

fn full_span() -> Span {
    Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        trace_state: "rojo=00f067aa0ba902b7".to_string(),
        parent_span_id: PARENT_ID.to_vec(),
        flags: 0x301,
        name: "I'm a server span".to_string(),
        kind: 2,
        start_time_unix_nano: 1_544_712_660_000_000_000,
        end_time_unix_nano: 1_544_712_661_000_000_000,
        attributes: vec![kv("my.span.attr", string("some value")), kv("retries", int(2))],
        dropped_attributes_count: 1,
        events: vec![Event {
            time_unix_nano: 1_544_712_660_500_000_000,
            name: "exception".to_string(),
            attributes: vec![kv("exception.message", string("boom"))],
            dropped_attributes_count: 4,
        }],
        dropped_events_count: 5,
        links: vec![Link {
            trace_id: TRACE_ID.to_vec(),
            span_id: PARENT_ID.to_vec(),
            trace_state: "congo=t61rcWkgMzE".to_string(),
            attributes: vec![kv("link.kind", string("follows"))],
            dropped_attributes_count: 6,
            flags: 0x101,
        }],
        dropped_links_count: 7,
        status: Some(Status { message: "it broke".to_string(), code: 2 }),
    }
}

/// The struct items of list column `name` at `row`.
fn list_items(batch: &RecordBatch, name: &str, row: usize) -> StructArray {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    column.as_list::<i32>().value(row).as_struct().clone()
}

fn struct_text(items: &StructArray, name: &str, index: usize) -> String {
    let column = items.column_by_name(name).unwrap_or_else(|| panic!("no field {name}"));
    column.as_string::<i32>().value(index).to_string()
}

fn struct_u32(items: &StructArray, name: &str, index: usize) -> u32 {
    let column = items.column_by_name(name).unwrap_or_else(|| panic!("no field {name}"));
    column.as_primitive::<UInt32Type>().value(index)
}

#[test]
fn every_field_of_a_span() {
    let batch = convert(&request(vec![full_span()]));
    assert_eq!(batch.num_rows(), 1);
    let text = |name| text(&batch, name, 0);
    assert_eq!(text("trace_id").as_deref(), Some("5b8efff798038103d269b633813fc60c"));
    assert_eq!(text("span_id").as_deref(), Some("eee19b7ec3c1b174"));
    assert_eq!(text("parent_span_id").as_deref(), Some("eee19b7ec3c1b173"));
    assert_eq!(text("trace_state").as_deref(), Some("rojo=00f067aa0ba902b7"));
    assert_eq!(text("name").as_deref(), Some("I'm a server span"));
    assert_eq!(text("kind").as_deref(), Some("SERVER"));
    let ts = |name| primitive::<TimestampNanosecondType>(&batch, name, 0);
    assert_eq!(ts("start_time"), Some(1_544_712_660_000_000_000));
    assert_eq!(ts("end_time"), Some(1_544_712_661_000_000_000));
    assert_eq!(primitive::<Int64Type>(&batch, "duration_ns", 0), Some(1_000_000_000));
    assert_eq!(text("status_code").as_deref(), Some("ERROR"));
    assert_eq!(text("status_message").as_deref(), Some("it broke"));
    assert_eq!(text("service_name").as_deref(), Some("my.service"));
    let count = |name| primitive::<UInt32Type>(&batch, name, 0);
    assert_eq!(count("flags"), Some(0x301));
    assert_eq!(
        map(&batch, "attributes", 0),
        entries(&[("my.span.attr", Some("some value")), ("retries", Some("2"))])
    );
    assert_eq!(count("dropped_attributes_count"), Some(1));
    assert_eq!(count("dropped_events_count"), Some(5));
    assert_eq!(count("dropped_links_count"), Some(7));

    let events = list_items(&batch, "events", 0);
    assert_eq!(events.len(), 1);
    let event_time = events.column(0).as_primitive::<TimestampNanosecondType>().value(0);
    assert_eq!(event_time, 1_544_712_660_500_000_000);
    assert_eq!(struct_text(&events, "name", 0), "exception");
    let event_attributes = events.column_by_name("attributes").expect("attributes");
    assert_eq!(
        map_entries(event_attributes.as_map(), 0),
        entries(&[("exception.message", Some("boom"))])
    );
    assert_eq!(struct_u32(&events, "dropped_attributes_count", 0), 4);

    let links = list_items(&batch, "links", 0);
    assert_eq!(links.len(), 1);
    assert_eq!(struct_text(&links, "trace_id", 0), "5b8efff798038103d269b633813fc60c");
    assert_eq!(struct_text(&links, "span_id", 0), "eee19b7ec3c1b173");
    assert_eq!(struct_text(&links, "trace_state", 0), "congo=t61rcWkgMzE");
    let link_attributes = links.column_by_name("attributes").expect("attributes");
    assert_eq!(
        map_entries(link_attributes.as_map(), 0),
        entries(&[("link.kind", Some("follows"))])
    );
    assert_eq!(struct_u32(&links, "dropped_attributes_count", 0), 6);
    assert_eq!(struct_u32(&links, "flags", 0), 0x101);
    assert_test_origin(&batch, 0);
}

#[test]
fn root_span_without_status_events_or_links() {
    let root = Span {
        parent_span_id: vec![],
        status: None,
        events: vec![],
        links: vec![],
        kind: 0,
        ..full_span()
    };
    let batch = convert(&request(vec![full_span(), root, full_span()]));
    assert_eq!(text(&batch, "parent_span_id", 1), None);
    assert_eq!(text(&batch, "status_code", 1).as_deref(), Some("UNSET"));
    assert_eq!(text(&batch, "status_message", 1).as_deref(), Some(""));
    assert_eq!(text(&batch, "kind", 1).as_deref(), Some("UNSPECIFIED"));
    assert_eq!(list_items(&batch, "events", 1).len(), 0);
    assert_eq!(list_items(&batch, "links", 1).len(), 0);
    // The spans around it keep their own events and links.
    assert_eq!(struct_text(&list_items(&batch, "events", 2), "name", 0), "exception");
    assert_eq!(list_items(&batch, "links", 2).len(), 1);
}

#[test]
fn kinds_statuses_and_odd_times() {
    assert_eq!(
        (0..7).map(kind_name).collect::<Vec<_>>(),
        ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER", "UNSPECIFIED"]
    );
    assert_eq!((0..4).map(status_code_name).collect::<Vec<_>>(), ["UNSET", "OK", "ERROR", "UNSET"]);
    let backwards = Span { start_time_unix_nano: 10, end_time_unix_nano: 4, ..full_span() };
    let huge = Span { start_time_unix_nano: 0, end_time_unix_nano: u64::MAX, ..full_span() };
    let batch = convert(&request(vec![backwards, huge]));
    assert_eq!(primitive::<Int64Type>(&batch, "duration_ns", 0), Some(-6));
    assert_eq!(primitive::<TimestampNanosecondType>(&batch, "end_time", 1), Some(i64::MAX));
    assert_eq!(primitive::<Int64Type>(&batch, "duration_ns", 1), Some(i64::MAX));
}

#[test]
fn missing_service_name_is_unknown_service() {
    let mut request = request(vec![full_span()]);
    request.resource_spans[0].resource = None;
    let batch = convert(&request);
    assert_eq!(text(&batch, "service_name", 0).as_deref(), Some("unknown_service"));
}

#[test]
fn empty_requests_give_no_batch() {
    assert!(spans_to_arrow(&ExportTraceServiceRequest::default()).expect("converts").is_none());
    assert!(spans_to_arrow(&request(vec![])).expect("converts").is_none());
}
