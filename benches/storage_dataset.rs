//! Stored size and query speed on a realistic dataset (issue 3's storage and query benchmarks).
//!
//! Builds a day of nginx-like access logs (ten million by default) and a day of metric samples as OTLP export
//! requests, converts them with the collector's own conversion, writes them through the storage engine (WAL,
//! buffer, flushes, compaction: the daemon's path minus the network), then prints:
//! - stored bytes per log record and per metric sample (Parquet files only; the WAL is empty after the flush);
//! - the median time, with warm caches, of the issue's two log queries through the daemon's SQL engine;
//! - the data directory, where `queries.json` holds the queries' text, so `scripts/bench-duckdb.py DIR` runs the
//!   same queries over the same files;
//! - the median time of PromQL over the stored metrics (issue 5): `rate()` summed by service over every series of
//!   one counter, and one evaluation of a set of alert rules of the rule pack's shapes.
//!
//! ```sh
//! cargo bench --bench storage_dataset -- [--logs 10000000] [--metric-series 1000] [--metric-minutes 1440] \
//!     [--rules 1000] [--log-bodies attribute_references|as_sent] [--dir DIR]
//! ```
//!
//! The generator is deterministic (fixed seed), so two runs store the same rows.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use arrow_array::temporal_conversions::timestamp_ns_to_datetime;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sightline_collector::convert::{logs_to_arrow, metrics_to_arrow};
use sightline_rules::group::{Group, Sources};
use sightline_rules::promql::{Engine, Labels, QueryError, Value as PromValue};
use sightline_rules::stored::{RecentMetrics, StoredMetrics};
use sightline_storage::engine::{Storage, StorageOptions};
use sightline_storage::wal::{Durability, WalOptions};
use sightline_storage::{
    BatchSink, Error, QueryEngine, QueryLimits, Table, TableBatch, TableSource,
};
use tokio_util::sync::CancellationToken;

const DAY_NS: i64 = 86_400_000_000_000;
const SERVICES: [&str; 5] = ["frontend", "checkout", "cart", "payments", "search"];
/// Log records per export request, as a batching exporter sends them.
const LOG_BATCH: usize = 2048;
/// Metric samples are taken every 15 s, as a periodic reader with that interval does.
const METRIC_INTERVAL_NS: i64 = 15_000_000_000;
/// Runs of each query after one warm-up run.
const QUERY_RUNS: usize = 9;

#[allow(clippy::print_stdout)] // a benchmark's report is its output
fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

struct Args {
    logs: usize,
    metric_series: usize,
    /// How far back the metric samples go.
    metric_minutes: i64,
    /// How many alert rules the rule evaluation measurement runs.
    rules: usize,
    /// How compacted logs files store bodies (`storage.log_bodies`).
    log_body_references: bool,
    dir: PathBuf,
}

impl Args {
    fn parse() -> anyhow::Result<Args> {
        let mut args = Args {
            logs: 10_000_000,
            metric_series: 1000,
            metric_minutes: 24 * 60,
            rules: 1000,
            log_body_references: true,
            dir: std::env::temp_dir().join("sightline-dataset"),
        };
        let mut given = std::env::args().skip(1);
        while let Some(flag) = given.next() {
            let mut value = || given.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--logs" => args.logs = value()?.parse()?,
                "--metric-series" => args.metric_series = value()?.parse()?,
                "--metric-minutes" => args.metric_minutes = value()?.parse()?,
                "--rules" => args.rules = value()?.parse()?,
                "--dir" => args.dir = value()?.into(),
                "--log-bodies" => {
                    args.log_body_references = match value()?.as_str() {
                        "attribute_references" => true,
                        "as_sent" => false,
                        other => {
                            bail!("--log-bodies {other}: expected attribute_references or as_sent")
                        }
                    }
                }
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                other => bail!(
                    "unknown argument {other}; expected --logs, --metric-series, --metric-minutes, --rules, \
                     --log-bodies, --dir"
                ),
            }
        }
        Ok(args)
    }
}

#[allow(clippy::print_stdout)]
async fn run(args: Args) -> anyhow::Result<()> {
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("clearing {}", args.dir.display()))?;
    }
    let options = StorageOptions {
        // The WAL is not what is measured here; its cost is in the load generator's figures.
        wal: WalOptions { durability: Durability::None, ..WalOptions::default() },
        log_body_references: args.log_body_references,
        ..StorageOptions::new(&args.dir)
    };
    let (storage, _) = Storage::open(options)?;
    let shutdown = CancellationToken::new();
    let flusher = tokio::spawn(storage.clone().run_flusher(shutdown.clone()));

    let end_ns = unix_now_ns();
    let started = Instant::now();
    let mut random = Random(0x5eed);
    let mut written = 0;
    while written < args.logs {
        let count = LOG_BATCH.min(args.logs - written);
        let request = access_logs(&mut random, written, count, args.logs, end_ns);
        let batch = logs_to_arrow(&request, end_ns)?.context("a request with records")?;
        write(&storage, vec![batch]).await?;
        written += count;
    }
    let log_load = started.elapsed();

    let started = Instant::now();
    let metric_span_ns = args.metric_minutes * 60_000_000_000;
    let samples =
        metric_samples(&storage, &mut random, args.metric_series, end_ns, metric_span_ns).await?;
    let metric_load = started.elapsed();

    storage.flush().await?;
    while storage.compact(unix_now_ns()).await? > 0 {}
    shutdown.cancel();
    flusher.await?;

    let logs_bytes = stored_bytes(&storage, Table::Logs);
    let metrics_bytes = stored_bytes(&storage, Table::Metrics);
    println!("data directory: {}", args.dir.display());
    println!(
        "logs: {} records loaded in {:.1} s; {} files, {} bytes = {:.2} bytes/record",
        args.logs,
        log_load.as_secs_f64(),
        logs_bytes.0,
        logs_bytes.1,
        logs_bytes.1 as f64 / args.logs as f64
    );
    println!(
        "metrics: {samples} samples loaded in {:.1} s; {} files, {} bytes = {:.2} bytes/sample",
        metric_load.as_secs_f64(),
        metrics_bytes.0,
        metrics_bytes.1,
        metrics_bytes.1 as f64 / samples as f64
    );

    let engine = QueryEngine::new(
        Arc::new(storage.clone()),
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&args.dir)?),
        QueryLimits { memory_bytes: 2 << 30, ..QueryLimits::default() },
    )?;
    let queries = queries(end_ns);
    let listed: Vec<_> =
        queries.iter().map(|(name, sql)| serde_json::json!({"name": name, "sql": sql})).collect();
    std::fs::write(args.dir.join("queries.json"), serde_json::to_string_pretty(&listed)?)?;
    for (name, sql) in queries {
        let (median, rows) = time_query(&engine, &sql).await?;
        println!("query {name}: median {:.1} ms over {QUERY_RUNS} runs, {rows} rows", ms(median));
    }
    promql(Arc::new(engine), end_ns, args.rules, args.metric_series).await
}

/// The issue's PromQL measurements over the stored metrics, evaluated at the last sample's time: the rate
/// query read through SQL and from the recent samples held in memory (as rules read them in the daemon), and
/// one evaluation of `rules` alert rules from the recent samples.
#[allow(clippy::print_stdout)]
async fn promql(
    engine: Arc<QueryEngine>,
    end_ns: i64,
    rules: usize,
    metric_series: usize,
) -> anyhow::Result<()> {
    let at_ms = (end_ns - METRIC_INTERVAL_NS) / 1_000_000;
    let query = "sum by (job) (rate(http_server_request_count_total[5m]))";
    let runtime = tokio::runtime::Handle::current();
    let rule_text = rule_pack_shapes(rules);
    tokio::task::spawn_blocking(move || {
        let promql = Engine::default();
        let stored = || StoredMetrics::new(Arc::clone(&engine), runtime.clone(), promql.max_samples);
        let recent = RecentMetrics::new(stored(), Duration::from_secs(30 * 60), 16 << 30);
        let started = Instant::now();
        recent.load(at_ms).map_err(|error| anyhow::anyhow!(error))?;
        let (series, samples, bytes) = recent.held();
        println!(
            "recent samples (30 minutes): {series} series, {samples} samples, {:.0} MiB, loaded in {:.1} s",
            bytes as f64 / (1u64 << 20) as f64,
            started.elapsed().as_secs_f64()
        );
        observe_cost(&recent, metric_series, end_ns)?;
        let expr = sightline_rules::promql::parse(query)?;
        let counters = sightline_rules::promql::parse("http_server_request_count_total")?;
        let series = match promql.instant(&recent, &counters, at_ms)? {
            PromValue::Vector(elements) => elements.len(),
            _ => 0,
        };
        let through_sql = median(|| promql.instant(&stored(), &expr, at_ms).map(drop))?;
        let from_memory = median(|| promql.instant(&recent, &expr, at_ms).map(drop))?;
        println!(
            "promql {query} over {series} series: median {:.1} ms through SQL, {:.1} ms from the recent samples \
             ({:.0}x), over {QUERY_RUNS} runs",
            ms(through_sql),
            ms(from_memory),
            through_sql.as_secs_f64() / from_memory.as_secs_f64()
        );
        let file = sightline_rules::file::parse_rule_file("bench.rules.yaml", &rule_text)
            .map_err(|errors| anyhow::anyhow!("{}", errors[0]))?;
        let mut group = Group::new("bench.rules.yaml", file.groups[0].clone())
            .map_err(|error| anyhow::anyhow!(error))?;
        let no_labels = Labels::default();
        let rules_median = median(|| {
            for rule in &mut group.rules {
                let sources = Sources {
                    engine: &promql,
                    series: &recent,
                    sql: None,
                    external_labels: &no_labels,
                    external_url: "",
                };
                rule.evaluate(at_ms, sources, 0);
            }
            Ok(())
        })?;
        println!(
            "promql {rules} alert rules of the rule pack's shapes, one evaluation from the recent samples: median \
             {:.1} ms over {QUERY_RUNS} runs = {:.1} % of one core at a 15 s interval",
            ms(rules_median),
            rules_median.as_secs_f64() / 15.0 * 100.0
        );
        Ok::<_, anyhow::Error>(())
    })
    .await?
}

/// What showing accepted batches to the recent samples adds to ingest: one more collection of every series,
/// converted as the collector converts it, then observed; the median of each over `QUERY_RUNS` runs.
#[allow(clippy::print_stdout)]
fn observe_cost(recent: &RecentMetrics, series: usize, end_ns: i64) -> anyhow::Result<()> {
    let mut random = Random(0x0b5e);
    let mut values: Vec<f64> = vec![0.0; series];
    let (mut convert, mut observe) = (Vec::new(), Vec::new());
    for run in 0..QUERY_RUNS as i64 {
        let time_ns = end_ns + run * METRIC_INTERVAL_NS;
        let started = Instant::now();
        let mut batches = Vec::new();
        for (s, service) in SERVICES.iter().enumerate() {
            let mine: Vec<usize> = (s..series).step_by(SERVICES.len()).collect();
            let request =
                metrics_request(service, &mine, &mut values, &mut random, end_ns - DAY_NS, time_ns);
            batches.extend(metrics_to_arrow(&request)?);
        }
        convert.push(started.elapsed());
        let started = Instant::now();
        recent.observe(&batches);
        observe.push(started.elapsed());
    }
    convert.sort();
    observe.sort();
    let (convert, observe) = (convert[QUERY_RUNS / 2], observe[QUERY_RUNS / 2]);
    println!(
        "ingest of one sample of each of {series} series: median {:.1} ms to convert from OTLP, {:.1} ms more to \
         show to the recent samples ({:.2} µs a sample)",
        ms(convert),
        ms(observe),
        observe.as_secs_f64() * 1e6 / series as f64
    );
    Ok(())
}

/// Runs `run` once to warm up, then `QUERY_RUNS` times; the median wall time.
fn median(mut run: impl FnMut() -> Result<(), QueryError>) -> anyhow::Result<Duration> {
    run()?;
    let mut times = Vec::with_capacity(QUERY_RUNS);
    for _ in 0..QUERY_RUNS {
        let started = Instant::now();
        run()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[QUERY_RUNS / 2])
}

/// `count` alert rules in one group, cycling through the rule pack's shapes (an error ratio of a counter, a
/// latency-like rate, a queue lag level and trend, a service gone quiet) over the generated metrics, each with
/// its own threshold so that no two rules are the same.
fn rule_pack_shapes(count: usize) -> String {
    let shapes = [
        "sum by (job) (rate(http_server_request_count_total{http_route=\"/api/orders\"}[5m])) / sum by (job) (rate(http_server_request_count_total[5m])) > THRESHOLD",
        "sum by (job, instance) (rate(http_server_request_duration_sum_seconds_total[5m])) > THRESHOLD",
        "max by (job) (messaging_queue_lag) > THRESHOLD",
        "deriv(messaging_queue_lag[10m]) > THRESHOLD",
        "sum by (job) (rate(messaging_process_count_total[5m])) < THRESHOLD",
    ];
    let mut text = String::from("groups:\n  - name: bench\n    rules:\n");
    for index in 0..count {
        let expr = shapes[index % shapes.len()].replace("THRESHOLD", &(1000 + index).to_string());
        text.push_str(&format!(
            "      - alert: Rule{index}\n        expr: '{expr}'\n        for: 5m\n"
        ));
    }
    text
}

/// The issue's two log queries. The hour is fixed by a literal rather than `now()` so that DuckDB can run the
/// very same text (the bench writes them to `queries.json` in the data directory for scripts/bench-duckdb.py).
fn queries(end_ns: i64) -> [(&'static str, String); 2] {
    let hour_ago = format_time(end_ns - DAY_NS / 24, "%Y-%m-%d %H:%M:%S%.3f");
    [
        (
            "errors_by_service_last_hour",
            format!(
                "SELECT service_name, count(*) AS errors FROM logs \
                 WHERE severity_number >= 17 AND timestamp > TIMESTAMP '{hour_ago}' \
                 GROUP BY service_name ORDER BY errors DESC"
            ),
        ),
        (
            "full_scan_group_by",
            "SELECT service_name, severity_text, count(*) AS records, avg(length(body)) AS body_length \
             FROM logs GROUP BY service_name, severity_text ORDER BY service_name, severity_text"
                .to_string(),
        ),
    ]
}

async fn time_query(engine: &QueryEngine, sql: &str) -> anyhow::Result<(Duration, usize)> {
    let rows = engine.sql(sql).await?.num_rows();
    let mut times = Vec::with_capacity(QUERY_RUNS);
    for _ in 0..QUERY_RUNS {
        let started = Instant::now();
        engine.sql(sql).await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[QUERY_RUNS / 2], rows))
}

/// Writes like the receivers do, waiting out backpressure while the flusher makes room.
async fn write(storage: &Storage, batches: Vec<TableBatch>) -> anyhow::Result<()> {
    loop {
        match storage.write(batches.clone()).await {
            Err(Error::Backpressure { .. }) => tokio::time::sleep(Duration::from_millis(20)).await,
            result => return Ok(result?),
        }
    }
}

/// Files and bytes of a table's Parquet files, as the engine lists them: files that compaction replaced are
/// left on disk a few seconds for queries still reading them, and are not counted.
fn stored_bytes(storage: &Storage, table: Table) -> (usize, u64) {
    let files = storage.snapshot(table).files;
    (files.len(), files.iter().map(|file| file.size_bytes).sum())
}

/// `count` access-log records, numbers `first..first + count` of `total` spread evenly over the day before
/// `end_ns`, one export request per service as a per-service log pipeline sends them.
fn access_logs(
    random: &mut Random,
    first: usize,
    count: usize,
    total: usize,
    end_ns: i64,
) -> ExportLogsServiceRequest {
    let step_ns = DAY_NS / total as i64;
    let mut per_service: Vec<Vec<LogRecord>> = vec![Vec::new(); SERVICES.len()];
    for n in first..first + count {
        // Access logs carry millisecond times; the collector stamps when it read the line, in nanoseconds.
        let time_ns = (end_ns - DAY_NS + n as i64 * step_ns) / 1_000_000 * 1_000_000;
        let observed_ns = time_ns + 200_000 + random.below(5_000_000) as i64;
        let service = random.below(SERVICES.len() as u64) as usize;
        per_service[service].push(access_log(random, time_ns, observed_ns));
    }
    ExportLogsServiceRequest {
        resource_logs: SERVICES
            .iter()
            .zip(per_service)
            .filter(|(_, records)| !records.is_empty())
            .map(|(service, log_records)| ResourceLogs {
                resource: Some(resource(service)),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "filelog".to_string(),
                        ..Default::default()
                    }),
                    log_records,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

const ROUTES: [(&str, &str, u64); 10] = [
    ("GET", "/", 18_000),
    ("GET", "/api/v1/products/{id}", 2_400),
    ("GET", "/api/v1/products", 24_000),
    ("GET", "/api/v1/cart/{id}", 1_100),
    ("POST", "/api/v1/cart/{id}/items", 300),
    ("POST", "/api/v1/checkout", 450),
    ("GET", "/api/v1/orders/{id}", 1_600),
    ("GET", "/static/app.{id}.js", 310_000),
    ("GET", "/healthz", 2),
    ("GET", "/api/v1/search", 8_000),
];
const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "kube-probe/1.31",
    "okhttp/4.12.0",
];
/// One record as an OpenTelemetry filelog receiver with an nginx regex parser produces it: the raw line as the
/// body, the parsed fields as attributes.
fn access_log(random: &mut Random, time_ns: i64, observed_ns: i64) -> LogRecord {
    // A few clients and routes make most of the traffic, as in real access logs.
    let client = random.skewed(5_000);
    let (method, route, typical_bytes) = ROUTES[random.skewed(ROUTES.len() as u64) as usize];
    let path = route.replace("{id}", &random.skewed(50_000).to_string());
    let status: i64 = match random.below(1000) {
        0..=9 => 500 + random.below(4) as i64,
        10..=39 => 404,
        40..=99 => 304,
        _ => 200,
    };
    let bytes = if status == 304 { 0 } else { typical_bytes + random.below(typical_bytes / 4 + 1) };
    let time = format_time(time_ns, "%d/%b/%Y:%H:%M:%S");
    let user_agent = USER_AGENTS[random.skewed(USER_AGENTS.len() as u64) as usize];
    let request_time = random.skewed(2_000) + 1;
    let address = format!("10.{}.{}.{}", client / 4096, client / 64 % 64, client % 64 + 2);
    let body = format!(
        "{address} - - [{time} +0000] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \
         \"{user_agent}\" {}.{:03}",
        request_time / 1000,
        request_time % 1000,
    );
    let (severity_number, severity_text) = match status {
        500.. => (17, "ERROR"),
        400.. => (13, "WARN"),
        _ => (9, "INFO"),
    };
    LogRecord {
        time_unix_nano: time_ns as u64,
        observed_time_unix_nano: observed_ns as u64,
        severity_number,
        severity_text: severity_text.to_string(),
        body: string(body),
        attributes: vec![
            kv("http.request.method", string(method)),
            kv("url.path", string(path)),
            kv("http.response.status_code", int(status)),
            kv("client.address", string(address)),
            kv("log.file.name", string("access.log")),
        ],
        ..Default::default()
    }
}

/// A day of samples of `series` time series (counters and gauges spread over the services), one export
/// request per service and collection, written through the engine. Returns the number of samples.
async fn metric_samples(
    storage: &Storage,
    random: &mut Random,
    series: usize,
    end_ns: i64,
    span_ns: i64,
) -> anyhow::Result<usize> {
    let start_ns = end_ns - span_ns;
    // Per series: its running counter value (counters) or its level (gauges).
    let mut values: Vec<f64> = (0..series).map(|s| (s % 97) as f64 * 10.0).collect();
    let mut samples = 0;
    let mut time_ns = start_ns;
    while time_ns < end_ns {
        let mut batches = Vec::new();
        for (s, service) in SERVICES.iter().enumerate() {
            let mine: Vec<usize> = (s..series).step_by(SERVICES.len()).collect();
            let request = metrics_request(service, &mine, &mut values, random, start_ns, time_ns);
            samples += mine.len();
            batches.extend(metrics_to_arrow(&request)?);
        }
        write(storage, batches).await?;
        time_ns += METRIC_INTERVAL_NS;
    }
    Ok(samples)
}

const METRIC_NAMES: [(&str, &str, bool); 8] = [
    ("http.server.request.count", "{request}", true),
    ("http.server.request.duration.sum", "s", true),
    ("messaging.process.count", "{message}", true),
    ("db.client.operation.count", "{operation}", true),
    ("process.memory.usage", "By", false),
    ("jvm.thread.count", "{thread}", false),
    ("messaging.queue.lag", "{message}", false),
    ("db.client.connection.count", "{connection}", false),
];

fn metrics_request(
    service: &str,
    series: &[usize],
    values: &mut [f64],
    random: &mut Random,
    start_ns: i64,
    time_ns: i64,
) -> ExportMetricsServiceRequest {
    let metrics = series
        .iter()
        .map(|&s| {
            let (name, unit, counter) = METRIC_NAMES[s % METRIC_NAMES.len()];
            let value = &mut values[s];
            if counter {
                *value += random.skewed(50) as f64;
            } else {
                // A level that wanders slowly, in whole units, as memory, threads and lags do.
                *value = (*value + random.below(11) as f64 - 5.0).max(0.0);
            }
            let point = NumberDataPoint {
                attributes: vec![
                    kv("http.route", string(ROUTES[s / 8 % ROUTES.len()].1)),
                    kv("instance", string(format!("{service}-{}", s / 80))),
                ],
                start_time_unix_nano: if counter { start_ns as u64 } else { 0 },
                time_unix_nano: time_ns as u64,
                value: Some(number_data_point::Value::AsDouble(*value)),
                ..Default::default()
            };
            let data = if counter {
                Data::Sum(Sum {
                    data_points: vec![point],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                })
            } else {
                Data::Gauge(Gauge { data_points: vec![point] })
            };
            Metric {
                name: name.to_string(),
                unit: unit.to_string(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource(service)),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", string(service)),
            kv("service.namespace", string("shop")),
            kv("k8s.pod.name", string(format!("{service}-7d9f8c6b5-x2k4p"))),
            kv("host.name", string("ip-10-0-12-34.eu-west-1.compute.internal")),
        ],
        ..Default::default()
    }
}

fn string(text: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(text.into())) })
}

fn int(value: i64) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::IntValue(value)) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.to_string(), value, ..Default::default() }
}

/// SplitMix64: small, fast and good enough to make varied data from a fixed seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    /// Below `bound`, small values far more often than large ones (the square of a uniform draw).
    fn skewed(&mut self, bound: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * bound as f64) as u64
    }
}

fn unix_now_ns() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_nanos()).unwrap_or(i64::MAX)
}

/// A Unix time in nanoseconds, in UTC, as `format` (chrono's syntax) lays it out.
fn format_time(ns: i64, format: &str) -> String {
    timestamp_ns_to_datetime(ns).map(|time| time.format(format).to_string()).unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
