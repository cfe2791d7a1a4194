//! Every route of the API, called by every kind of principal, answers exactly the status its access rule says.
//! The routes come from the daemon itself (`/api/v1/admin/routes`), so a route added without being listed
//! here, with the statuses each principal must get, fails this test.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Daemon};

const ADMIN_PASSWORD: &str = "the first admin's password";
const ALERTMANAGER: &str = "
route:
  receiver: nowhere
receivers:
  - name: nowhere
";

/// Who may call a route, as `/api/v1/admin/routes` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    Viewer,
    Editor,
    Admin,
}

/// One route: its method and declared path, who may call it, the path called (parameters filled in), the
/// body sent, and the status of an allowed call.
struct Route {
    method: &'static str,
    path: &'static str,
    needs: Needs,
    called: &'static str,
    body: Body,
    allowed: u16,
}

/// What a call sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Nothing,
    /// `{}`, as JSON.
    EmptyObject,
    /// An empty form, as Prometheus's query API takes its parameters in a POST.
    EmptyForm,
}

/// A route called at its own path, with `{}` when it is a POST or PATCH.
const fn route(method: &'static str, path: &'static str, needs: Needs, allowed: u16) -> Route {
    route_at(method, path, needs, path, allowed)
}

const fn route_at(
    method: &'static str,
    path: &'static str,
    needs: Needs,
    called: &'static str,
    allowed: u16,
) -> Route {
    let body = match method.as_bytes() {
        b"POST" | b"PATCH" => Body::EmptyObject,
        _ => Body::Nothing,
    };
    Route { method, path, needs, called, body, allowed }
}

/// A POST of Prometheus's query API, with an empty form.
const fn form_route(path: &'static str, called: &'static str, allowed: u16) -> Route {
    Route { method: "POST", path, needs: Needs::Viewer, called, body: Body::EmptyForm, allowed }
}

/// Every route of a daemon with notifications configured. Logging out comes last: it ends the session.
const ROUTES: &[Route] = &[
    route("GET", "/healthz", Needs::Nothing, 200),
    route("GET", "/readyz", Needs::Nothing, 200),
    route("GET", "/metrics", Needs::Nothing, 200),
    route("POST", "/api/v1/auth/login", Needs::Nothing, 400),
    route("GET", "/api/v1/auth/me", Needs::Viewer, 200),
    route("POST", "/api/v1/auth/password", Needs::Viewer, 400),
    route("POST", "/api/v1/sql", Needs::Viewer, 400),
    route_at("GET", "/api/v1/query", Needs::Viewer, "/api/v1/query?query=1", 200),
    form_route("/api/v1/query", "/api/v1/query", 400),
    route("GET", "/api/v1/query_range", Needs::Viewer, 400),
    form_route("/api/v1/query_range", "/api/v1/query_range", 400),
    route("GET", "/api/v1/series", Needs::Viewer, 400),
    form_route("/api/v1/series", "/api/v1/series", 400),
    route("GET", "/api/v1/labels", Needs::Viewer, 200),
    form_route("/api/v1/labels", "/api/v1/labels", 200),
    route_at("GET", "/api/v1/label/{name}/values", Needs::Viewer, "/api/v1/label/job/values", 200),
    form_route("/api/v1/label/{name}/values", "/api/v1/label/job/values", 200),
    route("GET", "/api/v1/metadata", Needs::Viewer, 200),
    route("GET", "/api/v1/rules", Needs::Viewer, 200),
    route("GET", "/api/v1/alerts", Needs::Viewer, 200),
    route("POST", "/api/v1/rules/backtest", Needs::Viewer, 400),
    route("GET", "/api/v2/alerts", Needs::Viewer, 200),
    route("POST", "/api/v2/alerts", Needs::Editor, 400),
    route("GET", "/api/v2/silences", Needs::Viewer, 200),
    route("POST", "/api/v2/silences", Needs::Editor, 400),
    route_at("GET", "/api/v2/silence/{id}", Needs::Viewer, "/api/v2/silence/no-such-id", 404),
    route_at("DELETE", "/api/v2/silence/{id}", Needs::Editor, "/api/v2/silence/no-such-id", 404),
    route("GET", "/api/v2/receivers", Needs::Viewer, 200),
    route("GET", "/api/v2/status", Needs::Admin, 200),
    route("GET", "/api/v1/notifications/dead_letters", Needs::Viewer, 200),
    route_at(
        "POST",
        "/api/v1/notifications/dead_letters/{id}/replay",
        Needs::Editor,
        "/api/v1/notifications/dead_letters/999/replay",
        404,
    ),
    route("GET", "/api/v1/tokens", Needs::Viewer, 200),
    route("POST", "/api/v1/tokens", Needs::Viewer, 400),
    route_at("DELETE", "/api/v1/tokens/{id}", Needs::Viewer, "/api/v1/tokens/999", 404),
    route("GET", "/api/v1/admin/tokens", Needs::Admin, 200),
    route_at("DELETE", "/api/v1/admin/tokens/{id}", Needs::Admin, "/api/v1/admin/tokens/999", 404),
    route("GET", "/api/v1/admin/users", Needs::Admin, 200),
    route("POST", "/api/v1/admin/users", Needs::Admin, 400),
    route_at(
        "PATCH",
        "/api/v1/admin/users/{name}",
        Needs::Admin,
        "/api/v1/admin/users/nobody",
        400,
    ),
    route_at(
        "DELETE",
        "/api/v1/admin/users/{name}",
        Needs::Admin,
        "/api/v1/admin/users/nobody",
        404,
    ),
    route("GET", "/api/v1/admin/audit", Needs::Admin, 200),
    route("GET", "/api/v1/admin/routes", Needs::Admin, 200),
    route("POST", "/api/v1/auth/logout", Needs::Viewer, 204),
];

/// A caller of the API.
#[derive(Debug, Clone)]
enum Caller {
    Anonymous,
    /// A browser session of a user with this role: the cookie and the CSRF token.
    Session {
        role: Needs,
        cookie: String,
        csrf_token: String,
    },
    AdminToken,
}

impl Caller {
    fn may_call(&self, needs: Needs) -> Result<(), u16> {
        let role = match self {
            _ if needs == Needs::Nothing => return Ok(()),
            Caller::Anonymous => return Err(401),
            Caller::AdminToken => Needs::Admin,
            Caller::Session { role, .. } => *role,
        };
        let rank = |needs| {
            [Needs::Nothing, Needs::Viewer, Needs::Editor, Needs::Admin]
                .iter()
                .position(|n| *n == needs)
        };
        if rank(role) >= rank(needs) { Ok(()) } else { Err(403) }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        method: Method,
        url: String,
    ) -> reqwest::RequestBuilder {
        let request = client.request(method, url);
        match self {
            Caller::Anonymous => request,
            Caller::AdminToken => request.bearer_auth(ADMIN_TOKEN),
            Caller::Session { cookie, csrf_token, .. } => {
                request.header("cookie", cookie).header("x-csrf-token", csrf_token)
            }
        }
    }
}

async fn log_in(
    daemon: &Daemon,
    client: &reqwest::Client,
    name: &str,
    password: &str,
    role: Needs,
) -> Caller {
    let response = client
        .post(daemon.api_url("/api/v1/auth/login"))
        .json(&json!({ "username": name, "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK, "{name} logs in");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie");
    let cookie = cookie.to_owned();
    let body: Value = response.json().await.expect("json");
    let csrf_token = body["csrf_token"].as_str().expect("csrf token").to_owned();
    Caller::Session { role, cookie, csrf_token }
}

async fn create_user(daemon: &Daemon, client: &reqwest::Client, name: &str, role: &str) {
    let response = client
        .post(daemon.api_url("/api/v1/admin/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "name": name, "password": format!("{name}'s password"), "role": role }))
        .send()
        .await
        .expect("create user");
    assert_eq!(response.status(), StatusCode::CREATED, "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_principal_exactly_as_its_access_rule_says() {
    let daemon = Daemon::start_with_files(
        json!({
            "notifications_file": "alertmanager.yml",
            "auth": { "admin_password": ADMIN_PASSWORD },
        }),
        &[("alertmanager.yml", ALERTMANAGER)],
    );
    let client = reqwest::Client::new();

    // The daemon's routes are exactly this test's.
    let served: Vec<Value> = client
        .get(daemon.api_url("/api/v1/admin/routes"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("routes")
        .json()
        .await
        .expect("json");
    let mut served: Vec<(String, String, Needs)> = served.iter().map(served_route).collect();
    let mut listed: Vec<(String, String, Needs)> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned(), r.needs)).collect();
    served.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    listed.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    for route in &served {
        assert!(
            listed.contains(route),
            "{route:?} is served but not listed here with what each caller gets"
        );
    }
    assert_eq!(served, listed, "routes listed here that the daemon does not serve");

    create_user(&daemon, &client, "vera", "viewer").await;
    create_user(&daemon, &client, "ed", "editor").await;
    let callers = [
        Caller::Anonymous,
        log_in(&daemon, &client, "vera", "vera's password", Needs::Viewer).await,
        log_in(&daemon, &client, "ed", "ed's password", Needs::Editor).await,
        log_in(&daemon, &client, "admin", ADMIN_PASSWORD, Needs::Admin).await,
        Caller::AdminToken,
    ];
    let mut wrong = Vec::new();
    for caller in &callers {
        for route in ROUTES {
            let method = Method::from_bytes(route.method.as_bytes()).expect("method");
            let mut request = caller.request(&client, method.clone(), daemon.api_url(route.called));
            request = match route.body {
                Body::Nothing => request,
                Body::EmptyObject => request.header("content-type", "application/json").body("{}"),
                Body::EmptyForm => {
                    request.header("content-type", "application/x-www-form-urlencoded").body("")
                }
            };
            let response = request.send().await.expect("request");
            let expected =
                caller.may_call(route.needs).map_or_else(|refused| refused, |()| route.allowed);
            if response.status().as_u16() != expected {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                wrong.push(format!(
                    "{caller:?} {} {}: {status}, expected {expected}: {body}",
                    route.method, route.called
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

fn served_route(route: &Value) -> (String, String, Needs) {
    let needs = match &route["access"] {
        Value::String(public) if public == "public" => Needs::Nothing,
        access => match access["role"].as_str() {
            Some("viewer") => Needs::Viewer,
            Some("editor") => Needs::Editor,
            Some("admin") => Needs::Admin,
            _ => panic!("unknown access rule {access}"),
        },
    };
    let text = |key: &str| route[key].as_str().expect("a string").to_owned();
    (text("method"), text("path"), needs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_and_their_expiry_are_in_the_audit_log_with_who_made_them() {
    let daemon = Daemon::start_with_files(
        json!({ "notifications_file": "alertmanager.yml" }),
        &[("alertmanager.yml", ALERTMANAGER)],
    );
    let client = reqwest::Client::new();
    create_user(&daemon, &client, "ed", "editor").await;
    let editor = log_in(&daemon, &client, "ed", "ed's password", Needs::Editor).await;
    let silence = json!({
        "matchers": [{ "name": "alertname", "value": "QueueLag", "isRegex": false, "isEqual": true }],
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "ed",
        "comment": "draining the queue",
    });
    let created: Value = editor
        .request(&client, Method::POST, daemon.api_url("/api/v2/silences"))
        .json(&silence)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["silenceID"].as_str().expect("an id").to_owned();
    let expired = editor
        .request(&client, Method::DELETE, daemon.api_url(&format!("/api/v2/silence/{id}")))
        .send()
        .await
        .expect("expire");
    assert_eq!(expired.status(), StatusCode::OK);

    let log: Vec<Value> = client
        .get(daemon.api_url("/api/v1/admin/audit?limit=2"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let entries: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap_or_default();
            (text("actor"), text("action"), text("target"))
        })
        .collect();
    assert_eq!(
        entries,
        [("ed", "silence_expired", id.as_str()), ("ed", "silence_created", id.as_str())]
    );
    let detail = log[1]["detail"].as_str().expect("detail");
    assert!(detail.contains("QueueLag") && detail.contains("draining the queue"), "{detail}");
}
