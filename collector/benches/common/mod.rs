//! The ingest benchmark's payloads and benchmark functions, shared by the system-allocator and the
//! mimalloc variants.

pub mod thread_cpu_time;

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use prost::Message;
use sightline_collector::convert::{logs_to_arrow, spans_to_arrow};
use sightline_collector::otlp::common::v1::any_value::Value;
use sightline_collector::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use sightline_collector::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use sightline_collector::otlp::resource::v1::Resource;
use sightline_collector::otlp::trace::v1::span::Event;
use sightline_collector::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use sightline_collector::otlp::{ExportLogsServiceRequest, ExportTraceServiceRequest};

const ITEMS: usize = 512;
const BASE_TIME: u64 = 1_764_000_000_000_000_000;

fn string(text: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(text.into())) })
}

fn int(int: i64) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::IntValue(int)) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.to_string(), value, ..Default::default() }
}

fn resource() -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", string("checkout")),
            kv("service.version", string("1.42.0")),
            kv("host.name", string("ip-10-0-12-34.eu-west-1.compute.internal")),
            kv("deployment.environment", string("production")),
        ],
        ..Default::default()
    }
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "io.opentelemetry.checkout".to_string(),
        version: "2.1.0".to_string(),
        ..Default::default()
    })
}

/// An id that varies per item, as real ids do.
fn id(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 97) % 251) as u8).collect()
}

/// 512 log records of ≈300 bytes each: a ≈200-byte body and 5 attributes.
pub fn logs_request() -> ExportLogsServiceRequest {
    let records = (0..ITEMS)
        .map(|i| LogRecord {
            time_unix_nano: BASE_TIME + i as u64 * 1_000,
            observed_time_unix_nano: BASE_TIME + i as u64 * 1_000 + 500,
            severity_number: 9,
            severity_text: "INFO".to_string(),
            body: string(format!(
                "Completed request GET /api/v1/users/{i}/orders in 12.{i:03} ms: status=200 \
                 bytes_out=5123 cache=miss upstream=orders-service.internal:8080 \
                 request_id=3f2a9c1e-{i:04}-4b7d-9e21-8c6f5a4d3b2a retries=0"
            )),
            attributes: vec![
                kv("http.method", string("GET")),
                kv("http.route", string("/api/v1/users/{id}/orders")),
                kv("user.id", string(format!("user-{}", i * 7919 % 100_000))),
                kv("thread.name", string(format!("http-worker-{}", i % 16))),
                kv("code.lineno", int(100 + (i % 300) as i64)),
            ],
            trace_id: id(i, 16),
            span_id: id(i + 1, 8),
            flags: 1,
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource()),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: records,
                ..Default::default()
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
        }],
    }
}

/// 512 server spans with 10 attributes and one event each.
pub fn spans_request() -> ExportTraceServiceRequest {
    let spans = (0..ITEMS)
        .map(|i| Span {
            trace_id: id(i / 8, 16),
            span_id: id(i, 8),
            parent_span_id: if i % 8 == 0 { vec![] } else { id(i - 1, 8) },
            name: "GET /api/v1/users/{id}/orders".to_string(),
            kind: 2,
            start_time_unix_nano: BASE_TIME + i as u64 * 10_000,
            end_time_unix_nano: BASE_TIME + i as u64 * 10_000 + 1_234_567,
            attributes: vec![
                kv("http.request.method", string("GET")),
                kv("http.route", string("/api/v1/users/{id}/orders")),
                kv("http.response.status_code", int(200)),
                kv("url.scheme", string("https")),
                kv("url.path", string(format!("/api/v1/users/{i}/orders"))),
                kv("server.address", string("api.example.com")),
                kv("server.port", int(443)),
                kv("client.address", string(format!("10.0.{}.{}", i % 256, i % 200))),
                kv("user_agent.original", string("Mozilla/5.0 (X11; Linux x86_64)")),
                kv("network.protocol.version", string("1.1")),
            ],
            events: vec![Event {
                time_unix_nano: BASE_TIME + i as u64 * 10_000 + 1_000,
                name: "cache.miss".to_string(),
                attributes: vec![kv("cache.key", string(format!("orders:{i}")))],
                dropped_attributes_count: 0,
            }],
            status: Some(Status { code: 1, message: String::new() }),
            flags: 0x101,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource()),
            scope_spans: vec![ScopeSpans { scope: scope(), spans, ..Default::default() }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
        }],
    }
}

pub fn logs<M: Measurement>(c: &mut Criterion<M>) {
    let request = logs_request();
    let encoded = request.encode_to_vec();
    eprintln!("logs: {} records, {} protobuf bytes", ITEMS, encoded.len());
    let mut group = c.benchmark_group("logs");
    group.throughput(Throughput::Elements(ITEMS as u64));
    group.bench_function("decode_protobuf+convert", |b| {
        b.iter(|| {
            let decoded = ExportLogsServiceRequest::decode(black_box(encoded.as_slice()))
                .expect("valid protobuf");
            logs_to_arrow(&decoded, BASE_TIME as i64).expect("converts")
        })
    });
    group.bench_function("decode_protobuf", |b| {
        b.iter(|| {
            ExportLogsServiceRequest::decode(black_box(encoded.as_slice())).expect("valid protobuf")
        })
    });
    group.bench_function("convert", |b| {
        b.iter(|| logs_to_arrow(black_box(&request), BASE_TIME as i64).expect("converts"))
    });
    group.finish();
}

pub fn spans<M: Measurement>(c: &mut Criterion<M>) {
    let request = spans_request();
    let encoded = request.encode_to_vec();
    eprintln!("spans: {} spans, {} protobuf bytes", ITEMS, encoded.len());
    let mut group = c.benchmark_group("spans");
    group.throughput(Throughput::Elements(ITEMS as u64));
    group.bench_function("decode_protobuf+convert", |b| {
        b.iter(|| {
            let decoded = ExportTraceServiceRequest::decode(black_box(encoded.as_slice()))
                .expect("valid protobuf");
            spans_to_arrow(&decoded).expect("converts")
        })
    });
    group.bench_function("decode_protobuf", |b| {
        b.iter(|| {
            ExportTraceServiceRequest::decode(black_box(encoded.as_slice()))
                .expect("valid protobuf")
        })
    });
    group.bench_function("convert", |b| {
        b.iter(|| spans_to_arrow(black_box(&request)).expect("converts"))
    });
    group.finish();
}
