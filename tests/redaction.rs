//! Redaction end to end: secrets planted at every place an OTLP request can carry them, sent through the real
//! receivers, are found nowhere afterwards: not in the WAL or the Parquet files (raw, and decoded), not in SQL
//! results, the daemon's own log (at debug level) or `/metrics`. Beside each detected secret sits a harmless
//! canary that must survive everywhere, so that a search that finds nothing is known to have looked.

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, exemplar, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use serde_json::json;

use crate::support::Daemon;

/// What one planted secret looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PaymentCard,
    Jwt,
    BearerToken,
    AwsAccessKey,
    GithubToken,
    SlackToken,
    SlackWebhook,
    StripeKey,
    PrivateKey,
    UrlCredentials,
    SignedUrl,
    SqlLiteral,
    /// A value under a key naming a password.
    PasswordKey,
    /// A value under the authorization header's key.
    AuthorizationHeader,
}

/// The kinds found inside any string, wherever it is.
const DETECTED: [Kind; 11] = [
    Kind::PaymentCard,
    Kind::Jwt,
    Kind::BearerToken,
    Kind::AwsAccessKey,
    Kind::GithubToken,
    Kind::SlackToken,
    Kind::SlackWebhook,
    Kind::StripeKey,
    Kind::PrivateKey,
    Kind::UrlCredentials,
    Kind::SignedUrl,
];
/// The kinds that need an attribute key.
const KEYED: [Kind; 3] = [Kind::SqlLiteral, Kind::PasswordKey, Kind::AuthorizationHeader];

/// The random material of one secret.
#[derive(Debug, Clone)]
struct Material {
    kind: Kind,
    /// 40 letters and digits.
    token: String,
    /// 16 characters of base32, for an AWS key id.
    base32: String,
    /// 14 digits, for a card number.
    digits: String,
}

/// One secret, ready to plant.
#[derive(Debug, Clone)]
struct Plant {
    /// The attribute key to plant it under (where the place has keys).
    key: &'static str,
    /// The value to plant.
    text: String,
    /// What must not be found anywhere afterwards.
    secret: String,
    /// What must be found afterwards: the harmless part of the same value, when the value is kept.
    canary: Option<String>,
}

fn plant(material: &Material, canary: &str) -> Plant {
    let Material { kind, token, base32, digits } = material;
    let detected = |text: String, secret: &str| Plant {
        key: "note",
        text: format!("{canary} {text}"),
        secret: secret.to_owned(),
        canary: Some(canary.to_owned()),
    };
    match kind {
        Kind::PaymentCard => {
            let number = luhn_complete(&format!("4{digits}"));
            detected(format!("paid with {number} today"), &number)
        }
        Kind::Jwt => {
            let jwt = format!("eyJ{}.eyJ{}.{}", &token[..12], &token[12..30], &token[30..]);
            detected(format!("session={jwt}"), &jwt)
        }
        Kind::BearerToken => detected(format!("Authorization: Bearer {token}"), token),
        Kind::AwsAccessKey => {
            let key = format!("AKIA{base32}");
            detected(format!("using key {key} for s3"), &key)
        }
        Kind::GithubToken => {
            let github = format!("ghp_{}", &token[..36]);
            detected(format!("cloning with {github}"), &github)
        }
        Kind::SlackToken => {
            let slack = format!("xoxb-{}", &token[..30]);
            detected(format!("bot {slack} posted"), &slack)
        }
        Kind::SlackWebhook => detected(
            format!("posting to https://hooks.slack.com/services/T0001/B0002/{token}"),
            token,
        ),
        Kind::StripeKey => {
            let stripe = format!("sk_live_{}", &token[..24]);
            detected(format!("charging with {stripe}"), &stripe)
        }
        Kind::PrivateKey => detected(
            format!("loaded -----BEGIN PRIVATE KEY-----\n{token}\n-----END PRIVATE KEY----- ok"),
            token,
        ),
        Kind::UrlCredentials => {
            detected(format!("fetch https://deploy:{token}@git.example.com/repo.git"), token)
        }
        Kind::SignedUrl => detected(
            format!("GET https://b.s3.amazonaws.com/f?X-Amz-Signature={token}&x-id=GetObject"),
            token,
        ),
        Kind::SqlLiteral => Plant {
            key: "db.query.text",
            // The canary is a table name: names stay, literals go.
            text: format!("SELECT * FROM {canary} WHERE api_key = '{token}'"),
            secret: token.clone(),
            canary: Some(canary.to_owned()),
        },
        Kind::PasswordKey => {
            Plant { key: "db.password", text: token.clone(), secret: token.clone(), canary: None }
        }
        Kind::AuthorizationHeader => Plant {
            key: "http.request.header.authorization",
            text: format!("Basic {token}"),
            secret: token.clone(),
            canary: None,
        },
    }
}

/// `prefix` with the Luhn check digit appended.
fn luhn_complete(prefix: &str) -> String {
    let sum: u32 = prefix
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    format!("{prefix}{}", (10 - sum % 10) % 10)
}

/// Every place of point 5 of the redaction issue, in the order of a case's materials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    LogResourceAttribute,
    LogScopeAttribute,
    LogRecordAttribute,
    LogBody,
    LogBodyNested,
    SpanResourceAttribute,
    SpanAttribute,
    SpanName,
    SpanStatusMessage,
    SpanEventAttribute,
    ExceptionMessage,
    ExceptionStacktrace,
    SpanLinkAttribute,
    MetricResourceAttribute,
    MetricScopeAttribute,
    SumPointAttribute,
    HistogramPointAttribute,
    ExemplarAttribute,
}

const PLACES: [Place; 18] = [
    Place::LogResourceAttribute,
    Place::LogScopeAttribute,
    Place::LogRecordAttribute,
    Place::LogBody,
    Place::LogBodyNested,
    Place::SpanResourceAttribute,
    Place::SpanAttribute,
    Place::SpanName,
    Place::SpanStatusMessage,
    Place::SpanEventAttribute,
    Place::ExceptionMessage,
    Place::ExceptionStacktrace,
    Place::SpanLinkAttribute,
    Place::MetricResourceAttribute,
    Place::MetricScopeAttribute,
    Place::SumPointAttribute,
    Place::HistogramPointAttribute,
    Place::ExemplarAttribute,
];

impl Place {
    /// Places that hold a bare string have no key for the keyed kinds.
    fn has_key(self) -> bool {
        !matches!(
            self,
            Place::LogBody
                | Place::SpanName
                | Place::SpanStatusMessage
                | Place::ExceptionMessage
                | Place::ExceptionStacktrace
        )
    }
}

fn material(has_key: bool) -> impl Strategy<Value = Material> {
    let kinds: Vec<Kind> =
        if has_key { DETECTED.iter().chain(&KEYED).copied().collect() } else { DETECTED.to_vec() };
    (proptest::sample::select(kinds), "[A-Za-z0-9]{40}", "[A-Z2-7]{16}", "[0-9]{14}")
        .prop_map(|(kind, token, base32, digits)| Material { kind, token, base32, digits })
}

/// One case: a secret for every place, and whether it goes over gRPC or HTTP.
fn case() -> impl Strategy<Value = (Vec<Material>, bool)> {
    let materials: Vec<_> = PLACES.iter().map(|place| material(place.has_key()).boxed()).collect();
    (materials, any::<bool>())
}

fn string(text: &str) -> AnyValue {
    AnyValue { value: Some(Any::StringValue(text.to_owned())) }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(value), ..Default::default() }
}

fn kvlist(values: Vec<KeyValue>) -> AnyValue {
    AnyValue { value: Some(Any::KvlistValue(KeyValueList { values })) }
}

fn attribute(plant: &Plant) -> Vec<KeyValue> {
    vec![kv(plant.key, string(&plant.text))]
}

fn resource(service: &str, extra: Vec<KeyValue>) -> Option<Resource> {
    let mut attributes = vec![kv("service.name", string(service))];
    attributes.extend(extra);
    Some(Resource { attributes, ..Default::default() })
}

fn scope(attributes: Vec<KeyValue>) -> Option<InstrumentationScope> {
    Some(InstrumentationScope { name: "redaction-test".into(), attributes, ..Default::default() })
}

fn now_ns() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos())
        .expect("ns")
}

/// The three requests of one case, each place holding its plant.
fn requests(
    plants: &[Plant],
) -> (ExportLogsServiceRequest, ExportTraceServiceRequest, ExportMetricsServiceRequest) {
    let at = |place: Place| &plants[PLACES.iter().position(|p| *p == place).expect("a place")];
    let now = now_ns();

    let body = at(Place::LogBody);
    let nested = at(Place::LogBodyNested);
    let nested_body = kvlist(vec![kv(
        "request",
        AnyValue {
            value: Some(Any::ArrayValue(ArrayValue {
                values: vec![string("first"), kvlist(attribute(nested))],
            })),
        },
    )]);
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("shop", attribute(at(Place::LogResourceAttribute))),
            scope_logs: vec![ScopeLogs {
                scope: scope(attribute(at(Place::LogScopeAttribute))),
                log_records: vec![
                    LogRecord {
                        time_unix_nano: now,
                        attributes: attribute(at(Place::LogRecordAttribute)),
                        body: Some(string(&body.text)),
                        ..Default::default()
                    },
                    LogRecord {
                        time_unix_nano: now,
                        body: Some(nested_body),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };

    let trace_id = now.to_be_bytes().repeat(2);
    let span_id = now.to_le_bytes().to_vec();
    let traces = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource("shop", attribute(at(Place::SpanResourceAttribute))),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: trace_id.clone(),
                    span_id: span_id.clone(),
                    name: at(Place::SpanName).text.clone(),
                    start_time_unix_nano: now,
                    end_time_unix_nano: now + 1_000,
                    attributes: attribute(at(Place::SpanAttribute)),
                    status: Some(Status {
                        message: at(Place::SpanStatusMessage).text.clone(),
                        code: 2,
                    }),
                    events: vec![
                        span::Event {
                            time_unix_nano: now,
                            name: "retry".into(),
                            attributes: attribute(at(Place::SpanEventAttribute)),
                            ..Default::default()
                        },
                        span::Event {
                            time_unix_nano: now,
                            name: "exception".into(),
                            attributes: vec![
                                kv("exception.type", string("IOError")),
                                kv("exception.message", string(&at(Place::ExceptionMessage).text)),
                                kv(
                                    "exception.stacktrace",
                                    string(&format!(
                                        "Traceback:\n  File \"app.py\", line 3\n{}",
                                        at(Place::ExceptionStacktrace).text
                                    )),
                                ),
                            ],
                            ..Default::default()
                        },
                    ],
                    links: vec![span::Link {
                        trace_id,
                        span_id,
                        attributes: attribute(at(Place::SpanLinkAttribute)),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };

    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("shop", attribute(at(Place::MetricResourceAttribute))),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(attribute(at(Place::MetricScopeAttribute))),
                metrics: vec![
                    Metric {
                        name: "orders".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                time_unix_nano: now,
                                attributes: attribute(at(Place::SumPointAttribute)),
                                value: Some(number_data_point::Value::AsInt(1)),
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "latency".into(),
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                time_unix_nano: now,
                                attributes: attribute(at(Place::HistogramPointAttribute)),
                                count: 1,
                                sum: Some(5.0),
                                bucket_counts: vec![1, 0],
                                explicit_bounds: vec![10.0],
                                exemplars: vec![Exemplar {
                                    time_unix_nano: now,
                                    filtered_attributes: attribute(at(Place::ExemplarAttribute)),
                                    value: Some(exemplar::Value::AsDouble(5.0)),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (logs, traces, metrics)
}

async fn send(
    daemon: &Daemon,
    grpc: bool,
    (logs, traces, metrics): (
        ExportLogsServiceRequest,
        ExportTraceServiceRequest,
        ExportMetricsServiceRequest,
    ),
) {
    if grpc {
        let url = daemon.grpc_url();
        LogsServiceClient::connect(url.clone())
            .await
            .expect("connect")
            .export(logs)
            .await
            .expect("logs");
        TraceServiceClient::connect(url.clone())
            .await
            .expect("connect")
            .export(traces)
            .await
            .expect("traces");
        MetricsServiceClient::connect(url)
            .await
            .expect("connect")
            .export(metrics)
            .await
            .expect("metrics");
        return;
    }
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/v1/logs", logs.encode_to_vec()),
        ("/v1/traces", traces.encode_to_vec()),
        ("/v1/metrics", metrics.encode_to_vec()),
    ] {
        let response = http
            .post(daemon.http_url(path))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{path}");
    }
}

/// Everything under `dir`, file by file, as raw bytes.
fn raw_files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("dir entry")) {
        let path = entry.path();
        if path.is_dir() {
            raw_files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// Every value of every stored row, decoded: the Parquet files and every WAL record.
fn decoded_storage(daemon: &Daemon) -> String {
    let mut batches = daemon.stored().0;
    for (_, records) in daemon.wal_records() {
        batches.extend(records);
    }
    let mut text = String::new();
    for stored in batches {
        for column in stored.batch.columns() {
            let formatter =
                arrow_cast::display::ArrayFormatter::try_new(column.as_ref(), &Default::default())
                    .expect("formatter");
            for row in 0..stored.batch.num_rows() {
                text.push_str(&formatter.value(row).to_string());
                text.push('\n');
            }
        }
    }
    text
}

async fn sql_results(daemon: &Daemon) -> String {
    let mut text = String::new();
    for table in ["logs", "spans", "metrics", "metrics_histogram"] {
        let (status, answer) = daemon.sql(&format!("SELECT * FROM {table}")).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["rows"].as_array().is_some_and(|rows| !rows.is_empty()), "{table} is empty");
        text.push_str(&answer.to_string());
    }
    text
}

async fn metrics_text(daemon: &Daemon) -> String {
    reqwest::get(format!("http://{}/metrics", daemon.api))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

const HASH_KEY: &str = "e2e-hash-key-5f1c2a9b7d";

#[test]
fn secrets_planted_anywhere_in_a_request_reach_no_file_query_log_or_metric() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let daemon = Daemon::start_with(json!({
        "log": { "level": "debug" },
        "storage": { "flush_age": "1s" },
        // Card numbers hashed rather than masked: the key must not show anywhere either.
        "redaction": { "hash_key": HASH_KEY, "builtin": { "payment_card": "hash" } },
    }));
    // The runner's closure may not mutate what it captures; the checks run once, over all cases.
    let planted: RefCell<Vec<Plant>> = RefCell::default();
    let mut runner =
        TestRunner::new(Config { cases: 12, failure_persistence: None, ..Config::default() });
    runner
        .run(&case(), |(materials, grpc)| {
            let case_number = planted.borrow().len() / PLACES.len();
            let plants: Vec<Plant> = materials
                .iter()
                .enumerate()
                .map(|(place, material)| plant(material, &format!("canaryq{case_number}x{place}")))
                .collect();
            runtime.block_on(send(&daemon, grpc, requests(&plants)));
            planted.borrow_mut().extend(plants);
            Ok(())
        })
        .expect("every request is accepted");
    let planted = planted.into_inner();
    assert_eq!(planted.len(), 12 * PLACES.len());

    let (sql, metrics) =
        runtime.block_on(async { (sql_results(&daemon).await, metrics_text(&daemon).await) });
    // Wait for the flushes, so that the Parquet files hold the rows too.
    let deadline = Instant::now() + Duration::from_secs(30);
    let data_files = || {
        let mut files = Vec::new();
        raw_files(&daemon.data_dir(), &mut files);
        files.into_iter().filter(|(path, _)| path.ends_with(".parquet")).count()
    };
    while data_files() < 4 {
        assert!(Instant::now() < deadline, "no Parquet files after 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let decoded = decoded_storage(&daemon);
    let mut files = Vec::new();
    raw_files(&daemon.data_dir(), &mut files);
    let log = daemon.log().join("\n");
    assert!(log.contains("\"level\":\"DEBUG\""), "the daemon logged at debug level");

    for plant in &planted {
        let secret = &plant.secret;
        assert!(!contains(sql.as_bytes(), secret), "{plant:?} in SQL results");
        assert!(!contains(metrics.as_bytes(), secret), "{plant:?} on /metrics");
        assert!(!contains(log.as_bytes(), secret), "{plant:?} in the daemon's log");
        assert!(!contains(decoded.as_bytes(), secret), "{plant:?} in stored rows");
        for (path, bytes) in &files {
            assert!(!contains(bytes, secret), "{plant:?} in {path}");
        }
        if let Some(canary) = &plant.canary {
            assert!(contains(sql.as_bytes(), canary), "{canary} missing from SQL results");
            assert!(contains(decoded.as_bytes(), canary), "{canary} missing from stored rows");
        }
    }
    for (path, bytes) in &files {
        assert!(!contains(bytes, HASH_KEY), "the hash key in {path}");
    }
    for (what, text) in [
        ("SQL results", &sql),
        ("/metrics", &metrics),
        ("the log", &log),
        ("stored rows", &decoded),
    ] {
        assert!(!text.contains(HASH_KEY), "the hash key in {what}");
    }
    let cards = planted.iter().filter(|plant| plant.text.contains("paid with")).count();
    assert!(cards == 0 || sql.contains("paid with hmac:"), "card numbers are hashed");
    let redactions: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("sightline_redactions_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        redactions >= planted.len() as f64,
        "{redactions} redactions counted for {} plants",
        planted.len()
    );
}

/// `sightline redact test`, as a rule author runs it: the redacted payload on stdout, each change on stderr.
#[test]
fn redact_test_prints_the_redacted_payload_and_which_rule_fired_where() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let payload = std::fs::File::open(fixtures.join("redact-sample.json")).expect("sample payload");
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["redact", "test", "--config"])
        .arg(fixtures.join("redact-sample.yaml"))
        .env_remove("SIGHTLINE_CONFIG")
        .stdin(Stdio::from(payload))
        .output()
        .expect("run sightline redact test");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    insta::assert_snapshot!(format!("--- stdout\n{stdout}--- stderr\n{stderr}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redaction_api_lists_the_rules_in_force_and_counts_what_each_redacted() {
    let daemon = Daemon::start_with(json!({
        "redaction": { "rules": [{
            "name": "user-identity",
            "keys": ["user.email"],
            "action": "mask",
            "signals": ["logs"],
            "services": ["checkout"],
        }]},
    }));
    let record = LogRecord {
        time_unix_nano: now_ns(),
        body: Some(string("signed in")),
        attributes: vec![
            kv("user.email", string("ana@example.org")),
            kv("http.request.header.authorization", string("Basic YW5hOnNlY3JldA==")),
        ],
        ..LogRecord::default()
    };
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("checkout", vec![]),
            scope_logs: vec![ScopeLogs { log_records: vec![record], ..ScopeLogs::default() }],
            ..ResourceLogs::default()
        }],
    };
    let response = reqwest::Client::new()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(logs.encode_to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);

    let redaction: serde_json::Value = reqwest::Client::new()
        .get(daemon.api_url("/api/v1/redaction"))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .expect("redaction")
        .json()
        .await
        .expect("json");
    assert_eq!(redaction["enabled"], true);
    let rules = redaction["rules"].as_array().expect("rules");
    let rule = |name: &str| {
        rules
            .iter()
            .find(|rule| rule["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {redaction}"))
    };
    assert_eq!(
        rule("user-identity"),
        &json!({
            "name": "user-identity",
            "kind": "key",
            "action": "mask",
            "builtin": false,
            "matches": ["user.email"],
            "signals": ["logs"],
            "services": ["checkout"],
            "redacted": { "logs": 1, "metrics": 0, "traces": 0 },
        })
    );
    let header = rule("authorization_header");
    assert_eq!((&header["builtin"], &header["redacted"]["logs"]), (&json!(true), &json!(1)));
    assert_eq!(rule("jwt")["redacted"], json!({ "logs": 0, "metrics": 0, "traces": 0 }));
    assert!(!rules.iter().any(|rule| rule["name"] == "email"), "email is off by default");
}
