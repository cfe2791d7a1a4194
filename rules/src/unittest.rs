//! Rule unit tests in promtool's format, run unchanged: `sightline rules test FILE…` does what
//! `promtool test rules FILE…` does, with sightline's engine.
//!
//! For each test group: the input series are loaded, every rule group is evaluated at each evaluation
//! interval from time 0 (recording rules write their series, alerting rules move their alerts along and
//! write `ALERTS`), the alert tests look at the firing alerts of the evaluation at or just before their
//! time, and the expression tests query the result at theirs.

mod records;
pub mod series;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sightline_storage::{QueryEngine, QueryLimits, Table};

use crate::alerting::AlertState;
use crate::file::{self, RuleGroup};
use crate::group::{Group, Sources};
use crate::promql::{self, Engine, Labels, METRIC_NAME, MemorySource, Sample, Value, millis};
use crate::stored::StoredSql;
use records::InputRecords;
use series::Step;

/// One test file, as promtool reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    /// Records for `sql:` rules (sightline's extension): see [`records`].
    #[serde(default)]
    input_logs: Vec<InputRecords>,
    #[serde(default)]
    input_spans: Vec<InputRecords>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpectedAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: String,
    #[serde(default)]
    exp_samples: Vec<ExpectedSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedSample {
    #[serde(default)]
    labels: String,
    value: f64,
}

/// The outcome of one test file: what promtool would print, and whether every test passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    pub report: String,
}

/// Runs the tests of the file at `path`.
pub fn run_file(path: &Path) -> Outcome {
    let mut report = format!("Unit Testing:  {}\n", path.display());
    let failures = match std::fs::read_to_string(path) {
        Ok(text) => run(&text, path.parent().unwrap_or(Path::new("."))),
        Err(error) => vec![format!("cannot read {}: {error}", path.display())],
    };
    if failures.is_empty() {
        report.push_str("  SUCCESS\n");
    } else {
        report.push_str("  FAILED:\n");
        for failure in &failures {
            for line in failure.lines() {
                let _ = writeln!(report, "    {line}");
            }
        }
    }
    Outcome { passed: failures.is_empty(), report }
}

/// Runs a test file's text; rule files are found relative to `base`. Returns the failures.
fn run(text: &str, base: &Path) -> Vec<String> {
    let file: TestFile = match serde_yaml_ng::from_str(text) {
        Ok(file) => file,
        Err(error) => return vec![format!("invalid test file: {error}")],
    };
    let evaluation_interval = match duration(file.evaluation_interval.as_deref(), 60_000) {
        Ok(interval) => interval,
        Err(error) => return vec![error],
    };
    let groups = match load_rules(&file.rule_files, base, &file.group_eval_order) {
        Ok(groups) => groups,
        Err(errors) => return errors,
    };
    let mut failures = Vec::new();
    for test in &file.tests {
        let group_failures =
            run_group(test, &groups, evaluation_interval).unwrap_or_else(|error| vec![error]);
        if let (Some(name), false) = (&test.name, group_failures.is_empty()) {
            failures.push(format!("name: {name},"));
        }
        failures.extend(group_failures);
    }
    failures
}

/// Loads and checks the rule files (globs, relative to the test file), ordered by `group_eval_order`
/// when it is given. Each test group evaluates its own copy, from fresh state.
fn load_rules(
    patterns: &[String],
    base: &Path,
    order: &[String],
) -> Result<Vec<(String, RuleGroup)>, Vec<String>> {
    let loaded = file::load_rule_files(patterns, base)
        .map_err(|errors| errors.into_iter().map(|error| error.to_string()).collect::<Vec<_>>())?;
    let mut groups: Vec<(String, RuleGroup)> = loaded
        .files
        .into_iter()
        .flat_map(|file| {
            let path = file.path.display().to_string();
            file.rules.groups.into_iter().map(move |group| (path.clone(), group))
        })
        .collect();
    if !order.is_empty() {
        let mut ordered = Vec::with_capacity(groups.len());
        for name in order {
            let index =
                groups.iter().position(|(_, group)| &group.name == name).ok_or_else(|| {
                    vec![format!("group {name:?} in group_eval_order is not in the rule files")]
                })?;
            ordered.push(groups.remove(index));
        }
        ordered.extend(groups);
        groups = ordered;
    }
    Ok(groups)
}

/// A duration in Prometheus's notation, in milliseconds; `default` when absent.
fn duration(text: Option<&str>, default: i64) -> Result<i64, String> {
    match text {
        None => Ok(default),
        Some(text) => {
            file::parse_duration(text).map(millis).map_err(|error| format!("{text:?}: {error}"))
        }
    }
}

/// A series selector with equality matchers only, as the labels of one series.
pub(crate) fn series_labels(text: &str) -> Result<Labels, String> {
    // `{}` is a series without labels to promtool; the PromQL parser refuses it as a selector.
    if matches!(text.trim(), "" | "{}") {
        return Ok(Labels::default());
    }
    match promql::parse(text).map_err(|error| format!("{text:?}: {error}"))? {
        promql_parser::parser::Expr::VectorSelector(selector) => {
            let mut labels = Labels::default();
            if let Some(name) = selector.name {
                labels.set(METRIC_NAME.to_owned(), name);
            }
            for matcher in selector.matchers.matchers {
                if !matches!(matcher.op, promql_parser::label::MatchOp::Equal) {
                    return Err(format!("{text:?}: only label=\"value\" pairs describe a series"));
                }
                labels.set(matcher.name, matcher.value);
            }
            Ok(labels)
        }
        _ => Err(format!("{text:?} is not a series")),
    }
}

/// The state of one test group's run: the data, and the rule groups with their alerts.
struct Run {
    engine: Engine,
    source: MemorySource,
    sql: Option<SqlInput>,
    groups: Vec<Group>,
    external_labels: Labels,
    external_url: String,
}

fn run_group(
    test: &TestGroup,
    rule_groups: &[(String, RuleGroup)],
    evaluation_interval: i64,
) -> Result<Vec<String>, String> {
    let interval = duration(test.interval.as_deref(), evaluation_interval)?;
    let mut source = MemorySource::default();
    for input in &test.input_series {
        let labels = series_labels(&input.series)?;
        let steps = series::expand(&input.values)
            .map_err(|error| format!("series {:?}: {error}", input.series))?;
        let samples = steps.into_iter().enumerate().filter_map(|(index, step)| match step {
            Step::Missing => None,
            Step::Value(v) => Some(Sample { t: index as i64 * interval, v }),
        });
        source.add(labels, samples);
    }
    let sql = sql_input(test, rule_groups, interval)?;
    let engine = Engine {
        default_subquery_step: Duration::from_millis(evaluation_interval.unsigned_abs()),
        ..Engine::default()
    };
    let groups = rule_groups
        .iter()
        .map(|(path, group)| Group::new(path, group.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut run = Run {
        engine,
        source,
        sql,
        groups,
        external_labels: Labels::new(test.external_labels.clone()),
        external_url: test.external_url.clone().unwrap_or_default(),
    };

    let mut alert_tests: Vec<(i64, &AlertTest)> = Vec::new();
    for alert_test in &test.alert_rule_test {
        alert_tests.push((duration(Some(&alert_test.eval_time), 0)?, alert_test));
    }
    alert_tests.sort_by_key(|(t, _)| *t);
    let mut expr_tests: Vec<(i64, &ExprTest)> = Vec::new();
    for expr_test in &test.promql_expr_test {
        expr_tests.push((duration(Some(&expr_test.eval_time), 0)?, expr_test));
    }
    let last = alert_tests.iter().map(|(t, _)| *t).chain(expr_tests.iter().map(|(t, _)| *t)).max();

    let mut failures = Vec::new();
    let mut next_alert_test = 0;
    let mut t = 0;
    while last.is_some_and(|last| t <= last) {
        run.evaluate_rules(t);
        while let Some((eval_time, alert_test)) = alert_tests.get(next_alert_test) {
            if *eval_time >= t + evaluation_interval {
                break;
            }
            next_alert_test += 1;
            if *eval_time < t {
                continue;
            }
            if let Some(failure) = run.check_alerts(alert_test) {
                failures.push(failure);
            }
        }
        t += evaluation_interval;
    }
    for (eval_time, expr_test) in expr_tests {
        if let Some(failure) = run.check_expr(eval_time, expr_test) {
            failures.push(failure);
        }
    }
    Ok(failures)
}

/// The logs and spans that `sql:` rules query, in an in-memory engine. The engine runs on a runtime of its
/// own, whose workers run the queries while the rules' evaluation blocks on them.
struct SqlInput {
    source: StoredSql,
    _runtime: tokio::runtime::Runtime,
}

/// The test's input records as an engine, when the rule files have `sql:` rules.
fn sql_input(
    test: &TestGroup,
    rule_groups: &[(String, RuleGroup)],
    interval: i64,
) -> Result<Option<SqlInput>, String> {
    let has_sql_rules = rule_groups
        .iter()
        .flat_map(|(_, group)| &group.rules)
        .any(|rule| matches!(rule.query, file::Query::Sql { .. }));
    if !has_sql_rules {
        if !test.input_logs.is_empty() || !test.input_spans.is_empty() {
            return Err(
                "input_logs and input_spans are for sql rules; the rule files have none".into()
            );
        }
        return Ok(None);
    }
    let logs = test.input_logs.iter().map(|input| records::to_rows(Table::Logs, input, interval));
    let spans =
        test.input_spans.iter().map(|input| records::to_rows(Table::Spans, input, interval));
    let rows = logs.chain(spans).collect::<Result<Vec<_>, _>>()?;
    let engine = QueryEngine::in_memory(rows, QueryLimits::default())
        .map_err(|error| format!("cannot start the sql engine: {error}"))?;
    // Multi-threaded: DataFusion spawns tasks, which a current-thread runtime's handle would not run.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .map_err(|error| format!("cannot start the sql engine: {error}"))?;
    let source = StoredSql::new(Arc::new(engine), runtime.handle().clone());
    Ok(Some(SqlInput { source, _runtime: runtime }))
}

impl Run {
    /// Evaluates every rule of every group at `t`, in order; each rule sees what the rules before it wrote.
    /// Unit tests evaluate every group at the test's interval, whatever the groups' own.
    fn evaluate_rules(&mut self, t: i64) {
        for group in &mut self.groups {
            for rule in &mut group.rules {
                let sources = Sources {
                    engine: &self.engine,
                    series: &self.source,
                    sql: self.sql.as_ref().map(|sql| &sql.source as _),
                    external_labels: &self.external_labels,
                    external_url: &self.external_url,
                };
                let output = rule.evaluate(t, sources, 0);
                for element in output {
                    self.source.add(element.labels, [Sample { t: element.t, v: element.v }]);
                }
            }
        }
    }

    /// Compares the firing alerts of the rules named in the test with the expected ones.
    fn check_alerts(&self, test: &AlertTest) -> Option<String> {
        let mut got: Vec<(Labels, BTreeMap<String, String>)> = Vec::new();
        let rules = self.groups.iter().flat_map(|group| &group.rules);
        for rule in rules.filter(|rule| rule.rule.name() == test.alertname) {
            let Some(alerting) = &rule.alerting else {
                continue;
            };
            got.extend(
                alerting
                    .alerts()
                    .filter(|alert| alert.state == AlertState::Firing)
                    .map(|alert| (alert.labels.clone(), alert.annotations.clone())),
            );
        }
        let mut expected: Vec<(Labels, BTreeMap<String, String>)> = test
            .exp_alerts
            .iter()
            .map(|alert| {
                let mut labels = Labels::new(alert.exp_labels.clone());
                labels.set("alertname".to_owned(), test.alertname.clone());
                (labels, alert.exp_annotations.clone())
            })
            .collect();
        got.sort();
        expected.sort();
        (got != expected).then(|| {
            format!(
                "alertname: {}, time: {},\n    exp: {}\n    got: {}",
                test.alertname,
                test.eval_time,
                describe_alerts(&expected),
                describe_alerts(&got)
            )
        })
    }

    /// Runs an expression test's query and compares its result with the expected samples.
    fn check_expr(&self, t: i64, test: &ExprTest) -> Option<String> {
        let failure = |detail: String| {
            Some(format!("expr: {:?}, time: {},\n    {detail}", test.expr, test.eval_time))
        };
        let expr = match promql::parse(&test.expr) {
            Ok(expr) => expr,
            Err(error) => return failure(format!("err: {error}")),
        };
        let mut got: Vec<(Labels, f64)> = match self.engine.instant(&self.source, &expr, t) {
            Ok(Value::Vector(elements)) => {
                elements.into_iter().map(|element| (element.labels, element.v)).collect()
            }
            Ok(Value::Scalar(v)) => vec![(Labels::default(), v)],
            Ok(other) => {
                return failure(format!(
                    "err: expected a vector or a scalar, got {}",
                    other.type_name()
                ));
            }
            Err(error) => return failure(format!("err: {error}")),
        };
        let mut expected = Vec::with_capacity(test.exp_samples.len());
        for sample in &test.exp_samples {
            match series_labels(&sample.labels) {
                Ok(labels) => expected.push((labels, sample.value)),
                Err(error) => return failure(format!("err: expected labels {error}")),
            }
        }
        let by_labels = |a: &(Labels, f64), b: &(Labels, f64)| a.0.cmp(&b.0);
        got.sort_by(by_labels);
        expected.sort_by(by_labels);
        // Values are compared exactly, as promtool does (NaN equal to NaN).
        let same = got.len() == expected.len()
            && got.iter().zip(&expected).all(|((got_labels, got_value), (labels, value))| {
                got_labels == labels
                    && (got_value.to_bits() == value.to_bits() || got_value == value)
            });
        if same {
            return None;
        }
        failure(format!(
            "exp: {}\n    got: {}",
            describe_samples(&expected),
            describe_samples(&got)
        ))
    }
}

fn describe_samples(samples: &[(Labels, f64)]) -> String {
    samples.iter().map(|(labels, value)| format!("{labels} {value}")).collect::<Vec<_>>().join(", ")
}

fn describe_alerts(alerts: &[(Labels, BTreeMap<String, String>)]) -> String {
    let described: Vec<String> = alerts
        .iter()
        .map(|(labels, annotations)| format!("Labels:{labels} Annotations:{annotations:?}"))
        .collect();
    format!("[{}]", described.join(", "))
}

#[cfg(test)]
mod tests;
