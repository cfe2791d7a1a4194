//! The notifications configuration, in Alertmanager's `alertmanager.yml` format: `global`, `route`,
//! `receivers` (with `slack_configs`, `email_configs` and `webhook_configs`), `inhibit_rules`,
//! `time_intervals` (and their older name `mute_time_intervals`) and `templates`. A file that uses only these
//! loads unchanged; any other field, such as another kind of receiver, is refused by name.
//!
//! [`NotificationsConfig::check`] validates the whole of it as Alertmanager does and reports every problem at
//! once, each with its path.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::inhibit::{InhibitRule, InhibitRuleConfig};
use super::route::{Route, RouteConfig};
use super::time_interval::TimeInterval;
use crate::file::parse_duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    #[serde(default)]
    pub global: GlobalConfig,
    pub route: Option<RouteConfig>,
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalsConfig>,
    /// The older name of `time_intervals`, still accepted.
    #[serde(default)]
    pub mute_time_intervals: Vec<TimeIntervalsConfig>,
    /// Template files (globs) whose `define`s the receivers' templates may use.
    #[serde(default)]
    pub templates: Vec<String>,
}

/// `global:` — defaults for the receivers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    pub resolve_timeout: Option<String>,
    pub http_config: Option<HttpClientConfig>,
    pub smtp_from: Option<String>,
    pub smtp_hello: Option<String>,
    pub smtp_smarthost: Option<String>,
    pub smtp_auth_username: Option<String>,
    pub smtp_auth_password: Option<String>,
    pub smtp_auth_password_file: Option<String>,
    pub smtp_auth_identity: Option<String>,
    pub smtp_auth_secret: Option<String>,
    pub smtp_require_tls: Option<bool>,
    pub slack_api_url: Option<String>,
    pub slack_api_url_file: Option<String>,
}

/// The HTTP client settings of a receiver (`http_config:`), the part of Prometheus's that applies here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    pub authorization: Option<AuthorizationConfig>,
    pub basic_auth: Option<BasicAuthConfig>,
    pub tls_config: Option<TlsClientConfig>,
    pub follow_redirects: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationConfig {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub credentials: Option<String>,
    pub credentials_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsClientConfig {
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: Option<bool>,
}

/// One entry of `receivers:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub name: String,
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    #[serde(default)]
    pub email_configs: Vec<EmailConfig>,
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Resolved notifications are sent unless this is `false` (Alertmanager's default is not to).
    pub send_resolved: Option<bool>,
    /// An incoming webhook's URL, or the Web API's `chat.postMessage` URL used with a bot token in
    /// `http_config.authorization`.
    pub api_url: Option<String>,
    pub api_url_file: Option<String>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub color: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    pub pretext: Option<String>,
    pub text: Option<String>,
    pub footer: Option<String>,
    pub fallback: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub link_names: Option<bool>,
    pub http_config: Option<HttpClientConfig>,
    /// sightline's extension, for the Web API: tell each change of the incident in its message's thread too.
    pub thread_replies: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Resolved notifications are sent unless this is `false` (Alertmanager's default is not to).
    pub send_resolved: Option<bool>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub smarthost: Option<String>,
    pub hello: Option<String>,
    pub auth_username: Option<String>,
    pub auth_password: Option<String>,
    pub auth_password_file: Option<String>,
    pub auth_identity: Option<String>,
    pub auth_secret: Option<String>,
    pub require_tls: Option<bool>,
    pub tls_config: Option<TlsClientConfig>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub html: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Resolved notifications are sent unless this is `false` (as in Alertmanager).
    pub send_resolved: Option<bool>,
    pub url: Option<String>,
    pub url_file: Option<String>,
    /// The most alerts one request carries; 0 for all of them.
    pub max_alerts: Option<u64>,
    pub timeout: Option<String>,
    pub http_config: Option<HttpClientConfig>,
    /// sightline's extension: a secret to sign each request with ([`super::webhook::SIGNATURE_HEADER`]).
    pub signing_secret: Option<String>,
    pub signing_secret_file: Option<String>,
}

/// One named entry of `time_intervals:`; its intervals are read by [`TimeInterval::parse`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalsConfig {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<serde_yaml_ng::Value>,
}

/// A checked configuration: the routing tree, the inhibition rules and the time intervals, built.
#[derive(Debug, Clone)]
pub struct Notifications {
    pub route: Route,
    pub inhibit_rules: Vec<InhibitRule>,
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    pub config: NotificationsConfig,
}

impl NotificationsConfig {
    /// Reads the YAML text of an `alertmanager.yml`; unknown fields are refused by name.
    pub fn parse(text: &str) -> Result<NotificationsConfig, String> {
        serde_yaml_ng::from_str(text).map_err(|error| error.to_string())
    }

    /// The YAML text with every secret (URLs that carry tokens, passwords, credentials) replaced by
    /// `<secret>`, as Alertmanager shows its configuration in `/api/v2/status`. Text that is not YAML is
    /// not shown at all.
    pub fn redact_secrets(text: &str) -> String {
        const SECRET_KEYS: &[&str] = &[
            "slack_api_url",
            "smtp_auth_password",
            "smtp_auth_secret",
            "api_url",
            "url",
            "auth_password",
            "auth_secret",
            "credentials",
            "password",
            "signing_secret",
        ];
        fn redact(value: &mut serde_yaml_ng::Value) {
            match value {
                serde_yaml_ng::Value::Mapping(mapping) => {
                    for (key, item) in mapping.iter_mut() {
                        let secret = key.as_str().is_some_and(|key| SECRET_KEYS.contains(&key));
                        if secret && !item.is_null() {
                            *item = serde_yaml_ng::Value::String("<secret>".to_owned());
                        } else {
                            redact(item);
                        }
                    }
                }
                serde_yaml_ng::Value::Sequence(items) => items.iter_mut().for_each(redact),
                serde_yaml_ng::Value::Tagged(tagged) => redact(&mut tagged.value),
                _ => {}
            }
        }
        let Ok(mut value) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) else {
            return String::new();
        };
        redact(&mut value);
        serde_yaml_ng::to_string(&value).unwrap_or_default()
    }

    /// Checks everything Alertmanager checks; every problem, each with its path.
    pub fn check(self) -> Result<Notifications, Vec<String>> {
        let mut errors = Vec::new();
        let route = match &self.route {
            None => {
                errors.push("route: no route provided".to_owned());
                None
            }
            Some(config) => {
                let (route, found) = Route::root_and_errors(config);
                errors.extend(found);
                Some(route)
            }
        };
        if let Some(timeout) = &self.global.resolve_timeout
            && let Err(error) = parse_duration(timeout)
        {
            errors.push(format!("global.resolve_timeout: {error}"));
        }
        let receivers = self.check_receivers(&mut errors);
        let intervals = self.check_time_intervals(&mut errors);
        if let Some(route) = &route {
            for route in route.walk() {
                // An empty receiver is already reported (the root must name one).
                if !route.receiver.is_empty() && !receivers.contains(route.receiver.as_str()) {
                    errors.push(format!(
                        "{}: receiver {:?} does not exist",
                        route.path, route.receiver
                    ));
                }
                let named = route.mute_time_intervals.iter().chain(&route.active_time_intervals);
                for name in named {
                    if !intervals.contains_key(name) {
                        errors
                            .push(format!("{}: time interval {name:?} does not exist", route.path));
                    }
                }
            }
        }
        let mut inhibit_rules = Vec::new();
        for (index, rule) in self.inhibit_rules.iter().enumerate() {
            match InhibitRule::new(rule, &format!("inhibit_rules[{index}]")) {
                Ok(rule) => inhibit_rules.push(rule),
                Err(found) => errors.extend(found),
            }
        }
        match route {
            Some(route) if errors.is_empty() => {
                Ok(Notifications { route, inhibit_rules, time_intervals: intervals, config: self })
            }
            _ => Err(errors),
        }
    }

    /// The receivers' names (unique), after checking each receiver's integrations.
    fn check_receivers(&self, errors: &mut Vec<String>) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        let global = &self.global;
        for (index, receiver) in self.receivers.iter().enumerate() {
            let path = format!("receivers[{index}]");
            if receiver.name.is_empty() {
                errors.push(format!("{path}.name: a receiver needs a name"));
            } else if !names.insert(receiver.name.as_str()) {
                errors.push(format!("{path}.name: receiver {:?} is not unique", receiver.name));
            }
            for (n, slack) in receiver.slack_configs.iter().enumerate() {
                let path = format!("{path}.slack_configs[{n}]");
                let has_url = one_of(errors, &path, "api_url", &slack.api_url, &slack.api_url_file);
                if !has_url && global.slack_api_url.is_none() && global.slack_api_url_file.is_none()
                {
                    errors
                        .push(format!("{path}: no api_url, api_url_file or global slack_api_url"));
                }
            }
            for (n, email) in receiver.email_configs.iter().enumerate() {
                let path = format!("{path}.email_configs[{n}]");
                if email.to.as_deref().is_none_or(str::is_empty) {
                    errors.push(format!("{path}.to: missing"));
                }
                if email.from.is_none() && global.smtp_from.is_none() {
                    errors.push(format!("{path}.from: missing, and no global smtp_from"));
                }
                if email.smarthost.is_none() && global.smtp_smarthost.is_none() {
                    errors.push(format!("{path}.smarthost: missing, and no global smtp_smarthost"));
                }
                one_of(
                    errors,
                    &path,
                    "auth_password",
                    &email.auth_password,
                    &email.auth_password_file,
                );
            }
            for (n, webhook) in receiver.webhook_configs.iter().enumerate() {
                let path = format!("{path}.webhook_configs[{n}]");
                if !one_of(errors, &path, "url", &webhook.url, &webhook.url_file) {
                    errors.push(format!("{path}: one of url or url_file is required"));
                }
                one_of(
                    errors,
                    &path,
                    "signing_secret",
                    &webhook.signing_secret,
                    &webhook.signing_secret_file,
                );
                if let Some(timeout) = &webhook.timeout
                    && let Err(error) = parse_duration(timeout)
                {
                    errors.push(format!("{path}.timeout: {error}"));
                }
            }
        }
        names
    }

    /// The time intervals by name (unique), read.
    fn check_time_intervals(
        &self,
        errors: &mut Vec<String>,
    ) -> BTreeMap<String, Vec<TimeInterval>> {
        let mut names = BTreeMap::new();
        let all = [
            ("time_intervals", &self.time_intervals),
            ("mute_time_intervals", &self.mute_time_intervals),
        ];
        for (field, intervals) in all {
            for (index, interval) in intervals.iter().enumerate() {
                let mut read = Vec::new();
                for (n, value) in interval.time_intervals.iter().enumerate() {
                    let path = format!("{field}[{index}].time_intervals[{n}]");
                    match TimeInterval::parse(value, &path) {
                        Ok(parsed) => read.push(parsed),
                        Err(found) => errors.extend(found),
                    }
                }
                if interval.name.is_empty() {
                    errors.push(format!("{field}[{index}].name: a time interval needs a name"));
                } else if names.insert(interval.name.clone(), read).is_some() {
                    errors.push(format!(
                        "{field}[{index}].name: time interval {:?} is not unique",
                        interval.name
                    ));
                }
            }
        }
        names
    }
}

/// Whether `field` or `field_file` is given; both at once is an error.
fn one_of(
    errors: &mut Vec<String>,
    path: &str,
    field: &str,
    inline: &Option<String>,
    file: &Option<String>,
) -> bool {
    if inline.is_some() && file.is_some() {
        errors.push(format!("{path}: at most one of {field} and {field}_file"));
    }
    inline.is_some() || file.is_some()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// An `alertmanager.yml` as teams write them, with every part this module reads.
    const ALERTMANAGER_YML: &str = r#"
global:
  resolve_timeout: 5m
  smtp_smarthost: 'smtp.example.org:587'
  smtp_from: 'alertmanager@example.org'
  smtp_auth_username: 'alertmanager'
  smtp_auth_password: 'password'
  slack_api_url: 'https://hooks.slack.com/services/T000/B000/XXXX'
templates:
  - '/etc/alertmanager/templates/*.tmpl'
route:
  receiver: team-mails
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  routes:
    - matchers: [service=~"foo1|foo2|baz"]
      receiver: team-mails
      routes:
        - matchers: [severity="critical"]
          receiver: team-pager
    - matchers: [service="files"]
      receiver: team-slack
      mute_time_intervals: [offhours]
    - matchers: [service="database"]
      receiver: team-hook
      group_by: [alertname, cluster, database]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster, service]
time_intervals:
  - name: offhours
    time_intervals:
      - times:
          - start_time: '18:00'
            end_time: '24:00'
receivers:
  - name: team-mails
    email_configs:
      - to: 'team@example.org'
  - name: team-pager
    email_configs:
      - to: 'pager@example.org'
        send_resolved: true
  - name: team-slack
    slack_configs:
      - channel: '#alerts'
        title: '{{ .CommonLabels.alertname }}'
  - name: team-hook
    webhook_configs:
      - url: 'http://hooks.internal:8080/alerts'
        max_alerts: 20
"#;

    #[test]
    fn an_alertmanager_yml_using_these_parts_loads_unchanged() {
        let checked = NotificationsConfig::parse(ALERTMANAGER_YML).unwrap().check().unwrap();
        assert_eq!(checked.route.receiver, "team-mails");
        assert_eq!(checked.route.routes.len(), 3);
        assert_eq!(checked.inhibit_rules.len(), 1);
        assert_eq!(checked.config.receivers.len(), 4);
    }

    #[test]
    fn other_receivers_and_fields_are_refused_by_name() {
        let other = "route: {receiver: a}\nreceivers:\n  - name: a\n    pagerduty_configs: [{service_key: x}]\n";
        let error = NotificationsConfig::parse(other).unwrap_err();
        assert!(error.contains("unknown field `pagerduty_configs`"), "{error}");
        let misspelt =
            "route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs: [{uri: x}]\n";
        assert!(NotificationsConfig::parse(misspelt).unwrap_err().contains("unknown field `uri`"));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let text = r#"
global: {resolve_timeout: 5x}
route:
  receiver: nobody
  routes:
    - receiver: hook
      active_time_intervals: [weekends]
receivers:
  - name: hook
    webhook_configs: [{timeout: 10s}]
  - name: hook
    email_configs: [{to: a@example.org}]
    slack_configs: [{api_url: 'https://x', api_url_file: /run/secret}]
inhibit_rules:
  - equal: ['not-a-label']
"#;
        let errors = NotificationsConfig::parse(text).unwrap().check().unwrap_err();
        assert_eq!(
            errors,
            [
                r#"global.resolve_timeout: unknown unit "x" in duration "5x""#,
                r#"receivers[0].webhook_configs[0]: one of url or url_file is required"#,
                r#"receivers[1].name: receiver "hook" is not unique"#,
                r#"receivers[1].slack_configs[0]: at most one of api_url and api_url_file"#,
                r#"receivers[1].email_configs[0].from: missing, and no global smtp_from"#,
                r#"receivers[1].email_configs[0].smarthost: missing, and no global smtp_smarthost"#,
                r#"route: receiver "nobody" does not exist"#,
                r#"route.routes[0]: time interval "weekends" does not exist"#,
                r#"inhibit_rules[0].equal: invalid label name "not-a-label""#,
            ]
        );
        let no_route = NotificationsConfig::parse("receivers: []\n").unwrap().check().unwrap_err();
        assert_eq!(no_route, ["route: no route provided"]);
    }
}
