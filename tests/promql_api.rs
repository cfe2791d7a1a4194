//! Prometheus's query API over metrics sent by OTLP: OpenTelemetry names and labels as Prometheus names
//! them, and the same numbers through `/api/v1/query_range` as through `sightline rules test` over the same
//! samples (one engine, two doors).

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Daemon};

const MINUTE_MS: i64 = 60_000;

/// A monotonic cumulative sum sampled every minute, `0 60 120 …`, and a gauge `3 5 4 …`.
fn metrics_payload(base_ms: i64, minutes: i64) -> Value {
    let nanos = |ms: i64| (ms * 1_000_000).to_string();
    let counter: Vec<Value> = (0..=minutes)
        .map(|i| {
            json!({
                "attributes": [{ "key": "http.route", "value": { "stringValue": "/pay" } }],
                "startTimeUnixNano": nanos(base_ms - MINUTE_MS),
                "timeUnixNano": nanos(base_ms + i * MINUTE_MS),
                "asDouble": (60 * i) as f64,
            })
        })
        .collect();
    let gauge: Vec<Value> = (0..=minutes)
        .map(|i| {
            json!({
                "attributes": [{ "key": "queue", "value": { "stringValue": "emails" } }],
                "timeUnixNano": nanos(base_ms + i * MINUTE_MS),
                "asInt": (3 + i % 3).to_string(),
            })
        })
        .collect();
    // A histogram over [0.1, 0.5, 1]: each minute adds 1, 2, 1 and 0 observations to the four buckets.
    let histogram: Vec<Value> = (0..=minutes)
        .map(|i| {
            json!({
                "startTimeUnixNano": nanos(base_ms - MINUTE_MS),
                "timeUnixNano": nanos(base_ms + i * MINUTE_MS),
                "count": (4 * i).to_string(),
                "sum": (i as f64) * 1.5,
                "explicitBounds": [0.1, 0.5, 1.0],
                "bucketCounts": [i.to_string(), (2 * i).to_string(), i.to_string(), "0"],
            })
        })
        .collect();
    // A delta sum: 10 jobs each minute.
    let deltas: Vec<Value> = (0..=minutes)
        .map(|i| {
            json!({
                "startTimeUnixNano": nanos(base_ms + (i - 1) * MINUTE_MS),
                "timeUnixNano": nanos(base_ms + i * MINUTE_MS),
                "asInt": "10",
            })
        })
        .collect();
    json!({ "resourceMetrics": [{
        "resource": { "attributes": [
            { "key": "service.name", "value": { "stringValue": "payments" } },
            { "key": "service.instance.id", "value": { "stringValue": "pod-1" } },
        ] },
        "scopeMetrics": [{ "scope": { "name": "e2e" }, "metrics": [
            { "name": "http.server.requests", "unit": "{request}",
              "sum": { "aggregationTemporality": 2, "isMonotonic": true, "dataPoints": counter } },
            { "name": "queue.depth", "unit": "{job}", "gauge": { "dataPoints": gauge } },
            { "name": "http.server.request.duration", "unit": "s",
              "histogram": { "aggregationTemporality": 2, "dataPoints": histogram } },
            { "name": "jobs.done", "unit": "{job}",
              "sum": { "aggregationTemporality": 1, "isMonotonic": true, "dataPoints": deltas } },
        ] }],
    }] })
}

/// A form POST to the Prometheus API as the admin; the status and the JSON answer.
pub(crate) async fn prometheus_api(
    daemon: &Daemon,
    path: &str,
    form: &[(&str, String)],
) -> (u16, Value) {
    let body: Vec<String> =
        form.iter().map(|(name, value)| format!("{name}={}", percent_encode(value))).collect();
    let response = reqwest::Client::new()
        .post(daemon.api_url(path))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .expect("query request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a json answer"))
}

async fn sightline_get(daemon: &Daemon, path_and_query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(daemon.api_url(path_and_query))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("query request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a json answer"))
}

/// `application/x-www-form-urlencoded` encoding of a value.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_range_over_otlp_metrics_gives_the_numbers_rules_test_gives() {
    let daemon = Daemon::start();
    let now =
        i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis())
            .expect("time fits");
    let base = (now - 30 * MINUTE_MS) / MINUTE_MS * MINUTE_MS;
    let response = reqwest::Client::new()
        .post(daemon.http_url("/v1/metrics"))
        .json(&metrics_payload(base, 20))
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);

    // The instant query sees the names and labels of Prometheus's OTLP translation.
    let (status, answer) = prometheus_api(
        &daemon,
        "/api/v1/query",
        &[("query", "queue_depth".into()), ("time", format!("{}", (base + 20 * MINUTE_MS) / 1000))],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "status": "success", "data": { "resultType": "vector", "result": [{
            "metric": { "__name__": "queue_depth", "instance": "pod-1", "job": "payments", "queue": "emails" },
            "value": [((base + 20 * MINUTE_MS) / 1000) as f64, "5"],
        }] } })
    );

    // The label endpoints Grafana's query editor uses (the last hour, by default).
    let (status, answer) = prometheus_api(&daemon, "/api/v1/label/__name__/values", &[]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"],
        json!([
            "http_server_request_duration_seconds_bucket",
            "http_server_request_duration_seconds_count",
            "http_server_request_duration_seconds_sum",
            "http_server_requests_total",
            "jobs_done_total",
            "queue_depth",
        ])
    );
    let (_, answer) = prometheus_api(&daemon, "/api/v1/labels", &[]).await;
    assert_eq!(answer["data"], json!(["__name__", "http_route", "instance", "job", "le", "queue"]));
    let (_, answer) =
        prometheus_api(&daemon, "/api/v1/series", &[("match[]", "{queue=\"emails\"}".into())])
            .await;
    assert_eq!(
        answer["data"],
        json!([{ "__name__": "queue_depth", "instance": "pod-1", "job": "payments", "queue": "emails" }])
    );

    let (status, answer) =
        sightline_get(&daemon, "/api/v1/metadata?metric=http_server_requests_total").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"],
        json!({ "http_server_requests_total": [{ "type": "counter", "help": "", "unit": "{request}" }] })
    );

    // Histograms are classic `_bucket` series; a delta counter reads as a running total.
    let at_ten_thirty = format!("{}", (base + 10 * MINUTE_MS + 30_000) as f64 / 1000.0);
    for (query, expected) in [
        ("http_server_request_duration_seconds_bucket{le=\"0.5\"}", "30"),
        ("http_server_request_duration_seconds_count", "40"),
        // Rank 2 of every 4 falls halfway through (0.1, 0.5]: 0.3, as floating point computes it.
        (
            "histogram_quantile(0.5, rate(http_server_request_duration_seconds_bucket[5m]))",
            "0.29999999999999993",
        ),
        ("increase(jobs_done_total[5m])", "50"),
    ] {
        let (status, answer) = prometheus_api(
            &daemon,
            "/api/v1/query",
            &[("query", query.into()), ("time", at_ten_thirty.clone())],
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["data"]["result"][0]["value"][1], expected, "{query}: {answer}");
    }

    // A range query between the samples, so that the window edges never sit on a sample.
    let expression = "sum by (job) (rate(http_server_requests_total[5m])) * 60 + on(job) group_left sum by (job) (queue_depth)";
    let start = base + 5 * MINUTE_MS + 30_000;
    let (status, answer) = prometheus_api(
        &daemon,
        "/api/v1/query_range",
        &[
            ("query", expression.into()),
            ("start", format!("{}", start as f64 / 1000.0)),
            ("end", format!("{}", (start + 10 * MINUTE_MS) as f64 / 1000.0)),
            ("step", "60s".into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["data"]["result"];
    assert_eq!(answer["data"]["resultType"], "matrix");
    assert_eq!(result[0]["metric"], json!({ "job": "payments" }));
    let values = result[0]["values"].as_array().expect("values");
    assert_eq!(values.len(), 11);
    // 60 requests a minute, plus the gauge (3 4 5 3 4 5 …; the latest sample at 5m30s is minute 5: 5).
    assert_eq!(values[0], json!([start as f64 / 1000.0, "65"]));

    // The same samples in promtool's notation, times counted from the first sample; the expected values
    // are the API's answers.
    let exp_tests: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(step, value)| {
            format!(
                "      - expr: '{expression}'\n        eval_time: {}s\n        exp_samples:\n          - labels: '{{job=\"payments\"}}'\n            value: {}\n",
                (start - base) / 1000 + step as i64 * 60,
                value[1].as_str().expect("a value string"),
            )
        })
        .collect();
    let gauge: Vec<String> = (0..=20).map(|i| (3 + i % 3).to_string()).collect();
    let test_file = format!(
        "tests:\n  - interval: 1m\n    input_series:\n      - series: 'http_server_requests_total{{http_route=\"/pay\", job=\"payments\", instance=\"pod-1\"}}'\n        values: '0+60x20'\n      - series: 'queue_depth{{queue=\"emails\", job=\"payments\", instance=\"pod-1\"}}'\n        values: '{}'\n    promql_expr_test:\n{}",
        gauge.join(" "),
        exp_tests.concat()
    );
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("same-numbers.test.yaml");
    std::fs::write(&path, test_file).expect("temp dir is writable");
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["rules", "test"])
        .arg(&path)
        .output()
        .expect("sightline rules test runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}

#[tokio::test]
async fn query_errors_have_prometheus_shape() {
    let daemon = Daemon::start();
    let (status, answer) =
        prometheus_api(&daemon, "/api/v1/query", &[("query", "rate(x[5m]".into())]).await;
    assert_eq!(status, 400);
    assert_eq!(answer["status"], "error");
    assert_eq!(answer["errorType"], "bad_data");
    let (status, answer) = prometheus_api(
        &daemon,
        "/api/v1/query_range",
        &[
            ("query", "up".into()),
            ("start", "100".into()),
            ("end", "50".into()),
            ("step", "15".into()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "end timestamp must not be before start time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_that_restarts_with_a_new_start_time_is_a_reset_even_when_its_value_grew() {
    let daemon = Daemon::start();
    let now =
        i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis())
            .expect("time fits");
    let base = (now - 10 * MINUTE_MS) / MINUTE_MS * MINUTE_MS;
    let nanos = |ms: i64| (ms * 1_000_000).to_string();
    // 60 and 120 counted since base - 1m; the process restarts at base + 90s and has counted 200 by base + 2m.
    let points: Vec<Value> = [(0, 60.0, -MINUTE_MS), (MINUTE_MS, 120.0, -MINUTE_MS), (2 * MINUTE_MS, 200.0, 90_000)]
        .into_iter()
        .map(|(at, value, start)| {
            json!({ "startTimeUnixNano": nanos(base + start), "timeUnixNano": nanos(base + at), "asDouble": value })
        })
        .collect();
    let payload = json!({ "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "worker" } }] },
        "scopeMetrics": [{ "metrics": [{ "name": "jobs.processed", "unit": "{job}",
            "sum": { "aggregationTemporality": 2, "isMonotonic": true, "dataPoints": points } }] }],
    }] });
    let response = reqwest::Client::new()
        .post(daemon.http_url("/v1/metrics"))
        .json(&payload)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
    let at = format!("{}", (base + 2 * MINUTE_MS + 30_000) / 1000);
    let (status, answer) = prometheus_api(
        &daemon,
        "/api/v1/query",
        &[("query", "resets(jobs_processed_total[10m])".into()), ("time", at)],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["result"][0]["value"][1], "1", "{answer}");
}
