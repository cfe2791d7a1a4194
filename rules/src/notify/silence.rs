//! Silences, with Alertmanager's rules: a silence mutes the alerts its matchers all match while it is active,
//! from its start (inclusive) to its end (exclusive); it is pending before and expired after. Creating one that
//! starts in the past starts it now. Updating one in place is allowed only where Alertmanager allows it (same
//! matchers; an active silence keeps its start and may not end in the past; a pending one may not start in the
//! past); any other update expires the old silence and creates a new one with a new id.
//!
//! Silences are kept in SQLite ([`SilenceStore`]), so they survive restarts. Blocking: call the store off the
//! async runtime.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::matcher::{MatchOp, Matcher};
use crate::promql::Labels;

/// A matcher as the v2 API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    #[serde(default = "default_is_equal")]
    pub is_equal: bool,
}

fn default_is_equal() -> bool {
    true
}

impl SilenceMatcher {
    pub fn matcher(&self) -> Result<Matcher, String> {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (true, false) => MatchOp::NotRegex,
        };
        Matcher::new(&self.name, op, &self.value)
    }
}

/// A silence. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    /// Empty for a silence not created yet.
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_by: String,
    pub comment: String,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    /// The name the v2 API gives the state.
    pub fn name(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    pub fn state(&self, now_ms: i64) -> SilenceState {
        if now_ms < self.starts_at_ms {
            SilenceState::Pending
        } else if now_ms < self.ends_at_ms {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether the silence is active at `now_ms` and every matcher matches `labels`.
    pub fn mutes(&self, labels: &Labels, now_ms: i64) -> bool {
        self.state(now_ms) == SilenceState::Active
            && self
                .matchers
                .iter()
                .all(|matcher| matcher.matcher().is_ok_and(|matcher| matcher.matches(labels)))
    }

    /// Alertmanager's checks of a silence to create or update; every problem, in one message.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.matchers.is_empty() {
            problems.push("at least one matcher is required".to_owned());
        }
        let mut all_match_empty = true;
        for matcher in &self.matchers {
            match matcher.matcher() {
                Ok(built) => all_match_empty &= built.matches(&Labels::default()),
                Err(error) => problems.push(format!("matcher {:?}: {error}", matcher.name)),
            }
        }
        if !self.matchers.is_empty() && all_match_empty {
            problems.push("at least one matcher must not match the empty string".to_owned());
        }
        if self.ends_at_ms < self.starts_at_ms {
            problems.push("the end time must not be before the start time".to_owned());
        }
        if self.created_by.trim().is_empty() {
            problems.push("createdBy is required".to_owned());
        }
        if self.comment.trim().is_empty() {
            problems.push("comment is required".to_owned());
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("invalid silence: {0}")]
    Invalid(String),
    #[error("silence {0} not found")]
    NotFound(String),
    #[error("silence {0} is already expired")]
    AlreadyExpired(String),
    #[error("silence database {path}: {source}")]
    Database { path: String, source: rusqlite::Error },
}

/// The silences, in SQLite.
#[derive(Debug)]
pub struct SilenceStore {
    path: String,
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    comment TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
";

impl SilenceStore {
    /// Opens (or creates) the silences' table in the database at `path`.
    pub fn open(path: &Path) -> Result<SilenceStore, SilenceError> {
        let display = path.display().to_string();
        let connection = crate::state::open_database(path, SCHEMA)
            .map_err(|source| SilenceError::Database { path: display.clone(), source })?;
        Ok(SilenceStore { path: display, connection: Mutex::new(connection) })
    }

    fn error(&self, source: rusqlite::Error) -> SilenceError {
        SilenceError::Database { path: self.path.clone(), source }
    }

    /// Creates `silence` (no id) or updates the one with its id; returns the id it is kept under, which is a new
    /// one when the update could not be made in place (the old silence is then expired).
    pub fn save(&self, mut silence: Silence, now_ms: i64) -> Result<String, SilenceError> {
        silence.validate().map_err(SilenceError::Invalid)?;
        silence.updated_at_ms = now_ms;
        let mut connection =
            self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let transaction = connection.transaction().map_err(|e| self.error(e))?;
        if !silence.id.is_empty() {
            let previous = read(&transaction, &silence.id)
                .map_err(|e| self.error(e))?
                .ok_or_else(|| SilenceError::NotFound(silence.id.clone()))?;
            if can_update_in_place(&previous, &silence, now_ms) {
                write(&transaction, &silence).map_err(|e| self.error(e))?;
                transaction.commit().map_err(|e| self.error(e))?;
                return Ok(silence.id);
            }
            if previous.state(now_ms) != SilenceState::Expired {
                expire_row(&transaction, &previous, now_ms).map_err(|e| self.error(e))?;
            }
        }
        silence.id = uuid::Uuid::new_v4().to_string();
        silence.starts_at_ms = silence.starts_at_ms.max(now_ms);
        if silence.ends_at_ms < silence.starts_at_ms {
            return Err(SilenceError::Invalid("the silence would end before it starts".to_owned()));
        }
        write(&transaction, &silence).map_err(|e| self.error(e))?;
        transaction.commit().map_err(|e| self.error(e))?;
        Ok(silence.id)
    }

    /// Ends a silence now (a pending one never starts).
    pub fn expire(&self, id: &str, now_ms: i64) -> Result<(), SilenceError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let silence = read(&connection, id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| SilenceError::NotFound(id.to_owned()))?;
        if silence.state(now_ms) == SilenceState::Expired {
            return Err(SilenceError::AlreadyExpired(id.to_owned()));
        }
        expire_row(&connection, &silence, now_ms).map_err(|e| self.error(e))
    }

    pub fn get(&self, id: &str) -> Result<Option<Silence>, SilenceError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        read(&connection, id).map_err(|e| self.error(e))
    }

    /// Every silence, oldest update first.
    pub fn list(&self) -> Result<Vec<Silence>, SilenceError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection
            .prepare(&format!("{SELECT} ORDER BY updated_at, id"))
            .map_err(|e| self.error(e))?;
        let rows = statement.query_map([], from_row).map_err(|e| self.error(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.error(e))
    }

    /// Deletes the silences that ended before `cutoff_ms` (Alertmanager keeps expired ones for a while, so
    /// that they can be looked at and re-created).
    pub fn forget_ended_before(&self, cutoff_ms: i64) -> Result<usize, SilenceError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connection
            .execute("DELETE FROM silences WHERE ends_at < ?1", params![cutoff_ms])
            .map_err(|e| self.error(e))
    }
}

/// Alertmanager's `canUpdate`.
fn can_update_in_place(previous: &Silence, next: &Silence, now_ms: i64) -> bool {
    if previous.matchers != next.matchers {
        return false;
    }
    match previous.state(now_ms) {
        SilenceState::Active => {
            next.starts_at_ms == previous.starts_at_ms && next.ends_at_ms >= now_ms
        }
        SilenceState::Pending => next.starts_at_ms >= now_ms,
        SilenceState::Expired => false,
    }
}

const SELECT: &str =
    "SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM silences";

fn read(connection: &Connection, id: &str) -> rusqlite::Result<Option<Silence>> {
    connection.query_row(&format!("{SELECT} WHERE id = ?1"), params![id], from_row).optional()
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Silence> {
    let matchers: String = row.get(1)?;
    let matchers = serde_json::from_str(&matchers).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(error))
    })?;
    Ok(Silence {
        id: row.get(0)?,
        matchers,
        starts_at_ms: row.get(2)?,
        ends_at_ms: row.get(3)?,
        created_by: row.get(4)?,
        comment: row.get(5)?,
        updated_at_ms: row.get(6)?,
    })
}

fn write(connection: &Connection, silence: &Silence) -> rusqlite::Result<()> {
    let matchers = serde_json::to_string(&silence.matchers)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
    connection.execute(
        "INSERT OR REPLACE INTO silences (id, matchers, starts_at, ends_at, created_by, comment, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            silence.id,
            matchers,
            silence.starts_at_ms,
            silence.ends_at_ms,
            silence.created_by,
            silence.comment,
            silence.updated_at_ms
        ],
    )?;
    Ok(())
}

/// Ends a silence at `now_ms`; a pending one also starts then, so that it never was active.
fn expire_row(connection: &Connection, silence: &Silence, now_ms: i64) -> rusqlite::Result<()> {
    let starts_at = silence.starts_at_ms.min(now_ms);
    connection.execute(
        "UPDATE silences SET starts_at = ?2, ends_at = ?3, updated_at = ?3 WHERE id = ?1",
        params![silence.id, starts_at, now_ms],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const MINUTE: i64 = 60_000;

    fn silence(matchers: &[(&str, &str, bool, bool)], starts: i64, ends: i64) -> Silence {
        Silence {
            id: String::new(),
            matchers: matchers
                .iter()
                .map(|&(name, value, is_regex, is_equal)| SilenceMatcher {
                    name: name.into(),
                    value: value.into(),
                    is_regex,
                    is_equal,
                })
                .collect(),
            starts_at_ms: starts,
            ends_at_ms: ends,
            created_by: "ops".into(),
            comment: "maintenance".into(),
            updated_at_ms: 0,
        }
    }

    fn store() -> (tempfile::TempDir, SilenceStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SilenceStore::open(&dir.path().join("sightline.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_silence_mutes_matching_alerts_only_while_active() {
        let maintenance = silence(
            &[("job", "db", false, true), ("env", "dev", false, false)],
            10 * MINUTE,
            20 * MINUTE,
        );
        let alert = Labels::new([("job", "db"), ("env", "prod")]);
        assert!(!maintenance.mutes(&alert, 9 * MINUTE));
        assert_eq!(maintenance.state(9 * MINUTE), SilenceState::Pending);
        assert!(maintenance.mutes(&alert, 10 * MINUTE));
        assert!(maintenance.mutes(&alert, 20 * MINUTE - 1));
        assert!(!maintenance.mutes(&alert, 20 * MINUTE));
        assert_eq!(maintenance.state(20 * MINUTE), SilenceState::Expired);
        assert!(!maintenance.mutes(&Labels::new([("job", "db"), ("env", "dev")]), 15 * MINUTE));
    }

    #[test]
    fn invalid_silences_are_refused_with_every_reason() {
        let mut bad = silence(&[("job", ".*", true, true), ("bad-name", "x", false, true)], 20, 10);
        bad.comment = " ".into();
        let error = bad.validate().unwrap_err();
        for reason in ["invalid label name", "end time must not be before", "comment is required"] {
            assert!(error.contains(reason), "{error}");
        }
        let empty_only = silence(&[("job", ".*", true, true)], 0, 10);
        assert!(empty_only.validate().unwrap_err().contains("must not match the empty string"));
        assert!(silence(&[], 0, 10).validate().unwrap_err().contains("at least one matcher"));
    }

    #[test]
    fn silences_survive_reopening_and_updates_follow_alertmanager() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sightline.db");
        let store = SilenceStore::open(&path).unwrap();
        let now = 100 * MINUTE;
        let id =
            store.save(silence(&[("job", "db", false, true)], 0, now + 60 * MINUTE), now).unwrap();
        let saved = store.get(&id).unwrap().unwrap();
        assert_eq!(saved.starts_at_ms, now, "a start in the past becomes now");

        let longer = Silence { ends_at_ms: now + 120 * MINUTE, ..saved.clone() };
        assert_eq!(
            store.save(longer, now + MINUTE).unwrap(),
            id,
            "a longer end is an update in place"
        );

        let other_matchers = Silence {
            matchers: vec![SilenceMatcher {
                name: "job".into(),
                value: "web".into(),
                is_regex: false,
                is_equal: true,
            }],
            ..store.get(&id).unwrap().unwrap()
        };
        let replacement = store.save(other_matchers, now + 2 * MINUTE).unwrap();
        assert_ne!(replacement, id);
        drop(store);

        let store = SilenceStore::open(&path).unwrap();
        let old = store.get(&id).unwrap().unwrap();
        assert_eq!(
            old.state(now + 2 * MINUTE),
            SilenceState::Expired,
            "the replaced silence expired"
        );
        assert_eq!(store.list().unwrap().len(), 2);
        store.expire(&replacement, now + 3 * MINUTE).unwrap();
        assert!(matches!(
            store.expire(&replacement, now + 4 * MINUTE),
            Err(SilenceError::AlreadyExpired(_))
        ));
        assert!(matches!(store.expire("nope", now), Err(SilenceError::NotFound(_))));
        assert_eq!(store.forget_ended_before(now + 10 * MINUTE).unwrap(), 2);
    }

    #[test]
    fn a_pending_silence_that_is_expired_never_becomes_active() {
        let (_dir, store) = store();
        let id = store
            .save(silence(&[("job", "db", false, true)], 50 * MINUTE, 60 * MINUTE), 0)
            .unwrap();
        store.expire(&id, 10 * MINUTE).unwrap();
        let expired = store.get(&id).unwrap().unwrap();
        assert_eq!(expired.state(55 * MINUTE), SilenceState::Expired);
        assert!(!expired.mutes(&Labels::new([("job", "db")]), 55 * MINUTE));
    }
}
