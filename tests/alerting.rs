//! Alert rules in the daemon: groups evaluated on their interval over what OTLP brought, alert state that
//! survives a crash, failed evaluations that are not recoveries, and rule files reloaded without losing the
//! last good version.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Daemon};

fn now_ns() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos())
        .expect("time fits")
}

/// A gauge `queue.lag` of the `billing` service (Prometheus: `queue_lag{job="billing", queue=…}`), one point
/// per queue, now.
async fn send_lag(daemon: &Daemon, lags: &[(&str, f64)]) {
    let points: Vec<Value> = lags
        .iter()
        .map(|(queue, lag)| {
            json!({
                "attributes": [{ "key": "queue", "value": { "stringValue": queue } }],
                "timeUnixNano": now_ns().to_string(),
                "asDouble": lag,
            })
        })
        .collect();
    let payload = json!({ "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "billing" } }] },
        "scopeMetrics": [{ "metrics": [
            { "name": "queue.lag", "unit": "{message}", "gauge": { "dataPoints": points } },
        ] }],
    }] });
    post(daemon, "/v1/metrics", payload).await;
}

/// A log record of the `billing` service with `body`, now.
async fn send_log(daemon: &Daemon, body: &str) {
    let payload = json!({ "resourceLogs": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "billing" } }] },
        "scopeLogs": [{ "logRecords": [{
            "timeUnixNano": now_ns().to_string(),
            "body": { "stringValue": body },
        }] }],
    }] });
    post(daemon, "/v1/logs", payload).await;
}

async fn post(daemon: &Daemon, path: &str, payload: Value) {
    let response = reqwest::Client::new()
        .post(daemon.http_url(path))
        .json(&payload)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
}

async fn api(daemon: &Daemon, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(daemon.api_url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("api request");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("a json answer");
    assert_eq!(answer["status"], "success", "{answer}");
    answer["data"].clone()
}

/// Polls `/api/v1/<path>` until `condition` holds on its data, for up to 30 seconds; returns that data.
async fn wait_for(
    daemon: &Daemon,
    path: &str,
    what: &str,
    condition: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let data = api(daemon, path).await;
        if condition(&data) {
            return data;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}: {data}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The active alerts as (alertname, queue or service, state, activeAt), sorted.
fn alerts(data: &Value) -> Vec<(String, String, String, String)> {
    let mut alerts: Vec<(String, String, String, String)> = data["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|alert| {
            let labels = &alert["labels"];
            let subject = labels["queue"].as_str().or(labels["service_name"].as_str());
            (
                labels["alertname"].as_str().unwrap_or_default().to_owned(),
                subject.unwrap_or_default().to_owned(),
                alert["state"].as_str().unwrap_or_default().to_owned(),
                alert["activeAt"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    alerts.sort();
    alerts
}

fn states(data: &Value) -> Vec<(String, String, String)> {
    alerts(data).into_iter().map(|(name, subject, state, _)| (name, subject, state)).collect()
}

const LAG_RULES: &str = "
groups:
  - name: queues
    interval: 500ms
    rules:
      - alert: LagHigh
        expr: queue_lag > 100
        for: 1s
        labels: { severity: page }
        annotations: { summary: 'lag of {{ $labels.queue }} is {{ $value }}' }
      - alert: LagHighForLong
        expr: queue_lag > 100
        for: 30m
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_and_pending_alerts_keep_their_state_and_active_time_across_a_crash() {
    let mut daemon = Daemon::start_with_files(
        json!({ "rule_files": ["rules/*.yaml"] }),
        &[("rules/queues.yaml", LAG_RULES)],
    );
    send_lag(&daemon, &[("emails", 250.0), ("invoices", 3.0)]).await;
    let before = wait_for(&daemon, "/api/v1/alerts", "LagHigh fires", |data| {
        states(data).iter().any(|(name, _, state)| name == "LagHigh" && state == "firing")
    })
    .await;
    let before = alerts(&before);
    assert_eq!(
        before
            .iter()
            .map(|(name, queue, state, _)| (name.as_str(), queue.as_str(), state.as_str()))
            .collect::<Vec<_>>(),
        [("LagHigh", "emails", "firing"), ("LagHighForLong", "emails", "pending")]
    );
    let rules = api(&daemon, "/api/v1/rules").await;
    let lag_high = &rules["groups"][0]["rules"][0];
    assert_eq!(lag_high["state"], "firing", "{rules}");
    assert_eq!(lag_high["health"], "ok");
    assert_eq!(lag_high["alerts"][0]["annotations"]["summary"], "lag of emails is 250");
    assert_eq!(lag_high["alerts"][0]["value"], "2.5e+02");
    assert!(lag_high["evaluations"].as_array().is_some_and(|e| !e.is_empty()), "{rules}");

    // SIGKILL: nothing is saved on the way out, only what each evaluation saved.
    daemon = daemon.crash_and_restart();
    let after =
        wait_for(&daemon, "/api/v1/alerts", "the alerts are back", |data| alerts(data).len() == 2)
            .await;
    assert_eq!(alerts(&after), before, "same states and activeAt after the crash");
}

const SQL_RULES: &str = "
groups:
  - name: logs
    interval: 500ms
    rules:
      - alert: BacklogReported
        sql: >
          SELECT service_name, max(CAST(body AS DOUBLE)) AS value FROM logs
          WHERE timestamp > now() - INTERVAL '10 minutes' GROUP BY service_name
          HAVING max(CAST(body AS DOUBLE)) > 100
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_whose_query_starts_failing_stays_firing_under_keep_last_and_shows_the_error() {
    let daemon = Daemon::start_with_files(
        json!({ "rule_files": ["rules/*.yaml"] }),
        &[("rules/logs.yaml", SQL_RULES)],
    );
    send_log(&daemon, "500").await;
    wait_for(&daemon, "/api/v1/alerts", "the SQL rule fires", |data| {
        states(data) == [("BacklogReported".into(), "billing".into(), "firing".into())]
    })
    .await;

    // A body that is not a number: the query itself now fails on every evaluation.
    send_log(&daemon, "not a number").await;
    let rules = wait_for(&daemon, "/api/v1/rules", "the rule reports its error", |data| {
        data["groups"][0]["rules"][0]["health"] == "err"
    })
    .await;
    let rule = &rules["groups"][0]["rules"][0];
    assert_eq!(rule["queryLanguage"], "sql");
    assert_eq!(rule["onError"], "keep_last");
    assert_eq!(rule["dataState"], "error");
    assert!(rule["lastError"].as_str().is_some_and(|e| e.contains("not a number")), "{rule}");
    assert_eq!(rule["state"], "firing", "a failed evaluation is not a recovery: {rule}");
    let data = api(&daemon, "/api/v1/alerts").await;
    assert_eq!(states(&data), [("BacklogReported".into(), "billing".into(), "firing".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_file_edited_to_be_invalid_keeps_the_old_rules_and_shows_the_error_until_fixed() {
    let daemon = Daemon::start_with_files(
        json!({ "rule_files": ["rules/*.yaml"] }),
        &[("rules/queues.yaml", LAG_RULES)],
    );
    send_lag(&daemon, &[("emails", 250.0)]).await;
    wait_for(&daemon, "/api/v1/alerts", "LagHigh fires", |data| {
        states(data).iter().any(|(name, _, state)| name == "LagHigh" && state == "firing")
    })
    .await;

    let path = daemon.dir.path().join("rules/queues.yaml");
    std::fs::write(
        &path,
        LAG_RULES.replace("queue_lag > 100\n        for: 1s", "queue_lag >\n        for: 1s"),
    )
    .expect("edit the rules");
    let rules = wait_for(&daemon, "/api/v1/rules", "the load error shows", |data| {
        data["loadErrors"].as_array().is_some_and(|errors| !errors.is_empty())
    })
    .await;
    let errors = rules["loadErrors"][0]["errors"].to_string();
    assert!(
        errors
            .contains("group \\\"queues\\\", rule 1, \\\"LagHigh\\\": could not parse expression"),
        "{errors}"
    );
    assert!(daemon.metric("sightline_rules_files_failing").await == 1.0);
    // The old rules keep running: LagHigh keeps firing and is evaluated again.
    let evaluated = rules["groups"][0]["lastEvaluation"].clone();
    wait_for(&daemon, "/api/v1/rules", "the old rules evaluate again", |data| {
        data["groups"][0]["lastEvaluation"] != evaluated
            && data["groups"][0]["rules"][0]["state"] == "firing"
    })
    .await;

    // Fixed, with a higher threshold: the new version applies and the alert resolves.
    std::fs::write(&path, LAG_RULES.replace("> 100", "> 1000")).expect("fix the rules");
    wait_for(&daemon, "/api/v1/alerts", "the new rules apply", |data| alerts(data).is_empty())
        .await;
    let rules = api(&daemon, "/api/v1/rules").await;
    assert_eq!(rules["loadErrors"], json!([]));
    assert_eq!(rules["groups"][0]["rules"][0]["query"], "queue_lag > 1000");
}

const RECORDING_RULES: &str = "
groups:
  - name: recorded
    interval: 500ms
    rules:
      - record: job:queue_lag:max
        expr: max by (job) (queue_lag)
        labels: { source: rule }
      - alert: RecordedLagHigh
        expr: job:queue_lag:max > 100
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_series_are_stored_and_read_back_by_the_rules_after_them_and_by_queries() {
    let daemon = Daemon::start_with_files(
        json!({ "rule_files": ["rules/*.yaml"] }),
        &[("rules/recorded.yaml", RECORDING_RULES)],
    );
    send_lag(&daemon, &[("emails", 250.0), ("invoices", 3.0)]).await;
    // The alert reads what the recording rule before it wrote at the same evaluation.
    wait_for(&daemon, "/api/v1/alerts", "the alert over the recorded series fires", |data| {
        states(data).iter().any(|(name, _, state)| name == "RecordedLagHigh" && state == "firing")
    })
    .await;
    let response = reqwest::Client::new()
        .get(daemon.api_url("/api/v1/query?query=job%3Aqueue_lag%3Amax"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("query");
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        answer["data"]["result"][0]["metric"],
        json!({ "__name__": "job:queue_lag:max", "job": "billing", "source": "rule" }),
        "{answer}"
    );
    assert_eq!(answer["data"]["result"][0]["value"][1], "250");
    // ALERTS is stored the same way.
    let stored = daemon
        .sql_value("SELECT count(*) FROM metrics WHERE metric_name = 'ALERTS' AND scope_name = 'sightline.rules'")
        .await;
    assert!(stored.as_i64().is_some_and(|count| count > 0), "{stored}");
    // Rules read them from the recent samples held in memory: the lag series, the recording, ALERTS.
    assert!(daemon.metric("sightline_rules_recent_series").await >= 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_backtest_replays_a_rule_file_over_the_stored_history() {
    let daemon = Daemon::start();
    // queue.lag of `emails` every minute for 20 minutes: 500 from minute 5 to minute 12, else 0.
    let minute_ns = 60_000_000_000;
    let base = (now_ns() - 20 * minute_ns) / minute_ns * minute_ns;
    let points: Vec<Value> = (0..=20)
        .map(|i| {
            json!({
                "attributes": [{ "key": "queue", "value": { "stringValue": "emails" } }],
                "timeUnixNano": (base + i * minute_ns).to_string(),
                "asDouble": if (5..=12).contains(&i) { 500.0 } else { 0.0 },
            })
        })
        .collect();
    let payload = json!({ "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "billing" } }] },
        "scopeMetrics": [{ "metrics": [
            { "name": "queue.lag", "unit": "{message}", "gauge": { "dataPoints": points } },
        ] }],
    }] });
    post(&daemon, "/v1/metrics", payload).await;
    let rules = daemon.dir.path().join("backtest.rules.yaml");
    std::fs::write(
        &rules,
        "groups:\n  - name: queues\n    interval: 1m\n    rules:\n      - alert: LagHigh\n        expr: queue_lag > 100\n        for: 2m\n",
    )
    .expect("write rules");
    let seconds = |ns: i64| (ns / 1_000_000_000).to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["rules", "backtest", "--url", &daemon.api_url(""), "--token", ADMIN_TOKEN])
        .args(["--from", &seconds(base), "--to", &seconds(base + 20 * minute_ns)])
        .arg(&rules)
        .output()
        .expect("run sightline rules backtest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let at = |minute: i64| {
        chrono::DateTime::from_timestamp_nanos(base + minute * minute_ns)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    let alert = r#"LagHigh{job="billing", queue="emails"}"#;
    assert_eq!(
        stdout,
        format!(
            "{}  queues  {alert}  inactive -> pending  value 5e+02\n\
             {}  queues  {alert}  pending -> firing  value 5e+02\n\
             {}  queues  {alert}  firing -> inactive  value 5e+02\n\
             3 state changes\n",
            at(5),
            at(7),
            at(13)
        )
    );
}
