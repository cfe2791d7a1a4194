//! The HTTP API: its routes, each with its access rule ([`access`]), the sessions and admin endpoints, the
//! security headers of every answer, and the one error body every endpoint answers with. Query results come from
//! [`sightline_storage::QueryEngine`]; this module knows nothing about files.

pub mod access;
mod admin;
mod alertmanager;
mod notifications;
mod oidc;
mod prometheus;
mod redaction;
mod rules;
mod scope;
mod session;
mod sql;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sightline_rules::manager::RuleManager;
use sightline_rules::stored::RecentMetrics;
use sightline_storage::{QueryEngine, QueryError};

pub use access::{Access, RouteRule, Routes};
pub use alertmanager::NotificationsApi;
pub use redaction::{RedactionRule, RedactionRules};

use crate::auth::oidc::Oidc;
use crate::auth::{AuthError, AuthStore, Role};
use access::Gate;
use session::SessionCookie;

/// What the API serves from.
#[derive(Debug)]
pub struct Api {
    pub engine: Arc<QueryEngine>,
    /// The metrics PromQL reads: recent samples in memory, older ones from `engine`'s store.
    pub metrics: Arc<RecentMetrics>,
    pub rules: RuleManager,
    /// The notification and Alertmanager routes exist when notifications are configured.
    pub notifications: Option<NotificationsApi>,
    pub auth: Arc<AuthStore>,
    pub redaction: Arc<dyn RedactionRules>,
    /// Single sign-on, when configured.
    pub oidc: Option<Arc<Oidc>>,
    /// The bootstrap API token with the admin role, if configured.
    pub admin_token: Option<String>,
    /// Whether the session cookie is `Secure` (off only for plain-HTTP localhost).
    pub secure_cookies: bool,
}

/// Shared by every handler of the main routes.
#[derive(Debug, Clone)]
struct ApiState {
    engine: Arc<QueryEngine>,
    metrics: Arc<RecentMetrics>,
    rules: RuleManager,
    auth: Arc<AuthStore>,
    redaction: Arc<dyn RedactionRules>,
    oidc: Option<Arc<Oidc>>,
    session_cookie: SessionCookie,
    /// Every route with its access rule, for `/api/v1/admin/routes`.
    route_rules: Arc<[RouteRule]>,
}

const VIEWER: Access = Access::Role(Role::Viewer);
/// Viewers who may see every service.
const ALL_SERVICES: Access = Access::EveryService(Role::Viewer);
const ADMIN: Access = Access::Role(Role::Admin);

/// The API, with `operations` (health checks, self-metrics: the binary's own routes) behind the same gate.
pub fn router(api: Api, operations: Routes<()>) -> Router {
    let main = Routes::default()
        .add(Method::POST, "/api/v1/auth/login", Access::Public, session::login)
        .add(Method::GET, "/api/v1/auth/oidc", Access::Public, oidc::status)
        .add(Method::GET, "/api/v1/auth/oidc/login", Access::Public, oidc::login)
        .add(Method::GET, "/api/v1/auth/oidc/callback", Access::Public, oidc::callback)
        .add(Method::POST, "/api/v1/auth/logout", VIEWER, session::logout)
        .add(Method::GET, "/api/v1/auth/me", VIEWER, session::me)
        .add(Method::POST, "/api/v1/auth/password", VIEWER, session::change_password)
        // SQL, PromQL and alerts show only the principal's services (`scope`); metric metadata is not limited by
        // service, so it is for those who may see every service.
        .add(Method::POST, "/api/v1/sql", VIEWER, sql::handle)
        .add_get_and_post("/api/v1/query", VIEWER, prometheus::query)
        .add_get_and_post("/api/v1/query_range", VIEWER, prometheus::query_range)
        .add_get_and_post("/api/v1/series", VIEWER, prometheus::series)
        .add_get_and_post("/api/v1/labels", VIEWER, prometheus::labels)
        .add_get_and_post("/api/v1/label/{name}/values", VIEWER, prometheus::label_values)
        .add(Method::GET, "/api/v1/metadata", ALL_SERVICES, prometheus::metadata)
        .add(Method::GET, "/api/v1/rules", VIEWER, rules::rules)
        .add(Method::GET, "/api/v1/alerts", VIEWER, rules::alerts)
        // A backtest only reads, but it can be as costly as many queries.
        .add(Method::POST, "/api/v1/rules/backtest", ALL_SERVICES, rules::backtest)
        // Rules name services, and their counts are over every service.
        .add(Method::GET, "/api/v1/redaction", ALL_SERVICES, redaction::rules)
        .add(Method::GET, "/api/v1/tokens", VIEWER, tokens::own_tokens)
        .add(Method::POST, "/api/v1/tokens", VIEWER, tokens::create)
        .add(Method::DELETE, "/api/v1/tokens/{id}", VIEWER, tokens::revoke_own)
        .add(Method::GET, "/api/v1/admin/tokens", ADMIN, tokens::all_tokens)
        .add(Method::DELETE, "/api/v1/admin/tokens/{id}", ADMIN, tokens::revoke_any)
        .add(Method::GET, "/api/v1/admin/users", ADMIN, admin::list_users)
        .add(Method::POST, "/api/v1/admin/users", ADMIN, admin::create_user)
        .add(Method::PATCH, "/api/v1/admin/users/{name}", ADMIN, admin::update_user)
        .add(Method::DELETE, "/api/v1/admin/users/{name}", ADMIN, admin::delete_user)
        .add(Method::GET, "/api/v1/admin/teams", ADMIN, admin::list_teams)
        .add(Method::PUT, "/api/v1/admin/teams/{name}", ADMIN, admin::save_team)
        .add(Method::DELETE, "/api/v1/admin/teams/{name}", ADMIN, admin::delete_team)
        .add(Method::GET, "/api/v1/admin/audit", ADMIN, admin::audit_log)
        .add(Method::GET, "/api/v1/admin/routes", ADMIN, admin::routes);
    let notifications = api.notifications.is_some().then(alertmanager::routes);
    let route_rules: Arc<[RouteRule]> = [main.rules(), operations.rules()]
        .into_iter()
        .chain(notifications.as_ref().map(Routes::rules))
        .flatten()
        .cloned()
        .collect();
    let session_cookie = SessionCookie { secure: api.secure_cookies };
    let gate = Gate::new(&route_rules, Arc::clone(&api.auth), api.admin_token, session_cookie);
    let state_auth = Arc::clone(&api.auth);
    let state = ApiState {
        engine: api.engine,
        metrics: api.metrics,
        rules: api.rules,
        auth: api.auth,
        redaction: api.redaction,
        oidc: api.oidc,
        session_cookie,
        route_rules,
    };
    let mut router = main.into_router(&gate, state).merge(operations.into_router(&gate, ()));
    if let (Some(routes), Some(api)) = (notifications, api.notifications) {
        let state = alertmanager::NotificationsState { api, auth: Arc::clone(&state_auth) };
        router = router.merge(routes.into_router(&gate, state));
    }
    router.fallback(crate::web::serve).layer(middleware::from_fn(security_headers))
}

/// Only our own scripts, styles and connections; no plugins, no `<base>`, no framing by any site. The app's page
/// adds a per-answer nonce for the style elements its editor creates (`web::serve`).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The headers of every answer: no sniffing of content types, no framing by other sites, no referrer, no
/// caching of API answers, and a Content-Security-Policy that allows only our own scripts and styles.
async fn security_headers(request: Request, next: Next) -> Response {
    const HEADERS: [(&str, &str); 5] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ];
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.entry(HeaderName::from_static(name)).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Runs store work off the async runtime; its errors become API errors.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(Into::into),
        Err(panic) => Err(ApiError::internal(&panic)),
    }
}

/// Now, in milliseconds since the Unix epoch: the wall clock of handlers that take no injected clock.
pub(crate) fn now_ms() -> i64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Parses a JSON request body; a body that does not parse is a 400 that says why.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

/// An error answer: a status and the standard body `{"error": "<message>"}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    pub(crate) fn unauthorized(message: &str) -> Self {
        Self { status: StatusCode::UNAUTHORIZED, message: message.into() }
    }

    pub(crate) fn forbidden(message: &str) -> Self {
        Self { status: StatusCode::FORBIDDEN, message: message.into() }
    }

    pub(crate) fn too_many_requests(message: &str) -> Self {
        Self { status: StatusCode::TOO_MANY_REQUESTS, message: message.into() }
    }

    pub(crate) fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "api request failed");
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, message: "internal error".into() }
    }
}

/// The one place where query errors become HTTP statuses.
/// - `Refused`, `Invalid`, `ResourcesExhausted`: 400; the query as written cannot run, the message says why
///   (for memory, with the limit).
/// - `Timeout`: 504; the server gave up computing the answer (408 would blame the client's upload).
/// - `Internal`: 500 with a generic message; the details go to the log.
impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Refused(message)
            | QueryError::Invalid(message)
            | QueryError::ResourcesExhausted(message) => ApiError::bad_request(message),
            QueryError::Timeout => Self {
                status: StatusCode::GATEWAY_TIMEOUT,
                message: QueryError::Timeout.to_string(),
            },
            QueryError::Internal(detail) => ApiError::internal(&detail),
        }
    }
}

/// The one place where authentication store errors become HTTP statuses.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Invalid(message) => ApiError::bad_request(message),
            AuthError::NoSuchUser(_) | AuthError::NoSuchToken(_) | AuthError::NoSuchTeam(_) => {
                ApiError::not_found(error.to_string())
            }
            AuthError::UserExists(_) => {
                Self { status: StatusCode::CONFLICT, message: error.to_string() }
            }
            AuthError::Database { .. } | AuthError::Hashing(_) => ApiError::internal(&error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
pub(crate) mod tests;
