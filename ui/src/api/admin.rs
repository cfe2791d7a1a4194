//! What admins manage: users, their roles and service scopes, teams, the audit log, and the table of routes
//! with their access rules.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::session::with_auth;
use super::{ApiError, ApiState, parse_json};
use crate::auth::{Principal, Role, Team};

pub(crate) async fn list_users(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let users = with_auth(&state.auth, |auth| auth.users()).await?;
    Ok(Json(users).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    password: String,
    role: Role,
    /// Globs on `service_name` the user may read; none: every service (or their teams').
    #[serde(default)]
    scopes: Vec<String>,
}

pub(crate) async fn create_user(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user: NewUser = parse_json(&body)?;
    let created = with_auth(&state.auth, move |auth| {
        let mut created =
            auth.create_user(&principal.name, &user.name, &user.password, user.role)?;
        if !user.scopes.is_empty() {
            auth.set_user_scopes(&principal.name, &user.name, &user.scopes)?;
            created.scopes = user.scopes;
        }
        Ok(created)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    role: Option<Role>,
    /// An admin's reset: the user's sessions end.
    password: Option<String>,
    /// The user's own service globs, replacing the previous ones; `[]` removes them.
    scopes: Option<Vec<String>>,
}

pub(crate) async fn update_user(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change: UserChange = parse_json(&body)?;
    if change.role.is_none() && change.password.is_none() && change.scopes.is_none() {
        return Err(ApiError::bad_request("give a role, a password, scopes, or several"));
    }
    with_auth(&state.auth, move |auth| {
        if let Some(scopes) = &change.scopes {
            auth.set_user_scopes(&principal.name, &name, scopes)?;
        }
        if change.role.is_some() || change.password.is_some() {
            auth.update_user(&principal.name, &name, change.role, change.password.as_deref())?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_user(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    with_auth(&state.auth, move |auth| auth.delete_user(&principal.name, &name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn list_teams(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let teams = with_auth(&state.auth, |auth| auth.teams()).await?;
    Ok(Json(teams).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    /// Globs on `service_name` the members may read.
    scopes: Vec<String>,
    members: Vec<String>,
}

/// Creates the team, or replaces its scopes and members.
pub(crate) async fn save_team(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: TeamBody = parse_json(&body)?;
    let team = Team { name, scopes: body.scopes, members: body.members };
    let created =
        with_auth(&state.auth, move |auth| auth.save_team(&principal.name, &team)).await?;
    Ok(if created { StatusCode::CREATED } else { StatusCode::NO_CONTENT }.into_response())
}

pub(crate) async fn delete_team(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    with_auth(&state.auth, move |auth| auth.delete_team(&principal.name, &name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditPage {
    /// At most this many entries (default 100, at most 1000).
    limit: Option<u32>,
    /// Entries older than this id: the `id` of the last entry of the previous page.
    before: Option<i64>,
}

/// The audit log, newest first, a page at a time.
pub(crate) async fn audit_log(
    State(state): State<ApiState>,
    Query(page): Query<AuditPage>,
) -> Result<Response, ApiError> {
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let entries = with_auth(&state.auth, move |auth| auth.audit_log(limit, page.before)).await?;
    Ok(Json(entries).into_response())
}

/// Every route of the API with its access rule: what the gate enforces, for admins to review.
pub(crate) async fn routes(State(state): State<ApiState>) -> Response {
    Json(&*state.route_rules).into_response()
}
