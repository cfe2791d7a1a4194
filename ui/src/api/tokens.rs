//! Users' API tokens: each user creates, lists and revokes their own; admins list and revoke everyone's. A
//! token is shown once, in the answer that creates it, and stored only as its SHA-256.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use sightline_rules::file::parse_duration;

use super::session::with_auth;
use super::{ApiError, ApiState, parse_json};
use crate::auth::{Credential, Principal, Role};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// What the token is for.
    name: String,
    /// The most it may do: the user's own role when absent.
    role: Option<Role>,
    /// How long it is valid, as `30d` or `12h`; `never` for a token that lasts until revoked.
    expires_in: String,
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if principal.credential == Credential::AdminToken {
        return Err(ApiError::bad_request("the admin token is no user: log in to create tokens"));
    }
    let request: NewToken = parse_json(&body)?;
    let valid_for = match request.expires_in.as_str() {
        "never" => None,
        text => match parse_duration(text) {
            Ok(duration) if !duration.is_zero() => Some(duration),
            Ok(_) => return Err(ApiError::bad_request("expires_in must be longer than 0")),
            Err(e) => return Err(ApiError::bad_request(format!("expires_in: {e}"))),
        },
    };
    let role = request.role.unwrap_or(principal.role);
    let created = with_auth(&state.auth, move |auth| {
        auth.create_token(&principal.name, &request.name, role, valid_for)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub(crate) async fn own_tokens(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let tokens = with_auth(&state.auth, move |auth| auth.tokens(Some(&principal.name))).await?;
    Ok(Json(tokens).into_response())
}

pub(crate) async fn all_tokens(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let tokens = with_auth(&state.auth, |auth| auth.tokens(None)).await?;
    Ok(Json(tokens).into_response())
}

pub(crate) async fn revoke_own(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = token_id(&id)?;
    with_auth(&state.auth, move |auth| {
        auth.revoke_token(&principal.name, id, Some(&principal.name))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn revoke_any(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = token_id(&id)?;
    with_auth(&state.auth, move |auth| auth.revoke_token(&principal.name, id, None)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A token's id from its path; what is not a number names no token.
fn token_id(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| ApiError::not_found(format!("there is no API token #{text}")))
}
