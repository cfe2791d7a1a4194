//! `ExportLogsServiceRequest`.

use serde_json::Value;

use super::common::{any_value, attributes, resource, scope};
use super::scalar::{enumeration, hex_id, string, u32, u64};
use super::{Path, Result, object, repeated};
use crate::otlp::ExportLogsServiceRequest;
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};

pub(super) fn request(value: Value, path: &Path) -> Result<ExportLogsServiceRequest> {
    let mut request = ExportLogsServiceRequest::default();
    for (name, value) in object(value, path)? {
        if let "resourceLogs" | "resource_logs" = name.as_str() {
            request.resource_logs = repeated(value, &path.field("resourceLogs"), resource_logs)?;
        }
    }
    Ok(request)
}

fn resource_logs(value: Value, path: &Path) -> Result<ResourceLogs> {
    let mut out = ResourceLogs::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "resource" => out.resource = Some(resource(value, &path.field("resource"))?),
            "scopeLogs" | "scope_logs" => {
                out.scope_logs = repeated(value, &path.field("scopeLogs"), scope_logs)?
            }
            "schemaUrl" | "schema_url" => out.schema_url = string(value, &path.field("schemaUrl"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn scope_logs(value: Value, path: &Path) -> Result<ScopeLogs> {
    let mut out = ScopeLogs::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "scope" => out.scope = Some(scope(value, &path.field("scope"))?),
            "logRecords" | "log_records" => {
                out.log_records = repeated(value, &path.field("logRecords"), log_record)?
            }
            "schemaUrl" | "schema_url" => out.schema_url = string(value, &path.field("schemaUrl"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn severity_from_name(name: &str) -> Option<i32> {
    SeverityNumber::from_str_name(name).map(|s| s as i32)
}

fn log_record(value: Value, path: &Path) -> Result<LogRecord> {
    let mut record = LogRecord::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "timeUnixNano" | "time_unix_nano" => {
                record.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "observedTimeUnixNano" | "observed_time_unix_nano" => {
                record.observed_time_unix_nano = u64(value, &path.field("observedTimeUnixNano"))?
            }
            "severityNumber" | "severity_number" => {
                record.severity_number =
                    enumeration(value, &path.field("severityNumber"), severity_from_name)?
            }
            "severityText" | "severity_text" => {
                record.severity_text = string(value, &path.field("severityText"))?
            }
            "body" => record.body = Some(any_value(value, &path.field("body"), 0)?),
            "attributes" => record.attributes = attributes(value, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                record.dropped_attributes_count = u32(value, &path.field("droppedAttributesCount"))?
            }
            "flags" => record.flags = u32(value, &path.field("flags"))?,
            "traceId" | "trace_id" => record.trace_id = hex_id(value, &path.field("traceId"))?,
            "spanId" | "span_id" => record.span_id = hex_id(value, &path.field("spanId"))?,
            "eventName" | "event_name" => {
                record.event_name = string(value, &path.field("eventName"))?
            }
            _ => {}
        }
    }
    Ok(record)
}
