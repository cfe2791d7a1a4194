//! Prometheus's query API over the stored metrics, so that Grafana and other Prometheus clients can use
//! sightline as a Prometheus data source: `/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/<name>/values` and `/api/v1/metadata`, GET or POST (form), with
//! Prometheus's response
//! shapes and error body
//! (`{"status": "error", "errorType": "bad_data", "error": "…"}`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use promql_parser::label::Matchers;
use promql_parser::parser::Expr;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use sightline_rules::file::parse_duration;
use sightline_rules::promql::{
    self, Engine, Labels, QueryError, Selection, Series, SeriesSource, Value, format_value,
};
use sightline_storage::ServiceScope;

use super::{ApiState, now_ms};
use crate::auth::Principal;
use scoped::ScopedSeries;

mod scoped;

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS_PER_SERIES: i64 = 11_000;
/// The range `/api/v1/series` and the label endpoints look at when the request gives no `start`.
const DEFAULT_SERIES_RANGE_MS: i64 = 60 * 60 * 1000;

#[derive(Debug, Deserialize)]
pub(super) struct InstantParams {
    query: String,
    time: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RangeParams {
    query: String,
    start: String,
    end: String,
    step: String,
}

/// `match[]` selectors and a time range, as `/api/v1/series` and the label endpoints take them.
#[derive(Debug, Default)]
pub(super) struct SeriesParams {
    matches: Vec<String>,
    start: Option<String>,
    end: Option<String>,
}

impl SeriesParams {
    /// Reads the form or query string by hand: `match[]` repeats, which serde's form decoding cannot hold.
    fn parse(pairs: Vec<(String, String)>) -> SeriesParams {
        let mut params = SeriesParams::default();
        for (name, value) in pairs {
            match name.as_str() {
                "match[]" => params.matches.push(value),
                "start" => params.start = Some(value),
                "end" => params.end = Some(value),
                _ => {}
            }
        }
        params
    }
}

/// The label sets of the series the `match[]` selectors select in `[start, end]` (the last hour when not
/// given); every series when there is no selector.
async fn series_in(
    state: &ApiState,
    scope: ServiceScope,
    params: SeriesParams,
) -> Result<Vec<Labels>, PromError> {
    let invalid =
        |name: &str, e: String| PromError::bad_data(format!("invalid parameter \"{name}\": {e}"));
    let end = match &params.end {
        Some(end) => parse_time(end).map_err(|e| invalid("end", e))?,
        None => now_ms(),
    };
    let start = match &params.start {
        Some(start) => parse_time(start).map_err(|e| invalid("start", e))?,
        None => end - DEFAULT_SERIES_RANGE_MS,
    };
    let mut selectors = Vec::with_capacity(params.matches.len().max(1));
    for text in &params.matches {
        match promql::parse(text).map_err(|e| invalid("match[]", e.to_string()))? {
            Expr::VectorSelector(selector) => selectors.push(selector),
            _ => return Err(invalid("match[]", format!("{text:?} is not a series selector"))),
        }
    }
    let all = selectors.is_empty();
    evaluate(state, scope, move |_, source| {
        let everything = Matchers::empty();
        let mut found = BTreeSet::new();
        let selections: Vec<Selection<'_>> = if all {
            vec![Selection { metric_name: None, matchers: &everything }]
        } else {
            selectors
                .iter()
                .map(|selector| Selection {
                    metric_name: selector.name.as_deref(),
                    matchers: &selector.matchers,
                })
                .collect()
        };
        for selection in selections {
            // `select` reads `(start, end]`; the API's range includes its start.
            let series = source.select(selection, start - 1, end).map_err(QueryError::Source)?;
            found.extend(series.into_iter().map(|series| series.labels));
        }
        Ok(found.into_iter().collect())
    })
    .await
}

pub(super) async fn series(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Params(pairs): Params<Vec<(String, String)>>,
) -> Result<Response, PromError> {
    let params = SeriesParams::parse(pairs);
    if params.matches.is_empty() {
        return Err(PromError::bad_data("no match[] parameter provided".into()));
    }
    let series = series_in(&state, principal.scope, params).await?;
    Ok(success_data(Json::Array(series.iter().map(metric).collect())))
}

pub(super) async fn labels(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Params(pairs): Params<Vec<(String, String)>>,
) -> Result<Response, PromError> {
    let series = series_in(&state, principal.scope, SeriesParams::parse(pairs)).await?;
    let names: BTreeSet<&str> =
        series.iter().flat_map(|labels| labels.iter().map(|(name, _)| name)).collect();
    Ok(success_data(Json::from(names.into_iter().collect::<Vec<_>>())))
}

pub(super) async fn label_values(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Params(pairs): Params<Vec<(String, String)>>,
) -> Result<Response, PromError> {
    let series = series_in(&state, principal.scope, SeriesParams::parse(pairs)).await?;
    let values: BTreeSet<&str> = series.iter().filter_map(|labels| labels.get(&name)).collect();
    Ok(success_data(Json::from(values.into_iter().collect::<Vec<_>>())))
}

#[derive(Debug, Deserialize)]
pub(super) struct MetadataParams {
    metric: Option<String>,
}

/// `/api/v1/metadata`: type, help and unit per metric name, for the metrics with points in the last hour.
pub(super) async fn metadata(
    State(state): State<ApiState>,
    Params(params): Params<MetadataParams>,
) -> Result<Response, PromError> {
    let end = now_ms();
    let metrics = Arc::clone(&state.metrics);
    let found = tokio::task::spawn_blocking(move || {
        metrics.stored().metadata(end - DEFAULT_SERIES_RANGE_MS, end).map_err(QueryError::Source)
    })
    .await
    .map_err(|error| PromError::internal(&error))??;
    let mut data = serde_json::Map::new();
    for metadata in found {
        if params.metric.as_ref().is_some_and(|wanted| *wanted != metadata.name) {
            continue;
        }
        let entry = json!({ "type": metadata.kind, "help": metadata.help, "unit": metadata.unit });
        match data.get_mut(&metadata.name) {
            Some(Json::Array(entries)) => entries.push(entry),
            _ => {
                data.insert(metadata.name, Json::Array(vec![entry]));
            }
        }
    }
    Ok(success_data(Json::Object(data)))
}

pub(super) async fn query(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Params(params): Params<InstantParams>,
) -> Result<Response, PromError> {
    let time_ms = match &params.time {
        Some(time) => parse_time(time)
            .map_err(|e| PromError::bad_data(format!("invalid parameter \"time\": {e}")))?,
        None => now_ms(),
    };
    let expr = promql::parse(&params.query).map_err(|e| PromError::bad_data(e.to_string()))?;
    let value = evaluate(&state, principal.scope, move |engine, source| {
        engine.instant(source, &expr, time_ms)
    })
    .await?;
    let (result_type, result) = match value {
        Value::Scalar(v) => ("scalar", sample(time_ms, v)),
        Value::String(text) => ("string", json!([seconds(time_ms), text])),
        Value::Vector(elements) => (
            "vector",
            Json::Array(
                elements
                    .into_iter()
                    .map(|element| json!({ "metric": metric(&element.labels), "value": sample(time_ms, element.v) }))
                    .collect(),
            ),
        ),
        Value::Matrix(series) => ("matrix", matrix(series)),
    };
    Ok(success(result_type, result))
}

pub(super) async fn query_range(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Params(params): Params<RangeParams>,
) -> Result<Response, PromError> {
    let invalid =
        |name: &str, e: String| PromError::bad_data(format!("invalid parameter \"{name}\": {e}"));
    let start = parse_time(&params.start).map_err(|e| invalid("start", e))?;
    let end = parse_time(&params.end).map_err(|e| invalid("end", e))?;
    let step = parse_step(&params.step).map_err(|e| invalid("step", e))?;
    if end < start {
        return Err(PromError::bad_data("end timestamp must not be before start time".into()));
    }
    if step <= 0 {
        return Err(PromError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .into(),
        ));
    }
    if (end - start) / step > MAX_POINTS_PER_SERIES {
        return Err(PromError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .into(),
        ));
    }
    let expr = promql::parse(&params.query).map_err(|e| PromError::bad_data(e.to_string()))?;
    let series = evaluate(&state, principal.scope, move |engine, source| {
        engine.range(source, &expr, start, end, step)
    })
    .await?;
    Ok(success("matrix", matrix(series)))
}

/// Runs an evaluation on a blocking thread: the engine is synchronous, and reads the recent samples in
/// memory and the older ones through the runtime, as rules do.
async fn evaluate<T: Send + 'static>(
    state: &ApiState,
    scope: ServiceScope,
    run: impl FnOnce(&Engine, &dyn SeriesSource) -> Result<T, QueryError> + Send + 'static,
) -> Result<T, PromError> {
    let metrics = Arc::clone(&state.metrics);
    let joined = tokio::task::spawn_blocking(move || {
        let engine = Engine::default();
        match scope {
            ServiceScope::All => run(&engine, metrics.as_ref()),
            scope => run(&engine, &ScopedSeries { inner: metrics.as_ref(), scope: &scope }),
        }
    })
    .await;
    match joined {
        Ok(result) => result.map_err(PromError::from),
        Err(error) => Err(PromError::internal(&error)),
    }
}

fn success(result_type: &str, result: Json) -> Response {
    success_data(json!({ "resultType": result_type, "result": result }))
}

pub(super) fn success_data(data: Json) -> Response {
    let body = json!({ "status": "success", "data": data });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn matrix(series: Vec<Series>) -> Json {
    Json::Array(
        series
            .into_iter()
            .map(|series| {
                let values: Vec<Json> =
                    series.samples.iter().map(|sample| self::sample(sample.t, sample.v)).collect();
                json!({ "metric": metric(&series.labels), "values": values })
            })
            .collect(),
    )
}

pub(super) fn metric(labels: &Labels) -> Json {
    Json::Object(labels.iter().map(|(name, value)| (name.to_owned(), Json::from(value))).collect())
}

/// `[<seconds>, "<value>"]`, the value as Go's `FormatFloat(v, 'f', -1, 64)` writes it.
fn sample(t_ms: i64, v: f64) -> Json {
    json!([seconds(t_ms), format_value(v)])
}

fn seconds(t_ms: i64) -> Json {
    json!(t_ms as f64 / 1000.0)
}

/// A time as Prometheus's API takes it: Unix seconds (fractions allowed) or RFC 3339.
pub(super) fn parse_time(text: &str) -> Result<i64, String> {
    if let Some(ms) = seconds_as_ms(text) {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|_| format!("cannot parse {text:?} to a valid timestamp"))
}

/// A step: seconds (fractions allowed) or a Prometheus duration (`15s`, `1m`).
fn parse_step(text: &str) -> Result<i64, String> {
    if let Some(ms) = seconds_as_ms(text) {
        return Ok(ms);
    }
    parse_duration(text)
        .map(|duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
        .map_err(|_| format!("cannot parse {text:?} to a valid duration"))
}

/// A number of seconds (`1435781451.781`) in milliseconds.
fn seconds_as_ms(text: &str) -> Option<i64> {
    let seconds = text.parse::<f64>().ok().filter(|seconds| seconds.is_finite())?;
    Some((seconds * 1000.0).round() as i64)
}

/// A request's parameters, from its query string (GET) or its form body (POST), as Prometheus takes them.
/// Parameters that do not parse are `bad_data` (400) in Prometheus's error shape, like every other error here.
pub(super) struct Params<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Params<T> {
    type Rejection = PromError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PromError> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(params)) => Ok(Params(params)),
            Err(rejection) => Err(PromError::bad_data(rejection.body_text())),
        }
    }
}

/// An error in Prometheus's shape. `bad_data` is the client's fault (400), `execution` the query's (422),
/// `internal` 500 (details logged, not sent).
#[derive(Debug)]
pub(super) struct PromError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

impl PromError {
    pub(super) fn bad_data(message: String) -> PromError {
        PromError { status: StatusCode::BAD_REQUEST, error_type: "bad_data", message }
    }

    pub(super) fn internal(detail: &dyn std::fmt::Display) -> PromError {
        tracing::error!(error = %detail, "promql query failed");
        PromError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: "internal",
            message: "internal error".into(),
        }
    }
}

impl From<QueryError> for PromError {
    fn from(error: QueryError) -> PromError {
        match error {
            QueryError::Parse(message) => PromError::bad_data(message),
            QueryError::Execution(message) => PromError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                error_type: "execution",
                message,
            },
            // Too many samples, or the store could not be read (a timeout, the memory limit): the
            // message says which.
            QueryError::TooManySamples | QueryError::Source(_) => PromError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                error_type: "execution",
                message: error.to_string(),
            },
        }
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let body =
            json!({ "status": "error", "errorType": self.error_type, "error": self.message });
        (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string())
            .into_response()
    }
}
