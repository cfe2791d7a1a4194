//! The recent samples of every metric series, held in memory, so that rule evaluations read them without a
//! query: the role of Prometheus's head block. Rules read minutes of data every few seconds, and reading
//! them through SQL each time costs a scan and a decode of every series of the metric, per selector.
//!
//! The daemon feeds it every metrics batch that storage accepted ([`RecentMetrics::observe`], from a sink in
//! front of storage), and loads what storage already holds once at start ([`RecentMetrics::load`]). A
//! selection whose window starts after the time from which every sample is held is answered here; any
//! other (a longer range, or before the load) goes to the stored metrics, as does everything once the
//! held samples would pass their bound. The same parsing and window rules as the SQL reads
//! ([`super::points`]) give the same series either way.

use foldhash::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use sightline_storage::{Table, TableBatch};

use super::StoredMetrics;
use super::points::{self, Accumulation, RawSample, SeriesIdentity};
use crate::promql::{Labels, Selection, Series, SeriesSource};

/// The recent samples, in front of the stored metrics.
#[derive(Debug)]
pub struct RecentMetrics {
    stored: StoredMetrics,
    /// How far back samples are held (ms).
    keep_ms: i64,
    /// The most memory the held samples and their labels may take (estimated); past it, every read goes to
    /// storage.
    max_bytes: usize,
    held: RwLock<Held>,
    /// What is held, for `/metrics`.
    series_held: Gauge,
    samples_held: Gauge,
    bytes_held: Gauge,
}

#[derive(Debug, Default)]
struct Held {
    series: Vec<HeldSeries>,
    index_of: HashMap<Labels, usize>,
    /// The series of an observed row's identity: found without building its labels. A cache, emptied when
    /// series move.
    by_identity: HashMap<SeriesIdentity, usize>,
    /// The series of each metric name, in label order (the order selections answer in).
    by_name: HashMap<String, Vec<usize>>,
    samples: usize,
    /// The memory taken (estimated): the sample vectors' capacity, each series' labels (one shared set, in
    /// the series and as the index's key), and the identities cached.
    bytes: usize,
    /// Observed samples after this time (ms) are held; `None` before the load begins and after an overflow.
    accepting_after_ms: Option<i64>,
    /// Every sample after this time (ms) is held: selections from then on are answered here. Set once the
    /// load has ended.
    complete_after_ms: Option<i64>,
}

#[derive(Debug)]
struct HeldSeries {
    labels: Labels,
    accumulation: Accumulation,
    /// In time order, one per timestamp.
    samples: Vec<RawSample>,
}

impl RecentMetrics {
    pub fn new(
        stored: StoredMetrics,
        keep: std::time::Duration,
        max_bytes: usize,
    ) -> RecentMetrics {
        let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        RecentMetrics {
            stored,
            keep_ms,
            max_bytes,
            held: RwLock::default(),
            series_held: Gauge::default(),
            samples_held: Gauge::default(),
            bytes_held: Gauge::default(),
        }
    }

    /// Registers `sightline_rules_recent_series`, `_samples` and `_bytes`.
    pub fn register(&self, registry: &mut Registry) {
        let rules = registry.sub_registry_with_prefix("sightline_rules");
        let series = "Metric series whose recent samples rules read from memory";
        rules.register("recent_series", series, self.series_held.clone());
        let samples = "Recent metric samples held in memory for rules and queries";
        rules.register("recent_samples", samples, self.samples_held.clone());
        let bytes = "Estimated memory of the recent metric samples and their labels";
        rules.register_with_unit("recent", bytes, Unit::Bytes, self.bytes_held.clone());
    }

    /// How many series and samples are held, and the memory they take (estimated).
    pub fn held(&self) -> (usize, usize, usize) {
        let held = self.read();
        (held.series.len(), held.samples, held.bytes)
    }

    /// The stored metrics behind: what the recent samples do not hold, and the catalog.
    pub fn stored(&self) -> &StoredMetrics {
        &self.stored
    }

    /// Adds the samples of the metrics batches among `batches`, which storage has accepted. Samples older
    /// than what is held are left to storage. The batches are read under the lock: a known series is found by
    /// its row's identity without building its labels, which keeps that short, and a selection waits for it.
    pub fn observe(&self, batches: &[TableBatch]) {
        let mut held = self.write();
        let Some(after) = held.accepting_after_ms else {
            return;
        };
        for batch in batches {
            let histogram = match batch.table {
                Table::Metrics => false,
                Table::MetricsHistogram => true,
                _ => continue,
            };
            let read =
                points::for_each_sample(&batch.batch, histogram, |identity, labels, raw, how| {
                    if raw.sample.t > after {
                        held.insert_observed(identity, labels, raw, how);
                    }
                });
            if let Err(error) = read {
                // Storage accepted the batch, so reads fall back to it rather than miss these samples.
                tracing::warn!(%error, "recent metrics cannot read a batch; rules read storage from now on");
                *held = Held::default();
                break;
            }
        }
        self.check_bound(&mut held);
    }

    /// Loads the samples storage holds in `(now_ms - keep, now_ms]` and from then on answers from memory.
    /// Call from a blocking thread, once observing has begun, so that nothing falls between the two.
    pub fn load(&self, now_ms: i64) -> Result<(), String> {
        let start_ms = now_ms.saturating_sub(self.keep_ms);
        // Samples stored while the load reads are observed meanwhile; the load may read them too, and
        // inserting the same point twice keeps one.
        *self.write() = Held { accepting_after_ms: Some(start_ms), ..Held::default() };
        let mut loaded = Vec::new();
        let read = self.stored.for_each_sample(start_ms, now_ms, |_, labels, raw, how| {
            loaded.push((labels(), raw, how));
        });
        let mut held = self.write();
        if let Err(error) = read {
            *held = Held::default();
            self.check_bound(&mut held);
            return Err(error);
        }
        if held.accepting_after_ms.is_none() {
            // It overflowed while loading.
            return Ok(());
        }
        for (labels, raw, how) in loaded {
            held.insert(labels, raw, how);
        }
        held.complete_after_ms = Some(start_ms);
        self.check_bound(&mut held);
        Ok(())
    }

    /// Drops the samples at or before `now_ms - keep`, and the series left without samples.
    pub fn evict(&self, now_ms: i64) {
        let mut held = self.write();
        if held.accepting_after_ms.is_some() {
            held.forget_before(now_ms.saturating_sub(self.keep_ms));
        }
        self.check_bound(&mut held);
    }

    /// Past the bound, lets go of everything: reads go to storage. Then publishes what is held.
    fn check_bound(&self, held: &mut Held) {
        if held.bytes > self.max_bytes && held.accepting_after_ms.is_some() {
            tracing::warn!(
                max_bytes = self.max_bytes,
                "too many recent samples to hold: rules read storage instead, which is slower"
            );
            *held = Held::default();
        }
        self.series_held.set(i64::try_from(held.series.len()).unwrap_or(i64::MAX));
        self.samples_held.set(i64::try_from(held.samples).unwrap_or(i64::MAX));
        self.bytes_held.set(i64::try_from(held.bytes).unwrap_or(i64::MAX));
    }

    fn read(&self) -> RwLockReadGuard<'_, Held> {
        // A panic while writing leaves at worst a sample unsorted or missing; reads stay correct otherwise.
        self.held.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Held> {
        self.held.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Held {
    fn insert_observed(
        &mut self,
        identity: SeriesIdentity,
        labels: &dyn Fn() -> Labels,
        raw: RawSample,
        accumulation: Accumulation,
    ) {
        let index = match self.by_identity.get(&identity) {
            Some(&index) => index,
            None => {
                let index = self.series_index(labels(), accumulation);
                self.bytes += IDENTITY_BYTES;
                self.by_identity.insert(identity, index);
                index
            }
        };
        self.push_sample(index, raw);
    }

    fn insert(&mut self, labels: Labels, raw: RawSample, accumulation: Accumulation) {
        let index = self.series_index(labels, accumulation);
        self.push_sample(index, raw);
    }

    /// The index of the series with `labels`, added when new.
    fn series_index(&mut self, labels: Labels, accumulation: Accumulation) -> usize {
        match self.index_of.get(&labels) {
            Some(&index) => index,
            None => {
                let index = self.series.len();
                self.bytes += labels_bytes(&labels);
                self.index_of.insert(labels.clone(), index);
                self.series.push(HeldSeries { labels, accumulation, samples: Vec::new() });
                let labels = &self.series[index].labels;
                let name = labels.metric_name().unwrap_or_default().to_owned();
                let named = self.by_name.entry(name).or_default();
                let at = named.partition_point(|&other| self.series[other].labels < *labels);
                named.insert(at, index);
                index
            }
        }
    }

    fn push_sample(&mut self, index: usize, raw: RawSample) {
        let samples = &mut self.series[index].samples;
        let t = raw.sample.t;
        let at = place_of(samples, t);
        match samples.get_mut(at) {
            // The same point again (a retried export, or the load meeting what was observed): one sample.
            Some(held) if held.sample.t == t => *held = raw,
            _ => {
                let capacity = samples.capacity();
                samples.insert(at, raw);
                self.samples += 1;
                self.bytes += (samples.capacity() - capacity) * size_of::<RawSample>();
            }
        }
    }

    fn forget_before(&mut self, cutoff_ms: i64) {
        let mut removed = 0;
        for series in &mut self.series {
            let old = series.samples.partition_point(|held| held.sample.t <= cutoff_ms);
            series.samples.drain(..old);
            removed += old;
        }
        self.samples -= removed;
        if self.series.iter().any(|series| series.samples.is_empty()) {
            let series = std::mem::take(&mut self.series);
            let kept = series.into_iter().filter(|series| !series.samples.is_empty());
            self.series = kept.collect();
            self.index_of.clear();
            self.by_identity.clear();
            self.by_name.clear();
            // In label order, so each name's list is too.
            self.series.sort_by(|a, b| a.labels.cmp(&b.labels));
            for (index, series) in self.series.iter().enumerate() {
                self.index_of.insert(series.labels.clone(), index);
                let name = series.labels.metric_name().unwrap_or_default().to_owned();
                self.by_name.entry(name).or_default().push(index);
            }
        }
        for series in &mut self.series {
            // Vectors that emptied by half give memory back; steady ones keep their room.
            if series.samples.capacity() > 2 * series.samples.len() + 4 {
                series.samples.shrink_to_fit();
            }
        }
        let series_bytes: usize = self
            .series
            .iter()
            .map(|series| {
                labels_bytes(&series.labels) + series.samples.capacity() * size_of::<RawSample>()
            })
            .sum();
        self.bytes = series_bytes + self.by_identity.len() * IDENTITY_BYTES;
        self.accepting_after_ms = self.accepting_after_ms.map(|after| after.max(cutoff_ms));
        self.complete_after_ms = self.complete_after_ms.map(|after| after.max(cutoff_ms));
    }

    fn select(&self, selection: &Selection<'_>, start_ms: i64, end_ms: i64) -> Vec<Series> {
        let by_name = selection.required_metric_name().map(|name| self.by_name.get(name));
        let candidates: Box<dyn Iterator<Item = &HeldSeries>> = match by_name {
            Some(named) => Box::new(named.into_iter().flatten().map(|&index| &self.series[index])),
            None => Box::new(self.series.iter()),
        };
        let matches = |labels: &Labels| match by_name {
            Some(_) => selection.matches_named(labels),
            None => selection.matches(labels),
        };
        let mut out: Vec<Series> = candidates
            .filter(|series| matches(&series.labels))
            .filter_map(|series| {
                let window = in_window(&series.samples, start_ms, end_ms);
                (!window.is_empty()).then(|| Series {
                    labels: series.labels.clone(),
                    samples: points::window_samples(window, series.accumulation, start_ms),
                })
            })
            .collect();
        if by_name.is_none() {
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        out
    }
}

/// The samples in `(start_ms, end_ms]`, found from the end: the windows rules read end at or near the last
/// sample held, and scanning back touches only the samples returned, where a binary search would fetch a
/// cache line per probe from all over the vector (the cost of selecting thousands of series).
fn in_window(samples: &[RawSample], start_ms: i64, end_ms: i64) -> &[RawSample] {
    let later = samples.iter().rev().take_while(|held| held.sample.t > end_ms).count();
    let to = samples.len() - later;
    let inside = samples[..to].iter().rev().take_while(|held| held.sample.t > start_ms).count();
    &samples[to - inside..to]
}

/// An estimate of the memory a cached identity takes: its map entry and the map's spare room.
const IDENTITY_BYTES: usize = 48;

/// An estimate of the memory a series' labels take: the shared vector, each pair's two shared strings, the
/// index entry and the name list's.
fn labels_bytes(labels: &Labels) -> usize {
    let pairs: usize = labels.iter().map(|(name, value)| 64 + name.len() + value.len()).sum();
    96 + pairs
}

impl SeriesSource for RecentMetrics {
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        {
            let held = self.read();
            if held.complete_after_ms.is_some_and(|after| start_ms >= after) {
                return Ok(held.select(&selection, start_ms, end_ms));
            }
        }
        self.stored.select(selection, start_ms, end_ms)
    }
}

/// Where a sample of time `t` goes in `samples` (sorted by time): the first place whose time is not before
/// `t`. Points mostly arrive in time order, so the place is usually the end, or near it when concurrent
/// exports of one series arrive out of order or repeat a time: the search probes 1, 2, 4… samples back
/// from the end, then searches the last gap, instead of a binary search through the whole vector (a cache
/// miss per probe, ≈ 10 % of the daemon's CPU under the load generator's metrics, BENCHMARKS.md).
fn place_of(samples: &[RawSample], t: i64) -> usize {
    // Every sample from `after` on has a time not before `t`.
    let mut after = samples.len();
    let mut step = 1;
    loop {
        let probe = samples.len().saturating_sub(step);
        if probe == 0 || samples[probe].sample.t < t {
            return probe + samples[probe..after].partition_point(|held| held.sample.t < t);
        }
        after = probe;
        step *= 2;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray};
    use sightline_storage::{QueryEngine, QueryLimits, rows};

    use super::*;
    use crate::promql::{self, Sample};

    const MINUTE: i64 = 60_000;
    const NOW: i64 = 1_800_000_000_000;

    /// Sum points of `metric` from `service`: `(time, value, start)` in ms.
    fn sums(
        metric: &str,
        service: &str,
        temporality: &str,
        points: &[(i64, f64, i64)],
    ) -> TableBatch {
        let n = points.len();
        let text = |value: &str| {
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(value, n))) as ArrayRef
        };
        let batch = rows::batch(Table::Metrics, n, |field| {
            Some(match field.name().as_str() {
                "timestamp" => rows::timestamps(points.iter().map(|p| p.0 * 1_000_000)),
                "start_timestamp" => rows::timestamps(points.iter().map(|p| p.2 * 1_000_000)),
                "metric_name" => text(metric),
                "metric_type" => text("sum"),
                "temporality" => text(temporality),
                "unit" => text("1"),
                "service_name" => text(service),
                "is_monotonic" => Arc::new(BooleanArray::from(vec![true; n])),
                "value" => Arc::new(Float64Array::from_iter_values(points.iter().map(|p| p.1))),
                "resource_attributes" => {
                    rows::attribute_maps(std::iter::repeat_n([("service.name", service)], n))
                }
                _ => return None,
            })
        })
        .unwrap();
        TableBatch { table: Table::Metrics, batch }
    }

    /// A cumulative counter that restarts without its value dropping, and a delta series that starts
    /// within the last hour, every minute over the last two hours.
    fn history() -> Vec<TableBatch> {
        let minutes = (1..=120).map(|m| NOW - 120 * MINUTE + m * MINUTE);
        let cumulative: Vec<(i64, f64, i64)> = minutes
            .clone()
            .map(|t| {
                let restart = NOW - 30 * MINUTE - 30_000;
                if t <= restart {
                    (t, (t - NOW) as f64 / 1000.0 + 10_000.0, 0)
                } else {
                    (t, 20_000.0, restart)
                }
            })
            .collect();
        let delta: Vec<(i64, f64, i64)> =
            minutes.filter(|t| *t > NOW - 45 * MINUTE).map(|t| (t, 3.0, t - MINUTE)).collect();
        vec![
            sums("requests", "api", "cumulative", &cumulative),
            sums("jobs", "worker", "delta", &delta),
        ]
    }

    fn stored(rows: Vec<TableBatch>, runtime: &tokio::runtime::Runtime) -> StoredMetrics {
        let engine = QueryEngine::in_memory(rows, QueryLimits::default()).unwrap();
        StoredMetrics::new(Arc::new(engine), runtime.handle().clone(), 1_000_000)
    }

    fn select(
        source: &dyn SeriesSource,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Vec<Series> {
        let promql_parser::parser::Expr::VectorSelector(selector) =
            promql::parse(selector).unwrap()
        else {
            panic!("not a selector");
        };
        let matchers: promql_parser::label::Matchers = selector.matchers;
        let selection = Selection { metric_name: selector.name.as_deref(), matchers: &matchers };
        source.select(selection, start_ms, end_ms).unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
    }

    /// The windows rules read: the last 5, 10 and 60 minutes, and one in the middle.
    const WINDOWS: [(i64, i64); 4] = [
        (NOW - 5 * MINUTE, NOW),
        (NOW - 10 * MINUTE, NOW),
        (NOW - 60 * MINUTE, NOW),
        (NOW - 50 * MINUTE, NOW - 20 * MINUTE),
    ];

    #[test]
    fn the_place_of_a_sample_is_the_one_a_binary_search_finds() {
        for len in 0..40 {
            // Times 0, 0, 2, 2, 4, 4… then one time repeated through the last third, longer than the
            // search's first probes back from the end; odd times fall between them.
            let times: Vec<i64> = (0..len).map(|i| 2 * (i / 2).min(len / 3)).collect();
            let samples: Vec<RawSample> = times
                .iter()
                .map(|&t| RawSample { sample: Sample { t, v: 0.0 }, start: None })
                .collect();
            for t in -1..=2 * len + 1 {
                assert_eq!(
                    place_of(&samples, t),
                    samples.partition_point(|held| held.sample.t < t),
                    "time {t} among {times:?}"
                );
            }
        }
    }

    #[test]
    fn loaded_or_observed_samples_read_as_the_stored_ones() {
        let runtime = runtime();
        let loaded =
            RecentMetrics::new(stored(history(), &runtime), Duration::from_secs(3600), 1_000_000);
        loaded.load(NOW).unwrap();
        let observed =
            RecentMetrics::new(stored(Vec::new(), &runtime), Duration::from_secs(3600), 1_000_000);
        observed.load(NOW - 2 * 60 * MINUTE).unwrap();
        observed.observe(&history());
        let storage = stored(history(), &runtime);
        let selectors = [
            "requests_total",
            "jobs_total{job=\"worker\"}",
            "{__name__=~\"jobs.*\", job!=\"api\"}",
            "{job=~\"api|worker\"}",
        ];
        for selector in selectors {
            for (start, end) in WINDOWS {
                let expected = select(&storage, selector, start, end);
                assert!(!expected.is_empty(), "{selector} ({start}, {end}]");
                assert_eq!(
                    select(&loaded, selector, start, end),
                    expected,
                    "{selector} ({start}, {end}]"
                );
                assert_eq!(
                    select(&observed, selector, start, end),
                    expected,
                    "{selector} ({start}, {end}]"
                );
            }
        }
        // The restart without a drop is a reset, as storage reads it: a zero at the new start.
        let requests = select(&loaded, "requests_total", NOW - 35 * MINUTE, NOW - 25 * MINUTE);
        assert!(requests[0].samples.contains(&Sample { t: NOW - 30 * MINUTE - 30_000, v: 0.0 }));
    }

    #[test]
    fn windows_older_than_what_is_held_are_read_from_storage() {
        let runtime = runtime();
        let recent =
            RecentMetrics::new(stored(history(), &runtime), Duration::from_secs(600), 1_000_000);
        recent.load(NOW).unwrap();
        let window = (NOW - 100 * MINUTE, NOW - 90 * MINUTE);
        let read = select(&recent, "requests_total", window.0, window.1);
        assert_eq!(read[0].samples.len(), 10);
    }

    #[test]
    fn evicted_samples_are_no_longer_held() {
        let runtime = runtime();
        // Storage is empty: what the reads find was observed.
        let recent =
            RecentMetrics::new(stored(Vec::new(), &runtime), Duration::from_secs(3600), 1_000_000);
        recent.load(NOW - 2 * 60 * MINUTE).unwrap();
        recent.observe(&history());
        assert_eq!(select(&recent, "requests_total", NOW - 5 * MINUTE, NOW)[0].samples.len(), 5);
        recent.evict(NOW + 60 * MINUTE - 3 * MINUTE);
        // Held after NOW - 3m only: an older window goes to storage, which has nothing.
        assert_eq!(select(&recent, "requests_total", NOW - 2 * MINUTE, NOW)[0].samples.len(), 2);
        assert_eq!(select(&recent, "requests_total", NOW - 5 * MINUTE, NOW), []);
    }

    #[test]
    fn past_its_bound_everything_is_read_from_storage() {
        let runtime = runtime();
        let recent =
            RecentMetrics::new(stored(history(), &runtime), Duration::from_secs(3600), 100);
        recent.load(NOW).unwrap();
        let storage = stored(history(), &runtime);
        let (start, end) = WINDOWS[2];
        assert_eq!(
            select(&recent, "requests_total", start, end),
            select(&storage, "requests_total", start, end)
        );
        assert!(recent.read().series.is_empty());
    }
}
