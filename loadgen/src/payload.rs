//! Realistic OTLP export requests, built once before a run.
//!
//! The shapes follow the collector's ingest benchmark (`collector/benches/common/mod.rs`): log
//! records of ≈300-400 bytes with a ≈200-byte body and 5 attributes, server spans with 10
//! attributes and one event. Metrics mix sums, gauges and histograms (or the kinds asked for), 5
//! attributes per point.
//! Requests in a pool differ in ids, attributes and service (one of [`SERVICES`]); they share one
//! base time, which each send moves to the time of sending ([`crate::timestamps`]).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

/// The services requests are spread over, one per request in turn.
pub const SERVICES: [&str; 5] = ["checkout", "cart", "payments", "search", "frontend"];

/// Data points per metric (each with its own attribute set).
const POINTS_PER_METRIC: usize = 16;

/// Histogram bucket bounds, in milliseconds.
const BOUNDS: [f64; 9] = [5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0];

/// One export request of any signal.
#[derive(Debug, Clone)]
pub enum Request {
    Logs(ExportLogsServiceRequest),
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
}

impl Request {
    /// The request as OTLP/protobuf.
    pub fn encode_protobuf(&self) -> Vec<u8> {
        match self {
            Request::Logs(r) => r.encode_to_vec(),
            Request::Traces(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
        }
    }

    /// Log records, spans or metric data points in the request.
    pub fn items(&self) -> u64 {
        let count: usize = match self {
            Request::Logs(r) => r
                .resource_logs
                .iter()
                .flat_map(|rl| &rl.scope_logs)
                .map(|sl| sl.log_records.len())
                .sum(),
            Request::Traces(r) => r
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum(),
            Request::Metrics(r) => r
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(|m| match &m.data {
                    Some(Data::Gauge(g)) => g.data_points.len(),
                    Some(Data::Sum(s)) => s.data_points.len(),
                    Some(Data::Histogram(h)) => h.data_points.len(),
                    Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
                    Some(Data::Summary(s)) => s.data_points.len(),
                    None => 0,
                })
                .sum(),
        };
        count as u64
    }
}

/// Which signal a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Signal {
    Logs,
    Traces,
    Metrics,
}

/// A kind of metric point. A metrics request holds metrics of the chosen kinds in turn, 16 points each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricKind {
    /// Monotonic cumulative sums of integers (counters).
    Sum,
    /// Gauges of floating-point values.
    Gauge,
    /// Cumulative histograms of 10 buckets, with sum, min and max.
    Histogram,
}

impl MetricKind {
    pub const ALL: [MetricKind; 3] = [MetricKind::Sum, MetricKind::Gauge, MetricKind::Histogram];
}

/// Builds `count` distinct requests of `batch` items each, timestamped from `base_unix_nano` on
/// (items within a request ≈1 ms apart); metrics requests hold points of `metric_kinds` in turn.
pub fn pool(
    signal: Signal,
    metric_kinds: &[MetricKind],
    batch: usize,
    count: usize,
    base_unix_nano: u64,
) -> Vec<Request> {
    (0..count)
        .map(|k| {
            let seed = k * batch;
            let base = base_unix_nano;
            let service = SERVICES[k % SERVICES.len()];
            match signal {
                Signal::Logs => Request::Logs(logs(service, batch, seed, base)),
                Signal::Traces => Request::Traces(spans(service, batch, seed, base)),
                Signal::Metrics => {
                    Request::Metrics(metrics(service, metric_kinds, batch, seed, base))
                }
            }
        })
        .collect()
}

/// Now, in nanoseconds since the Unix epoch, moved back a minute so a pool of requests never lies
/// in the future.
pub fn recent_unix_nano() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    u64::try_from(now).unwrap_or(u64::MAX).saturating_sub(60_000_000_000)
}

fn string(text: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(text.into())) })
}

fn int(int: i64) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::IntValue(int)) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.to_string(), value, ..Default::default() }
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", string(service)),
            kv("service.version", string("1.42.0")),
            kv("host.name", string(format!("ip-10-0-12-34.{service}.eu-west-1.compute.internal"))),
            kv("deployment.environment", string("production")),
        ],
        ..Default::default()
    }
}

fn scope(service: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: format!("io.opentelemetry.{service}"),
        version: "2.1.0".to_string(),
        ..Default::default()
    })
}

/// An id that varies per item, as real ids do.
fn id(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 97) % 251) as u8).collect()
}

fn logs(service: &str, batch: usize, seed: usize, base: u64) -> ExportLogsServiceRequest {
    let records = (0..batch)
        .map(|i| {
            let n = seed + i;
            LogRecord {
                time_unix_nano: base + i as u64 * 1_000_000,
                observed_time_unix_nano: base + i as u64 * 1_000_000 + 500,
                severity_number: 9,
                severity_text: "INFO".to_string(),
                body: string(format!(
                    "Completed request GET /api/v1/users/{n}/orders in 12.{i:03} ms: status=200 \
                     bytes_out=5123 cache=miss upstream=orders-service.internal:8080 \
                     request_id=3f2a9c1e-{i:04}-4b7d-9e21-8c6f5a4d3b2a retries=0"
                )),
                attributes: vec![
                    kv("http.method", string("GET")),
                    kv("http.route", string("/api/v1/users/{id}/orders")),
                    kv("user.id", string(format!("user-{}", n * 7919 % 100_000))),
                    kv("thread.name", string(format!("http-worker-{}", i % 16))),
                    kv("code.lineno", int(100 + (n % 300) as i64)),
                ],
                trace_id: id(n, 16),
                span_id: id(n + 1, 8),
                flags: 1,
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource(service)),
            scope_logs: vec![ScopeLogs {
                scope: scope(service),
                log_records: records,
                ..Default::default()
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
        }],
    }
}

fn spans(service: &str, batch: usize, seed: usize, base: u64) -> ExportTraceServiceRequest {
    let spans = (0..batch)
        .map(|i| {
            let n = seed + i;
            Span {
                trace_id: id(n / 8, 16),
                span_id: id(n, 8),
                parent_span_id: if n.is_multiple_of(8) { vec![] } else { id(n - 1, 8) },
                name: "GET /api/v1/users/{id}/orders".to_string(),
                kind: 2,
                start_time_unix_nano: base + i as u64 * 1_000_000,
                end_time_unix_nano: base + i as u64 * 1_000_000 + 1_234_567,
                attributes: vec![
                    kv("http.request.method", string("GET")),
                    kv("http.route", string("/api/v1/users/{id}/orders")),
                    kv("http.response.status_code", int(200)),
                    kv("url.scheme", string("https")),
                    kv("url.path", string(format!("/api/v1/users/{n}/orders"))),
                    kv("server.address", string("api.example.com")),
                    kv("server.port", int(443)),
                    kv("client.address", string(format!("10.0.{}.{}", n % 256, n % 200))),
                    kv("user_agent.original", string("Mozilla/5.0 (X11; Linux x86_64)")),
                    kv("network.protocol.version", string("1.1")),
                ],
                events: vec![Event {
                    time_unix_nano: base + i as u64 * 1_000_000 + 1_000,
                    name: "cache.miss".to_string(),
                    attributes: vec![kv("cache.key", string(format!("orders:{n}")))],
                    dropped_attributes_count: 0,
                }],
                status: Some(Status { code: 1, message: String::new() }),
                flags: 0x101,
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource(service)),
            scope_spans: vec![ScopeSpans { scope: scope(service), spans, ..Default::default() }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
        }],
    }
}

/// The attributes of data point `n`: 5 per point, as an HTTP server's metrics carry.
fn point_attributes(n: usize) -> Vec<KeyValue> {
    const ROUTES: [&str; 4] = ["/api/v1/users/{id}/orders", "/api/v1/cart", "/health", "/search"];
    vec![
        kv("http.request.method", string(if n.is_multiple_of(5) { "POST" } else { "GET" })),
        kv("http.route", string(ROUTES[n % ROUTES.len()])),
        kv("http.response.status_code", int(if n.is_multiple_of(17) { 500 } else { 200 })),
        kv("server.address", string("api.example.com")),
        kv("pod.name", string(format!("api-{}", n % 8))),
    ]
}

/// Metrics of `kinds` in turn (all three when empty), `POINTS_PER_METRIC` points each.
fn metrics(
    service: &str,
    kinds: &[MetricKind],
    batch: usize,
    seed: usize,
    base: u64,
) -> ExportMetricsServiceRequest {
    let kinds = if kinds.is_empty() { &MetricKind::ALL[..] } else { kinds };
    let start = base.saturating_sub(60_000_000_000);
    let mut metrics = Vec::new();
    let mut made = 0;
    while made < batch {
        let points = POINTS_PER_METRIC.min(batch - made);
        let kind = kinds[metrics.len() % kinds.len()];
        let point_seeds = (made..made + points).map(|i| seed + i);
        let data = match kind {
            MetricKind::Sum => Data::Sum(Sum {
                data_points: point_seeds
                    .map(|n| NumberDataPoint {
                        attributes: point_attributes(n),
                        start_time_unix_nano: start,
                        time_unix_nano: base,
                        value: Some(number_data_point::Value::AsInt((n * 37 % 10_000) as i64)),
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
            MetricKind::Gauge => Data::Gauge(Gauge {
                data_points: point_seeds
                    .map(|n| NumberDataPoint {
                        attributes: point_attributes(n),
                        time_unix_nano: base,
                        value: Some(number_data_point::Value::AsDouble((n % 1000) as f64 * 0.37)),
                        ..Default::default()
                    })
                    .collect(),
            }),
            MetricKind::Histogram => Data::Histogram(Histogram {
                data_points: point_seeds
                    .map(|n| {
                        let bucket_counts: Vec<u64> =
                            (0..=BOUNDS.len()).map(|b| ((n + b * 7) % 50) as u64).collect();
                        let count = bucket_counts.iter().sum();
                        HistogramDataPoint {
                            attributes: point_attributes(n),
                            start_time_unix_nano: start,
                            time_unix_nano: base,
                            count,
                            sum: Some(count as f64 * 42.5),
                            bucket_counts,
                            explicit_bounds: BOUNDS.to_vec(),
                            min: Some(0.8),
                            max: Some(2_400.0),
                            ..Default::default()
                        }
                    })
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
        };
        let (name, unit) = match kind {
            MetricKind::Sum => ("http.server.requests", "{request}"),
            MetricKind::Gauge => ("http.server.active_requests", "{request}"),
            MetricKind::Histogram => ("http.server.request.duration", "ms"),
        };
        metrics.push(Metric {
            name: format!("{name}.{}", metrics.len() / kinds.len()),
            description: format!("{name} of the {service} service"),
            unit: unit.to_string(),
            data: Some(data),
            ..Default::default()
        });
        made += points;
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource(service)),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(service),
                metrics,
                ..Default::default()
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_holds_exactly_batch_items() {
        for signal in [Signal::Logs, Signal::Traces, Signal::Metrics] {
            for batch in [1, 15, 16, 17, 512] {
                let pool = pool(signal, &MetricKind::ALL, batch, 7, 1_764_000_000_000_000_000);
                assert_eq!(pool.len(), 7);
                for request in &pool {
                    assert_eq!(request.items(), batch as u64, "{signal:?} batch {batch}");
                }
            }
        }
    }

    #[test]
    fn requests_in_a_pool_differ_and_cycle_through_services() {
        let pool = pool(Signal::Logs, &[], 4, 10, 1_764_000_000_000_000_000);
        let services: Vec<String> = pool
            .iter()
            .map(|r| match r {
                Request::Logs(r) => {
                    match &r.resource_logs[0].resource.as_ref().expect("set").attributes[0].value {
                        Some(AnyValue { value: Some(Value::StringValue(s)) }) => s.clone(),
                        other => panic!("unexpected service value {other:?}"),
                    }
                }
                _ => panic!("not logs"),
            })
            .collect();
        assert_eq!(services[0], "checkout");
        assert_eq!(services[5], "checkout");
        assert_eq!(services[4], "frontend");
        let first = format!("{:?}", pool[0]);
        let sixth = format!("{:?}", pool[5]);
        assert_ne!(first, sixth, "same service, but ids must differ");
    }

    #[test]
    fn metrics_requests_hold_the_kinds_asked_for_in_turn() {
        let sums_and_gauges = [MetricKind::Sum, MetricKind::Gauge];
        for (asked, expected) in [
            (&sums_and_gauges[..], &sums_and_gauges[..]),
            (&[MetricKind::Histogram][..], &[MetricKind::Histogram][..]),
            (&[][..], &MetricKind::ALL[..]),
        ] {
            let request = &pool(Signal::Metrics, asked, 512, 1, 1_764_000_000_000_000_000)[0];
            assert_eq!(request.items(), 512);
            let Request::Metrics(request) = request else { panic!("not metrics") };
            let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
            assert_eq!(metrics.len(), 512 / POINTS_PER_METRIC);
            for (n, metric) in metrics.iter().enumerate() {
                let kind = match metric.data {
                    Some(Data::Sum(_)) => MetricKind::Sum,
                    Some(Data::Gauge(_)) => MetricKind::Gauge,
                    Some(Data::Histogram(_)) => MetricKind::Histogram,
                    ref other => panic!("unexpected metric data {other:?}"),
                };
                assert_eq!(kind, expected[n % expected.len()], "metric {n} of {asked:?}");
            }
        }
    }

    #[test]
    fn log_records_are_a_few_hundred_bytes() {
        let request = &pool(Signal::Logs, &[], 512, 1, 1_764_000_000_000_000_000)[0];
        let Request::Logs(logs) = request else { panic!("not logs") };
        let per_record = logs.encoded_len() / 512;
        assert!((250..=450).contains(&per_record), "{per_record} bytes per record");
    }
}
