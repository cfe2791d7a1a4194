//! The open-loop pacer: a token bucket shared by all workers.
//!
//! Tokens arrive every `1 / rate` seconds; a worker reserves the next one and sleeps until it is
//! due. When every worker is busy waiting for acknowledgements, tokens pile up to `burst`; beyond
//! that they are dropped and counted as missed — the target could not keep up with the rate.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TokenBucket {
    interval: Duration,
    burst: u32,
    /// When the next token is due.
    next: Instant,
    missed: u64,
}

/// A reserved send slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// When to send.
    pub at: Instant,
    /// How late the slot was taken (0 when it is taken before it is due).
    pub lag: Duration,
}

impl TokenBucket {
    /// `rate` tokens per second (> 0), the first due at `start`.
    pub fn new(rate: f64, burst: u32, start: Instant) -> TokenBucket {
        let interval = Duration::from_secs_f64(1.0 / rate);
        TokenBucket { interval, burst: burst.max(1), next: start, missed: 0 }
    }

    /// Takes the next token at `now`.
    pub fn reserve(&mut self, now: Instant) -> Slot {
        // Tokens older than `burst` intervals are dropped, not sent in a catch-up storm.
        let window = self.interval * self.burst;
        if let Some(oldest) = now.checked_sub(window)
            && self.next < oldest
        {
            let behind = oldest.duration_since(self.next);
            let dropped = (behind.as_nanos() / self.interval.as_nanos().max(1)) as u64;
            self.missed += dropped;
            self.next += self.interval * u32::try_from(dropped).unwrap_or(u32::MAX);
        }
        let at = self.next;
        self.next += self.interval;
        Slot { at, lag: now.saturating_duration_since(at) }
    }

    /// Tokens dropped because no worker was free to send them.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_spaced_by_one_over_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100.0, 4, start);
        let slots: Vec<Duration> =
            (0..5).map(|_| bucket.reserve(start).at.duration_since(start)).collect();
        let expected: Vec<Duration> = (0..5).map(|i| Duration::from_millis(10 * i)).collect();
        assert_eq!(slots, expected);
        assert_eq!(bucket.missed(), 0);
    }

    #[test]
    fn a_late_reservation_reports_its_lag_and_keeps_up_to_burst_tokens() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000.0, 10, start);
        // 100 ms late: 100 tokens are due, only the last 10 are kept.
        let now = start + Duration::from_millis(100);
        let slot = bucket.reserve(now);
        assert_eq!(bucket.missed(), 90);
        assert_eq!(slot.at, start + Duration::from_millis(90));
        assert_eq!(slot.lag, Duration::from_millis(10));
        // The kept tokens are then handed out back to back, then pacing resumes.
        for _ in 0..10 {
            bucket.reserve(now);
        }
        let paced = bucket.reserve(now);
        assert_eq!(paced.at, start + Duration::from_millis(101));
        assert_eq!(paced.lag, Duration::ZERO);
        assert_eq!(bucket.missed(), 90);
    }
}
