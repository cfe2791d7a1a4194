//! Every route of the API, called by every kind of principal, answers exactly the status its access rule says.
//! The routes come from the daemon itself (`/api/v1/admin/routes`), so a route added without being listed
//! here, with the statuses each principal must get, fails this test.

use prost::Message;
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
    /// Whether the route answers every service's data, so that callers limited to some services are refused.
    every_service: bool,
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
        b"POST" | b"PATCH" | b"PUT" => Body::EmptyObject,
        _ => Body::Nothing,
    };
    Route { method, path, needs, every_service: false, called, body, allowed }
}

/// The same route, showing every service's data.
const fn every_service(route: Route) -> Route {
    Route { every_service: true, ..route }
}

/// A POST of Prometheus's query API, with an empty form.
const fn form_route(path: &'static str, called: &'static str, allowed: u16) -> Route {
    Route { body: Body::EmptyForm, ..route_at("POST", path, Needs::Viewer, called, allowed) }
}

/// Every route of a daemon with notifications configured. Logging out comes last: it ends the session.
const ROUTES: &[Route] = &[
    route("GET", "/healthz", Needs::Nothing, 200),
    route("GET", "/readyz", Needs::Nothing, 200),
    route("GET", "/metrics", Needs::Nothing, 200),
    route("POST", "/api/v1/auth/login", Needs::Nothing, 400),
    route("GET", "/api/v1/auth/oidc", Needs::Nothing, 200),
    // Single sign-on is not configured here.
    route("GET", "/api/v1/auth/oidc/login", Needs::Nothing, 404),
    route("GET", "/api/v1/auth/oidc/callback", Needs::Nothing, 404),
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
    every_service(route("GET", "/api/v1/metadata", Needs::Viewer, 200)),
    route("GET", "/api/v1/rules", Needs::Viewer, 200),
    route("GET", "/api/v1/alerts", Needs::Viewer, 200),
    every_service(route("POST", "/api/v1/rules/backtest", Needs::Viewer, 400)),
    every_service(route("GET", "/api/v1/redaction", Needs::Viewer, 200)),
    route("GET", "/api/v2/alerts", Needs::Viewer, 200),
    every_service(route("POST", "/api/v2/alerts", Needs::Editor, 400)),
    route("GET", "/api/v2/silences", Needs::Viewer, 200),
    route("POST", "/api/v2/silences", Needs::Editor, 400),
    route_at("GET", "/api/v2/silence/{id}", Needs::Viewer, "/api/v2/silence/no-such-id", 404),
    route_at("DELETE", "/api/v2/silence/{id}", Needs::Editor, "/api/v2/silence/no-such-id", 404),
    route("GET", "/api/v2/receivers", Needs::Viewer, 200),
    route("GET", "/api/v2/status", Needs::Admin, 200),
    every_service(route("GET", "/api/v1/notifications/deliveries", Needs::Viewer, 200)),
    every_service(route("GET", "/api/v1/notifications/integrations", Needs::Viewer, 200)),
    every_service(route("GET", "/api/v1/notifications/dead_letters", Needs::Viewer, 200)),
    every_service(route_at(
        "POST",
        "/api/v1/notifications/dead_letters/{id}/replay",
        Needs::Editor,
        "/api/v1/notifications/dead_letters/999/replay",
        404,
    )),
    every_service(route_at(
        "POST",
        "/api/v1/notifications/receivers/{name}/test",
        Needs::Editor,
        "/api/v1/notifications/receivers/no-such-receiver/test",
        404,
    )),
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
    route("GET", "/api/v1/admin/teams", Needs::Admin, 200),
    route_at("PUT", "/api/v1/admin/teams/{name}", Needs::Admin, "/api/v1/admin/teams/ops", 400),
    route_at(
        "DELETE",
        "/api/v1/admin/teams/{name}",
        Needs::Admin,
        "/api/v1/admin/teams/nobody",
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
    /// A browser session of a user with this role (limited to some services when `scoped`): the cookie and
    /// the CSRF token.
    Session {
        role: Needs,
        scoped: bool,
        cookie: String,
        csrf_token: String,
    },
    AdminToken,
}

impl Caller {
    /// The status that refuses this caller `route`, if it does.
    fn refusal(&self, route: &Route) -> Option<u16> {
        let (role, scoped) = match self {
            _ if route.needs == Needs::Nothing => return None,
            Caller::Anonymous => return Some(401),
            Caller::AdminToken => (Needs::Admin, false),
            Caller::Session { role, scoped, .. } => (*role, *scoped),
        };
        let rank = |needs| {
            [Needs::Nothing, Needs::Viewer, Needs::Editor, Needs::Admin]
                .iter()
                .position(|n| *n == needs)
        };
        let refused = rank(role) < rank(route.needs) || (scoped && route.every_service);
        refused.then_some(403)
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

/// Logs `name` in with the password `<name>'s password` (or `password`).
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
    Caller::Session { role, scoped: false, cookie, csrf_token }
}

/// Creates `name` with the password `<name>'s password`, limited to `scopes` if any.
async fn create_user(
    daemon: &Daemon,
    client: &reqwest::Client,
    name: &str,
    role: &str,
    scopes: &[&str],
) {
    let password = format!("{name}'s password");
    let response = client
        .post(daemon.api_url("/api/v1/admin/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "name": name, "password": password, "role": role, "scopes": scopes }))
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
    let mut served: Vec<ServedRoute> = served.iter().map(served_route).collect();
    let mut listed: Vec<ServedRoute> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned(), r.needs, r.every_service))
        .collect();
    served.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    listed.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    for route in &served {
        assert!(
            listed.contains(route),
            "{route:?} is served but not listed here with what each caller gets"
        );
    }
    assert_eq!(served, listed, "routes listed here that the daemon does not serve");

    create_user(&daemon, &client, "vera", "viewer", &[]).await;
    create_user(&daemon, &client, "ed", "editor", &[]).await;
    create_user(&daemon, &client, "sam", "editor", &["checkout"]).await;
    let mut sam = log_in(&daemon, &client, "sam", "sam's password", Needs::Editor).await;
    if let Caller::Session { scoped, .. } = &mut sam {
        *scoped = true;
    }
    let callers = [
        Caller::Anonymous,
        sam,
        log_in(&daemon, &client, "vera", "vera's password", Needs::Viewer).await,
        log_in(&daemon, &client, "ed", "ed's password", Needs::Editor).await,
        log_in(&daemon, &client, "admin", ADMIN_PASSWORD, Needs::Admin).await,
        Caller::AdminToken,
    ];
    let mut wrong = Vec::new();
    for caller in &callers {
        for route in ROUTES {
            let method = Method::from_bytes(route.method.as_bytes()).expect("method");
            let mut request = caller.request(&client, method, daemon.api_url(route.called));
            request = match route.body {
                Body::Nothing => request,
                Body::EmptyObject => request.header("content-type", "application/json").body("{}"),
                Body::EmptyForm => {
                    request.header("content-type", "application/x-www-form-urlencoded").body("")
                }
            };
            let response = request.send().await.expect("request");
            let expected = caller.refusal(route).unwrap_or(route.allowed);
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

/// A route as `/api/v1/admin/routes` lists it: method, path, role needed, whether it shows every service.
type ServedRoute = (String, String, Needs, bool);

fn served_route(route: &Value) -> ServedRoute {
    let access = &route["access"];
    let (role, every_service) = match access {
        Value::String(public) if public == "public" => (None, false),
        _ if access["role"].is_string() => (access["role"].as_str(), false),
        _ => (access["every_service"].as_str(), true),
    };
    let needs = match role {
        None => Needs::Nothing,
        Some("viewer") => Needs::Viewer,
        Some("editor") => Needs::Editor,
        Some("admin") => Needs::Admin,
        Some(other) => panic!("unknown role {other} in {access}"),
    };
    let text = |key: &str| route[key].as_str().expect("a string").to_owned();
    (text("method"), text("path"), needs, every_service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_and_their_expiry_are_in_the_audit_log_with_who_made_them() {
    let daemon = Daemon::start_with_files(
        json!({ "notifications_file": "alertmanager.yml" }),
        &[("alertmanager.yml", ALERTMANAGER)],
    );
    let client = reqwest::Client::new();
    create_user(&daemon, &client, "ed", "editor", &[]).await;
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

const SERVICE_RULES: &str = "
groups:
  - name: services
    interval: 200ms
    rules:
      - alert: CheckoutDown
        expr: vector(1)
        labels: { service_name: checkout }
      - alert: PaymentsDown
        expr: vector(1)
        labels: { service_name: payments }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_limited_to_some_services_sees_and_silences_only_their_alerts() {
    let daemon = Daemon::start_with_files(
        json!({ "notifications_file": "alertmanager.yml", "rule_files": ["rules.yaml"] }),
        &[("alertmanager.yml", ALERTMANAGER), ("rules.yaml", SERVICE_RULES)],
    );
    let client = reqwest::Client::new();
    create_user(&daemon, &client, "sam", "editor", &["checkout"]).await;
    let sam = log_in(&daemon, &client, "sam", "sam's password", Needs::Editor).await;
    let get = |caller: &Caller, path: &str| {
        let request = caller.request(&client, Method::GET, daemon.api_url(path));
        let path = path.to_owned();
        async move {
            let response = request.send().await.expect("get");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.json::<Value>().await.expect("json")
        }
    };
    let services = |alerts: &Value| -> Vec<String> {
        let mut names: Vec<String> = alerts
            .as_array()
            .expect("alerts")
            .iter()
            .map(|alert| alert["labels"]["service_name"].as_str().unwrap_or("?").to_owned())
            .collect();
        names.sort();
        names
    };

    let mut both_fire = false;
    for _ in 0..100 {
        let all = get(&Caller::AdminToken, "/api/v2/alerts").await;
        if services(&all) == ["checkout", "payments"] {
            both_fire = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(both_fire, "both rules' alerts reach the Alertmanager API");
    assert_eq!(services(&get(&sam, "/api/v2/alerts").await), ["checkout"]);
    assert_eq!(services(&get(&sam, "/api/v1/alerts").await["data"]["alerts"]), ["checkout"]);
    let rules = get(&sam, "/api/v1/rules").await;
    let states: Vec<(&str, &str)> = rules["data"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|rule| (rule["name"].as_str().unwrap_or("?"), rule["state"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(states, [("CheckoutDown", "firing"), ("PaymentsDown", "inactive")]);
    // How many series an evaluation found counts every service's: it is not shown to sam.
    let evaluation = &rules["data"]["groups"][0]["rules"][1]["evaluations"][0];
    assert_eq!(evaluation["results"], Value::Null, "{evaluation}");

    let silence = |service: &str| {
        json!({
            "matchers": [{ "name": "service_name", "value": service, "isRegex": false, "isEqual": true }],
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "sam",
            "comment": "deploying",
        })
    };
    let post = |caller: &Caller, body: Value| {
        let request =
            caller.request(&client, Method::POST, daemon.api_url("/api/v2/silences")).json(&body);
        async move { request.send().await.expect("post silence") }
    };
    let refused = post(&sam, silence("payments")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let created = post(&sam, silence("checkout")).await;
    assert_eq!(created.status(), StatusCode::OK);
    let own: Value = created.json().await.expect("json");
    let theirs: Value =
        post(&Caller::AdminToken, silence("payments")).await.json().await.expect("json");
    let theirs = theirs["silenceID"].as_str().expect("an id");

    let listed: Vec<Value> =
        get(&sam, "/api/v2/silences").await.as_array().expect("silences").to_vec();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], own["silenceID"]);
    assert_eq!(
        get(&Caller::AdminToken, "/api/v2/silences").await.as_array().map(Vec::len),
        Some(2)
    );
    let other = daemon.api_url(&format!("/api/v2/silence/{theirs}"));
    for method in [Method::GET, Method::DELETE] {
        let response =
            sam.request(&client, method.clone(), other.clone()).send().await.expect("call");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} another service's silence");
    }
    let mut update = silence("checkout");
    update["id"] = json!(theirs);
    assert_eq!(post(&sam, update).await.status(), StatusCode::NOT_FOUND);

    // An admin's silence by alert name also mutes sam's alert: sam sees it muted, but only by what sam may
    // look up.
    let mut by_name = silence("ignored");
    by_name["matchers"] = json!([{ "name": "alertname", "value": "CheckoutDown", "isRegex": false, "isEqual": true }]);
    assert_eq!(post(&Caller::AdminToken, by_name).await.status(), StatusCode::OK);
    let seen = get(&sam, "/api/v2/alerts").await;
    let status = &seen[0]["status"];
    assert_eq!(status["state"], "suppressed", "{seen}");
    assert_eq!(status["silencedBy"], json!([own["silenceID"]]), "{seen}");
    let all =
        get(&Caller::AdminToken, "/api/v2/alerts?filter=alertname%3D%22CheckoutDown%22").await;
    assert_eq!(all[0]["status"]["silencedBy"].as_array().map(Vec::len), Some(2), "{all}");
}

/// Sends an OTLP/HTTP protobuf export to `path` and expects it accepted.
async fn export(daemon: &Daemon, client: &reqwest::Client, path: &str, body: Vec<u8>) {
    let response = client
        .post(daemon.http_url(path))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_limited_to_some_services_reads_only_their_rows_through_sql() {
    let daemon = Daemon::start();
    let client = reqwest::Client::new();
    for service in ["checkout", "payments"] {
        let mut request = crate::payloads::logs_request(2);
        request.resource_logs[0].resource = Some(crate::payloads::resource(service));
        export(&daemon, &client, "/v1/logs", request.encode_to_vec()).await;
    }
    create_user(&daemon, &client, "sam", "viewer", &["check*"]).await;
    let sam = log_in(&daemon, &client, "sam", "sam's password", Needs::Viewer).await;
    let sql = "SELECT service_name, count(*) AS n FROM logs GROUP BY service_name \
               UNION ALL SELECT service_name, count(*) FROM logs WHERE service_name = 'payments' GROUP BY 1";
    let answer: Value = sam
        .request(&client, Method::POST, daemon.api_url("/api/v1/sql"))
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .expect("sql")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["rows"], json!([["checkout", 2]]), "{answer}");
    let (_, everyone) = daemon.sql("SELECT count(*) FROM logs").await;
    assert_eq!(everyone["rows"], json!([[4]]), "the admin token sees every service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_limited_to_some_services_aggregates_only_their_series_in_promql() {
    let daemon = Daemon::start();
    let client = reqwest::Client::new();
    for service in ["checkout", "payments"] {
        let mut request = crate::payloads::metrics_request();
        request.resource_metrics[0].resource = Some(crate::payloads::resource(service));
        export(&daemon, &client, "/v1/metrics", request.encode_to_vec()).await;
    }
    create_user(&daemon, &client, "sam", "viewer", &["checkout"]).await;
    let sam = log_in(&daemon, &client, "sam", "sam's password", Needs::Viewer).await;
    let time = (crate::payloads::T0 / 1_000_000_000).to_string();
    let query = |caller: Caller| {
        let client = client.clone();
        let url = daemon.api_url(&format!("/api/v1/query?query=sum(queue_depth)&time={time}"));
        async move {
            let answer: Value = caller
                .request(&client, Method::GET, url)
                .send()
                .await
                .expect("query")
                .json()
                .await
                .expect("json");
            answer["data"]["result"][0]["value"][1].clone()
        }
    };
    assert_eq!(query(sam).await, json!("12.5"), "checkout's series only");
    assert_eq!(query(Caller::AdminToken).await, json!("25"), "every service's");
}
