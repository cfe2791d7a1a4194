//! Overload: numbered records sent over HTTP and gRPC at three times what the daemon absorbs. First a closed
//! loop of senders measures what the daemon absorbs on this machine; then requests are offered open-loop (each
//! on its own schedule, not waiting for the previous answer, as many independent exporters do) at three times
//! that rate. The daemon refuses the excess with retry hints (429/503 + Retry-After, UNAVAILABLE + RetryInfo),
//! its peak RSS stays under `memory_limit`, and every acknowledged request's records are stored exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
use prost::Message;
use prost::bytes::{Buf, BufMut};
use serde_json::json;
use tokio::sync::Mutex;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::payloads::{log_record, logs_request};
use crate::support::Daemon;

const MEMORY_LIMIT_MIB: u64 = 256;
/// Records per request: large batches, about 0.6 MiB encoded.
const BATCH: usize = 4_000;
/// Closed-loop senders per transport while measuring what the daemon absorbs: enough to keep it saturated.
const SENDERS_PER_TRANSPORT: usize = 8;
const MEASURE: Duration = Duration::from_secs(5);
const OVERLOAD: Duration = Duration::from_secs(10);
/// The offered load, as a multiple of what the daemon absorbed while saturated.
const OVERLOAD_FACTOR: f64 = 3.0;
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

/// How the daemon answered one request.
#[derive(Debug)]
enum Answer {
    Acknowledged,
    /// Refused with a retry hint.
    Refused,
    /// Anything else, which fails the test.
    Other(String),
}

/// Both transports' clients; cheap to clone, clones share connections.
#[derive(Clone)]
struct Clients {
    template: Arc<Template>,
    http: reqwest::Client,
    http_url: String,
    grpc: tonic::client::Grpc<Channel>,
}

impl Clients {
    async fn send(mut self, transport: Transport, n: u64) -> Answer {
        let encoded = self.template.encode(n);
        match transport {
            Transport::Http => {
                let sent = self
                    .http
                    .post(&self.http_url)
                    .header("content-type", "application/x-protobuf")
                    .body(encoded)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 200 => Answer::Acknowledged,
                    Ok(response)
                        if matches!(response.status().as_u16(), 429 | 503)
                            && response.headers().contains_key("retry-after") =>
                    {
                        Answer::Refused
                    }
                    Ok(response) => Answer::Other(format!("http {}", response.status())),
                    Err(error) => Answer::Other(format!("http error {error}")),
                }
            }
            Transport::Grpc => {
                self.grpc.ready().await.expect("grpc channel ready");
                let path = PathAndQuery::from_static(
                    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                );
                match self.grpc.unary(tonic::Request::new(encoded), path, PreEncoded).await {
                    Ok(_) => Answer::Acknowledged,
                    Err(status)
                        if status.code() == tonic::Code::Unavailable
                            && contains(
                                status.details(),
                                b"type.googleapis.com/google.rpc.RetryInfo",
                            ) =>
                    {
                        Answer::Refused
                    }
                    Err(status) => {
                        Answer::Other(format!("grpc {:?}: {}", status.code(), status.message()))
                    }
                }
            }
        }
    }
}

/// A gRPC codec that sends an already encoded export request and ignores the response's content, so that the
/// test's own cost per request is a copy on both transports and the offered load is the daemon's problem.
#[derive(Debug, Clone, Copy)]
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = PreEncoded;
    type Decoder = PreEncoded;

    fn encoder(&mut self) -> PreEncoded {
        PreEncoded
    }

    fn decoder(&mut self) -> PreEncoded {
        PreEncoded
    }
}

impl Encoder for PreEncoded {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Transport {
    Http,
    Grpc,
}

#[derive(Debug, Default)]
struct Tally {
    acknowledged: Vec<u64>,
    refused: BTreeMap<Transport, u64>,
    /// Anything else (a test failure): what happened, by kind.
    other: BTreeMap<String, u64>,
}

impl Tally {
    fn count(&mut self, transport: Transport, n: u64, answer: Answer) {
        match answer {
            Answer::Acknowledged => self.acknowledged.push(n),
            Answer::Refused => *self.refused.entry(transport).or_default() += 1,
            Answer::Other(what) => *self.other.entry(what).or_default() += 1,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Closed loop: each sender sends its next request when the previous one is answered, as fast as the daemon
/// answers. Returns the records acknowledged per second.
async fn absorbed_records_per_second(
    clients: &Clients,
    next: &Arc<AtomicU64>,
    tally: &Arc<Mutex<Tally>>,
) -> f64 {
    let started = Instant::now();
    let until = started + MEASURE;
    let acknowledged_before = tally.lock().await.acknowledged.len();
    let mut senders = Vec::new();
    for transport in [Transport::Http, Transport::Grpc] {
        for _ in 0..SENDERS_PER_TRANSPORT {
            let (clients, next, tally) = (clients.clone(), Arc::clone(next), Arc::clone(tally));
            senders.push(tokio::spawn(async move {
                while Instant::now() < until {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let answer = clients.clone().send(transport, n).await;
                    let refused = matches!(answer, Answer::Refused);
                    tally.lock().await.count(transport, n, answer);
                    if refused {
                        // Far shorter than the hint: the point is to keep the daemon saturated.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }));
        }
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    let acknowledged = tally.lock().await.acknowledged.len() - acknowledged_before;
    (acknowledged * BATCH) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_with_retry_hints_within_the_memory_limit_and_loses_nothing() {
    let daemon = Daemon::start_with(json!({
        "memory_limit": format!("{MEMORY_LIMIT_MIB}MiB"),
        "storage": { "flush_age": "2s" },
    }));
    let clients = Clients {
        template: Arc::new(Template::new()),
        http: reqwest::Client::new(),
        http_url: daemon.http_url("/v1/logs"),
        grpc: tonic::client::Grpc::new(
            Channel::from_shared(daemon.grpc_url())
                .expect("grpc url")
                .connect()
                .await
                .expect("grpc connect"),
        ),
    };
    let next = Arc::new(AtomicU64::new(1));
    let tally = Arc::new(Mutex::new(Tally::default()));

    let absorbed_saturated = absorbed_records_per_second(&clients, &next, &tally).await;
    assert!(absorbed_saturated > 0.0, "the daemon must absorb some load: {:?}", tally.lock().await);

    // Open loop: one request every `interval`, alternating transports, whatever the answers. The rate aims
    // above the target factor because the daemon may absorb more once it is warm.
    let acknowledged_before = tally.lock().await.acknowledged.len();
    let aimed_rate = absorbed_saturated * (OVERLOAD_FACTOR + 1.0);
    let interval = Duration::from_secs_f64(BATCH as f64 / aimed_rate);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut in_flight = Vec::new();
    let mut offered = 0usize;
    while started.elapsed() < OVERLOAD {
        ticker.tick().await;
        let transport = if offered.is_multiple_of(2) { Transport::Http } else { Transport::Grpc };
        let (clients, n, tally) =
            (clients.clone(), next.fetch_add(1, Ordering::Relaxed), Arc::clone(&tally));
        in_flight.push(tokio::spawn(async move {
            let answer = clients.send(transport, n).await;
            tally.lock().await.count(transport, n, answer);
        }));
        offered += 1;
    }
    for request in in_flight {
        request.await.expect("request");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak_rss_mib = daemon.peak_rss_kib() / 1024;
    let tally = Arc::try_unwrap(tally).expect("senders are done").into_inner();
    let offered_rate = (offered * BATCH) as f64 / elapsed;
    let absorbed_overloaded =
        ((tally.acknowledged.len() - acknowledged_before) * BATCH) as f64 / elapsed;
    let absorbed = absorbed_saturated.max(absorbed_overloaded);
    eprintln!(
        "overload: absorbed {absorbed_saturated:.0} records/s in a closed loop, then {absorbed_overloaded:.0} \
         records/s while offered {offered_rate:.0} records/s ({:.1}× the larger); {} requests of {BATCH} \
         records acknowledged in all, refused {:?}, other {:?}, peak rss {peak_rss_mib} MiB (limit \
         {MEMORY_LIMIT_MIB} MiB)",
        offered_rate / absorbed,
        tally.acknowledged.len(),
        tally.refused,
        tally.other,
    );
    assert!(
        offered_rate >= OVERLOAD_FACTOR * absorbed,
        "the test offered only {offered_rate:.0} records/s, not {OVERLOAD_FACTOR}× the {absorbed:.0} the daemon absorbs"
    );
    assert!(tally.other.is_empty(), "answers other than ok or retry-later: {:?}", tally.other);
    for transport in [Transport::Http, Transport::Grpc] {
        assert!(
            tally.refused.get(&transport).is_some_and(|count| *count > 0),
            "the load must overload the daemon on {transport:?}: {:?}",
            tally.refused
        );
    }
    assert!(
        peak_rss_mib < MEMORY_LIMIT_MIB,
        "peak rss {peak_rss_mib} MiB is over the memory limit of {MEMORY_LIMIT_MIB} MiB"
    );
    // Every refusal is counted, whether the admission gate or the storage refused it.
    for (transport, name) in [(Transport::Http, "http"), (Transport::Grpc, "grpc")] {
        let mut counted = 0.0;
        for outcome in ["overloaded", "unavailable"] {
            counted += daemon
                .metric(&format!(
                    "sightline_otlp_requests_total{{signal=\"logs\",transport=\"{name}\",outcome=\"{outcome}\"}}"
                ))
                .await;
        }
        assert_eq!(
            counted as u64, tally.refused[&transport],
            "refusals counted on /metrics over {name}"
        );
    }

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
