//! The notification pipeline in the daemon: reads `notifications_file` (or `notifications:`), builds its receivers' integrations,
//! and starts the pipeline (dispatcher, silences, inhibition, outbox) and the delivery worker over the state
//! database.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use prometheus_client::registry::Registry;
use sightline_rules::notify::config::{Notifications as Checked, NotificationsConfig};
use sightline_rules::notify::delivery::{Delivery, DeliveryMetrics, DeliverySettings};
use sightline_rules::notify::integration;
use sightline_rules::notify::notifier::{Notifier, NotifierMetrics, Pipeline};
use sightline_rules::notify::outbound::OutboundPolicy;
use sightline_rules::notify::outbox::Outbox;
use sightline_rules::notify::silence::SilenceStore;
use sightline_ui::api::NotificationsApi;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, NotificationsSource};

/// The running notifications: the handle the rules send alerts to, what the API serves, and the delivery
/// worker's task.
#[derive(Debug)]
pub struct Notifications {
    pub notifier: Notifier,
    pub api: NotificationsApi,
    pub worker: JoinHandle<()>,
}

/// Reads and checks the notification configuration: its text and its checked configuration.
pub async fn read(source: &NotificationsSource) -> anyhow::Result<(String, Checked)> {
    let owned = source.clone();
    let text = tokio::task::spawn_blocking(move || owned.read())
        .await?
        .with_context(|| format!("reading {source}"))?;
    let checked = NotificationsConfig::parse(&text)
        .map_err(|error| anyhow::anyhow!("{source}: {error}"))?
        .check()
        .map_err(|errors| anyhow::anyhow!("{source}: {}", errors.join("; ")))?;
    Ok((text, checked))
}

/// Starts the notifications of `notifications_file` or `notifications:`, if the configuration has them.
pub async fn start(
    config: &Config,
    state_path: &Path,
    registry: &mut Registry,
    pipeline_stop: CancellationToken,
    delivery_stop: CancellationToken,
) -> anyhow::Result<Option<Notifications>> {
    let Some(source) = &config.notifications else { return Ok(None) };
    let (text, checked) = read(source).await?;
    let base_dir = source.base_dir();
    let policy = Arc::new(OutboundPolicy::new(&config.outbound.allow));
    let path = state_path.to_owned();
    let (outbox, silences) = tokio::task::spawn_blocking(move || {
        anyhow::Ok((Outbox::open(&path)?, SilenceStore::open(&path)?))
    })
    .await
    .context("opening the notification tables")??;
    let (outbox, silences) = (Arc::new(outbox), Arc::new(silences));

    let integrations =
        integration::build(&checked.config, base_dir, &policy, &outbox, super::unix_now_ms)
            .map_err(|errors| anyhow::anyhow!("{source}: {}", errors.join("; ")))?;

    let delivery_metrics = Arc::new(DeliveryMetrics::default());
    delivery_metrics.register(registry);
    let outbound = &config.outbound;
    let settings = DeliverySettings {
        retry_initial: outbound.retry_initial,
        retry_max: outbound.retry_max,
        retry_for: outbound.retry_for,
        breaker_failures: outbound.breaker_failures,
        breaker_open_for: outbound.breaker_open_for,
    };
    let delivery = Delivery::new(
        Arc::clone(&outbox),
        integrations.clone(),
        settings,
        delivery_metrics,
        super::unix_now_ms,
    );
    let worker = tokio::spawn(delivery.clone().run(delivery_stop));

    let metrics = Arc::new(NotifierMetrics::default());
    metrics.register(registry);
    let pipeline = Pipeline {
        route: checked.route.clone(),
        inhibit_rules: checked.inhibit_rules.clone(),
        time_intervals: checked.time_intervals.clone(),
        integrations,
        silences: Arc::clone(&silences),
        outbox: Arc::clone(&outbox),
        delivery: delivery.clone(),
        external_url: config.http.external_url.clone(),
        metrics,
        clock: super::unix_now_ms,
    };
    let notifier = pipeline.start(pipeline_stop).await;
    tracing::info!(config = %source, "notifications started");
    let api = NotificationsApi {
        notifier: notifier.clone(),
        outbox,
        delivery,
        receivers: checked.config.receivers.iter().map(|receiver| receiver.name.clone()).collect(),
        config_text: NotificationsConfig::redact_secrets(&text),
        started: chrono::Utc::now(),
        clock: super::unix_now_ms,
    };
    Ok(Some(Notifications { notifier, api, worker }))
}
