//! `sightline serve`: builds storage and the receivers from the configuration, serves until SIGTERM or
//! SIGINT, then drains: stop accepting, let requests in flight finish (each one acknowledged only once
//! durable), and exit.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::registry::Registry;
use sightline_collector::admission::Admission;
use sightline_collector::auth::{IngestAuth, IngestToken};
use sightline_collector::grpc::GrpcSettings;
use sightline_collector::http::{CorsSettings, HttpSettings};
use sightline_collector::ingest::{Pipeline, Replay};
use sightline_collector::metrics::{CollectorMetrics, SpanMetricsCounters};
use sightline_collector::otlp::Signal;
use sightline_collector::redact::Redactor;
use sightline_collector::spanmetrics::SpanMetrics;
use sightline_collector::tls::TlsFiles;
use sightline_collector::validate::Limits;
use sightline_collector::{grpc, http, server, tls};
use sightline_rules::manager::{RuleCounters, RuleManager, RuleSettings};
use sightline_rules::promql::{Engine, Labels};
use sightline_rules::state::AlertStore;
use sightline_rules::stored::{RecentMetrics, StoreBackend, StoredMetrics};
use sightline_storage::engine::{Storage, StorageOptions};
use sightline_storage::wal::{self, WalOptions};
use sightline_storage::{BatchSink, FileLocation, QueryEngine, QueryLimits, S3Options, Table};
use sightline_ui::api::{Access, Api, Routes};
use sightline_ui::auth::oidc::Oidc;
use sightline_ui::auth::{AuthStore, BOOTSTRAP_ADMIN};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::config::{self, Config, MemoryBudget};
use observed::ObservedStorage;
use redaction::PipelineRedaction;

pub(crate) mod notifications;
mod observed;
mod redaction;

/// The SQLite database of the state that is not telemetry (alert state today), in the data directory.
const STATE_DATABASE: &str = "sightline.db";
/// How often the rule files are checked for changes.
const RULE_FILES_WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// How far back the rules' recent samples reach: the ranges of typical rules (`[5m]` to `[15m]`, plus the
/// 5-minute lookback) with room. Longer ranges read storage. 10,000 series sampled every 15 s take about
/// 40 MiB over 30 minutes.
const RECENT_SAMPLES_KEPT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

pub async fn run(config: Config) -> anyhow::Result<()> {
    let signals = ShutdownSignals::install()?;
    // Installed before anything starts: a SIGHUP's default action would end the process.
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing the SIGHUP handler")?;
    let mut registry = Registry::default();
    let durability = match config.storage.durability {
        config::Durability::Fsync => wal::Durability::Fsync,
        config::Durability::None => wal::Durability::None,
    };
    let budget = MemoryBudget::of(&config);
    tracing::info!(
        memory_limit = config.memory_limit,
        buffer = budget.buffer,
        flush = budget.flush,
        requests = budget.requests,
        queries = budget.queries,
        compaction = budget.compaction,
        recent_samples = budget.recent_samples,
        "memory budget"
    );
    let limits = Limits {
        max_attributes: config.otlp.limits.max_attributes as usize,
        max_attribute_value_length: usize::try_from(config.otlp.limits.max_attribute_value_length)
            .unwrap_or(usize::MAX),
        max_items_per_request: config.otlp.limits.max_items_per_request,
    };
    // The WAL logs request bodies that redaction left as they were; replay converts them again.
    let replay = Replay::new(limits);
    let storage_config = &config.storage;
    let options = StorageOptions {
        wal: WalOptions {
            durability,
            segment_size: storage_config.wal_segment_size,
            commit_delay: storage_config.commit_delay,
            sources: Some(Arc::new(replay)),
        },
        buffer_limit_bytes: size(storage_config.buffer_max_size),
        flush_bytes: size(storage_config.flush_size),
        flush_age: storage_config.flush_age,
        compaction_memory_bytes: size(budget.compaction),
        log_body_references: storage_config.log_bodies == config::LogBodies::AttributeReferences,
        retention: Table::ALL
            .into_iter()
            .filter_map(|table| Some((table, config.retention.of(table.name())?)))
            .collect(),
        files: file_location(storage_config.object_store.as_ref()),
        ..StorageOptions::new(&config.data_dir)
    };
    let data_dir = config.data_dir.display().to_string();
    let (storage, opened) = tokio::task::spawn_blocking(move || Storage::open(options))
        .await
        .context("opening storage")?
        .with_context(|| format!("opening storage in {data_dir}"))?;
    tracing::info!(
        files = %describe(storage_config.object_store.as_ref(), &data_dir),
        replayed_records = opened.replayed_records,
        corrupt_wal_segments = opened.corrupt_segments.len(),
        "storage open"
    );
    sightline_storage::metrics::register(&storage, &mut registry);
    // Before any listener is up: once they are announced, clients may fill the disk or the first admin's
    // password may be needed, and a failure here must not stop a daemon that is already taking data.
    let state_path = config.data_dir.join(STATE_DATABASE);
    let users = open_users(&config, &state_path).await?;
    let flusher_stop = CancellationToken::new();
    let flusher = tokio::spawn(storage.clone().run_flusher(flusher_stop.clone()));

    let auth = IngestAuth::new(ingest_tokens(&config.otlp.tokens));
    if auth.is_open() {
        tracing::warn!(
            "no ingest tokens are configured: anyone who can reach the OTLP ports can send telemetry"
        );
    }
    let redactor = Redactor::new(&config.redaction)
        .map_err(|message| anyhow::anyhow!("redaction: {message}"))?;
    if !redactor.is_enabled() {
        tracing::warn!("redaction is off: secrets that services send will be stored as sent");
    }
    // Queries read the files from the same store the engine writes them to.
    let store = storage.data_store().object_store().context("opening the data files' store")?;
    let queries = QueryEngine::new(
        Arc::new(storage.clone()),
        store,
        QueryLimits { memory_bytes: size(budget.queries), ..QueryLimits::default() },
    )
    .context("starting the query engine")?;
    let queries = Arc::new(queries);
    // What is written goes through `sink`: storage, then the rules' recent samples.
    let recent = Arc::new(RecentMetrics::new(
        StoredMetrics::new(Arc::clone(&queries), Handle::current(), Engine::default().max_samples),
        RECENT_SAMPLES_KEPT,
        size(budget.recent_samples),
    ));
    recent.register(&mut registry);
    let sink: Arc<dyn BatchSink> =
        Arc::new(ObservedStorage { storage: storage.clone(), recent: Arc::clone(&recent) });
    // Span metrics are flushed after intake stops and before storage does, so every stored span counts.
    let span_metrics_stop = CancellationToken::new();
    let span_metrics = config.span_metrics.enabled.then(|| {
        SpanMetrics::new(
            size(config.span_metrics.max_series),
            sightline_collector::unix_now_ns(),
            SpanMetricsCounters::register(&mut registry),
        )
    });
    let span_metrics_task = span_metrics.clone().map(|span_metrics| {
        let run = span_metrics.run(
            Arc::clone(&sink),
            config.span_metrics.flush_interval,
            span_metrics_stop.clone(),
        );
        tokio::spawn(run.instrument(tracing::info_span!("spanmetrics")))
    });
    let pipeline = Pipeline::new(
        Arc::clone(&sink),
        auth,
        redactor,
        limits,
        CollectorMetrics::register(&mut registry),
        span_metrics,
    );

    // One budget for the requests in flight on both receivers.
    let admission = Admission::new(size(budget.requests));
    // A listener that cannot bind (port taken) ends the start with an error naming the address.
    let ingest_stop = CancellationToken::new();
    let api_stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let grace = config.shutdown.grace_period;
    let grpc_config = &config.otlp.grpc;
    if grpc_config.enabled {
        let settings = GrpcSettings {
            max_message_size: size(grpc_config.max_message_size),
            admission: admission.clone(),
        };
        let listener = bind("otlp_grpc", grpc_config.listen).await?;
        let tls = grpc_config.tls.as_ref().map(acceptor).transpose()?;
        let router = grpc::router(pipeline.clone(), &settings);
        tasks.spawn(server::serve("otlp_grpc", listener, router, tls, ingest_stop.clone(), grace));
    }
    let http_config = &config.otlp.http;
    if http_config.enabled {
        let settings = HttpSettings {
            max_body_size: size(http_config.max_body_size),
            cors: CorsSettings {
                allowed_origins: http_config.cors.allowed_origins.clone(),
                max_age: http_config.cors.max_age,
            },
            admission: admission.clone(),
        };
        let listener = bind("otlp_http", http_config.listen).await?;
        let tls = http_config.tls.as_ref().map(acceptor).transpose()?;
        let router = http::router(pipeline.clone(), settings);
        tasks.spawn(server::serve("otlp_http", listener, router, tls, ingest_stop.clone(), grace));
    }
    let admin_token = config.auth.admin_token.as_ref().map(|token| token.expose().to_owned());
    let oidc = match config.auth.oidc.clone() {
        Some(settings) => Some(Arc::new(Oidc::new(settings).context("single sign-on")?)),
        None => None,
    };
    let rules_stop = CancellationToken::new();
    load_recent_samples(Arc::clone(&recent)).await;
    let recent_evictor =
        tokio::spawn(evict_recent_samples(Arc::clone(&recent), rules_stop.clone()));
    // The pipeline stops with the rules (nothing new to decide); the delivery worker last, after its round
    // in progress, so that what a receiver acknowledged is recorded.
    let delivery_stop = CancellationToken::new();
    let notifications = notifications::start(
        &config,
        &state_path,
        &mut registry,
        rules_stop.clone(),
        delivery_stop.clone(),
    )
    .await?;
    let backend =
        StoreBackend::new(Arc::clone(&recent), Arc::clone(&queries), sink, Handle::current())
            .with_notifier(notifications.as_ref().map(|running| running.notifier.clone()));
    let rules = start_rules(&config, backend, &mut registry, rules_stop.clone()).await?;
    let rules_watcher = tokio::spawn(rules.clone().watch());
    let reloader = tokio::spawn(reload_on_sighup(rules.clone(), hangups, rules_stop.clone()));

    let ready = Arc::new(AtomicBool::new(true));
    let api_listener = bind("api", config.http.listen).await?;
    let api = sightline_ui::api::router(
        Api {
            engine: queries,
            metrics: recent,
            rules: rules.clone(),
            notifications: notifications.as_ref().map(|running| running.api.clone()),
            auth: users,
            redaction: Arc::new(PipelineRedaction(pipeline.clone())),
            oidc,
            admin_token,
            secure_cookies: config.auth.secure_cookies,
        },
        operation_routes(Arc::new(registry), Arc::clone(&ready)),
    );
    let api_task =
        tokio::spawn(server::serve("api", api_listener, api, None, api_stop.clone(), grace));
    tasks.close();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), data_dir = %config.data_dir.display(), "sightline is running");

    signals.received().await;
    tracing::info!("shutting down: no new requests, finishing those in flight");
    ready.store(false, Ordering::SeqCst);
    ingest_stop.cancel();
    tasks.wait().await;
    // Evaluations in progress finish and save their alert state; rules write into storage, so before it stops.
    rules_stop.cancel();
    rules.stop().await;
    let _ = rules_watcher.await;
    let _ = reloader.await;
    let _ = recent_evictor.await;
    delivery_stop.cancel();
    if let Some(running) = notifications {
        let _ = running.worker.await;
    }
    span_metrics_stop.cancel();
    if let Some(task) = span_metrics_task
        && let Err(error) = task.await
    {
        // Derived points only: the spans are stored. Keep shutting down so that storage is flushed.
        tracing::error!(%error, "the span metrics task failed");
    }
    // Every acknowledged request is durable in the WAL already; flushing the buffer now means the next start
    // has nothing to replay.
    flusher_stop.cancel();
    flusher.await.context("the flusher task failed")?;
    api_stop.cancel();
    api_task.await.context("the api server task failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the alert state database and starts the rule groups of `rule_files`.
async fn start_rules(
    config: &Config,
    backend: StoreBackend,
    registry: &mut Registry,
    stop: CancellationToken,
) -> anyhow::Result<RuleManager> {
    let state_path = config.data_dir.join(STATE_DATABASE);
    let display = state_path.display().to_string();
    let alert_store = tokio::task::spawn_blocking(move || AlertStore::open(&state_path))
        .await
        .context("opening the alert state database")?
        .with_context(|| format!("opening {display}"))?;
    let counters = Arc::new(RuleCounters::default());
    counters.register(registry);
    let settings = RuleSettings {
        patterns: config.rule_files.clone(),
        base_dir: config.rule_files_dir.clone(),
        evaluation_interval: config.evaluation_interval,
        external_labels: Labels::default(),
        external_url: config.http.external_url.clone(),
        watch_interval: RULE_FILES_WATCH_INTERVAL,
    };
    let rules =
        RuleManager::start(settings, Arc::new(backend), Arc::new(alert_store), counters, stop)
            .await;
    let groups = rules.files().iter().filter(|file| file.errors.is_empty()).count();
    tracing::info!(rule_files = groups, "rules loaded");
    Ok(rules)
}

/// Loads the recent samples from storage; ingest has started, and the sink shows them what arrives meanwhile.
async fn load_recent_samples(recent: Arc<RecentMetrics>) {
    let started = std::time::Instant::now();
    match tokio::task::spawn_blocking(move || recent.load(unix_now_ms())).await {
        Ok(Ok(())) => tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "recent metric samples loaded"
        ),
        // Rules still run, reading the stored metrics: slower, not wrong.
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot load the recent metric samples; rules read storage")
        }
        Err(error) => {
            tracing::warn!(%error, "loading the recent metric samples failed; rules read storage")
        }
    }
}

/// Drops the recent samples that have aged out, every minute until `stop`.
async fn evict_recent_samples(recent: Arc<RecentMetrics>, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let recent = Arc::clone(&recent);
        let _ = tokio::task::spawn_blocking(move || recent.evict(unix_now_ms())).await;
    }
}

pub(crate) fn unix_now_ms() -> i64 {
    i64::try_from(sightline_collector::unix_now_ns() / 1_000_000).unwrap_or(i64::MAX)
}

/// Reloads the rule files on each SIGHUP, until `stop`.
async fn reload_on_sighup(
    rules: RuleManager,
    mut hangups: tokio::signal::unix::Signal,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            received = hangups.recv() => {
                if received.is_none() {
                    return;
                }
                tracing::info!(signal = "SIGHUP", "reloading rule files");
                rules.reload().await;
            }
        }
    }
}

fn file_location(object_store: Option<&config::ObjectStoreConfig>) -> FileLocation {
    match object_store {
        None => FileLocation::DataDir,
        Some(config::ObjectStoreConfig::S3(s3)) => FileLocation::S3(S3Options {
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            endpoint: s3.endpoint.clone(),
            prefix: s3.prefix.clone(),
            access_key_id: s3.access_key_id.as_ref().map(|key| key.expose().to_owned()),
            secret_access_key: s3.secret_access_key.as_ref().map(|key| key.expose().to_owned()),
            allow_http: s3.allow_http,
        }),
    }
}

/// Where the data files are, for the start-up log line.
fn describe(object_store: Option<&config::ObjectStoreConfig>, data_dir: &str) -> String {
    match file_location(object_store) {
        FileLocation::DataDir => data_dir.to_owned(),
        FileLocation::S3(s3) => s3.describe(),
    }
}

fn ingest_tokens(tokens: &[config::IngestTokenConfig]) -> Vec<IngestToken> {
    tokens
        .iter()
        .map(|token| IngestToken {
            name: token.name.clone(),
            secret: token.token.expose().to_owned(),
            // The config loader accepts only the three signal names.
            signals: Signal::ALL
                .into_iter()
                .filter(|s| token.signals.iter().any(|name| name == s.name()))
                .collect(),
        })
        .collect()
}

fn acceptor(files: &config::TlsConfig) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let files = TlsFiles {
        cert_file: files.cert_file.clone(),
        key_file: files.key_file.clone(),
        client_ca_file: files.client_ca_file.clone(),
    };
    Ok(tls::acceptor(&files)?)
}

fn size(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

async fn bind(name: &'static str, address: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} ({name})"))?;
    // The bound address matters when the configuration asks for port 0: tests and scripts read it here.
    tracing::info!(listener = name, address = %listener.local_addr()?, "listening");
    Ok(listener)
}

/// Opens the users and sessions of the state database, and creates the first admin on first start: with the
/// configured password, or a generated one printed once.
async fn open_users(config: &Config, state_path: &Path) -> anyhow::Result<Arc<AuthStore>> {
    let path = state_path.to_owned();
    let settings = config.auth.sessions.clone();
    let password = config.auth.admin_password.as_ref().map(|password| password.expose().to_owned());
    tokio::task::spawn_blocking(move || {
        let auth = AuthStore::open(&path, settings, unix_now_ms)?;
        let generated = auth
            .ensure_admin(password.as_deref())
            .context("creating the first admin account (auth.admin_password)")?;
        if let Some(password) = generated {
            // Printed, not logged: log files are kept and shipped, and this is shown only once.
            eprintln!(
                "\nsightline: created the first user, \"{BOOTSTRAP_ADMIN}\", with the password\n\n    {password}\n\n\
                 It is not shown again. Log in and change it, or set SIGHTLINE_ADMIN_PASSWORD before the first start.\n"
            );
        }
        anyhow::Ok(Arc::new(auth))
    })
    .await?
}

/// `/healthz`, `/readyz` and `/metrics`, beside the web API and behind its gate, open to anyone: load balancers
/// and Prometheus scrape them without credentials.
fn operation_routes(registry: Arc<Registry>, ready: Arc<AtomicBool>) -> Routes {
    Routes::default()
        .add(Method::GET, "/healthz", Access::Public, || async { "ok\n" })
        .add(Method::GET, "/readyz", Access::Public, move || readiness(Arc::clone(&ready)))
        .add(Method::GET, "/metrics", Access::Public, move || metrics(Arc::clone(&registry)))
}

async fn readiness(ready: Arc<AtomicBool>) -> Response {
    if ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    }
}

async fn metrics(registry: Arc<Registry>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding /metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// SIGTERM and SIGINT, installed before anything is served: a signal that arrives during startup must start
/// the drain too, not kill the process with the default action.
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<ShutdownSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignals {
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn received(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
            _ = self.interrupt.recv() => tracing::info!(signal = "SIGINT", "signal received"),
        }
    }
}
