//! Where the engine's series come from: the store in the daemon, an in-memory set in unit tests.

use promql_parser::label::{Matcher, Matchers};

use super::value::{Labels, METRIC_NAME, Series};

/// The series a selector asks for: a metric name (if the selector names one) and label matchers.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub metric_name: Option<&'a str>,
    pub matchers: &'a Matchers,
}

impl Selection<'_> {
    /// Whether a series with `labels` is selected.
    pub fn matches(&self, labels: &Labels) -> bool {
        let name_matches = match self.metric_name {
            Some(name) => labels.metric_name() == Some(name),
            None => true,
        };
        let all = |matchers: &[Matcher]| {
            matchers.iter().all(|matcher| matcher.is_match(labels.value(&matcher.name)))
        };
        name_matches
            && all(&self.matchers.matchers)
            && (self.matchers.or_matchers.is_empty()
                || self.matchers.or_matchers.iter().any(|group| all(group)))
    }

    /// [`Selection::matches`] for a series known to have the required metric name (from an index by name):
    /// the name is not looked up again.
    pub fn matches_named(&self, labels: &Labels) -> bool {
        let Some(required) = self.required_metric_name() else {
            return self.matches(labels);
        };
        let checked = |matcher: &&Matcher| {
            !(matcher.name == METRIC_NAME
                && matches!(matcher.op, promql_parser::label::MatchOp::Equal)
                && matcher.value == required)
        };
        let all = |matchers: &[Matcher]| {
            matchers
                .iter()
                .filter(checked)
                .all(|matcher| matcher.is_match(labels.value(&matcher.name)))
        };
        all(&self.matchers.matchers)
            && (self.matchers.or_matchers.is_empty()
                || self.matchers.or_matchers.iter().any(|group| all(group)))
    }

    /// The metric name the selection requires, from the name or from an equality matcher on `__name__`.
    pub fn required_metric_name(&self) -> Option<&str> {
        self.metric_name.or_else(|| {
            self.matchers.matchers.iter().find_map(|matcher| {
                (matcher.name == METRIC_NAME
                    && matches!(matcher.op, promql_parser::label::MatchOp::Equal))
                .then_some(matcher.value.as_str())
            })
        })
    }
}

/// A source of series for the engine.
pub trait SeriesSource {
    /// Every series `selection` matches, with its samples in `(start_ms, end_ms]` (both in milliseconds), in
    /// time order; stale markers included. Series without samples in the window may be left out.
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String>;
}

/// Series held in memory: the input of rule unit tests, and the engine's own tests.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    series: Vec<Series>,
}

impl MemorySource {
    pub fn new(series: Vec<Series>) -> MemorySource {
        MemorySource { series }
    }

    /// Adds samples to the series with `labels`, creating it if needed; samples are kept in time order.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = super::Sample>) {
        let index = match self.series.iter().position(|series| series.labels == labels) {
            Some(index) => index,
            None => {
                self.series.push(Series { labels, samples: Vec::new() });
                self.series.len() - 1
            }
        };
        let series = &mut self.series[index];
        series.samples.extend(samples);
        series.samples.sort_by_key(|sample| sample.t);
    }

    pub fn series(&self) -> &[Series] {
        &self.series
    }
}

impl SeriesSource for MemorySource {
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        Ok(self
            .series
            .iter()
            .filter(|series| selection.matches(&series.labels))
            .filter_map(|series| {
                let from = series.samples.partition_point(|sample| sample.t <= start_ms);
                let to = series.samples.partition_point(|sample| sample.t <= end_ms);
                (from < to).then(|| Series {
                    labels: series.labels.clone(),
                    samples: series.samples[from..to].to_vec(),
                })
            })
            .collect())
    }
}
