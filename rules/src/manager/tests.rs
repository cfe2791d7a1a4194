#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;

use super::*;
use crate::alerting::AlertState;
use crate::group::Health;
use crate::promql::{MemorySource, Sample, Selection, Series};

const MINUTE: i64 = 60_000;

const RULES: &str = "
groups:
  - name: restart
    interval: 1m
    rules:
      - alert: FiresAfterTwoMinutes
        expr: errors > 0
        for: 2m
        annotations:
          summary: '{{ $value }} errors'
      - alert: PendsForThirtyMinutes
        expr: errors > 0
        for: 30m
";

/// Series that never change, and a record of what the rules wrote.
struct TestBackend {
    source: MemorySource,
    failing: bool,
    written: Mutex<Vec<Element>>,
}

impl TestBackend {
    /// `errors` = 1 every minute for two hours.
    fn new(failing: bool) -> TestBackend {
        let mut source = MemorySource::default();
        source.add(
            Labels::new([("__name__", "errors"), ("job", "api")]),
            (0..=120).map(|minute| Sample { t: minute * MINUTE, v: 1.0 }),
        );
        TestBackend { source, failing, written: Mutex::new(Vec::new()) }
    }
}

impl SeriesSource for TestBackend {
    fn select(
        &self,
        selection: Selection<'_>,
        start: i64,
        end: i64,
    ) -> Result<Vec<Series>, String> {
        if self.failing {
            return Err("the store is unreachable".to_owned());
        }
        self.source.select(selection, start, end)
    }
}

impl Backend for TestBackend {
    fn series(&self) -> &dyn SeriesSource {
        self
    }

    fn sql(&self) -> Option<&dyn SqlSource> {
        None
    }

    fn write(&self, output: Vec<Element>) -> Result<(), String> {
        self.written.lock().unwrap().extend(output);
        Ok(())
    }
}

fn shared(dir: &Path, backend: Arc<TestBackend>) -> Shared {
    Shared {
        settings: RuleSettings {
            patterns: vec!["*.rules.yaml".to_owned()],
            base_dir: dir.to_owned(),
            evaluation_interval: Duration::from_secs(60),
            external_labels: Labels::default(),
            external_url: String::new(),
            watch_interval: Duration::from_millis(20),
        },
        backend,
        store: Arc::new(AlertStore::open(&dir.join("state.db")).unwrap()),
        counters: Arc::new(RuleCounters::default()),
        shutdown: CancellationToken::new(),
        published: RwLock::new(BTreeMap::new()),
        files: RwLock::new(Vec::new()),
        running: tokio::sync::Mutex::new(HashMap::new()),
    }
}

/// The group of `RULES`, restored from the shared state's store as the daemon restores it on start.
fn scheduled(shared: &Shared) -> ScheduledGroup {
    let file = file::parse_rule_file("restart.rules.yaml", RULES).unwrap();
    let group = Group::new("restart.rules.yaml", file.groups[0].clone()).unwrap();
    let mut scheduled = ScheduledGroup::new(group, Duration::from_secs(60));
    scheduled.restore(&shared.store);
    scheduled
}

/// (rule, state, active_at) of every alert, in rule order.
fn alerts(status: &GroupStatus) -> Vec<(String, AlertState, i64)> {
    status
        .rules
        .iter()
        .flat_map(|rule| {
            rule.alerts.iter().map(|alert| (rule.name.clone(), alert.state, alert.active_at))
        })
        .collect()
}

#[test]
fn firing_and_pending_alerts_keep_their_state_and_active_time_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let before = shared(dir.path(), Arc::new(TestBackend::new(false)));
    let mut group = scheduled(&before);
    let mut status = None;
    for minute in 0..=3 {
        status = Some(group.evaluate(minute * MINUTE + 30_000, &before));
    }
    let start = 30_000;
    assert_eq!(
        alerts(&status.unwrap()),
        [
            ("FiresAfterTwoMinutes".into(), AlertState::Firing, start),
            ("PendsForThirtyMinutes".into(), AlertState::Pending, start),
        ]
    );
    drop(group);
    drop(before);

    // A new process: a new connection to the same database, a new group from the same file.
    let after = shared(dir.path(), Arc::new(TestBackend::new(false)));
    let mut group = scheduled(&after);
    let status = group.evaluate(10 * MINUTE + 30_000, &after);
    assert_eq!(
        alerts(&status),
        [
            ("FiresAfterTwoMinutes".into(), AlertState::Firing, start),
            ("PendsForThirtyMinutes".into(), AlertState::Pending, start),
        ]
    );
    // The pending timer resumed where it was: thirty minutes after the condition started, not after the restart.
    let status = group.evaluate(30 * MINUTE + 30_000, &after);
    assert_eq!(alerts(&status)[1], ("PendsForThirtyMinutes".into(), AlertState::Firing, start));
    let firing = &status.rules[0].alerts[0];
    assert_eq!(firing.fired_at, Some(2 * MINUTE + 30_000));
    assert_eq!(firing.annotations["summary"], "1 errors");
}

#[test]
fn a_failing_source_keeps_alerts_as_they_were_under_keep_last_and_shows_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let working = shared(dir.path(), Arc::new(TestBackend::new(false)));
    let mut group = scheduled(&working);
    for minute in 0..=2 {
        group.evaluate(minute * MINUTE, &working);
    }
    drop(group);
    drop(working);

    let backend = Arc::new(TestBackend::new(true));
    let failing = shared(dir.path(), backend.clone());
    let mut group = scheduled(&failing);
    let status = group.evaluate(40 * MINUTE, &failing);
    assert_eq!(
        alerts(&status),
        [
            ("FiresAfterTwoMinutes".into(), AlertState::Firing, 0),
            // Kept as it was: a failure does not advance the timer either.
            ("PendsForThirtyMinutes".into(), AlertState::Pending, 0),
        ]
    );
    let health = status.rules[0].health().unwrap();
    assert_eq!(*health, Health::Error("fetching series: the store is unreachable".to_owned()));
    // The firing alert's ALERTS series goes on being written.
    let written = backend.written.lock().unwrap();
    assert!(
        written.iter().any(|element| element.labels.get("alertstate") == Some("firing")
            && element.t == 40 * MINUTE),
        "{written:?}"
    );
}

/// Polls `condition` until it holds, for up to ten seconds.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

fn rule_names(manager: &RuleManager) -> Vec<String> {
    manager
        .groups()
        .iter()
        .flat_map(|group| group.rules.iter().map(|rule| rule.name.clone()))
        .collect()
}

fn last_evaluation(manager: &RuleManager) -> i64 {
    manager.groups().first().map_or(0, |group| group.last_evaluation_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_rule_file_keeps_its_last_good_rules_running_until_it_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.rules.yaml");
    let rules = |name: &str| {
        format!(
            "groups:\n  - name: app\n    interval: 50ms\n    rules:\n      - alert: {name}\n        expr: vector(1)\n"
        )
    };
    std::fs::write(&path, rules("Before")).unwrap();
    let shared = shared(dir.path(), Arc::new(TestBackend::new(false)));
    let manager = RuleManager::start(
        shared.settings.clone(),
        shared.backend.clone(),
        shared.store.clone(),
        shared.counters.clone(),
        shared.shutdown.clone(),
    )
    .await;
    tokio::spawn(manager.clone().watch());
    eventually("the first evaluation", || rule_names(&manager) == ["Before"]).await;

    std::fs::write(
        &path,
        "groups:\n  - name: app\n    rules:\n      - alert: Broken\n        expr: rate(x[5m]\n",
    )
    .unwrap();
    let errors = manager.reload().await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "{}: 5:15: group \"app\", rule 1, \"Broken\": could not parse expression",
            path.display()
        )),
        "{errors:?}"
    );
    assert_eq!(manager.files()[0].errors, errors);
    let evaluated = last_evaluation(&manager);
    eventually("the old rules evaluate again", || last_evaluation(&manager) > evaluated).await;
    assert_eq!(rule_names(&manager), ["Before"]);

    // Fixed: the watcher sees the change and applies the new rules.
    std::fs::write(&path, rules("After")).unwrap();
    eventually("the new rules run", || rule_names(&manager) == ["After"]).await;
    assert!(manager.files()[0].errors.is_empty());
    shared.shutdown.cancel();
    manager.stop().await;
}
