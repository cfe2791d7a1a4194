//! The collector's own metrics, exported on `/metrics` (names `sightline_otlp_*`, `sightline_redactions_*` and
//! `sightline_spanmetrics_*`).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::otlp::Signal;
use crate::redact::{Redactor, Tally};
use crate::validate::Report;

/// How a request reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Grpc,
    Http,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    signal: &'static str,
    transport: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TransportLabels {
    signal: &'static str,
    transport: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ItemLabels {
    signal: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RedactionLabels {
    rule: String,
    action: &'static str,
    signal: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SignalLabels {
    signal: &'static str,
}

type DurationFamily = Family<TransportLabels, Histogram, fn() -> Histogram>;

/// Counters and histograms of the receivers; cheap to clone (shared handles).
#[derive(Debug, Clone)]
pub struct CollectorMetrics {
    requests: Family<RequestLabels, Counter>,
    request_duration: DurationFamily,
    received_bytes: Family<TransportLabels, Counter>,
    items: Family<ItemLabels, Counter>,
    attributes_dropped: Family<SignalLabels, Counter>,
    values_truncated: Family<SignalLabels, Counter>,
    items_over_limit: Family<SignalLabels, Counter>,
    redactions: Family<RedactionLabels, Counter>,
}

impl CollectorMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> CollectorMetrics {
        let metrics = CollectorMetrics {
            requests: Family::default(),
            // 1 ms to ~33 s
            request_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            }),
            received_bytes: Family::default(),
            items: Family::default(),
            attributes_dropped: Family::default(),
            values_truncated: Family::default(),
            items_over_limit: Family::default(),
            redactions: Family::default(),
        };
        // Named as the redaction issue and docs name it, outside the `sightline_otlp` prefix: redaction is
        // its own subsystem.
        registry.register(
            "sightline_redactions",
            "Values redacted (dropped, masked or hashed) before storage, by rule, action and signal",
            metrics.redactions.clone(),
        );
        let otlp = registry.sub_registry_with_prefix("sightline_otlp");
        otlp.register(
            "requests",
            "OTLP export requests by signal, transport and outcome",
            metrics.requests.clone(),
        );
        otlp.register_with_unit(
            "request_duration",
            "Time from receiving an OTLP request to answering it",
            Unit::Seconds,
            metrics.request_duration.clone(),
        );
        otlp.register_with_unit(
            "received",
            "Bytes of OTLP requests: HTTP bodies as received (before decompression), gRPC messages as decoded",
            Unit::Bytes,
            metrics.received_bytes.clone(),
        );
        otlp.register(
            "items",
            "Log records, spans and data points, accepted or rejected",
            metrics.items.clone(),
        );
        otlp.register(
            "attributes_dropped",
            "Attributes dropped by the attributes-per-item limit",
            metrics.attributes_dropped.clone(),
        );
        otlp.register(
            "attribute_values_truncated",
            "Attribute values cut by the value-length limit",
            metrics.values_truncated.clone(),
        );
        otlp.register(
            "items_over_limit",
            "Items rejected by the items-per-request limit",
            metrics.items_over_limit.clone(),
        );
        metrics
    }

    /// Records one answered request.
    pub fn request(
        &self,
        signal: Signal,
        transport: Transport,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        let (signal, transport) = (signal.name(), transport.name());
        self.requests.get_or_create(&RequestLabels { signal, transport, outcome }).inc();
        self.request_duration
            .get_or_create(&TransportLabels { signal, transport })
            .observe(elapsed.as_secs_f64());
    }

    pub fn received_bytes(&self, signal: Signal, transport: Transport, bytes: usize) {
        let labels = TransportLabels { signal: signal.name(), transport: transport.name() };
        self.received_bytes.get_or_create(&labels).inc_by(bytes as u64);
    }

    /// Records what redaction did to one request. Counts only: never a value.
    pub fn redacted(&self, signal: Signal, redactor: &Redactor, tally: &Tally) {
        for (rule, count) in tally.fired(redactor) {
            let labels = RedactionLabels {
                rule: rule.name.clone(),
                action: rule.action.name(),
                signal: signal.name(),
            };
            self.redactions.get_or_create(&labels).inc_by(count);
        }
    }

    /// Records what validation did to a request whose accepted items were stored.
    pub fn stored(&self, signal: Signal, report: &Report) {
        let signal = signal.name();
        self.items
            .get_or_create(&ItemLabels { signal, outcome: "accepted" })
            .inc_by(report.accepted);
        self.items
            .get_or_create(&ItemLabels { signal, outcome: "rejected" })
            .inc_by(report.rejected);
        let labels = SignalLabels { signal };
        self.attributes_dropped.get_or_create(&labels).inc_by(report.attributes_dropped);
        self.values_truncated.get_or_create(&labels).inc_by(report.values_truncated);
        self.items_over_limit.get_or_create(&labels).inc_by(report.over_item_limit);
    }
}

/// Counters of the span-metrics aggregator (`sightline_spanmetrics_*`); cheap to clone (shared handles).
#[derive(Debug, Clone, Default)]
pub struct SpanMetricsCounters {
    spans: Counter,
    overflow_spans: Counter,
    series_flushed: Counter,
    flush_failures: Counter,
}

impl SpanMetricsCounters {
    /// Creates the counters and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> SpanMetricsCounters {
        let counters = SpanMetricsCounters::default();
        let spanmetrics = registry.sub_registry_with_prefix("sightline_spanmetrics");
        spanmetrics.register(
            "spans",
            "Stored spans counted into the span-derived RED metrics",
            counters.spans.clone(),
        );
        spanmetrics.register(
            "overflow_spans",
            "Spans counted into the overflow series because the interval already had max_series series",
            counters.overflow_spans.clone(),
        );
        spanmetrics.register(
            "series_flushed",
            "Series written by span-metrics flushes (each one calls point and one duration point)",
            counters.series_flushed.clone(),
        );
        spanmetrics.register(
            "flush_failures",
            "Span-metrics flushes that storage refused; their counts are kept for the next flush",
            counters.flush_failures.clone(),
        );
        counters
    }

    pub fn spans(&self, spans: u64, in_overflow: u64) {
        self.spans.inc_by(spans);
        self.overflow_spans.inc_by(in_overflow);
    }

    pub fn flushed(&self, series: u64) {
        self.series_flushed.inc_by(series);
    }

    pub fn flush_failed(&self) {
        self.flush_failures.inc();
    }
}
