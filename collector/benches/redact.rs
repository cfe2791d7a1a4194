//! The cost of redaction on the ingest benchmark's payloads (512 log records, 512 spans) and on 512 metric
//! data points shaped like the load generator's, per core, in CPU time of the benchmark thread: no rules, the built-in rules (the default), and the built-ins with 20 custom
//! value regexes. Compare with `ingest`'s `decode_protobuf+convert`. Results: BENCHMARKS.md.
//!
//! `cargo bench -p sightline-collector --bench redact`

#[allow(
    dead_code,
    reason = "the payloads are shared; the ingest benchmark's functions are not run here"
)]
mod common;

use criterion::measurement::Measurement;
use criterion::{BatchSize, Criterion, Throughput};
use sightline_collector::otlp::common::v1::{AnyValue, KeyValue, any_value};
use sightline_collector::otlp::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use sightline_collector::otlp::{ExportMetricsServiceRequest, Signal};
use sightline_collector::redact::{Action, RedactionConfig, Redactor, RuleScope, ValueRule};

/// Patterns of the kind people add: ids, national numbers, phone numbers, internal hosts.
const CUSTOM: [&str; 20] = [
    r"ORD-\d{8}",
    r"\b\d{3}-\d{2}-\d{4}\b",
    r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b",
    r"\+\d{10,14}\b",
    r"customer-\d{6,}",
    r"\bpatient/[0-9a-f]{24}\b",
    r"\bsess_[A-Za-z0-9]{24}\b",
    r"\bacct_[A-Za-z0-9]{16}\b",
    r"\bnpm_[A-Za-z0-9]{36}\b",
    r"\bglpat-[A-Za-z0-9_-]{20}\b",
    r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
    r"\bAIza[0-9A-Za-z_-]{35}\b",
    r"\b[0-9a-f]{8}-dead-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
    r"passport=[A-Z0-9]{9}",
    r"\bDL-\d{9}\b",
    r"\btenant-secret-[a-z]+\b",
    r"internal-[a-z]+\.corp\.example\.com",
    r"\bvin=[A-HJ-NPR-Z0-9]{17}\b",
    r"\bEMP\d{7}\b",
    r"(?i)x-internal-key:\s*\S+",
];

fn rule_sets() -> [(&'static str, Redactor); 3] {
    let custom = RedactionConfig {
        value_rules: CUSTOM
            .iter()
            .enumerate()
            .map(|(i, regex)| ValueRule {
                name: format!("custom-{i}"),
                regex: (*regex).to_owned(),
                action: Action::Mask,
                scope: RuleScope::default(),
            })
            .collect(),
        ..RedactionConfig::default()
    };
    [
        ("off", Redactor::disabled()),
        ("default", Redactor::with_defaults()),
        ("default+20_regexes", Redactor::new(&custom).expect("the custom rules compile")),
    ]
}

/// One group: `redact` run over a fresh copy of `request` under each rule set.
fn group<M: Measurement, R: Clone>(
    c: &mut Criterion<M>,
    name: &str,
    items: u64,
    request: &R,
    redact: impl Fn(&Redactor, &mut R),
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(items));
    for (rule_set, redactor) in rule_sets() {
        group.bench_function(rule_set, |b| {
            b.iter_batched_ref(
                || request.clone(),
                |request| redact(&redactor, request),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn logs<M: Measurement>(c: &mut Criterion<M>) {
    let request = common::logs_request();
    let items = request.resource_logs[0].scope_logs[0].log_records.len() as u64;
    group(c, "redact_logs", items, &request, |redactor, request| {
        redactor.session(Signal::Logs, ()).logs(request)
    });
}

fn spans<M: Measurement>(c: &mut Criterion<M>) {
    let request = common::spans_request();
    let items = request.resource_spans[0].scope_spans[0].spans.len() as u64;
    group(c, "redact_spans", items, &request, |redactor, request| {
        redactor.session(Signal::Traces, ()).traces(request)
    });
}

/// 512 sum points with the 5 attributes of an HTTP server's metrics, as `sightline-loadgen` sends them.
fn metrics_request() -> ExportMetricsServiceRequest {
    const ROUTES: [&str; 4] = ["/api/v1/users/{id}/orders", "/api/v1/cart", "/health", "/search"];
    let text =
        |text: &str| Some(AnyValue { value: Some(any_value::Value::StringValue(text.to_owned())) });
    let kv = |key: &str, value| KeyValue { key: key.to_owned(), value, ..Default::default() };
    let points = (0..512)
        .map(|n: usize| NumberDataPoint {
            attributes: vec![
                kv("http.request.method", text(if n.is_multiple_of(5) { "POST" } else { "GET" })),
                kv("http.route", text(ROUTES[n % ROUTES.len()])),
                kv(
                    "http.response.status_code",
                    Some(AnyValue { value: Some(any_value::Value::IntValue(200)) }),
                ),
                kv("server.address", text("api.example.com")),
                kv("pod.name", text(&format!("api-{}", n % 8))),
            ],
            time_unix_nano: 1_764_000_000_000_000_000,
            value: Some(number_data_point::Value::AsInt(n as i64)),
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: common::logs_request().resource_logs[0].resource.clone(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "http.server.requests".to_owned(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: points,
                        ..Default::default()
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics<M: Measurement>(c: &mut Criterion<M>) {
    group(c, "redact_metric_points", 512, &metrics_request(), |redactor, request| {
        redactor.session(Signal::Metrics, ()).metrics(request)
    });
}

criterion::criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(common::thread_cpu_time::ThreadCpuTime);
    targets = logs, spans, metrics
}
criterion::criterion_main!(benches);
