//! Durability across crashes: records numbered 1…N are sent while the daemon is killed (SIGKILL) at random
//! moments and restarted; every acknowledged record is stored exactly once, and nothing else appears twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
use prost::Message;
use serde_json::json;
use sightline_storage::Table;

use crate::payloads::logs_request;
use crate::support::{Daemon, string_column};

const ROUNDS: usize = 20;

fn numbered(n: u64) -> Vec<u8> {
    let mut request = logs_request(1);
    request.resource_logs[0].scope_logs[0].log_records[0].body =
        Some(AnyValue { value: Some(Value::StringValue(format!("record {n}"))) });
    request.encode_to_vec()
}

/// Sends numbered records to `url` until one is refused; returns how many got a 200.
async fn send_until_refused(url: String, next: Arc<AtomicU64>, acknowledged: Arc<Mutex<Vec<u64>>>) {
    let client = reqwest::Client::new();
    // Bounded: a round sends at most this many requests per sender.
    for _ in 0..5_000 {
        let n = next.fetch_add(1, Ordering::SeqCst);
        let sent = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(numbered(n))
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == 200 => acknowledged.lock().expect("lock").push(n),
            _ => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_record_survives_repeated_sigkill_exactly_once() {
    // Small flush thresholds, so that crashes also land in the middle of flushes and WAL truncation.
    let mut daemon = Daemon::start_with(json!({ "storage": {
        "flush_age": "50ms", "flush_size": "16KiB", "wal_segment_size": "8KiB",
    }}));
    let next = Arc::new(AtomicU64::new(1));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    // A fixed seed keeps failures reproducible; the kill moments still vary with the machine's timing.
    let mut seed: u64 = 0x5eed_1e55;
    for _round in 0..ROUNDS {
        let senders: Vec<_> = (0..3)
            .map(|_| {
                tokio::spawn(send_until_refused(
                    daemon.http_url("/v1/logs"),
                    Arc::clone(&next),
                    Arc::clone(&acknowledged),
                ))
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(20 + seed % 200)).await;
        daemon =
            tokio::task::spawn_blocking(move || daemon.crash_and_restart()).await.expect("restart");
        for sender in senders {
            sender.await.expect("sender");
        }
    }
    // What SQL sees: each record once, every acknowledged one included.
    let (status, answer) = daemon.sql("SELECT count(*), count(DISTINCT body) FROM logs").await;
    assert_eq!(status, 200, "{answer}");
    let (rows, distinct) = (answer["rows"][0][0].as_u64(), answer["rows"][0][1].as_u64());
    assert_eq!(rows, distinct, "SELECT shows a record twice");
    let acknowledged_so_far = acknowledged.lock().expect("lock").len() as u64;
    assert!(
        rows.is_some_and(|rows| rows >= acknowledged_so_far),
        "{rows:?} < {acknowledged_so_far}"
    );
    let status = tokio::task::spawn_blocking(move || {
        let stored = daemon.stored();
        let store = sightline_storage::DataStore::open(&daemon.data_dir(), &daemon.files)
            .expect("open the data files");
        let files = sightline_storage::files::list(&store, Table::Logs).expect("list").len();
        assert!(files > 0, "the test must crash around flushes, not only around WAL appends");
        (daemon.stop(), stored)
    })
    .await
    .expect("stop");
    let (exit, stored) = status;
    assert!(exit.success());

    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    for body in string_column(&stored.table(Table::Logs), "body").into_iter().flatten() {
        let n =
            body.strip_prefix("record ").and_then(|n| n.parse().ok()).expect("a numbered record");
        *copies.entry(n).or_default() += 1;
    }
    let doubled: Vec<_> = copies.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "records stored more than once: {doubled:?}");
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let lost: Vec<_> = acknowledged.iter().filter(|n| !copies.contains_key(n)).collect();
    assert!(lost.is_empty(), "{} acknowledged records were lost: {lost:?}", lost.len());
    assert!(
        acknowledged.len() > ROUNDS * 10,
        "only {} records were acknowledged",
        acknowledged.len()
    );
}
