//! The notification pipeline in the daemon: the rules hand over their firing and resolved alerts after each
//! evaluation ([`Notifier::send`]); the pipeline sorts them into groups ([`Dispatcher`]), and when a group is
//! due it leaves out the silenced and inhibited alerts, decides what to tell each integration of the group's
//! receiver, and writes that to the outbox together with the group's notification log entry, before the
//! delivery worker ([`Delivery`]) sends anything.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::delivery::Delivery;
use super::dispatch::{Alert, Dispatcher, Sent};
use super::inhibit::{InhibitRule, Inhibitions};
use super::integration::Integrations;
use super::matcher::{Matcher, all_match};
use super::message::Message;
use super::outbox::{NewEntry, Outbox};
use super::route::Route;
use super::silence::{SilenceError, SilenceState, SilenceStore};
use super::time_interval::TimeInterval;
use crate::promql::Labels;

/// How many alert batches (one per group evaluation) wait for the pipeline; when it is full a batch is
/// dropped and counted, and the next evaluation of that group sends its alerts again.
const QUEUE: usize = 1024;
/// How long a resolved or expired alert is kept as a possible inhibition source and for the API.
const FORGET_AFTER_MS: i64 = 15 * 60 * 1000;
/// How long an ended silence is kept to be looked at and re-created: Alertmanager's default
/// `--data.retention`.
const SILENCE_RETENTION_MS: i64 = 120 * 3600 * 1000;
/// How often ended silences are looked for.
const SILENCE_PRUNE_EVERY_MS: i64 = 3600 * 1000;
/// How many notifications may wait for a failing outbox before the oldest is dropped.
const MAX_UNWRITTEN: usize = 10_000;
/// How soon a failed outbox write is tried again.
const UNWRITTEN_RETRY: Duration = Duration::from_secs(1);

/// The pipeline's own metrics.
#[derive(Debug, Default)]
pub struct NotifierMetrics {
    pub batches_dropped: Counter,
    pub notifications: Counter,
    pub outbox_failures: Counter,
}

impl NotifierMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let notify = registry.sub_registry_with_prefix("sightline_notify");
        notify.register(
            "alert_batches_dropped",
            "Alert batches from rule evaluations dropped because the pipeline was behind",
            self.batches_dropped.clone(),
        );
        notify.register(
            "notifications",
            "Group notifications decided (one per group; each integration gets it)",
            self.notifications.clone(),
        );
        notify.register(
            "outbox_write_failures",
            "Notifications that could not be written to the outbox",
            self.outbox_failures.clone(),
        );
    }
}

/// What the rules hold to hand alerts over, and what the API reads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    queue: mpsc::Sender<Vec<Alert>>,
    metrics: Arc<NotifierMetrics>,
    view: Arc<View>,
}

/// An alert as the API shows it: where it goes and what mutes it.
#[derive(Debug, Clone)]
pub struct AlertStatus {
    pub alert: Alert,
    pub receivers: Vec<String>,
    /// The ids of the active silences that match it.
    pub silenced_by: Vec<String>,
    /// The fingerprints (16 hex digits) of the firing alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

/// What the pipeline and the API share.
#[derive(Debug)]
struct View {
    /// The latest state of every alert, by fingerprint: the inhibition sources, and what the API lists.
    latest: Mutex<HashMap<u64, Alert>>,
    route: Route,
    inhibit_rules: Vec<InhibitRule>,
    silences: Arc<SilenceStore>,
}

impl Notifier {
    /// Hands over the current alerts of one group evaluation; never blocks.
    pub fn send(&self, alerts: Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        if self.queue.try_send(alerts).is_err() {
            self.metrics.batches_dropped.inc();
            tracing::warn!(
                "notification pipeline is behind; alerts are sent again next evaluation"
            );
        }
    }

    /// The silences (to list, create and expire them).
    pub fn silences(&self) -> &Arc<SilenceStore> {
        &self.view.silences
    }

    /// Every alert the pipeline knows, firing and recently resolved, with its receivers and mutes at
    /// `now_ms`, by fingerprint. Blocking (it reads the silences): call it off the async runtime.
    pub fn alerts(&self, now_ms: i64) -> Result<Vec<AlertStatus>, SilenceError> {
        let silences = active_silences(&self.view.silences, now_ms)?;
        let latest = self.view.latest.lock().unwrap_or_else(|p| p.into_inner());
        let firing = firing(&latest, now_ms);
        let mut alerts: Vec<AlertStatus> = latest
            .values()
            .map(|alert| {
                let (silenced_by, inhibited_by) =
                    mutes(alert, &silences, &self.view.inhibit_rules, &firing);
                let routes = self.view.route.matching(&alert.labels);
                AlertStatus {
                    receivers: routes.iter().map(|route| route.receiver.clone()).collect(),
                    silenced_by,
                    inhibited_by,
                    alert: alert.clone(),
                }
            })
            .collect();
        alerts.sort_by_key(|status| status.alert.fingerprint());
        Ok(alerts)
    }
}

/// The active silences at `now_ms`: their ids and matchers.
fn active_silences(
    store: &SilenceStore,
    now_ms: i64,
) -> Result<Vec<(String, Vec<Matcher>)>, SilenceError> {
    Ok(store
        .list()?
        .into_iter()
        .filter(|silence| silence.state(now_ms) == SilenceState::Active)
        .filter_map(|silence| {
            let matchers = silence.matchers.iter().map(|m| m.matcher()).collect::<Result<_, _>>();
            matchers.ok().map(|matchers| (silence.id, matchers))
        })
        .collect())
}

/// The firing alerts at `now_ms`: the possible inhibition sources.
fn firing(latest: &HashMap<u64, Alert>, now_ms: i64) -> Vec<(u64, Labels)> {
    latest
        .iter()
        .filter(|(_, alert)| !alert.is_resolved_at(now_ms))
        .map(|(fingerprint, alert)| (*fingerprint, alert.labels.clone()))
        .collect()
}

/// The silences (ids) and firing alerts (fingerprints) that mute an alert.
fn mutes(
    alert: &Alert,
    silences: &[(String, Vec<Matcher>)],
    rules: &[InhibitRule],
    firing: &[(u64, Labels)],
) -> (Vec<String>, Vec<String>) {
    let silenced_by = silences
        .iter()
        .filter(|(_, matchers)| all_match(matchers, &alert.labels))
        .map(|(id, _)| id.clone())
        .collect();
    let inhibited_by = firing
        .iter()
        .filter(|(_, source)| rules.iter().any(|rule| rule.mutes(&alert.labels, [source])))
        .map(|(fingerprint, _)| format!("{fingerprint:016x}"))
        .collect();
    (silenced_by, inhibited_by)
}

/// What the pipeline is made of.
#[derive(Debug)]
pub struct Pipeline {
    pub route: Route,
    pub inhibit_rules: Vec<InhibitRule>,
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    pub integrations: Integrations,
    pub silences: Arc<SilenceStore>,
    pub outbox: Arc<Outbox>,
    pub delivery: Delivery,
    /// The daemon's URL as receivers should link to it; may be empty.
    pub external_url: String,
    pub metrics: Arc<NotifierMetrics>,
    pub clock: fn() -> i64,
}

impl Pipeline {
    /// Starts the pipeline's task (until `shutdown`) and returns the handle the rules send alerts to.
    pub async fn start(self, shutdown: CancellationToken) -> Notifier {
        let (queue, received) = mpsc::channel(QUEUE);
        let view = Arc::new(View {
            latest: Mutex::new(HashMap::new()),
            route: self.route.clone(),
            inhibit_rules: self.inhibit_rules.clone(),
            silences: Arc::clone(&self.silences),
        });
        let notifier =
            Notifier { queue, metrics: Arc::clone(&self.metrics), view: Arc::clone(&view) };
        let outbox = Arc::clone(&self.outbox);
        let log = match tokio::task::spawn_blocking(move || outbox.notification_log()).await {
            Ok(Ok(log)) => log,
            Ok(Err(error)) => {
                tracing::error!(%error, "notification log not read; groups may notify again");
                HashMap::new()
            }
            Err(panic) => {
                tracing::error!(%panic, "reading the notification log panicked");
                HashMap::new()
            }
        };
        let dispatcher = Dispatcher::new(self.route.clone(), log)
            .with_time_intervals(self.time_intervals.clone());
        let running = Running {
            dispatcher,
            view,
            pipeline: self,
            next_silence_prune_ms: 0,
            unwritten: VecDeque::new(),
        };
        tokio::spawn(running.run(received, shutdown));
        notifier
    }
}

struct Running {
    pipeline: Pipeline,
    dispatcher: Dispatcher,
    view: Arc<View>,
    next_silence_prune_ms: i64,
    /// Notifications the outbox has not taken yet, oldest first (see [`Running::write_unwritten`]).
    unwritten: VecDeque<Arc<Unwritten>>,
}

/// A group's notification, rendered for its integrations, with the notification log entry it makes.
struct Unwritten {
    group_key: String,
    sent: Sent,
    entries: Vec<NewEntry>,
    at_ms: i64,
}

impl Running {
    async fn run(mut self, mut received: mpsc::Receiver<Vec<Alert>>, shutdown: CancellationToken) {
        loop {
            let now = (self.pipeline.clock)();
            let mut wait =
                self.dispatcher.next_flush_ms().map_or(Duration::from_secs(3600), |at| {
                    Duration::from_millis((at - now).max(0).unsigned_abs())
                });
            if !self.unwritten.is_empty() {
                wait = wait.min(UNWRITTEN_RETRY);
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                batch = received.recv() => match batch {
                    Some(alerts) => self.take(alerts),
                    None => return,
                },
                () = tokio::time::sleep(wait) => self.flush().await,
            }
        }
    }

    fn take(&mut self, alerts: Vec<Alert>) {
        let now = (self.pipeline.clock)();
        let mut latest = self.view.latest.lock().unwrap_or_else(|p| p.into_inner());
        for alert in alerts {
            self.dispatcher.insert(now, &alert);
            latest.insert(alert.fingerprint(), alert);
        }
        latest.retain(|_, alert| {
            alert.ended_at_ms(now).is_none_or(|ended| ended + FORGET_AFTER_MS > now)
        });
    }

    async fn flush(&mut self) {
        let now = (self.pipeline.clock)();
        let silences = Arc::clone(&self.pipeline.silences);
        let prune = now >= self.next_silence_prune_ms;
        if prune {
            self.next_silence_prune_ms = now + SILENCE_PRUNE_EVERY_MS;
        }
        let read = move || {
            if prune && let Err(error) = silences.forget_ended_before(now - SILENCE_RETENTION_MS) {
                tracing::warn!(%error, "ended silences not pruned");
            }
            active_silences(&silences, now)
        };
        let active = match tokio::task::spawn_blocking(read).await {
            Ok(Ok(active)) => active,
            Ok(Err(error)) => {
                // Better late than a silence ignored: wait and try again.
                tracing::error!(%error, "silences not read; notifications wait");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return;
            }
            Err(panic) => {
                tracing::error!(%panic, "reading silences panicked; notifications wait");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return;
            }
        };
        let firing: Vec<Labels> = {
            let latest = self.view.latest.lock().unwrap_or_else(|p| p.into_inner());
            firing(&latest, now).into_iter().map(|(_, labels)| labels).collect()
        };
        let inhibitions = Inhibitions::new(&self.pipeline.inhibit_rules, &firing);
        let muted = |alert: &Alert| {
            active.iter().any(|(_, matchers)| all_match(matchers, &alert.labels))
                || inhibitions.mutes(&alert.labels)
        };
        let notifications = self.dispatcher.flush(now, muted);
        for notification in notifications {
            self.pipeline.metrics.notifications.inc();
            let integrations = self.pipeline.integrations.get(&notification.receiver);
            let entries: Vec<NewEntry> = integrations
                .into_iter()
                .flatten()
                .filter_map(|integration| {
                    let message = Message::of(
                        &notification,
                        integration.send_resolved,
                        integration.max_alerts,
                        &self.pipeline.external_url,
                    )?;
                    Some(NewEntry {
                        receiver: notification.receiver.clone(),
                        integration: integration.name.clone(),
                        message,
                    })
                })
                .collect();
            if self.unwritten.len() == MAX_UNWRITTEN {
                self.pipeline.metrics.outbox_failures.inc();
                tracing::error!(
                    "the outbox has failed for too long; the oldest unwritten notification is dropped"
                );
                self.unwritten.pop_front();
            }
            self.unwritten.push_back(Arc::new(Unwritten {
                group_key: notification.group_key,
                sent: notification.sent,
                entries,
                at_ms: now,
            }));
        }
        if self.write_unwritten().await {
            self.pipeline.delivery.wake();
        }
    }

    /// Writes the unwritten notifications to the outbox, oldest first, until one fails (it stays first, so
    /// that a group's notifications reach the outbox in order); true if any was written.
    async fn write_unwritten(&mut self) -> bool {
        let mut written_any = false;
        while let Some(next) = self.unwritten.front().cloned() {
            let outbox = Arc::clone(&self.pipeline.outbox);
            let written = tokio::task::spawn_blocking(move || {
                outbox.enqueue(&next.group_key, &next.sent, &next.entries, next.at_ms)
            })
            .await;
            let error = match written {
                Ok(Ok(())) => {
                    self.unwritten.pop_front();
                    written_any = true;
                    continue;
                }
                Ok(Err(error)) => error.to_string(),
                Err(panic) => format!("the write panicked: {panic}"),
            };
            self.pipeline.metrics.outbox_failures.inc();
            tracing::error!(
                %error,
                waiting = self.unwritten.len(),
                "notifications not written to the outbox yet; retrying in a second"
            );
            break;
        }
        written_any
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::config::NotificationsConfig;
    use crate::notify::delivery::{DeliveryMetrics, DeliverySettings};
    use crate::notify::integration;
    use crate::notify::outbound::OutboundPolicy;

    fn now_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// A notification whose outbox write fails is kept and written once the outbox works again, not lost.
    #[tokio::test]
    async fn a_notification_the_outbox_refuses_is_written_once_it_accepts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let config = NotificationsConfig::parse(
            "route: { receiver: hook, group_by: [alertname], group_wait: 0s }\n\
             receivers: [{ name: hook, webhook_configs: [{ url: 'http://127.0.0.1:9/hook' }] }]\n",
        )
        .unwrap()
        .check()
        .unwrap();
        let outbox = Arc::new(Outbox::open(&path).unwrap());
        let policy = Arc::new(OutboundPolicy::new(&["127.0.0.1".to_owned()]));
        let integrations =
            integration::build(&config.config, dir.path(), &policy, &outbox, now_ms).unwrap();
        let settings = DeliverySettings {
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(1),
            retry_for: Duration::from_secs(60),
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(1),
        };
        // The delivery worker is not started: the test looks at what reaches the outbox.
        let delivery = Delivery::new(
            Arc::clone(&outbox),
            integrations.clone(),
            settings,
            Arc::new(DeliveryMetrics::default()),
            now_ms,
        );
        let metrics = Arc::new(NotifierMetrics::default());
        let pipeline = Pipeline {
            route: config.route,
            inhibit_rules: Vec::new(),
            time_intervals: BTreeMap::new(),
            integrations,
            silences: Arc::new(SilenceStore::open(&path).unwrap()),
            outbox: Arc::clone(&outbox),
            delivery,
            external_url: String::new(),
            metrics: Arc::clone(&metrics),
            clock: now_ms,
        };
        let notifier = pipeline.start(CancellationToken::new()).await;

        let sabotage = rusqlite::Connection::open(&path).unwrap();
        sabotage.execute("ALTER TABLE notification_outbox RENAME TO away", []).unwrap();
        notifier.send(vec![Alert {
            labels: Labels::new([("alertname", "LagHigh")]),
            annotations: Labels::default(),
            starts_at_ms: now_ms(),
            resolved_at_ms: None,
            valid_until_ms: i64::MAX,
            generator_url: String::new(),
        }]);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while metrics.outbox_failures.get() == 0 {
            assert!(std::time::Instant::now() < deadline, "the outbox write never failed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        sabotage.execute("ALTER TABLE away RENAME TO notification_outbox", []).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while outbox.counts().unwrap().0 == 0 {
            assert!(std::time::Instant::now() < deadline, "the notification was lost");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(outbox.counts().unwrap(), (1, 0));
    }
}
