//! `ExportTraceServiceRequest`.

use serde_json::Value;

use super::common::{attributes, resource, scope};
use super::scalar::{enumeration, hex_id, string, u32, u64};
use super::{Path, Result, object, repeated};
use crate::otlp::ExportTraceServiceRequest;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status};

pub(super) fn request(value: Value, path: &Path) -> Result<ExportTraceServiceRequest> {
    let mut request = ExportTraceServiceRequest::default();
    for (name, value) in object(value, path)? {
        if let "resourceSpans" | "resource_spans" = name.as_str() {
            request.resource_spans = repeated(value, &path.field("resourceSpans"), resource_spans)?;
        }
    }
    Ok(request)
}

fn resource_spans(value: Value, path: &Path) -> Result<ResourceSpans> {
    let mut out = ResourceSpans::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "resource" => out.resource = Some(resource(value, &path.field("resource"))?),
            "scopeSpans" | "scope_spans" => {
                out.scope_spans = repeated(value, &path.field("scopeSpans"), scope_spans)?
            }
            "schemaUrl" | "schema_url" => out.schema_url = string(value, &path.field("schemaUrl"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn scope_spans(value: Value, path: &Path) -> Result<ScopeSpans> {
    let mut out = ScopeSpans::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "scope" => out.scope = Some(scope(value, &path.field("scope"))?),
            "spans" => out.spans = repeated(value, &path.field("spans"), span)?,
            "schemaUrl" | "schema_url" => out.schema_url = string(value, &path.field("schemaUrl"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn span_kind_from_name(name: &str) -> Option<i32> {
    span::SpanKind::from_str_name(name).map(|k| k as i32)
}

fn status_code_from_name(name: &str) -> Option<i32> {
    status::StatusCode::from_str_name(name).map(|c| c as i32)
}

fn span(value: Value, path: &Path) -> Result<Span> {
    let mut span = Span::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "traceId" | "trace_id" => span.trace_id = hex_id(value, &path.field("traceId"))?,
            "spanId" | "span_id" => span.span_id = hex_id(value, &path.field("spanId"))?,
            "traceState" | "trace_state" => {
                span.trace_state = string(value, &path.field("traceState"))?
            }
            "parentSpanId" | "parent_span_id" => {
                span.parent_span_id = hex_id(value, &path.field("parentSpanId"))?
            }
            "flags" => span.flags = u32(value, &path.field("flags"))?,
            "name" => span.name = string(value, &path.field("name"))?,
            "kind" => span.kind = enumeration(value, &path.field("kind"), span_kind_from_name)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                span.start_time_unix_nano = u64(value, &path.field("startTimeUnixNano"))?
            }
            "endTimeUnixNano" | "end_time_unix_nano" => {
                span.end_time_unix_nano = u64(value, &path.field("endTimeUnixNano"))?
            }
            "attributes" => span.attributes = attributes(value, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                span.dropped_attributes_count = u32(value, &path.field("droppedAttributesCount"))?
            }
            "events" => span.events = repeated(value, &path.field("events"), event)?,
            "droppedEventsCount" | "dropped_events_count" => {
                span.dropped_events_count = u32(value, &path.field("droppedEventsCount"))?
            }
            "links" => span.links = repeated(value, &path.field("links"), link)?,
            "droppedLinksCount" | "dropped_links_count" => {
                span.dropped_links_count = u32(value, &path.field("droppedLinksCount"))?
            }
            "status" => span.status = Some(status(value, &path.field("status"))?),
            _ => {}
        }
    }
    Ok(span)
}

fn event(value: Value, path: &Path) -> Result<span::Event> {
    let mut event = span::Event::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "timeUnixNano" | "time_unix_nano" => {
                event.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "name" => event.name = string(value, &path.field("name"))?,
            "attributes" => event.attributes = attributes(value, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                event.dropped_attributes_count = u32(value, &path.field("droppedAttributesCount"))?
            }
            _ => {}
        }
    }
    Ok(event)
}

fn link(value: Value, path: &Path) -> Result<span::Link> {
    let mut link = span::Link::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "traceId" | "trace_id" => link.trace_id = hex_id(value, &path.field("traceId"))?,
            "spanId" | "span_id" => link.span_id = hex_id(value, &path.field("spanId"))?,
            "traceState" | "trace_state" => {
                link.trace_state = string(value, &path.field("traceState"))?
            }
            "attributes" => link.attributes = attributes(value, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                link.dropped_attributes_count = u32(value, &path.field("droppedAttributesCount"))?
            }
            "flags" => link.flags = u32(value, &path.field("flags"))?,
            _ => {}
        }
    }
    Ok(link)
}

fn status(value: Value, path: &Path) -> Result<Status> {
    let mut status = Status::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "message" => status.message = string(value, &path.field("message"))?,
            "code" => status.code = enumeration(value, &path.field("code"), status_code_from_name)?,
            _ => {}
        }
    }
    Ok(status)
}
