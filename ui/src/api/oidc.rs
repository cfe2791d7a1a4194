//! Single sign-on routes, all public (they are how one gets credentials):
//! - `GET /api/v1/auth/oidc`: whether single sign-on is configured, and the login button's text;
//! - `GET /api/v1/auth/oidc/login`: redirects the browser to the identity provider; the login in progress
//!   (its `state`, PKCE verifier and nonce) is kept in a short-lived `HttpOnly` cookie, so that only the browser
//!   that started a login can finish it;
//! - `GET /api/v1/auth/oidc/callback`: where the provider sends the browser back. On success it sets the
//!   session cookie and redirects to the app; on failure it redirects to the app's login with the reason
//!   (`/#oidc-error=…`).
//!
//! The state cookie is `SameSite=Lax`: the provider's redirect back is a navigation from another site, which a
//! `Strict` cookie would not follow.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::access::cookie;
use super::session::{SessionCookie, with_auth};
use super::{ApiError, ApiState, now_ms};
use crate::auth::oidc::{LOGIN_TIMEOUT, PendingLogin};

/// `GET /api/v1/auth/oidc`.
pub(super) async fn status(State(state): State<ApiState>) -> Response {
    let body = match &state.oidc {
        Some(oidc) => json!({ "enabled": true, "label": oidc.settings().label }),
        None => json!({ "enabled": false }),
    };
    axum::Json(body).into_response()
}

/// `GET /api/v1/auth/oidc/login`.
pub(super) async fn login(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let oidc = state.oidc.as_ref().ok_or_else(not_configured)?;
    // The browser navigated here: a failure goes back to the login page, which says why.
    let (url, cookie) = match oidc.start(now_ms()).await {
        Ok((url, login)) => (url, state_cookie(state.session_cookie, Some(&login.to_cookie()))),
        Err(error) => (login_error(&error.to_string()), state_cookie(state.session_cookie, None)),
    };
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, url), (header::SET_COOKIE, cookie)])
        .into_response())
}

/// Where the login page shows why a single sign-on failed.
fn login_error(message: &str) -> String {
    format!("/#oidc-error={}", percent_encode(message))
}

#[derive(Debug, Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    /// The provider's refusal (`access_denied`, …), with its description.
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /api/v1/auth/oidc/callback`.
pub(super) async fn callback(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Result<Response, ApiError> {
    let oidc = state.oidc.clone().ok_or_else(not_configured)?;
    let forget_state = state_cookie(state.session_cookie, None);
    let failed = |message: String| {
        let location = login_error(&message);
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location), (header::SET_COOKIE, forget_state.clone())],
        )
            .into_response()
    };
    if let Some(error) = callback.error {
        let reason = callback.error_description.unwrap_or(error);
        return Ok(failed(format!("the identity provider refused the login: {reason}")));
    }
    let (Some(code), Some(login_state)) = (callback.code, callback.state) else {
        return Ok(failed("the identity provider sent no authorization code".to_owned()));
    };
    let Some(login) = cookie(&headers, state_cookie_name(state.session_cookie))
        .and_then(PendingLogin::from_cookie)
    else {
        return Ok(failed("this login was not started in this browser: log in again".to_owned()));
    };
    let identity = match oidc.finish(login, &login_state, &code, now_ms()).await {
        Ok(identity) => identity,
        Err(error) => {
            tracing::warn!(error = %error, "single sign-on failed");
            record_failure(&state, None, error.to_string()).await;
            return Ok(failed(error.to_string()));
        }
    };
    let name = identity.name.clone();
    let session = match with_auth(&state.auth, move |auth| auth.oidc_login(&identity)).await {
        Ok(session) => session,
        Err(error) if error.status == StatusCode::BAD_REQUEST => {
            record_failure(&state, Some(name), error.message.clone()).await;
            return Ok(failed(error.message));
        }
        Err(error) => return Err(error),
    };
    let session_cookie = state.session_cookie.header(Some(&session.token));
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    for value in [session_cookie, forget_state] {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// A failed single sign-on in the audit log, as failed password logins are.
async fn record_failure(state: &ApiState, name: Option<String>, reason: String) {
    let actor = name.unwrap_or_else(|| "single sign-on".to_owned());
    let recorded = with_auth(&state.auth, move |auth| {
        auth.record(&actor, "login_failed", None, Some(&format!("single sign-on: {reason}")))
    })
    .await;
    if let Err(error) = recorded {
        tracing::error!(error = ?error, "the audit log could not record a failed login");
    }
}

fn not_configured() -> ApiError {
    ApiError::not_found("single sign-on is not configured")
}

fn state_cookie_name(session: SessionCookie) -> &'static str {
    if session.secure { "__Host-sightline_oidc_state" } else { "sightline_oidc_state" }
}

/// `Set-Cookie` for a login in progress (as long as a login may take); `None` forgets it.
fn state_cookie(session: SessionCookie, login_state: Option<&str>) -> String {
    let name = state_cookie_name(session);
    session.set_cookie(name, login_state, "Lax", Some(LOGIN_TIMEOUT.as_secs()))
}

/// `text` for a URL fragment: everything but unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_cookie_is_lax_and_short_lived_and_secure_when_the_session_is() {
        let secure = state_cookie(SessionCookie { secure: true }, Some("abc"));
        assert_eq!(
            secure,
            "__Host-sightline_oidc_state=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=600; Secure"
        );
        let forget = state_cookie(SessionCookie { secure: false }, None);
        assert_eq!(forget, "sightline_oidc_state=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    }

    #[test]
    fn error_messages_are_percent_encoded_for_the_fragment() {
        assert_eq!(percent_encode("ana has no role: ask"), "ana%20has%20no%20role%3A%20ask");
        assert_eq!(percent_encode("é<"), "%C3%A9%3C");
    }
}
