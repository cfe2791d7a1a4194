//! Users who log in with OpenID Connect: each provider subject is linked to one user, created at its first
//! login under the name its claim gives, with no password (an admin may set one). The role follows the
//! provider's claims at every login; claims that give no role refuse the login and, for a linked user, end
//! their sessions and revoke their API tokens (the provider said they no longer belong). A name that a user
//! already holds is never taken over: a provider cannot log anyone in as an existing local account.

use rusqlite::{OptionalExtension as _, params};

use super::{AuthStore, NewSession, User, audit, check_user_name, end_access, parse_role, teams};
use crate::auth::oidc::Identity;
use crate::auth::{AuthError, Result, Role};

/// The password hash of users who have none: no password verifies against it.
pub(super) const NO_PASSWORD: &str = "!";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;
CREATE INDEX IF NOT EXISTS oidc_identities_by_user ON oidc_identities (user_name);
";

impl AuthStore {
    /// Starts a session for `identity`: its linked user, or a new one. The user's role becomes the one the
    /// provider's claims give.
    pub fn oidc_login(&self, identity: &Identity) -> Result<NewSession> {
        let now = (self.clock)();
        let user = {
            let mut connection = self.connection();
            let transaction = connection.transaction().map_err(|e| self.database(e))?;
            let linked: Option<String> = transaction
                .query_row(
                    "SELECT user_name FROM oidc_identities WHERE issuer = ?1 AND subject = ?2",
                    params![identity.issuer, identity.subject],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| self.database(e))?;
            let Some(claimed_role) = identity.role else {
                if let Some(name) = &linked {
                    let detail =
                        "the identity provider gives no role: sessions ended, tokens revoked";
                    end_access(&transaction, name)
                        .and_then(|()| {
                            audit(
                                &transaction,
                                now,
                                "sightline",
                                "access_revoked",
                                Some(name),
                                Some(detail),
                            )
                        })
                        .and_then(|()| transaction.commit())
                        .map_err(|e| self.database(e))?;
                }
                return Err(AuthError::Invalid(format!(
                    "{} has no sightline role: ask an admin to give one",
                    identity.name
                )));
            };
            let name = match linked {
                Some(name) => name,
                None => {
                    check_user_name(&identity.name)?;
                    let inserted = transaction
                        .execute(
                            "INSERT INTO users (name, password_hash, role, created_at)
                             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
                            params![identity.name, NO_PASSWORD, claimed_role.as_str(), now],
                        )
                        .map_err(|e| self.database(e))?;
                    if inserted == 0 {
                        return Err(AuthError::Invalid(format!(
                            "a user named {} already exists: an admin must rename or delete it before \
                             its name can log in with single sign-on",
                            identity.name
                        )));
                    }
                    let detail = format!("{} via {}", claimed_role.as_str(), identity.issuer);
                    transaction
                        .execute(
                            "INSERT INTO oidc_identities (issuer, subject, user_name, created_at)
                             VALUES (?1, ?2, ?3, ?4)",
                            params![identity.issuer, identity.subject, identity.name, now],
                        )
                        .and_then(|_| {
                            let name = Some(identity.name.as_str());
                            audit(
                                &transaction,
                                now,
                                "sightline",
                                "user_created",
                                name,
                                Some(&detail),
                            )
                        })
                        .map_err(|e| self.database(e))?;
                    identity.name.clone()
                }
            };
            let (role, created_at, scopes): (String, i64, String) = transaction
                .query_row(
                    "SELECT role, created_at, scopes FROM users WHERE name = ?1",
                    [&name],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(|e| self.database(e))?
                .ok_or_else(|| AuthError::NoSuchUser(name.clone()))?;
            let mut role = parse_role(&role)?;
            // The last admin stays one, whatever the claims say: nobody could manage users otherwise.
            let keeps_admin = role == Role::Admin && self.keep_an_admin(&transaction).is_err();
            if role != claimed_role && !keeps_admin {
                let detail = format!(
                    "{} -> {} (from the identity provider)",
                    role.as_str(),
                    claimed_role.as_str()
                );
                transaction
                    .execute(
                        "UPDATE users SET role = ?2 WHERE name = ?1",
                        params![name, claimed_role.as_str()],
                    )
                    .and_then(|_| {
                        audit(
                            &transaction,
                            now,
                            "sightline",
                            "role_changed",
                            Some(&name),
                            Some(&detail),
                        )
                    })
                    .map_err(|e| self.database(e))?;
                role = claimed_role;
            }
            transaction.commit().map_err(|e| self.database(e))?;
            User { name, role, scopes: teams::parse_globs(&scopes), created_at }
        };
        self.start_session(user, now)
    }
}
