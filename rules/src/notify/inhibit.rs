//! Inhibition (`inhibit_rules:`): a firing alert that matches a rule's source side mutes the alerts that match
//! its target side and have the same values of its `equal` labels. Semantics are Alertmanager's: an absent
//! label has the empty value on both sides, and an alert that matches both sides is not muted by alerts that
//! also match both (two warnings of one kind do not silence each other).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::matcher::{MatchOp, Matcher, all_match, configured_matchers};
use crate::promql::Labels;

/// One entry of `inhibit_rules:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    #[serde(default)]
    pub source_matchers: Vec<String>,
    #[serde(default)]
    pub target_matchers: Vec<String>,
    /// Deprecated in Alertmanager, still accepted.
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    #[serde(default)]
    pub equal: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InhibitRule {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Builds a rule; every error, each with its path (`inhibit_rules[2].target_matchers[0]: …`).
    pub fn new(config: &InhibitRuleConfig, path: &str) -> Result<InhibitRule, Vec<String>> {
        let mut errors = Vec::new();
        let source = configured_matchers(
            (&config.source_matchers, &config.source_match, &config.source_match_re),
            path,
            "source_",
            &mut errors,
        );
        let target = configured_matchers(
            (&config.target_matchers, &config.target_match, &config.target_match_re),
            path,
            "target_",
            &mut errors,
        );
        for name in &config.equal {
            if Matcher::new(name, MatchOp::Equal, "").is_err() {
                errors.push(format!("{path}.equal: invalid label name {name:?}"));
            }
        }
        if errors.is_empty() {
            Ok(InhibitRule { source, target, equal: config.equal.clone() })
        } else {
            Err(errors)
        }
    }

    /// Whether an alert with `labels` is muted by one of the `firing` alerts (their label sets).
    pub fn mutes<'a>(&self, labels: &Labels, firing: impl IntoIterator<Item = &'a Labels>) -> bool {
        if !all_match(&self.target, labels) {
            return false;
        }
        let matches_both_sides = all_match(&self.source, labels);
        firing.into_iter().any(|source| {
            all_match(&self.source, source)
                && self.equal.iter().all(|name| source.value(name) == labels.value(name))
                && !(matches_both_sides && all_match(&self.target, source))
        })
    }
}

/// Whether any rule mutes an alert with `labels`, given the label sets of the firing alerts.
pub fn inhibited(rules: &[InhibitRule], labels: &Labels, firing: &[Labels]) -> bool {
    rules.iter().any(|rule| rule.mutes(labels, firing))
}

/// The inhibition rules with their firing sources indexed by the values of their `equal` labels, so that
/// checking an alert costs a lookup per rule, not a pass over every firing alert.
#[derive(Debug)]
pub struct Inhibitions<'a> {
    rules: Vec<(&'a InhibitRule, SourcesByEqual<'a>)>,
}

/// A rule's firing sources, by the values of its `equal` labels.
type SourcesByEqual<'a> = HashMap<Vec<&'a str>, Vec<&'a Labels>>;

impl<'a> Inhibitions<'a> {
    pub fn new(rules: &'a [InhibitRule], firing: &'a [Labels]) -> Inhibitions<'a> {
        let rules = rules
            .iter()
            .map(|rule| {
                let mut sources: HashMap<Vec<&str>, Vec<&Labels>> = HashMap::new();
                for source in firing.iter().filter(|source| all_match(&rule.source, source)) {
                    let key = rule.equal.iter().map(|name| source.value(name)).collect();
                    sources.entry(key).or_default().push(source);
                }
                (rule, sources)
            })
            .collect();
        Inhibitions { rules }
    }

    /// Whether a firing source mutes an alert with `labels`, as [`InhibitRule::mutes`] decides.
    pub fn mutes(&self, labels: &Labels) -> bool {
        self.rules.iter().any(|(rule, sources)| {
            let key: Vec<&str> = rule.equal.iter().map(|name| labels.value(name)).collect();
            sources
                .get(&key)
                .is_some_and(|candidates| rule.mutes(labels, candidates.iter().copied()))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rule(yaml: &str) -> InhibitRule {
        InhibitRule::new(&serde_yaml_ng::from_str(yaml).unwrap(), "inhibit_rules[0]").unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied())
    }

    const CRITICAL_MUTES_WARNING: &str = r#"
source_matchers: ['severity="critical"']
target_matchers: ['severity="warning"']
equal: [cluster, service]
"#;

    #[test]
    fn a_firing_source_mutes_targets_with_the_same_equal_labels() {
        let rule = rule(CRITICAL_MUTES_WARNING);
        let critical = labels(&[("severity", "critical"), ("cluster", "eu"), ("service", "api")]);
        let warning = labels(&[("severity", "warning"), ("cluster", "eu"), ("service", "api")]);
        let elsewhere = labels(&[("severity", "warning"), ("cluster", "us"), ("service", "api")]);
        assert!(rule.mutes(&warning, [&critical]));
        assert!(!rule.mutes(&elsewhere, [&critical]));
        assert!(!rule.mutes(&warning, []));
        assert!(!rule.mutes(&critical, [&critical]), "the source is not a target");
    }

    #[test]
    fn absent_equal_labels_are_equal_on_both_sides() {
        let rule = rule(CRITICAL_MUTES_WARNING);
        let critical = labels(&[("severity", "critical")]);
        assert!(rule.mutes(&labels(&[("severity", "warning")]), [&critical]));
        assert!(!rule.mutes(&labels(&[("severity", "warning"), ("cluster", "eu")]), [&critical]));
    }

    #[test]
    fn alerts_matching_both_sides_do_not_mute_each_other() {
        let rule =
            rule("source_match: {alertname: Down}\ntarget_match_re: {alertname: 'Down|Slow'}\n");
        let down_a = labels(&[("alertname", "Down"), ("instance", "a")]);
        let down_b = labels(&[("alertname", "Down"), ("instance", "b")]);
        let slow = labels(&[("alertname", "Slow")]);
        assert!(!rule.mutes(&down_a, [&down_b]));
        assert!(rule.mutes(&slow, [&down_b]));
        assert!(inhibited(&[rule], &slow, &[down_a]));
    }

    #[test]
    fn mistakes_are_reported_with_their_path() {
        let config = serde_yaml_ng::from_str(
            "source_matchers: ['severity']\ntarget_match_re: {team: '('}\nequal: ['bad-name']\n",
        )
        .unwrap();
        let errors = InhibitRule::new(&config, "inhibit_rules[3]").unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("inhibit_rules[3].source_matchers[0]: "), "{errors:?}");
        assert!(
            errors[1].starts_with("inhibit_rules[3].target_match_re.team: invalid regex"),
            "{errors:?}"
        );
        assert_eq!(errors[2], r#"inhibit_rules[3].equal: invalid label name "bad-name""#);
    }

    #[test]
    fn the_index_decides_as_the_rules_do() {
        let rules = [rule(
            "source_matchers: [severity=critical]\ntarget_matchers: [severity=warning]\nequal: [instance]",
        )];
        let firing = [
            labels(&[("severity", "critical"), ("instance", "a")]),
            labels(&[("severity", "warning"), ("instance", "b")]),
        ];
        let index = Inhibitions::new(&rules, &firing);
        for (instance, severity) in
            [("a", "warning"), ("b", "warning"), ("a", "critical"), ("c", "warning")]
        {
            let alert = labels(&[("severity", severity), ("instance", instance)]);
            assert_eq!(index.mutes(&alert), inhibited(&rules, &alert, &firing), "{alert}");
        }
        assert!(index.mutes(&labels(&[("severity", "warning"), ("instance", "a")])));
    }
}
