//! The routing tree of Alertmanager's `route:`: which routes (and so which receivers, grouping and timings) an
//! alert goes to. Semantics are Alertmanager's: an alert enters at the root and descends into the first child
//! whose matchers it satisfies, or into every matching child while `continue` is set; the deepest matching
//! routes take it, and a route none of whose children match takes it itself. A child inherits its parent's
//! receiver, `group_by` and timings unless it sets them; its matchers and time intervals are its own.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::matcher::{MatchOp, Matcher, all_match, configured_matchers};
use crate::file::parse_duration;
use crate::promql::Labels;

/// `route:` and its `routes:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub receiver: Option<String>,
    pub group_by: Option<Vec<String>>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Deprecated in Alertmanager, still accepted: label → value.
    #[serde(default, rename = "match")]
    pub match_equal: BTreeMap<String, String>,
    /// Deprecated in Alertmanager, still accepted: label → regex.
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    pub group_wait: Option<String>,
    pub group_interval: Option<String>,
    pub repeat_interval: Option<String>,
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// A route with everything it inherits resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Where the route is in the tree (`route`, `route.routes[2]`, …): names it in messages.
    pub path: String,
    /// Alertmanager's route key: the matchers of the route and of its parents (`{}/{service="db"}`), the first
    /// part of its groups' keys.
    pub key: String,
    pub receiver: String,
    pub group_by: GroupBy,
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub routes: Vec<Route>,
}

/// How a route groups its alerts into notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// By these labels; none puts every alert of the route in one group.
    Labels(Vec<String>),
    /// `['...']`: by all labels, each alert its own group.
    All,
}

/// Alertmanager's defaults for the root route.
const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 60 * 60);

impl Route {
    /// Builds the tree from the root's configuration; every error, each with its path (`route.routes[1].group_wait:
    /// …`). Receiver and time-interval names are checked by the caller, which knows them ([`Route::walk`]).
    pub fn root(config: &RouteConfig) -> Result<Route, Vec<String>> {
        let (root, errors) = Route::root_and_errors(config);
        if errors.is_empty() { Ok(root) } else { Err(errors) }
    }

    /// [`Route::root`], with the tree as far as it could be built even when there are errors (a bad value
    /// keeps its default), so that a caller can check the rest of it too.
    pub fn root_and_errors(config: &RouteConfig) -> (Route, Vec<String>) {
        let mut errors = Vec::new();
        let path = "route";
        if config.receiver.as_deref().is_none_or(str::is_empty) {
            errors.push(format!("{path}: the root route must specify a default receiver"));
        }
        if !config.matchers.is_empty()
            || !config.match_equal.is_empty()
            || !config.match_re.is_empty()
        {
            errors.push(format!("{path}: the root route must not have any matchers"));
        }
        if !config.mute_time_intervals.is_empty() {
            errors.push(format!("{path}: the root route must not have any mute time intervals"));
        }
        if !config.active_time_intervals.is_empty() {
            errors.push(format!("{path}: the root route must not have any active time intervals"));
        }
        if config.continue_matching {
            errors.push(format!("{path}: the root route cannot have continue"));
        }
        let defaults = Route {
            path: String::new(),
            key: String::new(),
            receiver: String::new(),
            group_by: GroupBy::Labels(Vec::new()),
            matchers: Vec::new(),
            continue_matching: false,
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            routes: Vec::new(),
        };
        let root = Route::child(config, &defaults, path.to_owned(), &mut errors);
        (root, errors)
    }

    fn child(
        config: &RouteConfig,
        parent: &Route,
        path: String,
        errors: &mut Vec<String>,
    ) -> Route {
        let mut duration = |field: &str, value: &Option<String>, inherited: Duration| {
            let Some(text) = value else { return inherited };
            match parse_duration(text) {
                Ok(duration) if duration.is_zero() && field != "group_wait" => {
                    errors.push(format!("{path}.{field}: cannot be zero"));
                    inherited
                }
                Ok(duration) => duration,
                Err(error) => {
                    errors.push(format!("{path}.{field}: {error}"));
                    inherited
                }
            }
        };
        let group_wait = duration("group_wait", &config.group_wait, parent.group_wait);
        let group_interval =
            duration("group_interval", &config.group_interval, parent.group_interval);
        let repeat_interval =
            duration("repeat_interval", &config.repeat_interval, parent.repeat_interval);
        let group_by = match &config.group_by {
            None => parent.group_by.clone(),
            Some(names) => group_by(names).unwrap_or_else(|error| {
                errors.push(format!("{path}.group_by: {error}"));
                parent.group_by.clone()
            }),
        };
        let lists = (&config.matchers[..], &config.match_equal, &config.match_re);
        let matchers = configured_matchers(lists, &path, "", errors);
        let mut route = Route {
            receiver: config.receiver.clone().unwrap_or_else(|| parent.receiver.clone()),
            group_by,
            matchers,
            continue_matching: config.continue_matching,
            group_wait,
            group_interval,
            repeat_interval,
            mute_time_intervals: config.mute_time_intervals.clone(),
            active_time_intervals: config.active_time_intervals.clone(),
            routes: Vec::new(),
            key: String::new(),
            path: path.clone(),
        };
        let own: Vec<String> = route.matchers.iter().map(ToString::to_string).collect();
        route.key = if parent.path.is_empty() {
            "{}".to_owned()
        } else {
            format!("{}/{{{}}}", parent.key, own.join(","))
        };
        route.routes = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, child)| {
                Route::child(child, &route, format!("{path}.routes[{index}]"), errors)
            })
            .collect();
        route
    }

    /// The routes that take an alert with `labels`, in tree order; never empty for the root.
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        if !all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut taken = Vec::new();
        for child in &self.routes {
            let matched = child.matching(labels);
            let stop = !matched.is_empty() && !child.continue_matching;
            taken.extend(matched);
            if stop {
                break;
            }
        }
        if taken.is_empty() {
            taken.push(self);
        }
        taken
    }

    /// The labels that name an alert's group on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => labels.keep_only(names),
        }
    }

    /// This route and every route under it, depth first.
    pub fn walk(&self) -> Vec<&Route> {
        let mut all = vec![self];
        for child in &self.routes {
            all.extend(child.walk());
        }
        all
    }
}

fn group_by(names: &[String]) -> Result<GroupBy, String> {
    if names.iter().any(|name| name == "...") {
        return match names.len() {
            1 => Ok(GroupBy::All),
            _ => Err("cannot have the wildcard '...' and other labels at the same time".to_owned()),
        };
    }
    let mut seen: Vec<&String> = Vec::with_capacity(names.len());
    for name in names {
        if seen.contains(&name) {
            return Err(format!("duplicated label {name:?}"));
        }
        if Matcher::new(name, MatchOp::Equal, "").is_err() {
            return Err(format!("invalid label name {name:?}"));
        }
        seen.push(name);
    }
    Ok(GroupBy::Labels(names.to_vec()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn tree(yaml: &str) -> Route {
        Route::root(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap()
    }

    fn errors(yaml: &str) -> Vec<String> {
        Route::root(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap_err()
    }

    fn receivers(route: &Route, pairs: &[(&str, &str)]) -> Vec<String> {
        let labels = Labels::new(pairs.iter().copied());
        route.matching(&labels).iter().map(|route| route.receiver.clone()).collect()
    }

    const TREE: &str = r#"
receiver: default
group_by: [alertname]
group_wait: 10s
routes:
  - matchers: ['team="db"']
    receiver: db
    group_by: [alertname, instance]
    routes:
      - matchers: ['severity="page"']
        receiver: db-pager
        repeat_interval: 1h
  - match_re: {service: "web|api"}
    receiver: web
    continue: true
  - matchers: ['severity=~"page|critical"']
    receiver: oncall
  - matchers: ['severity="info"']
    receiver: never-reached-after-oncall
"#;

    #[test]
    fn an_alert_goes_to_the_deepest_matching_routes_and_continues_only_where_asked() {
        let root = tree(TREE);
        assert_eq!(receivers(&root, &[("team", "db"), ("severity", "page")]), ["db-pager"]);
        assert_eq!(receivers(&root, &[("team", "db"), ("severity", "warn")]), ["db"]);
        assert_eq!(
            receivers(&root, &[("service", "web"), ("severity", "page")]),
            ["web", "oncall"]
        );
        assert_eq!(receivers(&root, &[("service", "webapp")]), ["default"]);
        assert_eq!(receivers(&root, &[("severity", "info")]), ["never-reached-after-oncall"]);
    }

    #[test]
    fn children_inherit_receiver_grouping_and_timings_unless_they_set_them() {
        let root = tree(TREE);
        assert_eq!(root.group_interval, Duration::from_secs(300));
        assert_eq!(root.repeat_interval, Duration::from_secs(4 * 3600));
        let db = &root.routes[0];
        let pager = &db.routes[0];
        assert_eq!(pager.group_by, GroupBy::Labels(vec!["alertname".into(), "instance".into()]));
        assert_eq!(pager.group_wait, Duration::from_secs(10));
        assert_eq!(pager.repeat_interval, Duration::from_secs(3600));
        assert_eq!(pager.path, "route.routes[0].routes[0]");
        assert_eq!(root.routes[1].group_by, GroupBy::Labels(vec!["alertname".into()]));
        let labels = Labels::new([("alertname", "Down"), ("instance", "a"), ("team", "db")]);
        assert_eq!(
            db.group_labels(&labels),
            Labels::new([("alertname", "Down"), ("instance", "a")])
        );
        let all = tree("receiver: r\ngroup_by: ['...']\n");
        assert_eq!(all.group_labels(&labels), labels);
    }

    #[test]
    fn every_mistake_of_the_tree_is_reported_with_its_path() {
        let found = errors(
            r#"
matchers: ['a="b"']
continue: true
group_by: ['...', alertname]
routes:
  - group_interval: 0s
    repeat_interval: 5x
    matchers: ['bad matcher']
    routes:
      - group_by: [job, job]
"#,
        );
        assert_eq!(
            found,
            [
                "route: the root route must specify a default receiver",
                "route: the root route must not have any matchers",
                "route: the root route cannot have continue",
                "route.group_by: cannot have the wildcard '...' and other labels at the same time",
                "route.routes[0].group_interval: cannot be zero",
                r#"route.routes[0].repeat_interval: unknown unit "x" in duration "5x""#,
                r#"route.routes[0].matchers[0]: bad matcher "bad matcher": no operator after the label name in "bad matcher""#,
                r#"route.routes[0].routes[0].group_by: duplicated label "job""#,
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let error =
            serde_yaml_ng::from_str::<RouteConfig>("receiver: a\ngroup_wiat: 1m\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `group_wiat`"), "{error}");
    }
}
