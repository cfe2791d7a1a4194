//! A rule group at run time: its rules in order, their templates parsed, each alerting rule's alerts and each
//! rule's last output, evaluated one rule at a time at one timestamp. The unit-test runner and the daemon's
//! scheduler both evaluate through this, so a rule behaves the same under test and in production.
//!
//! What a rule writes (recorded series, `ALERTS`, `ALERTS_FOR_STATE`, stale markers for the series it stopped
//! writing) is returned to the caller, which stores it before evaluating the next rule: a rule sees what the
//! rules before it in its group wrote at the same timestamp.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;

use crate::alerting::{AlertingRule, Expander, TemplateField, TemplateInput};
use crate::file::{FailurePolicy, Query, Rule, RuleGroup, RuleKind};
use crate::promql::{
    self, Element, Engine, Labels, METRIC_NAME, Selection, Series, SeriesSource, Value, millis,
    stale_marker,
};
use crate::template::{self, Template, TemplateData};

/// How many past evaluations each rule keeps for the API.
pub const HISTORY_LENGTH: usize = 20;

/// Where a group's queries read from, and what its templates are given.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub engine: &'a Engine,
    pub series: &'a dyn SeriesSource,
    /// Runs the `sql:` rules; `None` where there are no logs and traces to query (unit tests).
    pub sql: Option<&'a dyn SqlSource>,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("engine", self.engine)
            .field("sql", &self.sql.is_some())
            .field("external_labels", self.external_labels)
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

/// Runs the query of an `sql:` rule at an evaluation time (`now()` in the query).
pub trait SqlSource {
    /// One element per row: the `value` column as its value, every other column as a label.
    fn rows(&self, sql: &str, t_ms: i64) -> Result<Vec<Element>, String>;
}

/// How an evaluation went: the rule's health.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Ok,
    /// The query read no series at all (and returned nothing): the rule's `on_no_data` policy applied.
    NoData,
    /// The query failed: the rule's `on_error` policy applied.
    Error(String),
}

/// One evaluation of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub t_ms: i64,
    pub duration: Duration,
    /// How many elements the query returned.
    pub results: usize,
    pub health: Health,
}

/// A group of rules, ready to evaluate.
#[derive(Debug)]
pub struct Group {
    /// The file the group was read from.
    pub file: String,
    pub name: String,
    /// `None`: the global evaluation interval.
    pub interval: Option<Duration>,
    /// The most alerts or series one rule may produce per evaluation; 0 for no limit.
    pub limit: usize,
    pub rules: Vec<GroupRule>,
}

/// A rule of a group and what it keeps between evaluations.
#[derive(Debug)]
pub struct GroupRule {
    pub rule: Rule,
    /// The parsed templates of an alerting rule's labels and annotations, by name.
    label_templates: HashMap<String, Template>,
    annotation_templates: HashMap<String, Template>,
    /// The alerts of an alerting rule.
    pub alerting: Option<AlertingRule>,
    /// The series the rule wrote at its last evaluation, for the stale markers of those it stops writing.
    previous_output: HashSet<Labels>,
    /// The last result of a successful evaluation, which the `alerting` policy evaluates again.
    last_result: Vec<Element>,
    /// The latest evaluations, oldest first.
    pub history: VecDeque<Evaluation>,
    /// The group's `query_offset` (ms): queries run this long before the evaluation time, and what the rule
    /// writes carries the queried time, as in Prometheus; alert timers keep the evaluation time.
    query_offset_ms: i64,
}

impl Group {
    /// Prepares a group read from `file`: its labels applied to each rule (a rule's own label of the same name
    /// wins) and its templates parsed. Fails only on a template that does not parse, which loading checks too.
    pub fn new(file: &str, group: RuleGroup) -> Result<Group, String> {
        let mut rules = Vec::with_capacity(group.rules.len());
        for mut rule in group.rules {
            for (name, value) in &group.labels {
                rule.labels.entry(name.clone()).or_insert_with(|| value.clone());
            }
            rules.push(GroupRule::new(rule, group.query_offset.map_or(0, millis))?);
        }
        Ok(Group {
            file: file.to_owned(),
            name: group.name,
            interval: group.interval,
            limit: group.limit.map_or(0, usize::from),
            rules,
        })
    }
}

impl GroupRule {
    fn new(rule: Rule, query_offset_ms: i64) -> Result<GroupRule, String> {
        let mut label_templates = HashMap::new();
        let mut annotation_templates = HashMap::new();
        let mut alerting = None;
        if let RuleKind::Alerting { name, for_, keep_firing_for } = &rule.kind {
            let template_name = format!("__alert_{name}");
            let parse_all = |texts: &BTreeMap<String, String>| {
                texts
                    .iter()
                    .map(|(field, text)| {
                        Template::parse(&template_name, text)
                            .map(|template| (field.clone(), template))
                            .map_err(|error| format!("alert {name:?}, {field:?}: {error}"))
                    })
                    .collect::<Result<HashMap<_, _>, String>>()
            };
            label_templates = parse_all(&rule.labels)?;
            annotation_templates = parse_all(&rule.annotations)?;
            alerting = Some(AlertingRule::new(
                name.clone(),
                millis(*for_),
                millis(*keep_firing_for),
                rule.labels.keys().cloned().collect(),
                rule.annotations.keys().cloned().collect(),
            ));
        }
        Ok(GroupRule {
            rule,
            label_templates,
            annotation_templates,
            alerting,
            previous_output: HashSet::new(),
            last_result: Vec::new(),
            history: VecDeque::new(),
            query_offset_ms,
        })
    }

    /// The latest evaluation, if any.
    pub fn last_evaluation(&self) -> Option<&Evaluation> {
        self.history.back()
    }

    /// Evaluates the rule at `t` and returns what it writes: recorded series or `ALERTS` samples, and stale
    /// markers for the series it wrote last time and not now. `limit` 0 means no limit.
    pub fn evaluate(&mut self, t: i64, sources: Sources<'_>, limit: usize) -> Vec<Element> {
        let started = Instant::now();
        let counting = CountingSource { inner: sources.series, series: std::cell::Cell::new(0) };
        let counted = Sources { series: &counting, ..sources };
        let query_t = t - self.query_offset_ms;
        let queried = self.query(&self.rule.query, query_t, counted);
        let mut health = match &queried {
            Ok(result) if result.is_empty() && counting.series.get() == 0 && self.is_promql() => {
                Health::NoData
            }
            Ok(_) => Health::Ok,
            Err(error) => Health::Error(error.clone()),
        };
        let results = queried.as_ref().map_or(0, Vec::len);
        let output = match &self.rule.kind {
            RuleKind::Recording { name } => match queried {
                Ok(result) => {
                    record(name, &self.rule.labels, result, limit).unwrap_or_else(|error| {
                        health = Health::Error(error);
                        Vec::new()
                    })
                }
                // A failed recording rule writes nothing, not even stale markers, as in Prometheus.
                Err(_) => {
                    self.finish(t, started, results, health);
                    return Vec::new();
                }
            },
            RuleKind::Alerting { .. } => {
                let policy = match &health {
                    Health::Ok => None,
                    Health::NoData => Some(self.rule.on_no_data),
                    Health::Error(_) => Some(self.rule.on_error),
                };
                let result = match policy {
                    None => queried.unwrap_or_default(),
                    Some(FailurePolicy::Ok) => Vec::new(),
                    Some(FailurePolicy::Alerting) if self.last_result.is_empty() => {
                        vec![Element { labels: Labels::default(), t, v: f64::NAN }]
                    }
                    Some(FailurePolicy::Alerting) => self.last_result.clone(),
                    Some(FailurePolicy::KeepLast) => {
                        let alerts = self.alerting.as_ref().expect("an alerting rule has alerts");
                        let output = alerts.samples(query_t);
                        self.finish(t, started, results, health);
                        return self.write(query_t, output);
                    }
                };
                if policy.is_none() {
                    self.last_result.clone_from(&result);
                }
                let resolved_by = self.resolving_labels(query_t, sources);
                let mut expander = RuleExpander {
                    label_templates: &self.label_templates,
                    annotation_templates: &self.annotation_templates,
                    sources,
                    t,
                };
                let alerts = self.alerting.as_mut().expect("an alerting rule has alerts");
                let mut samples = alerts
                    .update(t, result, resolved_by.as_deref(), &mut expander, limit)
                    .unwrap_or_else(|error| {
                        health = Health::Error(error.to_string());
                        Vec::new()
                    });
                for sample in &mut samples {
                    sample.t = query_t;
                }
                samples
            }
        };
        self.finish(t, started, results, health);
        self.write(query_t, output)
    }

    fn is_promql(&self) -> bool {
        matches!(self.rule.query, Query::PromQl { .. })
    }

    /// Runs the rule's query at `t`; a scalar is a vector of one element without labels.
    fn query(&self, query: &Query, t: i64, sources: Sources<'_>) -> Result<Vec<Element>, String> {
        match query {
            Query::PromQl { expr, .. } => instant_vector(sources, expr, t),
            Query::Sql { text } => match sources.sql {
                Some(sql) => sql.rows(text, t),
                None => Err("sql rules cannot be evaluated here".to_owned()),
            },
        }
    }

    /// The label sets `resolve_expr` returns at `t`, metric names dropped; `None` without one. If it fails,
    /// no alert resolves (the safe side: a failure is not a recovery).
    fn resolving_labels(&self, t: i64, sources: Sources<'_>) -> Option<Vec<Labels>> {
        let expr = self.rule.resolve_expr.as_ref()?;
        let result = instant_vector(sources, expr, t).unwrap_or_default();
        Some(result.into_iter().map(|element| element.labels.without_metric_name()).collect())
    }

    fn finish(&mut self, t: i64, started: Instant, results: usize, health: Health) {
        if self.history.len() == HISTORY_LENGTH {
            self.history.pop_front();
        }
        self.history.push_back(Evaluation {
            t_ms: t,
            duration: started.elapsed(),
            results,
            health,
        });
    }

    /// The output, with stale markers for the series written last time and not now.
    fn write(&mut self, t: i64, mut output: Vec<Element>) -> Vec<Element> {
        let current: HashSet<Labels> =
            output.iter().map(|element| element.labels.clone()).collect();
        for gone in self.previous_output.difference(&current) {
            output.push(Element { labels: gone.clone(), t, v: stale_marker() });
        }
        self.previous_output = current;
        output
    }
}

/// Evaluates `expr` at `t` as a rule does: a vector, or a scalar as one element without labels.
fn instant_vector(sources: Sources<'_>, expr: &Expr, t: i64) -> Result<Vec<Element>, String> {
    match sources.engine.instant(sources.series, expr, t).map_err(|error| error.to_string())? {
        Value::Vector(elements) => Ok(elements),
        Value::Scalar(v) => Ok(vec![Element { labels: Labels::default(), t, v }]),
        _ => Err("rule result is not a vector or scalar".to_owned()),
    }
}

/// A recording rule's series: the result renamed and labelled. Like Prometheus, two results with one label
/// set, or more than `limit`, are an error and nothing is written.
fn record(
    name: &str,
    labels: &BTreeMap<String, String>,
    result: Vec<Element>,
    limit: usize,
) -> Result<Vec<Element>, String> {
    if limit > 0 && result.len() > limit {
        return Err(format!("exceeded limit of {limit} with {} series", result.len()));
    }
    let mut seen = HashSet::with_capacity(result.len());
    let mut output = Vec::with_capacity(result.len());
    for mut element in result {
        element.labels.set(METRIC_NAME.to_owned(), name.to_owned());
        for (label, value) in labels {
            element.labels.set(label.clone(), value.clone());
        }
        if !seen.insert(element.labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels"
                    .to_owned(),
            );
        }
        output.push(element);
    }
    Ok(output)
}

/// A series source that counts the series its queries read, to tell "no data" from "condition false".
struct CountingSource<'a> {
    inner: &'a dyn SeriesSource,
    series: std::cell::Cell<usize>,
}

impl SeriesSource for CountingSource<'_> {
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        let selected = self.inner.select(selection, start_ms, end_ms)?;
        self.series.set(self.series.get() + selected.len());
        Ok(selected)
    }
}

/// Renders an alerting rule's templates; `query` runs against the rule's own sources at its time.
struct RuleExpander<'a> {
    label_templates: &'a HashMap<String, Template>,
    annotation_templates: &'a HashMap<String, Template>,
    sources: Sources<'a>,
    t: i64,
}

impl Expander for RuleExpander<'_> {
    fn expand(&mut self, which: TemplateField<'_>, input: TemplateInput<'_>) -> String {
        let parsed = match which {
            TemplateField::Label(name) => self.label_templates.get(name),
            TemplateField::Annotation(name) => self.annotation_templates.get(name),
        };
        let Some(parsed) = parsed else {
            return String::new();
        };
        let owned = |labels: &Labels| {
            labels.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<BTreeMap<_, _>>()
        };
        let data = TemplateData {
            labels: owned(input.labels),
            external_labels: owned(self.sources.external_labels),
            external_url: self.sources.external_url.to_owned(),
            value: input.value,
            eval_time_ms: self.t,
        };
        match parsed.render(&data, &TemplateQueries { sources: self.sources, t: self.t }) {
            Ok(text) => text,
            Err(error) => format!("<error expanding template: {error}>"),
        }
    }
}

/// The template function `query`, answered by the engine.
struct TemplateQueries<'a> {
    sources: Sources<'a>,
    t: i64,
}

impl template::QueryFunctions for TemplateQueries<'_> {
    fn query(&self, expr: &str) -> Result<Vec<template::QuerySample>, String> {
        let parsed = promql::parse(expr).map_err(|error| error.to_string())?;
        let elements = instant_vector(self.sources, &parsed, self.t)?;
        Ok(elements
            .into_iter()
            .map(|element| template::QuerySample {
                labels: element.labels.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
                value: element.v,
            })
            .collect())
    }
}
