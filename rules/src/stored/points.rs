//! Rows of the `metrics` and `metrics_histogram` tables as Prometheus samples, and the samples of a window
//! as PromQL reads them (deltas summed, resets from start times made visible). Shared by the reads through
//! SQL and the recent samples held in memory, so that both give the same series.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, MapArray, RecordBatch, StringArray};
use arrow_schema::DataType;

use super::naming::{MetricKind, label_name, metric_name};
use crate::promql::{Labels, METRIC_NAME, Sample, format_value};

/// How a series' samples are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Accumulation {
    /// Deltas, summed into running totals.
    Delta,
    /// Cumulative counts (counters, histograms): a new start time is a reset.
    Cumulative,
    /// Gauges and up-down counters: values as they are.
    Value,
}

/// One sample as stored: its time and value, and the start time (ms) of the point it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RawSample {
    pub sample: Sample,
    pub start: Option<i64>,
}

/// A series as a row of a batch names it, hashed ([`for_each_sample`]): found in a map without building the
/// series' labels (two identities may still make the same labels). 128 bits, so that two series that differ
/// share one only by a chance far below that of a hardware fault.
pub(super) type SeriesIdentity = u128;

/// Calls `emit` with every sample of `batch`: its series' identity, a function that builds the labels,
/// the sample and how it accumulates. `batch` holds rows of `metrics` (or of `metrics_histogram` when
/// `histogram`) with at least the columns `metric_name`, `unit`, `metric_type`, `temporality`,
/// `service_name`, `attributes`, `resource_attributes`, `timestamp`, `start_timestamp`, and `is_monotonic`
/// and `value`, or `count`, `sum`, `explicit_bounds` and `bucket_counts`. A histogram point is the samples
/// of `_bucket{le}` (cumulative counts), `_sum` and `_count`.
pub(super) fn for_each_sample(
    batch: &RecordBatch,
    histogram: bool,
    mut emit: impl FnMut(SeriesIdentity, &dyn Fn() -> Labels, RawSample, Accumulation),
) -> Result<(), String> {
    let mut identity = Vec::new();
    let name = cast(batch, "metric_name", &DataType::Utf8)?;
    let unit = cast(batch, "unit", &DataType::Utf8)?;
    let kind = cast(batch, "metric_type", &DataType::Utf8)?;
    let temporality = cast(batch, "temporality", &DataType::Utf8)?;
    let service = cast(batch, "service_name", &DataType::Utf8)?;
    let (name, unit, kind) =
        (name.as_string::<i32>(), unit.as_string::<i32>(), kind.as_string::<i32>());
    let (temporality, service) = (temporality.as_string::<i32>(), service.as_string::<i32>());
    // Rows of one batch mostly share their metric: translate each name once.
    let mut prometheus_names: HashMap<(&str, &str, MetricKind), String> = HashMap::new();
    let attributes = map(batch, "attributes")?;
    let resource = map(batch, "resource_attributes")?;
    let t = times_ms(batch, "timestamp")?;
    let starts = times_ms(batch, "start_timestamp")?;
    // Histogram tables have no such column: a histogram is a histogram, whatever it says.
    let monotonic = batch.column_by_name("is_monotonic").and_then(|column| column.as_boolean_opt());
    let numbers = |name: &str| cast(batch, name, &DataType::Float64);
    let (value, count, sum) = if histogram {
        (None, Some(numbers("count")?), Some(numbers("sum")?))
    } else {
        (Some(numbers("value")?), None, None)
    };
    let list = |name: &str| batch.column_by_name(name).and_then(|c| c.as_list_opt::<i32>());
    let buckets = match (list("explicit_bounds"), list("bucket_counts")) {
        (Some(bounds), Some(counts)) => Some((bounds, counts)),
        _ if histogram => {
            return Err("explicit_bounds or bucket_counts is missing or not a list".to_owned());
        }
        _ => None,
    };
    for row in 0..batch.num_rows() {
        let monotonic = monotonic.is_some_and(|m| m.is_valid(row) && m.value(row));
        let kind = metric_kind(text(kind, row), monotonic);
        let how = match (text(temporality, row), kind) {
            ("delta", _) => Accumulation::Delta,
            (_, MetricKind::Counter | MetricKind::Histogram) => Accumulation::Cumulative,
            _ => Accumulation::Value,
        };
        let (Some(t), start) = (t[row], starts[row]) else {
            return Err("a point without a timestamp".to_owned());
        };
        let raw = |v: f64| RawSample { sample: Sample { t, v }, start };
        let (otel_name, unit) = (text(name, row), text(unit, row));
        let name = prometheus_names
            .entry((otel_name, unit, kind))
            .or_insert_with(|| metric_name(otel_name, unit, kind))
            .as_str();
        let service = text(service, row);
        let labels = |suffix: &str, le: Option<&str>| {
            let mut labels = series_labels(&attributes, &resource, service, row);
            labels.set(METRIC_NAME.to_owned(), format!("{name}{suffix}"));
            if let Some(le) = le {
                labels.set("le".to_owned(), le.to_owned());
            }
            labels
        };
        row_identity(&mut identity, name, service, &resource, &attributes, row);
        let point = identity_hash(&identity);
        if let Some(value) = &value {
            let v = value.as_primitive::<Float64Type>().value(row);
            emit(point, &|| labels("", None), raw(v), how);
            continue;
        }
        let Some((bounds, counts)) = buckets else {
            continue;
        };
        let bounds = bounds.value(row);
        let bounds = bounds.as_primitive_opt::<Float64Type>().ok_or("bounds")?;
        let counts = counts.value(row);
        let counts = counts.as_primitive_opt::<UInt64Type>().ok_or("bucket counts")?;
        let mut cumulative = 0.0;
        for (index, bucket_count) in counts.values().iter().enumerate() {
            cumulative += *bucket_count as f64;
            let bound = bounds.values().get(index).copied().unwrap_or(f64::INFINITY);
            // Prometheus's OTLP receiver writes bounds as Go's `FormatFloat(bound, 'f', -1, 64)`.
            let labels = || labels("_bucket", Some(&format_value(bound)));
            emit(sample_identity(point, Suffix::Bucket(bound)), &labels, raw(cumulative), how);
        }
        if let Some(sum) = &sum
            && sum.is_valid(row)
        {
            let v = sum.as_primitive::<Float64Type>().value(row);
            emit(sample_identity(point, Suffix::Sum), &|| labels("_sum", None), raw(v), how);
        }
        if let Some(count) = &count {
            let v = count.as_primitive::<Float64Type>().value(row);
            emit(sample_identity(point, Suffix::Count), &|| labels("_count", None), raw(v), how);
        }
    }
    Ok(())
}

/// The samples of one series in a window `(window_start_ms, …]`, from its stored samples in that window in
/// time order: deltas turned into running totals, and resets that only a new start time shows made visible.
pub(super) fn window_samples(
    raw: &[RawSample],
    accumulation: Accumulation,
    window_start_ms: i64,
) -> Vec<Sample> {
    match accumulation {
        Accumulation::Delta => running_totals(raw, window_start_ms),
        Accumulation::Cumulative => with_reset_zeros(raw),
        Accumulation::Value => raw.iter().map(|raw| raw.sample).collect(),
    }
}

/// Delta points as the running total from the first one, from 0 at the first point's start time when that
/// start is inside the window `(window_start_ms, …]`: a series that began counting in the window (a burst, a
/// new span-derived series) then shows its first delta as an increase rather than as the baseline.
fn running_totals(raw: &[RawSample], window_start_ms: i64) -> Vec<Sample> {
    let mut out = Vec::with_capacity(raw.len() + 1);
    if let Some(&RawSample { sample: first, start: Some(start) }) = raw.first()
        && start > window_start_ms
        && start < first.t
    {
        out.push(Sample { t: start, v: 0.0 });
    }
    let mut total = 0.0;
    out.extend(raw.iter().map(|raw| {
        total += raw.sample.v;
        Sample { t: raw.sample.t, v: total }
    }));
    out
}

/// Cumulative points, with a 0 at the new start time when a point starts later than the previous point was
/// taken but its value did not drop: the counter restarted and already counted past its old value, which the
/// value alone cannot show (Prometheus resets are drops). A dropping value needs nothing added.
fn with_reset_zeros(raw: &[RawSample]) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::with_capacity(raw.len());
    let mut previous: Option<RawSample> = None;
    for &RawSample { sample, start } in raw {
        if let (Some(before), Some(start)) = (previous, start) {
            let restarted = before.start.is_some_and(|before_start| start != before_start)
                && before.sample.t < start
                && start < sample.t;
            if restarted && sample.v >= before.sample.v {
                out.push(Sample { t: start, v: 0.0 });
            }
        }
        out.push(sample);
        previous = Some(RawSample { sample, start });
    }
    out
}

pub(super) fn metric_kind(metric_type: &str, monotonic: bool) -> MetricKind {
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
    for (key, value) in map_pairs(attributes, row) {
        labels.set(label_name(key), value.to_owned());
    }
    let (mut namespace, mut instance) = (None, None);
    for (key, value) in map_pairs(resource, row) {
        match key {
            "service.namespace" => namespace = Some(value),
            "service.instance.id" => instance = Some(value),
            _ => {}
        }
    }
    let job = match namespace {
        Some(namespace) if !namespace.is_empty() => format!("{namespace}/{service}"),
        _ => service.to_owned(),
    };
    labels.set("job".to_owned(), job);
    if let Some(instance) = instance {
        labels.set("instance".to_owned(), instance.to_owned());
    }
    labels
}

/// Writes what identifies a row's series into `out`: the Prometheus metric name, the service, the resource
/// attributes that make labels (`service.namespace`, `service.instance.id`) and the point's attributes as
/// sent.
fn row_identity(
    out: &mut Vec<u8>,
    name: &str,
    service: &str,
    resource: &MapArray,
    attributes: &MapArray,
    row: usize,
) {
    out.clear();
    // Each part prefixed with its length: no text inside a part can be read as a boundary.
    let mut part = |text: &str| {
        out.extend_from_slice(&text.len().to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    };
    part(name);
    part(service);
    for (key, value) in map_pairs(resource, row) {
        if matches!(key, "service.namespace" | "service.instance.id") {
            part(key);
            part(value);
        }
    }
    part("");
    for (key, value) in map_pairs(attributes, row) {
        part(key);
        part(value);
    }
}

/// Which of a histogram point's samples.
#[derive(Clone, Copy)]
enum Suffix {
    /// `_bucket`, with the bucket's upper bound.
    Bucket(f64),
    Sum,
    Count,
}

/// The identity of one of a histogram point's samples: the point's identity with the suffix, hashed again
/// (a few bytes, where the point's parts are many) with another seed, so that these inputs and a point's
/// parts are hashed apart.
fn sample_identity(point: SeriesIdentity, suffix: Suffix) -> SeriesIdentity {
    let mut bytes = [0u8; 25];
    bytes[..16].copy_from_slice(&point.to_le_bytes());
    let (tag, bound) = match suffix {
        Suffix::Bucket(bound) => (1, bound.to_bits()),
        Suffix::Sum => (2, 0),
        Suffix::Count => (3, 0),
    };
    bytes[16] = tag;
    bytes[17..].copy_from_slice(&bound.to_le_bytes());
    twox_hash::XxHash3_128::oneshot_with_seed(seed().wrapping_add(1), &bytes)
}

/// XXH3's 128-bit hash of a point's parts ([`row_identity`]).
fn identity_hash(identity: &[u8]) -> SeriesIdentity {
    twox_hash::XxHash3_128::oneshot_with_seed(seed(), identity)
}

/// The identities' seed, chosen at random once per process: inputs cannot be prepared to collide without
/// knowing it.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| RandomState::new().hash_one("sightline series identity"))
}

/// The entries of one row's map whose value is not null.
fn map_pairs(map: &MapArray, row: usize) -> impl Iterator<Item = (&str, &str)> {
    let offsets = map.value_offsets();
    let entries = offsets[row] as usize..offsets[row + 1] as usize;
    let keys = map.keys().as_string_opt::<i32>();
    let values = map.values().as_string_opt::<i32>();
    entries.filter_map(move |index| {
        let (keys, values) = (keys?, values?);
        values.is_valid(index).then(|| (keys.value(index), values.value(index)))
    })
}

fn cast(batch: &RecordBatch, name: &str, to: &DataType) -> Result<ArrayRef, String> {
    let column = batch.column_by_name(name).ok_or_else(|| format!("no column {name}"))?;
    arrow_cast::cast(column, to).map_err(|e| format!("column {name}: {e}"))
}

/// A value of a string column, "" for a null.
fn text(column: &StringArray, row: usize) -> &str {
    if column.is_valid(row) { column.value(row) } else { "" }
}

/// A string column as owned values ("" for nulls), whatever string encoding the engine chose.
pub(super) fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<String>, String> {
    let column = cast(batch, name, &DataType::Utf8)?;
    let strings = column.as_string::<i32>();
    Ok((0..strings.len())
        .map(
            |row| if strings.is_valid(row) { strings.value(row).to_owned() } else { String::new() },
        )
        .collect())
}

/// A time column (nanoseconds) as milliseconds, truncated as Prometheus's OTLP receiver truncates them.
fn times_ms(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, String> {
    let column = cast(batch, name, &DataType::Int64)?;
    let nanos = column.as_primitive::<Int64Type>();
    Ok((0..nanos.len())
        .map(|row| nanos.is_valid(row).then(|| nanos.value(row).div_euclid(1_000_000)))
        .collect())
}

fn map(batch: &RecordBatch, name: &str) -> Result<MapArray, String> {
    let column = batch.column_by_name(name).ok_or_else(|| format!("no column {name}"))?;
    column.as_map_opt().cloned().ok_or_else(|| format!("column {name} is not a map"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(points: &[(i64, f64, i64)]) -> Vec<RawSample> {
        points
            .iter()
            .map(|&(t, v, start)| RawSample { sample: Sample { t, v }, start: Some(start) })
            .collect()
    }

    fn samples(raw: &[RawSample]) -> Vec<Sample> {
        raw.iter().map(|raw| raw.sample).collect()
    }

    #[test]
    fn deltas_are_running_totals_from_zero_at_a_start_inside_the_window() {
        // One burst: a single delta point whose interval started inside the window (1000, …].
        assert_eq!(
            running_totals(&raw(&[(20_000, 5.0, 5_000)]), 1_000),
            [Sample { t: 5_000, v: 0.0 }, Sample { t: 20_000, v: 5.0 }]
        );
        // A series already running when the window started: its first point is the baseline.
        let running = raw(&[(5_000, 2.0, 500), (20_000, 3.0, 5_000)]);
        assert_eq!(
            running_totals(&running, 1_000),
            [Sample { t: 5_000, v: 2.0 }, Sample { t: 20_000, v: 5.0 }]
        );
    }

    #[test]
    fn a_new_start_time_without_a_drop_in_value_becomes_a_reset_at_that_time() {
        // Counted to 120 since 0; restarted at 150 and counted to 200 by 180.
        let read = with_reset_zeros(&raw(&[(60, 60.0, 0), (120, 120.0, 0), (180, 200.0, 150)]));
        let expected = [(60, 60.0), (120, 120.0), (150, 0.0), (180, 200.0)];
        assert_eq!(read, expected.map(|(t, v)| Sample { t, v }));
    }

    #[test]
    fn a_drop_in_value_or_an_unchanged_start_adds_nothing() {
        let dropped = raw(&[(60, 60.0, 0), (120, 5.0, 90)]);
        assert_eq!(with_reset_zeros(&dropped), samples(&dropped));
        let steady = raw(&[(60, 60.0, 0), (120, 120.0, 0)]);
        assert_eq!(with_reset_zeros(&steady), samples(&steady));
    }
}
