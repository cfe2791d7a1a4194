//! The HTTP API: routes, the admin-token check, and the one error body every endpoint answers with. Query
//! results come from [`sightline_storage::QueryEngine`]; this module knows nothing about files.

mod alertmanager;
mod prometheus;
mod rules;
mod sql;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sightline_rules::manager::RuleManager;
use sightline_rules::stored::RecentMetrics;
use sightline_storage::{QueryEngine, QueryError};
use subtle::ConstantTimeEq;

pub use alertmanager::NotificationsApi;

/// The bootstrap admin token; `None` means nobody is let in.
type AdminToken = Option<Arc<str>>;

/// Shared by every handler.
#[derive(Debug, Clone)]
struct ApiState {
    engine: Arc<QueryEngine>,
    /// The metrics PromQL reads: recent samples in memory, older ones from `engine`'s store.
    metrics: Arc<RecentMetrics>,
    rules: RuleManager,
}

/// The API routes; the notification and Alertmanager routes when notifications are configured. Every route
/// needs `Authorization: Bearer <admin_token>`.
pub fn router(
    engine: Arc<QueryEngine>,
    metrics: Arc<RecentMetrics>,
    rules: RuleManager,
    notifications: Option<NotificationsApi>,
    admin_token: Option<String>,
) -> Router {
    let admin_token: AdminToken = admin_token.filter(|token| !token.is_empty()).map(Arc::from);
    let require_admin = middleware::from_fn_with_state(admin_token.clone(), require_admin);
    let state = ApiState { engine, metrics, rules };
    let notification_routes = match notifications {
        Some(api) => alertmanager::routes().route_layer(require_admin.clone()).with_state(api),
        None => Router::new(),
    };
    Router::new()
        .route("/api/v1/sql", post(sql::handle))
        .route("/api/v1/query", get(prometheus::query).post(prometheus::query))
        .route("/api/v1/query_range", get(prometheus::query_range).post(prometheus::query_range))
        .route("/api/v1/series", get(prometheus::series).post(prometheus::series))
        .route("/api/v1/labels", get(prometheus::labels).post(prometheus::labels))
        .route("/api/v1/metadata", get(prometheus::metadata))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/rules/backtest", post(rules::backtest))
        .route(
            "/api/v1/label/{name}/values",
            get(prometheus::label_values).post(prometheus::label_values),
        )
        .route_layer(require_admin)
        .with_state(state)
        .merge(notification_routes)
}

async fn require_admin(
    State(admin_token): State<AdminToken>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(expected) = admin_token.as_deref() else {
        return Err(ApiError::unauthorized(
            "no admin token is configured: set SIGHTLINE_ADMIN_TOKEN",
        ));
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Constant time over the token's bytes (only its length can leak), so the comparison does not reveal
    // how long a matching prefix is.
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(next.run(request).await)
    } else {
        Err(ApiError::unauthorized("missing or invalid bearer token"))
    }
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

    fn unauthorized(message: &str) -> Self {
        Self { status: StatusCode::UNAUTHORIZED, message: message.into() }
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
