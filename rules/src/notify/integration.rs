//! A receiver's integrations (each of its `webhook_configs`, `slack_configs` and `email_configs`) built from
//! the configuration, with their secrets read, and what an attempt to deliver through one of them can end in.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::config::{HttpClientConfig, NotificationsConfig};
use super::email::{Email, EmailFields};
use super::outbound::{OutboundPolicy, Refused};
use super::outbox::Outbox;
use super::outbox::OutboxEntry;
use super::slack::{Slack, SlackFields};
use super::templates;
use super::webhook::Webhook;

/// One integration of a receiver.
#[derive(Debug)]
pub struct Integration {
    pub receiver: String,
    /// Its place in the receiver's configuration: `webhook_configs[0]`.
    pub name: String,
    /// Whether resolved alerts are sent (on by default, also for Slack and email).
    pub send_resolved: bool,
    /// The most alerts one notification carries (0: all).
    pub max_alerts: usize,
    pub sender: Sender,
}

#[derive(Debug)]
pub enum Sender {
    Webhook(Webhook),
    Email(Email),
    Slack(Slack),
}

/// Why an attempt failed, and whether another attempt can succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    pub message: String,
    /// False when the receiver refused the notification itself (a 4xx other than 408 and 429, a refused
    /// address): retrying would fail the same way.
    pub retryable: bool,
    /// The receiver's `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl SendError {
    pub fn retryable(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), retryable: true, retry_after: None }
    }

    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), retryable: false, retry_after: None }
    }
}

impl Integration {
    /// Delivers one notification; `Ok` once the receiver acknowledged it.
    pub async fn send(&self, entry: &OutboxEntry) -> Result<(), SendError> {
        match &self.sender {
            Sender::Webhook(webhook) => webhook.send(entry).await,
            Sender::Email(email) => email.send(entry).await,
            Sender::Slack(slack) => slack.send(entry).await,
        }
    }
}

/// The integrations of every receiver, by receiver name, in configuration order.
pub type Integrations = BTreeMap<String, Vec<Arc<Integration>>>;

/// Builds every integration as the daemon does, sending nothing and keeping nothing: what `sightline config
/// check` reports beyond Alertmanager's own checks (secret and CA files that cannot be read, addresses that
/// do not parse, TLS settings that cannot be applied, templates that do not render).
pub fn check(config: &NotificationsConfig, base_dir: &Path) -> Result<(), Vec<String>> {
    let outbox =
        Outbox::in_memory().map_err(|error| vec![format!("checking the receivers: {error}")])?;
    let policy = Arc::new(OutboundPolicy::new(&[]));
    build(config, base_dir, &policy, &Arc::new(outbox), || 0).map(drop)
}

/// Builds every receiver's integrations, reading `*_file` secrets relative to `base_dir`; every problem.
pub fn build(
    config: &NotificationsConfig,
    base_dir: &Path,
    policy: &Arc<OutboundPolicy>,
    outbox: &Arc<Outbox>,
    clock: fn() -> i64,
) -> Result<Integrations, Vec<String>> {
    let templates = templates::load(config, base_dir)?;
    let mut errors = Vec::new();
    let mut built = Integrations::new();
    for (index, receiver) in config.receivers.iter().enumerate() {
        let mut integrations = Vec::new();
        for (n, webhook) in receiver.webhook_configs.iter().enumerate() {
            let path = format!("receivers[{index}].webhook_configs[{n}]");
            match Webhook::new(webhook, base_dir, policy) {
                Ok(sender) => integrations.push(Arc::new(Integration {
                    receiver: receiver.name.clone(),
                    name: format!("webhook_configs[{n}]"),
                    send_resolved: webhook.send_resolved.unwrap_or(true),
                    max_alerts: webhook.max_alerts.unwrap_or(0).try_into().unwrap_or(usize::MAX),
                    sender: Sender::Webhook(sender),
                })),
                Err(error) => errors.push(format!("{path}: {error}")),
            }
        }
        for (n, email) in receiver.email_configs.iter().enumerate() {
            let path = format!("receivers[{index}].email_configs[{n}]");
            let fields = match EmailFields::parse(&templates, &path, email) {
                Ok(fields) => fields,
                Err(problems) => {
                    errors.extend(problems);
                    continue;
                }
            };
            match Email::new(email, fields, &config.global, base_dir, policy, clock) {
                Ok(sender) => integrations.push(Arc::new(Integration {
                    receiver: receiver.name.clone(),
                    name: format!("email_configs[{n}]"),
                    send_resolved: email.send_resolved.unwrap_or(true),
                    max_alerts: 0,
                    sender: Sender::Email(sender),
                })),
                Err(error) => errors.push(format!("{path}: {error}")),
            }
        }
        for (n, slack) in receiver.slack_configs.iter().enumerate() {
            let path = format!("receivers[{index}].slack_configs[{n}]");
            let fields = match SlackFields::parse(&templates, &path, slack) {
                Ok(fields) => fields,
                Err(problems) => {
                    errors.extend(problems);
                    continue;
                }
            };
            match Slack::new(slack, fields, &config.global, base_dir, policy, outbox, clock) {
                Ok(sender) => integrations.push(Arc::new(Integration {
                    receiver: receiver.name.clone(),
                    name: format!("slack_configs[{n}]"),
                    send_resolved: slack.send_resolved.unwrap_or(true),
                    max_alerts: 0,
                    sender: Sender::Slack(sender),
                })),
                Err(error) => errors.push(format!("{path}: {error}")),
            }
        }
        built.insert(receiver.name.clone(), integrations);
    }
    if errors.is_empty() { Ok(built) } else { Err(errors) }
}

/// A secret given inline or as a file (relative to `base_dir`), trimmed of its final newline.
pub fn secret(
    inline: &Option<String>,
    file: &Option<String>,
    base_dir: &Path,
) -> Result<Option<String>, String> {
    if let Some(value) = inline {
        return Ok(Some(value.clone()));
    }
    let Some(file) = file else { return Ok(None) };
    let path = base_dir.join(file);
    std::fs::read_to_string(&path)
        .map(|text| Some(text.trim_end_matches(['\n', '\r']).to_owned()))
        .map_err(|error| format!("reading {}: {error}", path.display()))
}

/// The `Authorization` header of an `http_config`, if it sets one.
pub fn authorization(
    http: Option<&HttpClientConfig>,
    base_dir: &Path,
) -> Result<Option<String>, String> {
    let Some(http) = http else { return Ok(None) };
    if let Some(authorization) = &http.authorization {
        let kind = authorization.kind.as_deref().unwrap_or("Bearer");
        let credentials =
            secret(&authorization.credentials, &authorization.credentials_file, base_dir)?
                .unwrap_or_default();
        return Ok(Some(format!("{kind} {credentials}")));
    }
    if let Some(basic) = &http.basic_auth {
        use base64::Engine as _;
        let password = secret(&basic.password, &basic.password_file, base_dir)?.unwrap_or_default();
        let username = basic.username.as_deref().unwrap_or_default();
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        return Ok(Some(format!("Basic {encoded}")));
    }
    Ok(None)
}

/// The `Retry-After` of a response: seconds, or an HTTP date.
pub fn retry_after(
    headers: &reqwest::header::HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

/// What an HTTP response means for a delivery: 2xx delivered; 408, 429 and 5xx worth another attempt (after
/// `Retry-After` if given); any other status refused for good. The start of the body goes into the error.
pub async fn outcome(response: reqwest::Response) -> Result<(), SendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(response.headers(), chrono::Utc::now());
    let body = body_start(response).await;
    let message = format!("HTTP {status}: {body}");
    let retryable = status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
    Err(SendError { message, retryable, retry_after })
}

/// The first few hundred bytes of a response body, for messages; never more is read.
pub async fn body_start(mut response: reqwest::Response) -> String {
    const LIMIT: usize = 512;
    let mut bytes = Vec::new();
    while bytes.len() < LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(LIMIT);
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

/// A request error as a delivery error: an address or redirect the outbound policy refused is permanent,
/// anything else worth retrying. The URL is left out (it may hold a secret, as Slack's webhook URLs do).
pub fn request_error(error: reqwest::Error) -> SendError {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut refused = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        refused |= cause.downcast_ref::<Refused>().is_some();
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    if refused { SendError::permanent(message) } else { SendError::retryable(message) }
}
