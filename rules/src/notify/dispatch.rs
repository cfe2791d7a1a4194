//! Grouping and deduplication with Alertmanager's semantics, on an injected clock: alerts are sorted into
//! aggregation groups (one per matching route and value of its `group_by` labels); a new group waits
//! `group_wait` before its first notification, so that alerts arriving together go out together; after that
//! the group is looked at every `group_interval`, and a notification goes out when an alert started firing or
//! resolved since the last one, or when `repeat_interval` has passed since it. Unlike Alertmanager's Slack and
//! email defaults, resolved alerts are always part of the notification (a receiver may still drop them).
//!
//! Muted alerts (silenced, inhibited) are left out of a look before it decides, as in Alertmanager: a group
//! whose alerts are all muted says nothing, and an alert that gets silenced leaves the next notification.
//! What each group last told its receiver (the notification log) comes with each notification, so that the
//! caller can keep it and give it back after a restart ([`Dispatcher::new`]): nothing is told twice.
//!
//! A route's `mute_time_intervals` and `active_time_intervals` mute its groups the same way while they say so.
//!
//! The dispatcher holds no timer of its own: the caller passes the time to [`Dispatcher::insert`] and
//! [`Dispatcher::flush`], and sleeps until [`Dispatcher::next_flush_ms`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::route::Route;
use super::time_interval::TimeInterval;
use crate::promql::{Labels, millis};

/// An alert as notifications show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: Labels,
    /// When it became active (ms).
    pub starts_at_ms: i64,
    /// When it resolved (ms); `None` while it fires.
    pub resolved_at_ms: Option<i64>,
    /// Until when a firing alert holds without news of it (Prometheus's `endsAt`): a rule that stops reporting
    /// it (removed, or its group gone) does not leave it firing forever.
    pub valid_until_ms: i64,
    /// Where the alert came from (the rule's query), or empty.
    pub generator_url: String,
}

impl Alert {
    /// Whether the alert has resolved by `now_ms`, by news of it or by lack of news.
    pub fn is_resolved_at(&self, now_ms: i64) -> bool {
        self.resolved_at_ms.is_some() || self.valid_until_ms <= now_ms
    }

    /// When it ended, as of `now_ms`: its resolution, or the end of its validity once past.
    pub fn ended_at_ms(&self, now_ms: i64) -> Option<i64> {
        self.resolved_at_ms.or((self.valid_until_ms <= now_ms).then_some(self.valid_until_ms))
    }

    /// Alertmanager's fingerprint of the label set (FNV-1a over the sorted names and values, each followed by
    /// a 0xff byte), which names the alert in payloads and in the notification log.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.labels)
    }
}

/// Alertmanager's `LabelSet.Fingerprint`.
pub fn fingerprint(labels: &Labels) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut write = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels.iter() {
        write(name.as_bytes());
        write(&[0xff]);
        write(value.as_bytes());
        write(&[0xff]);
    }
    hash
}

/// What a group last told its receiver: the fingerprints of the firing and resolved alerts, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    pub firing: BTreeSet<u64>,
    pub resolved: BTreeSet<u64>,
    pub at_ms: i64,
}

/// What one receiver is to be told about one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub receiver: String,
    /// Alertmanager's group key: the route's key and the group's labels.
    pub group_key: String,
    pub group_labels: Labels,
    /// The alerts of the group that are not muted, firing ones first, each part in label order; resolved ones
    /// carry their end time.
    pub firing: Vec<Alert>,
    pub resolved: Vec<Alert>,
    /// The group's notification log entry once this is sent; the caller keeps it with the notification.
    pub sent: Sent,
}

/// The aggregation groups of a routing tree.
#[derive(Debug)]
pub struct Dispatcher {
    root: Route,
    /// The named time intervals that routes mute or limit notifications by.
    time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    groups: BTreeMap<(String, Labels), Group>,
    /// Notification log entries by group key, for groups not created yet (after a restart).
    restored: HashMap<String, Sent>,
}

#[derive(Debug)]
struct Group {
    receiver: String,
    key: String,
    mute_time_intervals: Vec<String>,
    active_time_intervals: Vec<String>,
    group_interval_ms: i64,
    group_wait_ms: i64,
    repeat_interval_ms: i64,
    alerts: BTreeMap<Labels, Alert>,
    next_flush_ms: i64,
    /// Whether the group has had its first look (after `group_wait`).
    flushed: bool,
    /// What the receiver was last told: Alertmanager's notification log entry for the group.
    last_sent: Option<Sent>,
}

impl Dispatcher {
    /// A dispatcher for the tree under `root`, with the notification log kept from before (by group key).
    pub fn new(root: Route, log: HashMap<String, Sent>) -> Dispatcher {
        Dispatcher { root, time_intervals: BTreeMap::new(), groups: BTreeMap::new(), restored: log }
    }

    /// The named time intervals the routes' `mute_time_intervals` and `active_time_intervals` refer to.
    pub fn with_time_intervals(self, intervals: BTreeMap<String, Vec<TimeInterval>>) -> Dispatcher {
        Dispatcher { time_intervals: intervals, ..self }
    }

    /// Takes an alert's current state at `now_ms`: it joins (or updates) the group of every route it goes to. An
    /// alert that has been active for longer than a new group's `group_wait` does not wait again. A resolved
    /// alert only updates an alert its group has: one the group does not know has nothing to tell.
    pub fn insert(&mut self, now_ms: i64, alert: &Alert) {
        for route in self.root.matching(&alert.labels) {
            let group_labels = route.group_labels(&alert.labels);
            let key = (route.path.clone(), group_labels);
            if alert.resolved_at_ms.is_some() {
                if let Some(known) =
                    self.groups.get_mut(&key).and_then(|group| group.alerts.get_mut(&alert.labels))
                {
                    *known = alert.clone();
                }
                continue;
            }
            let restored = &mut self.restored;
            let group = self.groups.entry(key).or_insert_with_key(|(_, labels)| {
                let group_key = format!("{}:{labels}", route.key);
                let last_sent = restored.remove(&group_key);
                Group::new(route, group_key, last_sent, now_ms)
            });
            if !group.flushed && alert.starts_at_ms + group.group_wait_ms <= now_ms {
                group.next_flush_ms = group.next_flush_ms.min(now_ms);
            }
            group.alerts.insert(alert.labels.clone(), alert.clone());
        }
    }

    /// The earliest time a group is due to be looked at, if any group exists.
    pub fn next_flush_ms(&self) -> Option<i64> {
        self.groups.values().map(|group| group.next_flush_ms).min()
    }

    /// The number of groups and of alerts in them.
    pub fn size(&self) -> (usize, usize) {
        (self.groups.len(), self.groups.values().map(|group| group.alerts.len()).sum())
    }

    /// Looks at every group that is due at `now_ms` and returns the notifications to send, leaving out the
    /// alerts `muted` says are muted. Resolved alerts that were part of a look leave their group; a group left
    /// empty ends.
    pub fn flush(&mut self, now_ms: i64, muted: impl Fn(&Alert) -> bool) -> Vec<Notification> {
        let mut notifications = Vec::new();
        for ((_, group_labels), group) in &mut self.groups {
            if group.next_flush_ms > now_ms {
                continue;
            }
            // Outside its active intervals, or inside a mute interval, a group says nothing, as if every alert
            // were muted.
            let holds = |names: &[String]| {
                names
                    .iter()
                    .flat_map(|name| self.time_intervals.get(name))
                    .flatten()
                    .any(|i| i.contains(now_ms))
            };
            let time_muted = holds(&group.mute_time_intervals)
                || (!group.active_time_intervals.is_empty()
                    && !holds(&group.active_time_intervals));
            let muted = |alert: &Alert| time_muted || muted(alert);
            let mut firing = Vec::new();
            let mut resolved = Vec::new();
            let mut ended = Vec::new();
            for alert in group.alerts.values() {
                if let Some(end) = alert.ended_at_ms(now_ms) {
                    ended.push(alert.labels.clone());
                    if !muted(alert) {
                        resolved.push(Alert { resolved_at_ms: Some(end), ..alert.clone() });
                    }
                } else if !muted(alert) {
                    firing.push(alert.clone());
                }
            }
            let sent = Sent {
                firing: firing.iter().map(Alert::fingerprint).collect(),
                resolved: resolved.iter().map(Alert::fingerprint).collect(),
                at_ms: now_ms,
            };
            if group.needs_notification(&sent) {
                group.last_sent = Some(sent.clone());
                notifications.push(Notification {
                    receiver: group.receiver.clone(),
                    group_key: group.key.clone(),
                    group_labels: group_labels.clone(),
                    firing,
                    resolved,
                    sent,
                });
            }
            for labels in ended {
                group.alerts.remove(&labels);
            }
            group.flushed = true;
            group.next_flush_ms = now_ms + group.group_interval_ms;
        }
        self.groups.retain(|_, group| !group.alerts.is_empty());
        notifications
    }
}

impl Group {
    fn new(route: &Route, key: String, last_sent: Option<Sent>, now_ms: i64) -> Group {
        Group {
            receiver: route.receiver.clone(),
            key,
            mute_time_intervals: route.mute_time_intervals.clone(),
            active_time_intervals: route.active_time_intervals.clone(),
            group_wait_ms: millis(route.group_wait),
            group_interval_ms: millis(route.group_interval),
            repeat_interval_ms: millis(route.repeat_interval),
            alerts: BTreeMap::new(),
            next_flush_ms: now_ms + millis(route.group_wait),
            flushed: false,
            last_sent,
        }
    }

    /// Alertmanager's rule: the first notification needs a firing alert; after it, one goes out when an alert
    /// started firing, when everything the receiver knows to fire has resolved, when an alert resolved, or
    /// when `repeat_interval` has passed.
    fn needs_notification(&self, now: &Sent) -> bool {
        if now.firing.is_empty() && now.resolved.is_empty() {
            // Everything is muted (or nothing is left): nothing to say, as when Alertmanager's mute stage
            // leaves no alert.
            return false;
        }
        let Some(last) = &self.last_sent else {
            return !now.firing.is_empty();
        };
        if !now.firing.is_subset(&last.firing) {
            return true;
        }
        if now.firing.is_empty() {
            // Alerts that fired and resolved between two looks were never announced: nothing to say.
            return !last.firing.is_empty();
        }
        if !now.resolved.is_subset(&last.resolved) {
            return true;
        }
        last.at_ms + self.repeat_interval_ms <= now.at_ms
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::route::RouteConfig;

    const SECOND: i64 = 1000;

    fn dispatcher(yaml: &str) -> Dispatcher {
        let config: RouteConfig = serde_yaml_ng::from_str(yaml).unwrap();
        Dispatcher::new(Route::root(&config).unwrap(), HashMap::new())
    }

    fn alert(name: &str, instance: &str, starts_at_ms: i64) -> Alert {
        Alert {
            labels: Labels::new([("alertname", name), ("instance", instance)]),
            annotations: Labels::default(),
            starts_at_ms,
            resolved_at_ms: None,
            valid_until_ms: i64::MAX,
            generator_url: String::new(),
        }
    }

    /// The instances firing and resolved in each notification of a flush at `now`.
    fn told(dispatcher: &mut Dispatcher, now: i64) -> Vec<(Vec<String>, Vec<String>)> {
        let instances = |alerts: &[Alert]| {
            alerts.iter().map(|a| a.labels.value("instance").to_owned()).collect()
        };
        dispatcher
            .flush(now, |_| false)
            .iter()
            .map(|notification| {
                (instances(&notification.firing), instances(&notification.resolved))
            })
            .collect()
    }

    const TIMINGS: &str = "receiver: team\ngroup_by: [alertname]\ngroup_wait: 30s\ngroup_interval: 1m\nrepeat_interval: 5m\n";

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn a_new_group_waits_group_wait_and_sends_what_arrived_meanwhile_together() {
        let mut dispatcher = dispatcher(TIMINGS);
        dispatcher.insert(0, &alert("Down", "a", 0));
        assert_eq!(dispatcher.next_flush_ms(), Some(30 * SECOND));
        assert!(told(&mut dispatcher, 29 * SECOND).is_empty());
        dispatcher.insert(10 * SECOND, &alert("Down", "b", 10 * SECOND));
        assert_eq!(told(&mut dispatcher, 30 * SECOND), [(names(&["a", "b"]), vec![])]);
        assert_eq!(dispatcher.next_flush_ms(), Some(90 * SECOND));
    }

    #[test]
    fn changes_go_out_at_the_next_group_interval_and_nothing_else_before_repeat_interval() {
        let mut dispatcher = dispatcher(TIMINGS);
        dispatcher.insert(0, &alert("Down", "a", 0));
        assert_eq!(told(&mut dispatcher, 30 * SECOND).len(), 1);
        dispatcher.insert(40 * SECOND, &alert("Down", "b", 40 * SECOND));
        assert!(told(&mut dispatcher, 60 * SECOND).is_empty(), "not due before the interval");
        assert_eq!(told(&mut dispatcher, 90 * SECOND), [(names(&["a", "b"]), vec![])]);
        for minute in 1..5 {
            assert!(
                told(&mut dispatcher, (90 + minute * 60) * SECOND).is_empty(),
                "minute {minute}"
            );
        }
        assert_eq!(told(&mut dispatcher, 390 * SECOND), [(names(&["a", "b"]), vec![])]);
    }

    #[test]
    fn resolved_alerts_are_told_once_and_an_all_resolved_group_ends() {
        let mut dispatcher = dispatcher(TIMINGS);
        dispatcher.insert(0, &alert("Down", "a", 0));
        dispatcher.insert(0, &alert("Down", "b", 0));
        assert_eq!(told(&mut dispatcher, 30 * SECOND).len(), 1);
        let resolved = |instance: &str, at: i64| Alert {
            resolved_at_ms: Some(at),
            ..alert("Down", instance, 0)
        };
        dispatcher.insert(50 * SECOND, &resolved("a", 50 * SECOND));
        assert_eq!(told(&mut dispatcher, 90 * SECOND), [(names(&["b"]), names(&["a"]))]);
        assert!(told(&mut dispatcher, 150 * SECOND).is_empty());
        dispatcher.insert(160 * SECOND, &resolved("b", 160 * SECOND));
        assert_eq!(told(&mut dispatcher, 210 * SECOND), [(vec![], names(&["b"]))]);
        assert_eq!(dispatcher.next_flush_ms(), None, "the group ended");
    }

    #[test]
    fn an_alert_that_fired_and_resolved_between_two_looks_is_never_told() {
        let mut dispatcher = dispatcher(TIMINGS);
        dispatcher.insert(0, &alert("Flap", "a", 0));
        dispatcher.insert(
            10 * SECOND,
            &Alert { resolved_at_ms: Some(10 * SECOND), ..alert("Flap", "a", 0) },
        );
        assert!(told(&mut dispatcher, 30 * SECOND).is_empty());
        assert_eq!(dispatcher.next_flush_ms(), None);
    }

    #[test]
    fn an_old_alert_does_not_wait_and_each_route_has_its_own_groups() {
        let mut dispatcher = dispatcher(
            "receiver: team\ngroup_by: [alertname]\nroutes:\n  - matchers: [instance=a]\n    receiver: pager\n    continue: true\n",
        );
        dispatcher.insert(100 * SECOND, &alert("Down", "a", 0));
        dispatcher.insert(100 * SECOND, &alert("Slow", "b", 100 * SECOND));
        let notifications = dispatcher.flush(100 * SECOND, |_| false);
        let receivers: Vec<&str> = notifications.iter().map(|n| n.receiver.as_str()).collect();
        assert_eq!(receivers, ["pager"], "the alert active since 0 is past group_wait");
        assert_eq!(notifications[0].group_labels, Labels::new([("alertname", "Down")]));
        let later: Vec<String> =
            dispatcher.flush(130 * SECOND, |_| false).into_iter().map(|n| n.receiver).collect();
        assert_eq!(later, ["team"], "Slow waits its group's group_wait on the root route");
    }

    #[test]
    fn muted_alerts_leave_the_notification_and_an_all_muted_group_says_nothing() {
        let mut dispatcher = dispatcher(TIMINGS);
        dispatcher.insert(0, &alert("Down", "a", 0));
        dispatcher.insert(0, &alert("Down", "b", 0));
        let muted_b = |alert: &Alert| alert.labels.value("instance") == "b";
        let notifications = dispatcher.flush(30 * SECOND, muted_b);
        assert_eq!(notifications.len(), 1);
        assert_eq!(notifications[0].firing.len(), 1, "b is muted");
        assert!(dispatcher.flush(90 * SECOND, |_| true).is_empty(), "everything muted");
        // Unmuted again: b is news.
        assert_eq!(told(&mut dispatcher, 150 * SECOND), [(names(&["a", "b"]), vec![])]);
    }

    #[test]
    fn a_firing_alert_without_news_past_its_validity_resolves_then() {
        let mut dispatcher = dispatcher(TIMINGS);
        dispatcher.insert(0, &Alert { valid_until_ms: 60 * SECOND, ..alert("Down", "a", 0) });
        assert_eq!(told(&mut dispatcher, 30 * SECOND), [(names(&["a"]), vec![])]);
        let notifications = dispatcher.flush(90 * SECOND, |_| false);
        assert_eq!(notifications[0].resolved[0].resolved_at_ms, Some(60 * SECOND));
        assert_eq!(dispatcher.next_flush_ms(), None);
    }

    #[test]
    fn the_notification_log_given_back_after_a_restart_keeps_a_group_from_telling_again() {
        let mut before = dispatcher(TIMINGS);
        before.insert(0, &alert("Down", "a", 0));
        let sent = before.flush(30 * SECOND, |_| false).remove(0);
        assert_eq!(sent.group_key, r#"{}:{alertname="Down"}"#);
        let config: RouteConfig = serde_yaml_ng::from_str(TIMINGS).unwrap();
        let log = HashMap::from([(sent.group_key.clone(), sent.sent.clone())]);
        let mut after = Dispatcher::new(Route::root(&config).unwrap(), log);
        after.insert(40 * SECOND, &alert("Down", "a", 0));
        assert!(told(&mut after, 40 * SECOND).is_empty(), "already told, not yet repeat time");
        after.insert(50 * SECOND, &alert("Down", "b", 50 * SECOND));
        assert_eq!(told(&mut after, 100 * SECOND), [(names(&["a", "b"]), vec![])]);
    }

    #[test]
    fn fingerprints_are_alertmanagers() {
        // FNV-1a 64 of "a\xffb\xff", computed independently.
        let labels = Labels::new([("a", "b")]);
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in b"a\xffb\xff" {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
        assert_eq!(fingerprint(&labels), hash);
        assert_eq!(fingerprint(&Labels::default()), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn a_group_says_nothing_in_its_mute_interval_and_outside_its_active_one() {
        let config: RouteConfig = serde_yaml_ng::from_str(
            "receiver: team\ngroup_by: [alertname]\ngroup_wait: 0s\ngroup_interval: 1m\nroutes:\n  - matchers: [instance=a]\n    mute_time_intervals: [first-hour]\n  - matchers: [instance=b]\n    active_time_intervals: [first-hour]\n",
        )
        .unwrap();
        let first_hour = TimeInterval::parse(
            &serde_yaml_ng::from_str("times: [{start_time: '00:00', end_time: '01:00'}]").unwrap(),
            "time_intervals[0]",
        )
        .unwrap();
        let intervals = BTreeMap::from([("first-hour".to_owned(), vec![first_hour])]);
        let mut dispatcher = Dispatcher::new(Route::root(&config).unwrap(), HashMap::new())
            .with_time_intervals(intervals);
        dispatcher.insert(0, &alert("Down", "a", 0));
        dispatcher.insert(0, &alert("Slow", "b", 0));
        assert_eq!(
            told(&mut dispatcher, 0),
            [(names(&["b"]), vec![])],
            "a is muted in the first hour"
        );
        let hour = 3600 * SECOND;
        dispatcher.insert(hour, &alert("Down", "a", 0));
        assert_eq!(
            told(&mut dispatcher, hour),
            [(names(&["a"]), vec![])],
            "b's active hour is over"
        );
    }
}
