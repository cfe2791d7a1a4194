//! `sightline notify test RECEIVER`: sends a test notification through each integration of a configured
//! receiver, directly (not through the outbox), and reports what each one answered.

use std::fmt::Write as _;
use std::sync::Arc;

use sightline_rules::notify::outbound::OutboundPolicy;
use sightline_rules::notify::outbox::Outbox;
use sightline_rules::notify::{integration, test_notification};

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
    let mut all_delivered = true;
    for outcome in test_notification::send(receiver, list, unix_now_ms()).await {
        let name = outcome.integration;
        match outcome.result {
            Ok(()) => {
                let _ = writeln!(out, "{receiver} {name}: delivered");
            }
            Err(error) => {
                all_delivered = false;
                let _ = writeln!(out, "{receiver} {name}: failed: {error}");
            }
        }
    }
    Ok(all_delivered)
}
