//! `histogram_quantile` over classic histograms: `_bucket` series with an `le` label each.

use std::collections::HashMap;

use super::value::{Element, Labels};

/// The label that holds a bucket's upper bound.
pub const BUCKET_LABEL: &str = "le";

/// Bucket counts closer than this relative difference are taken as equal: float noise, not data.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    upper_bound: f64,
    count: f64,
}

/// The φ-quantile of each histogram in `vector`, its buckets grouped by every label but `le`. Elements
/// without a readable `le` are ignored.
pub(super) fn quantile(q: f64, vector: Vec<Element>, t: i64) -> Vec<Element> {
    let mut histograms: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    let mut index_of: HashMap<Labels, usize> = HashMap::new();
    for element in vector {
        let Some(upper_bound) = element.labels.get(BUCKET_LABEL).and_then(parse_bound) else {
            continue;
        };
        let mut labels = element.labels;
        labels.remove(BUCKET_LABEL);
        let index = *index_of.entry(labels.clone()).or_insert_with(|| {
            histograms.push((labels, Vec::new()));
            histograms.len() - 1
        });
        histograms[index].1.push(Bucket { upper_bound, count: element.v });
    }
    histograms
        .into_iter()
        .map(|(labels, mut buckets)| Element {
            labels: labels.without_metric_name(),
            t,
            v: bucket_quantile(q, &mut buckets),
        })
        .collect()
}

/// Reads an `le` value as Go's `strconv.ParseFloat` would (`+Inf`, `0.5`, `1e3`).
fn parse_bound(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// Prometheus's `BucketQuantile`: linear interpolation inside the bucket the rank falls in; the lowest
/// bucket starts at 0 when its bound is positive; the `+Inf` bucket answers with the bound below it.
fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    match buckets.last() {
        Some(last) if last.upper_bound == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let searched = &buckets[..buckets.len() - 1];
    let b = searched.partition_point(|bucket| bucket.count < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].upper_bound;
    }
    if b == 0 && buckets[0].upper_bound <= 0.0 {
        return buckets[0].upper_bound;
    }
    let bucket_end = buckets[b].upper_bound;
    let mut count = buckets[b].count;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].upper_bound;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Merges buckets with the same upper bound (they are sorted).
fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for bucket in buckets.drain(..) {
        match merged.last_mut() {
            Some(last) if last.upper_bound == bucket.upper_bound => last.count += bucket.count,
            _ => merged.push(bucket),
        }
    }
    *buckets = merged;
}

/// Ignores float-noise differences between neighbouring counts, then removes any decrease: a higher
/// bucket has counted everything a lower one has.
fn ensure_monotonic(buckets: &mut [Bucket]) {
    let Some(first) = buckets.first() else {
        return;
    };
    let mut previous = first.count;
    for bucket in &mut buckets[1..] {
        let current = bucket.count;
        if current == previous {
            continue;
        }
        if almost_equal(previous, current, SMALL_DELTA_TOLERANCE) || current < previous {
            bucket.count = previous;
            continue;
        }
        previous = current;
    }
}

/// Whether `a` and `b` differ by less than `epsilon` relative to their size (Prometheus's `almost.Equal`).
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a == b {
        return true;
    }
    let sum = a.abs() + b.abs();
    let difference = (a - b).abs();
    if a == 0.0 || b == 0.0 || sum < MIN_NORMAL {
        return difference < epsilon * MIN_NORMAL;
    }
    difference / sum.min(f64::MAX) < epsilon
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs.iter().map(|&(upper_bound, count)| Bucket { upper_bound, count }).collect()
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket_of_the_rank() {
        let histogram = [(0.1, 10.0), (0.5, 50.0), (1.0, 90.0), (f64::INFINITY, 100.0)];
        // Rank 50 is the top of the (0.1, 0.5] bucket.
        assert_eq!(bucket_quantile(0.5, &mut buckets(&histogram)), 0.5);
        // Rank 70: halfway through (0.5, 1].
        assert_eq!(bucket_quantile(0.7, &mut buckets(&histogram)), 0.75);
        // Rank 5: halfway through the first bucket, which starts at 0.
        assert_eq!(bucket_quantile(0.05, &mut buckets(&histogram)), 0.05);
        // Rank 95 falls in +Inf: the highest finite bound answers.
        assert_eq!(bucket_quantile(0.95, &mut buckets(&histogram)), 1.0);
    }

    #[test]
    fn degenerate_histograms_give_nan_or_infinities() {
        assert!(bucket_quantile(0.5, &mut buckets(&[(1.0, 3.0), (2.0, 5.0)])).is_nan());
        assert!(bucket_quantile(0.5, &mut buckets(&[(f64::INFINITY, 0.0), (1.0, 0.0)])).is_nan());
        assert!(bucket_quantile(0.5, &mut buckets(&[(f64::INFINITY, 5.0)])).is_nan());
        assert_eq!(bucket_quantile(-1.0, &mut buckets(&[(f64::INFINITY, 5.0)])), f64::NEG_INFINITY);
        assert_eq!(bucket_quantile(2.0, &mut buckets(&[(f64::INFINITY, 5.0)])), f64::INFINITY);
    }

    #[test]
    fn a_decreasing_count_is_lifted_to_the_one_below() {
        let mut histogram = buckets(&[(1.0, 10.0), (2.0, 8.0), (f64::INFINITY, 10.0)]);
        // Without the fix the rank would land in the (1, 2] bucket with a negative count.
        assert_eq!(bucket_quantile(0.9, &mut histogram), 0.9);
    }
}
