//! A full filesystem: intake refuses with a retryable answer (never a 500), nothing half-written stays behind,
//! and intake resumes by itself once space is freed, with every acknowledged record stored exactly once.
//!
//! The data directory lives on a small filesystem that `scripts/test` mounts (a 64 MiB tmpfs) and names in
//! `SIGHTLINE_TEST_SMALL_FS`; the test fills it with a ballast file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::json;

use crate::payloads::logs_request;
use crate::support::Daemon;

/// The small filesystem `scripts/test` mounted for this test.
fn small_fs() -> PathBuf {
    let Some(path) = std::env::var_os("SIGHTLINE_TEST_SMALL_FS") else {
        panic!(
            "SIGHTLINE_TEST_SMALL_FS is not set: run the suite through scripts/test (as root, it mounts a \
             small tmpfs), or mount one yourself (mount -t tmpfs -o size=64m none DIR) and export \
             SIGHTLINE_TEST_SMALL_FS=DIR"
        )
    };
    PathBuf::from(path)
}

fn numbered(n: u64) -> opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
    let mut request = logs_request(1);
    let record: &mut LogRecord = &mut request.resource_logs[0].scope_logs[0].log_records[0];
    record.body = Some(AnyValue { value: Some(Value::StringValue(format!("record {n}"))) });
    request
}

/// What one export got: acknowledged, refused with a retry hint, or something else (a test failure).
#[derive(Debug, PartialEq)]
enum Answer {
    Acknowledged,
    RetryLater,
    Other(String),
}

async fn send_http(daemon: &Daemon, n: u64) -> Answer {
    let response = reqwest::Client::new()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(numbered(n).encode_to_vec())
        .send()
        .await
        .expect("http request");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").is_some();
    match status {
        200 => Answer::Acknowledged,
        429 | 503 if retry_after => Answer::RetryLater,
        _ => Answer::Other(format!("http {status}, retry-after present: {retry_after}")),
    }
}

async fn send_grpc(daemon: &Daemon, n: u64) -> Answer {
    let mut client = LogsServiceClient::connect(daemon.grpc_url()).await.expect("grpc connect");
    match client.export(numbered(n)).await {
        Ok(_) => Answer::Acknowledged,
        Err(status) => {
            let retry_info =
                contains(status.details(), b"type.googleapis.com/google.rpc.RetryInfo");
            match status.code() {
                tonic::Code::Unavailable | tonic::Code::ResourceExhausted if retry_info => {
                    Answer::RetryLater
                }
                code => Answer::Other(format!("grpc {code:?}, RetryInfo present: {retry_info}")),
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Writes `path` until the filesystem refuses more; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("create ballast");
    let chunk = vec![0x5a_u8; 1 << 20];
    let mut written = 0;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("writing ballast {}: {e}", path.display()),
        }
    }
    written
}

/// Files under `dir` whose name marks an unfinished write.
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list data directory").map_while(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporary_files(&path));
        } else if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            found.push(path);
        }
    }
    found
}

/// Every `record N` body SQL returns, with how often it appears.
async fn stored_copies(daemon: &Daemon) -> BTreeMap<u64, usize> {
    let (status, answer) = daemon.sql("SELECT body FROM logs").await;
    assert_eq!(status, 200, "{answer}");
    assert_ne!(answer["truncated"], true, "the test must see every row");
    let mut copies = BTreeMap::new();
    for row in answer["rows"].as_array().expect("rows") {
        let body = row[0].as_str().expect("a string body");
        let n = body.strip_prefix("record ").and_then(|n| n.parse().ok()).expect("numbered");
        *copies.entry(n).or_default() += 1;
    }
    copies
}

fn assert_exactly_once(copies: &BTreeMap<u64, usize>, acknowledged: &[u64]) {
    let doubled: Vec<_> = copies.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "records stored more than once: {doubled:?}");
    let lost: Vec<_> = acknowledged.iter().filter(|n| !copies.contains_key(n)).collect();
    assert!(lost.is_empty(), "acknowledged records are missing: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_intake_retryably_and_intake_resumes_when_space_is_freed() {
    let fs = tempfile::tempdir_in(small_fs()).expect("a directory on the small filesystem");
    // A short flush age, so that flushes are attempted (and fail) while the disk is full.
    let mut daemon = Daemon::start_with(json!({
        "data_dir": fs.path().join("data"),
        "storage": { "flush_age": "500ms", "wal_segment_size": "64KiB" },
    }));
    let mut next = 1..;
    let mut acknowledged = Vec::new();
    for _ in 0..5 {
        for grpc in [false, true] {
            let n = next.next().expect("endless");
            let answer =
                if grpc { send_grpc(&daemon, n).await } else { send_http(&daemon, n).await };
            assert_eq!(answer, Answer::Acknowledged, "record {n} before the disk filled up");
            acknowledged.push(n);
        }
    }

    let ballast = fs.path().join("ballast");
    let ballast_bytes = fill(&ballast);
    assert!(ballast_bytes > 0, "the ballast took no space: is the filesystem already full?");
    // Keep offering records while the disk stays full, across several failed flush attempts.
    let full_until = Instant::now() + Duration::from_secs(2);
    let mut refused = BTreeMap::from([("http", 0), ("grpc", 0)]);
    while Instant::now() < full_until {
        for (transport, grpc) in [("http", false), ("grpc", true)] {
            let n = next.next().expect("endless");
            let answer =
                if grpc { send_grpc(&daemon, n).await } else { send_http(&daemon, n).await };
            match answer {
                Answer::Acknowledged => acknowledged.push(n),
                Answer::RetryLater => *refused.get_mut(transport).expect("known") += 1,
                Answer::Other(what) => panic!("record {n} on a full disk: {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused.values().all(|count| *count > 0),
        "every transport must be refused: {refused:?}"
    );
    let left_behind = temporary_files(&daemon.data_dir());
    assert!(left_behind.is_empty(), "failed writes left temporary files: {left_behind:?}");

    std::fs::remove_file(&ballast).expect("remove ballast");
    // No restart: the same daemon takes records again, at the latest after its retry hints.
    for _ in 0..5 {
        for grpc in [false, true] {
            let n = next.next().expect("endless");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let answer =
                    if grpc { send_grpc(&daemon, n).await } else { send_http(&daemon, n).await };
                match answer {
                    Answer::Acknowledged => break,
                    Answer::RetryLater if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    other => panic!("record {n} after space was freed: {other:?}"),
                }
            }
            acknowledged.push(n);
        }
    }

    assert_exactly_once(&stored_copies(&daemon).await, &acknowledged);
    daemon =
        tokio::task::spawn_blocking(move || daemon.crash_and_restart()).await.expect("restart");
    assert_exactly_once(&stored_copies(&daemon).await, &acknowledged);
    eprintln!(
        "full disk: {} acknowledged, refused {refused:?}, ballast {ballast_bytes} bytes",
        acknowledged.len()
    );
}
