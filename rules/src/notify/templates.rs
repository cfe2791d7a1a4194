//! The templates of receivers' fields (Slack's `title`, `text`, …, email's `html`, `text` and headers), in
//! Alertmanager's template language with its data, reading the `define`s of the configuration's `templates:`
//! files.
//!
//! A field's template is checked when the configuration loads: it must parse, and it must render for a
//! sample notification, so that a call of a template name nobody defined is reported by `sightline config
//! check`, not at 3 a.m. If a template still fails on a real notification, the integration says so in the
//! log and sends its default layout instead: a notification in a plainer form beats none.

use std::cell::OnceCell;
use std::path::Path;
use std::sync::Arc;

use super::config::NotificationsConfig;
use super::message::{Message, MessageAlert, parse_rfc3339};
use crate::template::{
    NotificationAlert, NotificationData, NotificationTemplate, NotificationTemplates,
};

/// Reads the `templates:` files (globs relative to `base_dir`, as Alertmanager's are relative to its
/// configuration file) into the names the fields may call.
pub fn load(
    config: &NotificationsConfig,
    base_dir: &Path,
) -> Result<NotificationTemplates, Vec<String>> {
    let paths = crate::file::rule_file_paths(&config.templates, base_dir).map_err(|errors| {
        errors.iter().map(|error| format!("templates: {error}")).collect::<Vec<_>>()
    })?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path, text)),
            Err(error) => errors.push(format!("templates: reading {path}: {error}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    NotificationTemplates::new(&files).map_err(|error| vec![format!("templates: {error}")])
}

/// One templated field of an integration.
#[derive(Debug, Clone)]
pub struct Field {
    /// Where it is in the configuration, for messages: `receivers[0].slack_configs[0].title`.
    pub path: String,
    /// Shared: a parsed template holds its whole tree, and the default names' too.
    template: Arc<NotificationTemplate>,
}

/// Parses the templated fields of one integration's configuration (at `path`), collecting every problem.
#[derive(Debug)]
pub struct FieldParser<'t> {
    templates: &'t NotificationTemplates,
    path: &'t str,
    errors: Vec<String>,
}

impl<'t> FieldParser<'t> {
    pub fn new(templates: &'t NotificationTemplates, path: &'t str) -> FieldParser<'t> {
        FieldParser { templates, path, errors: Vec::new() }
    }

    /// The field `name`, if the configuration sets it; checked by rendering a sample notification.
    pub fn field(&mut self, name: &str, text: Option<&str>) -> Option<Field> {
        let text = text?;
        let path = format!("{}.{name}", self.path);
        let parsed = self.templates.parse(&path, text).and_then(|template| {
            template.render(&sample(), 0, false)?;
            Ok(template)
        });
        match parsed {
            Ok(template) => Some(Field { path, template: Arc::new(template) }),
            Err(error) => {
                self.errors.push(error.to_string());
                None
            }
        }
    }

    /// A problem of the integration's configuration found besides its templates.
    pub fn error(&mut self, message: impl std::fmt::Display) {
        self.errors.push(format!("{}.{message}", self.path));
    }

    /// `fields`, or every problem found.
    pub fn finish<T>(self, fields: T) -> Result<T, Vec<String>> {
        if self.errors.is_empty() { Ok(fields) } else { Err(self.errors) }
    }
}

/// Renders the fields of one message: what templates see is built once, and only if a field is set.
#[derive(Debug)]
pub struct Renderer<'m> {
    message: &'m Message,
    now_ms: i64,
    data: OnceCell<NotificationData>,
}

impl<'m> Renderer<'m> {
    pub fn new(message: &'m Message, now_ms: i64) -> Renderer<'m> {
        Renderer { message, now_ms, data: OnceCell::new() }
    }

    /// The field rendered; `None` if it is not set or, with a warning, if its template fails. `html`
    /// escapes what its actions print.
    pub fn render(&self, field: Option<&Field>, html: bool) -> Option<String> {
        let field = field?;
        let data = self.data.get_or_init(|| data(self.message));
        match field.template.render(data, self.now_ms, html) {
            Ok(text) => Some(text),
            Err(error) => {
                tracing::warn!(
                    field = %field.path,
                    %error,
                    "notification template failed; the default layout is used"
                );
                None
            }
        }
    }
}

/// What templates see of a message: Alertmanager's `template.Data`.
fn data(message: &Message) -> NotificationData {
    NotificationData {
        receiver: message.receiver.clone(),
        status: message.status.clone(),
        alerts: message.alerts.iter().map(alert).collect(),
        group_labels: message.group_labels.clone(),
        common_labels: message.common_labels.clone(),
        common_annotations: message.common_annotations.clone(),
        external_url: message.external_url.clone(),
    }
}

fn alert(alert: &MessageAlert) -> NotificationAlert {
    NotificationAlert {
        status: alert.status.clone(),
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at_ms: parse_rfc3339(&alert.starts_at).unwrap_or(0),
        ends_at_ms: (alert.status == "resolved").then(|| parse_rfc3339(&alert.ends_at)).flatten(),
        generator_url: alert.generator_url.clone(),
        fingerprint: alert.fingerprint.clone(),
    }
}

/// A notification with one firing and one resolved alert, to check that templates render.
fn sample() -> NotificationData {
    let labels = |service: &str| {
        [("alertname", "Sample"), ("service", service), ("severity", "warning")]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    };
    let alert = |status: &str, service: &str| NotificationAlert {
        status: status.to_owned(),
        labels: labels(service),
        annotations: [("summary".to_owned(), "a sample alert".to_owned())].into(),
        starts_at_ms: 0,
        ends_at_ms: (status == "resolved").then_some(60_000),
        generator_url: String::new(),
        fingerprint: "0000000000000000".to_owned(),
    };
    NotificationData {
        receiver: "sample".to_owned(),
        status: "firing".to_owned(),
        alerts: vec![alert("firing", "a"), alert("resolved", "b")],
        group_labels: [("alertname".to_owned(), "Sample".to_owned())].into(),
        common_labels: [("alertname".to_owned(), "Sample".to_owned())].into(),
        common_annotations: [("summary".to_owned(), "a sample alert".to_owned())].into(),
        external_url: String::new(),
    }
}
