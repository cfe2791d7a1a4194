//! The tables of DESIGN.md and their Arrow schemas. The table names and the documented columns are a public
//! contract: add columns freely, never rename or remove one.

use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// One table of the store. Every ingested batch belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Logs,
    Spans,
    Metrics,
    MetricsHistogram,
    MetricsExpHistogram,
    MetricsSummary,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Logs,
        Table::Spans,
        Table::Metrics,
        Table::MetricsHistogram,
        Table::MetricsExpHistogram,
        Table::MetricsSummary,
    ];

    /// The table's name in SQL and on disk.
    pub fn name(self) -> &'static str {
        match self {
            Table::Logs => "logs",
            Table::Spans => "spans",
            Table::Metrics => "metrics",
            Table::MetricsHistogram => "metrics_histogram",
            Table::MetricsExpHistogram => "metrics_exp_histogram",
            Table::MetricsSummary => "metrics_summary",
        }
    }

    /// A stable one-byte tag, used where a table is named in a binary format (the WAL).
    pub fn tag(self) -> u8 {
        match self {
            Table::Logs => 1,
            Table::Spans => 2,
            Table::Metrics => 3,
            Table::MetricsHistogram => 4,
            Table::MetricsExpHistogram => 5,
            Table::MetricsSummary => 6,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Table> {
        Table::ALL.into_iter().find(|table| table.tag() == tag)
    }

    /// The table's Arrow schema; built once, then shared.
    pub fn schema(self) -> SchemaRef {
        static LOGS: LazyLock<SchemaRef> = LazyLock::new(logs_schema);
        static SPANS: LazyLock<SchemaRef> = LazyLock::new(spans_schema);
        static METRICS: LazyLock<SchemaRef> = LazyLock::new(metrics_schema);
        static HISTOGRAM: LazyLock<SchemaRef> = LazyLock::new(metrics_histogram_schema);
        static EXP_HISTOGRAM: LazyLock<SchemaRef> = LazyLock::new(metrics_exp_histogram_schema);
        static SUMMARY: LazyLock<SchemaRef> = LazyLock::new(metrics_summary_schema);
        let schema = match self {
            Table::Logs => &LOGS,
            Table::Spans => &SPANS,
            Table::Metrics => &METRICS,
            Table::MetricsHistogram => &HISTOGRAM,
            Table::MetricsExpHistogram => &EXP_HISTOGRAM,
            Table::MetricsSummary => &SUMMARY,
        };
        Arc::clone(schema)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Rows for one table, in that table's schema.
#[derive(Debug, Clone)]
pub struct TableBatch {
    pub table: Table,
    pub batch: RecordBatch,
}

/// `Timestamp(Nanosecond, "UTC")`: every time column of every table.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The type of every attribute column: `Map<Utf8, Utf8?>` with Arrow's standard field names (`entries`,
/// `keys`, `values`), keys in the order sent (not sorted). Non-string attribute values are rendered as text,
/// so one map type fits all; a key sent without a value has a null value.
pub fn attributes_map_type() -> DataType {
    let entries = Fields::from(vec![
        Field::new("keys", DataType::Utf8, false),
        Field::new("values", DataType::Utf8, true),
    ]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

/// A list whose items are never null; the item field carries Arrow's conventional name `item`.
pub fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, false)))
}

fn column(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, false)
}

fn nullable(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, true)
}

fn list_of_struct(fields: Vec<Field>) -> DataType {
    list_type(DataType::Struct(Fields::from(fields)))
}

fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

/// The columns every table ends with, repeated on each row: the resource that produced the item and the
/// instrumentation scope it was recorded under.
/// - `resource_attributes`, `resource_dropped_attributes_count`, `resource_schema_url`: the OTLP resource and
///   the schema URL of its `Resource*` envelope.
/// - `scope_name`, `scope_version`, `scope_attributes`, `scope_dropped_attributes_count`, `scope_schema_url`:
///   the instrumentation scope and the schema URL of its `Scope*` envelope.
fn resource_scope_columns() -> Vec<Field> {
    vec![
        column("resource_attributes", attributes_map_type()),
        column("resource_dropped_attributes_count", DataType::UInt32),
        column("resource_schema_url", DataType::Utf8),
        column("scope_name", DataType::Utf8),
        column("scope_version", DataType::Utf8),
        column("scope_attributes", attributes_map_type()),
        column("scope_dropped_attributes_count", DataType::UInt32),
        column("scope_schema_url", DataType::Utf8),
    ]
}

fn with_resource_scope_columns(mut fields: Vec<Field>) -> SchemaRef {
    fields.extend(resource_scope_columns());
    schema(fields)
}

/// `logs`: one row per OTLP log record.
/// - `timestamp`: when the event happened (`time_unix_nano`; else the observed time; else the arrival time).
/// - `observed_timestamp`: when a collector first saw it (else the arrival time).
/// - `service_name`: the resource's `service.name`, or `unknown_service`.
/// - `severity_number` (OTLP 0..24), `severity_text` (as sent).
/// - `body`: a string body as sent, any other body as compact JSON; null when unset.
/// - `trace_id`, `span_id`: lower-case hex, null when absent. `flags`: the W3C trace flags.
/// - `event_name`, `attributes`, `dropped_attributes_count`: as sent.
fn logs_schema() -> SchemaRef {
    with_resource_scope_columns(vec![
        column("timestamp", timestamp_type()),
        column("observed_timestamp", timestamp_type()),
        column("service_name", DataType::Utf8),
        column("severity_number", DataType::Int32),
        column("severity_text", DataType::Utf8),
        nullable("body", DataType::Utf8),
        nullable("trace_id", DataType::Utf8),
        nullable("span_id", DataType::Utf8),
        column("flags", DataType::UInt32),
        column("event_name", DataType::Utf8),
        column("attributes", attributes_map_type()),
        column("dropped_attributes_count", DataType::UInt32),
    ])
}

/// `spans`: one row per OTLP span.
/// - `trace_id`, `span_id`, `parent_span_id` (null for a root span): lower-case hex. `trace_state`: W3C.
/// - `name`; `kind`: `UNSPECIFIED`, `INTERNAL`, `SERVER`, `CLIENT`, `PRODUCER` or `CONSUMER`.
/// - `start_time`, `end_time`, `duration_ns` (end - start).
/// - `status_code`: `UNSET`, `OK` or `ERROR`; `status_message`.
/// - `service_name`: the resource's `service.name`, or `unknown_service`. `flags`: W3C trace flags and the
///   remote-parent bits.
/// - `attributes`, `dropped_attributes_count`.
/// - `events` (time, name, attributes, dropped count) and `dropped_events_count`.
/// - `links` (the linked span's ids and trace state, attributes, dropped count, flags) and
///   `dropped_links_count`.
fn spans_schema() -> SchemaRef {
    let event = list_of_struct(vec![
        column("time", timestamp_type()),
        column("name", DataType::Utf8),
        column("attributes", attributes_map_type()),
        column("dropped_attributes_count", DataType::UInt32),
    ]);
    let link = list_of_struct(vec![
        column("trace_id", DataType::Utf8),
        column("span_id", DataType::Utf8),
        column("trace_state", DataType::Utf8),
        column("attributes", attributes_map_type()),
        column("dropped_attributes_count", DataType::UInt32),
        column("flags", DataType::UInt32),
    ]);
    with_resource_scope_columns(vec![
        column("trace_id", DataType::Utf8),
        column("span_id", DataType::Utf8),
        nullable("parent_span_id", DataType::Utf8),
        column("trace_state", DataType::Utf8),
        column("name", DataType::Utf8),
        column("kind", DataType::Utf8),
        column("start_time", timestamp_type()),
        column("end_time", timestamp_type()),
        column("duration_ns", DataType::Int64),
        column("status_code", DataType::Utf8),
        column("status_message", DataType::Utf8),
        column("service_name", DataType::Utf8),
        column("flags", DataType::UInt32),
        column("attributes", attributes_map_type()),
        column("dropped_attributes_count", DataType::UInt32),
        column("events", event),
        column("dropped_events_count", DataType::UInt32),
        column("links", link),
        column("dropped_links_count", DataType::UInt32),
    ])
}

/// The columns every metric table starts with: which metric, which series, when.
/// - `timestamp`: the point's time. `start_timestamp`: the start of its interval (null when not sent).
/// - `metric_name` (as sent), `metric_description`, `unit`.
/// - `metric_type`: `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
/// - `temporality`: `cumulative` or `delta`; null for gauges, summaries and unspecified temporality.
/// - `service_name`: the resource's `service.name`, or `unknown_service`.
/// - `attributes`: the point's attributes (the series). `flags`: the point's flags (bit 0: no recorded value).
/// - `metric_metadata`: the metric's `metadata` key-values.
fn metric_identity_columns() -> Vec<Field> {
    vec![
        column("timestamp", timestamp_type()),
        nullable("start_timestamp", timestamp_type()),
        column("metric_name", DataType::Utf8),
        column("metric_description", DataType::Utf8),
        column("metric_type", DataType::Utf8),
        nullable("temporality", DataType::Utf8),
        column("unit", DataType::Utf8),
        column("service_name", DataType::Utf8),
        column("attributes", attributes_map_type()),
        column("flags", DataType::UInt32),
        column("metric_metadata", attributes_map_type()),
    ]
}

/// Exemplars of a point: `time`, `value` (as f64), `value_int` (the exact integer when sent as an int),
/// `trace_id` and `span_id` (lower-case hex, null when absent), `filtered_attributes`.
fn exemplars_column() -> Field {
    column(
        "exemplars",
        list_of_struct(vec![
            column("time", timestamp_type()),
            column("value", DataType::Float64),
            nullable("value_int", DataType::Int64),
            nullable("trace_id", DataType::Utf8),
            nullable("span_id", DataType::Utf8),
            column("filtered_attributes", attributes_map_type()),
        ]),
    )
}

fn metric_schema(specific: Vec<Field>) -> SchemaRef {
    let mut fields = metric_identity_columns();
    fields.extend(specific);
    with_resource_scope_columns(fields)
}

/// `metrics`: one row per gauge or sum point; the identity columns, then
/// - `is_monotonic`: for sums; null for gauges.
/// - `value`: the value as f64; `value_int`: the exact integer when it was sent as one, else null.
/// - `exemplars`.
fn metrics_schema() -> SchemaRef {
    metric_schema(vec![
        nullable("is_monotonic", DataType::Boolean),
        column("value", DataType::Float64),
        nullable("value_int", DataType::Int64),
        exemplars_column(),
    ])
}

/// `metrics_histogram`: one row per explicit-bucket histogram point; the identity columns, then `count`,
/// `sum`, `min`, `max` (null when not sent), `explicit_bounds` and `bucket_counts` (one more count than
/// bounds), `exemplars`.
fn metrics_histogram_schema() -> SchemaRef {
    metric_schema(vec![
        column("count", DataType::UInt64),
        nullable("sum", DataType::Float64),
        nullable("min", DataType::Float64),
        nullable("max", DataType::Float64),
        column("explicit_bounds", list_type(DataType::Float64)),
        column("bucket_counts", list_type(DataType::UInt64)),
        exemplars_column(),
    ])
}

/// `metrics_exp_histogram`: one row per exponential histogram point; the identity columns, then `count`,
/// `sum`, `min`, `max` (null when not sent), `scale`, `zero_count`, `zero_threshold`, the positive and
/// negative bucket ranges (`*_offset`, `*_bucket_counts`; empty when not sent), `exemplars`.
fn metrics_exp_histogram_schema() -> SchemaRef {
    metric_schema(vec![
        column("count", DataType::UInt64),
        nullable("sum", DataType::Float64),
        nullable("min", DataType::Float64),
        nullable("max", DataType::Float64),
        column("scale", DataType::Int32),
        column("zero_count", DataType::UInt64),
        column("zero_threshold", DataType::Float64),
        column("positive_offset", DataType::Int32),
        column("positive_bucket_counts", list_type(DataType::UInt64)),
        column("negative_offset", DataType::Int32),
        column("negative_bucket_counts", list_type(DataType::UInt64)),
        exemplars_column(),
    ])
}

/// `metrics_summary`: one row per summary point; the identity columns, then `count`, `sum`, and
/// `quantiles` (`quantile` in 0..=1, `value`).
fn metrics_summary_schema() -> SchemaRef {
    metric_schema(vec![
        column("count", DataType::UInt64),
        column("sum", DataType::Float64),
        column(
            "quantiles",
            list_of_struct(vec![
                column("quantile", DataType::Float64),
                column("value", DataType::Float64),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::FieldRef;

    #[test]
    fn every_table_ends_with_the_resource_scope_columns() {
        let tail: Vec<FieldRef> = resource_scope_columns().into_iter().map(Arc::new).collect();
        for table in Table::ALL {
            let schema = table.schema();
            let fields = schema.fields();
            assert_eq!(&fields[fields.len() - tail.len()..], &tail[..], "{table}");
        }
    }

    #[test]
    fn schemas_are_built_once() {
        assert!(Arc::ptr_eq(&Table::Logs.schema(), &Table::Logs.schema()));
    }

    #[test]
    fn column_names_and_nullability() {
        let logs = Table::Logs.schema();
        assert_eq!(logs.field(0).name(), "timestamp");
        assert_eq!(logs.field(0).data_type(), &timestamp_type());
        assert!(logs.field_with_name("body").expect("body").is_nullable());
        assert!(!logs.field_with_name("severity_text").expect("severity_text").is_nullable());
        let spans = Table::Spans.schema();
        assert!(spans.field_with_name("parent_span_id").expect("parent").is_nullable());
        assert_eq!(spans.fields().len(), 19 + 8);
        for table in [
            Table::Metrics,
            Table::MetricsHistogram,
            Table::MetricsExpHistogram,
            Table::MetricsSummary,
        ] {
            let schema = table.schema();
            let names: Vec<&str> =
                schema.fields().iter().take(11).map(|f| f.name().as_str()).collect();
            assert_eq!(names[0], "timestamp");
            assert_eq!(names[10], "metric_metadata");
            assert!(schema.field_with_name("start_timestamp").expect("start").is_nullable());
        }
        assert_eq!(Table::Metrics.schema().fields().len(), 11 + 4 + 8);
        assert_eq!(Table::MetricsHistogram.schema().fields().len(), 11 + 7 + 8);
        assert_eq!(Table::MetricsExpHistogram.schema().fields().len(), 11 + 12 + 8);
        assert_eq!(Table::MetricsSummary.schema().fields().len(), 11 + 3 + 8);
    }

    #[test]
    fn attribute_maps_use_the_standard_field_names() {
        let DataType::Map(entries, sorted) = attributes_map_type() else { panic!("not a map") };
        assert!(!sorted);
        assert_eq!(entries.name(), "entries");
        let DataType::Struct(fields) = entries.data_type() else { panic!("not a struct") };
        assert_eq!((fields[0].name().as_str(), fields[0].is_nullable()), ("keys", false));
        assert_eq!((fields[1].name().as_str(), fields[1].is_nullable()), ("values", true));
    }
}
