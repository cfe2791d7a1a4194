//! Functions over range vectors: one value per series from the samples of its window.

use super::super::value::Sample;

/// A compensated (Kahan–Neumaier) running sum, as Prometheus sums floats.
#[derive(Debug, Clone, Copy, Default)]
pub(in crate::promql) struct KahanSum {
    pub sum: f64,
    pub compensation: f64,
}

impl KahanSum {
    pub fn add(&mut self, value: f64) {
        let (sum, compensation) = kahan_inc(value, self.sum, self.compensation);
        self.sum = sum;
        self.compensation = compensation;
    }

    pub fn value(&self) -> f64 {
        if self.sum.is_infinite() { self.sum } else { self.sum + self.compensation }
    }
}

/// One step of Neumaier's compensated summation: the new sum and compensation.
pub(in crate::promql) fn kahan_inc(inc: f64, sum: f64, compensation: f64) -> (f64, f64) {
    let t = sum + inc;
    let compensation = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        compensation + ((sum - t) + inc)
    } else {
        compensation + ((inc - t) + sum)
    };
    (t, compensation)
}

/// The window a range function reads, for the functions that extrapolate to its edges.
#[derive(Debug, Clone, Copy)]
pub(super) struct RangeWindow {
    pub start: i64,
    pub end: i64,
    pub range_ms: i64,
}

/// `rate`, `increase` and `delta`: the change over the window, extrapolated towards its edges, with
/// counter resets (value drops) compensated for counters.
pub(super) fn extrapolated_rate(
    samples: &[Sample],
    window: RangeWindow,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let first = samples[0];
    let last = samples[samples.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        for pair in samples.windows(2) {
            if pair[1].v < pair[0].v {
                result += pair[0].v;
            }
        }
    }
    let mut duration_to_start = (first.t - window.start) as f64 / 1000.0;
    let mut duration_to_end = (window.end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_between_samples = sampled_interval / (samples.len() - 1) as f64;
    // A sample close to an edge (within 110 % of the average spacing) means the series covers the
    // window up to that edge; otherwise it is assumed to start or end half a spacing beyond its
    // first or last sample.
    let threshold = average_between_samples * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = average_between_samples / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero: do not extrapolate past the time it would have been zero.
        let duration_to_zero = if result > 0.0 && first.v >= 0.0 {
            sampled_interval * (first.v / result)
        } else {
            duration_to_start
        };
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_between_samples / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= window.range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` and `idelta`: from the last two samples.
pub(super) fn instant_value(samples: &[Sample], is_rate: bool) -> Option<f64> {
    let [.., previous, last] = samples else {
        return None;
    };
    let interval = last.t - previous.t;
    if interval == 0 {
        return None;
    }
    // After a counter reset the last value is the whole increase.
    let reset = is_rate && last.v < previous.v;
    let mut result = if reset { last.v } else { last.v - previous.v };
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least-squares slope and intercept (at `intercept_t`) of the samples, as Prometheus computes them.
pub(super) fn linear_regression(samples: &[Sample], intercept_t: i64) -> (f64, f64) {
    let initial = samples[0].v;
    let constant = samples.iter().all(|sample| sample.v == initial);
    if constant {
        return if initial.is_infinite() { (f64::NAN, f64::NAN) } else { (0.0, initial) };
    }
    let (mut sum_x, mut sum_y, mut sum_xy, mut sum_x2) =
        (KahanSum::default(), KahanSum::default(), KahanSum::default(), KahanSum::default());
    let n = samples.len() as f64;
    for sample in samples {
        let x = (sample.t - intercept_t) as f64 / 1000.0;
        sum_x.add(x);
        sum_y.add(sample.v);
        sum_xy.add(x * sample.v);
        sum_x2.add(x * x);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (
        sum_x.sum + sum_x.compensation,
        sum_y.sum + sum_y.compensation,
        sum_xy.sum + sum_xy.compensation,
        sum_x2.sum + sum_x2.compensation,
    );
    let covariance = sum_xy - sum_x * sum_y / n;
    let variance = sum_x2 - sum_x * sum_x / n;
    let slope = covariance / variance;
    (slope, sum_y / n - slope * sum_x / n)
}

/// The mean, summed directly while the sum stays finite, then incrementally (Prometheus's method).
pub(in crate::promql) fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        return f64::NAN;
    };
    let (mut sum, mut compensation, mut count) = (first, 0.0, 1.0);
    let mut incremental: Option<f64> = None;
    for value in values {
        count += 1.0;
        if incremental.is_none() {
            let (new_sum, new_compensation) = kahan_inc(value, sum, compensation);
            if !new_sum.is_infinite() {
                sum = new_sum;
                compensation = new_compensation;
                continue;
            }
            incremental = Some(sum / (count - 1.0));
            compensation /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        let current = incremental.unwrap_or_default();
        let (new_mean, new_compensation) = kahan_inc(value / count, q * current, q * compensation);
        incremental = Some(new_mean);
        compensation = new_compensation;
    }
    match incremental {
        Some(mean) => mean + compensation,
        None => sum / count + compensation / count,
    }
}

/// Population variance by Welford's method with compensated sums.
pub(in crate::promql) fn variance(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut mean_c, mut aux, mut aux_c) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for value in values {
        count += 1.0;
        let delta = value - (mean + mean_c);
        (mean, mean_c) = kahan_inc(delta / count, mean, mean_c);
        (aux, aux_c) = kahan_inc(delta * (value - (mean + mean_c)), aux, aux_c);
    }
    (aux + aux_c) / count
}

/// The φ-quantile of `values` by linear interpolation between the closest ranks (sorts `values`).
pub(in crate::promql) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as in Prometheus.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Number of value changes between consecutive samples (NaN to NaN is no change).
pub(super) fn changes(samples: &[Sample]) -> f64 {
    samples
        .windows(2)
        .filter(|pair| pair[0].v != pair[1].v && !(pair[0].v.is_nan() && pair[1].v.is_nan()))
        .count() as f64
}

/// Number of counter resets (value drops) between consecutive samples.
pub(super) fn resets(samples: &[Sample]) -> f64 {
    samples.windows(2).filter(|pair| pair[1].v < pair[0].v).count() as f64
}

/// `max_over_time` / `min_over_time`: a NaN is replaced by any later value.
pub(super) fn extreme(samples: &[Sample], wanted: impl Fn(f64, f64) -> bool) -> f64 {
    let mut best = samples[0].v;
    for sample in samples {
        if wanted(sample.v, best) || best.is_nan() {
            best = sample.v;
        }
    }
    best
}

/// `double_exponential_smoothing` (formerly `holt_winters`).
pub(super) fn double_exponential_smoothing(
    samples: &[Sample],
    smoothing: f64,
    trend: f64,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let trend_value = |i: usize, s0: f64, s1: f64, b: f64| {
        if i == 0 { b } else { trend * (s1 - s0) + (1.0 - trend) * b }
    };
    let (mut s0, mut s1) = (0.0, samples[0].v);
    let mut b = samples[1].v - samples[0].v;
    for (i, sample) in samples.iter().enumerate().skip(1) {
        let x = smoothing * sample.v;
        b = trend_value(i - 1, s0, s1, b);
        let y = (1.0 - smoothing) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}
