//! Alertmanager's v2 API, so that `amtool` and Alertmanager clients work against sightline: alerts (listed
//! with their receivers, silences and inhibitions; posted by other Prometheus servers), silences (list,
//! create or update, get, expire), receivers and status. sightline's own view of deliveries is in
//! [`notifications`], served with these routes.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sightline_rules::notify::delivery::Delivery;
use sightline_rules::notify::dispatch::Alert;
use sightline_rules::notify::matcher::{Matcher, all_match, parse_matchers};
use sightline_rules::notify::notifier::{AlertStatus, Notifier};
use sightline_rules::notify::outbox::Outbox;
use sightline_rules::notify::silence::{Silence, SilenceError, SilenceMatcher};
use sightline_rules::promql::Labels;
use sightline_storage::ServiceScope;

use super::scope::{alert_visible, silence_confined};
use super::{Access, ApiError, Routes, blocking, notifications};
use crate::auth::{AuthStore, Principal, Role};

/// How long a posted alert without an end holds without news (Alertmanager's `resolve_timeout` default).
const RESOLVE_TIMEOUT_MS: i64 = 5 * 60 * 1000;

/// What the notification endpoints need.
#[derive(Debug, Clone)]
pub struct NotificationsApi {
    pub notifier: Notifier,
    pub outbox: Arc<Outbox>,
    pub delivery: Delivery,
    /// The receivers' names, in configuration order.
    pub receivers: Vec<String>,
    /// The notification configuration as written with its secrets replaced by `<secret>`, for
    /// `/api/v2/status`.
    pub config_text: String,
    pub started: DateTime<Utc>,
    pub clock: fn() -> i64,
}

/// The state of the notification routes: the notifications, and the audit log that records changes to them.
#[derive(Debug, Clone)]
pub(super) struct NotificationsState {
    pub(super) api: NotificationsApi,
    pub(super) auth: Arc<AuthStore>,
}

impl FromRef<NotificationsState> for NotificationsApi {
    fn from_ref(state: &NotificationsState) -> NotificationsApi {
        state.api.clone()
    }
}

impl FromRef<NotificationsState> for Arc<AuthStore> {
    fn from_ref(state: &NotificationsState) -> Arc<AuthStore> {
        Arc::clone(&state.auth)
    }
}

pub(super) fn routes() -> Routes<NotificationsState> {
    // Alerts and silences are shown and changed within the principal's services (`super::scope`).
    const VIEWER: Access = Access::Role(Role::Viewer);
    const EDITOR: Access = Access::Role(Role::Editor);
    // Posted alerts and notifications (whose messages carry any service's alerts) are for those who may see
    // every service.
    const EVERY_SERVICE_VIEWER: Access = Access::EveryService(Role::Viewer);
    const EVERY_SERVICE_EDITOR: Access = Access::EveryService(Role::Editor);
    Routes::default()
        .add(Method::GET, "/api/v2/alerts", VIEWER, list_alerts)
        // Other Prometheus servers post their alerts here: that starts notifications.
        .add(Method::POST, "/api/v2/alerts", EVERY_SERVICE_EDITOR, post_alerts)
        .add(Method::GET, "/api/v2/silences", VIEWER, list_silences)
        .add(Method::POST, "/api/v2/silences", EDITOR, post_silence)
        .add(Method::GET, "/api/v2/silence/{id}", VIEWER, get_silence)
        .add(Method::DELETE, "/api/v2/silence/{id}", EDITOR, expire_silence)
        .add(Method::GET, "/api/v2/receivers", VIEWER, receivers)
        // The notification configuration (secrets replaced) is a setting: admins only.
        .add(Method::GET, "/api/v2/status", Access::Role(Role::Admin), status)
        .add(
            Method::GET,
            "/api/v1/notifications/deliveries",
            EVERY_SERVICE_VIEWER,
            notifications::deliveries,
        )
        .add(
            Method::GET,
            "/api/v1/notifications/integrations",
            EVERY_SERVICE_VIEWER,
            notifications::integrations,
        )
        .add(
            Method::GET,
            "/api/v1/notifications/dead_letters",
            EVERY_SERVICE_VIEWER,
            notifications::dead_letters,
        )
        .add(
            Method::POST,
            "/api/v1/notifications/dead_letters/{id}/replay",
            EVERY_SERVICE_EDITOR,
            notifications::replay,
        )
        .add(
            Method::POST,
            "/api/v1/notifications/receivers/{name}/test",
            EVERY_SERVICE_EDITOR,
            notifications::send_test,
        )
}

/// The filters of `GET /api/v2/alerts`.
#[derive(Debug)]
struct AlertFilters {
    active: bool,
    silenced: bool,
    inhibited: bool,
    filter: Vec<String>,
    receiver: Option<String>,
}

async fn list_alerts(
    State(api): State<NotificationsApi>,
    Extension(principal): Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let filters = alert_filters(pairs)?;
    let matchers = parse_filter(&filters.filter)?;
    let receiver = match &filters.receiver {
        Some(pattern) => Some(
            regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|error| ApiError::bad_request(format!("receiver: {error}")))?,
        ),
        None => None,
    };
    let now = (api.clock)();
    let notifier = api.notifier.clone();
    let mut alerts = blocking(move || notifier.alerts(now)).await?;
    alerts.retain(|status| alert_visible(&principal.scope, &status.alert.labels));
    let mutes = match principal.scope {
        ServiceScope::All => None,
        ServiceScope::Only(_) => Some(visible_mutes(&api, &principal.scope, &alerts).await?),
    };
    let shown: Vec<Json> = alerts
        .iter()
        .filter(|status| all_match(&matchers, &status.alert.labels))
        .filter(|status| {
            receiver.as_ref().is_none_or(|r| status.receivers.iter().any(|name| r.is_match(name)))
        })
        .filter(|status| {
            let silenced = !status.silenced_by.is_empty();
            let inhibited = !status.inhibited_by.is_empty();
            (filters.silenced || !silenced)
                && (filters.inhibited || !inhibited)
                && (filters.active || silenced || inhibited)
        })
        .filter(|status| status.alert.ended_at_ms(now).is_none())
        .map(|status| gettable_alert(status, now, mutes.as_ref()))
        .collect();
    Ok(json_response(StatusCode::OK, &Json::Array(shown)))
}

/// The silences (ids) and alerts (fingerprints) that a user limited to some services may see named as what
/// mutes an alert: silences confined to their services, and their alerts. The others would be ids that answer
/// them 404; the alert's state still says that it is muted.
struct VisibleMutes {
    silences: HashSet<String>,
    alerts: HashSet<String>,
}

async fn visible_mutes(
    api: &NotificationsApi,
    scope: &ServiceScope,
    alerts: &[AlertStatus],
) -> Result<VisibleMutes, ApiError> {
    let store = Arc::clone(api.notifier.silences());
    let silences = blocking(move || store.list()).await?;
    Ok(VisibleMutes {
        silences: silences
            .into_iter()
            .filter(|silence| silence_confined(scope, &silence.matchers))
            .map(|silence| silence.id)
            .collect(),
        alerts: alerts
            .iter()
            .map(|status| format!("{:016x}", status.alert.fingerprint()))
            .collect(),
    })
}

/// Query pairs into filters; repeated `filter` values add up.
fn alert_filters(pairs: Vec<(String, String)>) -> Result<AlertFilters, ApiError> {
    let mut filters = AlertFilters {
        active: true,
        silenced: true,
        inhibited: true,
        filter: Vec::new(),
        receiver: None,
    };
    let flag = |name: &str, value: &str| match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_request(format!("{name}: {value:?} is not true or false"))),
    };
    for (name, value) in pairs {
        match name.as_str() {
            "active" => filters.active = flag(&name, &value)?,
            "silenced" => filters.silenced = flag(&name, &value)?,
            "inhibited" => filters.inhibited = flag(&name, &value)?,
            "unprocessed" => {
                flag(&name, &value)?;
            }
            "filter" => filters.filter.push(value),
            "receiver" => filters.receiver = Some(value),
            _ => {}
        }
    }
    Ok(filters)
}

fn parse_filter(filters: &[String]) -> Result<Vec<Matcher>, ApiError> {
    let mut matchers = Vec::new();
    for filter in filters {
        matchers.extend(parse_matchers(filter).map_err(ApiError::bad_request)?);
    }
    Ok(matchers)
}

fn gettable_alert(status: &AlertStatus, now: i64, visible: Option<&VisibleMutes>) -> Json {
    let alert = &status.alert;
    let state = if status.silenced_by.is_empty() && status.inhibited_by.is_empty() {
        "active"
    } else {
        "suppressed"
    };
    let shown = |ids: &[String], visible_ids: Option<&HashSet<String>>| -> Vec<String> {
        ids.iter().filter(|id| visible_ids.is_none_or(|set| set.contains(*id))).cloned().collect()
    };
    let silenced_by = shown(&status.silenced_by, visible.map(|v| &v.silences));
    let inhibited_by = shown(&status.inhibited_by, visible.map(|v| &v.alerts));
    let ends_at = alert.ended_at_ms(now).unwrap_or(alert.valid_until_ms);
    json!({
        "labels": labels_json(&alert.labels),
        "annotations": labels_json(&alert.annotations),
        "startsAt": rfc3339(alert.starts_at_ms),
        "endsAt": rfc3339(ends_at),
        "updatedAt": rfc3339(now),
        "generatorURL": alert.generator_url,
        "fingerprint": format!("{:016x}", alert.fingerprint()),
        "receivers": status.receivers.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
        "status": {
            "state": state,
            "silencedBy": silenced_by,
            "inhibitedBy": inhibited_by,
            "mutedBy": [],
        },
    })
}

/// One alert of `POST /api/v2/alerts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert {
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
}

/// Alerts from another Prometheus server or a script (`amtool alert add`): Alertmanager's rules for missing
/// times (a missing start is now, a missing end holds for `resolve_timeout`); an end in the past resolves.
async fn post_alerts(
    State(api): State<NotificationsApi>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let posted: Vec<PostableAlert> = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(format!("the body is not a list of alerts: {error}"))
    })?;
    let now = (api.clock)();
    let mut alerts = Vec::with_capacity(posted.len());
    for (index, alert) in posted.into_iter().enumerate() {
        let labels = Labels::new(alert.labels);
        if labels.is_empty() {
            return Err(ApiError::bad_request(format!(
                "alert {index}: at least one label is required"
            )));
        }
        let time = |field: &str, text: &Option<String>| -> Result<Option<i64>, ApiError> {
            text.as_deref()
                .filter(|text| !text.is_empty() && !text.starts_with("0001-01-01"))
                .map(|text| {
                    DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).map_err(
                        |error| {
                            ApiError::bad_request(format!(
                                "alert {index}: {field} {text:?}: {error}"
                            ))
                        },
                    )
                })
                .transpose()
        };
        let starts_at_ms = time("startsAt", &alert.starts_at)?.unwrap_or(now);
        let ends_at = time("endsAt", &alert.ends_at)?;
        if ends_at.is_some_and(|end| end < starts_at_ms) {
            return Err(ApiError::bad_request(format!("alert {index}: endsAt is before startsAt")));
        }
        alerts.push(Alert {
            labels,
            annotations: Labels::new(alert.annotations),
            starts_at_ms,
            resolved_at_ms: ends_at.filter(|end| *end <= now),
            valid_until_ms: ends_at.unwrap_or(now + RESOLVE_TIMEOUT_MS),
            generator_url: alert.generator_url,
        });
    }
    api.notifier.send(alerts);
    Ok(StatusCode::OK.into_response())
}

async fn list_silences(
    State(api): State<NotificationsApi>,
    Extension(principal): Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let filters: Vec<String> =
        pairs.into_iter().filter(|(name, _)| name == "filter").map(|(_, value)| value).collect();
    let matchers = parse_filter(&filters)?;
    let store = Arc::clone(api.notifier.silences());
    let silences = blocking(move || store.list()).await?;
    let now = (api.clock)();
    let shown: Vec<Json> = silences
        .iter()
        .filter(|silence| silence_confined(&principal.scope, &silence.matchers))
        .filter(|silence| {
            // Alertmanager matches the filter against the silence's equality matchers, read as labels.
            let labels = Labels::new(
                silence
                    .matchers
                    .iter()
                    .filter(|m| m.is_equal && !m.is_regex)
                    .map(|m| (m.name.clone(), m.value.clone())),
            );
            all_match(&matchers, &labels)
        })
        .map(|silence| gettable_silence(silence, now))
        .collect();
    Ok(json_response(StatusCode::OK, &Json::Array(shown)))
}

/// `POST /api/v2/silences`: a silence to create, or to update when it has an id.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<SilenceMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
}

async fn post_silence(
    State(api): State<NotificationsApi>,
    State(auth): State<Arc<AuthStore>>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let posted: PostableSilence = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("the body is not a silence: {error}")))?;
    let time = |field: &str, text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .map_err(|error| ApiError::bad_request(format!("{field} {text:?}: {error}")))
    };
    let silence = Silence {
        id: posted.id,
        matchers: posted.matchers,
        starts_at_ms: time("startsAt", &posted.starts_at)?,
        ends_at_ms: time("endsAt", &posted.ends_at)?,
        created_by: posted.created_by,
        comment: posted.comment,
        updated_at_ms: 0,
    };
    if !silence_confined(&principal.scope, &silence.matchers) {
        return Err(ApiError::forbidden(
            "you may silence only your services' alerts: add the matcher service_name=\"<service>\" for one \
             of them (or service_name=\"\" and job=\"<service>\")",
        ));
    }
    if !silence.id.is_empty() {
        visible_silence(&api, &principal, silence.id.clone()).await?;
    }
    let action = if silence.id.is_empty() { "silence_created" } else { "silence_updated" };
    let detail = format!(
        "{} until {}: {}",
        serde_json::to_string(&silence.matchers).unwrap_or_default(),
        posted.ends_at,
        silence.comment
    );
    let now = (api.clock)();
    let store = Arc::clone(api.notifier.silences());
    let id = blocking(move || store.save(silence, now)).await?;
    audit(&auth, &principal, action, &id, Some(detail)).await;
    Ok(json_response(StatusCode::OK, &json!({ "silenceID": id })))
}

async fn get_silence(
    State(api): State<NotificationsApi>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let silence = visible_silence(&api, &principal, id).await?;
    Ok(json_response(StatusCode::OK, &gettable_silence(&silence, (api.clock)())))
}

/// The silence `id`, if `principal` may see it: one that could mute another service's alerts is, to a user
/// limited to some services, not found.
async fn visible_silence(
    api: &NotificationsApi,
    principal: &Principal,
    id: String,
) -> Result<Silence, ApiError> {
    let store = Arc::clone(api.notifier.silences());
    let lookup = id.clone();
    blocking(move || store.get(&lookup))
        .await?
        .filter(|silence| silence_confined(&principal.scope, &silence.matchers))
        .ok_or_else(|| ApiError::not_found(format!("silence {id} not found")))
}

async fn expire_silence(
    State(api): State<NotificationsApi>,
    State(auth): State<Arc<AuthStore>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    visible_silence(&api, &principal, id.clone()).await?;
    let store = Arc::clone(api.notifier.silences());
    let now = (api.clock)();
    let expired = id.clone();
    blocking(move || store.expire(&expired, now)).await?;
    audit(&auth, &principal, "silence_expired", &id, None).await;
    Ok(StatusCode::OK.into_response())
}

fn gettable_silence(silence: &Silence, now: i64) -> Json {
    json!({
        "id": silence.id,
        "status": { "state": silence.state(now).name() },
        "updatedAt": rfc3339(silence.updated_at_ms),
        "matchers": silence.matchers,
        "startsAt": rfc3339(silence.starts_at_ms),
        "endsAt": rfc3339(silence.ends_at_ms),
        "createdBy": silence.created_by,
        "comment": silence.comment,
    })
}

async fn receivers(State(api): State<NotificationsApi>) -> Response {
    let names: Vec<Json> = api.receivers.iter().map(|name| json!({ "name": name })).collect();
    json_response(StatusCode::OK, &Json::Array(names))
}

async fn status(State(api): State<NotificationsApi>) -> Response {
    let body = json!({
        "cluster": { "name": "", "status": "disabled", "peers": [] },
        "config": { "original": api.config_text },
        "uptime": api.started.to_rfc3339_opts(SecondsFormat::Millis, true),
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
        },
    });
    json_response(StatusCode::OK, &body)
}

/// Records a change in the audit log. The change is made: a failure to record it is logged, not answered.
pub(super) async fn audit(
    auth: &Arc<AuthStore>,
    principal: &Principal,
    action: &'static str,
    target: &str,
    detail: Option<String>,
) {
    let (auth, actor, target) = (Arc::clone(auth), principal.name.clone(), target.to_owned());
    let recorded =
        blocking(move || auth.record(&actor, action, Some(&target), detail.as_deref())).await;
    if let Err(error) = recorded {
        tracing::error!(action, error = ?error, "the audit log could not record a change");
    }
}

impl From<SilenceError> for ApiError {
    fn from(error: SilenceError) -> ApiError {
        match error {
            SilenceError::Invalid(_) | SilenceError::AlreadyExpired(_) => {
                ApiError::bad_request(error.to_string())
            }
            SilenceError::NotFound(_) => ApiError::not_found(error.to_string()),
            SilenceError::Database { .. } => ApiError::internal(&error),
        }
    }
}

impl From<sightline_rules::notify::outbox::OutboxError> for ApiError {
    fn from(error: sightline_rules::notify::outbox::OutboxError) -> ApiError {
        ApiError::internal(&error)
    }
}

fn labels_json(labels: &Labels) -> Json {
    labels.iter().map(|(name, value)| (name.to_owned(), Json::from(value))).collect()
}

pub(super) fn rfc3339(ms: i64) -> String {
    sightline_rules::notify::message::rfc3339(ms)
}

pub(super) fn json_response(status: StatusCode, body: &Json) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
