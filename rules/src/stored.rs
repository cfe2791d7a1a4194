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

pub use backend::{RULES_SCOPE, StoreBackend, StoredSql};

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
             CAST(start_timestamp AS BIGINT) AS start_t, {specific} \
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

/// How a series' samples are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accumulation {
    /// Deltas, summed into running totals.
    Delta,
    /// Cumulative counts (counters, histograms): a new start time is a reset.
    Cumulative,
    /// Gauges and up-down counters: values as they are.
    Value,
}

/// One series being collected: its samples with the start time of the point each came from.
struct Collected {
    series: Series,
    accumulation: Accumulation,
    starts: Vec<Option<i64>>,
}

/// Collects samples by series.
struct SeriesBuilder {
    /// The window read is `(window_start_ms, …]`.
    window_start_ms: i64,
    series: Vec<Collected>,
    index_of: HashMap<Labels, usize>,
}

impl SeriesBuilder {
    fn new(window_start_ms: i64) -> SeriesBuilder {
        SeriesBuilder { window_start_ms, series: Vec::new(), index_of: HashMap::new() }
    }

    fn push(&mut self, labels: Labels, sample: Sample, start: Option<i64>, how: Accumulation) {
        let index = *self.index_of.entry(labels.clone()).or_insert_with(|| {
            let series = Series { labels, samples: Vec::new() };
            self.series.push(Collected { series, accumulation: how, starts: Vec::new() });
            self.series.len() - 1
        });
        self.series[index].series.samples.push(sample);
        self.series[index].starts.push(start);
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
        let starts =
            batch.column(8).as_primitive_opt::<Int64Type>().ok_or("start_t is not BIGINT")?;
        let monotonic = batch.column(9).as_boolean_opt().ok_or("is_monotonic is not boolean")?;
        for row in 0..batch.num_rows() {
            let kind = metric_kind(&kind[row], monotonic.is_valid(row) && monotonic.value(row));
            let how = match (temporality[row].as_str(), kind) {
                ("delta", _) => Accumulation::Delta,
                (_, MetricKind::Counter | MetricKind::Histogram) => Accumulation::Cumulative,
                _ => Accumulation::Value,
            };
            let start = starts.is_valid(row).then(|| starts.value(row).div_euclid(1_000_000));
            let t_ms = t.value(row).div_euclid(1_000_000);
            let mut labels = series_labels(&attributes, &resource, &service[row], row);
            let name = metric_name(&name[row], &unit[row], kind);
            if !histogram {
                let value = batch.column(10).as_primitive_opt::<Float64Type>().ok_or("value")?;
                labels.set(METRIC_NAME.to_owned(), name);
                self.push(labels, Sample { t: t_ms, v: value.value(row) }, start, how);
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
                self.push(bucket, Sample { t: t_ms, v: cumulative }, start, how);
            }
            if sum.is_valid(row) {
                let mut sum_labels = labels.clone();
                sum_labels.set(METRIC_NAME.to_owned(), format!("{name}_sum"));
                self.push(sum_labels, Sample { t: t_ms, v: sum.value(row) }, start, how);
            }
            labels.set(METRIC_NAME.to_owned(), format!("{name}_count"));
            self.push(labels, Sample { t: t_ms, v: count.value(row) }, start, how);
        }
        Ok(())
    }

    /// The series in label order, samples in time order, deltas turned into running totals, and resets that
    /// only a new start time shows made visible.
    fn finish(self) -> Vec<Series> {
        let window_start_ms = self.window_start_ms;
        let mut out: Vec<Series> = self
            .series
            .into_iter()
            .map(|collected| {
                let Collected { mut series, accumulation, starts } = collected;
                let mut samples: Vec<(Sample, Option<i64>)> =
                    series.samples.into_iter().zip(starts).collect();
                samples.sort_by_key(|(sample, _)| sample.t);
                series.samples = match accumulation {
                    Accumulation::Delta => running_totals(samples, window_start_ms),
                    Accumulation::Cumulative => with_reset_zeros(samples),
                    Accumulation::Value => samples.into_iter().map(|(sample, _)| sample).collect(),
                };
                series
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

/// Delta points as the running total from the first one, from 0 at the first point's start time when that
/// start is inside the window `(window_start_ms, …]`: a series that began counting in the window (a burst, a
/// new span-derived series) then shows its first delta as an increase rather than as the baseline.
fn running_totals(samples: Vec<(Sample, Option<i64>)>, window_start_ms: i64) -> Vec<Sample> {
    let mut out = Vec::with_capacity(samples.len() + 1);
    if let Some(&(first, Some(start))) = samples.first()
        && start > window_start_ms
        && start < first.t
    {
        out.push(Sample { t: start, v: 0.0 });
    }
    let mut total = 0.0;
    out.extend(samples.into_iter().map(|(sample, _)| {
        total += sample.v;
        Sample { t: sample.t, v: total }
    }));
    out
}

/// Cumulative points, with a 0 at the new start time when a point starts later than the previous point was
/// taken but its value did not drop: the counter restarted and already counted past its old value, which the
/// value alone cannot show (Prometheus resets are drops). A dropping value needs nothing added.
fn with_reset_zeros(samples: Vec<(Sample, Option<i64>)>) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::with_capacity(samples.len());
    let mut previous: Option<(Sample, Option<i64>)> = None;
    for (sample, start) in samples {
        if let (Some((before, before_start)), Some(start)) = (previous, start) {
            let restarted = before_start.is_some_and(|before_start| start != before_start)
                && before.t < start
                && start < sample.t;
            if restarted && sample.v >= before.v {
                out.push(Sample { t: start, v: 0.0 });
            }
        }
        out.push(sample);
        previous = Some((sample, start));
    }
    out
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

    fn samples(points: &[(i64, f64, i64)]) -> Vec<(Sample, Option<i64>)> {
        points.iter().map(|&(t, v, start)| (Sample { t, v }, Some(start))).collect()
    }

    #[test]
    fn deltas_are_running_totals_from_zero_at_a_start_inside_the_window() {
        // One burst: a single delta point whose interval started inside the window (1000, …].
        assert_eq!(
            running_totals(samples(&[(20_000, 5.0, 5_000)]), 1_000),
            [Sample { t: 5_000, v: 0.0 }, Sample { t: 20_000, v: 5.0 }]
        );
        // A series already running when the window started: its first point is the baseline.
        let running = samples(&[(5_000, 2.0, 500), (20_000, 3.0, 5_000)]);
        assert_eq!(
            running_totals(running, 1_000),
            [Sample { t: 5_000, v: 2.0 }, Sample { t: 20_000, v: 5.0 }]
        );
    }

    #[test]
    fn a_new_start_time_without_a_drop_in_value_becomes_a_reset_at_that_time() {
        // Counted to 120 since 0; restarted at 150 and counted to 200 by 180.
        let read = with_reset_zeros(samples(&[(60, 60.0, 0), (120, 120.0, 0), (180, 200.0, 150)]));
        let expected = [(60, 60.0), (120, 120.0), (150, 0.0), (180, 200.0)];
        assert_eq!(read, expected.map(|(t, v)| Sample { t, v }));
    }

    #[test]
    fn a_drop_in_value_or_an_unchanged_start_adds_nothing() {
        let dropped = samples(&[(60, 60.0, 0), (120, 5.0, 90)]);
        assert_eq!(
            with_reset_zeros(dropped.clone()),
            dropped.iter().map(|(s, _)| *s).collect::<Vec<_>>()
        );
        let steady = samples(&[(60, 60.0, 0), (120, 120.0, 0)]);
        assert_eq!(
            with_reset_zeros(steady.clone()),
            steady.iter().map(|(s, _)| *s).collect::<Vec<_>>()
        );
    }
}
