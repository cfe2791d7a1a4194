//! The rules' backend in the daemon: PromQL reads the stored metrics, `sql:` rules query the store as of their
//! evaluation time, and what rules write (recorded series, `ALERTS`, stale markers) is stored as gauge points
//! of the `metrics` table, so that it reads back under the same names and labels.
//!
//! A written series is stored so that [`super::StoredMetrics`] gives it back unchanged: its name as the
//! metric name (a gauge without unit, so no suffix is added), `job` as the service name, `instance` as the
//! resource's `service.instance.id`, every other label as an attribute. Scope `sightline.rules` marks them.

use std::sync::Arc;

use arrow_array::builder::{MapBuilder, MapFieldNames, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, Float64Array, ListArray, MapArray, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array, new_empty_array, new_null_array,
};
use arrow_schema::DataType;
use sightline_storage::{BatchSink, QueryEngine, Table, TableBatch};

use super::StoredMetrics;
use crate::group::SqlSource;
use crate::manager::Backend;
use crate::promql::{Element, Labels, METRIC_NAME, SeriesSource};

/// The instrumentation scope of the points rules write.
pub const RULES_SCOPE: &str = "sightline.rules";

/// The rules' view of the store.
pub struct StoreBackend {
    metrics: StoredMetrics,
    sql: StoredSql,
    sink: Arc<dyn BatchSink>,
    runtime: tokio::runtime::Handle,
}

/// `sql:` rules over the store, as of their evaluation time. Call from blocking threads only.
#[derive(Debug)]
pub struct StoredSql {
    engine: Arc<QueryEngine>,
    runtime: tokio::runtime::Handle,
}

impl StoredSql {
    pub fn new(engine: Arc<QueryEngine>, runtime: tokio::runtime::Handle) -> StoredSql {
        StoredSql { engine, runtime }
    }
}

impl std::fmt::Debug for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBackend").field("metrics", &self.metrics).finish_non_exhaustive()
    }
}

impl StoreBackend {
    /// `max_samples` bounds what one PromQL selector may read. Call the backend from blocking threads only.
    pub fn new(
        engine: Arc<QueryEngine>,
        sink: Arc<dyn BatchSink>,
        runtime: tokio::runtime::Handle,
        max_samples: usize,
    ) -> StoreBackend {
        let metrics = StoredMetrics::new(Arc::clone(&engine), runtime.clone(), max_samples);
        let sql = StoredSql::new(engine, runtime.clone());
        StoreBackend { metrics, sql, sink, runtime }
    }
}

impl Backend for StoreBackend {
    fn series(&self) -> &dyn SeriesSource {
        &self.metrics
    }

    fn sql(&self) -> Option<&dyn SqlSource> {
        Some(&self.sql)
    }

    fn write(&self, output: Vec<Element>) -> Result<(), String> {
        let batch = points(&output)?;
        self.runtime
            .block_on(self.sink.write(vec![TableBatch { table: Table::Metrics, batch }]))
            .map_err(|error| error.to_string())
    }
}

impl SqlSource for StoredSql {
    fn rows(&self, sql: &str, t_ms: i64) -> Result<Vec<Element>, String> {
        let output = self
            .runtime
            .block_on(self.engine.sql_at(sql, t_ms.saturating_mul(1_000_000)))
            .map_err(|error| error.to_string())?;
        if output.truncated {
            return Err(format!(
                "the query returned more than {} rows",
                self.engine.limits().max_rows
            ));
        }
        let value_index = output.schema.index_of("value").map_err(|_| {
            "the query must return a column named \"value\" (the alert's value)".to_owned()
        })?;
        let mut elements = Vec::new();
        for batch in &output.batches {
            let values = arrow_cast::cast(batch.column(value_index), &DataType::Float64)
                .map_err(|error| format!("column \"value\" is not a number: {error}"))?;
            let values = values.as_primitive::<Float64Type>();
            let labels: Vec<(String, ArrayRef)> = output
                .schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != value_index)
                .map(|(index, field)| {
                    arrow_cast::cast(batch.column(index), &DataType::Utf8)
                        .map(|column| (field.name().clone(), column))
                        .map_err(|error| format!("column {:?} as text: {error}", field.name()))
                })
                .collect::<Result<_, _>>()?;
            for row in 0..batch.num_rows() {
                let mut element_labels = Labels::default();
                for (name, column) in &labels {
                    let column = column.as_string::<i32>();
                    if column.is_valid(row) {
                        element_labels.set(name.clone(), column.value(row).to_owned());
                    }
                }
                let v = if values.is_valid(row) { values.value(row) } else { f64::NAN };
                elements.push(Element { labels: element_labels, t: t_ms, v });
            }
        }
        Ok(elements)
    }
}

/// The elements as rows of the `metrics` table.
fn points(output: &[Element]) -> Result<RecordBatch, String> {
    let schema = Table::Metrics.schema();
    let n = output.len();
    let strings = |value: &dyn Fn(&Element) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(output.iter().map(value)))
    };
    let label = |name: &'static str| {
        move |element: &Element| element.labels.get(name).unwrap_or_default().to_owned()
    };
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            match field.name().as_str() {
                "timestamp" => Arc::new(
                    TimestampNanosecondArray::from_iter_values(
                        output.iter().map(|element| element.t.saturating_mul(1_000_000)),
                    )
                    .with_timezone("UTC"),
                ),
                "metric_name" => strings(&label(METRIC_NAME)),
                "metric_type" => strings(&|_| "gauge".to_owned()),
                "service_name" => strings(&label("job")),
                "scope_name" => strings(&|_| RULES_SCOPE.to_owned()),
                "scope_version" => strings(&|_| env!("CARGO_PKG_VERSION").to_owned()),
                "value" => Arc::new(Float64Array::from_iter_values(output.iter().map(|e| e.v))),
                "attributes" => maps(output, |labels| {
                    labels
                        .iter()
                        .filter(|(name, _)| !matches!(*name, METRIC_NAME | "job" | "instance"))
                        .map(|(name, value)| (name.to_owned(), value.to_owned()))
                        .collect()
                }),
                "resource_attributes" => maps(output, |labels| {
                    let mut resource = Vec::new();
                    if let Some(job) = labels.get("job") {
                        resource.push(("service.name".to_owned(), job.to_owned()));
                    }
                    if let Some(instance) = labels.get("instance") {
                        resource.push(("service.instance.id".to_owned(), instance.to_owned()));
                    }
                    resource
                }),
                _ if field.is_nullable() => new_null_array(field.data_type(), n),
                _ => zeros(field.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns)
        .map_err(|error| format!("building metric points: {error}"))
}

/// A map column with one map per element, its entries from the element's labels.
fn maps(output: &[Element], entries: impl Fn(&Labels) -> Vec<(String, String)>) -> ArrayRef {
    let names = MapFieldNames {
        entry: "entries".to_owned(),
        key: "keys".to_owned(),
        value: "values".to_owned(),
    };
    let mut builder = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    for element in output {
        for (key, value) in entries(&element.labels) {
            builder.keys().append_value(key);
            builder.values().append_value(value);
        }
        builder.append(true).expect("keys and values were appended in pairs");
    }
    let map: MapArray = builder.finish();
    Arc::new(map)
}

/// The zero value of a non-nullable column the rules have nothing for (empty text, 0, empty maps and lists).
/// A column of another type gets nulls, which the batch then refuses with the column's name.
fn zeros(data_type: &DataType, n: usize) -> ArrayRef {
    match data_type {
        DataType::Utf8 => Arc::new(StringArray::from_iter_values(std::iter::repeat_n("", n))),
        DataType::UInt32 => Arc::new(UInt32Array::from(vec![0; n])),
        DataType::List(item) => Arc::new(ListArray::new(
            Arc::clone(item),
            arrow_buffer::OffsetBuffer::new_zeroed(n),
            new_empty_array(item.data_type()),
            None,
        )),
        DataType::Map(entries, sorted) => Arc::new(MapArray::new(
            Arc::clone(entries),
            arrow_buffer::OffsetBuffer::new_zeroed(n),
            new_empty_array(entries.data_type()).as_struct().clone(),
            None,
            *sorted,
        )),
        other => new_null_array(other, n),
    }
}
