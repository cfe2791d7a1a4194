//! `ExportTraceServiceRequest` → the `spans` table.

use std::sync::Arc;

use arrow_array::builder::{
    Int64Builder, StringBuilder, TimestampNanosecondBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::OffsetBufferBuilder;
use arrow_schema::{ArrowError, Schema};
use sightline_storage::{Table, TableBatch};

use super::attributes::AttributesBuilder;
use super::ids::HexEncoder;
use super::resource::{Origin, OriginColumns};
use super::{nanos, service_name, struct_list_array, timestamp_builder};
use crate::otlp::ExportTraceServiceRequest;
use crate::otlp::trace::v1::Span;
use crate::otlp::trace::v1::span::{Event, Link};

/// Converts every span of `request` into one `spans` batch; `None` when there are no spans.
pub fn spans_to_arrow(
    request: &ExportTraceServiceRequest,
) -> Result<Option<TableBatch>, ArrowError> {
    let sizes = SpanSizes::of(request);
    if sizes.rows == 0 {
        return Ok(None);
    }
    let mut columns = SpanColumns::with_capacity(&sizes);
    for resource_spans in &request.resource_spans {
        let resource = resource_spans.resource.as_ref();
        let service_name = service_name(resource);
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                columns.append(span, service_name)?;
            }
            let origin = Origin {
                resource,
                resource_schema_url: &resource_spans.schema_url,
                scope: scope_spans.scope.as_ref(),
                scope_schema_url: &scope_spans.schema_url,
            };
            columns.origin.fill_to(columns.rows, &origin)?;
        }
    }
    let schema = Table::Spans.schema();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns.finish(&schema)?)?;
    Ok(Some(TableBatch { table: Table::Spans, batch }))
}

/// The `kind` column's text for an OTLP `SpanKind` number.
fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "INTERNAL",
        2 => "SERVER",
        3 => "CLIENT",
        4 => "PRODUCER",
        5 => "CONSUMER",
        _ => "UNSPECIFIED",
    }
}

/// The `status_code` column's text for an OTLP `StatusCode` number.
fn status_code_name(code: i32) -> &'static str {
    match code {
        1 => "OK",
        2 => "ERROR",
        _ => "UNSET",
    }
}

/// What the builders must hold, counted before building so they allocate once.
#[derive(Debug, Default)]
struct SpanSizes {
    rows: usize,
    attributes: usize,
    events: usize,
    event_attributes: usize,
    links: usize,
    link_attributes: usize,
    resource_attributes: usize,
    scope_attributes: usize,
}

impl SpanSizes {
    fn of(request: &ExportTraceServiceRequest) -> Self {
        let mut sizes = SpanSizes::default();
        for resource_spans in &request.resource_spans {
            let resource_entries =
                resource_spans.resource.as_ref().map_or(0, |resource| resource.attributes.len());
            for scope_spans in &resource_spans.scope_spans {
                let rows = scope_spans.spans.len();
                let scope_entries =
                    scope_spans.scope.as_ref().map_or(0, |scope| scope.attributes.len());
                sizes.rows += rows;
                sizes.resource_attributes += rows * resource_entries;
                sizes.scope_attributes += rows * scope_entries;
                for span in &scope_spans.spans {
                    sizes.attributes += span.attributes.len();
                    sizes.events += span.events.len();
                    sizes.event_attributes +=
                        span.events.iter().map(|e| e.attributes.len()).sum::<usize>();
                    sizes.links += span.links.len();
                    sizes.link_attributes +=
                        span.links.iter().map(|l| l.attributes.len()).sum::<usize>();
                }
            }
        }
        sizes
    }
}

#[derive(Debug)]
struct SpanColumns {
    rows: usize,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    parent_span_id: StringBuilder,
    trace_state: StringBuilder,
    name: StringBuilder,
    kind: StringBuilder,
    start_time: TimestampNanosecondBuilder,
    end_time: TimestampNanosecondBuilder,
    duration_ns: Int64Builder,
    status_code: StringBuilder,
    status_message: StringBuilder,
    service_name: StringBuilder,
    flags: UInt32Builder,
    attributes: AttributesBuilder,
    dropped_attributes_count: UInt32Builder,
    events: EventColumns,
    dropped_events_count: UInt32Builder,
    links: LinkColumns,
    dropped_links_count: UInt32Builder,
    origin: OriginColumns,
    hex: HexEncoder,
}

impl SpanColumns {
    fn with_capacity(sizes: &SpanSizes) -> Self {
        let rows = sizes.rows;
        SpanColumns {
            rows: 0,
            trace_id: StringBuilder::with_capacity(rows, rows * 32),
            span_id: StringBuilder::with_capacity(rows, rows * 16),
            parent_span_id: StringBuilder::with_capacity(rows, rows * 16),
            trace_state: StringBuilder::with_capacity(rows, 0),
            name: StringBuilder::with_capacity(rows, rows * 24),
            kind: StringBuilder::with_capacity(rows, rows * 8),
            start_time: timestamp_builder(rows),
            end_time: timestamp_builder(rows),
            duration_ns: Int64Builder::with_capacity(rows),
            status_code: StringBuilder::with_capacity(rows, rows * 5),
            status_message: StringBuilder::with_capacity(rows, 0),
            service_name: StringBuilder::with_capacity(rows, rows * 16),
            flags: UInt32Builder::with_capacity(rows),
            attributes: AttributesBuilder::with_capacity(rows, sizes.attributes),
            dropped_attributes_count: UInt32Builder::with_capacity(rows),
            events: EventColumns::with_capacity(rows, sizes.events, sizes.event_attributes),
            dropped_events_count: UInt32Builder::with_capacity(rows),
            links: LinkColumns::with_capacity(rows, sizes.links, sizes.link_attributes),
            dropped_links_count: UInt32Builder::with_capacity(rows),
            origin: OriginColumns::with_capacity(
                rows,
                sizes.resource_attributes,
                sizes.scope_attributes,
            ),
            hex: HexEncoder::default(),
        }
    }

    fn append(&mut self, span: &Span, service_name: &str) -> Result<(), ArrowError> {
        self.hex.append(&mut self.trace_id, &span.trace_id);
        self.hex.append(&mut self.span_id, &span.span_id);
        self.hex.append_optional(&mut self.parent_span_id, &span.parent_span_id);
        self.trace_state.append_value(&span.trace_state);
        self.name.append_value(&span.name);
        self.kind.append_value(kind_name(span.kind));
        let start = nanos(span.start_time_unix_nano);
        let end = nanos(span.end_time_unix_nano);
        self.start_time.append_value(start);
        self.end_time.append_value(end);
        self.duration_ns.append_value(end.saturating_sub(start));
        let (code, message) =
            span.status.as_ref().map_or((0, ""), |s| (s.code, s.message.as_str()));
        self.status_code.append_value(status_code_name(code));
        self.status_message.append_value(message);
        self.service_name.append_value(service_name);
        self.flags.append_value(span.flags);
        self.attributes.append(&span.attributes)?;
        self.dropped_attributes_count.append_value(span.dropped_attributes_count);
        self.events.append(&span.events)?;
        self.dropped_events_count.append_value(span.dropped_events_count);
        self.links.append(&span.links, &mut self.hex)?;
        self.dropped_links_count.append_value(span.dropped_links_count);
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self, schema: &Schema) -> Result<Vec<ArrayRef>, ArrowError> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.parent_span_id.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.start_time.finish()),
            Arc::new(self.end_time.finish()),
            Arc::new(self.duration_ns.finish()),
            Arc::new(self.status_code.finish()),
            Arc::new(self.status_message.finish()),
            Arc::new(self.service_name.finish()),
            Arc::new(self.flags.finish()),
            self.attributes.finish(),
            Arc::new(self.dropped_attributes_count.finish()),
            self.events.finish(schema)?,
            Arc::new(self.dropped_events_count.finish()),
            self.links.finish(schema)?,
            Arc::new(self.dropped_links_count.finish()),
        ];
        self.origin.finish_into(&mut columns);
        Ok(columns)
    }
}

/// The `events` column: a list of event structs per span.
#[derive(Debug)]
struct EventColumns {
    offsets: OffsetBufferBuilder<i32>,
    time: TimestampNanosecondBuilder,
    name: StringBuilder,
    attributes: AttributesBuilder,
    dropped_attributes_count: UInt32Builder,
}

impl EventColumns {
    fn with_capacity(spans: usize, events: usize, attributes: usize) -> Self {
        EventColumns {
            offsets: OffsetBufferBuilder::new(spans),
            time: timestamp_builder(events),
            name: StringBuilder::with_capacity(events, events * 16),
            attributes: AttributesBuilder::with_capacity(events, attributes),
            dropped_attributes_count: UInt32Builder::with_capacity(events),
        }
    }

    fn append(&mut self, events: &[Event]) -> Result<(), ArrowError> {
        for event in events {
            self.time.append_value(nanos(event.time_unix_nano));
            self.name.append_value(&event.name);
            self.attributes.append(&event.attributes)?;
            self.dropped_attributes_count.append_value(event.dropped_attributes_count);
        }
        self.offsets.push_length(events.len());
        Ok(())
    }

    fn finish(mut self, schema: &Schema) -> Result<ArrayRef, ArrowError> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.name.finish()),
            self.attributes.finish(),
            Arc::new(self.dropped_attributes_count.finish()),
        ];
        struct_list_array(schema, "events", self.offsets, children)
    }
}

/// The `links` column: a list of link structs per span.
#[derive(Debug)]
struct LinkColumns {
    offsets: OffsetBufferBuilder<i32>,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    trace_state: StringBuilder,
    attributes: AttributesBuilder,
    dropped_attributes_count: UInt32Builder,
    flags: UInt32Builder,
}

impl LinkColumns {
    fn with_capacity(spans: usize, links: usize, attributes: usize) -> Self {
        LinkColumns {
            offsets: OffsetBufferBuilder::new(spans),
            trace_id: StringBuilder::with_capacity(links, links * 32),
            span_id: StringBuilder::with_capacity(links, links * 16),
            trace_state: StringBuilder::with_capacity(links, 0),
            attributes: AttributesBuilder::with_capacity(links, attributes),
            dropped_attributes_count: UInt32Builder::with_capacity(links),
            flags: UInt32Builder::with_capacity(links),
        }
    }

    fn append(&mut self, links: &[Link], hex: &mut HexEncoder) -> Result<(), ArrowError> {
        for link in links {
            hex.append(&mut self.trace_id, &link.trace_id);
            hex.append(&mut self.span_id, &link.span_id);
            self.trace_state.append_value(&link.trace_state);
            self.attributes.append(&link.attributes)?;
            self.dropped_attributes_count.append_value(link.dropped_attributes_count);
            self.flags.append_value(link.flags);
        }
        self.offsets.push_length(links.len());
        Ok(())
    }

    fn finish(mut self, schema: &Schema) -> Result<ArrayRef, ArrowError> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_state.finish()),
            self.attributes.finish(),
            Arc::new(self.dropped_attributes_count.finish()),
            Arc::new(self.flags.finish()),
        ];
        struct_list_array(schema, "links", self.offsets, children)
    }
}

#[cfg(test)]
mod tests;
