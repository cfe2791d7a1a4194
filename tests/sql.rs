//! The SQL API of the real daemon: read-your-writes over both receivers and across a crash, and refusals.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value as OtlpValue};
use prost::Message;
use serde_json::{Value, json};

use crate::payloads::logs_request;
use crate::support::Daemon;

fn tagged(
    tag: &str,
    records: usize,
) -> opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
    let mut request = logs_request(records);
    for record in &mut request.resource_logs[0].scope_logs[0].log_records {
        record.body = Some(AnyValue { value: Some(OtlpValue::StringValue(tag.to_owned())) });
    }
    request
}

async fn count(daemon: &Daemon, tag: &str) -> Value {
    daemon.sql_value(&format!("SELECT count(*) FROM logs WHERE body = '{tag}'")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_right_after_a_200_sees_the_new_rows_over_both_receivers_and_after_a_crash() {
    let daemon = Daemon::start();
    let response = reqwest::Client::new()
        .post(daemon.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(tagged("over http", 3).encode_to_vec())
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
    assert_eq!(count(&daemon, "over http").await, json!(3));

    let mut grpc = LogsServiceClient::connect(daemon.grpc_url()).await.expect("connect");
    grpc.export(tagged("over grpc", 2)).await.expect("export");
    assert_eq!(count(&daemon, "over grpc").await, json!(2));

    let (status, answer) = daemon
        .sql("SELECT service_name, attributes['http.route'] AS route FROM logs WHERE body = 'over grpc' LIMIT 1")
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rows"], json!([["payments", "/pay"]]));
    assert_eq!(answer["columns"][0], json!({ "name": "service_name", "type": "Utf8" }));

    let daemon =
        tokio::task::spawn_blocking(move || daemon.crash_and_restart()).await.expect("restart");
    assert_eq!(count(&daemon, "over http").await, json!(3), "replayed from the WAL after SIGKILL");
    assert_eq!(count(&daemon, "over grpc").await, json!(2));
}

#[tokio::test]
async fn the_sql_api_is_read_only_and_needs_the_admin_token() {
    let daemon = Daemon::start();
    for refused in [
        "CREATE EXTERNAL TABLE secrets (line VARCHAR) STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/out.csv'",
        "INSERT INTO logs (body) VALUES ('x')",
        "SET datafusion.execution.batch_size = 1",
        "DROP TABLE logs",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
    ] {
        let (status, answer) = daemon.sql(refused).await;
        assert_eq!(status, 400, "{refused}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|message| !message.is_empty()),
            "{refused}: {answer}"
        );
    }
    assert_eq!(daemon.sql_value("SELECT count(*) FROM logs").await, json!(0), "still serving");

    let anonymous = reqwest::Client::new()
        .post(format!("http://{}/api/v1/sql", daemon.api))
        .json(&json!({ "sql": "SELECT 1" }))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
}
