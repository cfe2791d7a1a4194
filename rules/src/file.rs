//! Prometheus rule files: loading and validating them exactly as strictly as Prometheus 3 does (`rulefmt` and
//! `promtool check rules`), plus sightline's one extension, `sql:` in place of `expr:`.
//!
//! A file is read in three steps: the YAML text becomes a tree of nodes that know their line and column
//! (`yaml`, on `saphyr-parser`'s events: serde can give no positions); the tree is decoded into the fields of
//! groups and rules, refusing unknown fields, repeated keys and values of the wrong kind, as go-yaml does for
//! Prometheus (`decode`); the decoded fields are checked as `rulefmt` checks them and become the model below
//! (`validate`). Every step goes on after a problem, so all the errors of a file are reported at
//! once, each with its file, line, column, group and rule. Like Prometheus 3, validation also parses the Go
//! templates of alerting rules' labels and annotations (`crate::template`).

mod decode;
mod duration;
mod glob;
mod load;
mod validate;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use promql_parser::parser::Expr;

pub use duration::{DurationError, parse_duration};
pub use load::{LoadedRuleFile, LoadedRuleFiles, load_rule_files, read_rule_file, rule_file_paths};

/// A rule file: its groups, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    /// The groups, in file order.
    pub groups: Vec<RuleGroup>,
}

/// A group of rules, evaluated in order at one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// Unique within its file (not across files: Prometheus keys groups by file and name).
    pub name: String,
    /// How often the group runs; `None` when the file gives none, or gives `0`, which Prometheus also reads as
    /// "use the global `evaluation_interval`".
    pub interval: Option<Duration>,
    /// How far back the group's queries look; `None` when unset (the global default applies), `Some(ZERO)` when
    /// set to `0` explicitly, which overrides a global offset.
    pub query_offset: Option<Duration>,
    /// The most alerts an alerting rule, or series a recording rule, may produce per evaluation; `None` when
    /// unset, `0` or negative, which Prometheus all reads as "no limit".
    pub limit: Option<NonZeroUsize>,
    /// Labels added to every rule of the group (a rule's own label of the same name wins).
    pub labels: BTreeMap<String, String>,
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
    /// The line of the group in its file (1-based).
    pub line: usize,
}

/// An alerting or recording rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Alerting or recording, with the name and the fields of that kind.
    pub kind: RuleKind,
    /// What the rule evaluates.
    pub query: Query,
    /// Labels set on the alerts or recorded series; templates for alerting rules.
    pub labels: BTreeMap<String, String>,
    /// Templates rendered for each alert; always empty for a recording rule.
    pub annotations: BTreeMap<String, String>,
    /// sightline's extension `resolve_expr:` (alerting rules): a firing alert resolves only once this PromQL
    /// returns a series whose labels it has, so that an alert does not flap around its threshold.
    pub resolve_expr: Option<Expr>,
    /// sightline's extension `on_error:` — what a failed evaluation does to the rule's alerts.
    pub on_error: FailurePolicy,
    /// sightline's extension `on_no_data:` — what an evaluation does whose query read no series at all.
    pub on_no_data: FailurePolicy,
    /// The line of the rule in its file (1-based); for a rule written as an alias (`- *name`), the anchored rule's.
    pub line: usize,
}

/// What a rule produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `alert:` — alerts named `name`.
    Alerting {
        name: String,
        /// `for:` — how long a condition must hold before its alert fires (pending until then); zero fires at once.
        for_: Duration,
        /// `keep_firing_for:` — how long an alert keeps firing after its condition stopped holding.
        keep_firing_for: Duration,
    },
    /// `record:` — series recorded under the metric name `name`.
    Recording { name: String },
}

/// What an alerting rule does when its evaluation fails or reads no data: never a silent recovery unless asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// `keep_last` (the default): every alert keeps the state it had, pending timers included.
    #[default]
    KeepLast,
    /// `alerting`: the condition is taken to hold — the last result is evaluated again (or one alert with
    /// the rule's own labels when there was none), so alerts go pending and fire after `for`.
    Alerting,
    /// `ok`: an empty result, as Prometheus treats it — alerts resolve.
    Ok,
}

impl FailurePolicy {
    pub const NAMES: &str = "keep_last, alerting, ok";

    pub fn parse(text: &str) -> Option<FailurePolicy> {
        match text {
            "keep_last" => Some(FailurePolicy::KeepLast),
            "alerting" => Some(FailurePolicy::Alerting),
            "ok" => Some(FailurePolicy::Ok),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FailurePolicy::KeepLast => "keep_last",
            FailurePolicy::Alerting => "alerting",
            FailurePolicy::Ok => "ok",
        }
    }
}

/// The query a rule evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// `expr:` — PromQL, parsed once here so that evaluation never parses it again.
    ///
    /// Like Prometheus, loading accepts any expression that parses (experimental functions aside, which
    /// Prometheus also refuses by default), whatever its type: a string or range-vector
    /// result (`"text"`, `up[5m]`) is an error only when the rule is evaluated ("rule result is not a vector or
    /// scalar"); a scalar becomes a one-sample vector without labels.
    PromQl { text: String, expr: Expr },
    /// `sql:` — sightline's extension: SQL whose rows are the rule's result, checked by the storage engine when
    /// the rule runs, not here.
    Sql { text: String },
}

impl Rule {
    /// The alert name or the recorded metric name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Alerting { name, .. } | RuleKind::Recording { name } => name,
        }
    }
}

impl Query {
    /// The query as written in the file.
    pub fn text(&self) -> &str {
        match self {
            Query::PromQl { text, .. } | Query::Sql { text } => text,
        }
    }
}

/// A place in a file: line and column, both 1-based, the column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

/// One error in a rule file, with where it is.
///
/// Displayed in the form of Prometheus's own messages, the context first:
/// `rules.yaml: 12:5: group "api", rule 3, "HighLatency": could not parse expression: …` — the file; the line and
/// column; the group and the rule (its 1-based index in the group and its name, `""` when it has none) when the
/// error is inside one; then what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.display())]
pub struct RuleFileError {
    /// The file as named to the loader (or to [`parse_rule_file`]).
    pub file: String,
    /// Where in the file; `None` for errors about the whole file (it cannot be read, a pattern matches nothing).
    pub position: Option<Position>,
    /// The group's name (empty when it has none), when the error is inside a group.
    pub group: Option<String>,
    /// The rule's 1-based index in its group and its alert or record name, when the error is inside a rule.
    pub rule: Option<(usize, String)>,
    /// What is wrong (its message is part of this error's).
    pub kind: RuleFileErrorKind,
}

impl RuleFileError {
    fn display(&self) -> String {
        let mut text = format!("{}: ", self.file);
        if let Some(position) = self.position {
            text.push_str(&format!("{}:{}: ", position.line, position.column));
        }
        match (&self.group, &self.rule) {
            (Some(group), Some((index, name))) => {
                text.push_str(&format!("group {group:?}, rule {index}, {name:?}: "))
            }
            (Some(group), None) => text.push_str(&format!("group {group:?}: ")),
            (None, _) => {}
        }
        text.push_str(&self.kind.to_string());
        text
    }
}

/// What is wrong. The wording follows Prometheus's (`rulefmt`, go-yaml) where it has one.
#[derive(Debug, thiserror::Error)]
pub enum RuleFileErrorKind {
    /// A `rule_files` pattern with a `*` before its last `/`: Prometheus allows wildcards in the file name only.
    #[error("invalid rule file path: a '*' may only appear in the last path segment")]
    InvalidRuleFilePath,
    /// A malformed `rule_files` pattern, such as an unclosed `[`.
    #[error("error retrieving rule files: syntax error in pattern")]
    BadPattern,
    /// The directory relative patterns are taken from is not UTF-8.
    #[error("the directory of the configuration file is not valid UTF-8")]
    NonUtf8BaseDir,
    /// A `rule_files` entry without a `*` that names no existing file.
    #[error("does not point to an existing file")]
    NoSuchFile,
    /// The file could not be read.
    #[error("could not read the file: {0}")]
    Read(std::io::Error),
    /// The file is not UTF-8 (Prometheus also reads UTF-16 with a byte-order mark; sightline does not).
    #[error("the file is not valid UTF-8")]
    NotUtf8,
    /// Not YAML.
    #[error("yaml: {0}")]
    Yaml(String),
    /// An alias used inside the node its anchor names.
    #[error("yaml: anchor value contains itself")]
    RecursiveAlias,
    /// Aliases expand the document past go-yaml's limit (a "billion laughs" document).
    #[error("yaml: document contains excessive aliasing")]
    ExcessiveAliasing,
    /// A second YAML document (after `---`) that is not empty; Prometheus 3 refuses the file rather than ignore it.
    #[error("rule file must not contain multiple YAML documents")]
    MultipleDocuments,
    /// A key that the rule file format does not have.
    #[error("field {field:?} not found in {of} (the fields are: {expected})")]
    UnknownField { field: String, of: &'static str, expected: &'static str },
    /// The same key twice in one mapping.
    #[error("mapping key {key:?} already defined at line {first_line}")]
    DuplicateKey { key: String, first_line: usize },
    /// A value of the wrong kind, such as a list where a string belongs.
    #[error("{what}: expected {expected}, found {found}")]
    WrongType { what: String, expected: &'static str, found: &'static str },
    /// A merge key (`<<`) whose value is not a mapping or a list of mappings.
    #[error("yaml: map merge requires map or sequence of maps as the value")]
    InvalidMerge,
    /// `for`, `keep_firing_for`, `interval` or `query_offset` is not a Prometheus duration.
    #[error("field {field:?}: {error}")]
    InvalidDuration { field: &'static str, error: DurationError },
    /// A group without a name.
    #[error("groupname must not be empty")]
    GroupNameEmpty,
    /// Two groups of one file with the same name.
    #[error("groupname is repeated in the same file (first at line {first_line})")]
    GroupNameRepeated { first_line: usize },
    /// Both `record` and `alert`.
    #[error("only one of 'record' and 'alert' must be set")]
    RecordAndAlert,
    /// Neither `record` nor `alert`.
    #[error("one of 'record' or 'alert' must be set")]
    NoRecordOrAlert,
    /// Neither `expr` nor `sql`.
    #[error("field 'expr' (or 'sql') must be set in rule")]
    NoQuery,
    /// Both `expr` and `sql`.
    #[error("only one of 'expr' and 'sql' must be set")]
    ExprAndSql,
    /// `expr` is not PromQL; the parser's message.
    #[error("could not parse expression: {0}")]
    InvalidExpr(String),
    /// `expr` uses a function or aggregation that Prometheus 3 enables only with
    /// `--enable-feature=promql-experimental-functions`.
    #[error(
        "could not parse expression: function {0:?} is not enabled (an experimental PromQL function, off by default in Prometheus)"
    )]
    ExperimentalFunction(String),
    /// `on_error` or `on_no_data` is not a policy.
    #[error(
        "field {field:?}: {value:?} is not a policy (the policies are: {})",
        FailurePolicy::NAMES
    )]
    InvalidPolicy { field: &'static str, value: String },
    /// `resolve_expr`, `on_error` or `on_no_data` on a recording rule, which has no alerts.
    #[error("invalid field '{0}' in recording rule")]
    AlertingFieldInRecordingRule(&'static str),
    /// `resolve_expr` on a rule whose query is SQL.
    #[error("field 'resolve_expr' needs a PromQL 'expr'")]
    ResolveExprWithSql,
    /// A recording rule with `annotations`.
    #[error("invalid field 'annotations' in recording rule")]
    AnnotationsInRecordingRule,
    /// A recording rule with a non-zero `for`.
    #[error("invalid field 'for' in recording rule")]
    ForInRecordingRule,
    /// A recording rule with a non-zero `keep_firing_for`.
    #[error("invalid field 'keep_firing_for' in recording rule")]
    KeepFiringForInRecordingRule,
    /// A recording rule named like a selector, `job:up{job="api"}`: the braces belong in `expr`.
    #[error("braces present in the recording rule name; should it be in expr?: {0}")]
    BracesInRecordName(String),
    /// An empty label name, or `__name__`.
    #[error("invalid label name: {0}")]
    InvalidLabelName(String),
    /// An empty annotation name.
    #[error("invalid annotation name: {0}")]
    InvalidAnnotationName(String),
    /// A label or annotation template of an alerting rule that does not parse.
    #[error("{field} {name:?}: {message}")]
    InvalidTemplate {
        /// "label" or "annotation".
        field: &'static str,
        name: String,
        message: String,
    },
}

/// Parses and validates one rule file. `file` names it in the errors. Returns every error of the file, in the
/// order of their positions.
pub fn parse_rule_file(file: &str, text: &str) -> Result<RuleFile, Vec<RuleFileError>> {
    let (root, problems) = yaml::parse(text);
    let mut errors: Vec<RuleFileError> = problems
        .into_iter()
        .map(|problem| RuleFileError {
            file: file.to_owned(),
            position: Some(problem.position),
            group: None,
            rule: None,
            kind: match problem.kind {
                yaml::YamlProblemKind::Syntax(message) => RuleFileErrorKind::Yaml(message),
                yaml::YamlProblemKind::RecursiveAlias => RuleFileErrorKind::RecursiveAlias,
                yaml::YamlProblemKind::MultipleDocuments => RuleFileErrorKind::MultipleDocuments,
            },
        })
        .collect();
    let raw = decode::decode_file(root.as_ref());
    let rule_file = validate::validate(file, raw, &mut errors);
    if errors.is_empty() {
        Ok(rule_file)
    } else {
        // Sorting is stable: errors at one position keep the order they were found in.
        errors.sort_by_key(|error| error.position);
        Err(errors)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[cfg(test)]
mod tests;
