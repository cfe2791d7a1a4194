//! Span-derived RED metrics: spans sent by the real OpenTelemetry SDK come back through the Prometheus API as
//! the spanmetrics connector's series (`traces_span_metrics_calls_total`,
//! `traces_span_metrics_duration_seconds_bucket`), with the numbers the spans make.

use std::time::{Duration, Instant, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Value, json};
use sightline_storage::Table;

use crate::promql_api::prometheus_api;
use crate::support::{Daemon, map_column, string_column};

/// (span name, kind, status, duration, how many)
type Spans = [(&'static str, SpanKind, Status, Duration, usize)];

const SPANS: &Spans = &[
    ("GET /cart", SpanKind::Server, Status::Ok, Duration::from_millis(30), 6),
    (
        "GET /cart",
        SpanKind::Server,
        Status::Error { description: std::borrow::Cow::Borrowed("boom") },
        Duration::from_millis(300),
        2,
    ),
    ("POST /pay", SpanKind::Server, Status::Unset, Duration::from_millis(1_200), 2),
    ("charge", SpanKind::Client, Status::Unset, Duration::from_millis(5), 1),
];

/// Sends `spans` over OTLP/gRPC with the SDK, as service `checkout` (namespace `shop`, instance `pod-1`), and
/// returns once they are exported.
async fn send(daemon: &Daemon, spans: &'static Spans) {
    let endpoint = daemon.grpc_url();
    // The SDK's processors block: run it off the async workers, as an application's main thread would.
    tokio::task::spawn_blocking(move || {
        let exporter =
            SpanExporter::builder().with_tonic().with_endpoint(endpoint).build().expect("exporter");
        let resource = Resource::builder()
            .with_service_name("checkout")
            .with_attributes([
                KeyValue::new("service.namespace", "shop"),
                KeyValue::new("service.instance.id", "pod-1"),
                KeyValue::new("deployment.environment", "test"),
            ])
            .build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("e2e");
        let start = SystemTime::now() - Duration::from_secs(30);
        for (name, kind, status, duration, count) in spans {
            for _ in 0..*count {
                let mut span = tracer
                    .span_builder(*name)
                    .with_kind(kind.clone())
                    .with_start_time(start)
                    .start(&tracer);
                span.set_status(status.clone());
                span.end_with_timestamp(start + *duration);
            }
        }
        provider.shutdown().expect("span export");
    })
    .await
    .expect("sdk session");
}

async fn prometheus_query(daemon: &Daemon, query: &str, time: &str) -> Value {
    let form = [("query", query.to_owned()), ("time", time.to_owned())];
    let (status, answer) = prometheus_api(daemon, "/api/v1/query", &form).await;
    assert_eq!(status, 200, "{query}: {answer}");
    assert_eq!(answer["status"], "success", "{query}: {answer}");
    answer["data"]["result"].clone()
}

/// The values of a vector result by the given labels' values.
fn by_labels(result: &Value, labels: &[&str]) -> Vec<(Vec<String>, f64)> {
    let mut values: Vec<(Vec<String>, f64)> = result
        .as_array()
        .expect("a vector")
        .iter()
        .map(|sample| {
            let key = labels
                .iter()
                .map(|label| sample["metric"][label].as_str().unwrap_or_default().to_owned())
                .collect();
            let value = sample["value"][1].as_str().expect("a value").parse().expect("a number");
            (key, value)
        })
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    values
}

fn key(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// Waits for the flush that writes the calls points of `series` series; returns the points' time (ms).
async fn flushed(daemon: &Daemon, series: u64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = daemon
            .sql_value(
                "SELECT count(*) FROM metrics WHERE metric_name = 'traces.span.metrics.calls'",
            )
            .await;
        if answer.as_u64() == Some(series) {
            break;
        }
        assert!(Instant::now() < deadline, "no flush of {series} series within 30 s: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let nanos = daemon
        .sql_value(
            "SELECT max(CAST(timestamp AS BIGINT)) FROM metrics WHERE metric_name = 'traces.span.metrics.calls'",
        )
        .await;
    nanos.as_i64().expect("a time") / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_become_call_counts_and_duration_histograms_that_promql_reads() {
    let daemon = Daemon::start_with(json!({ "span_metrics": { "flush_interval": "1s" } }));
    send(&daemon, SPANS).await;
    // Evaluated at the flush, so that `increase` has nothing to extrapolate: its numbers are exact.
    let at = format!("{:.3}", flushed(&daemon, 4).await as f64 / 1000.0);

    let calls = prometheus_query(
        &daemon,
        "sum by (span_name, status_code) (increase(traces_span_metrics_calls_total[5m]))",
        &at,
    )
    .await;
    assert_eq!(
        by_labels(&calls, &["span_name", "status_code"]),
        vec![
            (key(&["GET /cart", "STATUS_CODE_ERROR"]), 2.0),
            (key(&["GET /cart", "STATUS_CODE_OK"]), 6.0),
            (key(&["POST /pay", "STATUS_CODE_UNSET"]), 2.0),
            (key(&["charge", "STATUS_CODE_UNSET"]), 1.0),
        ],
        "{calls}"
    );

    // The selector of the failure-rate rule pack, with every label a series gets.
    let errors = prometheus_query(
        &daemon,
        "traces_span_metrics_calls_total{span_kind=\"SPAN_KIND_SERVER\", status_code=\"STATUS_CODE_ERROR\"}",
        &at,
    )
    .await;
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
    assert_eq!(
        errors[0]["metric"],
        json!({
            "__name__": "traces_span_metrics_calls_total",
            "job": "shop/checkout",
            "instance": "pod-1",
            "service_name": "checkout",
            "span_name": "GET /cart",
            "span_kind": "SPAN_KIND_SERVER",
            "status_code": "STATUS_CODE_ERROR",
        })
    );
    assert_eq!(errors[0]["value"][1], "2");
    let rate = prometheus_query(
        &daemon,
        "sum(rate(traces_span_metrics_calls_total{status_code=\"STATUS_CODE_ERROR\"}[5m])) / sum(rate(traces_span_metrics_calls_total{span_name=\"GET /cart\"}[5m]))",
        &at,
    )
    .await;
    let ratio: f64 = rate[0]["value"][1].as_str().expect("a value").parse().expect("a number");
    assert!((ratio - 0.25).abs() < 1e-12, "{rate}");

    // GET /cart: 6 spans of 30 ms in (0.01, 0.05], 2 of 300 ms in (0.2, 0.4]. Prometheus interpolates
    // linearly within the bucket the rank falls in.
    for (quantile, expected) in
        [(0.5, 0.01 + (0.05 - 0.01) * (4.0 / 6.0)), (0.9, 0.2 + (0.4 - 0.2) * (1.2 / 2.0))]
    {
        let query = format!(
            "histogram_quantile({quantile}, sum by (le) (increase(traces_span_metrics_duration_seconds_bucket{{span_name=\"GET /cart\"}}[5m])))"
        );
        let result = prometheus_query(&daemon, &query, &at).await;
        let value: f64 =
            result[0]["value"][1].as_str().expect("a value").parse().expect("a number");
        assert!((value - expected).abs() < 1e-9, "{query}: {value}, expected {expected}");
    }
    let durations = prometheus_query(
        &daemon,
        "sum by (span_name) (increase(traces_span_metrics_duration_seconds_sum[5m])) / sum by (span_name) (increase(traces_span_metrics_duration_seconds_count[5m]))",
        &at,
    )
    .await;
    let means = by_labels(&durations, &["span_name"]);
    for ((name, mean), expected) in means.iter().zip([(6.0 * 0.03 + 2.0 * 0.3) / 8.0, 1.2, 0.005]) {
        assert!((mean - expected).abs() < 1e-9, "{name:?}: {mean}, expected {expected}");
    }

    // The rows, as SQL sees them.
    let (status, answer) = daemon
        .sql(
            "SELECT metric_type, temporality, is_monotonic, unit, service_name, scope_name, \
             attributes['span.kind'], attributes['status.code'], attributes['service.name'], \
             cardinality(resource_attributes), resource_attributes['service.namespace'], \
             CAST(timestamp AS BIGINT) - CAST(start_timestamp AS BIGINT) > 0, value \
             FROM metrics WHERE metric_name = 'traces.span.metrics.calls' AND attributes['span.name'] = 'charge'",
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["rows"],
        json!([[
            "sum",
            "delta",
            true,
            "",
            "checkout",
            "sightline.spanmetrics",
            "SPAN_KIND_CLIENT",
            "STATUS_CODE_UNSET",
            "checkout",
            3,
            "shop",
            true,
            1.0
        ]])
    );
    let (status, answer) = daemon
        .sql(
            "SELECT metric_type, temporality, unit, count, sum, min, max, bucket_counts \
             FROM metrics_histogram WHERE metric_name = 'traces.span.metrics.duration' \
             AND attributes['span.name'] = 'POST /pay'",
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["rows"],
        json!([[
            "histogram",
            "delta",
            "s",
            2,
            2.4,
            1.2,
            1.2,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
        ]])
    );
    let flushed = daemon.metric("sightline_spanmetrics_series_flushed_total").await;
    assert_eq!(flushed, 4.0);
    assert_eq!(daemon.metric("sightline_spanmetrics_spans_total").await, 11.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_the_last_partial_interval() {
    let mut daemon = Daemon::start_with(json!({ "span_metrics": { "flush_interval": "1h" } }));
    send(&daemon, &SPANS[3..]).await;
    daemon.terminate();
    assert!(daemon.wait().success());

    let stored = daemon.stored();
    let calls = stored.table(Table::Metrics);
    assert_eq!(
        string_column(&calls, "metric_name"),
        [Some("traces.span.metrics.calls".to_owned())]
    );
    assert_eq!(
        map_column(&calls, "attributes")[0],
        [
            ("service.name".to_owned(), Some("checkout".to_owned())),
            ("span.name".to_owned(), Some("charge".to_owned())),
            ("span.kind".to_owned(), Some("SPAN_KIND_CLIENT".to_owned())),
            ("status.code".to_owned(), Some("STATUS_CODE_UNSET".to_owned())),
        ]
    );
    let durations = stored.table(Table::MetricsHistogram);
    assert_eq!(
        string_column(&durations, "metric_name"),
        [Some("traces.span.metrics.duration".to_owned())]
    );
}
