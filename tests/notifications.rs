//! Notifications end to end: metrics sent by the OpenTelemetry SDK make a rule fire, and the alert reaches a
//! webhook receiver as Alertmanager's version-4 payload, signed, with an idempotency key; its resolution
//! follows. Webhooks to metadata and private addresses, and redirects to another host, are refused.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::post;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{MetricExporter, Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Daemon};

/// One request a test receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    /// What the receiver answered.
    answered: StatusCode,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a json body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }
}

/// An HTTP server that records every request to `/hook` and answers it with the status set by
/// [`Receiver::answer`] (200 at first); `/redirect` answers 302 to `redirect_to`.
#[derive(Debug, Clone)]
struct Receiver {
    address: std::net::SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<StatusCode>>,
}

impl Receiver {
    async fn start(redirect_to: Option<String>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Receiver::serve(listener, redirect_to)
    }

    fn serve(listener: tokio::net::TcpListener, redirect_to: Option<String>) -> Receiver {
        let receiver = Receiver {
            address: listener.local_addr().expect("address"),
            received: Arc::default(),
            status: Arc::new(Mutex::new(StatusCode::OK)),
        };
        let record = |State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes| async move {
            let answered = *receiver.status.lock().expect("lock");
            let body = body.to_vec();
            receiver.received.lock().expect("lock").push(Received { headers, body, answered });
            answered
        };
        let target = redirect_to.unwrap_or_default();
        let app = Router::new()
            .route("/hook", post(record))
            .route(
                "/redirect",
                post(move || async move { Redirect::temporary(&target).into_response() }),
            )
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        receiver
    }

    /// Answers every following request with `status`.
    fn answer(&self, status: StatusCode) {
        *self.status.lock().expect("lock") = status;
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// The requests answered with 200.
    fn accepted(&self) -> Vec<Received> {
        self.requests().into_iter().filter(|r| r.answered == StatusCode::OK).collect()
    }

    /// Waits up to 30 s until `count` requests arrived; returns them.
    async fn wait_for(&self, count: usize, what: &str) -> Vec<Received> {
        self.wait_until(what, |requests| requests.len() >= count).await
    }

    /// Waits up to 30 s until `condition` holds on the requests so far; returns them.
    async fn wait_until(
        &self,
        what: &str,
        condition: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let requests = self.requests();
            if condition(&requests) {
                return requests;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {requests:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Records `queue.lag` of the `billing` service with the OpenTelemetry SDK and exports it over OTLP/HTTP.
async fn send_lag(daemon: &Daemon, queue: &'static str, lag: f64) {
    let endpoint = daemon.http_url("/v1/metrics");
    tokio::task::spawn_blocking(move || {
        let exporter = MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .expect("exporter");
        let provider = SdkMeterProvider::builder()
            .with_resource(Resource::builder().with_service_name("billing").build())
            .with_periodic_exporter(exporter)
            .build();
        let meter = provider.meter("billing.queues");
        meter.f64_gauge("queue.lag").build().record(lag, &[KeyValue::new("queue", queue)]);
        provider.shutdown().expect("metric export");
    })
    .await
    .expect("sdk session");
}

const RULES: &str = "
groups:
  - name: queues
    interval: 500ms
    rules:
      - alert: LagHigh
        expr: queue_lag > 100
        labels: { severity: page }
        annotations: { summary: 'lag of {{ $labels.queue }} is {{ $value }}' }
";

const SIGNING_SECRET: &str = "a-shared-secret";

fn alertmanager_yml(url: &str) -> String {
    format!(
        "
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: '{url}'
        signing_secret: {SIGNING_SECRET}
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_a_webhook_as_version_4_payload_and_so_does_its_resolution() {
    let receiver = Receiver::start(None).await;
    let alertmanager = alertmanager_yml(&receiver.url("/hook"));
    let external_url = json!({ "http": { "external_url": "https://sightline.example.com/" } });
    let daemon = start_daemon_with(RULES, &alertmanager, external_url);
    send_lag(&daemon, "emails", 250.0).await;
    let firing = receiver.wait_for(1, "the firing notification").await.remove(0);
    let payload = firing.json();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["externalURL"], "https://sightline.example.com");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["receiver"], "hook");
    assert_eq!(payload["groupKey"], r#"{}:{alertname="LagHigh"}"#);
    assert_eq!(payload["groupLabels"], json!({ "alertname": "LagHigh" }));
    assert_eq!(payload["truncatedAlerts"], 0);
    let alert = &payload["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["queue"], "emails");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "lag of emails is 250");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        alert["generatorURL"],
        "https://sightline.example.com/graph?g0.expr=queue_lag+%3E+100&g0.tab=1"
    );
    assert_eq!(alert["fingerprint"].as_str().map(str::len), Some(16));
    assert_eq!(firing.header("content-type"), "application/json");
    assert_eq!(firing.header("idempotency-key").len(), 36, "a UUID");
    check_signature(&firing);

    send_lag(&daemon, "emails", 3.0).await;
    let requests = receiver.wait_for(2, "the resolved notification").await;
    let resolved = requests[1].json();
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(resolved["alerts"][0]["startsAt"], alert["startsAt"]);
    assert_ne!(requests[1].header("idempotency-key"), firing.header("idempotency-key"));
    assert_eq!(daemon.metric(r#"sightline_notify_delivery_attempts_total{receiver="hook",integration="webhook_configs[0]",outcome="delivered"}"#).await, 2.0);
}

/// The signature header is `t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
fn check_signature(request: &Received) {
    let header = request.header("x-sightline-signature");
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {header:?}"));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SIGNING_SECRET.as_bytes());
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&request.body);
    let expected = hex::encode(ring::hmac::sign(&key, &signed).as_ref());
    assert_eq!(v1, expected, "the signature verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_metadata_and_private_addresses_and_redirects_to_another_host_are_refused() {
    let target = Receiver::start(None).await;
    // The redirect leads to the same port under another name: another host.
    let elsewhere = format!("http://localhost:{}/hook", target.address.port());
    let redirecting = Receiver::start(Some(elsewhere)).await;
    let alertmanager = format!(
        "
route:
  receiver: metadata
  group_wait: 0s
  group_interval: 1s
  routes:
    - {{ receiver: metadata, continue: true }}
    - {{ receiver: private, continue: true }}
    - {{ receiver: redirect }}
receivers:
  - name: metadata
    webhook_configs: [{{ url: 'http://169.254.169.254/latest/meta-data/' }}]
  - name: private
    webhook_configs: [{{ url: 'http://10.255.255.1/hook' }}]
  - name: redirect
    webhook_configs: [{{ url: '{}' }}]
",
        redirecting.url("/redirect")
    );
    let daemon = start_daemon(RULES, &alertmanager, json!({}));
    send_lag(&daemon, "emails", 250.0).await;
    let dead = |receiver: &str| {
        format!(
            r#"sightline_notify_delivery_attempts_total{{receiver="{receiver}",integration="webhook_configs[0]",outcome="dead"}}"#
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    for receiver in ["metadata", "private", "redirect"] {
        while daemon.metric(&dead(receiver)).await < 1.0 {
            assert!(Instant::now() < deadline, "{receiver} was not refused: {:?}", daemon.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(target.requests().is_empty(), "the redirect was not followed");
    let log = daemon.log().join("\n");
    for reason in [
        "169.254.169.254 is a link-local, cloud metadata or unusable address",
        "10.255.255.1 is a loopback or private address",
        "redirect to another host (localhost) refused",
    ] {
        assert!(log.contains(reason), "{reason:?} not in the log:\n{log}");
    }
}

/// A stand-in for Slack's Web API (`chat.postMessage`, `chat.update`) that checks each request as Slack's
/// documentation describes it (JSON with a charset, a bot token, a channel, text or blocks within Block Kit's
/// limits; `chat.update` only of a message it posted, by channel ID and `ts`) and answers as Slack does: HTTP
/// 200 with `ok` and, on failure, Slack's error name.
#[derive(Debug, Clone, Default)]
struct SlackStandIn {
    /// Every accepted call: (method, body).
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    /// Every refused call: (method, Slack's error).
    refused: Arc<Mutex<Vec<(String, String)>>>,
    /// The posted messages' `ts`.
    posted: Arc<Mutex<Vec<String>>>,
}

const SLACK_TOKEN: &str = "xoxb-test-token";
const SLACK_CHANNEL_ID: &str = "C0123ALERTS";

impl SlackStandIn {
    async fn start(self) -> std::net::SocketAddr {
        let call = |method: &'static str| {
            move |State(slack): State<SlackStandIn>, headers: HeaderMap, body: Bytes| async move {
                let answer = match slack.check(method, &headers, &body) {
                    Ok(answer) => answer,
                    Err(error) => {
                        slack
                            .refused
                            .lock()
                            .expect("lock")
                            .push((method.to_owned(), error.to_owned()));
                        json!({ "ok": false, "error": error })
                    }
                };
                ([(axum::http::header::CONTENT_TYPE, "application/json")], answer.to_string())
            }
        };
        let app = Router::new()
            .route("/api/chat.postMessage", post(call("chat.postMessage")))
            .route("/api/chat.update", post(call("chat.update")))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        address
    }

    fn check(&self, method: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, &'static str> {
        let header =
            |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if header("content-type") != "application/json; charset=utf-8" {
            return Err("invalid_form_data");
        }
        match header("authorization").strip_prefix("Bearer ") {
            None => return Err("not_authed"),
            Some(token) if token != SLACK_TOKEN => return Err("invalid_auth"),
            Some(_) => {}
        }
        let body: Value = serde_json::from_slice(body).map_err(|_| "invalid_json")?;
        let channel = body["channel"].as_str().ok_or("channel_not_found")?;
        let has_content =
            body["text"].is_string() || body["blocks"].is_array() || body["attachments"].is_array();
        if !has_content {
            return Err("no_text");
        }
        check_blocks(&body)?;
        let answer = match method {
            "chat.postMessage" => {
                if channel != "#alerts" && channel != SLACK_CHANNEL_ID {
                    return Err("channel_not_found");
                }
                if let Some(thread) = body["thread_ts"].as_str()
                    && !self.posted.lock().expect("lock").iter().any(|ts| ts == thread)
                {
                    return Err("thread_not_found");
                }
                let mut posted = self.posted.lock().expect("lock");
                let ts = format!("1700000000.{:06}", posted.len() + 1);
                posted.push(ts.clone());
                json!({ "ok": true, "channel": SLACK_CHANNEL_ID, "ts": ts, "message": { "text": body["text"] } })
            }
            _ => {
                // chat.update needs the channel's ID, not its name, and a message that exists.
                if channel != SLACK_CHANNEL_ID {
                    return Err("channel_not_found");
                }
                let ts = body["ts"].as_str().ok_or("message_not_found")?;
                if !self.posted.lock().expect("lock").iter().any(|posted| posted == ts) {
                    return Err("message_not_found");
                }
                json!({ "ok": true, "channel": channel, "ts": ts, "text": body["text"] })
            }
        };
        self.calls.lock().expect("lock").push((method.to_owned(), body));
        Ok(answer)
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().expect("lock").clone()
    }

    async fn wait_for(&self, count: usize, what: &str) -> Vec<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let calls = self.calls();
            if calls.len() >= count {
                return calls;
            }
            let refused = self.refused.lock().expect("lock").clone();
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {calls:?}, refused {refused:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Block Kit's limits: at most 50 blocks; a header's plain text at most 150 characters, a section's text at
/// most 3000; at most 25 elements in an actions block, each button with text and an http(s) URL.
fn check_blocks(body: &Value) -> Result<(), &'static str> {
    let attachments = body["attachments"].as_array().cloned().unwrap_or_default();
    let mut blocks: Vec<Value> = body["blocks"].as_array().cloned().unwrap_or_default();
    for attachment in &attachments {
        blocks.extend(attachment["blocks"].as_array().cloned().unwrap_or_default());
    }
    if blocks.len() > 50 {
        return Err("invalid_blocks");
    }
    for block in &blocks {
        let ok = match block["type"].as_str() {
            Some("header") => {
                block["text"]["type"] == "plain_text"
                    && block["text"]["text"]
                        .as_str()
                        .is_some_and(|t| !t.is_empty() && t.chars().count() <= 150)
            }
            Some("section") => {
                block["text"]["text"].as_str().is_some_and(|t| t.chars().count() <= 3000)
            }
            Some("context") => {
                block["elements"].as_array().is_some_and(|e| !e.is_empty() && e.len() <= 10)
            }
            Some("actions") => block["elements"].as_array().is_some_and(|elements| {
                elements.len() <= 25
                    && elements.iter().all(|button| {
                        button["type"] == "button"
                            && button["text"]["type"] == "plain_text"
                            && button["url"].as_str().is_some_and(|url| url.starts_with("http"))
                    })
            }),
            Some("divider") => true,
            _ => false,
        };
        if !ok {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_one_slack_message_posted_then_updated_as_alerts_join_and_resolve() {
    let slack = SlackStandIn::default();
    let address = slack.clone().start().await;
    let alertmanager = format!(
        "
route:
  receiver: slack
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: slack
    slack_configs:
      - api_url: 'http://{address}/api/chat.postMessage'
        channel: '#alerts'
        http_config:
          authorization: {{ credentials: {SLACK_TOKEN} }}
"
    );
    let daemon = start_daemon(RULES, &alertmanager, json!({}));
    send_lag(&daemon, "emails", 250.0).await;
    let calls = slack.wait_for(1, "chat.postMessage").await;
    assert_eq!(calls[0].0, "chat.postMessage");
    assert_eq!(calls[0].1["text"], "[FIRING:1] LagHigh (billing emails page)");

    send_lag(&daemon, "invoices", 300.0).await;
    let calls = slack.wait_for(2, "chat.update when the second alert joins").await;
    assert_eq!(calls[1].0, "chat.update");
    assert_eq!(calls[1].1["ts"], "1700000000.000001");
    assert_eq!(calls[1].1["channel"], SLACK_CHANNEL_ID);
    assert_eq!(calls[1].1["text"], "[FIRING:2] LagHigh (billing page)");

    send_lag(&daemon, "emails", 1.0).await;
    send_lag(&daemon, "invoices", 2.0).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let calls = slack.calls();
        let last = calls.last().cloned().expect("calls");
        if last.1["text"] == "[RESOLVED] LagHigh (billing page)" {
            break calls;
        }
        assert!(Instant::now() < deadline, "no resolved update: {calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        last[1..].iter().all(|(method, _)| method == "chat.update"),
        "one incident, one message: {last:?}"
    );
    assert_eq!(last.last().expect("a call").1["attachments"][0]["color"], "#2eb886");
    assert!(slack.refused.lock().expect("lock").is_empty(), "every request was valid");
}

/// A real SMTP server process (aiosmtpd, from PyPI, in the test virtualenv) that keeps every message in a
/// maildir; killed when dropped.
struct SmtpServer {
    process: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let python =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/test once (it installs aiosmtpd)",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("address")
            .port();
        let maildir = tempfile::tempdir().expect("maildir");
        let process = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer { process, port, maildir }
    }

    /// The last message stored within 30 s; fails the test, with the daemon's log, if none arrives.
    async fn wait_for_message(&self, daemon: &Daemon) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(message) = self.messages().pop() {
                return message;
            }
            assert!(Instant::now() < deadline, "no email arrived: {:?}", daemon.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Each stored message, parsed by Python's `email` package: subject, from, to, content type, the
    /// notification id header, and each part's content type and text.
    fn messages(&self) -> Vec<Value> {
        let new = self.maildir.path().join("mail/new");
        let mut paths: Vec<_> = std::fs::read_dir(&new)
            .map(|entries| entries.filter_map(|entry| entry.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        let python =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
        const PARSE: &str = "import email, email.policy, json, sys\n\
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
            parts = [{'type': p.get_content_type(), 'text': p.get_content()} for p in m.iter_parts()]\n\
            print(json.dumps({'subject': m['subject'], 'from': m['from'], 'to': m['to'], \
            'type': m.get_content_type(), 'id': m['X-Sightline-Notification-Id'], 'parts': parts}))";
        paths
            .iter()
            .map(|path| {
                let output = std::process::Command::new(&python)
                    .args(["-c", PARSE])
                    .arg(path)
                    .output()
                    .expect("parse the message");
                assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                serde_json::from_slice(&output.stdout).expect("json")
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_arrives_by_email_at_a_real_smtp_server_as_a_multipart_message() {
    let smtp = SmtpServer::start();
    let alertmanager = format!(
        "
global:
  smtp_smarthost: '127.0.0.1:{}'
  smtp_from: 'sightline <alerts@example.org>'
  smtp_require_tls: false
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: mail
    email_configs:
      - to: 'oncall@example.org, team@example.org'
        headers: {{ X-Team: billing }}
",
        smtp.port
    );
    let daemon = start_daemon(RULES, &alertmanager, json!({}));
    send_lag(&daemon, "emails", 250.0).await;
    let message = smtp.wait_for_message(&daemon).await;
    assert_eq!(message["subject"], "[FIRING:1] LagHigh (billing emails page)");
    assert_eq!(message["from"], "sightline <alerts@example.org>");
    assert_eq!(message["to"], "oncall@example.org, team@example.org");
    assert_eq!(message["type"], "multipart/alternative");
    assert_eq!(message["id"].as_str().map(str::len), Some(36));
    let parts = message["parts"].as_array().expect("parts");
    assert_eq!(parts[0]["type"], "text/plain");
    assert!(
        parts[0]["text"].as_str().is_some_and(|t| t.contains("lag of emails is 250")),
        "{message}"
    );
    assert_eq!(parts[1]["type"], "text/html");
    assert!(parts[1]["text"].as_str().is_some_and(|t| t.contains("<h2")), "{message}");
}

/// The templates of an existing `alertmanager.yml` render: `define`s from its `templates:` files, a templated
/// `Subject`, `html` and `text`, here given inline in `sightline.yaml` as `notifications:`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_renders_the_configured_templates_and_the_defines_of_template_files() {
    let smtp = SmtpServer::start();
    let templates = r#"
{{ define "mail.subject" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} on {{ .CommonLabels.queue }}{{ end }}
{{ define "mail.html" }}<h1>{{ .CommonLabels.alertname }}</h1>{{ range .Alerts.Firing }}<p>{{ .Annotations.summary }} &lt;{{ .Labels.queue }}&gt;</p>{{ end }}{{ end }}
"#;
    let notifications = json!({
        "global": {
            "smtp_smarthost": format!("127.0.0.1:{}", smtp.port),
            "smtp_from": "alerts@example.org",
            "smtp_require_tls": false,
        },
        "templates": ["templates/*.tmpl"],
        "route": { "receiver": "mail", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s" },
        "receivers": [{
            "name": "mail",
            "email_configs": [{
                "to": "oncall@example.org",
                "headers": { "Subject": "{{ template \"mail.subject\" . }}" },
                "html": "{{ template \"mail.html\" . }}",
                "text": "{{ range .Alerts }}{{ .Labels.severity }}: {{ .Annotations.summary }}{{ end }}",
            }],
        }],
    });
    let daemon = Daemon::start_with_files(
        json!({
            "rule_files": ["rules/*.yaml"],
            "notifications": notifications,
            "outbound": { "allow": ["127.0.0.1"] },
        }),
        &[("rules/queues.yaml", RULES), ("templates/mail.tmpl", templates)],
    );
    send_lag(&daemon, "emails", 250.0).await;
    let message = smtp.wait_for_message(&daemon).await;
    assert_eq!(message["subject"], "[FIRING] LagHigh on emails");
    let parts = message["parts"].as_array().expect("parts");
    assert_eq!(
        parts[0]["text"].as_str().map(str::trim),
        Some("page: lag of emails is 250"),
        "{message}"
    );
    assert_eq!(
        parts[1]["text"].as_str().map(str::trim),
        Some("<h1>LagHigh</h1><p>lag of emails is 250 &lt;emails&gt;</p>"),
        "{message}"
    );
}

/// A daemon with `rules` and `alertmanager` (an `alertmanager.yml`), allowed to reach 127.0.0.1, with
/// `outbound` settings besides.
fn start_daemon(rules: &str, alertmanager: &str, outbound: Value) -> Daemon {
    start_daemon_with(rules, alertmanager, json!({ "outbound": outbound }))
}

/// The same, with `overrides` of the rest of the configuration.
fn start_daemon_with(rules: &str, alertmanager: &str, overrides: Value) -> Daemon {
    let mut config = overrides;
    config["outbound"]["allow"] = json!(["127.0.0.1"]);
    config["rule_files"] = json!(["rules/*.yaml"]);
    config["notifications_file"] = json!("alertmanager.yml");
    Daemon::start_with_files(
        config,
        &[("rules/queues.yaml", rules), ("alertmanager.yml", alertmanager)],
    )
}

/// A daemon whose rule fires on `queue.lag` and notifies `receiver`'s `/hook`, with `outbound` settings.
fn daemon_notifying(receiver: &Receiver, outbound: Value) -> Daemon {
    let alertmanager = format!(
        "
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 500ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{{ url: '{}' }}]
",
        receiver.url("/hook")
    );
    start_daemon(RULES, &alertmanager, outbound)
}

const HOOK: &str = r#"receiver="hook",integration="webhook_configs[0]""#;

/// Polls a `/metrics` series until `condition` holds on its value, for up to `within`.
async fn wait_for_metric(
    daemon: &Daemon,
    series: &str,
    within: Duration,
    condition: impl Fn(f64) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let value = daemon.metric(series).await;
        if condition(value) {
            return;
        }
        assert!(Instant::now() < deadline, "{series} stayed at {value}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The firing queues a webhook payload lists.
fn firing_queues(request: &Received) -> Vec<String> {
    let payload = request.json();
    let alerts = payload["alerts"].as_array().cloned().unwrap_or_default();
    alerts
        .iter()
        .filter(|alert| alert["status"] == "firing")
        .map(|alert| alert["labels"]["queue"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_pending_when_the_daemon_is_killed_is_delivered_once_after_the_restart() {
    let receiver = Receiver::start(None).await;
    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    let daemon =
        daemon_notifying(&receiver, json!({ "retry": { "initial": "200ms", "max": "500ms" } }));
    send_lag(&daemon, "emails", 250.0).await;
    // It is in the outbox (it was tried) and not delivered.
    let tried = receiver.wait_for(1, "the first attempt").await;
    let key = tried[0].header("idempotency-key").to_owned();

    // SIGKILL: nothing is done on the way out.
    let daemon = daemon.crash_and_restart();
    receiver.answer(StatusCode::OK);
    let delivered = receiver
        .wait_until("the delivery after the restart", |r| {
            r.iter().any(|r| r.answered == StatusCode::OK)
        })
        .await;
    let accepted: Vec<&Received> =
        delivered.iter().filter(|r| r.answered == StatusCode::OK).collect();
    assert_eq!(accepted[0].header("idempotency-key"), key, "the same notification, not a new one");
    // The restarted daemon evaluates the firing alert again; its group already told the receiver.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.accepted().len(), 1, "delivered once: {:?}", receiver.requests());
    assert_eq!(daemon.metric("sightline_notify_outbox_pending").await, 0.0);
}

/// How long the receiver of the outage test fails.
const OUTAGE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_for_two_minutes_gets_everything_and_its_breaker_opens_and_closes() {
    let receiver = Receiver::start(None).await;
    receiver.answer(StatusCode::INTERNAL_SERVER_ERROR);
    let daemon = daemon_notifying(
        &receiver,
        json!({
            "retry": { "initial": "200ms", "max": "2s", "give_up_after": "10m" },
            "breaker": { "failures": 3, "open_for": "3s" },
        }),
    );
    let started = Instant::now();
    send_lag(&daemon, "emails", 250.0).await;
    let breaker = format!("sightline_notify_breaker_state{{{HOOK}}}");
    wait_for_metric(&daemon, &breaker, Duration::from_secs(30), |state| state == 1.0).await;
    let (_, integrations) =
        api_request(&daemon, reqwest::Method::GET, "/api/v1/notifications/integrations", None)
            .await;
    let hook = &integrations["data"]["integrations"][0];
    assert_eq!((&hook["receiver"], &hook["breaker"]), (&json!("hook"), &json!("open")), "{hook}");
    assert!(hook["openUntil"].is_string(), "{hook}");
    // More happens during the outage: a second alert joins, the first resolves.
    send_lag(&daemon, "invoices", 300.0).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    send_lag(&daemon, "emails", 1.0).await;
    tokio::time::sleep(OUTAGE.saturating_sub(started.elapsed())).await;
    let during = receiver.requests();
    assert!(during.iter().all(|r| r.answered == StatusCode::INTERNAL_SERVER_ERROR));
    // Attempts were spread out by the backoff and the open breaker, not hammered.
    assert!(during.len() < 200, "{} attempts in two minutes", during.len());

    receiver.answer(StatusCode::OK);
    wait_for_metric(&daemon, "sightline_notify_outbox_pending", Duration::from_secs(30), |n| {
        n == 0.0
    })
    .await;
    wait_for_metric(&daemon, &breaker, Duration::from_secs(5), |state| state == 0.0).await;
    let (_, integrations) =
        api_request(&daemon, reqwest::Method::GET, "/api/v1/notifications/integrations", None)
            .await;
    assert_eq!(integrations["data"]["integrations"][0]["breaker"], "closed", "{integrations}");
    assert_eq!(integrations["data"]["pending"], 0);
    let (_, deliveries) =
        api_request(&daemon, reqwest::Method::GET, "/api/v1/notifications/deliveries", None).await;
    let deliveries = deliveries["data"].as_array().expect("deliveries");
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"), "{deliveries:?}");
    assert!(
        deliveries.iter().any(|d| d["attempts"].as_u64() > Some(1) && d["lastError"].is_string()),
        "the outage's failures are kept with the deliveries: {deliveries:?}"
    );
    // Every notification tried during the outage was delivered in the end.
    let keys: Vec<String> = during.iter().map(|r| r.header("idempotency-key").to_owned()).collect();
    let accepted = receiver.accepted();
    for key in &keys {
        assert!(accepted.iter().any(|r| r.header("idempotency-key") == key), "{key} was lost");
    }
    let last = accepted.last().expect("a delivery");
    assert_eq!(firing_queues(last), ["invoices"], "the last word is the current state");
    assert_eq!(daemon.metric("sightline_notify_dead_letters").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_recovers_leaves_a_dead_letter_that_a_replay_delivers() {
    let receiver = Receiver::start(None).await;
    receiver.answer(StatusCode::BAD_GATEWAY);
    let daemon = daemon_notifying(
        &receiver,
        // The breaker stays closed: this is about the retry budget.
        json!({
            "retry": { "initial": "100ms", "max": "200ms", "give_up_after": "2s" },
            "breaker": { "failures": 1000 },
        }),
    );
    send_lag(&daemon, "emails", 250.0).await;
    wait_for_metric(&daemon, "sightline_notify_dead_letters", Duration::from_secs(30), |n| {
        n == 1.0
    })
    .await;
    let client = reqwest::Client::new();
    let letters: Value = client
        .get(daemon.api_url("/api/v1/notifications/dead_letters"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("dead letters")
        .json()
        .await
        .expect("json");
    let letter = &letters["data"][0];
    assert_eq!(letter["receiver"], "hook");
    assert!(letter["lastError"].as_str().is_some_and(|e| e.contains("502")), "{letters}");
    assert_eq!(letter["message"]["alerts"][0]["labels"]["queue"], "emails");
    let (_, deliveries) =
        api_request(&daemon, reqwest::Method::GET, "/api/v1/notifications/deliveries", None).await;
    let newest = &deliveries["data"][0];
    assert_eq!((&newest["id"], &newest["status"]), (&letter["id"], &json!("dead")), "{deliveries}");
    assert_eq!((&newest["firing"], &newest["resolved"]), (&json!(1), &json!(0)));

    receiver.answer(StatusCode::OK);
    let replay = client
        .post(
            daemon.api_url(&format!("/api/v1/notifications/dead_letters/{}/replay", letter["id"])),
        )
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), 200);
    let requests = receiver
        .wait_until("the replayed delivery", |r| r.iter().any(|r| r.answered == StatusCode::OK))
        .await;
    let keys: Vec<&str> = requests.iter().map(|r| r.header("idempotency-key")).collect();
    assert!(
        keys.windows(2).all(|pair| pair[0] == pair[1]),
        "one notification throughout: {keys:?}"
    );
    wait_for_metric(&daemon, "sightline_notify_dead_letters", Duration::from_secs(5), |n| n == 0.0)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_notification_from_the_api_reaches_the_receiver_or_says_why_not() {
    let receiver = Receiver::start(None).await;
    let daemon = daemon_notifying(&receiver, json!({}));
    let path = "/api/v1/notifications/receivers/hook/test";
    let (status, answer) = api_request(&daemon, reqwest::Method::POST, path, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"],
        json!([{ "integration": "webhook_configs[0]", "delivered": true, "error": null }])
    );
    let request = &receiver.requests()[0];
    assert_eq!(request.json()["alerts"][0]["labels"]["alertname"], "SightlineTest");

    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    let (_, answer) = api_request(&daemon, reqwest::Method::POST, path, None).await;
    assert_eq!(answer["data"][0]["delivered"], false);
    assert!(answer["data"][0]["error"].as_str().is_some_and(|e| e.contains("503")), "{answer}");
    let (status, _) = api_request(
        &daemon,
        reqwest::Method::POST,
        "/api/v1/notifications/receivers/nobody/test",
        None,
    )
    .await;
    assert_eq!(status, 404);
    // Nothing of it went through the outbox.
    let (_, deliveries) =
        api_request(&daemon, reqwest::Method::GET, "/api/v1/notifications/deliveries", None).await;
    assert_eq!(deliveries["data"], json!([]));
}

async fn api_request(
    daemon: &Daemon,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request =
        reqwest::Client::new().request(method, daemon.api_url(path)).bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("api request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_created_through_the_v2_api_mutes_matching_alerts_and_expires_on_time() {
    let receiver = Receiver::start(None).await;
    let daemon = daemon_notifying(&receiver, json!({}));
    let now = chrono::Utc::now();
    let silence = json!({
        "matchers": [{ "name": "queue", "value": "emails", "isRegex": false, "isEqual": true }],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::seconds(6)).to_rfc3339(),
        "createdBy": "oncall",
        "comment": "migrating the emails queue",
    });
    let (status, created) =
        api_request(&daemon, reqwest::Method::POST, "/api/v2/silences", Some(silence)).await;
    assert_eq!(status, 200, "{created}");
    let id = created["silenceID"].as_str().expect("an id").to_owned();
    let (_, listed) = api_request(&daemon, reqwest::Method::GET, "/api/v2/silences", None).await;
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["status"]["state"], "active");

    send_lag(&daemon, "emails", 250.0).await;
    // The alert fires, and is shown as silenced; nothing is sent while the silence lasts.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, alerts) = api_request(&daemon, reqwest::Method::GET, "/api/v2/alerts", None).await;
        if alerts[0]["status"]["state"] == "suppressed" {
            assert_eq!(alerts[0]["status"]["silencedBy"], json!([id]));
            assert_eq!(alerts[0]["receivers"], json!([{ "name": "hook" }]));
            break;
        }
        assert!(Instant::now() < deadline, "the alert is not shown silenced: {alerts}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let silence_ends = now + chrono::Duration::seconds(6);
    let requests = receiver.wait_for(1, "the notification once the silence expired").await;
    assert!(chrono::Utc::now() >= silence_ends, "notified while silenced: {requests:?}");
    assert_eq!(firing_queues(&requests[0]), ["emails"]);
    let (_, expired) =
        api_request(&daemon, reqwest::Method::GET, &format!("/api/v2/silence/{id}"), None).await;
    assert_eq!(expired["status"]["state"], "expired");
}

/// An HTTPS webhook receiver on 127.0.0.1 with a certificate of `pki`'s private CA; sends each request's body.
async fn https_receiver(
    pki: &crate::auth_tls::Pki,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (certificate, key) = pki.issue("127.0.0.1");
    let certificates =
        vec![CertificateDer::from_pem_slice(certificate.as_bytes()).expect("certificate")];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (bodies, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            let bodies = bodies.clone();
            tokio::spawn(async move {
                // A client that does not trust the CA ends the handshake: nothing to record.
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut request = Vec::new();
                let mut buffer = [0; 8192];
                let body_start = loop {
                    let Ok(n) = tls.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse().ok())
                    .unwrap_or(0);
                while request.len() < body_start + length {
                    let Ok(n) = tls.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                }
                let _ = bodies.send(request[body_start..body_start + length].to_vec());
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = tls.write_all(answer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, received)
}

/// `http_config.tls_config.ca_file` is applied: a webhook behind a certificate of a private CA is reached by
/// the integration that names that CA, and not by one that trusts only the system's CAs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_over_https_is_reached_only_with_the_configured_ca_file() {
    let pki = crate::auth_tls::Pki::new();
    let (port, mut bodies) = https_receiver(&pki).await;
    let alertmanager = format!(
        "
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 500ms
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: 'https://127.0.0.1:{port}/trusted'
        http_config: {{ tls_config: {{ ca_file: '{}' }} }}
      - url: 'https://127.0.0.1:{port}/untrusted'
",
        pki.path("ca.pem")
    );
    let daemon = start_daemon(RULES, &alertmanager, json!({ "retry": { "initial": "200ms" } }));
    send_lag(&daemon, "emails", 250.0).await;
    let body = tokio::time::timeout(Duration::from_secs(30), bodies.recv())
        .await
        .expect("the webhook over HTTPS got no request")
        .expect("a body");
    let payload: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["alerts"][0]["labels"]["queue"], "emails");

    let failed = r#"sightline_notify_delivery_attempts_total{receiver="hook",integration="webhook_configs[1]",outcome="failed"}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.metric(failed).await < 2.0 {
        assert!(
            Instant::now() < deadline,
            "the untrusted certificate was not refused: {:?}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(bodies.try_recv().is_err(), "a request reached the receiver without the CA");
}

/// Runs Alertmanager's own `amtool` (Debian's `prometheus-alertmanager`, which `scripts/test` installs)
/// against the daemon, with the admin token in an HTTP config file; returns its standard output.
fn amtool(daemon: &Daemon, args: &[&str]) -> String {
    let http_config = daemon.dir.path().join("amtool-http.yml");
    std::fs::write(&http_config, format!("authorization: {{ credentials: {ADMIN_TOKEN} }}\n"))
        .expect("write amtool's http config");
    let output = std::process::Command::new("amtool")
        .arg(format!("--alertmanager.url={}", daemon.api_url("/")))
        .arg(format!("--http.config.file={}", http_config.display()))
        .args(args)
        .output()
        .expect("amtool runs (scripts/test installs Debian's prometheus-alertmanager)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "amtool {args:?} failed: {stdout}{stderr}\n{:?}",
        daemon.log()
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_adds_lists_and_expires_silences_queries_alerts_and_shows_no_secrets() {
    let receiver = Receiver::start(None).await;
    let daemon = daemon_notifying(&receiver, json!({}));

    let id = amtool(
        &daemon,
        &[
            "silence",
            "add",
            "queue=emails",
            "--author=oncall",
            "--comment=migration",
            "--duration=1h",
        ],
    );
    let id = id.trim().to_owned();
    assert_eq!(id.len(), 36, "amtool printed no silence id: {id:?}");
    let silences: Value =
        serde_json::from_str(&amtool(&daemon, &["silence", "query", "-o", "json"])).expect("json");
    assert_eq!(silences[0]["id"], id.as_str(), "{silences}");
    assert_eq!(silences[0]["createdBy"], "oncall");
    assert_eq!(silences[0]["matchers"][0]["name"], "queue");

    send_lag(&daemon, "emails", 250.0).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts: Value = serde_json::from_str(&amtool(
            &daemon,
            &["alert", "query", "--silenced", "-o", "json", "alertname=LagHigh"],
        ))
        .expect("json");
        if alerts[0]["status"]["state"] == "suppressed" {
            assert_eq!(alerts[0]["status"]["silencedBy"], json!([id]), "{alerts}");
            break;
        }
        assert!(Instant::now() < deadline, "amtool does not show the alert silenced: {alerts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    amtool(&daemon, &["silence", "expire", &id]);
    let active: Value =
        serde_json::from_str(&amtool(&daemon, &["silence", "query", "-o", "json"])).expect("json");
    assert_eq!(active, json!([]), "the expired silence is still listed as active");
    let expired = amtool(&daemon, &["silence", "query", "--expired", "-q"]);
    assert_eq!(expired.trim(), id);
    // The alert is no longer muted, so the receiver hears of it.
    receiver.wait_for(1, "the notification once the silence was expired").await;

    let config = amtool(&daemon, &["config", "show"]);
    assert!(config.contains("receiver: hook"), "{config}");
    assert!(config.contains("<secret>"), "{config}");
    assert!(!config.contains(&receiver.url("/hook")), "amtool shows a webhook URL: {config}");
}

const INHIBITED_RULES: &str = "
groups:
  - name: queues
    interval: 500ms
    rules:
      - alert: LagCritical
        expr: queue_lag > 200
        labels: { severity: critical }
      - alert: LagHigh
        expr: queue_lag > 100
        labels: { severity: warning }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inhibition_rule_mutes_the_target_while_the_source_fires() {
    let receiver = Receiver::start(None).await;
    let alertmanager = format!(
        "
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 500ms
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs: [{{ url: '{}' }}]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [queue]
",
        receiver.url("/hook")
    );
    let daemon = start_daemon(INHIBITED_RULES, &alertmanager, json!({}));
    let names = |requests: &[Received]| -> Vec<(String, String)> {
        requests
            .iter()
            .map(|r| {
                let payload = r.json();
                (
                    payload["groupLabels"]["alertname"].as_str().unwrap_or_default().to_owned(),
                    payload["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    send_lag(&daemon, "emails", 250.0).await;
    receiver.wait_for(1, "the critical alert").await;
    // Both fire; the warning stays muted while the critical one fires.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(names(&receiver.requests()), [("LagCritical".to_owned(), "firing".to_owned())]);

    send_lag(&daemon, "emails", 150.0).await;
    let requests = receiver.wait_for(3, "the warning once the critical alert resolved").await;
    let mut told = names(&requests);
    told.sort();
    assert_eq!(
        told,
        [
            ("LagCritical".to_owned(), "firing".to_owned()),
            ("LagCritical".to_owned(), "resolved".to_owned()),
            ("LagHigh".to_owned(), "firing".to_owned()),
        ]
    );
}

/// Runs `sightline notify test RECEIVER --config CONFIG`: exit status, stdout, stderr.
async fn notify_test(config: &std::path::Path, receiver: &str) -> (bool, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
    command.args(["notify", "test", receiver, "--config"]).arg(config);
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_sends_a_test_notification_through_a_receiver_and_reports_each_integration() {
    let receiver = Receiver::start(None).await;
    let dir = tempfile::tempdir().expect("directory");
    let alertmanager = format!(
        "
route: {{ receiver: hook }}
receivers:
  - name: hook
    webhook_configs: [{{ url: '{}' }}]
  - name: metadata
    webhook_configs: [{{ url: 'http://169.254.169.254/latest/' }}]
",
        receiver.url("/hook")
    );
    std::fs::write(dir.path().join("alertmanager.yml"), alertmanager).expect("write");
    let config = json!({
        "data_dir": dir.path().join("data"),
        "notifications_file": "alertmanager.yml",
        "outbound": { "allow": ["127.0.0.1"] },
    });
    let config_path = dir.path().join("sightline.yaml");
    std::fs::write(&config_path, config.to_string()).expect("write");

    let (ok, stdout, stderr) = notify_test(&config_path, "hook").await;
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout, "hook webhook_configs[0]: delivered\n");
    let payload = receiver.wait_for(1, "the test notification").await[0].json();
    assert_eq!(payload["alerts"][0]["labels"]["alertname"], "SightlineTest");

    let (ok, stdout, _) = notify_test(&config_path, "metadata").await;
    assert!(!ok);
    assert!(stdout.starts_with("metadata webhook_configs[0]: failed: "), "{stdout}");
    assert!(stdout.contains("169.254.169.254 is a link-local, cloud metadata"), "{stdout}");

    let (ok, _, stderr) = notify_test(&config_path, "nobody").await;
    assert!(!ok);
    assert!(stderr.contains(r#"no receiver "nobody" (the receivers: hook, metadata)"#), "{stderr}");
}
