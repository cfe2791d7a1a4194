//! OTLP/HTTP against the real binary: encodings, compression, errors, limits, partial success.

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline_storage::Table;

use crate::payloads::{logs_request, metrics_request, traces_request};
use crate::support::{Daemon, string_column};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// `google.rpc.Status`, as OTLP/HTTP error bodies carry it.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(daemon: &Daemon, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(daemon.http_url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

fn example(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/otlp-examples/");
    std::fs::read(format!("{path}{name}")).expect("OTLP example payload")
}

#[tokio::test]
async fn protobuf_post_to_each_path_is_answered_in_protobuf_without_partial_success() {
    let daemon = Daemon::start();
    let cases: [(&str, Vec<u8>); 3] = [
        ("/v1/logs", logs_request(3).encode_to_vec()),
        ("/v1/traces", traces_request(2).encode_to_vec()),
        ("/v1/metrics", metrics_request().encode_to_vec()),
    ];
    for (path, body) in cases {
        let response = post(&daemon, path, PROTOBUF, body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], PROTOBUF, "{path}");
        let body = response.bytes().await.expect("body");
        let unset = match path {
            "/v1/logs" => {
                ExportLogsServiceResponse::decode(body).expect("response").partial_success.is_none()
            }
            "/v1/traces" => ExportTraceServiceResponse::decode(body)
                .expect("response")
                .partial_success
                .is_none(),
            _ => ExportMetricsServiceResponse::decode(body)
                .expect("response")
                .partial_success
                .is_none(),
        };
        assert!(unset, "{path}: partial_success must be unset");
    }
    let stored = daemon.stored();
    assert_eq!(stored.rows(Table::Logs), 3);
    assert_eq!(stored.rows(Table::Spans), 2);
    assert_eq!(stored.rows(Table::Metrics), 3);
    assert_eq!(stored.rows(Table::MetricsHistogram), 1);
    assert_eq!(stored.rows(Table::MetricsExpHistogram), 1);
    assert_eq!(stored.rows(Table::MetricsSummary), 1);
}

#[tokio::test]
async fn the_otlp_project_examples_are_accepted_as_json_and_answered_in_json() {
    let daemon = Daemon::start();
    for (path, file) in [("/v1/logs", "logs.json"), ("/v1/traces", "trace.json")] {
        let response = post(&daemon, path, JSON, example(file)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], JSON);
        assert_eq!(response.json::<Value>().await.expect("json"), json!({}), "{path}");
    }
    // The example's histogram has three bucket counts for one bound: that point alone is rejected.
    let response = post(&daemon, "/v1/metrics", JSON, example("metrics.json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = response.json::<Value>().await.expect("json");
    assert_eq!(answer["partialSuccess"]["rejectedDataPoints"], "1", "{answer}");
    assert!(
        answer["partialSuccess"]["errorMessage"].as_str().unwrap_or("").contains("bucket counts")
    );

    let stored = daemon.stored();
    let logs = stored.table(Table::Logs);
    assert_eq!(
        string_column(&logs, "trace_id"),
        [Some("5b8efff798038103d269b633813fc60c".to_owned())]
    );
    assert_eq!(string_column(&logs, "body"), [Some("Example log record".to_owned())]);
    assert_eq!(string_column(&logs, "service_name"), [Some("my.service".to_owned())]);
    let spans = stored.table(Table::Spans);
    assert_eq!(string_column(&spans, "parent_span_id"), [Some("eee19b7ec3c1b173".to_owned())]);
    assert_eq!(string_column(&spans, "kind"), [Some("SERVER".to_owned())]);
    assert_eq!(stored.rows(Table::Metrics), 2);
    assert_eq!(stored.rows(Table::MetricsHistogram), 0);
}

fn json_log(trace_id: &str, value: Value) -> Vec<u8> {
    json!({ "resourceLogs": [{ "scopeLogs": [{ "logRecords": [{
        "timeUnixNano": "1704164645000000000",
        "traceId": trace_id,
        "body": { "stringValue": "hello" },
        "attributes": [{ "key": "n", "value": value }],
    }]}]}]})
    .to_string()
    .into_bytes()
}

fn json_gauge(value: Value) -> Vec<u8> {
    json!({ "resourceMetrics": [{ "scopeMetrics": [{ "metrics": [{
        "name": "queue.depth",
        "gauge": { "dataPoints": [{ "timeUnixNano": 1704164645000000000u64, "asInt": value }] },
    }]}]}]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn hex_case_and_integer_encodings_store_the_same_values() {
    let daemon = Daemon::start();
    for body in [
        json_log("5B8EFFF798038103D269B633813FC60C", json!({ "intValue": "7" })),
        json_log("5b8efff798038103d269b633813fc60c", json!({ "intValue": 7 })),
    ] {
        assert_eq!(post(&daemon, "/v1/logs", JSON, body).await.status(), StatusCode::OK);
    }
    for body in [json_gauge(json!("7")), json_gauge(json!(7))] {
        let response = post(&daemon, "/v1/metrics", JSON, body).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.expect("json"), json!({}));
    }
    let stored = daemon.stored();
    let logs = stored.table(Table::Logs);
    let trace_ids = string_column(&logs, "trace_id");
    assert_eq!(trace_ids.len(), 2);
    assert_eq!(trace_ids[0], trace_ids[1]);
    let metrics = stored.table(Table::Metrics);
    let values = crate::support::f64_column(&metrics, "value");
    assert_eq!(values, [7.0, 7.0], "asInt as a string and as a number must store the same value");
}

fn compress(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(data).expect("gzip");
            encoder.finish().expect("gzip")
        }
        "deflate" => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(data).expect("deflate");
            encoder.finish().expect("deflate")
        }
        "zstd" => zstd::encode_all(data, 1).expect("zstd"),
        _ => data.to_vec(),
    }
}

#[tokio::test]
async fn gzip_zstd_and_deflate_bodies_are_accepted() {
    let daemon = Daemon::start();
    let body = logs_request(2).encode_to_vec();
    for encoding in ["gzip", "zstd", "deflate"] {
        let response = client()
            .post(daemon.http_url("/v1/logs"))
            .header("content-type", PROTOBUF)
            .header("content-encoding", encoding)
            .body(compress(encoding, &body))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{encoding}");
    }
    assert_eq!(daemon.stored().rows(Table::Logs), 6);
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_status_in_the_request_encoding() {
    let daemon = Daemon::start();
    let response =
        post(&daemon, "/v1/traces", PROTOBUF, b"\xff\xff\xff not protobuf".to_vec()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["content-type"], PROTOBUF);
    let status =
        RpcStatus::decode(response.bytes().await.expect("body")).expect("a google.rpc.Status body");
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(!status.message.is_empty());

    let response = post(&daemon, "/v1/traces", JSON, b"{\"resourceSpans\": [".to_vec()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let status = response.json::<Value>().await.expect("json status");
    assert_eq!(status["code"], 3);
    assert!(status["message"].as_str().is_some_and(|m| !m.is_empty()));

    let response = client()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", PROTOBUF)
        .header("content-encoding", "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(daemon.stored().0.len(), 0);
}

#[tokio::test]
async fn wrong_method_is_405_and_wrong_content_type_is_415() {
    let daemon = Daemon::start();
    let response = client().get(daemon.http_url("/v1/logs")).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let response = post(&daemon, "/v1/logs", "text/plain", b"hello".to_vec()).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = client()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", PROTOBUF)
        .header("content-encoding", "br")
        .body(Vec::new())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// 1 GiB of zeros, gzip-compressed (about 1 MiB on the wire).
pub fn gzip_bomb() -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        encoder.write_all(&zeros).expect("gzip");
    }
    encoder.finish().expect("gzip")
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_with_413_without_expanding_in_memory() {
    let daemon = Daemon::start();
    let bomb = gzip_bomb();
    let response = client()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", PROTOBUF)
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let peak = daemon.peak_rss_kib();
    assert!(peak < 200 * 1024, "peak RSS {peak} KiB");
}

#[tokio::test]
async fn partial_success_reports_rejected_items_and_keeps_the_valid_ones() {
    let daemon = Daemon::start();
    let mut request: ExportLogsServiceRequest = logs_request(3);
    request.resource_logs[0].scope_logs[0].log_records[1].trace_id = vec![1; 15];
    let response = post(&daemon, "/v1/logs", PROTOBUF, request.encode_to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer =
        ExportLogsServiceResponse::decode(response.bytes().await.expect("body")).expect("response");
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_log_records, 1);
    assert!(
        partial.error_message.contains("logRecords[1]: trace_id must be 16 bytes"),
        "{}",
        partial.error_message
    );
    assert_eq!(daemon.stored().rows(Table::Logs), 2);
}

#[tokio::test]
async fn an_empty_request_succeeds_and_stores_nothing() {
    let daemon = Daemon::start();
    let response = post(&daemon, "/v1/logs", PROTOBUF, Vec::new()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = post(&daemon, "/v1/traces", JSON, b"{}".to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({}));
    assert_eq!(daemon.stored().0.len(), 0);
}

#[tokio::test]
async fn browsers_from_allowed_origins_pass_cors_preflight() {
    let daemon = Daemon::start_with(
        json!({ "otlp": { "http": { "cors": { "allowed_origins": ["https://app.example"] } } } }),
    );
    let preflight = |origin: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, daemon.http_url("/v1/traces"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example").await.expect("request");
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example");
    assert!(
        allowed.headers()["access-control-allow-methods"].to_str().unwrap_or("").contains("POST")
    );
    let refused = preflight("https://evil.example").await.expect("request");
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn items_past_the_per_request_limit_are_rejected_through_partial_success() {
    let daemon =
        Daemon::start_with(json!({ "otlp": { "limits": { "max_items_per_request": 2 } } }));
    let response = post(&daemon, "/v1/logs", PROTOBUF, logs_request(5).encode_to_vec()).await;
    let answer =
        ExportLogsServiceResponse::decode(response.bytes().await.expect("body")).expect("response");
    assert_eq!(answer.partial_success.expect("partial success").rejected_log_records, 3);
    assert_eq!(daemon.stored().rows(Table::Logs), 2);
    let metrics =
        client().get(format!("http://{}/metrics", daemon.api)).send().await.expect("metrics");
    let text = metrics.text().await.expect("text");
    assert!(text.contains("sightline_otlp_items_over_limit_total{signal=\"logs\"} 3"), "{text}");
}
