//! Decoding OTLP/protobuf into a request decoded before, keeping its allocations.
//!
//! prost decodes a request into a tree that owns a `String` or `Vec` for every key, value, body and id, and the
//! request frees them all once it is stored: under load, allocating and freeing that tree is about a fifth of
//! the daemon's CPU (BENCHMARKS.md, "Decoding into the previous request"). Here a request is decoded into the
//! tree of an earlier one instead: every element of a repeated message field is decoded into the element at the
//! same place, whose strings keep their capacity (prost's own string decoding clears and refills them), surplus
//! elements are dropped and missing ones added, and every field the new message does not hold is reset. The
//! tree then equals what `Message::decode` returns for the same bytes, field for field (`reuse/tests.rs`
//! checks that against prost for arbitrary, concatenated and damaged bodies).
//!
//! Only the fields every request has in numbers are reused: the request, resource and scope levels, records,
//! spans, events, links, metrics, data points, attributes and values. Every other field (exemplars, quantiles,
//! entity references, a second occurrence of a singular message, which protobuf merges) is reset and then decoded
//! by prost itself, whose nesting limit then counts from there: nesting stays bounded, at twice prost's limit
//! at worst.

#[cfg(test)]
mod tests;

use std::mem::size_of;

use prost::Message;
use prost::encoding::{
    DecodeContext, WireType, check_wire_type, decode_key, decode_varint, string,
};

use crate::otlp::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// How deep messages may nest, as prost allows (its `RECURSION_LIMIT`): `AnyValue`s nest without bound.
const NESTING_LIMIT: u32 = 100;

/// Why a body is not a request.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Protobuf(#[from] prost::DecodeError),
    #[error("a length-delimited field runs past the end of its message")]
    Truncated,
    #[error("messages nested deeper than {NESTING_LIMIT} levels")]
    TooDeep,
}

/// A message that can be decoded into an earlier one of its type.
pub trait Reuse: Message + Default {
    /// Decodes `buf`, the whole encoding of one message, into `self`, which becomes what `Self::decode(buf)`
    /// would return.
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError>;
}

/// Decodes `body` into `request`, which becomes what `R::decode(body)` would return; answers the bytes of heap
/// the request now holds, to decide whether it is worth keeping for the next one. On an error `request` holds
/// part of the body and should be dropped.
pub fn decode_into<R: Reuse>(request: &mut R, body: &[u8]) -> Result<usize, DecodeError> {
    let mut walk = Walk { nesting_left: NESTING_LIMIT, held: 0 };
    request.decode_reusing(body, &mut walk)?;
    Ok(walk.held)
}

/// What a decode carries down the tree.
#[derive(Debug)]
pub struct Walk {
    nesting_left: u32,
    /// Heap bytes held by the reused fields decoded so far (what prost decodes itself counts as its vectors).
    held: usize,
}

impl Walk {
    fn hold(&mut self, owner: &impl Heap) {
        self.held += owner.heap_bytes();
    }
}

/// What owns heap memory in a decoded tree.
trait Heap {
    fn heap_bytes(&self) -> usize;
}

impl Heap for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T> Heap for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
}

/// The fields of one message: `field` decodes those it reuses and answers `false` for the others, which prost
/// decodes (and skips when unknown).
fn fields<M: Message>(
    message: &mut M,
    mut buf: &[u8],
    walk: &mut Walk,
    mut field: impl FnMut(&mut M, u32, WireType, &mut &[u8], &mut Walk) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        if !field(message, tag, wire_type, &mut buf, walk)? {
            message.merge_field(tag, wire_type, &mut buf, DecodeContext::default())?;
        }
    }
    Ok(())
}

/// Decodes the length-delimited field at the start of `buf` into `message`, one level deeper.
fn nested<M: Reuse>(
    message: &mut M,
    wire_type: WireType,
    buf: &mut &[u8],
    walk: &mut Walk,
) -> Result<bool, DecodeError> {
    check_wire_type(WireType::LengthDelimited, wire_type)?;
    let len = decode_varint(buf)?;
    let len =
        usize::try_from(len).ok().filter(|&len| len <= buf.len()).ok_or(DecodeError::Truncated)?;
    let (body, rest) = buf.split_at(len);
    *buf = rest;
    if walk.nesting_left == 0 {
        return Err(DecodeError::TooDeep);
    }
    walk.nesting_left -= 1;
    let decoded = message.decode_reusing(body, walk);
    walk.nesting_left += 1;
    decoded.map(|()| true)
}

/// A repeated message field being decoded: the n-th element of the message is decoded into the n-th element the
/// field held before.
struct Repeated {
    used: usize,
}

impl Repeated {
    fn new() -> Repeated {
        Repeated { used: 0 }
    }

    fn next<M: Reuse>(
        &mut self,
        items: &mut Vec<M>,
        wire_type: WireType,
        buf: &mut &[u8],
        walk: &mut Walk,
    ) -> Result<bool, DecodeError> {
        if self.used == items.len() {
            items.push(M::default());
        }
        nested(&mut items[self.used], wire_type, buf, walk)?;
        self.used += 1;
        Ok(true)
    }

    fn finish<M>(self, items: &mut Vec<M>, walk: &mut Walk) {
        items.truncate(self.used);
        walk.hold(items);
    }
}

/// A singular message field being decoded: the first occurrence is decoded into the message the field held
/// before; protobuf merges any later one into it, which prost does.
struct Singular {
    seen: bool,
}

impl Singular {
    fn new() -> Singular {
        Singular { seen: false }
    }

    fn first<M: Reuse>(
        &mut self,
        item: &mut Option<M>,
        wire_type: WireType,
        buf: &mut &[u8],
        walk: &mut Walk,
    ) -> Result<bool, DecodeError> {
        if self.seen {
            return Ok(false);
        }
        self.seen = true;
        nested(item.get_or_insert_default(), wire_type, buf, walk)
    }

    fn finish<M>(self, item: &mut Option<M>) {
        if !self.seen {
            *item = None;
        }
    }
}

/// Decodes the first message-typed value of a oneof into the previous value if it is of the same variant
/// (`inner` finds it there), into a new message otherwise, and makes it the oneof's value (`wrap`).
fn variant<V, M: Reuse>(
    value: &mut Option<V>,
    wrap: fn(M) -> V,
    wire_type: WireType,
    buf: &mut &[u8],
    walk: &mut Walk,
    inner: fn(V) -> Option<M>,
) -> Result<bool, DecodeError> {
    let mut message = value.take().and_then(inner).unwrap_or_default();
    let decoded = nested(&mut message, wire_type, buf, walk);
    *value = Some(wrap(message));
    decoded
}

/// A request, resource or scope level: one repeated message field, the rest reset (and the heap of those
/// named after `holds` counted).
macro_rules! level {
    ($message:ty, $tag:literal => $items:ident, |$this:ident| $reset:block) => {
        level!($message, $tag => $items, |$this| $reset, holds []);
    };
    ($message:ty, $tag:literal => $items:ident, |$this:ident| $reset:block, holds [$($held:ident),*]) => {
        impl Reuse for $message {
            fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
                let $this = &mut *self;
                $reset
                let mut items = Repeated::new();
                fields(self, buf, walk, |message, tag, wire_type, buf, walk| match tag {
                    $tag => items.next(&mut message.$items, wire_type, buf, walk),
                    _ => Ok(false),
                })?;
                items.finish(&mut self.$items, walk);
                $(walk.hold(&self.$held);)*
                Ok(())
            }
        }
    };
}

level!(ExportLogsServiceRequest, 1 => resource_logs, |request| {
    let ExportLogsServiceRequest { resource_logs: _ } = request;
});
level!(ExportTraceServiceRequest, 1 => resource_spans, |request| {
    let ExportTraceServiceRequest { resource_spans: _ } = request;
});
level!(ExportMetricsServiceRequest, 1 => resource_metrics, |request| {
    let ExportMetricsServiceRequest { resource_metrics: _ } = request;
});
level!(ArrayValue, 1 => values, |array| {
    let ArrayValue { values: _ } = array;
});
level!(KeyValueList, 1 => values, |list| {
    let KeyValueList { values: _ } = list;
});
level!(Gauge, 1 => data_points, |gauge| {
    let Gauge { data_points: _ } = gauge;
});
level!(Sum, 1 => data_points, |sum| {
    let Sum { data_points: _, aggregation_temporality, is_monotonic } = sum;
    (*aggregation_temporality, *is_monotonic) = (0, false);
});
level!(Histogram, 1 => data_points, |histogram| {
    let Histogram { data_points: _, aggregation_temporality } = histogram;
    *aggregation_temporality = 0;
});
level!(ExponentialHistogram, 1 => data_points, |histogram| {
    let ExponentialHistogram { data_points: _, aggregation_temporality } = histogram;
    *aggregation_temporality = 0;
});
level!(Summary, 1 => data_points, |summary| {
    let Summary { data_points: _ } = summary;
});
level!(Resource, 1 => attributes, |resource| {
    let Resource { attributes: _, dropped_attributes_count, entity_refs } = resource;
    *dropped_attributes_count = 0;
    entity_refs.clear();
}, holds [entity_refs]);
level!(InstrumentationScope, 3 => attributes, |scope| {
    let InstrumentationScope { name, version, attributes: _, dropped_attributes_count } = scope;
    name.clear();
    version.clear();
    *dropped_attributes_count = 0;
}, holds [name, version]);

/// `ResourceLogs`, `ResourceSpans`, `ResourceMetrics` and their scopes: a singular message (tag 1), a repeated
/// one (tag 2) and a schema URL (tag 3).
macro_rules! container {
    ($message:ident { $single:ident, $items:ident }) => {
        impl Reuse for $message {
            fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
                let $message { $single: _, $items: _, schema_url } = self;
                schema_url.clear();
                let (mut single, mut items) = (Singular::new(), Repeated::new());
                fields(self, buf, walk, |message, tag, wire_type, buf, walk| match tag {
                    1 => single.first(&mut message.$single, wire_type, buf, walk),
                    2 => items.next(&mut message.$items, wire_type, buf, walk),
                    _ => Ok(false),
                })?;
                single.finish(&mut self.$single);
                items.finish(&mut self.$items, walk);
                walk.hold(&self.schema_url);
                Ok(())
            }
        }
    };
}

container!(ResourceLogs { resource, scope_logs });
container!(ScopeLogs { scope, log_records });
container!(ResourceSpans { resource, scope_spans });
container!(ScopeSpans { scope, spans });
container!(ResourceMetrics { resource, scope_metrics });
container!(ScopeMetrics { scope, metrics });

impl Reuse for KeyValue {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let KeyValue { key, value: _, key_strindex } = self;
        key.clear();
        *key_strindex = 0;
        let mut value = Singular::new();
        fields(self, buf, walk, |pair, tag, wire_type, buf, walk| match tag {
            2 => value.first(&mut pair.value, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        value.finish(&mut self.value);
        walk.hold(&self.key);
        Ok(())
    }
}

impl Reuse for AnyValue {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        use any_value::Value;
        let AnyValue { value: _ } = self;
        let mut seen = false;
        fields(self, buf, walk, |any, tag, wire_type, buf, walk| {
            // The first value goes into the previous one where it is of the same kind; arrays and lists are
            // decoded here in any case, so that their nesting counts. Any later value replaces or merges into
            // the first, as protobuf has it for a oneof: prost does that.
            let reused = match (tag, &mut any.value) {
                _ if seen => Ok(false),
                (1, Some(Value::StringValue(text))) => {
                    string::merge(wire_type, text, buf, DecodeContext::default())?;
                    Ok(true)
                }
                (5, value) => {
                    variant(value, Value::ArrayValue, wire_type, buf, walk, |value| match value {
                        Value::ArrayValue(array) => Some(array),
                        _ => None,
                    })
                }
                (6, value) => {
                    variant(value, Value::KvlistValue, wire_type, buf, walk, |value| match value {
                        Value::KvlistValue(list) => Some(list),
                        _ => None,
                    })
                }
                _ => Ok(false),
            };
            seen |= (1..=8).contains(&tag);
            reused
        })?;
        if !seen {
            self.value = None;
        }
        match &self.value {
            Some(Value::StringValue(text)) => walk.hold(text),
            Some(Value::BytesValue(bytes)) => walk.hold(bytes),
            _ => {}
        }
        Ok(())
    }
}

impl Reuse for LogRecord {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let LogRecord {
            time_unix_nano,
            observed_time_unix_nano,
            severity_number,
            severity_text,
            body: _,
            attributes: _,
            dropped_attributes_count,
            flags,
            trace_id,
            span_id,
            event_name,
        } = self;
        (*time_unix_nano, *observed_time_unix_nano) = (0, 0);
        (*severity_number, *dropped_attributes_count, *flags) = (0, 0, 0);
        severity_text.clear();
        trace_id.clear();
        span_id.clear();
        event_name.clear();
        let (mut body, mut attributes) = (Singular::new(), Repeated::new());
        fields(self, buf, walk, |record, tag, wire_type, buf, walk| match tag {
            5 => body.first(&mut record.body, wire_type, buf, walk),
            6 => attributes.next(&mut record.attributes, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        body.finish(&mut self.body);
        attributes.finish(&mut self.attributes, walk);
        walk.hold(&self.severity_text);
        walk.hold(&self.event_name);
        walk.hold(&self.trace_id);
        walk.hold(&self.span_id);
        Ok(())
    }
}

impl Reuse for Span {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id,
            flags,
            name,
            kind,
            start_time_unix_nano,
            end_time_unix_nano,
            attributes: _,
            dropped_attributes_count,
            events: _,
            dropped_events_count,
            links: _,
            dropped_links_count,
            status: _,
        } = self;
        trace_id.clear();
        span_id.clear();
        trace_state.clear();
        parent_span_id.clear();
        name.clear();
        (*flags, *kind, *start_time_unix_nano, *end_time_unix_nano) = (0, 0, 0, 0);
        (*dropped_attributes_count, *dropped_events_count, *dropped_links_count) = (0, 0, 0);
        let (mut attributes, mut events, mut links) =
            (Repeated::new(), Repeated::new(), Repeated::new());
        let mut status = Singular::new();
        fields(self, buf, walk, |span, tag, wire_type, buf, walk| match tag {
            9 => attributes.next(&mut span.attributes, wire_type, buf, walk),
            11 => events.next(&mut span.events, wire_type, buf, walk),
            13 => links.next(&mut span.links, wire_type, buf, walk),
            15 => status.first(&mut span.status, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        events.finish(&mut self.events, walk);
        links.finish(&mut self.links, walk);
        status.finish(&mut self.status);
        for text in [&self.trace_state, &self.name] {
            walk.hold(text);
        }
        for id in [&self.trace_id, &self.span_id, &self.parent_span_id] {
            walk.hold(id);
        }
        Ok(())
    }
}

impl Reuse for span::Event {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let span::Event { time_unix_nano, name, attributes: _, dropped_attributes_count } = self;
        (*time_unix_nano, *dropped_attributes_count) = (0, 0);
        name.clear();
        let mut attributes = Repeated::new();
        fields(self, buf, walk, |event, tag, wire_type, buf, walk| match tag {
            3 => attributes.next(&mut event.attributes, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        walk.hold(&self.name);
        Ok(())
    }
}

impl Reuse for span::Link {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let span::Link {
            trace_id,
            span_id,
            trace_state,
            attributes: _,
            dropped_attributes_count,
            flags,
        } = self;
        trace_id.clear();
        span_id.clear();
        trace_state.clear();
        (*dropped_attributes_count, *flags) = (0, 0);
        let mut attributes = Repeated::new();
        fields(self, buf, walk, |link, tag, wire_type, buf, walk| match tag {
            4 => attributes.next(&mut link.attributes, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        walk.hold(&self.trace_state);
        walk.hold(&self.trace_id);
        walk.hold(&self.span_id);
        Ok(())
    }
}

impl Reuse for Status {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let Status { message, code } = self;
        message.clear();
        *code = 0;
        fields(self, buf, walk, |_, _, _, _, _| Ok(false))?;
        walk.hold(&self.message);
        Ok(())
    }
}

impl Reuse for Metric {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        use metric::Data;
        let Metric { name, description, unit, metadata: _, data: _ } = self;
        name.clear();
        description.clear();
        unit.clear();
        let mut metadata = Repeated::new();
        let mut seen = false;
        fields(self, buf, walk, |metric, tag, wire_type, buf, walk| {
            // The data, a oneof, as `AnyValue`'s value: the first into the previous one of the same kind.
            let reused = match (tag, &mut metric.data) {
                (12, _) => metadata.next(&mut metric.metadata, wire_type, buf, walk),
                _ if seen => Ok(false),
                (5, data) => variant(data, Data::Gauge, wire_type, buf, walk, |data| match data {
                    Data::Gauge(gauge) => Some(gauge),
                    _ => None,
                }),
                (7, data) => variant(data, Data::Sum, wire_type, buf, walk, |data| match data {
                    Data::Sum(sum) => Some(sum),
                    _ => None,
                }),
                (9, data) => {
                    variant(data, Data::Histogram, wire_type, buf, walk, |data| match data {
                        Data::Histogram(histogram) => Some(histogram),
                        _ => None,
                    })
                }
                (10, data) => {
                    variant(data, Data::ExponentialHistogram, wire_type, buf, walk, |data| {
                        match data {
                            Data::ExponentialHistogram(histogram) => Some(histogram),
                            _ => None,
                        }
                    })
                }
                (11, data) => {
                    variant(data, Data::Summary, wire_type, buf, walk, |data| match data {
                        Data::Summary(summary) => Some(summary),
                        _ => None,
                    })
                }
                _ => Ok(false),
            };
            seen |= matches!(tag, 5 | 7 | 9 | 10 | 11);
            reused
        })?;
        if !seen {
            self.data = None;
        }
        metadata.finish(&mut self.metadata, walk);
        for text in [&self.name, &self.description, &self.unit] {
            walk.hold(text);
        }
        Ok(())
    }
}

impl Reuse for NumberDataPoint {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let NumberDataPoint {
            attributes: _,
            start_time_unix_nano,
            time_unix_nano,
            exemplars,
            flags,
            value,
        } = self;
        (*start_time_unix_nano, *time_unix_nano, *flags) = (0, 0, 0);
        exemplars.clear();
        *value = None;
        let mut attributes = Repeated::new();
        fields(self, buf, walk, |point, tag, wire_type, buf, walk| match tag {
            7 => attributes.next(&mut point.attributes, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        walk.hold(&self.exemplars);
        Ok(())
    }
}

impl Reuse for HistogramDataPoint {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let HistogramDataPoint {
            attributes: _,
            start_time_unix_nano,
            time_unix_nano,
            count,
            sum,
            bucket_counts,
            explicit_bounds,
            exemplars,
            flags,
            min,
            max,
        } = self;
        (*start_time_unix_nano, *time_unix_nano, *count, *flags) = (0, 0, 0, 0);
        (*sum, *min, *max) = (None, None, None);
        bucket_counts.clear();
        explicit_bounds.clear();
        exemplars.clear();
        let mut attributes = Repeated::new();
        fields(self, buf, walk, |point, tag, wire_type, buf, walk| match tag {
            9 => attributes.next(&mut point.attributes, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        walk.hold(&self.bucket_counts);
        walk.hold(&self.explicit_bounds);
        walk.hold(&self.exemplars);
        Ok(())
    }
}

impl Reuse for ExponentialHistogramDataPoint {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let ExponentialHistogramDataPoint {
            attributes: _,
            start_time_unix_nano,
            time_unix_nano,
            count,
            sum,
            scale,
            zero_count,
            positive: _,
            negative: _,
            flags,
            exemplars,
            min,
            max,
            zero_threshold,
        } = self;
        (*start_time_unix_nano, *time_unix_nano, *count, *zero_count) = (0, 0, 0, 0);
        (*scale, *flags, *zero_threshold) = (0, 0, 0.0);
        (*sum, *min, *max) = (None, None, None);
        exemplars.clear();
        let (mut attributes, mut positive, mut negative) =
            (Repeated::new(), Singular::new(), Singular::new());
        fields(self, buf, walk, |point, tag, wire_type, buf, walk| match tag {
            1 => attributes.next(&mut point.attributes, wire_type, buf, walk),
            8 => positive.first(&mut point.positive, wire_type, buf, walk),
            9 => negative.first(&mut point.negative, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        positive.finish(&mut self.positive);
        negative.finish(&mut self.negative);
        walk.hold(&self.exemplars);
        Ok(())
    }
}

impl Reuse for Buckets {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let Buckets { offset, bucket_counts } = self;
        *offset = 0;
        bucket_counts.clear();
        fields(self, buf, walk, |_, _, _, _, _| Ok(false))?;
        walk.hold(&self.bucket_counts);
        Ok(())
    }
}

impl Reuse for SummaryDataPoint {
    fn decode_reusing(&mut self, buf: &[u8], walk: &mut Walk) -> Result<(), DecodeError> {
        let SummaryDataPoint {
            attributes: _,
            start_time_unix_nano,
            time_unix_nano,
            count,
            sum,
            quantile_values,
            flags,
        } = self;
        (*start_time_unix_nano, *time_unix_nano, *count, *flags) = (0, 0, 0, 0);
        *sum = 0.0;
        quantile_values.clear();
        let mut attributes = Repeated::new();
        fields(self, buf, walk, |point, tag, wire_type, buf, walk| match tag {
            7 => attributes.next(&mut point.attributes, wire_type, buf, walk),
            _ => Ok(false),
        })?;
        attributes.finish(&mut self.attributes, walk);
        walk.hold(&self.quantile_values);
        Ok(())
    }
}
