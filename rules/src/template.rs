//! The template language of alerting rules' `labels` and `annotations`: Go's text/template as Prometheus
//! runs it (prometheus/template/template.go, `Expander.Expand`), implemented here.
//!
//! As Prometheus does, every alert template is prefixed with
//! `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`
//! and run with `missingkey=zero`, so `{{ $labels.instance }}` of a missing label is empty. Templates are
//! parsed once, when the rule file loads ([`Template::parse`]), so a bad template rejects the file, and
//! rendered for each alert ([`Template::render`]). Output is text, never HTML-escaped.
//!
//! Messages are Go's, so that a rule's broken annotation reads as it would under Prometheus:
//! `error executing template __alert_X: template: __alert_X:1:130: executing "__alert_X" at <humanize "one">:
//! error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax`.

mod alertmanager;
mod ast;
mod builtins;
mod exec;
mod format;
mod functions;
mod gotime;
mod humanize;
mod lex;
mod parse;
mod strconv;
mod value;

use std::collections::BTreeMap;
use std::rc::Rc;

use self::ast::Tree;
use self::functions::{CallContext, Dialect};
use self::value::{AlertData, Value};

pub use self::alertmanager::{
    NotificationAlert, NotificationData, NotificationTemplate, NotificationTemplates,
};

/// The definitions Prometheus puts before every alert template.
const ALERT_DEFINITIONS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// A template that failed to parse or to render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not a valid template; `message` is Go's, such as
    /// `template: __alert_X:1: function "humanise" not defined`.
    #[error("error parsing template {name}: {message}")]
    Parse {
        /// The template's name.
        name: String,
        /// The line of the template text (1-based) the error was found on.
        line: usize,
        /// Go's message, including the name and line.
        message: String,
    },
    /// Rendering failed; `message` is Go's, naming the line, column and the failing part of the template.
    #[error("error executing template {name}: {message}")]
    Execute {
        /// The template's name.
        name: String,
        /// Go's message.
        message: String,
    },
}

/// One sample of a query result, as the `query` function returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// All labels, the metric name as `__name__`.
    pub labels: BTreeMap<String, String>,
    /// The sample value.
    pub value: f64,
}

/// Runs the instant queries of the `query` template function, at the evaluation time of the rule.
pub trait QueryFunctions {
    /// Evaluates the PromQL expression `expr` to an instant vector; the error is shown in the template's
    /// error message (`error calling query: <error>`).
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String>;
}

impl<F> QueryFunctions for F
where
    F: Fn(&str) -> Result<Vec<QuerySample>, String>,
{
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String> {
        self(expr)
    }
}

/// What an alert template sees.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateData {
    /// The alert's labels: `.Labels` and `$labels`.
    pub labels: BTreeMap<String, String>,
    /// The configured external labels: `.ExternalLabels` and `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// The external URL: `.ExternalURL`, `$externalURL`, and what `externalURL` and `pathPrefix` return.
    pub external_url: String,
    /// The alert's value: `.Value` and `$value`.
    pub value: f64,
    /// The evaluation time in milliseconds since the epoch, what `now` returns (in seconds).
    pub eval_time_ms: i64,
}

/// A parsed alert template.
#[derive(Debug, Clone)]
pub struct Template {
    tree: Tree,
}

impl Template {
    /// Parses an alert label or annotation template named `name` (Prometheus uses `__alert_<rule name>`),
    /// with Prometheus's variable definitions before it. Rejects what Go rejects at parse time, including
    /// calls of unknown functions; the error gives the line.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let full = format!("{ALERT_DEFINITIONS}{text}");
        Template::parse_text(name, &full)
    }

    /// Parses `text` as is, without the alert definitions.
    fn parse_text(name: &str, text: &str) -> Result<Template, TemplateError> {
        let tree =
            parse::parse(name, text, Dialect::Prometheus).map_err(|e| TemplateError::Parse {
                name: name.to_owned(),
                line: e.line,
                message: format!("template: {name}:{}: {}", e.line, e.message),
            })?;
        Ok(Template { tree })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.tree.name
    }

    /// Renders the template for one alert.
    pub fn render(
        &self,
        data: &TemplateData,
        queries: &dyn QueryFunctions,
    ) -> Result<String, TemplateError> {
        let dot = Value::Alert(Rc::new(AlertData {
            labels: Rc::new(data.labels.clone()),
            external_labels: Rc::new(data.external_labels.clone()),
            external_url: Rc::from(data.external_url.as_str()),
            value: data.value,
        }));
        self.execute(dot, data, queries)
    }

    fn execute(
        &self,
        dot: Value,
        data: &TemplateData,
        queries: &dyn QueryFunctions,
    ) -> Result<String, TemplateError> {
        let ctx = CallContext {
            queries,
            external_url: &data.external_url,
            eval_time_ms: data.eval_time_ms,
            escape_html: false,
        };
        exec::execute(&self.tree, dot, &ctx)
            .map_err(|message| TemplateError::Execute { name: self.tree.name.clone(), message })
    }
}

/// Prometheus's link to an expression in its graph page (table view) under `external_url`, as alerts'
/// `generatorURL` is.
pub fn graph_link(external_url: &str, expr: &str) -> String {
    format!("{external_url}/graph?g0.expr={}&g0.tab=1", builtins::query_escape(expr))
}

/// A [`QueryFunctions`] for templates rendered where no query engine is at hand: every query fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueries;

impl QueryFunctions for NoQueries {
    fn query(&self, _expr: &str) -> Result<Vec<QuerySample>, String> {
        Err("queries are not available here".to_owned())
    }
}

#[cfg(test)]
mod tests;
