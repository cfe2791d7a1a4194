//! What a notification says, as data: Alertmanager's webhook payload, version 4. The webhook sends it as is;
//! Slack and email render it. It is also what the outbox keeps, so that a notification is rendered (and
//! signed) the same way on every attempt, also after a restart.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::dispatch::{Alert, Notification};
use crate::promql::Labels;

/// Alertmanager's zero time, which `endsAt` holds while an alert fires.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Alertmanager's webhook payload (version 4), field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub version: String,
    pub group_key: String,
    /// How many alerts were left out to respect `max_alerts`.
    pub truncated_alerts: u64,
    /// `firing` when at least one alert fires, else `resolved`.
    pub status: String,
    pub receiver: String,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<MessageAlert>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageAlert {
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339; Alertmanager's zero time while the alert fires.
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager's fingerprint of the labels, 16 hex digits.
    pub fingerprint: String,
}

impl Message {
    /// The message of a notification for one receiver integration: its firing alerts, then its resolved ones
    /// unless `send_resolved` is off, at most `max_alerts` of them (0: all). `None` when nothing is left to say.
    pub fn of(
        notification: &Notification,
        send_resolved: bool,
        max_alerts: usize,
        external_url: &str,
    ) -> Option<Message> {
        let resolved: &[Alert] = if send_resolved { &notification.resolved } else { &[] };
        if notification.firing.is_empty() && resolved.is_empty() {
            return None;
        }
        let all: Vec<&Alert> = notification.firing.iter().chain(resolved).collect();
        let common_labels = common(all.iter().map(|alert| &alert.labels));
        let common_annotations = common(all.iter().map(|alert| &alert.annotations));
        let kept = if max_alerts == 0 { all.len() } else { all.len().min(max_alerts) };
        let status = if notification.firing.is_empty() { "resolved" } else { "firing" };
        Some(Message {
            version: "4".to_owned(),
            group_key: notification.group_key.clone(),
            truncated_alerts: (all.len() - kept) as u64,
            status: status.to_owned(),
            receiver: notification.receiver.clone(),
            group_labels: map(&notification.group_labels),
            common_labels,
            common_annotations,
            external_url: external_url.to_owned(),
            alerts: all[..kept].iter().map(|alert| MessageAlert::of(alert)).collect(),
        })
    }

    pub fn firing(&self) -> impl Iterator<Item = &MessageAlert> {
        self.alerts.iter().filter(|alert| alert.status == "firing")
    }

    pub fn resolved(&self) -> impl Iterator<Item = &MessageAlert> {
        self.alerts.iter().filter(|alert| alert.status == "resolved")
    }
}

impl MessageAlert {
    fn of(alert: &Alert) -> MessageAlert {
        let (status, ends_at) = match alert.resolved_at_ms {
            Some(end) => ("resolved", rfc3339(end)),
            None => ("firing", ZERO_TIME.to_owned()),
        };
        MessageAlert {
            status: status.to_owned(),
            labels: map(&alert.labels),
            annotations: map(&alert.annotations),
            starts_at: rfc3339(alert.starts_at_ms),
            ends_at,
            generator_url: alert.generator_url.clone(),
            fingerprint: format!("{:016x}", alert.fingerprint()),
        }
    }

    /// How long the alert has lasted: to its end once resolved, else to `now_ms`. `None` if a time does not
    /// read.
    pub fn duration_ms(&self, now_ms: i64) -> Option<i64> {
        let start = parse_rfc3339(&self.starts_at)?;
        let end = if self.ends_at == ZERO_TIME { now_ms } else { parse_rfc3339(&self.ends_at)? };
        Some((end - start).max(0))
    }
}

fn map(labels: &Labels) -> BTreeMap<String, String> {
    labels.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect()
}

/// The pairs every set has.
fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> BTreeMap<String, String> {
    let Some(first) = sets.next() else { return BTreeMap::new() };
    let mut shared = map(first);
    for set in sets {
        shared.retain(|name, value| set.get(name) == Some(value.as_str()));
    }
    shared
}

pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ZERO_TIME.to_owned(), |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// A duration as people read it in a notification: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
pub fn human_duration(ms: i64) -> String {
    let seconds = ms / 1000;
    let (days, hours, minutes, secs) =
        (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) if secs == 0 => format!("{minutes}m"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::dispatch::Sent;

    fn alert(instance: &str, resolved_at_ms: Option<i64>) -> Alert {
        Alert {
            labels: Labels::new([("alertname", "Down"), ("instance", instance), ("job", "api")]),
            annotations: Labels::new([("summary", format!("{instance} is down"))]),
            starts_at_ms: 1_700_000_000_000,
            resolved_at_ms,
            valid_until_ms: i64::MAX,
            generator_url: String::new(),
        }
    }

    fn notification(firing: Vec<Alert>, resolved: Vec<Alert>) -> Notification {
        Notification {
            receiver: "team".to_owned(),
            group_key: r#"{}:{alertname="Down"}"#.to_owned(),
            group_labels: Labels::new([("alertname", "Down")]),
            firing,
            resolved,
            sent: Sent::default(),
        }
    }

    #[test]
    fn the_message_has_alertmanagers_version_4_fields() {
        let resolved = alert("b", Some(1_700_000_090_000));
        let n = notification(vec![alert("a", None)], vec![resolved]);
        let message = Message::of(&n, true, 0, "http://sightline:8080").unwrap();
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["version"], "4");
        assert_eq!(json["status"], "firing");
        assert_eq!(json["externalURL"], "http://sightline:8080");
        assert_eq!(json["commonLabels"], serde_json::json!({"alertname": "Down", "job": "api"}));
        assert_eq!(json["commonAnnotations"], serde_json::json!({}));
        assert_eq!(json["alerts"][0]["endsAt"], ZERO_TIME);
        assert_eq!(json["alerts"][1]["status"], "resolved");
        assert_eq!(json["alerts"][1]["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["alerts"][1]["endsAt"], "2023-11-14T22:14:50.000Z");
        assert_eq!(json["alerts"][0]["fingerprint"].as_str().unwrap().len(), 16);
        assert_eq!(message.alerts[1].duration_ms(0), Some(90_000));
    }

    #[test]
    fn the_webhook_payload_reads_as_the_snapshot() {
        let message = crate::notify::render::tests::sample(2, 1);
        insta::assert_json_snapshot!(message);
    }

    #[test]
    fn max_alerts_truncates_and_counts_and_send_resolved_false_drops_resolved() {
        let n = notification(vec![alert("a", None), alert("b", None)], vec![alert("c", Some(0))]);
        let message = Message::of(&n, true, 2, "").unwrap();
        assert_eq!((message.alerts.len(), message.truncated_alerts), (2, 1));
        let only_firing = Message::of(&n, false, 0, "").unwrap();
        assert_eq!(only_firing.alerts.len(), 2);
        let all_resolved = notification(vec![], vec![alert("c", Some(0))]);
        assert!(Message::of(&all_resolved, false, 0, "").is_none());
        assert_eq!(Message::of(&all_resolved, true, 0, "").unwrap().status, "resolved");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let cases =
            [(45_000, "45s"), (720_000, "12m"), (725_000, "12m 5s"), (12_000_000, "3h 20m")];
        for (ms, text) in cases {
            assert_eq!(human_duration(ms), text);
        }
        assert_eq!(human_duration(187_200_000), "2d 4h");
    }
}
