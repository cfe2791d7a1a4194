//! Users' API tokens: created by their user, shown once, stored as their SHA-256, acting as their user with at
//! most the token's role.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::teams::scope_of;
use super::{AuthStore, TOUCH_STEP_MS, audit, duration_ms, parse_role, user_role};
use crate::auth::password::{random_token, secret_digest};
use crate::auth::{AuthError, Credential, Principal, Result, Role};

/// What every API token starts with, so that secret scanners and people recognise one.
pub const API_TOKEN_PREFIX: &str = "sl_";

/// An API token as the API shows it: never the token itself, which is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    /// The user the token acts as.
    pub user: String,
    /// What the token is for, as its creator named it.
    pub name: String,
    /// The most the token may do; less if its user's role is lowered.
    pub role: Role,
    /// Milliseconds since the Unix epoch, as every time here.
    pub created_at: i64,
    /// `None`: the token does not expire.
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A token just created: `token` is the secret, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct NewApiToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}

impl AuthStore {
    /// Creates an API token that acts as `user` with at most `role` (which the user's own role must include),
    /// valid for `valid_for`, or until revoked when `None`.
    pub fn create_token(
        &self,
        user: &str,
        name: &str,
        role: Role,
        valid_for: Option<Duration>,
    ) -> Result<NewApiToken> {
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(AuthError::Invalid("a token's name needs 1 to 100 characters".into()));
        }
        let token = format!("{API_TOKEN_PREFIX}{}", random_token());
        let now = (self.clock)();
        let expires_at = valid_for.map(|duration| now.saturating_add(duration_ms(duration)));
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let user_role = user_role(&transaction, user)
            .map_err(|e| self.database(e))?
            .ok_or_else(|| AuthError::NoSuchUser(user.to_owned()))?;
        if parse_role(&user_role)? < role {
            return Err(AuthError::Invalid(format!(
                "a token cannot do more than its user: {user} has the {user_role} role"
            )));
        }
        transaction
            .execute(
                "INSERT INTO api_tokens (token_digest, user_name, name, role, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![secret_digest(&token), user, name, role.as_str(), now, expires_at],
            )
            .map_err(|e| self.database(e))?;
        let id = transaction.last_insert_rowid();
        let detail = format!("#{id} {name:?}, {}", role.as_str());
        audit(&transaction, now, user, "token_created", Some(user), Some(&detail))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))?;
        let info = ApiToken {
            id,
            user: user.to_owned(),
            name: name.to_owned(),
            role,
            created_at: now,
            expires_at,
            last_used_at: None,
        };
        Ok(NewApiToken { token, info })
    }

    /// The tokens of `user`, or everyone's for `None`, newest first.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<ApiToken>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(
                "SELECT id, user_name, name, role, created_at, expires_at, last_used_at FROM api_tokens
                 WHERE ?1 IS NULL OR user_name = ?1 ORDER BY id DESC",
            )
            .map_err(|e| self.database(e))?;
        let rows = statement
            .query_map([user], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, Option<i64>>(5)?,
                    row.get::<_, Option<i64>>(6)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| self.database(e))?;
        rows.into_iter()
            .map(|(id, user, name, role, created_at, expires_at, last_used_at)| {
                let role = parse_role(&role)?;
                Ok(ApiToken { id, user, name, role, created_at, expires_at, last_used_at })
            })
            .collect()
    }

    /// Revokes token `id`; with `owner`, only if it is theirs (another's is answered as missing).
    pub fn revoke_token(&self, actor: &str, id: i64, owner: Option<&str>) -> Result<()> {
        let now = (self.clock)();
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| self.database(e))?;
        let revoked: Option<(String, String)> = transaction
            .query_row(
                "DELETE FROM api_tokens WHERE id = ?1 AND (?2 IS NULL OR user_name = ?2)
                 RETURNING user_name, name",
                params![id, owner],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.database(e))?;
        let (user, name) = revoked.ok_or(AuthError::NoSuchToken(id))?;
        let detail = format!("#{id} {name:?}");
        audit(&transaction, now, actor, "token_revoked", Some(&user), Some(&detail))
            .and_then(|_| transaction.commit())
            .map_err(|e| self.database(e))
    }

    /// The principal of an API token, if it exists and has not expired: its user, with the lesser of the
    /// token's role and the user's.
    pub fn token(&self, token: &str) -> Result<Option<Principal>> {
        let now = (self.clock)();
        let connection = self.connection();
        let found = connection
            .query_row(
                "SELECT t.id, t.user_name, t.role, u.role, t.expires_at, t.last_used_at
                 FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_digest = ?1",
                [secret_digest(token)],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, Option<i64>>(4)?,
                        row.get::<_, Option<i64>>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.database(e))?;
        let Some((id, name, token_role, user_role, expires_at, last_used_at)) = found else {
            return Ok(None);
        };
        if expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Ok(None);
        }
        if last_used_at.is_none_or(|used| now - used >= TOUCH_STEP_MS) {
            connection
                .execute("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1", params![id, now])
                .map_err(|e| self.database(e))?;
        }
        let role = parse_role(&token_role)?.min(parse_role(&user_role)?);
        let scope = scope_of(&connection, &name, role).map_err(|e| self.database(e))?;
        Ok(Some(Principal { name, role, scope, credential: Credential::ApiToken { id } }))
    }
}
