//! What the rules API shows of each group, rule and file: a snapshot taken after each evaluation.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::alerting::Alert;
use crate::file::{FailurePolicy, RuleKind};
use crate::group::{Evaluation, Group, Health};

/// A rule file and the errors of its last load (empty when it loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct FileStatus {
    pub path: String,
    pub errors: Vec<String>,
}

/// A group after its last evaluation.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub file: String,
    pub name: String,
    pub interval: Duration,
    pub limit: usize,
    pub last_evaluation_ms: i64,
    pub evaluation_time: Duration,
    /// Evaluations skipped since the group started because the one before overran.
    pub missed_evaluations: u64,
    pub rules: Vec<RuleStatus>,
}

/// A rule after its group's last evaluation.
#[derive(Debug, Clone)]
pub struct RuleStatus {
    pub name: String,
    /// `alerting` or `recording`.
    pub kind: &'static str,
    /// The query as written (PromQL or SQL).
    pub query: String,
    pub is_sql: bool,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub on_error: FailurePolicy,
    pub on_no_data: FailurePolicy,
    /// The latest evaluations, oldest first.
    pub history: Vec<Evaluation>,
    /// The rule's alerts (alerting rules): pending, firing, and resolved ones still kept.
    pub alerts: Vec<Alert>,
}

impl RuleStatus {
    /// The health of the last evaluation; `None` before the first.
    pub fn health(&self) -> Option<&Health> {
        self.history.last().map(|evaluation| &evaluation.health)
    }
}

impl GroupStatus {
    pub(super) fn of(
        group: &Group,
        interval: Duration,
        t: i64,
        evaluation_time: Duration,
        missed_evaluations: u64,
    ) -> GroupStatus {
        let rules = group
            .rules
            .iter()
            .map(|rule| {
                let (for_, keep_firing_for) = match &rule.rule.kind {
                    RuleKind::Alerting { for_, keep_firing_for, .. } => (*for_, *keep_firing_for),
                    RuleKind::Recording { .. } => (Duration::ZERO, Duration::ZERO),
                };
                let mut alerts: Vec<Alert> =
                    rule.alerting.iter().flat_map(|alerting| alerting.alerts().cloned()).collect();
                alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
                RuleStatus {
                    name: rule.rule.name().to_owned(),
                    kind: if rule.alerting.is_some() { "alerting" } else { "recording" },
                    query: rule.rule.query.text().to_owned(),
                    is_sql: matches!(rule.rule.query, crate::file::Query::Sql { .. }),
                    for_,
                    keep_firing_for,
                    labels: rule.rule.labels.clone(),
                    annotations: rule.rule.annotations.clone(),
                    on_error: rule.rule.on_error,
                    on_no_data: rule.rule.on_no_data,
                    history: rule.history.iter().cloned().collect(),
                    alerts,
                }
            })
            .collect();
        GroupStatus {
            file: group.file.clone(),
            name: group.name.clone(),
            interval,
            limit: group.limit,
            last_evaluation_ms: t,
            evaluation_time,
            missed_evaluations,
            rules,
        }
    }
}
