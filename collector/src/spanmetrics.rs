//! RED metrics derived from the spans we store, so that failure-rate and latency rules work for services
//! that send only traces. Named and shaped as the OpenTelemetry Collector's spanmetrics connector makes
//! them, so that rule packs and dashboards written for it work unchanged:
//! - `traces.span.metrics.calls`, a monotonic sum (`traces_span_metrics_calls_total` to Prometheus);
//! - `traces.span.metrics.duration`, an explicit-bucket histogram in seconds
//!   (`traces_span_metrics_duration_seconds_bucket{le}`, `_sum`, `_count`) over the connector's default
//!   buckets, 2 ms to 15 s;
//! - datapoint attributes `service.name`, `span.name`, `span.kind` (`SPAN_KIND_SERVER`, …) and
//!   `status.code` (`STATUS_CODE_ERROR`, …); resource attributes only `service.name`, `service.namespace`
//!   and `service.instance.id` (they make `job` and `instance`); scope `sightline.spanmetrics`.
//!
//! Spans are counted once storage has acknowledged them (after redaction and validation: exactly the
//! stored spans), into an in-memory aggregate that a flusher writes every `flush_interval` as **delta**
//! points over `(previous flush, this flush]` and then clears; series without spans in an interval write
//! nothing. So memory holds one interval's series, at most `max_series` of them: spans of further series
//! are counted in one overflow series with only the attribute `otel.metric.overflow="true"` (and no
//! resource, so `unknown_service`), as the connector's cardinality limit does.
//!
//! Durability: derived points live in memory until their flush, so a crash loses at most one flush
//! interval of them (the spans themselves are in the WAL). On shutdown the last, partial interval is
//! flushed. A flush that storage refuses keeps its counts for the next flush, whose points then cover
//! both intervals.

mod aggregate;
mod points;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sightline_storage::BatchSink;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::metrics::SpanMetricsCounters;
use crate::{Error, Result, convert, unix_now_ns};
use aggregate::Aggregate;

pub use aggregate::{BUCKET_BOUNDS_NS, RequestSeries, span_kind_name, status_code_name};
pub use points::{CALLS_METRIC, DURATION_METRIC, OVERFLOW_ATTRIBUTE, SCOPE_NAME};

/// The aggregator: shared by the ingest pipeline (which adds to it) and the flusher; cheap to clone.
#[derive(Debug, Clone)]
pub struct SpanMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    aggregate: Mutex<Aggregate>,
    max_series: usize,
    counters: SpanMetricsCounters,
}

impl SpanMetrics {
    /// An empty aggregate whose first interval starts at `start_ns` (Unix nanoseconds).
    pub fn new(max_series: usize, start_ns: u64, counters: SpanMetricsCounters) -> SpanMetrics {
        let inner = Inner { aggregate: Mutex::new(Aggregate::new(start_ns)), max_series, counters };
        SpanMetrics { inner: Arc::new(inner) }
    }

    /// Counts the spans of one stored request into the current interval.
    pub fn add(&self, request: RequestSeries) {
        let spans = request.spans();
        let mut overflowed = 0;
        let mut aggregate = self.lock();
        for (key, stats) in request.series {
            overflowed += aggregate.add(key, &stats, self.inner.max_series);
        }
        drop(aggregate);
        self.inner.counters.spans(spans, overflowed);
    }

    /// Ends the current interval at `now_ns` and writes its points to `sink`. Returns the series written.
    /// When the sink refuses them, the counts go back into the aggregate for the next flush.
    pub async fn flush(&self, sink: &dyn BatchSink, now_ns: u64) -> Result<usize> {
        let interval = self.lock().take(now_ns);
        if interval.is_empty() {
            return Ok(0);
        }
        let series = interval.series_count();
        let written = match convert::metrics_to_arrow(&points::to_request(&interval)) {
            Ok(batches) => sink.write(batches).await.map_err(Error::from),
            Err(e) => Err(Error::Internal(format!("converting span metrics to arrow: {e}"))),
        };
        if let Err(error) = written {
            self.inner.counters.flush_failed();
            let overflowed = self.lock().restore(interval, self.inner.max_series);
            self.inner.counters.spans(0, overflowed);
            return Err(error);
        }
        self.inner.counters.flushed(series as u64);
        Ok(series)
    }

    /// Flushes every `interval` until `stop` is cancelled, then flushes the last, partial interval. Cancel
    /// `stop` after intake has stopped and before storage stops, so that every stored span is counted.
    pub async fn run(self, sink: Arc<dyn BatchSink>, interval: Duration, stop: CancellationToken) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        // After a slow flush, the next one is an interval later: intervals stay about as long as configured.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => break,
            }
            if let Err(error) = self.flush(sink.as_ref(), unix_now_ns()).await {
                tracing::warn!(%error, "span metrics flush failed, keeping the counts for the next flush");
            }
        }
        match self.flush(sink.as_ref(), unix_now_ns()).await {
            Ok(series) => tracing::info!(series, "span metrics flushed"),
            Err(error) => {
                tracing::error!(%error, "the last span metrics flush failed, its points are lost")
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Aggregate> {
        // A panic while the lock was held can at worst have left one request half counted: keep counting.
        self.inner.aggregate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
