//! What a run measured: counters, latencies and the report printed from them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::json;

/// Counters and latencies of a run (or of one reporting interval).
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub requests: u64,
    pub accepted_requests: u64,
    /// Items acknowledged (accepted requests' items, minus those refused in partial successes).
    pub items: u64,
    pub rejected_items: u64,
    pub bytes: u64,
    /// Failed requests by status (`http 503`, `grpc Unavailable`, …).
    pub errors: BTreeMap<String, u64>,
    /// Failures whose status asks the client to retry later (429, 503, UNAVAILABLE, …).
    pub retry_advised: u64,
    /// Latency of every request, send → response, in microseconds.
    pub latencies_us: Vec<u64>,
}

impl Recorder {
    pub fn accepted(&mut self, latency: Duration, items: u64, rejected: u64, bytes: u64) {
        self.requests += 1;
        self.accepted_requests += 1;
        self.items += items.saturating_sub(rejected);
        self.rejected_items += rejected;
        self.bytes += bytes;
        self.latencies_us.push(micros(latency));
    }

    pub fn failed(&mut self, latency: Duration, status: String, retry_advised: bool) {
        self.requests += 1;
        *self.errors.entry(status).or_default() += 1;
        if retry_advised {
            self.retry_advised += 1;
        }
        self.latencies_us.push(micros(latency));
    }

    pub fn merge(&mut self, other: Recorder) {
        self.requests += other.requests;
        self.accepted_requests += other.accepted_requests;
        self.items += other.items;
        self.rejected_items += other.rejected_items;
        self.bytes += other.bytes;
        for (status, count) in other.errors {
            *self.errors.entry(status).or_default() += count;
        }
        self.retry_advised += other.retry_advised;
        self.latencies_us.extend(other.latencies_us);
    }

    /// The figures over `elapsed`.
    pub fn summarize(mut self, elapsed: Duration) -> Summary {
        self.latencies_us.sort_unstable();
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let latency = |q: f64| percentile(&self.latencies_us, q).map(|us| us as f64 / 1000.0);
        Summary {
            elapsed_s: elapsed.as_secs_f64(),
            requests: self.requests,
            accepted_requests: self.accepted_requests,
            items: self.items,
            rejected_items: self.rejected_items,
            bytes: self.bytes,
            requests_per_s: self.requests as f64 / seconds,
            items_per_s: self.items as f64 / seconds,
            bytes_per_s: self.bytes as f64 / seconds,
            p50_ms: latency(0.50),
            p90_ms: latency(0.90),
            p99_ms: latency(0.99),
            max_ms: self.latencies_us.last().map(|&us| us as f64 / 1000.0),
            errors: self.errors,
            retry_advised: self.retry_advised,
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// The nearest-rank percentile (`q` in 0..=1) of sorted values: the smallest value with at least
/// `q` of all values at or below it. `None` when there are no values.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The figures of a run or an interval.
#[derive(Debug, Clone)]
pub struct Summary {
    pub elapsed_s: f64,
    pub requests: u64,
    pub accepted_requests: u64,
    pub items: u64,
    pub rejected_items: u64,
    pub bytes: u64,
    pub requests_per_s: f64,
    pub items_per_s: f64,
    pub bytes_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub errors: BTreeMap<String, u64>,
    pub retry_advised: u64,
}

impl Summary {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "elapsed_s": self.elapsed_s,
            "requests": self.requests,
            "accepted_requests": self.accepted_requests,
            "items": self.items,
            "rejected_items": self.rejected_items,
            "bytes": self.bytes,
            "requests_per_s": self.requests_per_s,
            "items_per_s": self.items_per_s,
            "bytes_per_s": self.bytes_per_s,
            "latency_ms": {
                "p50": self.p50_ms, "p90": self.p90_ms, "p99": self.p99_ms, "max": self.max_ms,
            },
            "errors": self.errors,
            "retry_advised": self.retry_advised,
        })
    }
}

impl fmt::Display for Summary {
    /// One line: `812 req/s  415,744 items/s  166.3 MB/s  p50 8.1 ms p90 … errors: none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        write!(
            f,
            "{:.0} req/s  {:.0} items/s  {:.1} MB/s  latency ms p50 {} p90 {} p99 {} max {}  ",
            self.requests_per_s,
            self.items_per_s,
            self.bytes_per_s / 1e6,
            ms(self.p50_ms),
            ms(self.p90_ms),
            ms(self.p99_ms),
            ms(self.max_ms),
        )?;
        if self.errors.is_empty() {
            write!(f, "errors: none")?;
        } else {
            let errors: Vec<String> =
                self.errors.iter().map(|(status, n)| format!("{status} ×{n}")).collect();
            write!(f, "errors: {} (retry advised: {})", errors.join(", "), self.retry_advised)?;
        }
        if self.rejected_items > 0 {
            write!(f, "  rejected items: {}", self.rejected_items)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), Some(50));
        assert_eq!(percentile(&values, 0.90), Some(90));
        assert_eq!(percentile(&values, 0.99), Some(99));
        assert_eq!(percentile(&values, 1.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
        // 10 values: p99 is the largest, p50 the 5th.
        let ten: Vec<u64> = (10..20).collect();
        assert_eq!(percentile(&ten, 0.99), Some(19));
        assert_eq!(percentile(&ten, 0.50), Some(14));
    }

    #[test]
    fn a_summary_counts_acknowledged_items_and_errors_by_status() {
        let mut recorder = Recorder::default();
        recorder.accepted(Duration::from_millis(2), 512, 0, 1000);
        recorder.accepted(Duration::from_millis(4), 512, 12, 1000);
        let mut other = Recorder::default();
        other.failed(Duration::from_millis(1), "http 503".into(), true);
        other.failed(Duration::from_millis(1), "http 400".into(), false);
        recorder.merge(other);
        let summary = recorder.summarize(Duration::from_secs(2));
        assert_eq!(summary.requests, 4);
        assert_eq!(summary.items, 1012);
        assert_eq!(summary.rejected_items, 12);
        assert_eq!(summary.items_per_s, 506.0);
        assert_eq!(summary.bytes_per_s, 1000.0);
        assert_eq!(summary.retry_advised, 1);
        assert_eq!(summary.errors.get("http 503"), Some(&1));
        assert_eq!(summary.max_ms, Some(4.0));
        assert_eq!(summary.p50_ms, Some(1.0));
    }
}
