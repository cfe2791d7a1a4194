//! The web API and single-page app: authentication, sessions, RBAC with service scopes, the audit log, and the
//! embedded UI built from `ui/web/`.
//!
//! - [`auth`]: users with Argon2id passwords, sessions, lockout, API tokens, teams and service scopes, and the
//!   audit log, in the state database.
//! - [`api`]: the HTTP API, whose every route carries an access rule that one gate enforces: logins and admin
//!   endpoints, SQL, PromQL and Alertmanager's API.
//! - `web`: the single-page app, built by `build.rs` and embedded, served for every other GET.
//!
//! It depends on `sightline-storage` for queries and `sightline-rules` for alerts, and never touches files
//! directly.

pub mod api;
pub mod auth;
mod web;
