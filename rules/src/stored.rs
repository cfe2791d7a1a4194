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

pub mod naming;

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, MapArray, RecordBatch};
use sightline_storage::{QueryEngine, Table};

use crate::promql::{Labels, METRIC_NAME, Sample, Selection, Series, SeriesSource, format_value};
use naming::{MetricKind, label_name, metric_name};

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
        let histogram = table == Table::MetricsHistogram;
        let table = table.name();
        let monotonic = if histogram { "false" } else { "is_monotonic" };
        let batches = self.sql(&format!(
            "SELECT DISTINCT metric_name, unit, metric_type, {monotonic} AS is_monotonic, \
             metric_description FROM {table} WHERE {window}"
        ))?;
        let mut entries = Vec::new();
        for batch in &batches {
            let (name, unit) = (string_column(batch, 0)?, string_column(batch, 1)?);
            let (kind, help) = (string_column(batch, 2)?, string_column(batch, 4)?);
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
            "false AS is_monotonic, CAST(count AS DOUBLE) AS count, sum, explicit_bounds, bucket_counts"
        } else {
            "is_monotonic, value"
        };
        self.sql(&format!(
            "SELECT metric_name, unit, metric_type, temporality, service_name, attributes, \
             resource_attributes, CAST(timestamp AS BIGINT) AS t, \
             CAST(start_timestamp AS BIGINT) AS start, {specific} \
             FROM {} WHERE {window} AND metric_name IN ({}) ORDER BY t",
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

/// Collects samples by series, remembering which series hold deltas.
struct SeriesBuilder {
    /// The window read is `(window_start_ms, …]`.
    window_start_ms: i64,
    series: Vec<BuiltSeries>,
    index_of: HashMap<Labels, usize>,
}

struct BuiltSeries {
    series: Series,
    delta: bool,
    /// The time of the earliest point (ms) and its start time, when it has one.
    first: Option<(i64, Option<i64>)>,
}

/// One point's time and start time (ms), and whether it is a delta.
#[derive(Clone, Copy)]
struct PointTimes {
    t_ms: i64,
    start_ms: Option<i64>,
    delta: bool,
}

impl SeriesBuilder {
    fn new(window_start_ms: i64) -> SeriesBuilder {
        SeriesBuilder { window_start_ms, series: Vec::new(), index_of: HashMap::new() }
    }

    fn push(&mut self, labels: Labels, value: f64, times: PointTimes) {
        let index = *self.index_of.entry(labels.clone()).or_insert_with(|| {
            let series = Series { labels, samples: Vec::new() };
            self.series.push(BuiltSeries { series, delta: times.delta, first: None });
            self.series.len() - 1
        });
        let built = &mut self.series[index];
        if built.first.is_none_or(|(first_t, _)| times.t_ms < first_t) {
            built.first = Some((times.t_ms, times.start_ms));
        }
        built.series.samples.push(Sample { t: times.t_ms, v: value });
    }

    fn add_batch(&mut self, batch: &RecordBatch, histogram: bool) -> Result<(), String> {
        let name = string_column(batch, 0)?;
        let unit = string_column(batch, 1)?;
        let kind = string_column(batch, 2)?;
        let temporality = string_column(batch, 3)?;
        let service = string_column(batch, 4)?;
        let attributes = map_column(batch, 5)?;
        let resource = map_column(batch, 6)?;
        let t = batch.column(7).as_primitive_opt::<Int64Type>().ok_or("t is not BIGINT")?;
        let start = batch.column(8).as_primitive_opt::<Int64Type>().ok_or("start is not BIGINT")?;
        let monotonic = batch.column(9).as_boolean_opt().ok_or("is_monotonic is not boolean")?;
        for row in 0..batch.num_rows() {
            let kind = metric_kind(&kind[row], monotonic.is_valid(row) && monotonic.value(row));
            let times = PointTimes {
                t_ms: t.value(row).div_euclid(1_000_000),
                start_ms: start.is_valid(row).then(|| start.value(row).div_euclid(1_000_000)),
                delta: temporality[row] == "delta",
            };
            let mut labels = series_labels(&attributes, &resource, &service[row], row);
            let name = metric_name(&name[row], &unit[row], kind);
            if !histogram {
                let value = batch.column(10).as_primitive_opt::<Float64Type>().ok_or("value")?;
                labels.set(METRIC_NAME.to_owned(), name);
                self.push(labels, value.value(row), times);
                continue;
            }
            let count = batch.column(10).as_primitive_opt::<Float64Type>().ok_or("count")?;
            let sum = batch.column(11).as_primitive_opt::<Float64Type>().ok_or("sum")?;
            let bounds = batch.column(12).as_list_opt::<i32>().ok_or("explicit_bounds")?;
            let counts = batch.column(13).as_list_opt::<i32>().ok_or("bucket_counts")?;
            let bounds = bounds.value(row);
            let bounds = bounds.as_primitive_opt::<Float64Type>().ok_or("bounds")?;
            let counts = counts.value(row);
            let counts = counts.as_primitive_opt::<UInt64Type>().ok_or("bucket counts")?;
            let mut cumulative = 0.0;
            for (index, bucket_count) in counts.values().iter().enumerate() {
                cumulative += *bucket_count as f64;
                let le = match bounds.values().get(index) {
                    // Prometheus's OTLP receiver writes bounds as Go's `FormatFloat(bound, 'f', -1, 64)`.
                    Some(bound) => format_value(*bound),
                    None => "+Inf".to_owned(),
                };
                let mut bucket = labels.clone();
                bucket.set(METRIC_NAME.to_owned(), format!("{name}_bucket"));
                bucket.set("le".to_owned(), le);
                self.push(bucket, cumulative, times);
            }
            if sum.is_valid(row) {
                let mut sum_labels = labels.clone();
                sum_labels.set(METRIC_NAME.to_owned(), format!("{name}_sum"));
                self.push(sum_labels, sum.value(row), times);
            }
            labels.set(METRIC_NAME.to_owned(), format!("{name}_count"));
            self.push(labels, count.value(row), times);
        }
        Ok(())
    }

    /// The series in label order, samples in time order, deltas turned into running totals (from zero at
    /// the first point's start when that is inside the window).
    fn finish(self) -> Vec<Series> {
        let window_start_ms = self.window_start_ms;
        let mut out: Vec<Series> = self
            .series
            .into_iter()
            .map(|BuiltSeries { mut series, delta, first }| {
                series.samples.sort_by_key(|sample| sample.t);
                if delta {
                    let started_inside = first.and_then(|(first_t, start)| {
                        start.filter(|start| *start > window_start_ms && *start < first_t)
                    });
                    let mut total = 0.0;
                    for sample in &mut series.samples {
                        total += sample.v;
                        sample.v = total;
                    }
                    if let Some(start) = started_inside {
                        series.samples.insert(0, Sample { t: start, v: 0.0 });
                    }
                }
                series
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

fn metric_kind(metric_type: &str, monotonic: bool) -> MetricKind {
    match metric_type {
        "sum" if monotonic => MetricKind::Counter,
        "sum" => MetricKind::UpDownCounter,
        "histogram" => MetricKind::Histogram,
        _ => MetricKind::Gauge,
    }
}

/// The labels of a point: its attributes, `job` and `instance`.
fn series_labels(attributes: &MapArray, resource: &MapArray, service: &str, row: usize) -> Labels {
    let mut labels = Labels::default();
    for (key, value) in map_entries(attributes, row) {
        labels.set(label_name(&key), value);
    }
    let resource: HashMap<String, String> = map_entries(resource, row).collect();
    let job = match resource.get("service.namespace") {
        Some(namespace) if !namespace.is_empty() => format!("{namespace}/{service}"),
        _ => service.to_owned(),
    };
    labels.set("job".to_owned(), job);
    if let Some(instance) = resource.get("service.instance.id") {
        labels.set("instance".to_owned(), instance.clone());
    }
    labels
}

fn map_entries(map: &MapArray, row: usize) -> impl Iterator<Item = (String, String)> + '_ {
    let entries = map.value(row);
    let keys = entries.column(0).as_string_opt::<i32>().cloned();
    let values = entries.column(1).as_string_opt::<i32>().cloned();
    (0..entries.len()).filter_map(move |index| {
        let (keys, values) = (keys.as_ref()?, values.as_ref()?);
        values
            .is_valid(index)
            .then(|| (keys.value(index).to_owned(), values.value(index).to_owned()))
    })
}

/// A string column as owned values ("" for nulls), whatever string encoding the engine chose.
fn string_column(batch: &RecordBatch, index: usize) -> Result<Vec<String>, String> {
    let column = arrow_cast::cast(batch.column(index), &arrow_schema::DataType::Utf8)
        .map_err(|e| format!("column {index}: {e}"))?;
    let strings = column.as_string::<i32>();
    Ok((0..strings.len())
        .map(
            |row| if strings.is_valid(row) { strings.value(row).to_owned() } else { String::new() },
        )
        .collect())
}

fn map_column(batch: &RecordBatch, index: usize) -> Result<MapArray, String> {
    batch.column(index).as_map_opt().cloned().ok_or_else(|| format!("column {index} is not a map"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(series: &Series) -> Vec<(i64, f64)> {
        series.samples.iter().map(|sample| (sample.t, sample.v)).collect()
    }

    fn delta(t_ms: i64, start_ms: i64) -> PointTimes {
        PointTimes { t_ms, start_ms: Some(start_ms), delta: true }
    }

    #[test]
    fn deltas_are_running_totals_from_zero_at_a_start_inside_the_window() {
        let mut builder = SeriesBuilder::new(1_000);
        let labels = |name: &str| {
            let mut labels = Labels::default();
            labels.set(METRIC_NAME.to_owned(), name.to_owned());
            labels
        };
        // One burst: a single delta point whose interval started inside the window.
        builder.push(labels("burst"), 5.0, delta(20_000, 5_000));
        // A series that was already running when the window started: its first point is the baseline.
        builder.push(labels("running"), 2.0, delta(5_000, 500));
        builder.push(labels("running"), 3.0, delta(20_000, 5_000));
        // Cumulative points are left as they are.
        let cumulative = PointTimes { t_ms: 20_000, start_ms: Some(5_000), delta: false };
        builder.push(labels("cumulative"), 7.0, cumulative);
        let series = builder.finish();
        assert_eq!(values(&series[0]), vec![(5_000, 0.0), (20_000, 5.0)]);
        assert_eq!(values(&series[1]), vec![(20_000, 7.0)]);
        assert_eq!(values(&series[2]), vec![(5_000, 2.0), (20_000, 5.0)]);
    }
}
