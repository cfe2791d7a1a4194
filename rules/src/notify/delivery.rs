//! Delivery of the outbox: each due notification is sent through its integration; a success marks it
//! delivered, a failure schedules the next attempt with exponential backoff and jitter (or the receiver's
//! `Retry-After`), and a notification that failed for longer than the retry budget, or was refused for good,
//! becomes a dead letter. Each integration has a circuit breaker: after repeated failures it opens and nothing
//! is sent to it for a while; then one notification probes it (half-open), and success closes it again.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::integration::{Integration, Integrations, SendError};
use super::outbox::{Outbox, OutboxEntry};
use super::test_notification::{self, TestOutcome};
use crate::promql::millis;

/// How often delivered notifications and old log entries are forgotten.
const PRUNE_EVERY_MS: i64 = 60 * 60 * 1000;
/// How long a delivered notification is kept (to look into what was sent).
pub const KEEP_DELIVERED_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// How long a group's notification log entry outlives its last notification: Alertmanager's 120 h.
pub const KEEP_LOG_MS: i64 = 120 * 60 * 60 * 1000;

/// How delivery retries and when it gives up (`outbound.retry` and `outbound.breaker`, whose defaults the
/// configuration holds).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The wait after the first failure; it doubles with each further one, up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// How long after its first attempt a notification keeps being retried before it becomes a dead letter.
    pub retry_for: Duration,
    /// Consecutive failures that open an integration's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker waits before it lets one probe through.
    pub breaker_open_for: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct IntegrationLabels {
    pub receiver: String,
    pub integration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub receiver: String,
    pub integration: String,
    /// `delivered`, `failed` (to be retried) or `dead`.
    pub outcome: String,
}

/// The delivery metrics, for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    pub attempts: Family<OutcomeLabels, Counter>,
    /// 0 closed, 1 open, 2 half-open.
    pub breaker_state: Family<IntegrationLabels, Gauge>,
    pub pending: Gauge,
    pub dead_letters: Gauge,
}

impl DeliveryMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let notify = registry.sub_registry_with_prefix("sightline_notify");
        notify.register(
            "delivery_attempts",
            "Attempts to deliver a notification, by receiver, integration and outcome",
            self.attempts.clone(),
        );
        notify.register(
            "breaker_state",
            "Circuit breaker of each integration: 0 closed, 1 open, 2 half-open",
            self.breaker_state.clone(),
        );
        notify.register(
            "outbox_pending",
            "Notifications in the outbox waiting for delivery",
            self.pending.clone(),
        );
        notify.register(
            "dead_letters",
            "Notifications given up on, waiting to be replayed",
            self.dead_letters.clone(),
        );
    }
}

/// A circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until_ms: i64,
    },
    /// One probe is out; everything else waits for its answer.
    HalfOpen,
}

impl Breaker {
    fn gauge(self) -> i64 {
        match self {
            Breaker::Closed { .. } => 0,
            Breaker::Open { .. } => 1,
            Breaker::HalfOpen => 2,
        }
    }
}

/// The delivery worker: one per daemon.
#[derive(Debug, Clone)]
pub struct Delivery {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    outbox: Arc<Outbox>,
    integrations: Integrations,
    settings: DeliverySettings,
    breakers: Mutex<HashMap<(String, String), Breaker>>,
    metrics: Arc<DeliveryMetrics>,
    wake: Notify,
    clock: fn() -> i64,
}

/// What the worker does with one due notification.
enum Step {
    Send(Arc<Integration>),
    /// The breaker is open: try again then.
    Wait(i64),
    /// The receiver or integration is no longer configured.
    Gone,
}

impl Delivery {
    pub fn new(
        outbox: Arc<Outbox>,
        integrations: Integrations,
        settings: DeliverySettings,
        metrics: Arc<DeliveryMetrics>,
        clock: fn() -> i64,
    ) -> Delivery {
        Delivery {
            shared: Arc::new(Shared {
                outbox,
                integrations,
                settings,
                breakers: Mutex::new(HashMap::new()),
                metrics,
                wake: Notify::new(),
                clock,
            }),
        }
    }

    /// Tells the worker that the outbox has new notifications.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Sends the test notification to every integration of `receiver` now, outside the outbox and its
    /// breakers; `None` when there is no such receiver.
    pub async fn send_test(&self, receiver: &str) -> Option<Vec<TestOutcome>> {
        let integrations = self.shared.integrations.get(receiver)?;
        Some(test_notification::send(receiver, integrations, (self.shared.clock)()).await)
    }

    /// Every configured integration (receiver and integration name, in configuration order) with its circuit
    /// breaker; one not tried yet is closed.
    pub fn breakers(&self) -> Vec<(String, String, Breaker)> {
        let breakers = self.shared.breakers.lock().unwrap_or_else(|p| p.into_inner());
        self.shared
            .integrations
            .iter()
            .flat_map(|(receiver, integrations)| {
                integrations.iter().map(|integration| {
                    let key = (receiver.clone(), integration.name.clone());
                    let breaker =
                        breakers.get(&key).copied().unwrap_or(Breaker::Closed { failures: 0 });
                    (key.0, key.1, breaker)
                })
            })
            .collect()
    }

    /// Delivers until `shutdown`; a round in progress finishes first, so that no attempt is cut off between
    /// the receiver's acknowledgement and its record.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut next_prune = i64::MIN;
        loop {
            let next = self.round().await;
            let now = (self.shared.clock)();
            if now >= next_prune {
                next_prune = now + PRUNE_EVERY_MS;
                self.prune(now).await;
            }
            let wait = next.map_or(Duration::from_secs(60), |at| {
                Duration::from_millis((at - now).clamp(0, 60_000).unsigned_abs())
            });
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.shared.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Forgets what no longer matters: delivered notifications after [`KEEP_DELIVERED_MS`], and the
    /// notification log entries of groups that have not notified for [`KEEP_LOG_MS`] (Alertmanager keeps its
    /// log for as long). Dead letters stay until replayed.
    async fn prune(&self, now: i64) {
        let outbox = Arc::clone(&self.shared.outbox);
        let pruned = blocking(move || {
            Ok((
                outbox.forget_delivered_before(now - KEEP_DELIVERED_MS)?,
                outbox.forget_log_before(now - KEEP_LOG_MS)?,
            ))
        })
        .await;
        match pruned {
            Ok((delivered, log)) if delivered + log > 0 => {
                tracing::info!(delivered, log, "old notifications and log entries forgotten")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "pruning the notification outbox failed"),
        }
    }

    /// Sends what is due now, concurrently, and records each outcome; returns when the next is due.
    pub async fn round(&self) -> Option<i64> {
        let shared = &self.shared;
        let now = (shared.clock)();
        let outbox = Arc::clone(&shared.outbox);
        let due = blocking(move || outbox.due(now, 64)).await;
        let due = match due {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "reading the notification outbox failed");
                return Some(now + 5_000);
            }
        };
        let mut sends = tokio::task::JoinSet::new();
        for entry in due {
            match self.step(&entry, now) {
                Step::Send(integration) => {
                    sends.spawn(async move {
                        let result = integration.send(&entry).await;
                        (entry, result)
                    });
                }
                Step::Wait(until_ms) => {
                    let outbox = Arc::clone(&shared.outbox);
                    if let Err(error) = blocking(move || outbox.postpone(entry.id, until_ms)).await
                    {
                        tracing::error!(%error, "postponing a notification failed");
                    }
                }
                Step::Gone => {
                    self.record(entry, Err(SendError::permanent("no such receiver integration")))
                        .await;
                }
            }
        }
        while let Some(joined) = sends.join_next().await {
            match joined {
                Ok((entry, result)) => self.record(entry, result).await,
                Err(panic) => tracing::error!(%panic, "a notification send panicked"),
            }
        }
        let outbox = Arc::clone(&shared.outbox);
        let (next, counts) = blocking(move || Ok((outbox.next_due_ms()?, outbox.counts()?)))
            .await
            .unwrap_or((Some(now + 5_000), (0, 0)));
        shared.metrics.pending.set(counts.0.try_into().unwrap_or(i64::MAX));
        shared.metrics.dead_letters.set(counts.1.try_into().unwrap_or(i64::MAX));
        next
    }

    fn step(&self, entry: &OutboxEntry, now: i64) -> Step {
        let shared = &self.shared;
        let integrations = &shared.integrations;
        let Some(integration) = integrations
            .get(&entry.receiver)
            .and_then(|list| list.iter().find(|integration| integration.name == entry.integration))
        else {
            return Step::Gone;
        };
        let key = (entry.receiver.clone(), entry.integration.clone());
        let mut breakers = shared.breakers.lock().unwrap_or_else(|p| p.into_inner());
        let breaker = breakers.entry(key).or_insert(Breaker::Closed { failures: 0 });
        let open_for = millis(shared.settings.breaker_open_for);
        match *breaker {
            Breaker::Closed { .. } => Step::Send(Arc::clone(integration)),
            Breaker::Open { until_ms } if now < until_ms => Step::Wait(until_ms),
            Breaker::Open { .. } => {
                *breaker = Breaker::HalfOpen;
                self.publish(entry, *breaker);
                Step::Send(Arc::clone(integration))
            }
            // The probe's answer decides; until it comes, the others wait a little.
            Breaker::HalfOpen => Step::Wait(now + open_for.min(1_000)),
        }
    }

    /// Records an attempt's outcome in the outbox and in the integration's breaker.
    async fn record(&self, entry: OutboxEntry, result: Result<(), SendError>) {
        let shared = &self.shared;
        let now = (shared.clock)();
        let attempts = entry.attempts + 1;
        let first = entry.first_attempt_ms.unwrap_or(now);
        let outcome = match &result {
            Ok(()) => "delivered",
            Err(error) if !error.retryable => "dead",
            Err(_) if now - first >= millis(shared.settings.retry_for) => "dead",
            Err(_) => "failed",
        };
        self.update_breaker(&entry, result.is_ok());
        let labels = OutcomeLabels {
            receiver: entry.receiver.clone(),
            integration: entry.integration.clone(),
            outcome: outcome.to_owned(),
        };
        shared.metrics.attempts.get_or_create(&labels).inc();
        let next = match &result {
            Err(error) => now + self.backoff_ms(&entry, attempts, error.retry_after),
            Ok(()) => now,
        };
        match &result {
            Ok(()) => tracing::info!(
                receiver = entry.receiver,
                integration = entry.integration,
                attempts,
                "notification delivered"
            ),
            Err(error) => tracing::warn!(
                receiver = entry.receiver,
                integration = entry.integration,
                attempts,
                outcome,
                error = error.message,
                "notification delivery failed"
            ),
        }
        let outbox = Arc::clone(&shared.outbox);
        let id = entry.id;
        let error = result.err().map(|error| error.message).unwrap_or_default();
        let written = blocking(move || match outcome {
            "delivered" => outbox.delivered(id, attempts, now),
            "dead" => outbox.dead(id, attempts, now, &error),
            _ => outbox.retry_at(id, attempts, first, next, &error),
        });
        if let Err(error) = written.await {
            tracing::error!(%error, "recording a delivery in the outbox failed");
        }
    }

    fn update_breaker(&self, entry: &OutboxEntry, succeeded: bool) {
        let shared = &self.shared;
        let now = (shared.clock)();
        let key = (entry.receiver.clone(), entry.integration.clone());
        let mut breakers = shared.breakers.lock().unwrap_or_else(|p| p.into_inner());
        let breaker = breakers.entry(key).or_insert(Breaker::Closed { failures: 0 });
        let open = Breaker::Open { until_ms: now + millis(shared.settings.breaker_open_for) };
        *breaker = match (*breaker, succeeded) {
            (_, true) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, false)
                if failures + 1 < shared.settings.breaker_failures =>
            {
                Breaker::Closed { failures: failures + 1 }
            }
            (_, false) => open,
        };
        if *breaker == open {
            tracing::warn!(
                receiver = entry.receiver,
                integration = entry.integration,
                "circuit breaker opened"
            );
        }
        self.publish(entry, *breaker);
    }

    fn publish(&self, entry: &OutboxEntry, breaker: Breaker) {
        let labels = IntegrationLabels {
            receiver: entry.receiver.clone(),
            integration: entry.integration.clone(),
        };
        self.shared.metrics.breaker_state.get_or_create(&labels).set(breaker.gauge());
    }

    /// The wait before attempt `attempts + 1`: `retry_initial` doubled per failure up to `retry_max`, then
    /// between half and all of it (jitter, so that many notifications do not retry in step); a receiver's
    /// `Retry-After` wins when it asks for longer.
    fn backoff_ms(&self, entry: &OutboxEntry, attempts: u32, retry_after: Option<Duration>) -> i64 {
        let settings = &self.shared.settings;
        let doubled = millis(settings.retry_initial)
            .saturating_mul(1_i64 << attempts.saturating_sub(1).min(30))
            .min(millis(settings.retry_max));
        let random = std::collections::hash_map::RandomState::new().hash_one((entry.id, attempts));
        let jitter = (random % 1_000) as i64;
        let backoff = doubled / 2 + doubled / 2 * jitter / 1_000;
        let asked = retry_after.map_or(0, |after| millis(after).min(60 * 60 * 1000));
        backoff.max(asked).max(1)
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, super::outbox::OutboxError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(panic) => Err(format!("outbox task panicked: {panic}")),
    }
}
