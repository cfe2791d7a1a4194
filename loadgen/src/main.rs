//! `sightline-loadgen`: sends realistic OTLP traffic to a receiver and reports what came back.
//!
//! Before the run it builds a pool of distinct export requests (logs, spans or metric points over
//! five services; see [`payload`]) and encodes them for the chosen protocol, so the run itself
//! mostly sends bytes: each send only moves the request's timestamps to the time of sending
//! ([`timestamps`]), as an exporter's would be. Then `--concurrency` workers send requests for `--duration`:
//!
//! - closed loop (`--rate 0`, the default): each worker sends its next request as soon as the
//!   previous one is acknowledged, which finds the target's saturation throughput;
//! - open loop (`--rate N`): workers share a token bucket of N requests/s ([`rate`]), which
//!   measures latency at a given load; tokens no worker was free to send are reported as missed.
//!
//! Each request's latency (send → response), status and acknowledged items are recorded
//! ([`report`]); a line is printed to stderr every 5 s and a final report to stdout (`--json`: one
//! JSON object).

mod client;
mod json;
mod payload;
mod rate;
mod report;
mod timestamps;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use crate::client::{Outcome, Prepared, Protocol, Sender};
use crate::payload::{MetricKind, Signal};
use crate::rate::TokenBucket;
use crate::report::Recorder;

/// Sends OTLP logs, spans or metrics to a receiver and reports throughput, acknowledgement latency
/// and errors.
#[derive(Debug, Parser)]
#[command(name = "sightline-loadgen", version)]
struct Args {
    /// Receiver URL; default http://127.0.0.1:4318, or http://127.0.0.1:4317 for gRPC.
    #[arg(long)]
    target: Option<String>,
    #[arg(long, value_enum, default_value = "http-protobuf")]
    protocol: Protocol,
    #[arg(long, value_enum, default_value = "logs")]
    signal: Signal,
    /// Items (log records, spans, data points) per request.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Requests in flight at most (one per worker).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Total requests per second; 0 sends each worker's next request as soon as the last one is
    /// acknowledged.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// How long to send: 30s, 500ms, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Gzip request bodies (gRPC: gzip message compression).
    #[arg(long)]
    gzip: bool,
    /// Ingest token, sent as `Authorization: Bearer <token>`.
    #[arg(long)]
    token: Option<String>,
    /// Payload shape; only `default` exists (see the crate's README).
    #[arg(long, default_value = "default")]
    shape: String,
    /// The kinds of metric points a metrics request holds, in turn (comma-separated); all three by
    /// default.
    #[arg(long, value_enum, value_delimiter = ',')]
    metric_kinds: Vec<MetricKind>,
    /// Distinct requests built before the run and sent in turn.
    #[arg(long, default_value_t = 64)]
    pool: usize,
    /// After a refusal that advises a retry, a worker waits before its next request, as an OTLP exporter
    /// does: for the receiver's `Retry-After`, or 1 s when it gives none (gRPC's RetryInfo is not read).
    /// Without it a closed loop sends again at once, and measures how fast the receiver refuses.
    #[arg(long)]
    backoff: bool,
    /// Print the final report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// A duration such as `30s`, `500ms`, `2m`, `1h`; a bare number is seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration (use e.g. 30s, 500ms)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("{text:?} has an unknown unit (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.shape != "default" {
        bail!("shape {:?} does not exist (the only one is \"default\")", args.shape);
    }
    if !args.metric_kinds.is_empty() && args.signal != Signal::Metrics {
        bail!("--metric-kinds is for --signal metrics only");
    }
    if args.batch == 0 || args.concurrency == 0 || args.pool == 0 {
        bail!("--batch, --concurrency and --pool must be at least 1");
    }
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a number ≥ 0");
    }
    let target = args.target.clone().unwrap_or_else(|| match args.protocol {
        Protocol::Grpc => "http://127.0.0.1:4317".to_string(),
        Protocol::HttpProtobuf | Protocol::HttpJson => "http://127.0.0.1:4318".to_string(),
    });

    let built = Instant::now();
    let base = payload::recent_unix_nano();
    // The same pool one nanosecond later shows where each request's timestamps are.
    let one_later = payload::pool(args.signal, &args.metric_kinds, args.batch, args.pool, base + 1);
    let pool: Vec<Prepared> =
        payload::pool(args.signal, &args.metric_kinds, args.batch, args.pool, base)
            .iter()
            .zip(&one_later)
            .map(|(request, later)| Prepared::new(request, later, args.protocol, args.gzip))
            .collect::<anyhow::Result<_>>()?;
    let pool = Arc::new(pool);
    let mean_bytes = pool.iter().map(|p| p.bytes).sum::<u64>() / pool.len() as u64;
    eprintln!(
        "sightline-loadgen: {} {:?} requests of {} items ({} bytes each on average) built in {:.1?}; \
         sending to {target} over {:?} for {:?}, concurrency {}, {}",
        pool.len(),
        args.signal,
        args.batch,
        mean_bytes,
        built.elapsed(),
        args.protocol,
        args.duration,
        args.concurrency,
        if args.rate > 0.0 { format!("{} requests/s", args.rate) } else { "closed loop".into() },
    );

    let http_client = client::http_client();
    let mut senders = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let sender = Sender::connect(
            &target,
            args.protocol,
            args.signal,
            args.gzip,
            args.token.as_deref(),
            &http_client,
        )
        .await?;
        senders.push(sender);
    }

    let start = Instant::now();
    let deadline = start + args.duration;
    let bucket = (args.rate > 0.0).then(|| {
        let burst = u32::try_from(args.concurrency).unwrap_or(u32::MAX);
        Arc::new(Mutex::new(TokenBucket::new(args.rate, burst, start)))
    });
    let interval = Arc::new(Mutex::new(Recorder::default()));
    let mut workers = tokio::task::JoinSet::new();
    for (index, sender) in senders.into_iter().enumerate() {
        workers.spawn(worker(
            index,
            args.concurrency,
            sender,
            Arc::clone(&pool),
            Arc::clone(&interval),
            Pacing { bucket: bucket.clone(), backoff: args.backoff, deadline },
        ));
    }

    // Every 5 s: print the interval's figures and fold them into the run's.
    let mut total = Recorder::default();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::from_std(start + Duration::from_secs(5)),
        Duration::from_secs(5),
    );
    let mut last = start;
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(result) => result.context("a worker panicked")?,
                None => break,
            },
            _ = ticker.tick() => {
                let now = Instant::now();
                let window = std::mem::take(&mut *lock(&interval));
                total.merge(window.clone());
                eprintln!("[{:>4.0}s] {}", now.duration_since(start).as_secs_f64(),
                    window.summarize(now.duration_since(last)));
                last = now;
            }
        }
    }
    let elapsed = start.elapsed();
    total.merge(std::mem::take(&mut *lock(&interval)));
    let missed = bucket.as_ref().map(|b| lock(b).missed());
    let summary = total.summarize(elapsed);

    let mut stdout = std::io::stdout().lock();
    if args.json {
        let mut value = summary.to_json();
        if let serde_json::Value::Object(fields) = &mut value {
            fields.insert("signal".into(), format!("{:?}", args.signal).to_lowercase().into());
            fields.insert("protocol".into(), format!("{:?}", args.protocol).into());
            fields.insert("batch".into(), args.batch.into());
            fields.insert("concurrency".into(), args.concurrency.into());
            fields.insert("target_rate".into(), args.rate.into());
            fields.insert("missed_tokens".into(), missed.into());
        }
        writeln!(stdout, "{value}")?;
    } else {
        writeln!(stdout, "total over {elapsed:.1?}: {summary}")?;
        writeln!(
            stdout,
            "requests {} (accepted {}), items acknowledged {}, bytes sent {}",
            summary.requests, summary.accepted_requests, summary.items, summary.bytes
        )?;
    }
    if let Some(missed) = missed
        && missed > 0
    {
        eprintln!(
            "sightline-loadgen: the target could not keep up with {} requests/s: {missed} send \
             slots were missed (achieved {:.1} requests/s)",
            args.rate, summary.requests_per_s
        );
    }
    Ok(())
}

/// When a worker sends: the open loop's token bucket (none: closed loop), whether it waits after a refusal
/// (`--backoff`), and when it stops.
struct Pacing {
    bucket: Option<Arc<Mutex<TokenBucket>>>,
    backoff: bool,
    deadline: Instant,
}

/// Sends requests until `deadline`: request `index`, `index + stride`, … of the pool, in turn.
async fn worker(
    index: usize,
    stride: usize,
    mut sender: Sender,
    pool: Arc<Vec<Prepared>>,
    recorder: Arc<Mutex<Recorder>>,
    pacing: Pacing,
) {
    let Pacing { bucket, backoff, deadline } = pacing;
    let mut next = index;
    loop {
        if let Some(bucket) = &bucket {
            let slot = lock(bucket).reserve(Instant::now());
            if slot.at >= deadline {
                break;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(slot.at)).await;
        }
        if Instant::now() >= deadline {
            break;
        }
        let prepared = &pool[next % pool.len()];
        next = next.wrapping_add(stride);
        let sent = Instant::now();
        let outcome = sender.send(prepared).await;
        let latency = sent.elapsed();
        let wait = match outcome {
            Outcome::Accepted { rejected } => {
                lock(&recorder).accepted(latency, prepared.items, rejected, prepared.bytes);
                None
            }
            Outcome::Failed { status, retry_advised, retry_after } => {
                lock(&recorder).failed(latency, status, retry_advised);
                (backoff && retry_advised).then(|| retry_after.unwrap_or(Duration::from_secs(1)))
            }
        };
        if let Some(wait) = wait {
            let until = (Instant::now() + wait).min(deadline);
            tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
        }
    }
}

/// Locks a mutex; a worker that panicked while holding it left only counters behind, still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_usual_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("20"), Ok(Duration::from_secs(20)));
        assert!(parse_duration("20 fortnights").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn the_command_line_of_the_readme_parses() {
        let args = Args::try_parse_from([
            "sightline-loadgen",
            "--target",
            "http://127.0.0.1:4318",
            "--protocol",
            "grpc",
            "--signal",
            "traces",
            "--rate",
            "100",
            "--duration",
            "20s",
            "--gzip",
        ])
        .expect("parses");
        assert_eq!(args.protocol, Protocol::Grpc);
        assert_eq!(args.signal, Signal::Traces);
        assert_eq!(args.batch, 512);
        assert_eq!(args.concurrency, 8);
        assert_eq!(args.duration, Duration::from_secs(20));
    }
}
