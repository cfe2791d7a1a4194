//! `ExportLogsServiceRequest` → the `logs` table.

use std::sync::Arc;

use arrow_array::builder::{
    Int32Builder, StringBuilder, TimestampNanosecondBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;
use sightline_storage::{Table, TableBatch};

use super::attributes::AttributesBuilder;
use super::ids::HexEncoder;
use super::json::write_json;
use super::resource::{Origin, OriginColumns};
use super::{nanos, service_name, timestamp_builder};
use crate::otlp::ExportLogsServiceRequest;
use crate::otlp::common::v1::any_value::Value;
use crate::otlp::logs::v1::LogRecord;

/// Converts every log record of `request` into one `logs` batch; `None` when there are no records.
/// `received_at_ns`: when the request arrived (Unix ns), used where the item carries no time.
pub fn logs_to_arrow(
    request: &ExportLogsServiceRequest,
    received_at_ns: i64,
) -> Result<Option<TableBatch>, ArrowError> {
    let sizes = LogSizes::of(request);
    if sizes.rows == 0 {
        return Ok(None);
    }
    let mut columns = LogColumns::with_capacity(&sizes);
    for resource_logs in &request.resource_logs {
        let resource = resource_logs.resource.as_ref();
        let service_name = service_name(resource);
        for scope_logs in &resource_logs.scope_logs {
            for record in &scope_logs.log_records {
                columns.append(record, service_name, received_at_ns)?;
            }
            let origin = Origin {
                resource,
                resource_schema_url: &resource_logs.schema_url,
                scope: scope_logs.scope.as_ref(),
                scope_schema_url: &scope_logs.schema_url,
            };
            columns.origin.fill_to(columns.rows, &origin)?;
        }
    }
    let batch = RecordBatch::try_new(Table::Logs.schema(), columns.finish())?;
    Ok(Some(TableBatch { table: Table::Logs, batch }))
}

/// What the builders must hold, counted before building so they allocate once.
#[derive(Debug, Default)]
struct LogSizes {
    rows: usize,
    attributes: usize,
    resource_attributes: usize,
    scope_attributes: usize,
    body_bytes: usize,
}

impl LogSizes {
    fn of(request: &ExportLogsServiceRequest) -> Self {
        let mut sizes = LogSizes::default();
        for resource_logs in &request.resource_logs {
            let resource_entries =
                resource_logs.resource.as_ref().map_or(0, |resource| resource.attributes.len());
            for scope_logs in &resource_logs.scope_logs {
                let rows = scope_logs.log_records.len();
                let scope_entries =
                    scope_logs.scope.as_ref().map_or(0, |scope| scope.attributes.len());
                sizes.rows += rows;
                sizes.resource_attributes += rows * resource_entries;
                sizes.scope_attributes += rows * scope_entries;
                for record in &scope_logs.log_records {
                    sizes.attributes += record.attributes.len();
                    sizes.body_bytes +=
                        match record.body.as_ref().and_then(|body| body.value.as_ref()) {
                            Some(Value::StringValue(text)) => text.len(),
                            _ => 32,
                        };
                }
            }
        }
        sizes
    }
}

#[derive(Debug)]
struct LogColumns {
    rows: usize,
    timestamp: TimestampNanosecondBuilder,
    observed_timestamp: TimestampNanosecondBuilder,
    service_name: StringBuilder,
    severity_number: Int32Builder,
    severity_text: StringBuilder,
    body: StringBuilder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    flags: UInt32Builder,
    event_name: StringBuilder,
    attributes: AttributesBuilder,
    dropped_attributes_count: UInt32Builder,
    origin: OriginColumns,
    hex: HexEncoder,
    /// Reused for bodies rendered as JSON.
    json: String,
}

impl LogColumns {
    fn with_capacity(sizes: &LogSizes) -> Self {
        let rows = sizes.rows;
        LogColumns {
            rows: 0,
            timestamp: timestamp_builder(rows),
            observed_timestamp: timestamp_builder(rows),
            service_name: StringBuilder::with_capacity(rows, rows * 16),
            severity_number: Int32Builder::with_capacity(rows),
            severity_text: StringBuilder::with_capacity(rows, rows * 5),
            body: StringBuilder::with_capacity(rows, sizes.body_bytes),
            trace_id: StringBuilder::with_capacity(rows, rows * 32),
            span_id: StringBuilder::with_capacity(rows, rows * 16),
            flags: UInt32Builder::with_capacity(rows),
            event_name: StringBuilder::with_capacity(rows, 0),
            attributes: AttributesBuilder::with_capacity(rows, sizes.attributes),
            dropped_attributes_count: UInt32Builder::with_capacity(rows),
            origin: OriginColumns::with_capacity(
                rows,
                sizes.resource_attributes,
                sizes.scope_attributes,
            ),
            hex: HexEncoder::default(),
            json: String::new(),
        }
    }

    fn append(
        &mut self,
        record: &LogRecord,
        service_name: &str,
        received_at_ns: i64,
    ) -> Result<(), ArrowError> {
        let observed = match record.observed_time_unix_nano {
            0 => received_at_ns,
            observed => nanos(observed),
        };
        let timestamp = match record.time_unix_nano {
            0 => observed,
            time => nanos(time),
        };
        self.timestamp.append_value(timestamp);
        self.observed_timestamp.append_value(observed);
        self.service_name.append_value(service_name);
        self.severity_number.append_value(record.severity_number);
        self.severity_text.append_value(&record.severity_text);
        match record.body.as_ref().map(|body| (body, body.value.as_ref())) {
            None | Some((_, None | Some(Value::StringValueStrindex(_)))) => self.body.append_null(),
            Some((_, Some(Value::StringValue(text)))) => self.body.append_value(text),
            Some((body, Some(_))) => {
                self.json.clear();
                write_json(body, &mut self.json);
                self.body.append_value(&self.json);
            }
        }
        self.hex.append_optional(&mut self.trace_id, &record.trace_id);
        self.hex.append_optional(&mut self.span_id, &record.span_id);
        self.flags.append_value(record.flags);
        self.event_name.append_value(&record.event_name);
        self.attributes.append(&record.attributes)?;
        self.dropped_attributes_count.append_value(record.dropped_attributes_count);
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.observed_timestamp.finish()),
            Arc::new(self.service_name.finish()),
            Arc::new(self.severity_number.finish()),
            Arc::new(self.severity_text.finish()),
            Arc::new(self.body.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.event_name.finish()),
            self.attributes.finish(),
            Arc::new(self.dropped_attributes_count.finish()),
        ];
        self.origin.finish_into(&mut columns);
        columns
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::types::{Int32Type, TimestampNanosecondType, UInt32Type};

    use super::*;
    use crate::convert::test_support::*;
    use crate::otlp::logs::v1::{ResourceLogs, ScopeLogs};
    use crate::otlp::resource::v1::Resource;

    const RECEIVED_AT: i64 = 1_700_000_000_000_000_000;

    fn request(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(test_resource()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(test_scope()),
                    log_records: records,
                    schema_url: "https://scope".to_string(),
                }],
                schema_url: "https://resource".to_string(),
            }],
        }
    }

    fn convert(request: &ExportLogsServiceRequest) -> RecordBatch {
        let batch = logs_to_arrow(request, RECEIVED_AT).expect("converts").expect("has rows");
        assert_eq!(batch.table, Table::Logs);
        assert_eq!(batch.batch.schema(), Table::Logs.schema());
        assert_columns_match_schema(&batch.batch);
        batch.batch
    }

    fn full_record() -> LogRecord {
        LogRecord {
            time_unix_nano: 1_544_712_660_300_000_000,
            observed_time_unix_nano: 1_544_712_660_300_000_001,
            severity_number: 10,
            severity_text: "Information".to_string(),
            body: Some(string("Example log record")),
            attributes: vec![
                kv("string.attribute", string("some string")),
                kv("boolean.attribute", boolean(true)),
                kv("int.attribute", int(10)),
                kv("double.attribute", double(637.704)),
                kv("array.attribute", array(vec![string("many"), string("values")])),
                kv("map.attribute", kvlist(vec![kv("some.map.key", string("some value"))])),
                empty_kv("no.value"),
            ],
            dropped_attributes_count: 2,
            flags: 1,
            trace_id: vec![
                0x5B, 0x8E, 0xFF, 0xF7, 0x98, 0x03, 0x81, 0x03, 0xD2, 0x69, 0xB6, 0x33, 0x81, 0x3F,
                0xC6, 0x0C,
            ],
            span_id: vec![0xEE, 0xE1, 0x9B, 0x7E, 0xC3, 0xC1, 0xB1, 0x74],
            event_name: "my.event".to_string(),
        }
    }

    #[test]
    fn every_field_of_a_record() {
        let batch = convert(&request(vec![full_record()]));
        assert_eq!(batch.num_rows(), 1);
        let ts = |name| primitive::<TimestampNanosecondType>(&batch, name, 0);
        assert_eq!(ts("timestamp"), Some(1_544_712_660_300_000_000));
        assert_eq!(ts("observed_timestamp"), Some(1_544_712_660_300_000_001));
        assert_eq!(text(&batch, "service_name", 0).as_deref(), Some("my.service"));
        assert_eq!(primitive::<Int32Type>(&batch, "severity_number", 0), Some(10));
        assert_eq!(text(&batch, "severity_text", 0).as_deref(), Some("Information"));
        assert_eq!(text(&batch, "body", 0).as_deref(), Some("Example log record"));
        assert_eq!(
            text(&batch, "trace_id", 0).as_deref(),
            Some("5b8efff798038103d269b633813fc60c")
        );
        assert_eq!(text(&batch, "span_id", 0).as_deref(), Some("eee19b7ec3c1b174"));
        assert_eq!(primitive::<UInt32Type>(&batch, "flags", 0), Some(1));
        assert_eq!(text(&batch, "event_name", 0).as_deref(), Some("my.event"));
        assert_eq!(
            map(&batch, "attributes", 0),
            entries(&[
                ("string.attribute", Some("some string")),
                ("boolean.attribute", Some("true")),
                ("int.attribute", Some("10")),
                ("double.attribute", Some("637.704")),
                ("array.attribute", Some(r#"["many","values"]"#)),
                ("map.attribute", Some(r#"{"some.map.key":"some value"}"#)),
                ("no.value", None),
            ])
        );
        assert_eq!(primitive::<UInt32Type>(&batch, "dropped_attributes_count", 0), Some(2));
        assert_test_origin(&batch, 0);
    }

    #[test]
    fn missing_times_fall_back_to_observed_then_arrival() {
        let observed_only =
            LogRecord { observed_time_unix_nano: 7, body: Some(string("a")), ..Default::default() };
        let neither = LogRecord::default();
        let batch = convert(&request(vec![observed_only, neither]));
        let ts = |name, row| primitive::<TimestampNanosecondType>(&batch, name, row);
        assert_eq!((ts("timestamp", 0), ts("observed_timestamp", 0)), (Some(7), Some(7)));
        assert_eq!(ts("timestamp", 1), Some(RECEIVED_AT));
        assert_eq!(ts("observed_timestamp", 1), Some(RECEIVED_AT));
        // Unset body and ids are null; unset strings are empty.
        assert_eq!(text(&batch, "body", 1), None);
        assert_eq!(text(&batch, "trace_id", 1), None);
        assert_eq!(text(&batch, "span_id", 1), None);
        assert_eq!(text(&batch, "severity_text", 1).as_deref(), Some(""));
        assert_eq!(map(&batch, "attributes", 1), vec![]);
    }

    #[test]
    fn body_kinds() {
        let bodies = [
            string("plain"),
            int(42),
            double(0.1),
            boolean(false),
            bytes(&[0xde, 0xad, 0xbe, 0xef]),
            array(vec![int(1), double(f64::NAN)]),
            kvlist(vec![
                kv("msg", string("nested \"quoted\"")),
                kv("inner", kvlist(vec![kv("n", int(-1)), kv("list", array(vec![]))])),
            ]),
        ];
        let records =
            bodies.into_iter().map(|body| LogRecord { body: Some(body), ..Default::default() });
        let batch = convert(&request(records.collect()));
        let expected = [
            "plain",
            "42",
            "0.1",
            "false",
            "\"3q2+7w==\"",
            "[1,\"NaN\"]",
            r#"{"msg":"nested \"quoted\"","inner":{"n":-1,"list":[]}}"#,
        ];
        for (row, expected) in expected.into_iter().enumerate() {
            assert_eq!(text(&batch, "body", row).as_deref(), Some(expected), "row {row}");
        }
    }

    #[test]
    fn attribute_value_kinds() {
        let record = LogRecord {
            attributes: vec![
                kv("s", string("")),
                kv("b", boolean(false)),
                kv("i", int(i64::MIN)),
                kv("d1", double(1.5)),
                kv("d2", double(1e300)),
                kv("d3", double(f64::NEG_INFINITY)),
                kv("d4", double(f64::NAN)),
                kv("bytes", bytes(b"\x00\x01")),
                kv("kv", kvlist(vec![kv("a", bytes(b"x")), empty_kv("b")])),
                kv("empty", crate::otlp::common::v1::AnyValue { value: None }),
            ],
            ..Default::default()
        };
        let batch = convert(&request(vec![record]));
        assert_eq!(
            map(&batch, "attributes", 0),
            entries(&[
                ("s", Some("")),
                ("b", Some("false")),
                ("i", Some("-9223372036854775808")),
                ("d1", Some("1.5")),
                ("d2", Some("1e300")),
                ("d3", Some("-Infinity")),
                ("d4", Some("NaN")),
                ("bytes", Some("AAE=")),
                ("kv", Some(r#"{"a":"eA==","b":null}"#)),
                ("empty", None),
            ])
        );
    }

    #[test]
    fn missing_service_name_is_unknown_service() {
        let mut request = request(vec![LogRecord::default()]);
        let resource = request.resource_logs[0].resource.as_mut().expect("resource");
        resource.attributes[0].value = Some(int(3));
        let batch = convert(&request);
        assert_eq!(text(&batch, "service_name", 0).as_deref(), Some("unknown_service"));
        request.resource_logs[0].resource = None;
        let batch = convert(&request);
        assert_eq!(text(&batch, "service_name", 0).as_deref(), Some("unknown_service"));
        assert_eq!(map(&batch, "resource_attributes", 0), vec![]);
        assert_eq!(text(&batch, "resource_schema_url", 0).as_deref(), Some("https://resource"));
    }

    #[test]
    fn rows_keep_their_own_resource_and_scope() {
        let mut request = request(vec![full_record(), full_record()]);
        let mut other = request.resource_logs[0].clone();
        other.resource = Some(Resource {
            attributes: vec![kv("service.name", string("other"))],
            ..Default::default()
        });
        other.scope_logs[0].scope = None;
        other.scope_logs[0].log_records.truncate(1);
        request.resource_logs.push(other);
        let batch = convert(&request);
        assert_eq!(batch.num_rows(), 3);
        assert_test_origin(&batch, 1);
        assert_eq!(text(&batch, "service_name", 2).as_deref(), Some("other"));
        assert_eq!(
            map(&batch, "resource_attributes", 2),
            entries(&[("service.name", Some("other"))])
        );
        assert_eq!(text(&batch, "scope_name", 2).as_deref(), Some(""));
        assert_eq!(map(&batch, "scope_attributes", 2), vec![]);
    }

    #[test]
    fn empty_requests_give_no_batch() {
        let empty = ExportLogsServiceRequest::default();
        assert!(logs_to_arrow(&empty, RECEIVED_AT).expect("converts").is_none());
        assert!(logs_to_arrow(&request(vec![]), RECEIVED_AT).expect("converts").is_none());
    }
}
