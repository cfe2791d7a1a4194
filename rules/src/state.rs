//! Alert state in SQLite, so that a restart resumes pending timers where they were and keeps firing alerts
//! firing (and resolved ones remembered, for their notifications).
//!
//! A rule is identified by its file, group, name and occurrence: the how-manyth rule of that name in the group
//! (the same alert name often appears twice in a group, once per severity). Each evaluation that changed a
//! rule's alerts replaces that rule's rows in one transaction. Blocking: call it off the async runtime.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};

use crate::alerting::{Alert, AlertState};
use crate::promql::Labels;

/// Which rule a set of alerts belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleKey {
    pub file: String,
    pub group: String,
    pub rule: String,
    /// 0 for the first rule of this name in the group, 1 for the second…
    pub occurrence: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("alert state database {path}: {source}")]
pub struct StateError {
    path: String,
    source: rusqlite::Error,
}

/// The alert state database.
#[derive(Debug)]
pub struct AlertStore {
    path: String,
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_state (
    file TEXT NOT NULL,
    group_name TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    occurrence INTEGER NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    state TEXT NOT NULL,
    value REAL,
    active_at INTEGER NOT NULL,
    fired_at INTEGER,
    resolved_at INTEGER,
    keep_firing_since INTEGER,
    PRIMARY KEY (file, group_name, rule_name, occurrence, labels)
) STRICT;
";

/// Opens (or creates) the state database at `path` and creates the tables of `schema` that do not exist.
/// Every store of the state database opens it this way.
pub fn open_database(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // WAL: readers never wait for the writer; NORMAL: a commit is durable once the WAL is synced at
    // checkpoints, and a power loss can lose at most the last commits, never corrupt the database. A store
    // whose commits must survive a power loss too sets `synchronous = FULL` on its connection.
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
    )?;
    connection.execute_batch(schema)?;
    Ok(connection)
}

impl AlertStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<AlertStore, StateError> {
        let display = path.display().to_string();
        let connection = open_database(path, SCHEMA)
            .map_err(|source| StateError { path: display.clone(), source })?;
        Ok(AlertStore { path: display, connection: Mutex::new(connection) })
    }

    fn error(&self, source: rusqlite::Error) -> StateError {
        StateError { path: self.path.clone(), source }
    }

    /// Replaces the saved alerts of each rule given, in one transaction.
    pub fn save<'a>(
        &self,
        rules: impl IntoIterator<Item = (&'a RuleKey, Vec<&'a Alert>)>,
    ) -> Result<(), StateError> {
        let mut connection =
            self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let transaction = connection.transaction().map_err(|e| self.error(e))?;
        {
            let mut delete = transaction
                .prepare_cached(
                    "DELETE FROM alert_state WHERE file = ?1 AND group_name = ?2 AND rule_name = ?3 AND occurrence = ?4",
                )
                .map_err(|e| self.error(e))?;
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO alert_state (file, group_name, rule_name, occurrence, labels, annotations, state, value, active_at, fired_at, resolved_at, keep_firing_since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(|e| self.error(e))?;
            for (key, alerts) in rules {
                let occurrence = key.occurrence as i64;
                delete
                    .execute(params![key.file, key.group, key.rule, occurrence])
                    .map_err(|e| self.error(e))?;
                for alert in alerts {
                    let labels: BTreeMap<&str, &str> = alert.labels.iter().collect();
                    insert
                        .execute(params![
                            key.file,
                            key.group,
                            key.rule,
                            occurrence,
                            serde_json::to_string(&labels).expect("a map of strings serializes"),
                            serde_json::to_string(&alert.annotations)
                                .expect("a map of strings serializes"),
                            alert.state.name(),
                            // SQLite stores NaN as NULL; it comes back as NaN.
                            alert.value,
                            alert.active_at,
                            alert.fired_at,
                            alert.resolved_at,
                            alert.keep_firing_since,
                        ])
                        .map_err(|e| self.error(e))?;
                }
            }
        }
        transaction.commit().map_err(|e| self.error(e))
    }

    /// The saved alerts of the rules of one group, by rule.
    pub fn load_group(
        &self,
        file: &str,
        group: &str,
    ) -> Result<HashMap<RuleKey, Vec<Alert>>, StateError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut select = connection
            .prepare_cached(
                "SELECT rule_name, occurrence, labels, annotations, state, value, active_at, fired_at, resolved_at, keep_firing_since FROM alert_state WHERE file = ?1 AND group_name = ?2",
            )
            .map_err(|e| self.error(e))?;
        let rows = select
            .query_map(params![file, group], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<f64>>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, Option<i64>>(7)?,
                    row.get::<_, Option<i64>>(8)?,
                    row.get::<_, Option<i64>>(9)?,
                ))
            })
            .map_err(|e| self.error(e))?;
        let mut alerts: HashMap<RuleKey, Vec<Alert>> = HashMap::new();
        for row in rows {
            let (
                rule,
                occurrence,
                labels,
                annotations,
                state,
                value,
                active_at,
                fired,
                resolved,
                kept,
            ) = row.map_err(|e| self.error(e))?;
            let state = match state.as_str() {
                "pending" => AlertState::Pending,
                "firing" => AlertState::Firing,
                _ => AlertState::Inactive,
            };
            // The rows are only ever written by `save`: a row that does not decode is skipped, not fatal.
            let (Ok(labels), Ok(annotations)) = (
                serde_json::from_str::<BTreeMap<String, String>>(&labels),
                serde_json::from_str::<BTreeMap<String, String>>(&annotations),
            ) else {
                tracing::warn!(rule, "skipping an alert whose saved labels do not decode");
                continue;
            };
            let key = RuleKey {
                file: file.to_owned(),
                group: group.to_owned(),
                rule,
                occurrence: usize::try_from(occurrence).unwrap_or_default(),
            };
            alerts.entry(key).or_default().push(Alert {
                labels: Labels::new(labels),
                annotations,
                state,
                value: value.unwrap_or(f64::NAN),
                active_at,
                fired_at: fired,
                resolved_at: resolved,
                keep_firing_since: kept,
            });
        }
        Ok(alerts)
    }

    /// Forgets every alert of a group (one removed from the rule files).
    pub fn forget_group(&self, file: &str, group: &str) -> Result<(), StateError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connection
            .execute(
                "DELETE FROM alert_state WHERE file = ?1 AND group_name = ?2",
                params![file, group],
            )
            .map(drop)
            .map_err(|e| self.error(e))
    }
}
