//! Service scopes: globs on `service_name` that limit what a user may read, given to the user or to a team they
//! are in. A user's scope is the union of their own globs and their teams'; without any, they see every
//! service. Admins always see every service: they could grant themselves any scope anyway.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use sightline_storage::ServiceScope;

use super::{AuthStore, audit, check_user_name};
use crate::auth::{AuthError, Result, Role};

/// A team: users who share service scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub name: String,
    /// Globs on `service_name` (`*`, `?`) that the members may read.
    pub scopes: Vec<String>,
    /// User names.
    pub members: Vec<String>,
}

impl AuthStore {
    /// Sets the globs of `name`'s own scope; none leaves the user limited by their teams only.
    pub fn set_user_scopes(&self, actor: &str, name: &str, scopes: &[String]) -> Result<()> {
        check_globs(scopes)?;
        let text = globs_text(scopes);
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let changed = transaction
            .execute("UPDATE users SET scopes = ?2 WHERE name = ?1", params![name, text])
            .map_err(|e| self.database(e))?;
        if changed == 0 {
            return Err(AuthError::NoSuchUser(name.to_owned()));
        }
        audit(&transaction, now, actor, "scopes_changed", Some(name), Some(&text))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))
    }

    /// Every team, by name.
    pub fn teams(&self) -> Result<Vec<Team>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(
                "SELECT t.name, t.scopes, m.user_name FROM teams t
                 LEFT JOIN team_members m ON m.team = t.name ORDER BY t.name, m.user_name",
            )
            .map_err(|e| self.database(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| self.database(e))?;
        let mut teams: Vec<Team> = Vec::new();
        for (name, scopes, member) in rows {
            if teams.last().is_none_or(|team| team.name != name) {
                teams.push(Team { name, scopes: parse_globs(&scopes), members: Vec::new() });
            }
            if let (Some(member), Some(team)) = (member, teams.last_mut()) {
                team.members.push(member);
            }
        }
        Ok(teams)
    }

    /// Creates `team`, or replaces its scopes and members; true when it is new.
    pub fn save_team(&self, actor: &str, team: &Team) -> Result<bool> {
        check_user_name(&team.name).map_err(|_| {
            AuthError::Invalid(format!(
                "team name {:?}: 1 to 64 letters, digits, '.', '_', '-' or '@'",
                team.name
            ))
        })?;
        check_globs(&team.scopes)?;
        let text = globs_text(&team.scopes);
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let created = transaction
            .execute(
                "INSERT INTO teams (name, scopes, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
                params![team.name, text, now],
            )
            .map_err(|e| self.database(e))?
            == 1;
        transaction
            .execute("UPDATE teams SET scopes = ?2 WHERE name = ?1", params![team.name, text])
            .and_then(|_| {
                transaction.execute("DELETE FROM team_members WHERE team = ?1", [&team.name])
            })
            .map_err(|e| self.database(e))?;
        for member in &team.members {
            if super::user_role(&transaction, member).map_err(|e| self.database(e))?.is_none() {
                return Err(AuthError::NoSuchUser(member.clone()));
            }
            transaction
                .execute(
                    "INSERT OR IGNORE INTO team_members (team, user_name) VALUES (?1, ?2)",
                    params![team.name, member],
                )
                .map_err(|e| self.database(e))?;
        }
        let action = if created { "team_created" } else { "team_changed" };
        let detail = format!("scopes {text}, members {}", team.members.join(", "));
        audit(&transaction, now, actor, action, Some(&team.name), Some(&detail))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))?;
        Ok(created)
    }

    pub fn delete_team(&self, actor: &str, name: &str) -> Result<()> {
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let deleted = transaction
            .execute("DELETE FROM teams WHERE name = ?1", [name])
            .map_err(|e| self.database(e))?;
        if deleted == 0 {
            return Err(AuthError::NoSuchTeam(name.to_owned()));
        }
        transaction
            .execute("DELETE FROM team_members WHERE team = ?1", [name])
            .and_then(|_| audit(&transaction, now, actor, "team_deleted", Some(name), None))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))
    }
}

/// The services `user` (of `role`) may read.
pub(super) fn scope_of(
    connection: &Connection,
    user: &str,
    role: Role,
) -> rusqlite::Result<ServiceScope> {
    if role == Role::Admin {
        return Ok(ServiceScope::All);
    }
    let mut statement = connection.prepare_cached(
        "SELECT scopes FROM users WHERE name = ?1
         UNION ALL
         SELECT t.scopes FROM teams t JOIN team_members m ON m.team = t.name WHERE m.user_name = ?1",
    )?;
    let mut globs: Vec<String> = Vec::new();
    for scopes in statement.query_map([user], |row| row.get::<_, String>(0))? {
        globs.extend(parse_globs(&scopes?));
    }
    globs.sort_unstable();
    globs.dedup();
    Ok(if globs.is_empty() { ServiceScope::All } else { ServiceScope::Only(globs) })
}

/// Globs: non-empty, at most 200 characters, no control characters.
fn check_globs(globs: &[String]) -> Result<()> {
    for glob in globs {
        if glob.is_empty() || glob.chars().count() > 200 || glob.chars().any(char::is_control) {
            return Err(AuthError::Invalid(format!(
                "service scope {glob:?}: 1 to 200 characters, none of them control characters"
            )));
        }
    }
    Ok(())
}

fn globs_text(globs: &[String]) -> String {
    serde_json::to_string(globs).expect("a list of strings serializes")
}

/// The globs stored as a JSON list. What does not parse (this code never writes it) becomes a glob that matches
/// no named service: a damaged scope fails closed.
pub(super) fn parse_globs(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| vec![String::new()])
}
