//! The state machine of an alerting rule: inactive → pending → firing, with `for` and `keep_firing_for`,
//! as Prometheus 3 runs it. Time is given by the caller (milliseconds), never read from a clock.

use std::collections::{BTreeMap, HashMap};

use crate::promql::{Element, Labels, METRIC_NAME};

/// The label that names an alert.
pub const ALERT_NAME_LABEL: &str = "alertname";
/// The label of the `ALERTS` series that holds the alert's state.
pub const ALERT_STATE_LABEL: &str = "alertstate";
/// How long a resolved alert is kept, so that receivers are told it resolved.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule: one label set its expression returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub value: f64,
    /// When the condition started to hold (milliseconds).
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// When the condition stopped holding while `keep_firing_for` keeps the alert firing.
    pub keep_firing_since: Option<i64>,
}

/// What a label or annotation template is given for one result element.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    /// The element's labels, metric name included.
    pub labels: &'a Labels,
    pub value: f64,
}

/// Renders the rule's templates: `(which, input)` where `which` says whether a label or an annotation is
/// rendered and its name. Failures are rendered into the text, as Prometheus does.
pub trait Expander {
    fn expand(&mut self, template: TemplateField<'_>, input: TemplateInput<'_>) -> String;
}

/// A template of a rule, by where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateField<'a> {
    Label(&'a str),
    Annotation(&'a str),
}

/// Why an evaluation's results could not become alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertingError {
    #[error("vector contains metrics with the same labelset after applying alert labels")]
    DuplicateAlert,
    #[error("exceeded limit of {limit} with {count} alerts")]
    LimitExceeded { limit: usize, count: usize },
}

/// An alerting rule's alerts between evaluations.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub name: String,
    pub hold_ms: i64,
    pub keep_firing_for_ms: i64,
    /// The rule's own labels (templates), by name.
    pub label_names: Vec<String>,
    pub annotation_names: Vec<String>,
    active: HashMap<Labels, Alert>,
}

impl AlertingRule {
    pub fn new(
        name: String,
        hold_ms: i64,
        keep_firing_for_ms: i64,
        label_names: Vec<String>,
        annotation_names: Vec<String>,
    ) -> AlertingRule {
        AlertingRule {
            name,
            hold_ms,
            keep_firing_for_ms,
            label_names,
            annotation_names,
            active: HashMap::new(),
        }
    }

    /// The alerts the rule holds (pending, firing, and resolved ones still retained).
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// Restores alerts saved before a restart.
    pub fn restore(&mut self, alerts: impl IntoIterator<Item = Alert>) {
        for alert in alerts {
            self.active.insert(alert.labels.clone(), alert);
        }
    }

    /// The `ALERTS` and `ALERTS_FOR_STATE` samples of the alerts as they are, for an evaluation that
    /// leaves them unchanged (a failure under the `keep_last` policy).
    pub fn samples(&self, t: i64) -> Vec<Element> {
        self.active
            .values()
            .filter(|alert| alert.state != AlertState::Inactive)
            .flat_map(|alert| [alerts_sample(alert, t), for_state_sample(alert, t)])
            .collect()
    }

    /// Takes the result of evaluating the rule's expression at `t` and moves every alert along. Returns the
    /// `ALERTS` and `ALERTS_FOR_STATE` samples of this evaluation. `limit` 0 means no limit.
    ///
    /// `resolved_by` is the result of the rule's `resolve_expr`, when it has one: a firing alert that the
    /// expression no longer returns keeps firing until one of these label sets is part of its labels.
    pub fn update(
        &mut self,
        t: i64,
        result: Vec<Element>,
        resolved_by: Option<&[Labels]>,
        expander: &mut dyn Expander,
        limit: usize,
    ) -> Result<Vec<Element>, AlertingError> {
        let mut current: HashMap<Labels, Alert> = HashMap::with_capacity(result.len());
        for element in result {
            let input = TemplateInput { labels: &element.labels, value: element.v };
            let mut labels = element.labels.without_metric_name();
            for name in &self.label_names {
                let value = expander.expand(TemplateField::Label(name), input);
                labels.set(name.clone(), value);
            }
            labels.set(ALERT_NAME_LABEL.to_owned(), self.name.clone());
            let annotations = self
                .annotation_names
                .iter()
                .map(|name| (name.clone(), expander.expand(TemplateField::Annotation(name), input)))
                .collect();
            let alert = Alert {
                labels: labels.clone(),
                annotations,
                state: AlertState::Pending,
                value: element.v,
                active_at: t,
                fired_at: None,
                resolved_at: None,
                keep_firing_since: None,
            };
            if current.insert(labels, alert).is_some() {
                return Err(AlertingError::DuplicateAlert);
            }
        }

        let returned: std::collections::HashSet<Labels> = current.keys().cloned().collect();
        for (labels, alert) in current {
            match self.active.get_mut(&labels) {
                Some(known) if known.state != AlertState::Inactive => {
                    known.value = alert.value;
                    known.annotations = alert.annotations;
                }
                _ => {
                    self.active.insert(labels, alert);
                }
            }
        }

        let mut samples = Vec::new();
        let mut active_count = 0;
        let mut forgotten = Vec::new();
        for (labels, alert) in &mut self.active {
            if returned.contains(labels) {
                alert.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if alert.state == AlertState::Firing && self.keep_firing_for_ms > 0 {
                    let since = *alert.keep_firing_since.get_or_insert(t);
                    keep_firing = t - since < self.keep_firing_for_ms;
                }
                if alert.state == AlertState::Firing
                    && resolved_by.is_some_and(|resolved| {
                        !resolved.iter().any(|resolving| resolving.is_subset_of(labels))
                    })
                {
                    keep_firing = true;
                }
                let retention_over =
                    alert.resolved_at.is_some_and(|resolved| t - resolved > RESOLVED_RETENTION_MS);
                if alert.state == AlertState::Pending || retention_over {
                    forgotten.push(labels.clone());
                }
                if alert.state != AlertState::Inactive && !keep_firing {
                    alert.state = AlertState::Inactive;
                    alert.resolved_at = Some(t);
                }
                if !keep_firing {
                    continue;
                }
            }
            active_count += 1;
            if alert.state == AlertState::Pending && t - alert.active_at >= self.hold_ms {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(t);
            }
            samples.push(alerts_sample(alert, t));
            samples.push(for_state_sample(alert, t));
        }
        for labels in forgotten {
            self.active.remove(&labels);
        }
        if limit > 0 && active_count > limit {
            self.active.clear();
            return Err(AlertingError::LimitExceeded { limit, count: active_count });
        }
        Ok(samples)
    }
}

/// `ALERTS{alertname, alertstate, …labels} 1`.
fn alerts_sample(alert: &Alert, t: i64) -> Element {
    let mut labels = alert.labels.clone();
    labels.set(METRIC_NAME.to_owned(), "ALERTS".to_owned());
    labels.set(ALERT_STATE_LABEL.to_owned(), alert.state.name().to_owned());
    Element { labels, t, v: 1.0 }
}

/// `ALERTS_FOR_STATE{alertname, …labels}`: when the alert became active, in seconds.
fn for_state_sample(alert: &Alert, t: i64) -> Element {
    let mut labels = alert.labels.clone();
    labels.set(METRIC_NAME.to_owned(), "ALERTS_FOR_STATE".to_owned());
    Element { labels, t, v: (alert.active_at / 1000) as f64 }
}

#[cfg(test)]
mod tests;
