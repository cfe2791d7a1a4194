//! Parquet files in an S3-compatible bucket (a real moto server, see `sightline_storage::test_s3`): ingest over
//! OTLP, flush into the bucket, query with SQL, and exactly-once across a SIGKILL, with the WAL kept local.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value as OtlpValue};
use prost::Message;
use serde_json::json;
use sightline_storage::{FileLocation, S3Options, Table};

use crate::payloads::logs_request;
use crate::support::{Daemon, string_column};

async fn send(daemon: &Daemon, tag: &str, records: usize) {
    let mut request = logs_request(records);
    for record in &mut request.resource_logs[0].scope_logs[0].log_records {
        record.body = Some(AnyValue { value: Some(OtlpValue::StringValue(tag.to_owned())) });
    }
    let response = reqwest::Client::new()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
}

/// The bucket's keys, listed through the S3 API itself (not through sightline).
async fn bucket_keys(s3: &S3Options) -> Vec<String> {
    let bucket = AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_region(s3.region.clone().expect("region"))
        .with_endpoint(s3.endpoint.clone().expect("endpoint"))
        .with_access_key_id(s3.access_key_id.clone().expect("key"))
        .with_secret_access_key(s3.secret_access_key.clone().expect("secret"))
        .with_allow_http(true)
        .build()
        .expect("s3 client");
    let objects: Vec<_> = bucket.list(None).try_collect().await.expect("list the bucket");
    let mut keys: Vec<String> = objects.into_iter().map(|o| o.location.to_string()).collect();
    keys.sort();
    keys
}

/// Waits until the bucket holds at least `count` Parquet objects of `logs`.
async fn await_logs_files(s3: &S3Options, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let keys: Vec<String> = bucket_keys(s3)
            .await
            .into_iter()
            .filter(|key| key.starts_with("node-a/logs/") && key.ends_with(".parquet"))
            .collect();
        if keys.len() >= count {
            return keys;
        }
        assert!(Instant::now() < deadline, "no flush reached the bucket within 30 s: {keys:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn parquet_files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .map(|entry| entry.expect("entry").path())
        .map(|path| {
            if path.is_dir() {
                parquet_files_under(&path)
            } else {
                usize::from(path.extension().is_some_and(|e| e == "parquet"))
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_flushed_to_s3_are_queried_and_survive_a_sigkill_exactly_once() {
    let daemon = Daemon::start_in_bucket("node-a", json!({ "storage": { "flush_age": "100ms" } }));
    let FileLocation::S3(s3) = daemon.files.clone() else { panic!("the daemon uses a bucket") };
    send(&daemon, "first", 5).await;
    let keys = await_logs_files(&s3, 1).await;
    assert!(
        keys.iter().all(|key| key.starts_with("node-a/logs/date=") && key.contains("/hour=")),
        "files are partitioned under the node's prefix: {keys:?}"
    );
    assert_eq!(parquet_files_under(&daemon.data_dir()), 0, "no Parquet file is kept locally");
    assert!(daemon.data_dir().join("wal").is_dir(), "the wal stays in the data directory");
    let count = "SELECT count(*) FROM logs WHERE body = 'first'";
    assert_eq!(daemon.sql_value(count).await, json!(5));

    // Rows acknowledged but maybe not yet flushed when the process dies come back from the local WAL; the
    // flushed ones are read from the bucket and not replayed again.
    send(&daemon, "second", 3).await;
    let daemon = daemon.crash_and_restart();
    assert_eq!(daemon.sql_value(count).await, json!(5));
    assert_eq!(daemon.sql_value("SELECT count(*) FROM logs WHERE body = 'second'").await, json!(3));
    let stored = daemon.stored().table(Table::Logs);
    let mut bodies: Vec<String> =
        string_column(&stored, "body").into_iter().map(|b| b.expect("body")).collect();
    bodies.sort();
    assert_eq!(bodies, [vec!["first"; 5], vec!["second"; 3]].concat(), "each row exactly once");
}

#[test]
fn a_missing_bucket_stops_the_start_with_an_error_naming_it() {
    let s3 = sightline_storage::test_s3::fresh_bucket();
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = json!({
        "data_dir": dir.path().join("data"),
        "otlp": { "grpc": { "listen": "127.0.0.1:0" }, "http": { "listen": "127.0.0.1:0" } },
        "http": { "listen": "127.0.0.1:0" },
        "storage": { "object_store": { "s3": {
            "bucket": "no-such-bucket",
            "endpoint": s3.endpoint,
            "access_key_id": s3.access_key_id,
            "secret_access_key": s3.secret_access_key,
            "allow_http": true,
        }}},
    });
    let path = dir.path().join("sightline.yaml");
    std::fs::write(&path, config.to_string()).expect("write config");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("SIGHTLINE_DATA_DIR")
        .output()
        .expect("run sightline");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let endpoint = s3.endpoint.expect("endpoint");
    assert!(
        stderr.contains("cannot reach bucket s3://no-such-bucket at ")
            && stderr.contains(&endpoint),
        "{stderr}"
    );
}
