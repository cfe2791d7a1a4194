//! The web API and single-page app: authentication, sessions, RBAC with service scopes, the audit log, and the
//! embedded UI built from `ui/web/`.
//!
//! Built so far: [`auth`], users with Argon2id passwords, sessions, lockout and the audit log in the state
//! database; and [`api`], the HTTP API whose every route carries an access rule that one gate enforces, with the
//! login and admin endpoints, SQL, PromQL and Alertmanager's API. It depends on `sightline-storage` for queries
//! and `sightline-rules` for alerts, and never touches files directly.

pub mod api;
pub mod auth;
