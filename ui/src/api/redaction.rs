//! `GET /api/v1/redaction`: the redaction rules in force and how many values each redacted since the start, per
//! signal. Redaction runs in the collector, which this crate does not depend on: the binary gives the rules
//! through [`RedactionRules`].

use std::collections::BTreeMap;
use std::fmt::Debug;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ApiState;

/// Where the API reads the redaction rules from.
pub trait RedactionRules: Debug + Send + Sync {
    /// The rules in order of precedence; none when redaction is off.
    fn rules(&self) -> Vec<RedactionRule>;
}

/// One rule as the API shows it. Counts only: never a redacted value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedactionRule {
    pub name: String,
    /// `key`, `value`, `sql_literals` or `allow_list`.
    pub kind: &'static str,
    /// `drop`, `mask` or `hash`.
    pub action: &'static str,
    pub builtin: bool,
    /// What it matches, as configured (key patterns, `/regexes/`).
    pub matches: Vec<String>,
    /// The signals it applies to; empty: all.
    pub signals: Vec<&'static str>,
    /// The services (`service.name`) it applies to; empty: all.
    pub services: Vec<String>,
    /// Values redacted since the start, by signal.
    pub redacted: BTreeMap<&'static str, u64>,
}

pub(super) async fn rules(State(state): State<ApiState>) -> Response {
    let rules = state.redaction.rules();
    Json(serde_json::json!({ "enabled": !rules.is_empty(), "rules": rules })).into_response()
}
