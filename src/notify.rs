//! `sightline notify test RECEIVER`: sends a test notification through each integration of a configured
//! receiver, directly (not through the outbox), and reports what each one answered.

use std::fmt::Write as _;
use std::sync::Arc;

use sightline_rules::notify::dispatch::{Alert, Notification, Sent};
use sightline_rules::notify::integration;
use sightline_rules::notify::message::Message;
use sightline_rules::notify::outbound::OutboundPolicy;
use sightline_rules::notify::outbox::{Outbox, OutboxEntry};
use sightline_rules::promql::Labels;

use crate::config::Config;
use crate::serve::{notifications, unix_now_ms};

/// Sends the test notification to every integration of `receiver`; writes one line per integration. True
/// when every one of them accepted it.
pub async fn test(config: &Config, receiver: &str, out: &mut String) -> anyhow::Result<bool> {
    let source = config.notifications.as_ref().ok_or_else(|| {
        anyhow::anyhow!("the configuration has no notifications_file and no notifications")
    })?;
    let (_, checked) = notifications::read(source).await?;
    let base_dir = source.base_dir();
    let policy = Arc::new(OutboundPolicy::new(&config.outbound.allow));
    // Slack's Web API records the message it posts; a test keeps no such record.
    let outbox = Arc::new(Outbox::in_memory()?);
    let integrations = integration::build(&checked.config, base_dir, &policy, &outbox, unix_now_ms)
        .map_err(|errors| anyhow::anyhow!("{source}: {}", errors.join("; ")))?;
    let Some(list) = integrations.get(receiver) else {
        let known: Vec<&str> = integrations.keys().map(String::as_str).collect();
        anyhow::bail!("no receiver {receiver:?} (the receivers: {})", known.join(", "));
    };
    if list.is_empty() {
        anyhow::bail!("receiver {receiver:?} has no integration");
    }
    let message = test_message(receiver);
    let mut all_delivered = true;
    for integration in list {
        let entry = OutboxEntry {
            id: 0,
            receiver: receiver.to_owned(),
            integration: integration.name.clone(),
            group_key: message.group_key.clone(),
            message: message.clone(),
            idempotency_key: format!("sightline-test-{}", unix_now_ms()),
            attempts: 0,
            first_attempt_ms: None,
            next_attempt_ms: 0,
            last_error: None,
            created_ms: unix_now_ms(),
        };
        match integration.send(&entry).await {
            Ok(()) => {
                let _ = writeln!(out, "{receiver} {}: delivered", integration.name);
            }
            Err(error) => {
                all_delivered = false;
                let _ = writeln!(out, "{receiver} {}: failed: {}", integration.name, error.message);
            }
        }
    }
    Ok(all_delivered)
}

/// One firing alert named `SightlineTest`, marked as a test so nobody mistakes it for an incident.
fn test_message(receiver: &str) -> Message {
    let now = unix_now_ms();
    let alert = Alert {
        labels: Labels::new([("alertname", "SightlineTest"), ("severity", "info")]),
        annotations: Labels::new([
            ("summary", "A test notification from sightline"),
            ("description", "Sent by `sightline notify test`; no alert is firing."),
        ]),
        starts_at_ms: now,
        resolved_at_ms: None,
        valid_until_ms: now + 5 * 60 * 1000,
        generator_url: String::new(),
    };
    let notification = Notification {
        receiver: receiver.to_owned(),
        group_key: r#"{}:{alertname="SightlineTest"}"#.to_owned(),
        group_labels: Labels::new([("alertname", "SightlineTest")]),
        firing: vec![alert],
        resolved: Vec::new(),
        sent: Sent::default(),
    };
    Message::of(&notification, true, 0, "").expect("a firing alert makes a message")
}
