#![allow(clippy::unwrap_used)]

use super::*;

const MINUTE: i64 = 60_000;

/// Renders `label/annotation name = value of the element` so tests can see the inputs.
struct Echo;

impl Expander for Echo {
    fn expand(&mut self, template: TemplateField<'_>, input: TemplateInput<'_>) -> String {
        match template {
            TemplateField::Label(name) => format!("{name}:{}", input.labels.value("instance")),
            TemplateField::Annotation(name) => format!("{name}={}", input.value),
        }
    }
}

fn element(instance: &str, v: f64) -> Element {
    Element { labels: Labels::new([("__name__", "up"), ("instance", instance)]), t: 0, v }
}

fn rule(hold_minutes: i64, keep_firing_minutes: i64) -> AlertingRule {
    AlertingRule::new(
        "InstanceDown".into(),
        hold_minutes * MINUTE,
        keep_firing_minutes * MINUTE,
        vec!["severity".into()],
        vec!["summary".into()],
    )
}

fn states(rule: &AlertingRule) -> Vec<(String, AlertState)> {
    let mut states: Vec<_> = rule
        .alerts()
        .map(|alert| (alert.labels.value("instance").to_owned(), alert.state))
        .collect();
    states.sort();
    states
}

#[test]
fn an_alert_is_pending_for_its_hold_duration_then_fires() {
    let mut rule = rule(2, 0);
    for minute in 0..2 {
        rule.update(minute * MINUTE, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
        assert_eq!(states(&rule), [("a".into(), AlertState::Pending)], "minute {minute}");
    }
    let samples = rule.update(2 * MINUTE, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule), [("a".into(), AlertState::Firing)]);
    let alert = rule.alerts().next().unwrap();
    assert_eq!(alert.active_at, 0);
    assert_eq!(alert.fired_at, Some(2 * MINUTE));
    assert_eq!(
        alert.labels.to_string(),
        "{alertname=\"InstanceDown\", instance=\"a\", severity=\"severity:a\"}"
    );
    assert_eq!(alert.annotations["summary"], "summary=0");
    let names: Vec<String> = samples.iter().map(|sample| sample.labels.to_string()).collect();
    assert_eq!(
        names,
        [
            "{__name__=\"ALERTS\", alertname=\"InstanceDown\", alertstate=\"firing\", instance=\"a\", severity=\"severity:a\"}",
            "{__name__=\"ALERTS_FOR_STATE\", alertname=\"InstanceDown\", instance=\"a\", severity=\"severity:a\"}",
        ]
    );
}

#[test]
fn a_pending_alert_that_stops_is_forgotten_and_a_firing_one_resolves() {
    let mut rule = rule(1, 0);
    rule.update(0, vec![element("a", 0.0), element("b", 0.0)], None, &mut Echo, 0).unwrap();
    rule.update(MINUTE, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule), [("a".into(), AlertState::Firing)]);
    let samples = rule.update(2 * MINUTE, vec![], None, &mut Echo, 0).unwrap();
    assert!(samples.is_empty());
    assert_eq!(states(&rule), [("a".into(), AlertState::Inactive)]);
    assert_eq!(rule.alerts().next().unwrap().resolved_at, Some(2 * MINUTE));
    // Kept for 15 minutes after resolving, so that receivers hear of it.
    rule.update(17 * MINUTE, vec![], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule).len(), 1);
    rule.update(17 * MINUTE + 1, vec![], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule), []);
}

#[test]
fn keep_firing_for_holds_a_firing_alert_after_its_condition_stops() {
    let mut rule = rule(0, 3);
    rule.update(0, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule), [("a".into(), AlertState::Firing)]);
    for minute in 1..=3 {
        rule.update(minute * MINUTE, vec![], None, &mut Echo, 0).unwrap();
        assert_eq!(states(&rule), [("a".into(), AlertState::Firing)], "minute {minute}");
    }
    rule.update(4 * MINUTE, vec![], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule), [("a".into(), AlertState::Inactive)]);
}

#[test]
fn an_alert_that_returns_after_resolving_starts_pending_again() {
    let mut rule = rule(1, 0);
    rule.update(0, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
    rule.update(MINUTE, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
    rule.update(2 * MINUTE, vec![], None, &mut Echo, 0).unwrap();
    rule.update(3 * MINUTE, vec![element("a", 0.0)], None, &mut Echo, 0).unwrap();
    assert_eq!(states(&rule), [("a".into(), AlertState::Pending)]);
    assert_eq!(rule.alerts().next().unwrap().active_at, 3 * MINUTE);
}

#[test]
fn duplicate_label_sets_and_the_limit_are_errors() {
    let mut rule = rule(0, 0);
    let twins =
        vec![element("a", 1.0), Element { labels: Labels::new([("instance", "a")]), t: 0, v: 2.0 }];
    assert_eq!(rule.update(0, twins, None, &mut Echo, 0), Err(AlertingError::DuplicateAlert));
    let three = vec![element("a", 0.0), element("b", 0.0), element("c", 0.0)];
    assert_eq!(
        rule.update(0, three, None, &mut Echo, 2),
        Err(AlertingError::LimitExceeded { limit: 2, count: 3 })
    );
    assert_eq!(states(&rule), []);
}

#[test]
fn with_a_resolve_expression_a_firing_alert_resolves_only_when_that_expression_returns_it() {
    let mut rule = rule(0, 0);
    rule.update(0, vec![element("a", 0.0), element("b", 0.0)], Some(&[]), &mut Echo, 0).unwrap();
    // The condition stopped holding for both, but only `b` meets the resolve expression.
    let resolving = [Labels::new([("instance", "b")])];
    rule.update(MINUTE, vec![], Some(&resolving), &mut Echo, 0).unwrap();
    assert_eq!(
        states(&rule),
        [("a".into(), AlertState::Firing), ("b".into(), AlertState::Inactive)]
    );
    let resolving = [Labels::new([("instance", "a")])];
    rule.update(2 * MINUTE, vec![], Some(&resolving), &mut Echo, 0).unwrap();
    assert_eq!(
        states(&rule),
        [("a".into(), AlertState::Inactive), ("b".into(), AlertState::Inactive)]
    );
}
