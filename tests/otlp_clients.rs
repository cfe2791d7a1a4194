//! The real Rust OpenTelemetry SDK and OTLP exporters (gRPC, HTTP/protobuf, HTTP/JSON) sending to the real
//! binary: what the collector stores is, field for field, what the application recorded.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{Aggregation, Instrument, SdkMeterProvider, Stream, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;
use sightline_storage::Table;

use crate::support::{Daemon, display_column, map_value, string_column};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

const TRANSPORTS: [Transport; 3] = [Transport::Grpc, Transport::HttpProtobuf, Transport::HttpJson];

impl Transport {
    fn protocol(self) -> Protocol {
        match self {
            Transport::Grpc => Protocol::Grpc,
            Transport::HttpProtobuf => Protocol::HttpBinary,
            Transport::HttpJson => Protocol::HttpJson,
        }
    }
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("checkout")
        .with_attributes([KeyValue::new("deployment.environment", "test")])
        .build()
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("checkout.payments")
        .with_version("1.4.2")
        .with_attributes([KeyValue::new("scope.attr", "s")])
        .build()
}

/// 2024-01-02T03:04:05.000000123Z
fn recorded_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(1_704_164_645_000_000_123)
}

/// Builds the exporter for a transport: `$grpc` is the gRPC endpoint, `$http` the signal's full HTTP URL.
macro_rules! exporter {
    ($builder:expr, $transport:expr, $grpc:expr, $http:expr) => {
        match $transport {
            Transport::Grpc => $builder.with_tonic().with_endpoint($grpc).build(),
            transport => $builder
                .with_http()
                .with_protocol(transport.protocol())
                .with_endpoint($http)
                .build(),
        }
        .expect("exporter")
    };
}

/// Runs an SDK session the way an application's main thread does: off the async workers (the SDK's
/// processors block, and the blocking HTTP client owns a runtime of its own), but inside the runtime context
/// that the gRPC exporter needs.
async fn on_sdk_thread(session: impl FnOnce() + Send + 'static) {
    tokio::task::spawn_blocking(session).await.expect("sdk session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_from_the_sdk_arrive_field_for_field_over_every_transport() {
    let daemon = Daemon::start();
    for transport in TRANSPORTS {
        let (grpc, http) = (daemon.grpc_url(), daemon.http_url("/v1/logs"));
        on_sdk_thread(move || {
            let exporter = exporter!(LogExporter::builder(), transport, grpc, http);
            let provider = SdkLoggerProvider::builder()
                .with_resource(resource())
                .with_batch_exporter(exporter)
                .build();
            let logger = provider.logger_with_scope(scope());
            let mut record = logger.create_log_record();
            record.set_timestamp(recorded_at());
            record.set_observed_timestamp(recorded_at() + Duration::from_millis(5));
            record.set_severity_number(Severity::Error);
            record.set_severity_text("ERROR");
            record.set_event_name("payment.declined");
            record.set_body(AnyValue::String(format!("card declined via {transport:?}").into()));
            record.add_attribute("order.id", "A-17");
            record.add_attribute("attempt", 3_i64);
            record.add_attribute("amount", 12.5_f64);
            record.add_attribute("retry", true);
            record.set_trace_context(
                opentelemetry::trace::TraceId::from_hex("5b8efff798038103d269b633813fc60c")
                    .expect("trace id"),
                opentelemetry::trace::SpanId::from_hex("eee19b7ec3c1b174").expect("span id"),
                Some(opentelemetry::trace::TraceFlags::SAMPLED),
            );
            logger.emit(record);
            provider.shutdown().expect("log export");
        })
        .await;
    }

    let logs = daemon.stored().table(Table::Logs);
    assert_eq!(logs.num_rows(), 3);
    for (row, transport) in TRANSPORTS.iter().enumerate() {
        let body = format!("card declined via {transport:?}");
        assert_eq!(string_column(&logs, "body")[row].as_deref(), Some(body.as_str()));
        assert_eq!(display_column(&logs, "timestamp")[row], "2024-01-02T03:04:05.000000123Z");
        assert_eq!(
            display_column(&logs, "observed_timestamp")[row],
            "2024-01-02T03:04:05.005000123Z"
        );
        assert_eq!(display_column(&logs, "severity_number")[row], "17");
        assert_eq!(string_column(&logs, "severity_text")[row].as_deref(), Some("ERROR"));
        assert_eq!(string_column(&logs, "event_name")[row].as_deref(), Some("payment.declined"));
        assert_eq!(
            string_column(&logs, "trace_id")[row].as_deref(),
            Some("5b8efff798038103d269b633813fc60c")
        );
        assert_eq!(string_column(&logs, "span_id")[row].as_deref(), Some("eee19b7ec3c1b174"));
        assert_eq!(display_column(&logs, "flags")[row], "1");
        assert_eq!(string_column(&logs, "service_name")[row].as_deref(), Some("checkout"));
        assert_eq!(map_value(&logs, "attributes", row, "order.id").as_deref(), Some("A-17"));
        assert_eq!(map_value(&logs, "attributes", row, "attempt").as_deref(), Some("3"));
        assert_eq!(map_value(&logs, "attributes", row, "amount").as_deref(), Some("12.5"));
        assert_eq!(map_value(&logs, "attributes", row, "retry").as_deref(), Some("true"));
        assert_eq!(
            map_value(&logs, "resource_attributes", row, "deployment.environment").as_deref(),
            Some("test")
        );
        assert_eq!(string_column(&logs, "scope_name")[row].as_deref(), Some("checkout.payments"));
        assert_eq!(string_column(&logs, "scope_version")[row].as_deref(), Some("1.4.2"));
        assert_eq!(map_value(&logs, "scope_attributes", row, "scope.attr").as_deref(), Some("s"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_from_the_sdk_arrive_field_for_field_over_every_transport() {
    let daemon = Daemon::start();
    for transport in TRANSPORTS {
        let (grpc, http) = (daemon.grpc_url(), daemon.http_url("/v1/traces"));
        on_sdk_thread(move || {
            let exporter = exporter!(SpanExporter::builder(), transport, grpc, http);
            let provider = SdkTracerProvider::builder()
                .with_resource(resource())
                .with_batch_exporter(exporter)
                .build();
            let tracer = provider.tracer_with_scope(scope());
            let mut parent = tracer
                .span_builder(format!("POST /pay {transport:?}"))
                .with_kind(SpanKind::Server)
                .with_start_time(recorded_at())
                .with_attributes([
                    KeyValue::new("http.request.method", "POST"),
                    KeyValue::new("http.response.status_code", 500),
                ])
                .start(&tracer);
            parent.add_event_with_timestamp(
                "exception",
                recorded_at() + Duration::from_millis(1),
                vec![KeyValue::new("exception.type", "CardDeclined")],
            );
            parent.set_status(Status::error("card declined"));
            let parent_context = opentelemetry::Context::current_with_span(parent);
            let mut child = tracer
                .span_builder("charge")
                .with_kind(SpanKind::Client)
                .with_start_time(recorded_at() + Duration::from_millis(2))
                .start_with_context(&tracer, &parent_context);
            child.end_with_timestamp(recorded_at() + Duration::from_millis(7));
            parent_context.span().end_with_timestamp(recorded_at() + Duration::from_millis(10));
            provider.shutdown().expect("span export");
        })
        .await;
    }

    let spans = daemon.stored().table(Table::Spans);
    assert_eq!(spans.num_rows(), 6);
    let names = string_column(&spans, "name");
    for transport in TRANSPORTS {
        let server_name = format!("POST /pay {transport:?}");
        let server = names
            .iter()
            .position(|n| n.as_deref() == Some(server_name.as_str()))
            .expect("server span");
        let trace_id = string_column(&spans, "trace_id")[server].clone();
        let client = (0..spans.num_rows())
            .find(|&row| {
                names[row].as_deref() == Some("charge")
                    && string_column(&spans, "trace_id")[row] == trace_id
            })
            .expect("client span in the same trace");
        assert_eq!(string_column(&spans, "kind")[server].as_deref(), Some("SERVER"));
        assert_eq!(string_column(&spans, "kind")[client].as_deref(), Some("CLIENT"));
        assert_eq!(string_column(&spans, "parent_span_id")[server], None);
        assert_eq!(
            string_column(&spans, "parent_span_id")[client],
            string_column(&spans, "span_id")[server]
        );
        assert_eq!(display_column(&spans, "start_time")[server], "2024-01-02T03:04:05.000000123Z");
        assert_eq!(display_column(&spans, "end_time")[server], "2024-01-02T03:04:05.010000123Z");
        assert_eq!(display_column(&spans, "duration_ns")[server], "10000000");
        assert_eq!(display_column(&spans, "duration_ns")[client], "5000000");
        assert_eq!(string_column(&spans, "status_code")[server].as_deref(), Some("ERROR"));
        assert_eq!(
            string_column(&spans, "status_message")[server].as_deref(),
            Some("card declined")
        );
        assert_eq!(string_column(&spans, "status_code")[client].as_deref(), Some("UNSET"));
        assert_eq!(
            map_value(&spans, "attributes", server, "http.response.status_code").as_deref(),
            Some("500")
        );
        assert_eq!(string_column(&spans, "service_name")[server].as_deref(), Some("checkout"));
        assert_eq!(
            string_column(&spans, "scope_name")[server].as_deref(),
            Some("checkout.payments")
        );
        let events = display_column(&spans, "events")[server].clone();
        assert!(events.contains("exception") && events.contains("CardDeclined"), "{events}");
        assert!(events.contains("2024-01-02T03:04:05.001000123Z"), "{events}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_every_point_type_from_the_sdk_arrive_over_every_transport() {
    let daemon = Daemon::start();
    for transport in TRANSPORTS {
        let (grpc, http) = (daemon.grpc_url(), daemon.http_url("/v1/metrics"));
        on_sdk_thread(move || {
            let builder = MetricExporter::builder().with_temporality(Temporality::Cumulative);
            let exporter = exporter!(builder, transport, grpc, http);
            let exponential = |instrument: &Instrument| {
                (instrument.name() == "rpc.duration").then(|| {
                    Stream::builder()
                        .with_aggregation(Aggregation::Base2ExponentialHistogram {
                            max_size: 160,
                            max_scale: 20,
                            record_min_max: true,
                        })
                        .build()
                        .expect("stream")
                })
            };
            let provider = SdkMeterProvider::builder()
                .with_resource(resource())
                .with_periodic_exporter(exporter)
                .with_view(exponential)
                .build();
            let meter = provider.meter_with_scope(scope());
            let labels = [KeyValue::new("transport", format!("{transport:?}"))];
            meter.u64_counter("jobs.processed").with_unit("{job}").build().add(7, &labels);
            meter.i64_up_down_counter("jobs.active").build().add(-2, &labels);
            meter.f64_gauge("queue.depth").build().record(12.5, &labels);
            let latency =
                meter.f64_histogram("http.server.request.duration").with_unit("s").build();
            for value in [0.004, 0.2, 3.0] {
                latency.record(value, &labels);
            }
            let rpc = meter.f64_histogram("rpc.duration").with_unit("ms").build();
            for value in [1.0, 2.0, 4.0, 8.0] {
                rpc.record(value, &labels);
            }
            provider.shutdown().expect("metric export");
        })
        .await;
    }

    let stored = daemon.stored();
    let metrics = stored.table(Table::Metrics);
    for transport in TRANSPORTS {
        let transport = format!("{transport:?}");
        let row_of = |name: &str| {
            (0..metrics.num_rows())
                .find(|&row| {
                    string_column(&metrics, "metric_name")[row].as_deref() == Some(name)
                        && map_value(&metrics, "attributes", row, "transport").as_deref()
                            == Some(transport.as_str())
                })
                .unwrap_or_else(|| panic!("{name} over {transport}"))
        };
        let counter = row_of("jobs.processed");
        assert_eq!(display_column(&metrics, "metric_type")[counter], "sum");
        assert_eq!(display_column(&metrics, "temporality")[counter], "cumulative");
        assert_eq!(display_column(&metrics, "is_monotonic")[counter], "true");
        assert_eq!(display_column(&metrics, "value")[counter], "7.0");
        assert_eq!(display_column(&metrics, "value_int")[counter], "7");
        assert_eq!(display_column(&metrics, "unit")[counter], "{job}");
        let up_down = row_of("jobs.active");
        assert_eq!(display_column(&metrics, "is_monotonic")[up_down], "false");
        assert_eq!(display_column(&metrics, "value_int")[up_down], "-2");
        let gauge = row_of("queue.depth");
        assert_eq!(display_column(&metrics, "metric_type")[gauge], "gauge");
        assert_eq!(display_column(&metrics, "temporality")[gauge], "");
        assert_eq!(display_column(&metrics, "value")[gauge], "12.5");
        assert_eq!(string_column(&metrics, "service_name")[gauge].as_deref(), Some("checkout"));
    }

    let histograms = stored.table(Table::MetricsHistogram);
    assert_eq!(histograms.num_rows(), 3);
    for row in 0..3 {
        assert_eq!(display_column(&histograms, "count")[row], "3");
        assert_eq!(display_column(&histograms, "sum")[row], "3.204");
        assert_eq!(display_column(&histograms, "min")[row], "0.004");
        assert_eq!(display_column(&histograms, "max")[row], "3.0");
        let counts = display_column(&histograms, "bucket_counts")[row].clone();
        let bounds = display_column(&histograms, "explicit_bounds")[row].clone();
        // The SDK's default bounds: 0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000.
        assert_eq!(
            bounds,
            "[0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0]"
        );
        assert_eq!(counts, "[0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]");
    }

    let exponential = stored.table(Table::MetricsExpHistogram);
    assert_eq!(exponential.num_rows(), 3);
    for row in 0..3 {
        assert_eq!(display_column(&exponential, "count")[row], "4");
        assert_eq!(display_column(&exponential, "sum")[row], "15.0");
        assert_eq!(display_column(&exponential, "min")[row], "1.0");
        assert_eq!(display_column(&exponential, "max")[row], "8.0");
        assert_eq!(display_column(&exponential, "zero_count")[row], "0");
        // Four powers of two fit at the SDK's chosen scale; every value lands in its own bucket.
        let counts = display_column(&exponential, "positive_bucket_counts")[row].clone();
        assert_eq!(counts.matches('1').count(), 4, "{counts}");
        let scale: i32 = display_column(&exponential, "scale")[row].parse().expect("scale");
        assert!((-10..=20).contains(&scale));
    }
}
