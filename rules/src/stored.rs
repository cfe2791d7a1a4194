//! The stored OTLP metrics as Prometheus series: what the PromQL engine reads in the daemon.
//!
//! Each gauge or sum point is a sample of the series named by [`naming::metric_name`], labelled with its
//! attributes (keys through [`naming::label_name`]) plus `job` (`service.namespace/service.name`, or
//! `service.name`) and `instance` (`service.instance.id`), as Prometheus's own OTLP receiver does. An
//! explicit-bucket histogram point is the samples of `_bucket{le}` (cumulative counts), `_sum` and `_count`.
//! Delta sums and histograms are accumulated into running totals from the first point of the window read,
//! so `rate` and `increase` read them as counters (their increase within the window is exact; the total
//! itself counts from that first point). When the first point's start time is inside the window, the series
//! started there: it gets a zero sample at that start, as Prometheus's created-timestamp zero ingestion
//! does for counters, so that a series whose only point in the window is one delta (a burst of errors in one
//! export interval) still has an increase, and the first delta counts in it.
//!
//! Staleness: OTLP has no stale markers, so a series that stops being exported drops out of instant
//! selectors once its last sample is older than the lookback (5 minutes), as with Prometheus's OTLP
//! receiver.

mod backend;
pub mod naming;
mod points;
mod recent;

pub use backend::{RULES_SCOPE, StoreBackend, StoredSql};
pub use recent::RecentMetrics;

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use sightline_storage::{QueryEngine, Table};

use crate::promql::{Labels, Selection, Series, SeriesSource};
use naming::{MetricKind, metric_name};
use points::{Accumulation, RawSample, SeriesIdentity, metric_kind, strings, window_samples};

/// One metric the store holds in a window.
struct CatalogEntry {
    otel_name: String,
    prometheus_name: String,
    kind: MetricKind,
    help: String,
    unit: String,
}

/// The PromQL engine's view of the store. Its queries run on `runtime`: call [`SeriesSource::select`]
/// from a blocking thread (`spawn_blocking`), never from async code.
#[derive(Debug)]
pub struct StoredMetrics {
    engine: Arc<QueryEngine>,
    runtime: tokio::runtime::Handle,
    /// The most rows one read may return: the PromQL engine's sample budget.
    max_rows: usize,
}

impl StoredMetrics {
    pub fn new(
        engine: Arc<QueryEngine>,
        runtime: tokio::runtime::Handle,
        max_rows: usize,
    ) -> StoredMetrics {
        StoredMetrics { engine, runtime, max_rows }
    }

    fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, String> {
        let output = self
            .runtime
            .block_on(self.engine.sql_with_max_rows(sql, self.max_rows))
            .map_err(|e| e.to_string())?;
        if output.truncated {
            return Err("the query selects more samples than a query may hold".into());
        }
        Ok(output.batches)
    }

    /// The distinct metrics of `table` with points in `window`, with their Prometheus names.
    fn catalog(&self, table: Table, window: &str) -> Result<Vec<CatalogEntry>, String> {
        // Nothing to plan for a table without rows: on an empty store, the start's load of recent samples
        // then leaves the query engine's session unmade until a real query.
        if !self.engine.holds_rows(table) {
            return Ok(Vec::new());
        }
        let histogram = table == Table::MetricsHistogram;
        let table = table.name();
        let monotonic = if histogram { "false" } else { "is_monotonic" };
        let batches = self.sql(&format!(
            "SELECT DISTINCT metric_name, unit, metric_type, {monotonic} AS is_monotonic, \
             metric_description FROM {table} WHERE {window}"
        ))?;
        let mut entries = Vec::new();
        for batch in &batches {
            let (name, unit) = (strings(batch, "metric_name")?, strings(batch, "unit")?);
            let (kind, help) =
                (strings(batch, "metric_type")?, strings(batch, "metric_description")?);
            let monotonic = batch.column(3).as_boolean_opt();
            for row in 0..batch.num_rows() {
                let monotonic = monotonic.is_some_and(|m| m.is_valid(row) && m.value(row));
                let kind = metric_kind(&kind[row], monotonic);
                entries.push(CatalogEntry {
                    prometheus_name: metric_name(&name[row], &unit[row], kind),
                    otel_name: name[row].clone(),
                    kind,
                    help: help[row].clone(),
                    unit: unit[row].clone(),
                });
            }
        }
        Ok(entries)
    }

    /// The stored metrics of a table in the window whose Prometheus names `wanted` accepts (any of the
    /// `_bucket`, `_sum` and `_count` series for a histogram).
    fn names_in(
        &self,
        table: Table,
        window: &str,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        let names: std::collections::BTreeSet<String> = self
            .catalog(table, window)?
            .into_iter()
            .filter(|entry| match entry.kind {
                MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| wanted(&format!("{}{suffix}", entry.prometheus_name))),
                _ => wanted(&entry.prometheus_name),
            })
            .map(|entry| entry.otel_name)
            .collect();
        Ok(names.into_iter().collect())
    }

    fn points(
        &self,
        table: Table,
        window: &str,
        names: &[String],
    ) -> Result<Vec<RecordBatch>, String> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = names.iter().map(|name| quote(name)).collect();
        let specific = if table == Table::MetricsHistogram {
            "count, sum, explicit_bounds, bucket_counts"
        } else {
            "is_monotonic, value"
        };
        self.sql(&format!(
            "SELECT metric_name, unit, metric_type, temporality, service_name, attributes, \
             resource_attributes, timestamp, start_timestamp, {specific} \
             FROM {} WHERE {window} AND metric_name IN ({}) ORDER BY timestamp",
            table.name(),
            list.join(", ")
        ))
    }
}

/// What `/api/v1/metadata` tells of one metric: its Prometheus type, its description as help, its OTLP unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricMetadata {
    pub name: String,
    pub kind: &'static str,
    pub help: String,
    pub unit: String,
}

impl StoredMetrics {
    /// Calls `f` with every stored sample in `(start_ms, end_ms]`, one metric at a time.
    fn for_each_sample(
        &self,
        start_ms: i64,
        end_ms: i64,
        mut f: impl FnMut(SeriesIdentity, &dyn Fn() -> Labels, RawSample, Accumulation),
    ) -> Result<(), String> {
        let window = window(start_ms, end_ms);
        for table in [Table::Metrics, Table::MetricsHistogram] {
            for name in self.names_in(table, &window, &|_| true)? {
                for batch in self.points(table, &window, std::slice::from_ref(&name))? {
                    points::for_each_sample(&batch, table == Table::MetricsHistogram, &mut f)?;
                }
            }
        }
        Ok(())
    }

    /// The metadata of every metric with points in `(start_ms, end_ms]`, by Prometheus name.
    pub fn metadata(&self, start_ms: i64, end_ms: i64) -> Result<Vec<MetricMetadata>, String> {
        let window = window(start_ms, end_ms);
        let mut found = std::collections::BTreeSet::new();
        for table in [Table::Metrics, Table::MetricsHistogram] {
            for entry in self.catalog(table, &window)? {
                found.insert(MetricMetadata {
                    name: entry.prometheus_name,
                    kind: match entry.kind {
                        MetricKind::Counter => "counter",
                        MetricKind::Histogram => "histogram",
                        MetricKind::Gauge | MetricKind::UpDownCounter => "gauge",
                    },
                    help: entry.help,
                    unit: entry.unit,
                });
            }
        }
        Ok(found.into_iter().collect())
    }
}

impl SeriesSource for StoredMetrics {
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        let window = window(start_ms, end_ms);
        let wanted = |name: &str| match selection.required_metric_name() {
            Some(required) => required == name,
            None => true,
        };
        let mut builder = SeriesBuilder::new(start_ms);
        for table in [Table::Metrics, Table::MetricsHistogram] {
            let names = self.names_in(table, &window, &wanted)?;
            for batch in self.points(table, &window, &names)? {
                builder.add_batch(&batch, table == Table::MetricsHistogram)?;
            }
        }
        Ok(builder
            .finish()
            .into_iter()
            .filter(|series| selection.matches(&series.labels))
            .collect())
    }
}

/// Collects samples by series.
struct SeriesBuilder {
    /// The window read is `(window_start_ms, …]`.
    window_start_ms: i64,
    series: Vec<(Labels, Accumulation, Vec<RawSample>)>,
    index_of: HashMap<Labels, usize>,
}

impl SeriesBuilder {
    fn new(window_start_ms: i64) -> SeriesBuilder {
        SeriesBuilder { window_start_ms, series: Vec::new(), index_of: HashMap::new() }
    }

    fn add_batch(&mut self, batch: &RecordBatch, histogram: bool) -> Result<(), String> {
        points::for_each_sample(batch, histogram, |_, labels, raw, accumulation| {
            let labels = labels();
            let index = *self.index_of.entry(labels.clone()).or_insert_with(|| {
                self.series.push((labels, accumulation, Vec::new()));
                self.series.len() - 1
            });
            self.series[index].2.push(raw);
        })
    }

    /// The series in label order, with the samples PromQL reads.
    fn finish(self) -> Vec<Series> {
        let mut out: Vec<Series> = self
            .series
            .into_iter()
            .map(|(labels, accumulation, mut raw)| {
                raw.sort_by_key(|raw| raw.sample.t);
                let samples = window_samples(&raw, accumulation, self.window_start_ms);
                Series { labels, samples }
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

/// The SQL condition for points in `(start_ms, end_ms]`. Samples are at their time truncated to the
/// millisecond (as Prometheus's OTLP receiver stores them), so a point at 1.000900 s is a sample at 1000 ms
/// and must be in the window that ends at 1000 ms: compare whole milliseconds, not nanoseconds.
fn window(start_ms: i64, end_ms: i64) -> String {
    format!(
        "timestamp >= {} AND timestamp < {}",
        timestamp_literal(start_ms.saturating_add(1)),
        timestamp_literal(end_ms.saturating_add(1))
    )
}

fn timestamp_literal(ms: i64) -> String {
    let nanos = ms.saturating_mul(1_000_000);
    format!("arrow_cast({nanos}, 'Timestamp(Nanosecond, Some(\"UTC\"))')")
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
