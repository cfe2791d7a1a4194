//! The daemon's life: health endpoints, self-metrics, and a graceful SIGTERM that loses no acknowledged data.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
use prost::Message;
use sightline_storage::Table;

use crate::payloads::logs_request;
use crate::support::{Daemon, Stored, string_column};

#[tokio::test]
async fn health_readiness_and_metrics_are_served_on_the_api_listener() {
    let daemon = Daemon::start();
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("http://{}{path}", daemon.api)).send();
    assert_eq!(get("/healthz").await.expect("healthz").status(), 200);
    assert_eq!(get("/readyz").await.expect("readyz").status(), 200);

    let body = logs_request(1).encode_to_vec();
    let response = client
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(body.clone())
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
    let metrics = get("/metrics").await.expect("metrics");
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text().await.expect("text");
    for expected in [
        "sightline_otlp_requests_total{signal=\"logs\",transport=\"http\",outcome=\"ok\"} 1",
        &format!(
            "sightline_otlp_received_bytes_total{{signal=\"logs\",transport=\"http\"}} {}",
            body.len()
        ),
        "sightline_otlp_items_total{signal=\"logs\",outcome=\"accepted\"} 1",
        "sightline_otlp_request_duration_seconds_count{signal=\"logs\",transport=\"http\"} 1",
        "sightline_storage_data_files{table=\"logs\"} 0",
        "sightline_storage_wal_fsyncs_total 1",
        "sightline_storage_flush_duration_seconds_count 0",
        "sightline_storage_refused_writes_total 0",
    ] {
        assert!(text.contains(expected), "/metrics lacks {expected:?}:\n{text}");
    }
    let buffered = text
        .lines()
        .find_map(|line| line.strip_prefix("sightline_storage_buffer_bytes "))
        .and_then(|value| value.parse::<u64>().ok());
    assert!(buffered.is_some_and(|bytes| bytes > 0), "the buffer holds the new row: {buffered:?}");
}

fn tagged_request(tag: &str) -> Vec<u8> {
    let mut request: ExportLogsServiceRequest = logs_request(1);
    request.resource_logs[0].scope_logs[0].log_records[0].body =
        Some(AnyValue { value: Some(Value::StringValue(tag.to_owned())) });
    request.encode_to_vec()
}

fn stored_bodies(stored: &Stored) -> BTreeSet<String> {
    string_column(&stored.table(Table::Logs), "body").into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_stream_of_requests_keeps_every_acknowledged_request_and_exits_0() {
    let mut daemon = Daemon::start();
    let url = daemon.http_url("/v1/logs");
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut senders = Vec::new();
    for sender in 0..4 {
        let (url, acknowledged) = (url.clone(), Arc::clone(&acknowledged));
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            // Bounded: each sender stops at its first refused request, or after 2,000 requests.
            for n in 0..2_000 {
                let tag = format!("sender {sender} request {n}");
                let sent = client
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .body(tagged_request(&tag))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 200 => {
                        acknowledged.lock().expect("lock").insert(tag);
                    }
                    _ => return,
                }
            }
        }));
    }
    // Let the stream run, then stop the daemon in the middle of it.
    while acknowledged.lock().expect("lock").len() < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    daemon.terminate();
    let status = tokio::task::spawn_blocking(move || {
        let status = daemon.wait();
        (status, daemon)
    })
    .await
    .expect("join");
    for sender in senders {
        sender.await.expect("sender");
    }
    let (status, daemon) = status;
    assert!(status.success(), "sightline exited with {status:?}");
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let stored = stored_bodies(&daemon.stored());
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged requests were not stored: {missing:?}",
        missing.len()
    );
    assert!(acknowledged.len() >= 100);
}

#[test]
fn sigterm_on_an_idle_daemon_exits_0() {
    let daemon = Daemon::start();
    assert!(daemon.stop().success());
}
