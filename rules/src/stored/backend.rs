//! The rules' backend in the daemon: PromQL reads the stored metrics, `sql:` rules query the store as of their
//! evaluation time, and what rules write (recorded series, `ALERTS`, stale markers) is stored as gauge points
//! of the `metrics` table, so that it reads back under the same names and labels.
//!
//! A written series is stored so that [`super::StoredMetrics`] gives it back unchanged: its name as the
//! metric name (a gauge without unit, so no suffix is added), `job` as the service name, `instance` as the
//! resource's `service.instance.id`, every other label as an attribute. Scope `sightline.rules` marks them.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use sightline_storage::{BatchSink, QueryEngine, Table, TableBatch, rows};

use super::RecentMetrics;
use crate::group::SqlSource;
use crate::manager::Backend;
use crate::notify::dispatch::Alert as NotifyAlert;
use crate::notify::notifier::Notifier;
use crate::promql::{Element, Labels, METRIC_NAME, SeriesSource};

/// The instrumentation scope of the points rules write.
pub const RULES_SCOPE: &str = "sightline.rules";

/// The rules' view of the store.
pub struct StoreBackend {
    metrics: Arc<RecentMetrics>,
    sql: StoredSql,
    sink: Arc<dyn BatchSink>,
    runtime: tokio::runtime::Handle,
    notifier: Option<Notifier>,
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
    /// PromQL reads `metrics`, `sql:` rules query `engine`, and what rules write goes to `sink`, which must
    /// show it to `metrics` too. Call the backend from blocking threads only.
    pub fn new(
        metrics: Arc<RecentMetrics>,
        engine: Arc<QueryEngine>,
        sink: Arc<dyn BatchSink>,
        runtime: tokio::runtime::Handle,
    ) -> StoreBackend {
        let sql = StoredSql::new(engine, runtime.clone());
        StoreBackend { metrics, sql, sink, runtime, notifier: None }
    }

    /// Alerts go to `notifier` (none: alerts are only shown, not notified).
    pub fn with_notifier(self, notifier: Option<Notifier>) -> StoreBackend {
        StoreBackend { notifier, ..self }
    }
}

impl Backend for StoreBackend {
    fn series(&self) -> &dyn SeriesSource {
        self.metrics.as_ref()
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

    fn notify(&self, alerts: Vec<NotifyAlert>) {
        if let Some(notifier) = &self.notifier {
            notifier.send(alerts);
        }
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
    let strings = |value: &dyn Fn(&Element) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(output.iter().map(value)))
    };
    let label = |name: &'static str| {
        move |element: &Element| element.labels.get(name).unwrap_or_default().to_owned()
    };
    rows::batch(Table::Metrics, output.len(), |field| {
        Some(match field.name().as_str() {
            "timestamp" => rows::timestamps(output.iter().map(|e| e.t.saturating_mul(1_000_000))),
            "metric_name" => strings(&label(METRIC_NAME)),
            "metric_type" => strings(&|_| "gauge".to_owned()),
            "service_name" => strings(&label("job")),
            "scope_name" => strings(&|_| RULES_SCOPE.to_owned()),
            "scope_version" => strings(&|_| env!("CARGO_PKG_VERSION").to_owned()),
            "value" => Arc::new(Float64Array::from_iter_values(output.iter().map(|e| e.v))),
            "attributes" => rows::attribute_maps(output.iter().map(|element| {
                element
                    .labels
                    .iter()
                    .filter(|(name, _)| !matches!(*name, METRIC_NAME | "job" | "instance"))
            })),
            "resource_attributes" => rows::attribute_maps(output.iter().map(|element| {
                let labels = &element.labels;
                let job = labels.get("job").map(|job| ("service.name", job));
                let instance = labels.get("instance").map(|id| ("service.instance.id", id));
                job.into_iter().chain(instance)
            })),
            _ => return None,
        })
    })
    .map_err(|error| format!("building metric points: {error}"))
}
