//! Who is asking, and what they may do: users with Argon2id passwords, sessions, lockout after repeated failed
//! logins, roles, and the audit log, all kept in the state database (SQLite).
//!
//! The store is blocking (SQLite, and Argon2id takes tens of milliseconds by design): the API calls it through
//! `spawn_blocking`. It knows nothing about HTTP: cookies, CSRF and statuses are the API's business.

pub mod oidc;
mod password;
mod store;

use serde::{Deserialize, Serialize};
use sightline_storage::ServiceScope;

pub use store::{
    API_TOKEN_PREFIX, ApiToken, AuditEntry, AuthSettings, AuthStore, BOOTSTRAP_ADMIN, LoginOutcome,
    NewApiToken, NewSession, Team, User,
};

/// What a user may do, each role including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads data, alerts and silences.
    Viewer,
    /// Also creates and expires silences, replays dead letters, sends test notifications.
    Editor,
    /// Also manages users, tokens and settings.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Whoever a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name; `admin-token` for the bootstrap admin token.
    pub name: String,
    pub role: Role,
    /// The services whose data the principal may read.
    pub scope: ServiceScope,
    pub credential: Credential,
}

/// How a principal proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The bootstrap admin token of the configuration.
    AdminToken,
    /// A browser session: state-changing requests must carry its CSRF token.
    Session { csrf_token: String },
    /// A user's API token.
    ApiToken { id: i64 },
}

/// The failures of the authentication store.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("state database {path}: {source}")]
    Database { path: String, source: rusqlite::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("user {0} does not exist")]
    NoSuchUser(String),
    #[error("there is no API token #{0}")]
    NoSuchToken(i64),
    #[error("there is no team {0}")]
    NoSuchTeam(String),
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

pub type Result<T, E = AuthError> = std::result::Result<T, E>;
