//! Validation and limits, applied to a decoded request before conversion.
//!
//! An invalid item (a log record, a span, a metric data point) is removed from the request on its own and
//! counted, so that the exporter learns of it through OTLP partial success while the valid items of the same
//! request are kept. Limits trim rather than reject where that keeps the item's meaning: attributes past the
//! limit are dropped from log records, spans, events, links, resources and scopes (and added to their
//! `dropped_attributes_count`, as an SDK would), and long values are truncated. A metric data point over the
//! attribute limit is rejected instead (see [`metrics`]), and so are items past the per-request limit.

mod metrics;

use crate::otlp::common::v1::{AnyValue, KeyValue, any_value};
use crate::otlp::{ExportLogsServiceRequest, ExportTraceServiceRequest, resource::v1::Resource};

pub use metrics::metrics;

/// How much one request may carry. Counted in `/metrics` when applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attributes kept per item (resource, scope, record, span, event, link, data point, exemplar).
    pub max_attributes: usize,
    /// Longest string or bytes attribute value, in bytes; longer values are cut at a character boundary.
    pub max_attribute_value_length: usize,
    /// Items (log records, spans, data points) accepted per request; the rest are rejected.
    pub max_items_per_request: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_attributes: 128,
            max_attribute_value_length: 8 * 1024,
            max_items_per_request: 100_000,
        }
    }
}

/// What validation did to one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub accepted: u64,
    pub rejected: u64,
    /// Attributes dropped by the attribute-count limit.
    pub attributes_dropped: u64,
    /// Values cut by the value-length limit.
    pub values_truncated: u64,
    /// Items rejected because the request held more than `max_items_per_request`.
    pub over_item_limit: u64,
    /// The first few rejection reasons, each with the item's path in the request.
    reasons: Vec<String>,
    /// Reasons not kept in `reasons`.
    more_reasons: u64,
}

const REASONS_KEPT: usize = 5;

impl Report {
    /// The OTLP `error_message` for partial success; empty when nothing was rejected.
    pub fn error_message(&self) -> String {
        let mut message = self.reasons.join("; ");
        if self.more_reasons > 0 {
            message.push_str(&format!("; and {} more", self.more_reasons));
        }
        message
    }

    fn note(&mut self, reason: String) {
        if self.reasons.len() < REASONS_KEPT {
            self.reasons.push(reason);
        } else {
            self.more_reasons += 1;
        }
    }

    fn reject(&mut self, items: u64, reason: String) {
        self.rejected += items;
        self.note(reason);
    }

    /// Takes one item against the per-request budget; false (and the item rejected) when it is spent.
    fn admit(&mut self, limits: &Limits) -> bool {
        if self.accepted < limits.max_items_per_request {
            self.accepted += 1;
            return true;
        }
        if self.over_item_limit == 0 {
            self.note(format!(
                "the request holds more than {} items; the items past that limit were rejected",
                limits.max_items_per_request
            ));
        }
        self.over_item_limit += 1;
        self.rejected += 1;
        false
    }
}

pub fn logs(request: &mut ExportLogsServiceRequest, limits: &Limits) -> Report {
    let mut report = Report::default();
    for (r, resource_logs) in request.resource_logs.iter_mut().enumerate() {
        limit_resource(resource_logs.resource.as_mut(), limits, &mut report);
        for (s, scope_logs) in resource_logs.scope_logs.iter_mut().enumerate() {
            if let Some(scope) = &mut scope_logs.scope {
                limit_attributes(
                    &mut scope.attributes,
                    &mut scope.dropped_attributes_count,
                    limits,
                    &mut report,
                );
            }
            let mut index = 0;
            scope_logs.log_records.retain_mut(|record| {
                let at = index;
                index += 1;
                let path = || format!("resourceLogs[{r}].scopeLogs[{s}].logRecords[{at}]");
                // An all-zero id is how some SDKs say "no trace context": store it as absent.
                clear_if_zero(&mut record.trace_id);
                clear_if_zero(&mut record.span_id);
                let problem = id_problem("trace_id", &record.trace_id, 16, true)
                    .or_else(|| id_problem("span_id", &record.span_id, 8, true))
                    .or_else(|| time_problem("time_unix_nano", record.time_unix_nano))
                    .or_else(|| {
                        time_problem("observed_time_unix_nano", record.observed_time_unix_nano)
                    });
                if let Some(problem) = problem {
                    report.reject(1, format!("{}: {problem}", path()));
                    return false;
                }
                if !report.admit(limits) {
                    return false;
                }
                limit_attributes(
                    &mut record.attributes,
                    &mut record.dropped_attributes_count,
                    limits,
                    &mut report,
                );
                true
            });
        }
    }
    report
}

pub fn traces(request: &mut ExportTraceServiceRequest, limits: &Limits) -> Report {
    let mut report = Report::default();
    for (r, resource_spans) in request.resource_spans.iter_mut().enumerate() {
        limit_resource(resource_spans.resource.as_mut(), limits, &mut report);
        for (s, scope_spans) in resource_spans.scope_spans.iter_mut().enumerate() {
            if let Some(scope) = &mut scope_spans.scope {
                limit_attributes(
                    &mut scope.attributes,
                    &mut scope.dropped_attributes_count,
                    limits,
                    &mut report,
                );
            }
            let mut index = 0;
            scope_spans.spans.retain_mut(|span| {
                let at = index;
                index += 1;
                let path = || format!("resourceSpans[{r}].scopeSpans[{s}].spans[{at}]");
                clear_if_zero(&mut span.parent_span_id);
                let problem = id_problem("trace_id", &span.trace_id, 16, false)
                    .or_else(|| id_problem("span_id", &span.span_id, 8, false))
                    .or_else(|| id_problem("parent_span_id", &span.parent_span_id, 8, true))
                    .or_else(|| time_problem("start_time_unix_nano", span.start_time_unix_nano))
                    .or_else(|| time_problem("end_time_unix_nano", span.end_time_unix_nano))
                    .or_else(|| {
                        (!(0..=5).contains(&span.kind))
                            .then(|| format!("unknown span kind {}", span.kind))
                    })
                    .or_else(|| {
                        let code = span.status.as_ref().map_or(0, |status| status.code);
                        (!(0..=2).contains(&code)).then(|| format!("unknown status code {code}"))
                    })
                    .or_else(|| {
                        span.events.iter().enumerate().find_map(|(e, event)| {
                            time_problem("time_unix_nano", event.time_unix_nano)
                                .map(|p| format!("events[{e}].{p}"))
                        })
                    })
                    .or_else(|| {
                        span.links.iter().enumerate().find_map(|(l, link)| {
                            id_problem("trace_id", &link.trace_id, 16, false)
                                .or_else(|| id_problem("span_id", &link.span_id, 8, false))
                                .map(|p| format!("links[{l}].{p}"))
                        })
                    });
                if let Some(problem) = problem {
                    report.reject(1, format!("{}: {problem}", path()));
                    return false;
                }
                if !report.admit(limits) {
                    return false;
                }
                limit_attributes(
                    &mut span.attributes,
                    &mut span.dropped_attributes_count,
                    limits,
                    &mut report,
                );
                for event in &mut span.events {
                    limit_attributes(
                        &mut event.attributes,
                        &mut event.dropped_attributes_count,
                        limits,
                        &mut report,
                    );
                }
                for link in &mut span.links {
                    limit_attributes(
                        &mut link.attributes,
                        &mut link.dropped_attributes_count,
                        limits,
                        &mut report,
                    );
                }
                true
            });
        }
    }
    report
}

fn limit_resource(resource: Option<&mut Resource>, limits: &Limits, report: &mut Report) {
    if let Some(resource) = resource {
        limit_attributes(
            &mut resource.attributes,
            &mut resource.dropped_attributes_count,
            limits,
            report,
        );
    }
}

/// Applies the attribute-count and value-length limits to one attribute list.
fn limit_attributes(
    attributes: &mut Vec<KeyValue>,
    dropped_count: &mut u32,
    limits: &Limits,
    report: &mut Report,
) {
    if attributes.len() > limits.max_attributes {
        let dropped = attributes.len() - limits.max_attributes;
        attributes.truncate(limits.max_attributes);
        *dropped_count = dropped_count.saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX));
        report.attributes_dropped += dropped as u64;
    }
    for attribute in attributes {
        if let Some(value) = &mut attribute.value {
            truncate_value(value, limits.max_attribute_value_length, report, 0);
        }
    }
}

/// Attribute values nest (arrays, key-value lists); deeper than this they are left alone. Decoders already
/// bound nesting, this only keeps the walk's stack use bounded for any input.
const MAX_VALUE_DEPTH: usize = 64;

fn truncate_value(value: &mut AnyValue, max_len: usize, report: &mut Report, depth: usize) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match &mut value.value {
        Some(any_value::Value::StringValue(text)) if text.len() > max_len => {
            text.truncate(floor_char_boundary(text, max_len));
            report.values_truncated += 1;
        }
        Some(any_value::Value::BytesValue(bytes)) if bytes.len() > max_len => {
            bytes.truncate(max_len);
            report.values_truncated += 1;
        }
        Some(any_value::Value::ArrayValue(array)) => {
            for item in &mut array.values {
                truncate_value(item, max_len, report, depth + 1);
            }
        }
        Some(any_value::Value::KvlistValue(list)) => {
            for item in list.values.iter_mut().filter_map(|kv| kv.value.as_mut()) {
                truncate_value(item, max_len, report, depth + 1);
            }
        }
        _ => {}
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    (0..=index.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

fn clear_if_zero(id: &mut Vec<u8>) {
    if !id.is_empty() && id.iter().all(|&b| b == 0) {
        id.clear();
    }
}

/// Why an id is unacceptable: OTLP ids are 16 (trace) or 8 (span) bytes, and all-zero ids are invalid.
fn id_problem(field: &str, id: &[u8], length: usize, optional: bool) -> Option<String> {
    if id.is_empty() {
        return (!optional).then(|| format!("{field} is missing"));
    }
    if id.len() != length {
        return Some(format!("{field} must be {length} bytes, got {}", id.len()));
    }
    id.iter().all(|&b| b == 0).then(|| format!("{field} is all zeroes"))
}

/// Timestamps are stored as signed nanoseconds, which reach the year 2262.
fn time_problem(field: &str, unix_nano: u64) -> Option<String> {
    (unix_nano > i64::MAX as u64).then(|| format!("{field} {unix_nano} is past the year 2262"))
}

#[cfg(test)]
mod tests;
