//! sightline's view of its notifications, beyond Alertmanager's API: the latest deliveries with their status
//! and errors, each integration's circuit breaker, the dead letters (notifications given up on) to replay,
//! and test notifications. Routes are added with the Alertmanager API's ([`super::alertmanager`]).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sightline_rules::notify::delivery::Breaker;
use sightline_rules::notify::outbox::{DeliveryRecord, OutboxEntry};

use super::alertmanager::{NotificationsApi, audit, json_response, rfc3339};
use super::{ApiError, blocking};
use crate::auth::{AuthStore, Principal};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryPage {
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// Older than this id: the `id` of the last delivery of the previous page.
    before: Option<i64>,
}

/// `GET /api/v1/notifications/deliveries`: the newest notifications first, pending, delivered or dead.
pub(super) async fn deliveries(
    State(api): State<NotificationsApi>,
    Query(page): Query<DeliveryPage>,
) -> Result<Response, ApiError> {
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let outbox = Arc::clone(&api.outbox);
    let records = blocking(move || outbox.recent(limit, page.before)).await?;
    let data: Vec<Json> = records.iter().map(delivery).collect();
    Ok(json_response(StatusCode::OK, &json!({ "status": "success", "data": data })))
}

fn delivery(record: &DeliveryRecord) -> Json {
    let mut json = entry_json(&record.entry);
    let message = &record.entry.message;
    let firing = message.alerts.iter().filter(|alert| alert.status == "firing").count();
    let extra = json!({
        "status": record.status.name(),
        "doneAt": record.done_ms.map(rfc3339),
        "nextAttemptAt": (record.done_ms.is_none()).then(|| rfc3339(record.entry.next_attempt_ms)),
        "groupLabels": message.group_labels,
        "firing": firing,
        "resolved": message.alerts.len() - firing,
    });
    if let (Json::Object(fields), Json::Object(extra)) = (&mut json, extra) {
        fields.extend(extra);
    }
    json
}

/// `GET /api/v1/notifications/integrations`: every receiver's integrations with their circuit breakers.
pub(super) async fn integrations(
    State(api): State<NotificationsApi>,
) -> Result<Response, ApiError> {
    let outbox = Arc::clone(&api.outbox);
    let (pending, dead) = blocking(move || outbox.counts()).await?;
    let integrations: Vec<Json> = api
        .delivery
        .breakers()
        .into_iter()
        .map(|(receiver, integration, breaker)| {
            let (state, failures, open_until) = match breaker {
                Breaker::Closed { failures } => ("closed", failures, None),
                Breaker::Open { until_ms } => ("open", 0, Some(rfc3339(until_ms))),
                Breaker::HalfOpen => ("half_open", 0, None),
            };
            json!({
                "receiver": receiver,
                "integration": integration,
                "breaker": state,
                "consecutiveFailures": failures,
                "openUntil": open_until,
            })
        })
        .collect();
    let data = json!({ "integrations": integrations, "pending": pending, "deadLetters": dead });
    Ok(json_response(StatusCode::OK, &json!({ "status": "success", "data": data })))
}

/// `GET /api/v1/notifications/dead_letters`: the notifications given up on, oldest first.
pub(super) async fn dead_letters(
    State(api): State<NotificationsApi>,
) -> Result<Response, ApiError> {
    let outbox = Arc::clone(&api.outbox);
    let letters = blocking(move || outbox.dead_letters()).await?;
    let data: Vec<Json> = letters.iter().map(entry_json).collect();
    Ok(json_response(StatusCode::OK, &json!({ "status": "success", "data": data })))
}

fn entry_json(entry: &OutboxEntry) -> Json {
    json!({
        "id": entry.id,
        "receiver": entry.receiver,
        "integration": entry.integration,
        "groupKey": entry.group_key,
        "attempts": entry.attempts,
        "lastError": entry.last_error,
        "createdAt": rfc3339(entry.created_ms),
        "firstAttemptAt": entry.first_attempt_ms.map(rfc3339),
        "message": entry.message,
    })
}

/// `POST /api/v1/notifications/dead_letters/{id}/replay`: the dead letter is due again, with a fresh retry
/// budget and its idempotency key.
pub(super) async fn replay(
    State(api): State<NotificationsApi>,
    State(auth): State<Arc<AuthStore>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let outbox = Arc::clone(&api.outbox);
    let now = (api.clock)();
    if blocking(move || outbox.replay(id, now)).await? {
        api.delivery.wake();
        audit(&auth, &principal, "dead_letter_replayed", &id.to_string(), None).await;
        Ok(json_response(StatusCode::OK, &json!({ "status": "success" })))
    } else {
        Err(ApiError::not_found(format!("dead letter {id} not found")))
    }
}

/// `POST /api/v1/notifications/receivers/{name}/test`: sends the test notification to each of the receiver's
/// integrations now and says what each answered (`200` either way: the request itself succeeded).
pub(super) async fn send_test(
    State(api): State<NotificationsApi>,
    State(auth): State<Arc<AuthStore>>,
    Extension(principal): Extension<Principal>,
    Path(receiver): Path<String>,
) -> Result<Response, ApiError> {
    let Some(outcomes) = api.delivery.send_test(&receiver).await else {
        return Err(ApiError::not_found(format!("no receiver {receiver:?}")));
    };
    let results: Vec<Json> = outcomes
        .iter()
        .map(|outcome| {
            json!({
                "integration": outcome.integration,
                "delivered": outcome.result.is_ok(),
                "error": outcome.result.as_ref().err(),
            })
        })
        .collect();
    let delivered = outcomes.iter().filter(|outcome| outcome.result.is_ok()).count();
    let detail = format!("{delivered} of {} integrations delivered", outcomes.len());
    audit(&auth, &principal, "test_notification_sent", &receiver, Some(detail)).await;
    Ok(json_response(StatusCode::OK, &json!({ "status": "success", "data": results })))
}
