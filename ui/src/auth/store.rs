//! The tables of authentication in the state database: users, their sessions, failed logins, and the audit
//! log. Secrets presented by clients (session tokens) are stored only as their SHA-256.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::password::{self, check_policy, random_token, secret_digest};
use super::{AuthError, Credential, Principal, Result, Role};

mod identities;
mod teams;
mod tokens;

pub use teams::Team;
pub use tokens::{API_TOKEN_PREFIX, ApiToken, NewApiToken};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS teams (
    name TEXT PRIMARY KEY,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS team_members (
    team TEXT NOT NULL,
    user_name TEXT NOT NULL,
    PRIMARY KEY (team, user_name)
) STRICT;
CREATE TABLE IF NOT EXISTS sessions (
    token_digest BLOB PRIMARY KEY,
    user_name TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_name);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_digest BLOB NOT NULL UNIQUE,
    user_name TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (at);
";

/// The name of the account created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";
/// A session's expiry (and a token's last use) is moved forward at most this often, so that requests do not
/// each write.
const TOUCH_STEP_MS: i64 = 60_000;

/// The limits of logins and sessions.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Failed logins of one user name, each less than `lockout` after the one before, that lock it…
    pub max_failed_logins: u32,
    /// …for this long.
    pub lockout: Duration,
    /// How long the audit log keeps its entries.
    pub audit_retention: Duration,
    /// A session ends after this long without a request…
    pub session_idle: Duration,
    /// …and this long after the login in any case.
    pub session_max: Duration,
}

impl Default for AuthSettings {
    fn default() -> AuthSettings {
        AuthSettings {
            max_failed_logins: 5,
            lockout: Duration::from_secs(15 * 60),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
            session_idle: Duration::from_secs(8 * 3600),
            session_max: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A user as the API shows it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// The user's own service globs; their teams may add more.
    pub scopes: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A session just created by a login: the token goes into the cookie, the CSRF token to the page.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
    /// Milliseconds since the Unix epoch.
    pub expires_at: i64,
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    Success(NewSession),
    /// Wrong name or password: the two are not told apart.
    Refused,
    /// Too many failures: no password is checked until the lock ends.
    Locked {
        retry_after: Duration,
    },
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The user (or `admin-token`) who acted; for a failed login, the name that was tried.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// Users, sessions, failed logins and the audit log. Blocking: call it off the async runtime.
#[derive(Debug)]
pub struct AuthStore {
    path: String,
    connection: Mutex<Connection>,
    settings: AuthSettings,
    /// Milliseconds since the Unix epoch.
    clock: fn() -> i64,
    /// When old audit entries, failed logins and sessions were last deleted.
    last_purge: Mutex<i64>,
}

impl AuthStore {
    /// Opens (or creates) the tables in the state database at `path`.
    pub fn open(path: &Path, settings: AuthSettings, clock: fn() -> i64) -> Result<AuthStore> {
        let display = path.display().to_string();
        let schema = format!("{SCHEMA}{}", identities::SCHEMA);
        let connection = sightline_rules::state::open_database(path, &schema)
            .map_err(|source| AuthError::Database { path: display.clone(), source })?;
        Ok(AuthStore {
            path: display,
            connection: Mutex::new(connection),
            settings,
            clock,
            last_purge: Mutex::new(i64::MIN),
        })
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn database(&self, source: rusqlite::Error) -> AuthError {
        AuthError::Database { path: self.path.clone(), source }
    }

    /// Creates the bootstrap `admin` account when there is no user at all, with `password`, or a generated
    /// one which is returned so that it can be shown once. Nothing when users exist.
    pub fn ensure_admin(&self, password: Option<&str>) -> Result<Option<String>> {
        let users: i64 = self
            .connection()
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .map_err(|e| self.database(e))?;
        if users > 0 {
            return Ok(None);
        }
        let generated = password.is_none().then(random_token);
        let password = password.or(generated.as_deref()).unwrap_or_default();
        self.create_user("sightline", BOOTSTRAP_ADMIN, password, Role::Admin)?;
        Ok(generated)
    }

    /// Checks a name and password. A name that failed `max_failed_logins` times in a row is locked for
    /// `lockout`, whether or not such a user exists, so the answers do not reveal which names do.
    pub fn login(&self, name: &str, password: &str) -> Result<LoginOutcome> {
        let now = (self.clock)();
        let stored = {
            let connection = self.connection();
            let locked_until: Option<i64> = connection
                .query_row(
                    "SELECT locked_until FROM login_failures WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| self.database(e))?
                .flatten();
            if let Some(until) = locked_until.filter(|until| *until > now) {
                let retry_after = Duration::from_millis((until - now).unsigned_abs());
                return Ok(LoginOutcome::Locked { retry_after });
            }
            connection
                .query_row(
                    "SELECT password_hash, role, created_at, scopes FROM users WHERE name = ?1",
                    [name],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(|e| self.database(e))?
        };
        // The database is not held while Argon2 runs (tens of milliseconds, by design).
        let user = match stored {
            // A user of single sign-on has no password; the answer takes as long as a wrong one.
            Some((hash, ..)) if hash == identities::NO_PASSWORD => {
                password::verify_decoy(password);
                None
            }
            Some((hash, role, created_at, scopes)) if password::verify(password, &hash) => {
                let (role, scopes) = (parse_role(&role)?, teams::parse_globs(&scopes));
                Some(User { name: name.to_owned(), role, scopes, created_at })
            }
            Some(_) => None,
            None => {
                password::verify_decoy(password);
                None
            }
        };
        match user {
            Some(user) => {
                self.purge(now)?;
                self.start_session(user, now).map(LoginOutcome::Success)
            }
            None => {
                self.count_failure(name, now)?;
                Ok(LoginOutcome::Refused)
            }
        }
    }

    fn count_failure(&self, name: &str, now: i64) -> Result<()> {
        self.purge(now)?;
        let window_start = now - duration_ms(self.settings.lockout);
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        // A failure more than a lockout's length after the previous one starts the count again.
        let failures: u32 = transaction
            .query_row(
                "INSERT INTO login_failures (name, failures, last_failure_at) VALUES (?1, 1, ?2)
                 ON CONFLICT (name) DO UPDATE SET
                     failures = CASE WHEN last_failure_at < ?3 THEN 1 ELSE failures + 1 END,
                     last_failure_at = ?2
                 RETURNING failures",
                params![name, now, window_start],
                |row| row.get(0),
            )
            .map_err(|e| self.database(e))?;
        audit(&transaction, now, name, "login_failed", None, None).map_err(|e| self.database(e))?;
        if failures >= self.settings.max_failed_logins {
            let until = now + duration_ms(self.settings.lockout);
            transaction
                .execute(
                    "UPDATE login_failures SET failures = 0, locked_until = ?2 WHERE name = ?1",
                    params![name, until],
                )
                .map_err(|e| self.database(e))?;
            let detail = format!("{failures} failed logins in a row");
            audit(&transaction, now, name, "login_locked", Some(name), Some(&detail))
                .map_err(|e| self.database(e))?;
        }
        transaction.commit().map_err(|e| self.database(e))
    }

    /// Deletes, at most once a minute, what no longer counts: audit entries past their retention, failed logins
    /// of names neither locked nor failed within the lockout window, and ended sessions. Failed logins are how
    /// these tables grow, and they come here first.
    fn purge(&self, now: i64) -> Result<()> {
        {
            let mut last = self.last_purge.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if now.saturating_sub(*last) < TOUCH_STEP_MS {
                return Ok(());
            }
            *last = now;
        }
        let audit_before = now - duration_ms(self.settings.audit_retention);
        let failures_before = now - duration_ms(self.settings.lockout);
        let connection = self.connection();
        connection
            .execute("DELETE FROM audit_log WHERE at < ?1", [audit_before])
            .and_then(|_| {
                connection.execute(
                    "DELETE FROM login_failures
                     WHERE last_failure_at < ?1 AND coalesce(locked_until, 0) <= ?2",
                    params![failures_before, now],
                )
            })
            .and_then(|_| connection.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now]))
            .map(drop)
            .map_err(|e| self.database(e))
    }

    fn start_session(&self, user: User, now: i64) -> Result<NewSession> {
        let token = random_token();
        let csrf_token = random_token();
        let expires_at = now
            + duration_ms(self.settings.session_idle).min(duration_ms(self.settings.session_max));
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        transaction
            .execute("DELETE FROM login_failures WHERE name = ?1", [&user.name])
            .and_then(|_| {
                transaction.execute(
                    "INSERT INTO sessions (token_digest, user_name, csrf_token, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![secret_digest(&token), user.name, csrf_token, now, expires_at],
                )
            })
            .and_then(|_| audit(&transaction, now, &user.name, "login", None, None))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))?;
        Ok(NewSession { token, csrf_token, user, expires_at })
    }

    /// The principal of a session token, if the session exists and has not expired; its expiry moves
    /// forward by the idle time, up to the session's maximum age.
    pub fn session(&self, token: &str) -> Result<Option<Principal>> {
        let now = (self.clock)();
        let digest = secret_digest(token);
        let connection = self.connection();
        let found = connection
            .query_row(
                "SELECT s.user_name, u.role, s.csrf_token, s.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_digest = ?1",
                [&digest],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.database(e))?;
        let Some((name, role, csrf_token, created_at, expires_at)) = found else {
            return Ok(None);
        };
        if expires_at <= now {
            connection
                .execute("DELETE FROM sessions WHERE token_digest = ?1", [&digest])
                .map_err(|e| self.database(e))?;
            return Ok(None);
        }
        let extended = (now + duration_ms(self.settings.session_idle))
            .min(created_at + duration_ms(self.settings.session_max));
        if extended - expires_at >= TOUCH_STEP_MS {
            connection
                .execute(
                    "UPDATE sessions SET expires_at = ?2 WHERE token_digest = ?1",
                    params![digest, extended],
                )
                .map_err(|e| self.database(e))?;
        }
        let role = parse_role(&role)?;
        let scope = teams::scope_of(&connection, &name, role).map_err(|e| self.database(e))?;
        Ok(Some(Principal { name, role, scope, credential: Credential::Session { csrf_token } }))
    }

    /// Ends the session of `token` (nothing if there is none).
    pub fn logout(&self, token: &str) -> Result<()> {
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let user: Option<String> = transaction
            .query_row(
                "DELETE FROM sessions WHERE token_digest = ?1 RETURNING user_name",
                [secret_digest(token)],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.database(e))?;
        if let Some(user) = user {
            audit(&transaction, now, &user, "logout", None, None).map_err(|e| self.database(e))?;
        }
        transaction.commit().map_err(|e| self.database(e))
    }

    /// Changes a user's own password after checking the current one; the user's other sessions end.
    /// `Ok(false)` when the current password is wrong.
    pub fn change_password(
        &self,
        name: &str,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<bool> {
        check_policy(new)?;
        let hash: Option<String> = self
            .connection()
            .query_row("SELECT password_hash FROM users WHERE name = ?1", [name], |row| row.get(0))
            .optional()
            .map_err(|e| self.database(e))?;
        let hash = hash.ok_or_else(|| AuthError::NoSuchUser(name.to_owned()))?;
        if !password::verify(current, &hash) {
            return Ok(false);
        }
        self.set_password(name, name, new, keep_session)?;
        Ok(true)
    }

    /// Sets `name`'s password and ends their sessions but `keep_session`.
    fn set_password(
        &self,
        actor: &str,
        name: &str,
        password: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        check_policy(password)?;
        let hash = password::hash(password)?;
        let now = (self.clock)();
        let kept = keep_session.map(secret_digest).unwrap_or_default();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let changed = transaction
            .execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", params![name, hash])
            .map_err(|e| self.database(e))?;
        if changed == 0 {
            return Err(AuthError::NoSuchUser(name.to_owned()));
        }
        transaction
            .execute(
                "DELETE FROM sessions WHERE user_name = ?1 AND token_digest != ?2",
                params![name, kept],
            )
            .and_then(|_| audit(&transaction, now, actor, "password_changed", Some(name), None))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare("SELECT name, role, created_at, scopes FROM users ORDER BY name")
            .map_err(|e| self.database(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| self.database(e))?;
        rows.into_iter()
            .map(|(name, role, created_at, scopes)| {
                let (role, scopes) = (parse_role(&role)?, teams::parse_globs(&scopes));
                Ok(User { name, role, scopes, created_at })
            })
            .collect()
    }

    /// Creates a user; `actor` is who did it, for the audit log.
    pub fn create_user(&self, actor: &str, name: &str, password: &str, role: Role) -> Result<User> {
        check_user_name(name)?;
        check_policy(password)?;
        let hash = password::hash(password)?;
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let inserted = transaction
            .execute(
                "INSERT INTO users (name, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO NOTHING",
                params![name, hash, role.as_str(), now],
            )
            .map_err(|e| self.database(e))?;
        if inserted == 0 {
            return Err(AuthError::UserExists(name.to_owned()));
        }
        audit(&transaction, now, actor, "user_created", Some(name), Some(role.as_str()))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))?;
        Ok(User { name: name.to_owned(), role, scopes: Vec::new(), created_at: now })
    }

    /// Changes a user's role and/or password (an admin's reset: the user's sessions end).
    pub fn update_user(
        &self,
        actor: &str,
        name: &str,
        role: Option<Role>,
        password: Option<&str>,
    ) -> Result<()> {
        if role.is_none() && password.is_none() {
            return Err(AuthError::Invalid("give a role, a password, or both".into()));
        }
        if let Some(password) = password {
            self.set_password(actor, name, password, None)?;
        }
        let Some(role) = role else { return Ok(()) };
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let previous = user_role(&transaction, name)
            .map_err(|e| self.database(e))?
            .ok_or_else(|| AuthError::NoSuchUser(name.to_owned()))?;
        if previous == role.as_str() {
            return Ok(());
        }
        if previous == Role::Admin.as_str() {
            self.keep_an_admin(&transaction)?;
        }
        let detail = format!("{previous} -> {}", role.as_str());
        transaction
            .execute("UPDATE users SET role = ?2 WHERE name = ?1", params![name, role.as_str()])
            .and_then(|_| {
                audit(&transaction, now, actor, "role_changed", Some(name), Some(&detail))
            })
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))
    }

    /// Deletes a user and ends their sessions.
    pub fn delete_user(&self, actor: &str, name: &str) -> Result<()> {
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let role = user_role(&transaction, name)
            .map_err(|e| self.database(e))?
            .ok_or_else(|| AuthError::NoSuchUser(name.to_owned()))?;
        if role == Role::Admin.as_str() {
            self.keep_an_admin(&transaction)?;
        }
        transaction
            .execute("DELETE FROM users WHERE name = ?1", [name])
            .and_then(|_| end_access(&transaction, name))
            .and_then(|_| {
                transaction.execute("DELETE FROM oidc_identities WHERE user_name = ?1", [name])
            })
            .and_then(|_| audit(&transaction, now, actor, "user_deleted", Some(name), None))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))
    }

    /// Refuses to remove the last admin: nobody could manage users any more.
    fn keep_an_admin(&self, connection: &Connection) -> Result<()> {
        let admins: i64 = connection
            .query_row("SELECT count(*) FROM users WHERE role = 'admin'", [], |row| row.get(0))
            .map_err(|e| self.database(e))?;
        if admins <= 1 {
            return Err(AuthError::Invalid("the last admin cannot be removed or demoted".into()));
        }
        Ok(())
    }

    /// Adds a line to the audit log.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        audit(&self.connection(), (self.clock)(), actor, action, target, detail)
            .map_err(|e| self.database(e))
    }

    /// The newest `limit` lines of the audit log older than line `before`, newest first.
    pub fn audit_log(&self, limit: u32, before: Option<i64>) -> Result<Vec<AuditEntry>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(
                "SELECT id, at, actor, action, target, detail FROM audit_log
                 WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.database(e))?;
        statement
            .query_map(params![before.unwrap_or(i64::MAX), limit], |row| {
                Ok(AuditEntry {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    actor: row.get(2)?,
                    action: row.get(3)?,
                    target: row.get(4)?,
                    detail: row.get(5)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.database(e))
    }
}

fn audit(
    connection: &Connection,
    at: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![at, actor, action, target, detail])
        .map(drop)
}

/// Ends every session of user `name` and revokes their API tokens.
fn end_access(connection: &Connection, name: &str) -> rusqlite::Result<()> {
    connection.execute("DELETE FROM sessions WHERE user_name = ?1", [name])?;
    connection.execute("DELETE FROM api_tokens WHERE user_name = ?1", [name])?;
    Ok(())
}

fn user_role(connection: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    connection
        .query_row("SELECT role FROM users WHERE name = ?1", [name], |row| row.get(0))
        .optional()
}

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text)
        .ok_or_else(|| AuthError::Invalid(format!("unknown role {text:?} in the users table")))
}

/// User names: 1 to 64 letters, digits and `.`, `_`, `-`, `@`, so they read safely in logs and URLs.
fn check_user_name(name: &str) -> Result<()> {
    let valid = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "user name {name:?}: 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
