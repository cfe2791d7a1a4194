//! Alertmanager's notification templates: the data they see (`template.Data`, with `template.Alerts`,
//! `template.KV` and their methods), Alertmanager's function set, and its default template names, so that the
//! `title`, `text`, `html` or `Subject` of an existing `alertmanager.yml`, and the `define`s of its
//! `templates:` files, render here as they do there.
//!
//! Two differences, both in what is refused rather than in what renders: `tz` and `toJson` are not
//! available (a template calling them does not load), and HTML templates escape what each action prints
//! (as html/template does in text, not per attribute or script context) unless the action ends in
//! `safeHtml`.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::ast::{List, Tree};
use super::exec;
use super::functions::{CallContext, Dialect};
use super::gotime::{GoTime, Method};
use super::parse;
use super::value::{ListKind, Record, Value};
use super::{NoQueries, TemplateError};

/// Alertmanager's default template names (its `default.tmpl`), which configurations refer to, written for
/// sightline: the subject and the Slack defaults read as Alertmanager's; the email HTML is sightline's own.
const DEFAULTS: &str = r#"
{{ define "__alertmanager" }}sightline{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/alerts?receiver={{ .Receiver | urlquery }}{{ end }}
{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "__description" }}{{ end }}
{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
{{ define "__text_alert_list_markdown" }}{{ range . }}
Labels:
{{ range .Labels.SortedPairs }}  - {{ .Name }} = {{ .Value }}
{{ end }}
Annotations:
{{ range .Annotations.SortedPairs }}  - {{ .Name }} = {{ .Value }}
{{ end }}
Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.text" }}{{ end }}
{{ define "slack.default.footer" }}{{ end }}
{{ define "email.default.subject" }}{{ template "__subject" . }}{{ end }}
{{ define "email.default.html" }}<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ template "__subject" . }}</title></head>
<body style="font-family: sans-serif">
<h2>{{ template "__subject" . }}</h2>
{{ if gt (len .Alerts.Firing) 0 }}<h3>Firing</h3>
{{ range .Alerts.Firing }}<p>{{ range .Labels.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}{{ range .Annotations.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}{{ if .GeneratorURL }}<a href="{{ .GeneratorURL }}">Source</a>{{ end }}</p>
{{ end }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}<h3>Resolved</h3>
{{ range .Alerts.Resolved }}<p>{{ range .Labels.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}{{ range .Annotations.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}{{ if .GeneratorURL }}<a href="{{ .GeneratorURL }}">Source</a>{{ end }}</p>
{{ end }}{{ end }}{{ if .ExternalURL }}<p><a href="{{ template "__alertmanagerURL" . }}">Open in sightline</a></p>{{ end }}
</body></html>
{{ end }}
"#;

/// What a notification template sees as `.`: Alertmanager's `template.Data`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotificationData {
    pub receiver: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub alerts: Vec<NotificationAlert>,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    pub external_url: String,
}

/// One alert of [`NotificationData`]: Alertmanager's `template.Alert`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotificationAlert {
    /// `firing` or `resolved`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at_ms: i64,
    /// `None` while the alert fires (Go's zero time, as in Alertmanager).
    pub ends_at_ms: Option<i64>,
    pub generator_url: String,
    pub fingerprint: String,
}

/// The templates a notification configuration may call by name: Alertmanager's defaults, then the
/// `define`s of its `templates:` files (a later definition of a name replaces an earlier one).
#[derive(Debug, Clone)]
pub struct NotificationTemplates {
    defined: HashMap<String, List>,
}

/// One parsed template of a receiver's field (`title`, `text`, `html`, a header), with every name of its
/// [`NotificationTemplates`].
#[derive(Debug, Clone)]
pub struct NotificationTemplate {
    tree: Tree,
}

impl NotificationTemplates {
    /// The defaults and the `define`s of `files`, given as (name, text) pairs.
    pub fn new(files: &[(String, String)]) -> Result<NotificationTemplates, TemplateError> {
        let mut defined = parse_text("default.tmpl", DEFAULTS)?.defined;
        for (name, text) in files {
            let tree = parse_text(name, text)?;
            // A file's own top level is not a template anyone can call.
            defined
                .extend(tree.defined.into_iter().filter(|(defined_name, _)| defined_name != name));
        }
        Ok(NotificationTemplates { defined })
    }

    /// Parses the template of one field; `name` names it in errors (`receivers[0].slack_configs[0].title`).
    pub fn parse(&self, name: &str, text: &str) -> Result<NotificationTemplate, TemplateError> {
        let mut tree = parse_text(name, text)?;
        for (defined_name, list) in &self.defined {
            tree.defined.entry(defined_name.clone()).or_insert_with(|| list.clone());
        }
        Ok(NotificationTemplate { tree })
    }
}

impl NotificationTemplate {
    /// Renders the template for a notification at `now_ms` (what `since` measures to). `html` escapes what
    /// actions print, for the HTML body of an email.
    pub fn render(
        &self,
        data: &NotificationData,
        now_ms: i64,
        html: bool,
    ) -> Result<String, TemplateError> {
        let ctx = CallContext {
            queries: &NoQueries,
            external_url: &data.external_url,
            eval_time_ms: now_ms,
            escape_html: html,
        };
        exec::execute(&self.tree, data_value(data), &ctx)
            .map_err(|message| TemplateError::Execute { name: self.tree.name.clone(), message })
    }
}

fn parse_text(name: &str, text: &str) -> Result<Tree, TemplateError> {
    parse::parse(name, text, Dialect::Alertmanager).map_err(|e| TemplateError::Parse {
        name: name.to_owned(),
        line: e.line,
        message: format!("template: {name}:{}: {}", e.line, e.message),
    })
}

fn data_value(data: &NotificationData) -> Value {
    let alerts = data.alerts.iter().map(alert_value).collect();
    record(
        "template.Data",
        vec![
            ("Receiver", Value::str(&data.receiver)),
            ("Status", Value::str(&data.status)),
            ("Alerts", Value::List(ListKind::Alerts, Rc::new(alerts))),
            ("GroupLabels", kv(&data.group_labels)),
            ("CommonLabels", kv(&data.common_labels)),
            ("CommonAnnotations", kv(&data.common_annotations)),
            ("ExternalURL", Value::str(&data.external_url)),
        ],
    )
}

fn alert_value(alert: &NotificationAlert) -> Value {
    let ends_at = alert.ends_at_ms.map_or(GoTime::ZERO, GoTime::from_millis);
    record(
        "template.Alert",
        vec![
            ("Status", Value::str(&alert.status)),
            ("Labels", kv(&alert.labels)),
            ("Annotations", kv(&alert.annotations)),
            ("StartsAt", Value::Time(GoTime::from_millis(alert.starts_at_ms))),
            ("EndsAt", Value::Time(ends_at)),
            ("GeneratorURL", Value::str(&alert.generator_url)),
            ("Fingerprint", Value::str(&alert.fingerprint)),
        ],
    )
}

fn record(type_name: &'static str, fields: Vec<(&'static str, Value)>) -> Value {
    Value::Record(Rc::new(Record { type_name, fields }))
}

fn kv(map: &BTreeMap<String, String>) -> Value {
    Value::Kv(Rc::new(map.clone()))
}

/// The methods of `template.Alerts`, `template.KV` and `template.Pairs`.
pub(crate) fn call_method(method: Method, receiver: &Value, arg: Option<&Value>) -> Value {
    match (receiver, method) {
        (Value::List(ListKind::Alerts, alerts), Method::Firing | Method::Resolved) => {
            let wanted = if method == Method::Firing { "firing" } else { "resolved" };
            let kept = alerts
                .iter()
                .filter(|alert| {
                    matches!(alert.struct_field("Status"), Some(Value::Str(s)) if &*s == wanted)
                })
                .cloned()
                .collect();
            Value::List(ListKind::Alerts, Rc::new(kept))
        }
        (Value::List(ListKind::Pairs, pairs), Method::Names | Method::Values) => {
            let field = if method == Method::Names { "Name" } else { "Value" };
            let items = pairs.iter().filter_map(|pair| pair.struct_field(field)).collect();
            Value::List(ListKind::Strings, Rc::new(items))
        }
        (Value::Kv(map), Method::SortedPairs) => sorted_pairs(map),
        (Value::Kv(map), Method::Names | Method::Values) => {
            call_method(method, &sorted_pairs(map), None)
        }
        (Value::Kv(map), Method::Remove) => {
            let removed: Vec<&str> = match arg {
                Some(Value::List(_, names)) => names
                    .iter()
                    .filter_map(|name| match name {
                        Value::Str(s) => Some(&**s),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let kept = map
                .iter()
                .filter(|(name, _)| !removed.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            Value::Kv(Rc::new(kept))
        }
        _ => Value::Nil,
    }
}

/// Alertmanager's `KV.SortedPairs`: `alertname` first, then the others by name.
fn sorted_pairs(map: &BTreeMap<String, String>) -> Value {
    let first = map.get_key_value("alertname");
    let rest = map.iter().filter(|(name, _)| *name != "alertname");
    let pairs = first
        .into_iter()
        .chain(rest)
        .map(|(name, value)| {
            record("template.Pair", vec![("Name", Value::str(name)), ("Value", Value::str(value))])
        })
        .collect();
    Value::List(ListKind::Pairs, Rc::new(pairs))
}

#[cfg(test)]
mod tests;
