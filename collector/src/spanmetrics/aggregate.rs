//! The in-memory aggregate of one flush interval: calls and a duration histogram per series, at most
//! `max_series` series plus one overflow series.

use std::collections::HashMap;

use crate::convert::UNKNOWN_SERVICE;
use crate::otlp::ExportTraceServiceRequest;
use crate::otlp::common::v1::any_value::Value;
use crate::otlp::resource::v1::Resource;

/// The upper bounds of the duration buckets in nanoseconds: the spanmetrics connector's defaults (2 ms to
/// 15 s). Buckets are placed by comparing integer nanoseconds, so a duration exactly on a bound lands in the
/// bucket that bound closes, as OTLP (`(bounds[i-1], bounds[i]]`) and Prometheus (`le`) both define it.
pub const BUCKET_BOUNDS_NS: [u64; 16] = [
    2_000_000,
    4_000_000,
    6_000_000,
    8_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    200_000_000,
    400_000_000,
    800_000_000,
    1_000_000_000,
    1_400_000_000,
    2_000_000_000,
    5_000_000_000,
    10_000_000_000,
    15_000_000_000,
];

/// The bounds plus the `+Inf` bucket.
pub const BUCKETS: usize = BUCKET_BOUNDS_NS.len() + 1;

/// The resource attributes a derived point keeps: the ones that decide the Prometheus `job` and `instance`
/// labels. Only string values are kept (the semantic conventions define all three as strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    pub service_name: Option<String>,
    pub service_namespace: Option<String>,
    pub service_instance_id: Option<String>,
}

impl ResourceKey {
    fn of(resource: Option<&Resource>) -> ResourceKey {
        let mut key = ResourceKey::default();
        for attribute in resource.into_iter().flat_map(|resource| &resource.attributes) {
            let slot = match attribute.key.as_str() {
                "service.name" => &mut key.service_name,
                "service.namespace" => &mut key.service_namespace,
                "service.instance.id" => &mut key.service_instance_id,
                _ => continue,
            };
            if let Some(Value::StringValue(value)) =
                attribute.value.as_ref().and_then(|value| value.value.as_ref())
            {
                *slot = Some(value.clone());
            }
        }
        key
    }

    /// The `service.name` datapoint attribute and `service_name` column, as for any stored row.
    pub fn service(&self) -> &str {
        self.service_name.as_deref().unwrap_or(UNKNOWN_SERVICE)
    }
}

/// What a series is: the connector's dimensions and the kept resource attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub resource: ResourceKey,
    pub span_name: String,
    /// `SPAN_KIND_SERVER`, …
    pub span_kind: &'static str,
    /// `STATUS_CODE_ERROR`, …
    pub status_code: &'static str,
}

/// The `span.kind` attribute value of an OTLP `SpanKind` number, as the connector writes it.
pub fn span_kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

/// The `status.code` attribute value of an OTLP `StatusCode` number, as the connector writes it.
pub fn status_code_name(code: i32) -> &'static str {
    match code {
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "STATUS_CODE_UNSET",
    }
}

/// Calls and durations of one series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesStats {
    pub count: u64,
    pub sum_ns: u128,
    /// Meaningful only when `count > 0`.
    pub min_ns: u64,
    pub max_ns: u64,
    pub bucket_counts: [u64; BUCKETS],
}

impl SeriesStats {
    pub fn record(&mut self, duration_ns: u64) {
        let bucket = BUCKET_BOUNDS_NS.partition_point(|bound| *bound < duration_ns);
        self.bucket_counts[bucket] += 1;
        self.min_ns = if self.count == 0 { duration_ns } else { self.min_ns.min(duration_ns) };
        self.max_ns = self.max_ns.max(duration_ns);
        self.sum_ns += u128::from(duration_ns);
        self.count += 1;
    }

    pub fn merge(&mut self, other: &SeriesStats) {
        if other.count == 0 {
            return;
        }
        self.min_ns = if self.count == 0 { other.min_ns } else { self.min_ns.min(other.min_ns) };
        self.max_ns = self.max_ns.max(other.max_ns);
        self.sum_ns += other.sum_ns;
        self.count += other.count;
        for (mine, theirs) in self.bucket_counts.iter_mut().zip(&other.bucket_counts) {
            *mine += theirs;
        }
    }
}

/// The series of one request's stored spans, aggregated before the request is dropped and added to the
/// shared aggregate once storage has acknowledged the spans (so that a retried request is not counted twice).
#[derive(Debug, Default)]
pub struct RequestSeries {
    pub series: Vec<(SeriesKey, SeriesStats)>,
}

impl RequestSeries {
    /// Aggregates every span of `request`: call it on a validated request, which holds only accepted spans.
    pub fn of(request: &ExportTraceServiceRequest) -> RequestSeries {
        // Borrowed keys while counting, so that a span costs a lookup and no allocation.
        let mut by_key: HashMap<(usize, &str, &'static str, &'static str), SeriesStats> =
            HashMap::new();
        let mut resources = Vec::with_capacity(request.resource_spans.len());
        for (index, resource_spans) in request.resource_spans.iter().enumerate() {
            resources.push(ResourceKey::of(resource_spans.resource.as_ref()));
            let spans = resource_spans.scope_spans.iter().flat_map(|scope| &scope.spans);
            for span in spans {
                let status = span.status.as_ref().map_or(0, |status| status.code);
                let key = (
                    index,
                    span.name.as_str(),
                    span_kind_name(span.kind),
                    status_code_name(status),
                );
                // A span that ends before it starts has no duration, as in the connector.
                let duration = span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano);
                by_key.entry(key).or_default().record(duration);
            }
        }
        let series = by_key
            .into_iter()
            .map(|((resource, span_name, span_kind, status_code), stats)| {
                let key = SeriesKey {
                    resource: resources[resource].clone(),
                    span_name: span_name.to_owned(),
                    span_kind,
                    status_code,
                };
                (key, stats)
            })
            .collect();
        RequestSeries { series }
    }

    pub fn spans(&self) -> u64 {
        self.series.iter().map(|(_, stats)| stats.count).sum()
    }
}

/// One flush interval's aggregate.
#[derive(Debug, Default)]
pub struct Aggregate {
    /// Unix nanoseconds: the previous flush, or when aggregation started.
    pub start_ns: u64,
    pub series: HashMap<SeriesKey, SeriesStats>,
    /// Spans of series past the limit; `count == 0` when there were none.
    pub overflow: SeriesStats,
}

impl Aggregate {
    pub fn new(start_ns: u64) -> Aggregate {
        Aggregate { start_ns, ..Aggregate::default() }
    }

    /// Adds one series' stats; a series new to this interval when it already has `max_series` series goes
    /// to the overflow series. Returns the spans that went to the overflow series.
    pub fn add(&mut self, key: SeriesKey, stats: &SeriesStats, max_series: usize) -> u64 {
        if let Some(existing) = self.series.get_mut(&key) {
            existing.merge(stats);
            return 0;
        }
        if self.series.len() < max_series {
            self.series.insert(key, stats.clone());
            return 0;
        }
        self.overflow.merge(stats);
        stats.count
    }

    /// Ends the interval at `now_ns`: returns what it holds and starts the next one, empty, at `now_ns`.
    pub fn take(&mut self, now_ns: u64) -> Interval {
        let taken = std::mem::replace(self, Aggregate::new(now_ns));
        Interval {
            start_ns: taken.start_ns,
            end_ns: now_ns,
            series: taken.series,
            overflow: taken.overflow,
        }
    }

    /// Puts back an interval whose points could not be stored: its counts join the current interval, which
    /// then starts where the failed one started (so the next points cover both). Returns the spans that went
    /// to the overflow series.
    pub fn restore(&mut self, interval: Interval, max_series: usize) -> u64 {
        self.start_ns = self.start_ns.min(interval.start_ns);
        self.overflow.merge(&interval.overflow);
        let mut overflowed = 0;
        for (key, stats) in interval.series {
            overflowed += self.add(key, &stats, max_series);
        }
        overflowed
    }
}

/// A finished interval, ready to be written as delta points over `(start_ns, end_ns]`.
#[derive(Debug)]
pub struct Interval {
    pub start_ns: u64,
    pub end_ns: u64,
    pub series: HashMap<SeriesKey, SeriesStats>,
    pub overflow: SeriesStats,
}

impl Interval {
    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.overflow.count == 0
    }

    /// Series written: one per key, plus the overflow series when it has spans.
    pub fn series_count(&self) -> usize {
        self.series.len() + usize::from(self.overflow.count > 0)
    }
}
