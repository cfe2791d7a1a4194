//! The SQL endpoint through the router, as a client sees it: auth, JSON shape, Arrow IPC, error bodies.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sightline_storage::QueryLimits;
use tower::ServiceExt;

use super::{ARROW_STREAM, TRUNCATED_HEADER};
use crate::api::tests::{TOKEN, app_with};

fn app() -> axum::Router {
    app_with(QueryLimits::default(), Some(TOKEN))
}

fn sql_request(sql: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/api/v1/sql");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(json!({ "sql": sql }).to_string())).expect("request")
}

async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

#[tokio::test]
async fn requests_without_credentials_or_with_a_wrong_token_are_unauthorized() {
    let (status, body) = send(app(), sql_request("SELECT 1", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({ "error": "log in, or send an API token" }));
    for token in ["wrong", "s3cret-admin-toke", ""] {
        let (status, body) = send(app(), sql_request("SELECT 1", Some(token))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body, json!({ "error": "missing or invalid bearer token" }));
    }
}

#[tokio::test]
async fn without_a_configured_token_no_bearer_token_is_accepted() {
    for configured in [None, Some("")] {
        let app = app_with(QueryLimits::default(), configured);
        let (status, body) = send(app, sql_request("SELECT 1", Some(""))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, json!({ "error": "missing or invalid bearer token" }));
    }
}

#[tokio::test]
async fn results_are_json_columns_and_rows() {
    let sql = "SELECT 1 AS n, 'a' AS s, NULL AS z, true AS b, 1.5 AS f, \
        arrow_cast(1704164400000000006, 'Timestamp(Nanosecond, Some(\"UTC\"))') AS t, \
        map(['http.route'], ['/pay']) AS m, [1, 2] AS l, named_struct('x', 1, 'y', 'two') AS st";
    let (status, body) = send(app(), sql_request(sql, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["n", "s", "z", "b", "f", "t", "m", "l", "st"]);
    assert_eq!(body["columns"][0]["type"], "Int64");
    assert_eq!(
        body["rows"],
        json!([[
            1,
            "a",
            null,
            true,
            1.5,
            "2024-01-02T03:00:00.000000006Z",
            { "http.route": "/pay" },
            [1, 2],
            { "x": 1, "y": "two" }
        ]])
    );
    assert_eq!(body["truncated"], false);
}

#[tokio::test]
async fn truncated_results_say_so() {
    let limits = QueryLimits { max_rows: 3, ..QueryLimits::default() };
    let app = app_with(limits, Some(TOKEN));
    let (status, body) =
        send(app, sql_request("SELECT value FROM generate_series(1, 10)", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["rows"], json!([[1], [2], [3]]));
    assert_eq!(body["truncated"], true);
}

#[tokio::test]
async fn arrow_clients_get_an_ipc_stream() {
    let limits = QueryLimits { max_rows: 3, ..QueryLimits::default() };
    let app = app_with(limits, Some(TOKEN));
    let mut request = sql_request("SELECT value FROM generate_series(1, 10)", Some(TOKEN));
    request.headers_mut().insert(header::ACCEPT, ARROW_STREAM.parse().expect("header"));
    let response = app.oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ARROW_STREAM);
    assert_eq!(response.headers()[TRUNCATED_HEADER], "true");
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).expect("ipc");
    let rows: usize = reader.map(|batch| batch.expect("batch").num_rows()).sum();
    assert_eq!(rows, 3);
}

#[tokio::test]
async fn errors_have_one_body_and_a_status_per_kind() {
    let cases = [
        ("DROP TABLE logs", "only SELECT queries are allowed (got DROP TABLE)"),
        ("SELECT nope FROM logs", "nope"),
    ];
    for (sql, fragment) in cases {
        let (status, body) = send(app(), sql_request(sql, Some(TOKEN))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sql}: {body}");
        let message = body["error"].as_str().expect("error message");
        assert!(message.contains(fragment), "{sql}: {message}");
        assert_eq!(body.as_object().expect("object").len(), 1);
    }

    let request = Request::post("/api/v1/sql")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from("{\"query\": 1"))
        .expect("request");
    let (status, body) = send(app(), request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("message").starts_with("invalid request body"));

    let limits = QueryLimits { memory_bytes: 1024 * 1024, ..QueryLimits::default() };
    let sql = "SELECT value FROM generate_series(1, 3000000) ORDER BY value DESC";
    let (status, body) = send(app_with(limits, Some(TOKEN)), sql_request(sql, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("message").contains("memory limit"), "{body}");

    let limits = QueryLimits { timeout: Duration::from_millis(50), ..QueryLimits::default() };
    let sql = "SELECT sum(value) FROM generate_series(1, 100000000000)";
    let (status, body) = send(app_with(limits, Some(TOKEN)), sql_request(sql, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, json!({ "error": "query exceeded its time limit" }));
}
