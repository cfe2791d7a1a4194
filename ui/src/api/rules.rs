//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes, from the rule manager's last evaluations, plus
//! what sightline adds: each rule's recent evaluations, its failure policies and data state, and the load
//! errors of rule files whose last good version is still running; and `/api/v1/rules/backtest`, which replays
//! rules over the stored history.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sightline_rules::alerting::{Alert, AlertState};
use sightline_rules::backtest;
use sightline_rules::file;
use sightline_rules::group::{Evaluation, Group, Health};
use sightline_rules::manager::RuleStatus;
use sightline_rules::promql::Engine;
use sightline_rules::stored::{StoredMetrics, StoredSql};
use sightline_storage::ServiceScope;

use super::ApiState;
use super::prometheus::{PromError, metric, parse_time, success_data};
use super::scope::alert_visible;
use crate::auth::Principal;

/// The filters of `/api/v1/rules`, as Prometheus takes them.
#[derive(Debug, Default)]
struct RuleFilters {
    /// `type=alert` or `type=record`.
    kind: Option<String>,
    rule_names: Vec<String>,
    rule_groups: Vec<String>,
    files: Vec<String>,
    exclude_alerts: bool,
}

impl RuleFilters {
    fn parse(pairs: Vec<(String, String)>) -> RuleFilters {
        let mut filters = RuleFilters::default();
        for (name, value) in pairs {
            match name.as_str() {
                "type" => filters.kind = Some(value),
                "rule_name[]" => filters.rule_names.push(value),
                "rule_group[]" => filters.rule_groups.push(value),
                "file[]" => filters.files.push(value),
                "exclude_alerts" => filters.exclude_alerts = value == "true",
                _ => {}
            }
        }
        filters
    }

    fn keeps(&self, rule: &RuleStatus) -> bool {
        let kind_matches = match self.kind.as_deref() {
            Some("alert") => rule.kind == "alerting",
            Some("record") => rule.kind == "recording",
            _ => true,
        };
        kind_matches && (self.rule_names.is_empty() || self.rule_names.contains(&rule.name))
    }
}

/// Every rule is listed, but a user limited to some services sees only their services' alerts, and each
/// alerting rule's state is that of those alerts.
pub(super) async fn rules(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let filters = RuleFilters::parse(pairs);
    let groups: Vec<Json> = state
        .rules
        .groups()
        .iter()
        .filter(|group| filters.rule_groups.is_empty() || filters.rule_groups.contains(&group.name))
        .filter(|group| filters.files.is_empty() || filters.files.contains(&group.file))
        .filter_map(|group| {
            let rules: Vec<Json> = group
                .rules
                .iter()
                .filter(|rule| filters.keeps(rule))
                .map(|rule| rule_json(rule, &principal.scope, filters.exclude_alerts))
                .collect();
            // Prometheus leaves out the groups that filters emptied.
            let filtered = filters.kind.is_some() || !filters.rule_names.is_empty();
            (!(filtered && rules.is_empty())).then(|| {
                json!({
                    "name": group.name,
                    "file": group.file,
                    "interval": group.interval.as_secs_f64(),
                    "limit": group.limit,
                    "rules": rules,
                    "evaluationTime": group.evaluation_time.as_secs_f64(),
                    "lastEvaluation": rfc3339(group.last_evaluation_ms),
                    "missedEvaluations": group.missed_evaluations,
                })
            })
        })
        .collect();
    let load_errors: Vec<Json> = state
        .rules
        .files()
        .into_iter()
        .filter(|file| !file.errors.is_empty())
        .map(|file| json!({ "file": file.path, "errors": file.errors }))
        .collect();
    success_data(json!({ "groups": groups, "loadErrors": load_errors }))
}

pub(super) async fn alerts(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let alerts: Vec<Json> = state
        .rules
        .groups()
        .iter()
        .flat_map(|group| group.rules.iter())
        .flat_map(|rule| rule.alerts.iter())
        .filter(|alert| alert.state != AlertState::Inactive)
        .filter(|alert| alert_visible(&principal.scope, &alert.labels))
        .map(alert_json)
        .collect();
    success_data(json!({ "alerts": alerts }))
}

fn rule_json(rule: &RuleStatus, scope: &ServiceScope, exclude_alerts: bool) -> Json {
    let limited = !matches!(scope, ServiceScope::All);
    let last = rule.history.last();
    let (health, last_error, data_state) = match last.map(|evaluation| &evaluation.health) {
        None => ("unknown", String::new(), "unknown"),
        Some(Health::Ok) => ("ok", String::new(), "ok"),
        Some(Health::NoData) => ("ok", String::new(), "nodata"),
        Some(Health::Error(error)) => ("err", error.clone(), "error"),
    };
    let mut json = json!({
        "name": rule.name,
        "query": rule.query,
        "queryLanguage": if rule.is_sql { "sql" } else { "promql" },
        "labels": rule.labels,
        "health": health,
        "lastError": if limited { String::new() } else { last_error },
        "dataState": data_state,
        "evaluationTime": last.map_or(0.0, |evaluation| evaluation.duration.as_secs_f64()),
        "lastEvaluation": last.map_or_else(|| rfc3339(0), |evaluation| rfc3339(evaluation.t_ms)),
        "evaluations": rule
            .history
            .iter()
            .rev()
            .map(|evaluation| evaluation_json(evaluation, limited))
            .collect::<Vec<_>>(),
        "type": rule.kind,
    });
    if rule.kind == "alerting" {
        let visible = || rule.alerts.iter().filter(|alert| alert_visible(scope, &alert.labels));
        let state = visible().map(|alert| alert.state).max().unwrap_or(AlertState::Inactive);
        let extra = json!({
            "state": state.name(),
            "duration": rule.for_.as_secs_f64(),
            "keepFiringFor": rule.keep_firing_for.as_secs_f64(),
            "annotations": rule.annotations,
            "onError": rule.on_error.name(),
            "onNoData": rule.on_no_data.name(),
            "alerts": if exclude_alerts {
                Json::Null
            } else {
                visible().filter(|a| a.state != AlertState::Inactive).map(alert_json).collect()
            },
        });
        if let (Json::Object(fields), Json::Object(extra)) = (&mut json, extra) {
            fields.extend(extra);
        }
    }
    json
}

/// One evaluation; `limited` (for a user limited to some services) leaves out how many results it had and its
/// error's text, which count and may quote every service's series.
fn evaluation_json(evaluation: &Evaluation, limited: bool) -> Json {
    let (health, error) = match &evaluation.health {
        Health::Ok => ("ok", None),
        Health::NoData => ("nodata", None),
        Health::Error(error) => ("err", Some(error.as_str())),
    };
    json!({
        "time": rfc3339(evaluation.t_ms),
        "duration": evaluation.duration.as_secs_f64(),
        "results": (!limited).then_some(evaluation.results),
        "health": health,
        "error": if limited { None } else { error },
    })
}

fn alert_json(alert: &Alert) -> Json {
    let mut json = json!({
        "labels": metric(&alert.labels),
        "annotations": alert.annotations,
        "state": alert.state.name(),
        "activeAt": rfc3339(alert.active_at),
        // As Prometheus writes it: Go's FormatFloat(v, 'e', -1, 64).
        "value": go_exponent(alert.value),
    });
    if let (Some(since), Json::Object(fields)) = (alert.keep_firing_since, &mut json) {
        fields.insert("keepFiringSince".to_owned(), json!(rfc3339(since)));
    }
    json
}

fn rfc3339(t_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `1.5e-07`, `NaN`, `+Inf`.
fn go_exponent(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Go's -1 precision does: `1.5e-7`.
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').expect("{:e} always writes an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} writes an integer exponent");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// `POST /api/v1/rules/backtest`: `{"files": [{"name", "content"}], "from", "to"}` — replays the rules of the
/// given files over the stored history of `[from, to]` and answers every change of an alert's state.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BacktestRequest {
    files: Vec<BacktestFile>,
    from: String,
    to: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BacktestFile {
    name: String,
    content: String,
}

pub(super) async fn backtest(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<Response, PromError> {
    let request: BacktestRequest = serde_json::from_slice(&body)
        .map_err(|e| PromError::bad_data(format!("invalid request body: {e}")))?;
    let from = parse_time(&request.from)
        .map_err(|e| PromError::bad_data(format!("invalid parameter \"from\": {e}")))?;
    let to = parse_time(&request.to)
        .map_err(|e| PromError::bad_data(format!("invalid parameter \"to\": {e}")))?;
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for file in &request.files {
        match file::parse_rule_file(&file.name, &file.content) {
            Ok(parsed) => {
                for group in parsed.groups {
                    match Group::new(&file.name, group) {
                        Ok(group) => groups.push(group),
                        Err(error) => errors.push(error),
                    }
                }
            }
            Err(file_errors) => errors.extend(file_errors.iter().map(ToString::to_string)),
        }
    }
    if !errors.is_empty() {
        return Err(PromError::bad_data(errors.join("\n")));
    }
    let engine = Arc::clone(&state.engine);
    let interval = state.rules.evaluation_interval();
    let runtime = tokio::runtime::Handle::current();
    let replayed = tokio::task::spawn_blocking(move || {
        let series =
            StoredMetrics::new(Arc::clone(&engine), runtime.clone(), Engine::default().max_samples);
        let sql = StoredSql::new(engine, runtime);
        backtest::run(groups, interval, from, to, &series, Some(&sql))
    })
    .await
    .map_err(|error| PromError::internal(&error))?;
    let transitions = replayed.map_err(PromError::bad_data)?;
    let transitions: Vec<Json> = transitions
        .iter()
        .map(|change| {
            json!({
                "time": rfc3339(change.t_ms),
                "group": change.group,
                "labels": metric(&change.labels),
                "from": change.from.name(),
                "to": change.to.name(),
                "value": go_exponent(change.value),
            })
        })
        .collect();
    Ok(success_data(json!({ "transitions": transitions })))
}

#[cfg(test)]
mod tests {
    use super::go_exponent;

    #[test]
    fn values_are_written_as_go_writes_them_with_an_exponent() {
        let cases = [
            (1.0, "1e+00"),
            (0.5, "5e-01"),
            (1234.5, "1.2345e+03"),
            (1.5e-7, "1.5e-07"),
            (-2e100, "-2e+100"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(go_exponent(value), expected, "{value}");
        }
    }
}
