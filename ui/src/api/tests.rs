//! The API's gate as a browser and an API client meet it: logins, the session cookie's flags, CSRF and
//! cross-site refusals, lockout, roles, and the security headers. Plus the router the other tests use.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use object_store::memory::InMemory;
use serde_json::{Value, json};
use sightline_rules::group::SqlSource;
use sightline_rules::manager::{Backend, RuleManager, RuleSettings};
use sightline_rules::promql::{Element, Labels, Selection, Series, SeriesSource};
use sightline_rules::state::AlertStore;
use sightline_rules::stored::{RecentMetrics, StoredMetrics};
use sightline_storage::{QueryEngine, QueryLimits, StaticSource};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::{Api, Routes, router};
use crate::auth::{AuthSettings, AuthStore, Role};

pub(crate) const TOKEN: &str = "s3cret-admin-token";
const HOST: &str = "sightline.example:8080";

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970");
    i64::try_from(since_epoch.as_millis()).expect("ms fit")
}

/// The API over an empty store, with `token` as the admin token and no users.
pub(crate) fn app_with(limits: QueryLimits, token: Option<&str>) -> axum::Router {
    let auth = AuthStore::open(std::path::Path::new(":memory:"), AuthSettings::default(), now_ms)
        .expect("auth");
    app_with_auth(limits, token, Arc::new(auth), true)
}

fn app_with_auth(
    limits: QueryLimits,
    token: Option<&str>,
    auth: Arc<AuthStore>,
    secure_cookies: bool,
) -> axum::Router {
    let engine =
        QueryEngine::new(StaticSource::new(), Arc::new(InMemory::new()), limits).expect("engine");
    let engine = Arc::new(engine);
    let stored = StoredMetrics::new(Arc::clone(&engine), tokio::runtime::Handle::current(), 1000);
    let metrics = Arc::new(RecentMetrics::new(stored, Duration::from_secs(60), 1000));
    let api = Api {
        engine,
        metrics,
        rules: no_rules(),
        notifications: None,
        auth,
        redaction: Arc::new(NoRedaction),
        oidc: None,
        admin_token: token.map(String::from),
        secure_cookies,
    };
    router(api, Routes::default())
}

/// Redaction is the collector's: these tests are about the API.
#[derive(Debug)]
struct NoRedaction;

impl crate::api::RedactionRules for NoRedaction {
    fn rules(&self) -> Vec<crate::api::RedactionRule> {
        Vec::new()
    }
}

/// A rule manager without rule files: these tests are about the API.
fn no_rules() -> RuleManager {
    let settings = RuleSettings {
        patterns: Vec::new(),
        base_dir: ".".into(),
        evaluation_interval: Duration::from_secs(15),
        external_labels: Labels::default(),
        external_url: String::new(),
        watch_interval: Duration::from_secs(60),
    };
    let store = AlertStore::open(std::path::Path::new(":memory:")).expect("in-memory sqlite");
    RuleManager::new(
        settings,
        Arc::new(NoSeries),
        Arc::new(store),
        Arc::default(),
        CancellationToken::new(),
    )
}

struct NoSeries;

impl SeriesSource for NoSeries {
    fn select(&self, _: Selection<'_>, _: i64, _: i64) -> Result<Vec<Series>, String> {
        Ok(Vec::new())
    }
}

impl Backend for NoSeries {
    fn series(&self) -> &dyn SeriesSource {
        self
    }

    fn sql(&self) -> Option<&dyn SqlSource> {
        None
    }

    fn write(&self, _: Vec<Element>) -> Result<(), String> {
        Err("these tests run no rules".to_owned())
    }
}

/// An API with the users `viewer`, `editor` and `admin`, each with the password `<name>'s password`.
fn app_with_users(secure_cookies: bool) -> axum::Router {
    let auth = AuthStore::open(std::path::Path::new(":memory:"), AuthSettings::default(), now_ms)
        .expect("auth");
    for role in [Role::Viewer, Role::Editor, Role::Admin] {
        let name = role.as_str();
        auth.create_user("test", name, &format!("{name}'s password"), role).expect("user");
    }
    app_with_auth(QueryLimits::default(), Some(TOKEN), Arc::new(auth), secure_cookies)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Answer { status, headers, body }
}

fn login_request(name: &str, password: &str) -> Request<Body> {
    Request::post("/api/v1/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("https://{HOST}"))
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(json!({ "username": name, "password": password }).to_string()))
        .expect("request")
}

/// A browser's session: the cookie's `name=value` and the CSRF token.
struct Session {
    cookie: String,
    csrf_token: String,
}

async fn login(app: &axum::Router, name: &str) -> Session {
    let answer = send(app, login_request(name, &format!("{name}'s password"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let set_cookie = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    let csrf_token = answer.body["csrf_token"].as_str().expect("csrf token").to_owned();
    Session { cookie, csrf_token }
}

/// A same-origin request of the page, with the session cookie and the CSRF token.
fn page_request(method: &str, path: &str, session: &Session, body: Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("https://{HOST}"))
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, &session.cookie)
        .header("x-csrf-token", &session.csrf_token)
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn a_login_sets_a_host_only_http_only_secure_strict_session_cookie() {
    let app = app_with_users(true);
    let answer = send(&app, login_request("editor", "editor's password")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["user"]["name"], "editor");
    assert_eq!(answer.body["user"]["role"], "editor");
    let cookie = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    let mut attributes: Vec<&str> = cookie.split("; ").collect();
    let value = attributes.remove(0);
    assert!(value.starts_with("__Host-sightline_session="), "{cookie}");
    assert!(value.len() > "__Host-sightline_session=".len() + 40, "{cookie}");
    attributes.sort_unstable();
    assert_eq!(
        attributes,
        ["HttpOnly", "Path=/", "SameSite=Strict", "Secure"],
        "no Domain, no Max-Age"
    );

    let session = login(&app, "editor").await;
    let me = send(&app, page_request("GET", "/api/v1/auth/me", &session, Value::Null)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.body,
        json!({ "name": "editor", "role": "editor", "csrf_token": session.csrf_token })
    );
}

#[tokio::test]
async fn with_secure_cookies_off_the_cookie_has_neither_secure_nor_the_host_prefix() {
    let app = app_with_users(false);
    let answer = send(&app, login_request("viewer", "viewer's password")).await;
    let cookie = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.starts_with("sightline_session="), "{cookie}");
    assert!(
        !cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
    );
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_five_in_a_row_lock_the_account_with_retry_after() {
    let app = app_with_users(true);
    for _ in 0..5 {
        let answer = send(&app, login_request("viewer", "a wrong password")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body, json!({ "error": "invalid user name or password" }));
        assert!(answer.headers.get(header::SET_COOKIE).is_none());
    }
    let answer = send(&app, login_request("viewer", "viewer's password")).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.headers[header::RETRY_AFTER], "900");
    assert!(answer.headers.get(header::SET_COOKIE).is_none());
    // Others are not locked out with them.
    login(&app, "editor").await;
}

#[tokio::test]
async fn a_state_changing_session_request_needs_its_csrf_token_and_our_origin() {
    let app = app_with_users(true);
    let session = login(&app, "viewer").await;
    let query = json!({ "sql": "SELECT 1" });
    let ok = send(&app, page_request("POST", "/api/v1/sql", &session, query.clone())).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    let mut without_token = page_request("POST", "/api/v1/sql", &session, query.clone());
    without_token.headers_mut().remove("x-csrf-token");
    let mut wrong_token = page_request("POST", "/api/v1/sql", &session, query.clone());
    wrong_token.headers_mut().insert("x-csrf-token", "forged".parse().expect("header"));
    for request in [without_token, wrong_token] {
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.body, json!({ "error": "missing or invalid CSRF token" }));
    }

    // A form on another site posting with the victim's cookie (were SameSite not to stop it).
    let mut cross_origin = page_request("POST", "/api/v1/sql", &session, query.clone());
    cross_origin
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().expect("header"));
    cross_origin.headers_mut().remove("sec-fetch-site");
    let mut cross_site = page_request("POST", "/api/v1/sql", &session, query);
    cross_site.headers_mut().insert("sec-fetch-site", "cross-site".parse().expect("header"));
    for request in [cross_origin, cross_site] {
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.body, json!({ "error": "cross-site request refused" }));
    }

    // Reading needs no CSRF token.
    let mut read = page_request("GET", "/api/v1/query?query=1", &session, Value::Null);
    read.headers_mut().remove("x-csrf-token");
    assert_eq!(send(&app, read).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_login_from_another_sites_page_is_refused() {
    let app = app_with_users(true);
    let mut request = login_request("viewer", "viewer's password");
    request.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().expect("header"));
    request.headers_mut().insert("sec-fetch-site", "cross-site".parse().expect("header"));
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn logging_out_ends_the_session_and_clears_the_cookie() {
    let app = app_with_users(true);
    let session = login(&app, "viewer").await;
    let answer =
        send(&app, page_request("POST", "/api/v1/auth/logout", &session, Value::Null)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let cleared = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        cleared.starts_with("__Host-sightline_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let me = send(&app, page_request("GET", "/api/v1/auth/me", &session, Value::Null)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.body, json!({ "error": "the session has ended: log in again" }));
}

#[tokio::test]
async fn only_admins_manage_users_and_their_changes_are_in_the_audit_log() {
    let app = app_with_users(true);
    let new_user = json!({ "name": "dana", "password": "dana's password", "role": "viewer" });
    for name in ["viewer", "editor"] {
        let session = login(&app, name).await;
        let users =
            send(&app, page_request("GET", "/api/v1/admin/users", &session, Value::Null)).await;
        assert_eq!(users.status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(
            users.body,
            json!({ "error": format!("this needs the admin role; {name} has {name}") })
        );
        let create = page_request("POST", "/api/v1/admin/users", &session, new_user.clone());
        assert_eq!(send(&app, create).await.status, StatusCode::FORBIDDEN, "{name}");
    }
    let admin = login(&app, "admin").await;
    let created =
        send(&app, page_request("POST", "/api/v1/admin/users", &admin, new_user.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let again = send(&app, page_request("POST", "/api/v1/admin/users", &admin, new_user)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let promote =
        page_request("PATCH", "/api/v1/admin/users/dana", &admin, json!({ "role": "editor" }));
    assert_eq!(send(&app, promote).await.status, StatusCode::NO_CONTENT);
    let users = send(&app, page_request("GET", "/api/v1/admin/users", &admin, Value::Null)).await;
    let dana =
        users.body.as_array().expect("users").iter().find(|user| user["name"] == "dana").cloned();
    assert_eq!(dana.expect("dana")["role"], "editor");

    let audit =
        send(&app, page_request("GET", "/api/v1/admin/audit?limit=3", &admin, Value::Null)).await;
    let actions: Vec<(&str, &str)> = audit
        .body
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            (entry["actor"].as_str().expect("actor"), entry["action"].as_str().expect("action"))
        })
        .collect();
    assert_eq!(actions, [("admin", "role_changed"), ("admin", "user_created"), ("admin", "login")]);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = app_with_users(true);
    let requests = [
        Request::get("/api/v1/auth/me").body(Body::empty()).expect("request"),
        login_request("viewer", "viewer's password"),
        Request::get("/no/such/route").body(Body::empty()).expect("request"),
    ];
    for request in requests {
        let path = request.uri().to_string();
        let answer = send(&app, request).await;
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(answer.headers[header::REFERRER_POLICY], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn a_users_api_token_works_without_cookie_or_csrf_until_revoked() {
    let app = app_with_users(true);
    let editor = login(&app, "editor").await;
    let body = json!({ "name": "ci", "role": "viewer", "expires_in": "30d" });
    let created = send(&app, page_request("POST", "/api/v1/tokens", &editor, body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["role"], "viewer");
    let token = created.body["token"].as_str().expect("the token, shown once").to_owned();
    let id = created.body["id"].as_i64().expect("id");

    let with_token = |method: &str, path: &str, body: Value| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let query = send(&app, with_token("POST", "/api/v1/sql", json!({ "sql": "SELECT 1" }))).await;
    assert_eq!(query.status, StatusCode::OK, "{}", query.body);
    let me = send(&app, with_token("GET", "/api/v1/auth/me", Value::Null)).await;
    assert_eq!(me.body, json!({ "name": "editor", "role": "viewer", "csrf_token": null }));
    let listed = send(&app, page_request("GET", "/api/v1/tokens", &editor, Value::Null)).await;
    assert_eq!(listed.body[0]["name"], "ci");
    assert!(listed.body[0].get("token").is_none(), "never shown again");

    let revoke = page_request("DELETE", &format!("/api/v1/tokens/{id}"), &editor, Value::Null);
    assert_eq!(send(&app, revoke).await.status, StatusCode::NO_CONTENT);
    let refused = send(&app, with_token("POST", "/api/v1/sql", json!({ "sql": "SELECT 1" }))).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body, json!({ "error": "missing or invalid bearer token" }));
}
