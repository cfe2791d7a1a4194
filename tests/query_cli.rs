//! `sightline query`: SQL from the command line against a running daemon, printed as a table.

use std::process::{Command, Output};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;

use crate::payloads::logs_request;
use crate::support::{ADMIN_TOKEN, Daemon};

fn query(daemon: &Daemon, args: &[&str], token_env: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sightline"));
    command.arg("query").arg("--url").arg(format!("http://{}", daemon.api)).args(args);
    command.env_remove("SIGHTLINE_ADMIN_TOKEN");
    if let Some(token) = token_env {
        command.env("SIGHTLINE_ADMIN_TOKEN", token);
    }
    command.output().expect("run sightline query")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn sightline_query_prints_a_table_and_reports_errors() {
    let daemon = Daemon::start();
    LogsServiceClient::connect(daemon.grpc_url())
        .await
        .expect("connect")
        .export(logs_request(3))
        .await
        .expect("export");

    let sql = "SELECT service_name, count(*) AS records FROM logs GROUP BY service_name";
    let output = query(&daemon, &[sql], Some(ADMIN_TOKEN));
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "service_name | records\n-------------+--------\npayments     |       3\n(1 row)\n"
    );

    let output = query(&daemon, &["--token", ADMIN_TOKEN, "SELECT nope FROM logs"], None);
    assert!(!output.status.success(), "a bad query must fail the command");
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: the query failed (400 Bad Request): "), "{stderr}");
    assert!(stderr.contains("nope"), "the API's message names the problem: {stderr}");
    assert!(output.stdout.is_empty());

    let output = query(&daemon, &["--token", "wrong", "SELECT 1"], None);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("401"), "{}", text(&output.stderr));

    let output = query(&daemon, &["SELECT 1"], None);
    assert!(!output.status.success());
    assert_eq!(
        text(&output.stderr),
        "error: no API token: pass --token or set SIGHTLINE_ADMIN_TOKEN\n"
    );

    // More rows than the API returns (10,000): the table says it is cut.
    let output =
        query(&daemon, &["SELECT value FROM generate_series(1, 10005)"], Some(ADMIN_TOKEN));
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.ends_with(
            "(10000 rows; truncated: the result has more rows than the server returns)\n"
        )
    );
}
