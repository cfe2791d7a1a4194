//! Logging in and out, who am I, and changing one's own password.
//!
//! A login sets the session cookie: `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
//! sends it), `Secure` with the `__Host-` prefix (HTTPS only, this host only, path `/`) unless the configuration
//! turns secure cookies off for plain-HTTP localhost. The cookie lasts as long as the browser; the server ends the
//! session after its idle time or maximum age. The answer carries the session's CSRF token, which the page
//! sends back in `X-CSRF-Token` with every request that changes something.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::access::cookie;
use super::{ApiError, ApiState, blocking, parse_json};
use crate::auth::{AuthError, AuthStore, Credential, LoginOutcome, Principal};

/// The session cookie: `Secure` with the `__Host-` prefix (which browsers accept only on a `Secure` cookie),
/// or neither for plain-HTTP localhost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionCookie {
    pub(crate) secure: bool,
}

impl SessionCookie {
    pub(crate) fn name(self) -> &'static str {
        if self.secure { "__Host-sightline_session" } else { "sightline_session" }
    }

    /// The session token a request carries, if any.
    pub(crate) fn token(self, headers: &HeaderMap) -> Option<&str> {
        cookie(headers, self.name())
    }

    /// `Set-Cookie` for `token`; `None` tells the browser to forget the cookie.
    pub(crate) fn header(self, token: Option<&str>) -> String {
        self.set_cookie(self.name(), token, "Strict", None)
    }

    /// `Set-Cookie` for any of our cookies (`HttpOnly`, path `/`, `Secure` as the session's): `value` for
    /// `max_age_s` seconds (`None`: as long as the browser runs), or, without a value, forgotten.
    pub(crate) fn set_cookie(
        self,
        name: &str,
        value: Option<&str>,
        same_site: &str,
        max_age_s: Option<u64>,
    ) -> String {
        let mut header =
            format!("{name}={}; Path=/; HttpOnly; SameSite={same_site}", value.unwrap_or_default());
        match (value, max_age_s) {
            (None, _) => header.push_str("; Max-Age=0"),
            (Some(_), Some(seconds)) => header.push_str(&format!("; Max-Age={seconds}")),
            (Some(_), None) => {}
        }
        if self.secure {
            header.push_str("; Secure");
        }
        header
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

pub(crate) async fn login(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: LoginRequest = parse_json(&body)?;
    let outcome =
        with_auth(&state.auth, move |auth| auth.login(&request.username, &request.password))
            .await?;
    match outcome {
        LoginOutcome::Success(session) => {
            let cookie = state.session_cookie.header(Some(&session.token));
            let body = json!({
                "user": session.user,
                "csrf_token": session.csrf_token,
                "expires_at": session.expires_at,
            });
            Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
        }
        LoginOutcome::Refused => Err(ApiError::unauthorized("invalid user name or password")),
        LoginOutcome::Locked { retry_after } => {
            let seconds = retry_after.as_secs_f64().ceil().to_string();
            let mut response =
                ApiError::too_many_requests("too many failed logins: try again later")
                    .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
    }
}

/// Ends the session the request came with, and tells the browser to forget its cookie.
pub(crate) async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = state.session_cookie.token(&headers).map(str::to_owned) {
        with_auth(&state.auth, move |auth| auth.logout(&token)).await?;
    }
    let cookie = state.session_cookie.header(None);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Who the request is authenticated as; for a session, with its CSRF token (a reloaded page finds it here).
pub(crate) async fn me(Extension(principal): Extension<Principal>) -> Response {
    let csrf_token = match &principal.credential {
        Credential::Session { csrf_token } => Some(csrf_token.as_str()),
        Credential::AdminToken | Credential::ApiToken { .. } => None,
    };
    axum::Json(json!({
        "name": principal.name,
        "role": principal.role,
        "csrf_token": csrf_token,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the signed-in user's password; their other sessions end.
pub(crate) async fn change_password(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if principal.credential == Credential::AdminToken {
        return Err(ApiError::bad_request("the admin token has no password"));
    }
    let change: PasswordChange = parse_json(&body)?;
    let session = state.session_cookie.token(&headers).map(str::to_owned);
    let changed = with_auth(&state.auth, move |auth| {
        auth.change_password(
            &principal.name,
            &change.current_password,
            &change.new_password,
            session.as_deref(),
        )
    })
    .await?;
    if changed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::bad_request("the current password is wrong"))
    }
}

/// Runs `work` on the authentication store off the async runtime (SQLite, Argon2).
pub(crate) async fn with_auth<T: Send + 'static>(
    auth: &Arc<AuthStore>,
    work: impl FnOnce(&AuthStore) -> Result<T, AuthError> + Send + 'static,
) -> Result<T, ApiError> {
    let auth = Arc::clone(auth);
    blocking(move || work(&auth)).await
}
