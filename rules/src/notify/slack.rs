//! The Slack integration, in two forms:
//!
//! - **Incoming webhook** (`api_url: https://hooks.slack.com/services/…`): each notification is a new message.
//! - **Web API with a bot token** (`api_url: https://slack.com/api/chat.postMessage`, the token in
//!   `http_config.authorization.credentials`): one incident, one message. The group's first notification
//!   posts it (`chat.postMessage`); every later one edits it (`chat.update`) as alerts join, resolve or leave;
//!   with `thread_replies: true` each change is also told in the message's thread. When the incident has
//!   resolved, the next one starts a new message.
//!
//! Both carry the same Block Kit layout: a colour for the status and severity, the title, each alert's
//! summary, labels and how long it has lasted, and buttons for its runbook and for sightline. Slack's
//! `Retry-After` on 429 is honoured. The URL and token are secrets: never logged.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::config::{GlobalConfig, SlackConfig};
use super::integration::{
    SendError, authorization, body_start, outcome, request_error, retry_after, secret,
};
use super::message::{Message, MessageAlert};
use super::outbound::OutboundPolicy;
use super::outbox::{Outbox, OutboxEntry};
use super::render;
use super::templates::{Field, FieldParser, Renderer};
use crate::template::NotificationTemplates;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Slack's limits (Block Kit reference): 50 blocks per message, 150 characters in a header, 3000 in a section's
/// text, 10 fields per section, 25 elements per actions block.
const MAX_ALERTS_SHOWN: usize = 15;
const HEADER_LIMIT: usize = 150;
const SECTION_LIMIT: usize = 3000;
const MAX_BUTTONS: usize = 5;

/// Web API errors worth another attempt; any other is the request's fault.
const RETRYABLE_ERRORS: [&str; 5] =
    ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"];

pub struct Slack {
    api_url: reqwest::Url,
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    authorization: Option<String>,
    /// The Web API's `chat.update` URL; `None` for an incoming webhook.
    update_url: Option<reqwest::Url>,
    fields: SlackFields,
    link_names: bool,
    thread_replies: bool,
    outbox: Arc<Outbox>,
    clock: fn() -> i64,
}

/// The URL and token are secrets: never printed.
impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("api_url", &"***")
            .field("web_api", &self.update_url.is_some())
            .finish_non_exhaustive()
    }
}

/// The fields of a Slack configuration that are templates, as Alertmanager renders them all.
#[derive(Debug, Clone, Default)]
pub struct SlackFields {
    pub title: Option<Field>,
    pub title_link: Option<Field>,
    pub pretext: Option<Field>,
    pub text: Option<Field>,
    pub footer: Option<Field>,
    pub fallback: Option<Field>,
    pub color: Option<Field>,
    pub channel: Option<Field>,
    pub username: Option<Field>,
    pub icon_emoji: Option<Field>,
    pub icon_url: Option<Field>,
}

impl SlackFields {
    /// The templated fields of the Slack configuration at `path`, each checked; every problem.
    pub fn parse(
        templates: &NotificationTemplates,
        path: &str,
        config: &SlackConfig,
    ) -> Result<SlackFields, Vec<String>> {
        let mut parser = FieldParser::new(templates, path);
        let fields = SlackFields {
            title: parser.field("title", config.title.as_deref()),
            title_link: parser.field("title_link", config.title_link.as_deref()),
            pretext: parser.field("pretext", config.pretext.as_deref()),
            text: parser.field("text", config.text.as_deref()),
            footer: parser.field("footer", config.footer.as_deref()),
            fallback: parser.field("fallback", config.fallback.as_deref()),
            color: parser.field("color", config.color.as_deref()),
            channel: parser.field("channel", config.channel.as_deref()),
            username: parser.field("username", config.username.as_deref()),
            icon_emoji: parser.field("icon_emoji", config.icon_emoji.as_deref()),
            icon_url: parser.field("icon_url", config.icon_url.as_deref()),
        };
        parser.finish(fields)
    }

    /// The message's [`layout`], changed as the configured fields say: `title` is the message's text and
    /// header, `text` replaces the alerts' blocks, `title_link` adds a button, `footer` a last line.
    pub fn apply(&self, message: &Message, now_ms: i64) -> Value {
        let renderer = Renderer::new(message, now_ms);
        let rendered = |field: &Option<Field>| renderer.render(field.as_ref(), false);
        let mut payload = layout(message, now_ms);
        let attachment = &mut payload["attachments"][0];
        if let Some(color) = rendered(&self.color) {
            attachment["color"] = json!(color);
        }
        if let Some(pretext) = rendered(&self.pretext) {
            attachment["pretext"] = json!(pretext);
        }
        let blocks = attachment["blocks"].as_array_mut().expect("layout has blocks");
        if let Some(text) = rendered(&self.text) {
            let actions = blocks.pop().filter(|block| block["type"] == "actions");
            blocks.truncate(1);
            blocks.push(json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_LIMIT) },
            }));
            blocks.extend(actions);
        }
        if let Some(link) = rendered(&self.title_link).filter(|link| !link.is_empty()) {
            let button = json!({ "type": "button", "text": { "type": "plain_text", "text": "Details" }, "url": link });
            match blocks.last_mut() {
                Some(last) if last["type"] == "actions" => {
                    let elements = last["elements"].as_array_mut().expect("actions have elements");
                    elements.truncate(MAX_BUTTONS - 1);
                    elements.insert(0, button);
                }
                _ => blocks.push(json!({ "type": "actions", "elements": [button] })),
            }
        }
        if let Some(footer) = rendered(&self.footer).filter(|footer| !footer.is_empty()) {
            blocks.push(json!({
                "type": "context",
                "elements": [{ "type": "mrkdwn", "text": truncate(&footer, SECTION_LIMIT) }],
            }));
        }
        if let Some(title) = rendered(&self.title) {
            blocks[0]["text"]["text"] = json!(truncate(&title, HEADER_LIMIT));
            attachment["fallback"] = json!(title);
            payload["text"] = json!(title);
        }
        if let Some(fallback) = rendered(&self.fallback) {
            payload["attachments"][0]["fallback"] = json!(fallback);
        }
        let optional = [
            ("channel", &self.channel),
            ("username", &self.username),
            ("icon_emoji", &self.icon_emoji),
            ("icon_url", &self.icon_url),
        ];
        for (name, field) in optional {
            if let Some(value) = rendered(field).filter(|value| !value.is_empty()) {
                payload[name] = json!(value);
            }
        }
        payload
    }
}

impl Slack {
    pub fn new(
        config: &SlackConfig,
        fields: SlackFields,
        global: &GlobalConfig,
        base_dir: &Path,
        policy: &Arc<OutboundPolicy>,
        outbox: &Arc<Outbox>,
        clock: fn() -> i64,
    ) -> Result<Slack, String> {
        let url = match secret(&config.api_url, &config.api_url_file, base_dir)? {
            Some(url) => url,
            None => secret(&global.slack_api_url, &global.slack_api_url_file, base_dir)?
                .ok_or("no api_url, api_url_file or global slack_api_url")?,
        };
        let api_url = reqwest::Url::parse(url.trim())
            .map_err(|error| format!("the api_url does not read: {error}"))?;
        if !matches!(api_url.scheme(), "http" | "https") {
            return Err(format!(
                "the api_url's scheme must be http or https, not {}",
                api_url.scheme()
            ));
        }
        let update_url = api_url.path().ends_with("/chat.postMessage").then(|| {
            let path = api_url.path().trim_end_matches("chat.postMessage").to_owned();
            let mut update = api_url.clone();
            update.set_path(&format!("{path}chat.update"));
            update
        });
        let http = config.http_config.as_ref();
        let authorization = authorization(http, base_dir)?;
        if update_url.is_some() {
            if authorization.is_none() {
                return Err("the Web API needs a bot token in http_config.authorization".to_owned());
            }
            if config.channel.is_none() {
                return Err("the Web API needs a channel".to_owned());
            }
        }
        Ok(Slack {
            client: policy.client(http, TIMEOUT, base_dir)?,
            api_url,
            policy: Arc::clone(policy),
            authorization,
            update_url,
            fields,
            link_names: config.link_names.unwrap_or(false),
            thread_replies: config.thread_replies.unwrap_or(false),
            outbox: Arc::clone(outbox),
            clock,
        })
    }

    pub async fn send(&self, entry: &OutboxEntry) -> Result<(), SendError> {
        self.policy.check_url(&self.api_url).map_err(SendError::permanent)?;
        let mut payload = self.payload(&entry.message);
        let channel = payload["channel"].clone();
        let Some(update_url) = &self.update_url else {
            // An incoming webhook answers `ok` in plain text, or an HTTP error.
            let response = self.post(&self.api_url, &payload).await?;
            return outcome(response).await;
        };
        let keys = (entry.group_key.clone(), entry.receiver.clone(), entry.integration.clone());
        let known = self.stored_message(&keys).await?;
        let resolved = entry.message.status == "resolved";
        let posted = match known {
            Some((channel, ts)) => {
                payload["channel"] = json!(channel);
                payload["ts"] = json!(ts);
                match self.call(update_url, &payload).await {
                    Ok(_) => Some((channel, ts, false)),
                    // Deleted in Slack meanwhile: the incident gets a new message.
                    Err(error) if error.message.contains("message_not_found") => None,
                    Err(error) => return Err(error),
                }
            }
            None => None,
        };
        let (channel, ts, new) = match posted {
            Some(posted) => posted,
            None => {
                if let Some(object) = payload.as_object_mut() {
                    object.remove("ts");
                }
                payload["channel"] = channel;
                let answer = self.call(&self.api_url, &payload).await?;
                let channel = answer["channel"].as_str().unwrap_or_default().to_owned();
                let ts = answer["ts"].as_str().unwrap_or_default().to_owned();
                (channel, ts, true)
            }
        };
        if self.thread_replies && !new {
            // The reply says what the message's text says: the title, the configured one if there is one.
            let reply = json!({ "channel": channel, "thread_ts": ts, "text": payload["text"] });
            self.call(&self.api_url, &reply).await?;
        }
        let outbox = Arc::clone(&self.outbox);
        let stored = tokio::task::spawn_blocking(move || {
            let (group_key, receiver, integration) = keys;
            let message = (!resolved).then_some((channel.as_str(), ts.as_str()));
            outbox.set_slack_message(&group_key, &receiver, &integration, message)
        })
        .await;
        if !matches!(stored, Ok(Ok(()))) {
            // The message is in Slack: the notification is delivered. The next one posts anew.
            tracing::warn!(
                "the Slack message of an incident was not recorded; its next change is a new message"
            );
        }
        Ok(())
    }

    async fn stored_message(
        &self,
        (group_key, receiver, integration): &(String, String, String),
    ) -> Result<Option<(String, String)>, SendError> {
        let outbox = Arc::clone(&self.outbox);
        let (group_key, receiver, integration) =
            (group_key.clone(), receiver.clone(), integration.clone());
        match tokio::task::spawn_blocking(move || {
            outbox.slack_message(&group_key, &receiver, &integration)
        })
        .await
        {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(error)) => Err(SendError::retryable(error.to_string())),
            Err(panic) => {
                Err(SendError::retryable(format!("reading the Slack message panicked: {panic}")))
            }
        }
    }

    async fn post(
        &self,
        url: &reqwest::Url,
        payload: &Value,
    ) -> Result<reqwest::Response, SendError> {
        let mut request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(serde_json::to_vec(payload).expect("json serializes"));
        if let Some(authorization) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        request.send().await.map_err(request_error)
    }

    /// A Web API call: HTTP 200 with `"ok": true` is success; `"ok": false` carries Slack's error name.
    async fn call(&self, url: &reqwest::Url, payload: &Value) -> Result<Value, SendError> {
        let response = self.post(url, payload).await?;
        let status = response.status();
        if !status.is_success() {
            return outcome(response).await.map(|()| Value::Null);
        }
        let wait = retry_after(response.headers(), chrono::Utc::now());
        let text = body_start(response).await;
        let answer: Value = serde_json::from_str(&text).map_err(|_| {
            SendError::retryable(format!("Slack answered HTTP {status} with no JSON: {text}"))
        })?;
        if answer["ok"] == true {
            return Ok(answer);
        }
        let error = answer["error"].as_str().unwrap_or("unknown_error");
        let retryable = RETRYABLE_ERRORS.contains(&error);
        Err(SendError { message: format!("Slack error {error}"), retryable, retry_after: wait })
    }

    /// The message ([`layout`]) as the configured fields change it.
    fn payload(&self, message: &Message) -> Value {
        let mut payload = self.fields.apply(message, (self.clock)());
        if self.link_names {
            payload["link_names"] = Value::Bool(true);
        }
        payload
    }
}

/// The message's text and its attachment, as every Slack message of a notification has them.
pub fn layout(message: &Message, now_ms: i64) -> Value {
    let title = render::title(message);
    json!({
        "text": title,
        "attachments": [{ "color": colour(message), "fallback": title, "blocks": blocks(message, now_ms) }],
    })
}

/// Red while a critical or paging alert fires, orange for warnings, blue for the rest; green once resolved.
fn colour(message: &Message) -> &'static str {
    if message.status == "resolved" {
        return "#2eb886";
    }
    let severities: Vec<&str> = message
        .firing()
        .filter_map(|alert| alert.labels.get("severity"))
        .map(String::as_str)
        .collect();
    if severities.iter().any(|s| matches!(*s, "critical" | "page" | "error")) {
        "#d63232"
    } else if severities.contains(&"warning") {
        "#daa038"
    } else {
        "#439fe0"
    }
}

/// The Block Kit blocks: a header, then per alert a section and a context line, then the buttons.
pub fn blocks(message: &Message, now_ms: i64) -> Vec<Value> {
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&render::title(message), HEADER_LIMIT), "emoji": true },
    })];
    let alerts: Vec<&MessageAlert> = message.firing().chain(message.resolved()).collect();
    for alert in alerts.iter().take(MAX_ALERTS_SHOWN) {
        let marker = if alert.status == "firing" { ":red_circle:" } else { ":large_green_circle:" };
        let mut text = format!("{marker} *{}*", escape(render::headline(alert)));
        if let Some(description) = render::description(alert) {
            text.push('\n');
            text.push_str(&escape(description));
        }
        for (name, value) in render::other_annotations(alert) {
            text.push_str(&format!("\n*{}:* {}", escape(name), escape(value)));
        }
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_LIMIT) },
        }));
        let labels: Vec<String> = alert
            .labels
            .iter()
            .map(|(name, value)| format!("`{name}={}`", escape(value)))
            .collect();
        let context = format!("{} · {}", render::lasted(alert, now_ms), labels.join(" "));
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": truncate(&context, SECTION_LIMIT) }],
        }));
    }
    let hidden = alerts.len().saturating_sub(MAX_ALERTS_SHOWN) as u64 + message.truncated_alerts;
    if hidden > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": format!("… and {hidden} more alerts") }],
        }));
    }
    let mut buttons: Vec<Value> = Vec::new();
    let mut runbooks: Vec<&str> = Vec::new();
    for runbook in alerts.iter().filter_map(|alert| render::runbook(alert)) {
        if !runbooks.contains(&runbook) {
            runbooks.push(runbook);
        }
    }
    for (index, runbook) in runbooks.iter().enumerate().take(MAX_BUTTONS - 1) {
        let text = if runbooks.len() == 1 {
            "Runbook".to_owned()
        } else {
            format!("Runbook {}", index + 1)
        };
        buttons.push(json!({ "type": "button", "text": { "type": "plain_text", "text": text }, "url": runbook }));
    }
    if !message.external_url.is_empty() {
        buttons.push(json!({
            "type": "button",
            "text": { "type": "plain_text", "text": "Open in sightline" },
            "url": format!("{}/alerts", message.external_url),
        }));
    }
    if !buttons.is_empty() {
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    blocks
}

/// Slack's mrkdwn escapes: `&`, `<` and `>`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::render::tests::{NOW_MS, sample};

    #[test]
    fn a_firing_incident_reads_as_the_snapshot() {
        insta::assert_json_snapshot!(layout(&sample(2, 1), NOW_MS));
    }

    #[test]
    fn a_resolved_incident_is_green_and_says_how_long_it_lasted() {
        let resolved = layout(&sample(0, 2), NOW_MS);
        assert_eq!(resolved["attachments"][0]["color"], "#2eb886");
        insta::assert_json_snapshot!(resolved);
    }

    #[test]
    fn many_alerts_stay_within_slacks_block_limit() {
        let mut message = sample(1, 0);
        message.alerts = (0..200).map(|_| message.alerts[0].clone()).collect();
        let blocks = blocks(&message, NOW_MS);
        assert!(blocks.len() <= 50, "{} blocks", blocks.len());
        let last_context = blocks.iter().rev().find(|block| block["type"] == "context").unwrap();
        assert_eq!(last_context["elements"][0]["text"], "… and 185 more alerts");
    }

    fn fields(yaml: &str) -> SlackFields {
        let config: SlackConfig = serde_yaml_ng::from_str(yaml).unwrap();
        let templates = NotificationTemplates::new(&[]).unwrap();
        SlackFields::parse(&templates, "receivers[0].slack_configs[0]", &config).unwrap()
    }

    #[test]
    fn configured_templates_change_the_title_text_colour_links_and_names() {
        let yaml = r#"
title: '{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ len .Alerts.Firing }})'
text: '{{ range .Alerts.Firing }}• {{ .Labels.queue }}{{ "\n" }}{{ end }}'
color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
title_link: '{{ .ExternalURL }}/incidents'
footer: 'receiver {{ .Receiver }}'
pretext: 'heads up'
channel: '#{{ .CommonLabels.job }}'
username: '{{ template "slack.default.username" . }}'
"#;
        let payload = fields(yaml).apply(&sample(2, 1), NOW_MS);
        assert_eq!(payload["text"], "FIRING: LagHigh (2)");
        assert_eq!(payload["channel"], "#billing");
        assert_eq!(payload["username"], "sightline");
        let attachment = &payload["attachments"][0];
        assert_eq!(attachment["color"], "danger");
        assert_eq!(attachment["pretext"], "heads up");
        assert_eq!(attachment["fallback"], "FIRING: LagHigh (2)");
        let blocks = attachment["blocks"].as_array().unwrap();
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "actions", "context"]);
        assert_eq!(blocks[0]["text"]["text"], "FIRING: LagHigh (2)");
        assert_eq!(blocks[1]["text"]["text"], "• emails\n• invoices\n");
        assert_eq!(blocks[2]["elements"][0]["url"], "http://sightline:8080/incidents");
        assert_eq!(blocks[3]["elements"][0]["text"], "receiver team");
    }

    #[test]
    fn without_templates_the_layout_is_the_default_one() {
        assert_eq!(fields("{}").apply(&sample(2, 1), NOW_MS), layout(&sample(2, 1), NOW_MS));
    }

    #[test]
    fn a_template_that_cannot_render_is_refused_with_its_path() {
        let config: SlackConfig =
            serde_yaml_ng::from_str(r#"text: '{{ template "nope" . }}'"#).unwrap();
        let templates = NotificationTemplates::new(&[]).unwrap();
        let errors =
            SlackFields::parse(&templates, "receivers[0].slack_configs[0]", &config).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("receivers[0].slack_configs[0].text"), "{errors:?}");
        assert!(errors[0].contains(r#"template "nope" not defined"#), "{errors:?}");
    }
}
