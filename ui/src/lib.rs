//! The web API and single-page app: authentication, sessions, RBAC with service scopes, the audit log, and the
//! embedded UI built from `ui/web/`.
//!
//! Built so far: [`api`], the HTTP API with the read-only SQL endpoint behind the bootstrap admin token. It
//! depends on `sightline-storage` for queries and never touches files directly.

pub mod api;
