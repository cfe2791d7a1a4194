//! The web API and single-page app: authentication, sessions, RBAC with service scopes, the audit log, and the
//! embedded UI built from `ui/web/`.
//!
//! Not built yet: this crate is laid down by the foundation so that the workspace already has the shape of
//! DESIGN.md. It will depend on `sightline-storage` and `sightline-rules`; it never touches files directly.
