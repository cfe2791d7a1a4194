//! Replaying rules over stored history: each group is evaluated at every multiple of its interval in a time
//! range, as the scheduler would have evaluated it, and every change of an alert's state is reported — when
//! each alert would have gone pending, fired and resolved.
//!
//! What the rules write (recorded series, `ALERTS`) is kept in memory beside the stored series, so rules that
//! read earlier rules' output see it, and nothing is written to the store.

use std::collections::HashMap;
use std::time::Duration;

use crate::alerting::AlertState;
use crate::group::{Group, Sources, SqlSource};
use crate::promql::{
    Element, Engine, Labels, MemorySource, Sample, Selection, Series, SeriesSource, millis,
};

/// The most evaluations one backtest runs (groups × steps), so that a typo in a range cannot run for hours.
pub const MAX_EVALUATIONS: usize = 100_000;

/// One change of an alert's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub t_ms: i64,
    pub group: String,
    pub labels: Labels,
    pub from: AlertState,
    pub to: AlertState,
    /// The alert's value at that evaluation (NaN when it left the result).
    pub value: f64,
}

/// Evaluates `groups` over `[from_ms, to_ms]`, each at the multiples of its interval (else
/// `default_interval`), and returns the alerts' transitions in time order.
pub fn run(
    mut groups: Vec<Group>,
    default_interval: Duration,
    from_ms: i64,
    to_ms: i64,
    stored: &dyn SeriesSource,
    sql: Option<&dyn SqlSource>,
) -> Result<Vec<Transition>, String> {
    if to_ms < from_ms {
        return Err("the end of the range is before its start".to_owned());
    }
    let mut ticks: Vec<(i64, usize)> = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let interval = millis(group.interval.unwrap_or(default_interval)).max(1);
        let mut t = from_ms + (interval - from_ms.rem_euclid(interval)) % interval;
        while t <= to_ms {
            ticks.push((t, index));
            if ticks.len() > MAX_EVALUATIONS {
                return Err(format!(
                    "the range needs more than {MAX_EVALUATIONS} group evaluations: shorten it"
                ));
            }
            t += interval;
        }
    }
    ticks.sort();

    let engines: Vec<Engine> = groups
        .iter()
        .map(|group| Engine {
            default_subquery_step: group.interval.unwrap_or(default_interval),
            ..Engine::default()
        })
        .collect();
    let mut overlay = Overlay { stored, written: MemorySource::default() };
    let no_labels = Labels::default();
    let mut transitions = Vec::new();
    for (t, index) in ticks {
        let group = &mut groups[index];
        for rule in &mut group.rules {
            let before = alert_states(rule.alerting.as_ref());
            let sources = Sources {
                engine: &engines[index],
                series: &overlay,
                sql,
                external_labels: &no_labels,
                external_url: "",
            };
            let output = rule.evaluate(t, sources, group.limit);
            let after = alert_states(rule.alerting.as_ref());
            transitions.extend(changes(&group.name, t, &before, &after));
            overlay.write(output);
        }
    }
    Ok(transitions)
}

/// Each alert's state and value, by labels.
fn alert_states(
    alerting: Option<&crate::alerting::AlertingRule>,
) -> HashMap<Labels, (AlertState, f64)> {
    alerting
        .into_iter()
        .flat_map(|rule| rule.alerts())
        .map(|alert| (alert.labels.clone(), (alert.state, alert.value)))
        .collect()
}

/// The transitions between two snapshots of a rule's alerts; an alert that disappeared became inactive.
fn changes(
    group: &str,
    t: i64,
    before: &HashMap<Labels, (AlertState, f64)>,
    after: &HashMap<Labels, (AlertState, f64)>,
) -> Vec<Transition> {
    let mut changes: Vec<Transition> = Vec::new();
    for (labels, (state, value)) in after {
        let from = before.get(labels).map_or(AlertState::Inactive, |(state, _)| *state);
        if from != *state {
            changes.push(Transition {
                t_ms: t,
                group: group.to_owned(),
                labels: labels.clone(),
                from,
                to: *state,
                value: *value,
            });
        }
    }
    for (labels, (state, _)) in before {
        if !after.contains_key(labels) && *state != AlertState::Inactive {
            changes.push(Transition {
                t_ms: t,
                group: group.to_owned(),
                labels: labels.clone(),
                from: *state,
                to: AlertState::Inactive,
                value: f64::NAN,
            });
        }
    }
    changes.sort_by(|a, b| a.labels.cmp(&b.labels));
    changes
}

/// The stored series with what the replayed rules wrote on top: a series the rules wrote replaces a stored
/// one with the same labels (the daemon may be recording the same rules).
struct Overlay<'a> {
    stored: &'a dyn SeriesSource,
    written: MemorySource,
}

impl Overlay<'_> {
    fn write(&mut self, output: Vec<Element>) {
        for element in output {
            self.written.add(element.labels, [Sample { t: element.t, v: element.v }]);
        }
    }
}

impl SeriesSource for Overlay<'_> {
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        let written = self.written.select(selection, start_ms, end_ms)?;
        let mut selected = self.stored.select(selection, start_ms, end_ms)?;
        selected.retain(|series| !written.iter().any(|own| own.labels == series.labels));
        selected.extend(written);
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::file;

    const MINUTE: i64 = 60_000;

    #[test]
    fn the_transitions_of_a_replayed_rule_are_those_the_scheduler_would_have_made() {
        let rules = "groups:\n  - name: g\n    interval: 1m\n    rules:\n      - record: lag:max\n        expr: max(lag)\n      - alert: LagHigh\n        expr: lag:max > 100\n        for: 2m\n";
        let file = file::parse_rule_file("r.yaml", rules).unwrap();
        let groups = vec![Group::new("r.yaml", file.groups[0].clone()).unwrap()];
        // lag is 500 from minute 3 to minute 8, then 0.
        let mut stored = MemorySource::default();
        stored.add(
            Labels::new([("__name__", "lag")]),
            (0..=20).map(|m| Sample {
                t: m * MINUTE,
                v: if (3..=8).contains(&m) { 500.0 } else { 0.0 },
            }),
        );
        let transitions =
            run(groups, Duration::from_secs(60), 0, 20 * MINUTE, &stored, None).unwrap();
        let seen: Vec<(i64, AlertState, AlertState)> = transitions
            .iter()
            .map(|change| (change.t_ms / MINUTE, change.from, change.to))
            .collect();
        assert_eq!(
            seen,
            [
                (3, AlertState::Inactive, AlertState::Pending),
                (5, AlertState::Pending, AlertState::Firing),
                (9, AlertState::Firing, AlertState::Inactive),
            ]
        );
        assert_eq!(transitions[0].labels, Labels::new([("alertname", "LagHigh")]));
        assert_eq!(transitions[0].value, 500.0);
    }

    #[test]
    fn a_range_that_needs_too_many_evaluations_is_refused() {
        let file = file::parse_rule_file(
            "r.yaml",
            "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: A\n        expr: up\n",
        )
        .unwrap();
        let groups = vec![Group::new("r.yaml", file.groups[0].clone()).unwrap()];
        let error =
            run(groups, Duration::from_secs(1), 0, 1_000_000_000, &MemorySource::default(), None)
                .unwrap_err();
        assert_eq!(error, "the range needs more than 100000 group evaluations: shorten it");
    }
}
