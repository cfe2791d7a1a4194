//! A test notification: one firing alert named `SightlineTest`, sent directly (not through the outbox) to
//! every integration of a receiver, to check its settings. `sightline notify test` and the API's
//! `POST /api/v1/notifications/receivers/{name}/test` both send it.

use std::sync::Arc;

use super::dispatch::{Alert, Notification, Sent};
use super::integration::Integration;
use super::message::Message;
use super::outbox::OutboxEntry;
use crate::promql::Labels;

/// What one integration answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub integration: String,
    /// `Err` with why it failed.
    pub result: Result<(), String>,
}

/// Sends the test notification to each of `receiver`'s `integrations` in turn.
pub async fn send(
    receiver: &str,
    integrations: &[Arc<Integration>],
    now_ms: i64,
) -> Vec<TestOutcome> {
    let message = message(receiver, now_ms);
    let mut outcomes = Vec::with_capacity(integrations.len());
    for integration in integrations {
        let entry = OutboxEntry {
            id: 0,
            receiver: receiver.to_owned(),
            integration: integration.name.clone(),
            group_key: message.group_key.clone(),
            message: message.clone(),
            idempotency_key: format!("sightline-test-{now_ms}"),
            attempts: 0,
            first_attempt_ms: None,
            next_attempt_ms: 0,
            last_error: None,
            created_ms: now_ms,
        };
        let result = integration.send(&entry).await.map_err(|error| error.message);
        outcomes.push(TestOutcome { integration: integration.name.clone(), result });
    }
    outcomes
}

/// One firing alert named `SightlineTest`, marked as a test so nobody mistakes it for an incident.
fn message(receiver: &str, now_ms: i64) -> Message {
    let alert = Alert {
        labels: Labels::new([("alertname", "SightlineTest"), ("severity", "info")]),
        annotations: Labels::new([
            ("summary", "A test notification from sightline"),
            ("description", "Sent to check this receiver's settings; no alert is firing."),
        ]),
        starts_at_ms: now_ms,
        resolved_at_ms: None,
        valid_until_ms: now_ms + 5 * 60 * 1000,
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
