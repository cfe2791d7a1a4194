//! OTLP/gRPC against the real binary: compression, size limits, partial success, and equality with HTTP.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde_json::json;
use sightline_storage::Table;
use tonic::codec::CompressionEncoding;

use crate::otlp_http::gzip_bomb;
use crate::payloads::{logs_request, metrics_request, traces_request};
use crate::support::Daemon;

#[tokio::test]
async fn gzip_and_zstd_compressed_grpc_requests_are_accepted() {
    let daemon = Daemon::start();
    for encoding in [CompressionEncoding::Gzip, CompressionEncoding::Zstd] {
        let mut client = LogsServiceClient::connect(daemon.grpc_url())
            .await
            .expect("connect")
            .send_compressed(encoding);
        let response = client.export(logs_request(2)).await.expect("export").into_inner();
        assert_eq!(response.partial_success, None);
    }
    assert_eq!(daemon.stored().rows(Table::Logs), 4);
}

#[tokio::test]
async fn the_same_payload_over_grpc_and_http_gives_identical_rows() {
    let daemon = Daemon::start();
    let http = reqwest::Client::new();
    let bodies = [
        ("/v1/logs", logs_request(4).encode_to_vec()),
        ("/v1/traces", traces_request(3).encode_to_vec()),
        ("/v1/metrics", metrics_request().encode_to_vec()),
    ];
    for (path, body) in &bodies {
        let response = http
            .post(daemon.http_url(path))
            .header("content-type", "application/x-protobuf")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert!(response.status().is_success());
    }
    let over_http = daemon.stored();
    LogsServiceClient::connect(daemon.grpc_url())
        .await
        .expect("connect")
        .export(logs_request(4))
        .await
        .expect("logs");
    TraceServiceClient::connect(daemon.grpc_url())
        .await
        .expect("connect")
        .export(traces_request(3))
        .await
        .expect("spans");
    MetricsServiceClient::connect(daemon.grpc_url())
        .await
        .expect("connect")
        .export(metrics_request())
        .await
        .expect("metrics");
    let all = daemon.stored();
    let over_grpc = &all.0[over_http.0.len()..];
    assert_eq!(over_http.0.len(), over_grpc.len());
    for (http_batch, grpc_batch) in over_http.0.iter().zip(over_grpc) {
        assert_eq!(http_batch.table, grpc_batch.table);
        assert_eq!(
            http_batch.batch, grpc_batch.batch,
            "rows of {} differ between HTTP and gRPC",
            http_batch.table
        );
    }
}

#[tokio::test]
async fn partial_success_over_grpc_counts_rejected_spans() {
    let daemon = Daemon::start();
    let mut request = traces_request(4);
    request.resource_spans[0].scope_spans[0].spans[2].span_id = vec![0; 8];
    let mut client = TraceServiceClient::connect(daemon.grpc_url()).await.expect("connect");
    let response = client.export(request).await.expect("export").into_inner();
    let partial = response.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("spans[2]: span_id is all zeroes"),
        "{}",
        partial.error_message
    );
    assert_eq!(daemon.stored().rows(Table::Spans), 3);
}

#[tokio::test]
async fn an_empty_grpc_request_succeeds_and_stores_nothing() {
    let daemon = Daemon::start();
    let mut client = LogsServiceClient::connect(daemon.grpc_url()).await.expect("connect");
    let response =
        client.export(ExportLogsServiceRequest::default()).await.expect("export").into_inner();
    assert_eq!(response.partial_success, None);
    assert!(daemon.stored().0.is_empty());
}

#[tokio::test]
async fn an_oversize_message_is_resource_exhausted_without_retry_info() {
    let daemon = Daemon::start_with(json!({ "otlp": { "grpc": { "max_message_size": "64KiB" } } }));
    let mut client = LogsServiceClient::connect(daemon.grpc_url()).await.expect("connect");
    let status = client.export(logs_request(2_000)).await.expect_err("too large");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.details().is_empty(), "no RetryInfo: the exporter must not retry");
    assert!(daemon.stored().0.is_empty());
}

#[tokio::test]
async fn a_gzip_bomb_over_grpc_is_resource_exhausted_without_expanding_in_memory() {
    let daemon = Daemon::start();
    // A gRPC frame by hand: flag 1 (compressed), big-endian length, then the gzip bytes.
    let bomb = gzip_bomb();
    let mut frame = vec![1u8];
    frame.extend_from_slice(&(bomb.len() as u32).to_be_bytes());
    frame.extend_from_slice(&bomb);
    let client = reqwest::Client::builder().http2_prior_knowledge().build().expect("client");
    let response = client
        .post(format!(
            "{}/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            daemon.grpc_url()
        ))
        .header("content-type", "application/grpc")
        .header("grpc-encoding", "gzip")
        .header("te", "trailers")
        .body(frame)
        .send()
        .await
        .expect("request");
    let code = response.headers().get("grpc-status").map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(
        code.as_deref(),
        Some("8"),
        "RESOURCE_EXHAUSTED expected, headers {:?}",
        response.headers()
    );
    let peak = daemon.peak_rss_kib();
    assert!(peak < 200 * 1024, "peak RSS {peak} KiB");
}
