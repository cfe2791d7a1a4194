//! The rules in the daemon: loads the configured rule files, evaluates each group at its interval in a task of
//! its own, keeps alert state in SQLite, reloads when the files change or when asked (SIGHUP), and publishes
//! what the API shows.
//!
//! - **Schedule.** A group evaluates at the multiples of its interval, shifted by an offset derived from its
//!   file and name so that groups spread over the interval. Its rules run in order, all at the same timestamp.
//!   An evaluation that runs past the next tick is counted as an overrun and the ticks it missed are skipped,
//!   never queued behind it.
//! - **Restarts.** A group's alerts are restored from the alert store before its first evaluation, so pending
//!   timers resume and firing alerts stay firing; alerts are saved after each evaluation that changed them.
//! - **Reload.** Each file is loaded on its own. A file that fails to load keeps its last good version running,
//!   and its errors are shown ([`RuleManager::files`]) and counted. A group whose definition changed is stopped
//!   (its evaluation in progress finished) before its new version starts from the saved state; an unchanged
//!   group keeps running undisturbed.

mod status;

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher as _};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::alerting::Alert;
use crate::file::{self, RuleGroup};
use crate::group::{Group, Sources, SqlSource};
use crate::notify::dispatch::Alert as NotifyAlert;
use crate::promql::{Element, Engine, Labels, SeriesSource, millis};
use crate::state::{AlertStore, RuleKey};
pub use status::{FileStatus, GroupStatus, RuleStatus};

/// What the rules read from and write to.
pub trait Backend: Send + Sync + 'static {
    fn series(&self) -> &dyn SeriesSource;
    /// Runs `sql:` rules; `None` when they cannot run.
    fn sql(&self) -> Option<&dyn SqlSource>;
    /// Stores what a rule wrote (recorded series, `ALERTS`, stale markers, each sample with its time), visible
    /// to the queries that follow.
    fn write(&self, output: Vec<Element>) -> Result<(), String>;
    /// Takes the firing and recently resolved alerts of one group evaluation, for notifications.
    fn notify(&self, _alerts: Vec<NotifyAlert>) {}
}

/// The configuration of the rules.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// `rule_files`: globs, relative to `base_dir`.
    pub patterns: Vec<String>,
    /// The configuration file's directory.
    pub base_dir: PathBuf,
    /// The interval of groups that give none.
    pub evaluation_interval: Duration,
    pub external_labels: Labels,
    pub external_url: String,
    /// How often the rule files are checked for changes.
    pub watch_interval: Duration,
}

/// The rule manager's own metrics, for `/metrics`.
#[derive(Debug, Default)]
pub struct RuleCounters {
    pub evaluations: Counter,
    pub evaluation_failures: Counter,
    /// Evaluations skipped because the one before ran past their tick.
    pub missed_evaluations: Counter,
    pub reloads: Counter,
    pub reload_failures: Counter,
    /// Rule files whose last load failed (their last good version runs).
    pub files_failing: Gauge,
    pub state_save_failures: Counter,
}

impl RuleCounters {
    /// Registers the metrics under `sightline_rules_`.
    pub fn register(&self, registry: &mut Registry) {
        let rules = registry.sub_registry_with_prefix("sightline_rules");
        rules.register("evaluations", "Rule evaluations", self.evaluations.clone());
        rules.register(
            "evaluation_failures",
            "Rule evaluations that failed (query error, limit, duplicate labels)",
            self.evaluation_failures.clone(),
        );
        rules.register(
            "missed_evaluations",
            "Group evaluations skipped because the previous one overran the interval",
            self.missed_evaluations.clone(),
        );
        rules.register("reloads", "Loads of the rule files", self.reloads.clone());
        rules.register(
            "reload_failures",
            "Loads of the rule files in which at least one file failed",
            self.reload_failures.clone(),
        );
        rules.register(
            "files_failing",
            "Rule files whose last load failed; their last good version keeps running",
            self.files_failing.clone(),
        );
        rules.register(
            "state_save_failures",
            "Alert state saves to SQLite that failed",
            self.state_save_failures.clone(),
        );
    }
}

/// The running rules. Cheap to clone.
#[derive(Clone)]
pub struct RuleManager {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager").field("settings", &self.shared.settings).finish()
    }
}

struct Shared {
    settings: RuleSettings,
    backend: Arc<dyn Backend>,
    store: Arc<AlertStore>,
    counters: Arc<RuleCounters>,
    shutdown: CancellationToken,
    /// What the API shows: the status of each group after its last evaluation, by (file, group).
    published: RwLock<BTreeMap<(String, String), Arc<GroupStatus>>>,
    files: RwLock<Vec<FileStatus>>,
    /// The group tasks, by (file, group). Held across a reload, so that two reloads never interleave.
    running: tokio::sync::Mutex<HashMap<(String, String), RunningGroup>>,
}

struct RunningGroup {
    definition: RuleGroup,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RuleManager {
    /// Loads the rule files and starts their groups. Files that fail to load are reported, not fatal.
    pub async fn start(
        settings: RuleSettings,
        backend: Arc<dyn Backend>,
        store: Arc<AlertStore>,
        counters: Arc<RuleCounters>,
        shutdown: CancellationToken,
    ) -> RuleManager {
        let manager = RuleManager::new(settings, backend, store, counters, shutdown);
        manager.reload().await;
        manager
    }

    /// A manager with no rules running yet: [`RuleManager::reload`] loads them.
    pub fn new(
        settings: RuleSettings,
        backend: Arc<dyn Backend>,
        store: Arc<AlertStore>,
        counters: Arc<RuleCounters>,
        shutdown: CancellationToken,
    ) -> RuleManager {
        RuleManager {
            shared: Arc::new(Shared {
                settings,
                backend,
                store,
                counters,
                shutdown,
                published: RwLock::new(BTreeMap::new()),
                files: RwLock::new(Vec::new()),
                running: tokio::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Checks the rule files every `watch_interval` and reloads them when one changed, appeared or went away,
    /// until shutdown.
    pub async fn watch(self) {
        let mut last = fingerprint_files(&self.shared.settings).await;
        loop {
            tokio::select! {
                () = self.shared.shutdown.cancelled() => break,
                () = tokio::time::sleep(self.shared.settings.watch_interval) => {}
            }
            let now = fingerprint_files(&self.shared.settings).await;
            if now != last {
                last = now;
                self.reload().await;
            }
        }
    }

    /// Loads the rule files again and applies what changed; returns the load errors (empty when every file
    /// loaded). Files that fail keep their last good version.
    pub async fn reload(&self) -> Vec<String> {
        let shared = &self.shared;
        let mut running = shared.running.lock().await;
        let settings = shared.settings.clone();
        let loaded =
            tokio::task::spawn_blocking(move || load(&settings)).await.unwrap_or_else(|panic| {
                Loaded::failed(format!("loading rule files panicked: {panic}"))
            });
        shared.counters.reloads.inc();
        let errors: Vec<String> =
            loaded.files.iter().flat_map(|file| file.errors.iter().cloned()).collect();
        if !errors.is_empty() {
            shared.counters.reload_failures.inc();
            for error in &errors {
                tracing::error!(%error, "rule file not loaded; its last good version keeps running");
            }
        }

        // The groups to run: those of the files that loaded, and the running ones of the files that did not.
        let failed: Vec<&str> = loaded
            .files
            .iter()
            .filter(|file| !file.errors.is_empty())
            .map(|file| file.path.as_str())
            .collect();
        let mut wanted: Vec<((String, String), RuleGroup)> = loaded.groups;
        for (key, group) in running.iter() {
            if failed.contains(&key.0.as_str()) {
                wanted.push((key.clone(), group.definition.clone()));
            }
        }

        let mut stopping = Vec::new();
        let wanted_keys: Vec<&(String, String)> = wanted.iter().map(|(key, _)| key).collect();
        let gone: Vec<(String, String)> =
            running.keys().filter(|key| !wanted_keys.contains(key)).cloned().collect();
        for key in gone {
            if let Some(group) = running.remove(&key) {
                group.stop.cancel();
                stopping.push((key, group.task, true));
            }
        }
        let mut to_start = Vec::new();
        for (key, definition) in wanted {
            match running.get(&key) {
                Some(group) if group.definition == definition => {}
                _ => {
                    if let Some(group) = running.remove(&key) {
                        group.stop.cancel();
                        stopping.push((key.clone(), group.task, false));
                    }
                    to_start.push((key, definition));
                }
            }
        }
        // A changed group's last evaluation finishes (and saves its state) before its new version restores it.
        for (key, task, removed) in stopping {
            let _ = task.await;
            if removed {
                shared.published.write().unwrap_or_else(|p| p.into_inner()).remove(&key);
                let store = shared.store.clone();
                let (file, group) = key.clone();
                let forgotten =
                    tokio::task::spawn_blocking(move || store.forget_group(&file, &group)).await;
                if let Ok(Err(error)) = forgotten {
                    tracing::warn!(%error, "could not forget the alerts of a removed group");
                }
            }
        }
        for (key, definition) in to_start {
            match Group::new(&key.0, definition.clone()) {
                Ok(group) => {
                    let stop = shared.shutdown.child_token();
                    let task = tokio::spawn(run_group(self.shared.clone(), group, stop.clone()));
                    running.insert(key, RunningGroup { definition, stop, task });
                }
                Err(error) => {
                    tracing::error!(file = key.0, group = key.1, %error, "group not started")
                }
            }
        }
        let failing = loaded.files.iter().filter(|file| !file.errors.is_empty()).count();
        shared.counters.files_failing.set(i64::try_from(failing).unwrap_or(i64::MAX));
        *shared.files.write().unwrap_or_else(|p| p.into_inner()) = loaded.files;
        errors
    }

    /// The interval of groups that give none.
    pub fn evaluation_interval(&self) -> Duration {
        self.shared.settings.evaluation_interval
    }

    /// The status of every group, by file then group name.
    pub fn groups(&self) -> Vec<Arc<GroupStatus>> {
        self.shared.published.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Each rule file and its load errors, from the last reload.
    pub fn files(&self) -> Vec<FileStatus> {
        self.shared.files.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops every group, letting evaluations in progress finish (and save their state).
    pub async fn stop(&self) {
        let mut running = self.shared.running.lock().await;
        for (_, group) in running.drain() {
            group.stop.cancel();
            let _ = group.task.await;
        }
    }
}

/// What one load of the rule files found.
struct Loaded {
    files: Vec<FileStatus>,
    groups: Vec<((String, String), RuleGroup)>,
}

impl Loaded {
    fn failed(error: String) -> Loaded {
        Loaded {
            files: vec![FileStatus { path: String::new(), errors: vec![error] }],
            groups: Vec::new(),
        }
    }
}

/// Loads each rule file on its own, so that one broken file does not stop the others.
fn load(settings: &RuleSettings) -> Loaded {
    let mut loaded = Loaded { files: Vec::new(), groups: Vec::new() };
    let paths = match file::rule_file_paths(&settings.patterns, &settings.base_dir) {
        Ok(paths) => paths,
        Err(errors) => {
            return Loaded {
                files: vec![FileStatus {
                    path: String::new(),
                    errors: errors.iter().map(ToString::to_string).collect(),
                }],
                groups: Vec::new(),
            };
        }
    };
    for path in paths {
        match file::read_rule_file(&path) {
            Ok(rules) => {
                for group in rules.groups {
                    loaded.groups.push(((path.clone(), group.name.clone()), group));
                }
                loaded.files.push(FileStatus { path, errors: Vec::new() });
            }
            Err(errors) => loaded.files.push(FileStatus {
                path,
                errors: errors.iter().map(ToString::to_string).collect(),
            }),
        }
    }
    loaded
}

/// What tells a change of the rule files: each matched path with a hash of its content (modification times
/// can be too coarse to see two quick edits).
async fn fingerprint_files(settings: &RuleSettings) -> Vec<(String, Option<u64>)> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || {
        let paths =
            file::rule_file_paths(&settings.patterns, &settings.base_dir).unwrap_or_default();
        paths
            .into_iter()
            .map(|path| {
                let content = std::fs::read(&path).ok().map(|bytes| {
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut hasher);
                    hasher.finish()
                });
                (path, content)
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, millis)
}

/// A group's task: restore its alerts, then evaluate at each tick until stopped.
async fn run_group(shared: Arc<Shared>, group: Group, stop: CancellationToken) {
    let interval = group.interval.unwrap_or(shared.settings.evaluation_interval);
    let interval_ms = millis(interval).max(1);
    let offset = spread_offset(&group, interval_ms);
    let mut scheduled = ScheduledGroup::new(group, interval);
    let store = shared.store.clone();
    let restored = tokio::task::spawn_blocking(move || {
        scheduled.restore(&store);
        scheduled
    })
    .await;
    let Ok(mut scheduled) = restored else {
        tracing::error!("restoring a rule group panicked; the group does not run");
        return;
    };
    let mut next = next_tick(now_ms(), interval_ms, offset);
    loop {
        let wait = Duration::from_millis((next - now_ms()).max(0).unsigned_abs());
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        let evaluating = shared.clone();
        let t = next;
        let evaluated = tokio::task::spawn_blocking(move || {
            let status = scheduled.evaluate(t, &evaluating);
            (scheduled, status)
        })
        .await;
        let Ok((returned, status)) = evaluated else {
            tracing::error!("a rule group's evaluation panicked; the group stops");
            return;
        };
        scheduled = returned;
        let key = (status.file.clone(), status.name.clone());
        shared.published.write().unwrap_or_else(|p| p.into_inner()).insert(key, Arc::new(status));
        // Ticks that passed while evaluating are skipped, not run late one after the other.
        let now = now_ms();
        next = t + interval_ms;
        if now >= next {
            let missed = (now - t) / interval_ms;
            shared.counters.missed_evaluations.inc_by(missed.unsigned_abs());
            scheduled.missed += missed.unsigned_abs();
            tracing::warn!(
                group = scheduled.group.name,
                missed,
                "rule group evaluation overran its interval"
            );
            next = t + (missed + 1) * interval_ms;
        }
    }
}

/// The first tick after `now`: a multiple of the interval plus the group's offset.
fn next_tick(now: i64, interval_ms: i64, offset: i64) -> i64 {
    let base = now - now.rem_euclid(interval_ms) + offset;
    if base > now { base } else { base + interval_ms }
}

/// A stable offset within the interval, so that groups do not all evaluate at once.
fn spread_offset(group: &Group, interval_ms: i64) -> i64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    group.file.hash(&mut hasher);
    group.name.hash(&mut hasher);
    (hasher.finish() % interval_ms.unsigned_abs()) as i64
}

/// A group with what its scheduling keeps: the alert state last saved per rule.
struct ScheduledGroup {
    group: Group,
    interval: Duration,
    engine: Engine,
    keys: Vec<RuleKey>,
    /// What was last saved of each rule's alerts, to save only changes.
    saved: Vec<u64>,
    missed: u64,
}

impl ScheduledGroup {
    fn new(group: Group, interval: Duration) -> ScheduledGroup {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let keys = group
            .rules
            .iter()
            .map(|rule| {
                let occurrence = seen.entry(rule.rule.name()).or_default();
                let key = RuleKey {
                    file: group.file.clone(),
                    group: group.name.clone(),
                    rule: rule.rule.name().to_owned(),
                    occurrence: *occurrence,
                };
                *occurrence += 1;
                key
            })
            .collect();
        let engine = Engine { default_subquery_step: interval, ..Engine::default() };
        let saved = vec![state_fingerprint(std::iter::empty()); group.rules.len()];
        ScheduledGroup { group, interval, engine, keys, saved, missed: 0 }
    }

    /// Gives each alerting rule the alerts saved for it.
    fn restore(&mut self, store: &AlertStore) {
        let mut saved = match store.load_group(&self.group.file, &self.group.name) {
            Ok(saved) => saved,
            Err(error) => {
                tracing::error!(%error, group = self.group.name, "alert state not restored");
                return;
            }
        };
        for (index, rule) in self.group.rules.iter_mut().enumerate() {
            let (Some(alerting), Some(alerts)) =
                (&mut rule.alerting, saved.remove(&self.keys[index]))
            else {
                continue;
            };
            alerting.restore(alerts);
            self.saved[index] = state_fingerprint(alerting.alerts());
        }
    }

    /// Evaluates every rule at `t`, in order, writing each one's output before the next runs; then saves the
    /// alerts that changed.
    fn evaluate(&mut self, t: i64, shared: &Shared) -> GroupStatus {
        let started = std::time::Instant::now();
        let backend = shared.backend.as_ref();
        let limit = self.group.limit;
        for rule in &mut self.group.rules {
            let sources = Sources {
                engine: &self.engine,
                series: backend.series(),
                sql: backend.sql(),
                external_labels: &shared.settings.external_labels,
                external_url: &shared.settings.external_url,
            };
            let output = rule.evaluate(t, sources, limit);
            let failed = rule.last_evaluation().is_some_and(|evaluation| {
                matches!(evaluation.health, crate::group::Health::Error(_))
            });
            shared.counters.evaluations.inc();
            if failed {
                shared.counters.evaluation_failures.inc();
            }
            if !output.is_empty()
                && let Err(error) = backend.write(output)
            {
                tracing::warn!(rule = rule.rule.name(), %error, "rule output not stored");
            }
        }
        self.save(&shared.store, &shared.counters);
        backend.notify(self.alerts_to_notify(t, &shared.settings));
        GroupStatus::of(&self.group, self.interval, t, started.elapsed(), self.missed)
    }

    /// The group's firing and resolved alerts as notifications see them, with the external labels they lack.
    /// As in Prometheus, a firing alert holds for four evaluation intervals (at least four minutes) without
    /// news: a group that stops evaluating does not leave its alerts firing forever.
    /// Each alert's `generatorURL` is Prometheus's: the rule's expression in the graph page under the external
    /// URL (none without one).
    fn alerts_to_notify(&self, t: i64, settings: &RuleSettings) -> Vec<NotifyAlert> {
        let valid_until_ms = t + 4 * millis(self.interval).max(60_000);
        let external_labels = &settings.external_labels;
        let rules = self.group.rules.iter();
        let alerting = rules.filter_map(|rule| {
            let alerting = rule.alerting.as_ref().filter(|a| a.alerts().next().is_some())?;
            let generator_url = if settings.external_url.is_empty() {
                String::new()
            } else {
                crate::template::graph_link(&settings.external_url, rule.rule.query.text())
            };
            Some((alerting, generator_url))
        });
        alerting
            .flat_map(|(alerting, generator_url)| {
                alerting.alerts().map(move |alert| (alert, generator_url.clone()))
            })
            .filter_map(|(alert, generator_url)| {
                let (starts_at_ms, resolved_at_ms) = match (alert.state, alert.resolved_at) {
                    (crate::alerting::AlertState::Firing, _) => (alert.fired_at?, None),
                    (crate::alerting::AlertState::Inactive, Some(resolved)) => {
                        (alert.fired_at?, Some(resolved))
                    }
                    _ => return None,
                };
                let mut labels = alert.labels.clone();
                for (name, value) in external_labels.iter() {
                    if labels.get(name).is_none() {
                        labels.set(name.to_owned(), value.to_owned());
                    }
                }
                Some(NotifyAlert {
                    labels,
                    annotations: Labels::new(alert.annotations.iter()),
                    starts_at_ms,
                    resolved_at_ms,
                    valid_until_ms,
                    generator_url,
                })
            })
            .collect()
    }

    fn save(&mut self, store: &AlertStore, counters: &RuleCounters) {
        let mut changed: Vec<(usize, u64)> = Vec::new();
        for (index, rule) in self.group.rules.iter().enumerate() {
            if let Some(alerting) = &rule.alerting {
                let fingerprint = state_fingerprint(alerting.alerts());
                if fingerprint != self.saved[index] {
                    changed.push((index, fingerprint));
                }
            }
        }
        if changed.is_empty() {
            return;
        }
        let rules = changed.iter().map(|(index, _)| {
            let alerts: Vec<&Alert> = self.group.rules[*index]
                .alerting
                .iter()
                .flat_map(|alerting| alerting.alerts())
                .collect();
            (&self.keys[*index], alerts)
        });
        match store.save(rules) {
            Ok(()) => {
                for (index, fingerprint) in changed {
                    self.saved[index] = fingerprint;
                }
            }
            Err(error) => {
                counters.state_save_failures.inc();
                tracing::error!(%error, group = self.group.name, "alert state not saved");
            }
        }
    }
}

/// What of a rule's alerts must survive a restart: labels, state and times (values and annotations are
/// rendered again at the next evaluation). Order-independent.
fn state_fingerprint<'a>(alerts: impl Iterator<Item = &'a Alert>) -> u64 {
    let mut combined = 0u64;
    let mut count = 0u64;
    for alert in alerts {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        alert.labels.hash(&mut hasher);
        alert.state.hash(&mut hasher);
        (alert.active_at, alert.fired_at, alert.resolved_at, alert.keep_firing_since)
            .hash(&mut hasher);
        combined = combined.wrapping_add(hasher.finish());
        count += 1;
    }
    combined ^ count.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15
}

#[cfg(test)]
mod tests;
