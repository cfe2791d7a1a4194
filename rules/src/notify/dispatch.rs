//! Grouping and deduplication with Alertmanager's semantics, on an injected clock: alerts are sorted into
//! aggregation groups (one per matching route and value of its `group_by` labels); a new group waits
//! `group_wait` before its first notification, so that alerts arriving together go out together; after that
//! the group is looked at every `group_interval`, and a notification goes out when an alert started firing or
//! resolved since the last one, or when `repeat_interval` has passed since it. Unlike Alertmanager's Slack and
//! email defaults, resolved alerts are always part of the notification (a receiver may still drop them).
//!
//! The dispatcher holds no timer of its own: the caller passes the time to [`Dispatcher::insert`] and
//! [`Dispatcher::flush`], and sleeps until [`Dispatcher::next_flush_ms`].

use std::collections::{BTreeMap, BTreeSet};

use super::route::Route;
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
}

impl Alert {
    pub fn is_resolved(&self) -> bool {
        self.resolved_at_ms.is_some()
    }
}

/// What one receiver is to be told about one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub receiver: String,
    /// The route the group belongs to (its path in the tree) and the group's labels: together, the group's key.
    pub route_path: String,
    pub group_labels: Labels,
    /// Every alert of the group, firing ones first, each part in label order.
    pub firing: Vec<Alert>,
    pub resolved: Vec<Alert>,
}

/// The aggregation groups of a routing tree.
#[derive(Debug)]
pub struct Dispatcher {
    root: Route,
    groups: BTreeMap<(String, Labels), Group>,
}

#[derive(Debug)]
struct Group {
    receiver: String,
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

#[derive(Debug)]
struct Sent {
    firing: BTreeSet<Labels>,
    resolved: BTreeSet<Labels>,
    at_ms: i64,
}

impl Dispatcher {
    pub fn new(root: Route) -> Dispatcher {
        Dispatcher { root, groups: BTreeMap::new() }
    }

    /// Takes an alert's current state at `now_ms`: it joins (or updates) the group of every route it goes to. An
    /// alert that has been active for longer than a new group's `group_wait` does not wait again.
    pub fn insert(&mut self, now_ms: i64, alert: &Alert) {
        for route in self.root.matching(&alert.labels) {
            let key = (route.path.clone(), route.group_labels(&alert.labels));
            let group = self.groups.entry(key).or_insert_with(|| Group::new(route, now_ms));
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

    /// Looks at every group that is due at `now_ms` and returns the notifications to send. Resolved alerts
    /// that were part of a look leave their group; a group left empty ends.
    pub fn flush(&mut self, now_ms: i64) -> Vec<Notification> {
        let mut notifications = Vec::new();
        for ((route_path, group_labels), group) in &mut self.groups {
            if group.next_flush_ms > now_ms {
                continue;
            }
            let (resolved, firing): (Vec<Alert>, Vec<Alert>) =
                group.alerts.values().cloned().partition(Alert::is_resolved);
            let firing_keys: BTreeSet<Labels> = firing.iter().map(|a| a.labels.clone()).collect();
            let resolved_keys: BTreeSet<Labels> =
                resolved.iter().map(|a| a.labels.clone()).collect();
            if group.needs_notification(&firing_keys, &resolved_keys, now_ms) {
                group.last_sent = Some(Sent {
                    firing: firing_keys,
                    resolved: resolved_keys.clone(),
                    at_ms: now_ms,
                });
                notifications.push(Notification {
                    receiver: group.receiver.clone(),
                    route_path: route_path.clone(),
                    group_labels: group_labels.clone(),
                    firing,
                    resolved,
                });
            }
            group.alerts.retain(|labels, _| !resolved_keys.contains(labels));
            group.flushed = true;
            group.next_flush_ms = now_ms + group.group_interval_ms;
        }
        self.groups.retain(|_, group| !group.alerts.is_empty());
        notifications
    }
}

impl Group {
    fn new(route: &Route, now_ms: i64) -> Group {
        Group {
            receiver: route.receiver.clone(),
            group_wait_ms: millis(route.group_wait),
            group_interval_ms: millis(route.group_interval),
            repeat_interval_ms: millis(route.repeat_interval),
            alerts: BTreeMap::new(),
            next_flush_ms: now_ms + millis(route.group_wait),
            flushed: false,
            last_sent: None,
        }
    }

    /// Alertmanager's rule: the first notification needs a firing alert; after it, one goes out when an alert
    /// started firing, when everything the receiver knows to fire has resolved, when an alert resolved, or
    /// when `repeat_interval` has passed.
    fn needs_notification(
        &self,
        firing: &BTreeSet<Labels>,
        resolved: &BTreeSet<Labels>,
        now_ms: i64,
    ) -> bool {
        let Some(last) = &self.last_sent else {
            return !firing.is_empty();
        };
        if !firing.is_subset(&last.firing) {
            return true;
        }
        if firing.is_empty() {
            // Alerts that fired and resolved between two looks were never announced: nothing to say.
            return !last.firing.is_empty();
        }
        if !resolved.is_subset(&last.resolved) {
            return true;
        }
        last.at_ms + self.repeat_interval_ms <= now_ms
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
        Dispatcher::new(Route::root(&config).unwrap())
    }

    fn alert(name: &str, instance: &str, starts_at_ms: i64) -> Alert {
        Alert {
            labels: Labels::new([("alertname", name), ("instance", instance)]),
            annotations: Labels::default(),
            starts_at_ms,
            resolved_at_ms: None,
        }
    }

    /// The instances firing and resolved in each notification of a flush at `now`.
    fn told(dispatcher: &mut Dispatcher, now: i64) -> Vec<(Vec<String>, Vec<String>)> {
        let instances = |alerts: &[Alert]| {
            alerts.iter().map(|a| a.labels.value("instance").to_owned()).collect()
        };
        dispatcher
            .flush(now)
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
        let notifications = dispatcher.flush(100 * SECOND);
        let receivers: Vec<&str> = notifications.iter().map(|n| n.receiver.as_str()).collect();
        assert_eq!(receivers, ["pager"], "the alert active since 0 is past group_wait");
        assert_eq!(notifications[0].group_labels, Labels::new([("alertname", "Down")]));
        let later: Vec<String> =
            dispatcher.flush(130 * SECOND).into_iter().map(|n| n.receiver).collect();
        assert_eq!(later, ["team"], "Slow waits its group's group_wait on the root route");
    }
}
