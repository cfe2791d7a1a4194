//! The durable side of notifications, in the state database: the outbox of notifications to deliver (written
//! before any attempt, marked delivered after the receiver's acknowledgement, or moved to the dead letters when
//! the retry budget is spent), the notification log that keeps each group from telling its receiver the same
//! thing again after a restart, and the Slack message each incident is shown in.
//!
//! A notification and its group's log entry are written in one transaction, so that a crash leaves either both
//! or neither. The outbox connection syncs every commit (`synchronous = FULL`): a notification once decided is
//! not lost to a power cut either. Blocking: call it off the async runtime.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::dispatch::Sent;
use super::message::Message;

#[derive(Debug, thiserror::Error)]
#[error("notification outbox {path}: {source}")]
pub struct OutboxError {
    path: String,
    source: rusqlite::Error,
}

/// A notification to deliver to one integration of a receiver (`webhook_configs[0]`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: i64,
    pub receiver: String,
    pub integration: String,
    pub group_key: String,
    pub message: Message,
    /// Sent with every attempt, so that a receiver can tell a retry from a new notification.
    pub idempotency_key: String,
    pub attempts: u32,
    pub first_attempt_ms: Option<i64>,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    pub created_ms: i64,
}

/// Where a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Given up on: a dead letter.
    Dead,
}

impl DeliveryStatus {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

/// A notification of the outbox with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub entry: OutboxEntry,
    pub status: DeliveryStatus,
    /// When it was delivered or given up on.
    pub done_ms: Option<i64>,
}

/// A notification as the dispatcher decided it.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub receiver: String,
    pub integration: String,
    pub message: Message,
}

#[derive(Debug)]
pub struct Outbox {
    path: String,
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver TEXT NOT NULL,
    integration TEXT NOT NULL,
    group_key TEXT NOT NULL,
    message TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_ms INTEGER,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS notification_outbox_pending
    ON notification_outbox (status, receiver, integration, group_key, id);
CREATE TABLE IF NOT EXISTS notification_log (
    group_key TEXT PRIMARY KEY,
    firing TEXT NOT NULL,
    resolved TEXT NOT NULL,
    sent_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS slack_messages (
    group_key TEXT NOT NULL,
    receiver TEXT NOT NULL,
    integration TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (group_key, receiver, integration)
) STRICT;
";

const COLUMNS: &str = "id, receiver, integration, group_key, message, idempotency_key, attempts, \
    first_attempt_ms, next_attempt_ms, last_error, created_ms";

impl Outbox {
    /// Opens (or creates) the outbox tables in the state database at `path`.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let display = path.display().to_string();
        let error = |source| OutboxError { path: display.clone(), source };
        let connection = crate::state::open_database(path, SCHEMA).map_err(error)?;
        connection.execute_batch("PRAGMA synchronous = FULL;").map_err(error)?;
        Ok(Outbox { path: display, connection: Mutex::new(connection) })
    }

    /// An outbox that keeps nothing beyond the process: for building integrations that are checked or tried,
    /// never run.
    pub fn in_memory() -> Result<Outbox, OutboxError> {
        Outbox::open(Path::new(":memory:"))
    }

    fn error(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError { path: self.path.clone(), source }
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes a group's notifications (one per integration) and its notification log entry, together.
    pub fn enqueue(
        &self,
        group_key: &str,
        sent: &Sent,
        entries: &[NewEntry],
        now_ms: i64,
    ) -> Result<(), OutboxError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.error(e))?;
        for entry in entries {
            let message = serde_json::to_string(&entry.message)
                .expect("a message serializes: it is strings and maps of strings");
            transaction
                .execute(
                    "INSERT INTO notification_outbox (receiver, integration, group_key, message, \
                     idempotency_key, status, next_attempt_ms, created_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                    params![
                        entry.receiver,
                        entry.integration,
                        group_key,
                        message,
                        uuid::Uuid::new_v4().to_string(),
                        now_ms
                    ],
                )
                .map_err(|e| self.error(e))?;
        }
        transaction
            .execute(
                "INSERT OR REPLACE INTO notification_log (group_key, firing, resolved, sent_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![group_key, set_text(&sent.firing), set_text(&sent.resolved), sent.at_ms],
            )
            .map_err(|e| self.error(e))?;
        transaction.commit().map_err(|e| self.error(e))
    }

    /// The notification log, by group key.
    pub fn notification_log(&self) -> Result<HashMap<String, Sent>, OutboxError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare("SELECT group_key, firing, resolved, sent_ms FROM notification_log")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                let sent = Sent {
                    firing: set_of(&row.get::<_, String>(1)?),
                    resolved: set_of(&row.get::<_, String>(2)?),
                    at_ms: row.get(3)?,
                };
                Ok((row.get::<_, String>(0)?, sent))
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// Forgets the log entries of groups that have not notified since `cutoff_ms`.
    pub fn forget_log_before(&self, cutoff_ms: i64) -> Result<usize, OutboxError> {
        let connection = self.connection();
        connection
            .execute("DELETE FROM notification_log WHERE sent_ms < ?1", params![cutoff_ms])
            .map_err(|e| self.error(e))
    }

    /// The pending notifications due at `now_ms`, at most `limit`: of each group and integration only the
    /// oldest pending one, so that a receiver gets a group's notifications in the order they were decided.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM notification_outbox o WHERE status = 'pending' \
                 AND next_attempt_ms <= ?1 AND id = (SELECT MIN(id) FROM notification_outbox p \
                 WHERE p.status = 'pending' AND p.receiver = o.receiver \
                 AND p.integration = o.integration AND p.group_key = o.group_key) \
                 ORDER BY id LIMIT ?2"
            ))
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![now_ms, limit as i64], entry_of)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// When the next pending notification is due, if any is pending.
    pub fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        let connection = self.connection();
        connection
            .query_row(
                "SELECT MIN(next_attempt_ms) FROM notification_outbox WHERE status = 'pending'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.error(e))
    }

    /// The number of pending notifications and of dead letters.
    pub fn counts(&self) -> Result<(u64, u64), OutboxError> {
        let connection = self.connection();
        connection
            .query_row(
                "SELECT COUNT(*) FILTER (WHERE status = 'pending'), \
                 COUNT(*) FILTER (WHERE status = 'dead') FROM notification_outbox",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|e| self.error(e))
    }

    /// The receiver acknowledged it.
    pub fn delivered(&self, id: i64, attempts: u32, now_ms: i64) -> Result<(), OutboxError> {
        self.connection()
            .execute(
                "UPDATE notification_outbox SET status = 'delivered', attempts = ?2, done_ms = ?3, \
                 first_attempt_ms = COALESCE(first_attempt_ms, ?3) WHERE id = ?1",
                params![id, attempts, now_ms],
            )
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// An attempt failed; the next one is at `next_ms`.
    pub fn retry_at(
        &self,
        id: i64,
        attempts: u32,
        first_attempt_ms: i64,
        next_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.connection()
            .execute(
                "UPDATE notification_outbox SET attempts = ?2, first_attempt_ms = ?3, \
                 next_attempt_ms = ?4, last_error = ?5 WHERE id = ?1",
                params![id, attempts, first_attempt_ms, next_ms, error],
            )
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// Puts off a notification without an attempt (its integration's breaker is open).
    pub fn postpone(&self, id: i64, until_ms: i64) -> Result<(), OutboxError> {
        self.connection()
            .execute(
                "UPDATE notification_outbox SET next_attempt_ms = ?2 WHERE id = ?1",
                params![id, until_ms],
            )
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// Gives up on it: it joins the dead letters.
    pub fn dead(
        &self,
        id: i64,
        attempts: u32,
        now_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.connection()
            .execute(
                "UPDATE notification_outbox SET status = 'dead', attempts = ?2, done_ms = ?3, \
                 last_error = ?4, first_attempt_ms = COALESCE(first_attempt_ms, ?3) WHERE id = ?1",
                params![id, attempts, now_ms, error],
            )
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// The dead letters, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM notification_outbox WHERE status = 'dead' ORDER BY id"
            ))
            .map_err(|e| self.error(e))?;
        let rows = statement.query_map([], entry_of).map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// The newest notifications, whatever their status, newest first: at most `limit`, older than the one
    /// with id `before` when given. Delivered ones are kept until `forget_delivered_before`.
    pub fn recent(
        &self,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<DeliveryRecord>, OutboxError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(&format!(
                "SELECT {COLUMNS}, status, done_ms FROM notification_outbox WHERE id < ?1 \
                 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.error(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![before.unwrap_or(i64::MAX), limit], |row| {
                let status = match row.get_ref(11)?.as_str()? {
                    "pending" => DeliveryStatus::Pending,
                    "delivered" => DeliveryStatus::Delivered,
                    _ => DeliveryStatus::Dead,
                };
                Ok(DeliveryRecord { entry: entry_of(row)?, status, done_ms: row.get(12)? })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// Puts a dead letter back in the outbox, due now, with a fresh retry budget (and the same idempotency key).
    /// False when there is no dead letter with this id.
    pub fn replay(&self, id: i64, now_ms: i64) -> Result<bool, OutboxError> {
        self.connection()
            .execute(
                "UPDATE notification_outbox SET status = 'pending', attempts = 0, \
                 first_attempt_ms = NULL, next_attempt_ms = ?2, done_ms = NULL \
                 WHERE id = ?1 AND status = 'dead'",
                params![id, now_ms],
            )
            .map(|changed| changed == 1)
            .map_err(|e| self.error(e))
    }

    /// Deletes delivered notifications finished before `cutoff_ms`.
    pub fn forget_delivered_before(&self, cutoff_ms: i64) -> Result<usize, OutboxError> {
        self.connection()
            .execute(
                "DELETE FROM notification_outbox WHERE status = 'delivered' AND done_ms < ?1",
                params![cutoff_ms],
            )
            .map_err(|e| self.error(e))
    }

    /// The Slack message (channel and `ts`) that shows a group's incident to one Slack integration.
    pub fn slack_message(
        &self,
        group_key: &str,
        receiver: &str,
        integration: &str,
    ) -> Result<Option<(String, String)>, OutboxError> {
        self.connection()
            .query_row(
                "SELECT channel, ts FROM slack_messages \
                 WHERE group_key = ?1 AND receiver = ?2 AND integration = ?3",
                params![group_key, receiver, integration],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Records the Slack message of a group's incident; `None` forgets it (the incident ended).
    pub fn set_slack_message(
        &self,
        group_key: &str,
        receiver: &str,
        integration: &str,
        message: Option<(&str, &str)>,
    ) -> Result<(), OutboxError> {
        let connection = self.connection();
        let result = match message {
            Some((channel, ts)) => connection.execute(
                "INSERT OR REPLACE INTO slack_messages (group_key, receiver, integration, channel, ts) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![group_key, receiver, integration, channel, ts],
            ),
            None => connection.execute(
                "DELETE FROM slack_messages WHERE group_key = ?1 AND receiver = ?2 AND integration = ?3",
                params![group_key, receiver, integration],
            ),
        };
        result.map(drop).map_err(|e| self.error(e))
    }
}

fn entry_of(row: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let text: String = row.get(4)?;
    let message = serde_json::from_str(&text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(error))
    })?;
    Ok(OutboxEntry {
        id: row.get(0)?,
        receiver: row.get(1)?,
        integration: row.get(2)?,
        group_key: row.get(3)?,
        message,
        idempotency_key: row.get(5)?,
        attempts: row.get(6)?,
        first_attempt_ms: row.get(7)?,
        next_attempt_ms: row.get(8)?,
        last_error: row.get(9)?,
        created_ms: row.get(10)?,
    })
}

fn set_text(set: &BTreeSet<u64>) -> String {
    serde_json::to_string(set).expect("a set of integers serializes")
}

fn set_of(text: &str) -> BTreeSet<u64> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::dispatch::{Alert, Notification};
    use crate::promql::Labels;

    fn message() -> Message {
        let notification = Notification {
            receiver: "team".to_owned(),
            group_key: "{}:{}".to_owned(),
            group_labels: Labels::default(),
            firing: vec![Alert {
                labels: Labels::new([("alertname", "Down")]),
                annotations: Labels::default(),
                starts_at_ms: 0,
                resolved_at_ms: None,
                valid_until_ms: i64::MAX,
                generator_url: String::new(),
            }],
            resolved: vec![],
            sent: Sent::default(),
        };
        Message::of(&notification, true, 0, "").unwrap()
    }

    fn entry(integration: &str) -> NewEntry {
        NewEntry {
            receiver: "team".to_owned(),
            integration: integration.to_owned(),
            message: message(),
        }
    }

    #[test]
    fn entries_and_the_log_survive_reopening_and_a_group_is_delivered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let sent =
            Sent { firing: BTreeSet::from([7, u64::MAX]), resolved: BTreeSet::new(), at_ms: 5 };
        {
            let outbox = Outbox::open(&path).unwrap();
            outbox.enqueue("g1", &sent, &[entry("webhook_configs[0]")], 10).unwrap();
            outbox.enqueue("g1", &sent, &[entry("webhook_configs[0]")], 20).unwrap();
            outbox.enqueue("g2", &sent, &[entry("webhook_configs[0]")], 30).unwrap();
        }
        let outbox = Outbox::open(&path).unwrap();
        assert_eq!(outbox.notification_log().unwrap()["g1"], sent);
        let due = outbox.due(100, 10).unwrap();
        let ids: Vec<(i64, &str)> = due.iter().map(|e| (e.id, e.group_key.as_str())).collect();
        assert_eq!(ids, [(1, "g1"), (3, "g2")], "the second of g1 waits for the first");
        assert_eq!(due[0].message, message());
        outbox.delivered(1, 1, 100).unwrap();
        outbox.retry_at(3, 1, 100, 500, "HTTP 500").unwrap();
        let due: Vec<i64> = outbox.due(200, 10).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(due, [2]);
        assert_eq!(outbox.next_due_ms().unwrap(), Some(20));
        assert_eq!(outbox.counts().unwrap(), (2, 0));
    }

    #[test]
    fn a_dead_letter_is_listed_and_a_replay_makes_it_due_again_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("state.db")).unwrap();
        outbox.enqueue("g", &Sent::default(), &[entry("webhook_configs[0]")], 0).unwrap();
        let key = outbox.due(0, 1).unwrap()[0].idempotency_key.clone();
        outbox.dead(1, 12, 1000, "HTTP 500").unwrap();
        assert!(outbox.due(2000, 10).unwrap().is_empty());
        let dead = outbox.dead_letters().unwrap();
        assert_eq!((dead[0].attempts, dead[0].last_error.as_deref()), (12, Some("HTTP 500")));
        assert!(outbox.replay(1, 3000).unwrap());
        assert!(!outbox.replay(1, 3000).unwrap(), "no longer a dead letter");
        let due = outbox.due(3000, 10).unwrap();
        assert_eq!((due[0].attempts, due[0].idempotency_key.as_str()), (0, key.as_str()));
    }

    #[test]
    fn recent_notifications_are_listed_newest_first_with_their_status_a_page_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("state.db")).unwrap();
        for (group, at) in [("a", 0), ("b", 10), ("c", 20)] {
            outbox.enqueue(group, &Sent::default(), &[entry("webhook_configs[0]")], at).unwrap();
        }
        outbox.delivered(1, 1, 100).unwrap();
        outbox.dead(2, 3, 200, "HTTP 500").unwrap();
        let status = |records: &[DeliveryRecord]| -> Vec<(i64, DeliveryStatus, Option<i64>)> {
            records.iter().map(|r| (r.entry.id, r.status, r.done_ms)).collect()
        };
        assert_eq!(
            status(&outbox.recent(10, None).unwrap()),
            [
                (3, DeliveryStatus::Pending, None),
                (2, DeliveryStatus::Dead, Some(200)),
                (1, DeliveryStatus::Delivered, Some(100))
            ]
        );
        let page = outbox.recent(1, Some(3)).unwrap();
        assert_eq!(status(&page), [(2, DeliveryStatus::Dead, Some(200))]);
        assert_eq!(page[0].entry.last_error.as_deref(), Some("HTTP 500"));
    }

    #[test]
    fn pruning_forgets_old_deliveries_and_log_entries_but_never_pending_or_dead_ones() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("state.db")).unwrap();
        let sent = |at_ms| Sent { at_ms, ..Sent::default() };
        for (group, at) in [("old", 0), ("pending", 10), ("dead", 20), ("recent", 30)] {
            outbox.enqueue(group, &sent(at), &[entry("webhook_configs[0]")], at).unwrap();
        }
        outbox.delivered(1, 1, 100).unwrap();
        outbox.dead(3, 5, 100, "HTTP 500").unwrap();
        outbox.delivered(4, 1, 300).unwrap();
        assert_eq!(outbox.forget_delivered_before(200).unwrap(), 1, "only the old delivery");
        assert_eq!(outbox.counts().unwrap(), (1, 1));
        assert_eq!(outbox.forget_log_before(15).unwrap(), 2);
        let mut left: Vec<String> = outbox.notification_log().unwrap().into_keys().collect();
        left.sort();
        assert_eq!(left, ["dead", "recent"]);
    }
}
