//! CORS for browser exporters (`@opentelemetry/exporter-*-otlp-http` in a web page): only the configured
//! origins may send, and preflight requests are answered before routing.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

/// Which web origins may send telemetry from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    /// Exact origins (`https://app.example.com`), or `*` for any. Empty: CORS is off.
    pub allowed_origins: Vec<String>,
    /// How long a browser may cache a preflight answer.
    pub max_age: Duration,
}

impl Default for CorsSettings {
    fn default() -> CorsSettings {
        CorsSettings { allowed_origins: Vec::new(), max_age: Duration::from_secs(3600) }
    }
}

impl CorsSettings {
    fn allows(&self, origin: &HeaderValue) -> bool {
        let origin = origin.as_bytes();
        self.allowed_origins.iter().any(|allowed| allowed == "*" || allowed.as_bytes() == origin)
    }
}

pub fn layer(router: Router, settings: CorsSettings) -> Router {
    if settings.allowed_origins.is_empty() {
        return router;
    }
    router.layer(middleware::from_fn_with_state(Arc::new(settings), cors))
}

async fn cors(State(settings): State<Arc<CorsSettings>>, request: Request, next: Next) -> Response {
    let allowed_origin =
        request.headers().get(header::ORIGIN).filter(|origin| settings.allows(origin)).cloned();
    let is_preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if is_preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if allowed_origin.is_some() {
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, OPTIONS"),
            );
            let requested = request.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                requested.unwrap_or(HeaderValue::from_static(
                    "content-type, content-encoding, authorization",
                )),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(settings.max_age.as_secs()),
            );
        }
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}
