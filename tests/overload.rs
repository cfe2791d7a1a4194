//! Overload: many clients send large batches of numbered records over HTTP and gRPC as fast as they can, far
//! more than the daemon absorbs. The daemon refuses the excess with retry hints (429/503 + Retry-After,
//! UNAVAILABLE + RetryInfo), its peak RSS stays under `memory_limit`, and every acknowledged request's records
//! are stored exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
use prost::Message;
use serde_json::json;
use tokio::sync::Mutex;

use crate::payloads::{log_record, logs_request};
use crate::support::Daemon;

const MEMORY_LIMIT_MIB: u64 = 256;
/// Records per request: large batches, about 0.6 MiB encoded.
const BATCH: usize = 4_000;
const SENDERS_PER_TRANSPORT: usize = 8;
const LOAD: Duration = Duration::from_secs(12);
/// Every record body is `r<request number, 10 digits>-<index, 5 digits>`; the number is patched in place.
const PLACEHOLDER: &[u8] = b"r0000000000-";

/// One encoded request of `BATCH` records, and where its request number goes.
struct Template {
    encoded: Vec<u8>,
    number_offsets: Vec<usize>,
}

impl Template {
    fn new() -> Template {
        let mut request = logs_request(1);
        let records = &mut request.resource_logs[0].scope_logs[0].log_records;
        records.clear();
        for i in 0..BATCH {
            let mut record = log_record(i as u64);
            record.body =
                Some(AnyValue { value: Some(Value::StringValue(format!("r0000000000-{i:05}"))) });
            records.push(record);
        }
        let encoded = request.encode_to_vec();
        let number_offsets: Vec<usize> = encoded
            .windows(PLACEHOLDER.len())
            .enumerate()
            .filter(|(_, window)| *window == PLACEHOLDER)
            .map(|(offset, _)| offset + 1)
            .collect();
        assert_eq!(number_offsets.len(), BATCH, "every body is found once in the encoding");
        Template { encoded, number_offsets }
    }

    /// The request numbered `n`, protobuf-encoded (same length as the template: the number is fixed width).
    fn encode(&self, n: u64) -> Vec<u8> {
        let mut encoded = self.encoded.clone();
        let digits = format!("{n:010}");
        for offset in &self.number_offsets {
            encoded[*offset..*offset + 10].copy_from_slice(digits.as_bytes());
        }
        encoded
    }
}

#[derive(Debug, Default)]
struct Tally {
    acknowledged: Vec<u64>,
    /// Refusals that carried a retry hint, by transport.
    refused: BTreeMap<&'static str, u64>,
    /// Anything else (a test failure): what happened, by kind.
    other: BTreeMap<String, u64>,
}

async fn http_sender(
    daemon_url: String,
    template: Arc<Template>,
    next: Arc<AtomicU64>,
    tally: Arc<Mutex<Tally>>,
    until: Instant,
) {
    let client = reqwest::Client::new();
    while Instant::now() < until {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let sent = client
            .post(&daemon_url)
            .header("content-type", "application/x-protobuf")
            .body(template.encode(n))
            .send()
            .await;
        let mut tally = tally.lock().await;
        match sent {
            Ok(response) if response.status() == 200 => tally.acknowledged.push(n),
            Ok(response)
                if matches!(response.status().as_u16(), 429 | 503)
                    && response.headers().contains_key("retry-after") =>
            {
                *tally.refused.entry("http").or_default() += 1;
                drop(tally);
                // Far shorter than the hint: the point is to keep the daemon overloaded.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(response) => {
                *tally.other.entry(format!("http {}", response.status())).or_default() += 1
            }
            Err(error) => *tally.other.entry(format!("http error {error}")).or_default() += 1,
        }
    }
}

async fn grpc_sender(
    daemon_url: String,
    template: Arc<Template>,
    next: Arc<AtomicU64>,
    tally: Arc<Mutex<Tally>>,
    until: Instant,
) {
    let mut client = LogsServiceClient::connect(daemon_url).await.expect("grpc connect");
    while Instant::now() < until {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let request = ExportLogsServiceRequest::decode(&template.encode(n)[..]).expect("decode");
        let sent = client.export(request).await;
        let mut tally = tally.lock().await;
        match sent {
            Ok(_) => tally.acknowledged.push(n),
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    && contains(status.details(), b"type.googleapis.com/google.rpc.RetryInfo") =>
            {
                *tally.refused.entry("grpc").or_default() += 1;
                drop(tally);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => {
                *tally
                    .other
                    .entry(format!("grpc {:?}: {}", status.code(), status.message()))
                    .or_default() += 1;
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_with_retry_hints_within_the_memory_limit_and_loses_nothing() {
    let daemon = Daemon::start_with(json!({
        "memory_limit": format!("{MEMORY_LIMIT_MIB}MiB"),
        "storage": { "flush_age": "2s" },
    }));
    let template = Arc::new(Template::new());
    let next = Arc::new(AtomicU64::new(1));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let until = Instant::now() + LOAD;
    let mut senders = Vec::new();
    for _ in 0..SENDERS_PER_TRANSPORT {
        senders.push(tokio::spawn(http_sender(
            daemon.http_url("/v1/logs"),
            Arc::clone(&template),
            Arc::clone(&next),
            Arc::clone(&tally),
            until,
        )));
        senders.push(tokio::spawn(grpc_sender(
            daemon.grpc_url(),
            Arc::clone(&template),
            Arc::clone(&next),
            Arc::clone(&tally),
            until,
        )));
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    let peak_rss_mib = daemon.peak_rss_kib() / 1024;
    let tally = Arc::try_unwrap(tally).expect("senders are done").into_inner();
    eprintln!(
        "overload: {} requests of {BATCH} records acknowledged, refused {:?}, other {:?}, peak rss {peak_rss_mib} MiB \
         (limit {MEMORY_LIMIT_MIB} MiB)",
        tally.acknowledged.len(),
        tally.refused,
        tally.other,
    );
    assert!(tally.other.is_empty(), "answers other than ok or retry-later: {:?}", tally.other);
    for transport in ["http", "grpc"] {
        assert!(
            tally.refused.get(transport).is_some_and(|count| *count > 0),
            "the load must overload the daemon on {transport}: {:?}",
            tally.refused
        );
    }
    assert!(!tally.acknowledged.is_empty(), "the daemon must keep accepting some requests");
    assert!(
        peak_rss_mib < MEMORY_LIMIT_MIB,
        "peak rss {peak_rss_mib} MiB is over the memory limit of {MEMORY_LIMIT_MIB} MiB"
    );

    // Every acknowledged request has all its records, once; refused ones have none.
    let (status, answer) = daemon
        .sql(
            "SELECT substr(body, 2, 10) AS request, count(*) AS records FROM logs GROUP BY request",
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_ne!(answer["truncated"], true, "every request must be listed");
    let stored: BTreeMap<u64, u64> = answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let request = row[0].as_str().and_then(|n| n.parse().ok()).expect("request number");
            (request, row[1].as_u64().expect("count"))
        })
        .collect();
    let wrong: Vec<_> = tally
        .acknowledged
        .iter()
        .filter(|n| stored.get(n) != Some(&(BATCH as u64)))
        .map(|n| (n, stored.get(n)))
        .collect();
    assert!(wrong.is_empty(), "acknowledged requests stored incompletely or twice: {wrong:?}");
    let unacknowledged_but_stored = stored.len() - tally.acknowledged.len();
    assert_eq!(unacknowledged_but_stored, 0, "refused requests must not be stored");
}
