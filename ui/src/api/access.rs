//! Who may call what. Every route is declared with its access rule ([`Routes::add`]); one middleware, the
//! gate, authenticates each request (a bearer token: the bootstrap admin token or a user's API token; or a
//! session cookie) and lets it through only if the rule of the route it matched allows the principal's role,
//! and, for routes that show every service's data, only if the principal may see every service. A route the
//! gate finds no rule for is refused: nothing is reachable by omission.
//!
//! Requests authenticated by a session cookie that change state (any method but GET, HEAD and OPTIONS) must
//! also come from our own pages: a cross-site `Origin` or `Sec-Fetch-Site` is refused, and the session's CSRF
//! token must be in `X-CSRF-Token`. The cookie's `SameSite=Strict` is a second, independent guard.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use serde::Serialize;
use sightline_storage::ServiceScope;
use subtle::ConstantTimeEq;

use super::ApiError;
use super::session::{SessionCookie, with_auth};
use crate::auth::{API_TOKEN_PREFIX, AuthStore, Credential, Principal, Role};

/// The header a page sends its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The principal of requests made with the bootstrap admin token.
pub const ADMIN_TOKEN_PRINCIPAL: &str = "admin-token";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone, signed in or not: logging in, health checks, the self-metrics.
    Public,
    /// Principals with this role or a higher one. What the route answers is either limited to the principal's
    /// services or not about services at all.
    Role(Role),
    /// Principals with this role or a higher one who may see every service: the route answers data of all
    /// services (it does not filter by scope yet), so principals limited to some services are refused.
    EveryService(Role),
}

/// One route and its access rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteRule {
    #[serde(serialize_with = "serialize_method")]
    pub method: Method,
    /// The route's path as declared, with `{parameters}`.
    pub path: &'static str,
    pub access: Access,
}

fn serialize_method<S: serde::Serializer>(
    method: &Method,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(method.as_str())
}

/// Routes that cannot be added without their access rule.
#[derive(Debug)]
pub struct Routes<S = ()> {
    router: Router<S>,
    rules: Vec<RouteRule>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes { router: Router::new(), rules: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Adds `handler` for `method` on `path`, callable as `access` says.
    pub fn add<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter =
            MethodFilter::try_from(method.clone()).expect("routes use the standard methods");
        self.router = self.router.route(path, on(filter, handler));
        self.rules.push(RouteRule { method, path, access });
        self
    }

    /// The same handler for `GET` and `POST`, as Prometheus's query API takes both.
    pub fn add_get_and_post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add(Method::GET, path, access, handler.clone()).add(
            Method::POST,
            path,
            access,
            handler,
        )
    }

    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// The routes behind `gate`, with their state.
    pub(crate) fn into_router(self, gate: &Gate, state: S) -> Router {
        if self.rules.is_empty() {
            // axum refuses a route layer without routes.
            return Router::new();
        }
        self.router
            .route_layer(middleware::from_fn_with_state(gate.clone(), check_access))
            .with_state(state)
    }
}

/// Authenticates requests and applies the access rules.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    rules: Arc<HashMap<(Method, &'static str), Access>>,
    auth: Arc<AuthStore>,
    /// The bootstrap admin token; `None` when none is configured.
    admin_token: Option<Arc<str>>,
    session_cookie: SessionCookie,
}

impl Gate {
    pub(crate) fn new(
        rules: &[RouteRule],
        auth: Arc<AuthStore>,
        admin_token: Option<String>,
        session_cookie: SessionCookie,
    ) -> Gate {
        let rules =
            rules.iter().map(|rule| ((rule.method.clone(), rule.path), rule.access)).collect();
        let admin_token = admin_token.filter(|token| !token.is_empty()).map(Arc::from);
        Gate { rules: Arc::new(rules), auth, admin_token, session_cookie }
    }

    /// Who sent `headers`: `Ok(None)` when they carry no credential at all.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
        if let Some(authorization) = headers.get(header::AUTHORIZATION) {
            let presented = authorization
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Constant time over the token's bytes (only its length can leak), so the comparison does not
            // reveal how long a matching prefix is.
            if let Some(expected) = &self.admin_token
                && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
            {
                return Ok(Some(Principal {
                    name: ADMIN_TOKEN_PRINCIPAL.to_owned(),
                    role: Role::Admin,
                    scope: ServiceScope::All,
                    credential: Credential::AdminToken,
                }));
            }
            // Users' tokens are looked up by their SHA-256, so their comparison reveals nothing either.
            if !presented.starts_with(API_TOKEN_PREFIX) {
                return Err(ApiError::unauthorized("missing or invalid bearer token"));
            }
            let token = presented.to_owned();
            let principal = with_auth(&self.auth, move |auth| auth.token(&token)).await?;
            return principal
                .map(Some)
                .ok_or_else(|| ApiError::unauthorized("missing or invalid bearer token"));
        }
        let Some(token) = self.session_cookie.token(headers) else { return Ok(None) };
        let token = token.to_owned();
        let principal = with_auth(&self.auth, move |auth| auth.session(&token)).await?;
        principal
            .map(Some)
            .ok_or_else(|| ApiError::unauthorized("the session has ended: log in again"))
    }
}

async fn check_access(
    State(gate): State<Gate>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // axum answers HEAD with the GET route.
    let method = match request.method() {
        &Method::HEAD => Method::GET,
        method => method.clone(),
    };
    let access = matched.as_ref().and_then(|path| gate.rules.get(&(method, path.as_str())));
    let Some(&access) = access else {
        let path = matched.as_ref().map_or("?", MatchedPath::as_str);
        tracing::error!(method = %request.method(), path, "a route without an access rule was refused");
        return Err(ApiError::forbidden("this route has no access rule"));
    };
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let (Access::Role(needed) | Access::EveryService(needed)) = access else {
        // Logging in from another site's page would sign the victim into the attacker's account.
        if changes_state {
            refuse_cross_site(request.headers())?;
        }
        return Ok(next.run(request).await);
    };
    let Some(principal) = gate.authenticate(request.headers()).await? else {
        return Err(ApiError::unauthorized("log in, or send an API token"));
    };
    if let Credential::Session { csrf_token } = &principal.credential
        && changes_state
    {
        refuse_cross_site(request.headers())?;
        let presented =
            request.headers().get(CSRF_HEADER).map(|value| value.as_bytes()).unwrap_or_default();
        if !bool::from(presented.ct_eq(csrf_token.as_bytes())) {
            return Err(ApiError::forbidden("missing or invalid CSRF token"));
        }
    }
    if principal.role < needed {
        return Err(ApiError::forbidden(&format!(
            "this needs the {} role; {} has {}",
            needed.as_str(),
            principal.name,
            principal.role.as_str()
        )));
    }
    if matches!(access, Access::EveryService(_)) && principal.scope != ServiceScope::All {
        return Err(ApiError::forbidden(&format!(
            "this shows every service's data, and {} may see only some services",
            principal.name
        )));
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Refuses a request that a browser says comes from another site. Browsers send `Sec-Fetch-Site` (all current
/// ones) and `Origin` (on every POST); clients that are not browsers send neither and are not affected.
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|value| value.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return Err(ApiError::forbidden("cross-site request refused"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
        let origin_host =
            origin.to_str().ok().and_then(|origin| origin.split_once("://")).map(|(_, host)| host);
        if host.is_none() || origin_host != host {
            return Err(ApiError::forbidden("cross-site request refused"));
        }
    }
    Ok(())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn cookies_are_found_by_exact_name_across_headers() {
        let headers = headers(&[("cookie", "a=1; session_x=2"), ("cookie", "session=3")]);
        assert_eq!(cookie(&headers, "session"), Some("3"));
        assert_eq!(cookie(&headers, "a"), Some("1"));
        assert_eq!(cookie(&headers, "b"), None);
    }

    #[test]
    fn requests_from_other_sites_are_refused_and_same_origin_ones_pass() {
        let same = [("host", "sightline:8080"), ("origin", "https://sightline:8080")];
        assert!(refuse_cross_site(&headers(&same)).is_ok());
        assert!(refuse_cross_site(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(refuse_cross_site(&headers(&[])).is_ok(), "not a browser");
        for refused in [
            &[("host", "sightline:8080"), ("origin", "https://evil.example")][..],
            &[("host", "sightline:8080"), ("origin", "null")],
            &[("origin", "https://sightline:8080")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
        ] {
            assert!(refuse_cross_site(&headers(refused)).is_err(), "{refused:?}");
        }
    }
}
