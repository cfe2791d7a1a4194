//! Validation of metric data points, per the OTLP metrics data model.
//!
//! Unlike log records and spans, a data point whose attributes exceed the limit is rejected rather than
//! trimmed: its attributes are its series identity, and dropping some would merge it into another series.

use super::{Limits, Report, id_problem, limit_attributes, time_problem};
use crate::otlp::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint,
    NumberDataPoint, SummaryDataPoint, exponential_histogram_data_point::Buckets, metric,
};
use crate::otlp::{DataPoint, ExportMetricsServiceRequest};

pub fn metrics(request: &mut ExportMetricsServiceRequest, limits: &Limits) -> Report {
    let mut report = Report::default();
    for (r, resource_metrics) in request.resource_metrics.iter_mut().enumerate() {
        super::limit_resource(resource_metrics.resource.as_mut(), limits, &mut report);
        for (s, scope_metrics) in resource_metrics.scope_metrics.iter_mut().enumerate() {
            if let Some(scope) = &mut scope_metrics.scope {
                limit_attributes(
                    &mut scope.attributes,
                    &mut scope.dropped_attributes_count,
                    limits,
                    &mut report,
                );
            }
            for (m, metric) in scope_metrics.metrics.iter_mut().enumerate() {
                let path = format!("resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}]");
                let metric_problem =
                    if metric.name.is_empty() { Some("metric name is empty") } else { None };
                let mut checker =
                    Checker { path: &path, limits, report: &mut report, metric_problem };
                match &mut metric.data {
                    None => {
                        checker.report.note(format!("{path}: metric {:?} has no data", metric.name))
                    }
                    Some(metric::Data::Gauge(gauge)) => {
                        checker.points(&mut gauge.data_points, number_problem)
                    }
                    Some(metric::Data::Sum(sum)) => {
                        checker.temporality(sum.aggregation_temporality);
                        checker.points(&mut sum.data_points, number_problem)
                    }
                    Some(metric::Data::Histogram(histogram)) => {
                        checker.temporality(histogram.aggregation_temporality);
                        checker.points(&mut histogram.data_points, histogram_problem)
                    }
                    Some(metric::Data::ExponentialHistogram(histogram)) => {
                        checker.temporality(histogram.aggregation_temporality);
                        checker.points(&mut histogram.data_points, exponential_histogram_problem)
                    }
                    Some(metric::Data::Summary(summary)) => {
                        checker.points(&mut summary.data_points, summary_problem)
                    }
                }
            }
        }
    }
    report
}

/// Checks the data points of one metric.
struct Checker<'a> {
    path: &'a str,
    limits: &'a Limits,
    report: &'a mut Report,
    /// A problem of the metric itself, which rejects every one of its points.
    metric_problem: Option<&'static str>,
}

impl Checker<'_> {
    fn temporality(&mut self, temporality: i32) {
        let known =
            [AggregationTemporality::Delta as i32, AggregationTemporality::Cumulative as i32];
        if self.metric_problem.is_none() && !known.contains(&temporality) {
            self.metric_problem = Some("aggregation temporality must be delta or cumulative");
        }
    }

    fn points<P: DataPoint>(&mut self, points: &mut Vec<P>, problem: fn(&P) -> Option<String>) {
        let Checker { path, limits, report, metric_problem } = self;
        if let Some(reason) = metric_problem {
            if !points.is_empty() {
                report.reject(points.len() as u64, format!("{path}: {reason}"));
                points.clear();
            }
            return;
        }
        let mut index = 0;
        points.retain_mut(|point| {
            let at = index;
            index += 1;
            let problem = problem(point)
                .or_else(|| time_problem("time_unix_nano", point.times().1))
                .or_else(|| time_problem("start_time_unix_nano", point.times().0))
                .or_else(|| {
                    point.exemplars().iter().enumerate().find_map(|(e, ex)| exemplar_problem(ex, e))
                })
                .or_else(|| {
                    let count = point.attributes().len();
                    (count > limits.max_attributes).then(|| {
                        format!("has {count} attributes, the limit is {}", limits.max_attributes)
                    })
                });
            if let Some(problem) = problem {
                report.reject(1, format!("{path}.dataPoints[{at}]: {problem}"));
                return false;
            }
            if !report.admit(limits) {
                return false;
            }
            let mut never_reported = 0;
            limit_attributes(point.attributes_mut(), &mut never_reported, limits, report);
            for exemplar in point.exemplars_mut() {
                limit_attributes(
                    &mut exemplar.filtered_attributes,
                    &mut never_reported,
                    limits,
                    report,
                );
            }
            true
        });
    }
}

fn number_problem(point: &NumberDataPoint) -> Option<String> {
    point.value.is_none().then(|| "data point has no value".to_owned())
}

fn histogram_problem(point: &HistogramDataPoint) -> Option<String> {
    let (bounds, counts) = (&point.explicit_bounds, &point.bucket_counts);
    if !counts.is_empty() && counts.len() != bounds.len() + 1 {
        return Some(format!(
            "histogram has {} bucket counts for {} explicit bounds (there must be one more count than bounds)",
            counts.len(),
            bounds.len()
        ));
    }
    if bounds.iter().any(|b| b.is_nan()) || bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Some("histogram explicit bounds must be strictly increasing numbers".to_owned());
    }
    if !counts.is_empty() {
        let total = checked_sum(counts);
        if total != Some(point.count) {
            return Some(format!(
                "histogram bucket counts add up to {}, count is {}",
                display(total),
                point.count
            ));
        }
    }
    None
}

fn exponential_histogram_problem(point: &ExponentialHistogramDataPoint) -> Option<String> {
    if !(-10..=20).contains(&point.scale) {
        return Some(format!("exponential histogram scale {} is outside -10..=20", point.scale));
    }
    if point.zero_threshold.is_nan() || point.zero_threshold < 0.0 {
        return Some(format!(
            "exponential histogram zero threshold {} is not a non-negative number",
            point.zero_threshold
        ));
    }
    let buckets = |buckets: &Option<Buckets>| {
        buckets.as_ref().map_or(Some(0), |b| checked_sum(&b.bucket_counts))
    };
    let total = buckets(&point.positive)
        .zip(buckets(&point.negative))
        .and_then(|(p, n)| p.checked_add(n))
        .and_then(|t| t.checked_add(point.zero_count));
    if total != Some(point.count) {
        return Some(format!(
            "exponential histogram buckets and zero count add up to {}, count is {}",
            display(total),
            point.count
        ));
    }
    None
}

fn summary_problem(point: &SummaryDataPoint) -> Option<String> {
    point
        .quantile_values
        .iter()
        .find(|q| !(0.0..=1.0).contains(&q.quantile))
        .map(|q| format!("summary quantile {} is outside 0..=1", q.quantile))
}

fn exemplar_problem(exemplar: &Exemplar, index: usize) -> Option<String> {
    id_problem("trace_id", &exemplar.trace_id, 16, true)
        .or_else(|| id_problem("span_id", &exemplar.span_id, 8, true))
        .or_else(|| time_problem("time_unix_nano", exemplar.time_unix_nano))
        .or_else(|| exemplar.value.is_none().then(|| "has no value".to_owned()))
        .map(|problem| format!("exemplars[{index}].{problem}"))
}

fn checked_sum(counts: &[u64]) -> Option<u64> {
    counts.iter().try_fold(0u64, |total, &count| total.checked_add(count))
}

fn display(total: Option<u64>) -> String {
    total.map_or_else(|| "more than 2^64".to_owned(), |t| t.to_string())
}
