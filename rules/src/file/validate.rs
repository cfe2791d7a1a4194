//! The checks of Prometheus 3's `rulefmt` (`RuleGroups.Validate` and `Rule.Validate`) on decoded groups and rules,
//! with Prometheus 3's default UTF-8 name validation, and the building of the model from what passes.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;

use promql_parser::parser::Expr;

use super::decode::{Entry, Field, Issue, RawFile, RawGroup, RawRule};
use super::{
    FailurePolicy, Query, Rule, RuleFile, RuleFileError, RuleFileErrorKind, RuleGroup, RuleKind,
};
use crate::template::Template;

/// Checks the decoded file, adding every error, with its group and rule, to `errors`. The returned file holds the
/// groups and rules that passed; it is the file only when `errors` stays empty.
pub(super) fn validate(file: &str, raw: RawFile, errors: &mut Vec<RuleFileError>) -> RuleFile {
    let error = |issue: Issue, group: Option<&str>, rule: Option<(usize, &str)>| RuleFileError {
        file: file.to_owned(),
        position: Some(issue.position),
        group: group.map(str::to_owned),
        rule: rule.map(|(index, name)| (index, name.to_owned())),
        kind: issue.kind,
    };
    errors.extend(raw.issues.into_iter().map(|issue| error(issue, None, None)));
    // Group names already seen, with their line; `rulefmt` counts unnamed groups too.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut groups = Vec::with_capacity(raw.groups.len());
    for raw_group in raw.groups {
        let name = raw_group.name.as_ref().map(|field| field.value.clone()).unwrap_or_default();
        let (group, issues, rules) = validate_group(raw_group, &name, &mut seen);
        errors.extend(issues.into_iter().map(|issue| error(issue, Some(&name), None)));
        for (index, rule_name, issues) in rules {
            errors.extend(
                issues
                    .into_iter()
                    .map(|issue| error(issue, Some(&name), Some((index, &rule_name)))),
            );
        }
        groups.extend(group);
    }
    RuleFile { groups }
}

/// The issues of each rule: its 1-based index, its name, the issues.
type RuleIssues = Vec<(usize, String, Vec<Issue>)>;

fn validate_group(
    raw: RawGroup,
    name: &str,
    seen: &mut HashMap<String, usize>,
) -> (Option<RuleGroup>, Vec<Issue>, RuleIssues) {
    let mut issues = raw.issues;
    // A name of the wrong kind is reported already; it is not also missing or repeated.
    if !raw.malformed.iter().any(|field| field == "name") {
        if name.is_empty() {
            issues.push(Issue { position: raw.position, kind: RuleFileErrorKind::GroupNameEmpty });
        }
        match seen.get(name) {
            Some(&first_line) => issues.push(Issue {
                position: raw.position,
                kind: RuleFileErrorKind::GroupNameRepeated { first_line },
            }),
            None => {
                seen.insert(name.to_owned(), raw.position.line);
            }
        }
    }
    let labels = raw.labels.map(|field| field.value).unwrap_or_default();
    check_label_names(&labels, &mut issues);

    let mut rules = Vec::with_capacity(raw.rules.len());
    let mut rule_issues = Vec::new();
    for (index, raw_rule) in raw.rules.into_iter().enumerate() {
        let (rule_name, rule, issues) = validate_rule(raw_rule);
        if !issues.is_empty() {
            rule_issues.push((index + 1, rule_name, issues));
        }
        rules.extend(rule);
    }

    if !issues.is_empty() || !rule_issues.is_empty() {
        return (None, issues, rule_issues);
    }
    let group = RuleGroup {
        name: name.to_owned(),
        interval: raw.interval.map(|field| field.value).filter(|interval| !interval.is_zero()),
        query_offset: raw.query_offset.map(|field| field.value),
        // Zero and negative limits are "no limit" in Prometheus; a positive one always fits a 64-bit usize.
        limit: raw
            .limit
            .and_then(|field| usize::try_from(field.value).ok())
            .and_then(NonZeroUsize::new),
        labels: into_map(labels),
        rules,
        line: raw.position.line,
    };
    (Some(group), issues, rule_issues)
}

/// Checks one rule; returns the name errors are reported under (`rulefmt`'s: the alert name, else the record
/// name), the rule when it passed, and its issues.
fn validate_rule(raw: RawRule) -> (String, Option<Rule>, Vec<Issue>) {
    let mut issues = raw.issues;
    // A field of the wrong kind is reported already; it is not also missing.
    let malformed = |field: &str| raw.malformed.iter().any(|name| name == field);
    // An empty string is an absent field, as in Go where both are "".
    let present = |field: Option<Field<String>>| field.filter(|field| !field.value.is_empty());
    let record = present(raw.record);
    let alert = present(raw.alert);
    let expr = present(raw.expr);
    let sql = present(raw.sql);
    let rule_name =
        alert.as_ref().or(record.as_ref()).map(|field| field.value.clone()).unwrap_or_default();

    match (&record, &alert) {
        (Some(record), Some(_)) => {
            issues.push(Issue { position: record.at, kind: RuleFileErrorKind::RecordAndAlert })
        }
        (None, None) if !malformed("record") && !malformed("alert") => {
            issues.push(Issue { position: raw.position, kind: RuleFileErrorKind::NoRecordOrAlert })
        }
        _ => {}
    }

    let query = match (expr, sql) {
        (None, None) => {
            if !malformed("expr") && !malformed("sql") {
                issues.push(Issue { position: raw.position, kind: RuleFileErrorKind::NoQuery });
            }
            None
        }
        (Some(_), Some(sql)) => {
            issues.push(Issue { position: sql.key, kind: RuleFileErrorKind::ExprAndSql });
            None
        }
        (Some(expr), None) => {
            match crate::promql::parse_expr(&expr.value)
                .map_err(RuleFileErrorKind::InvalidExpr)
                .and_then(|parsed| match experimental_function(&parsed) {
                    Some(name) => Err(RuleFileErrorKind::ExperimentalFunction(name)),
                    None => Ok(parsed),
                }) {
                Ok(parsed) => Some(Query::PromQl { text: expr.value, expr: parsed }),
                Err(kind) => {
                    issues.push(Issue { position: expr.at, kind });
                    None
                }
            }
        }
        (None, Some(sql)) => Some(Query::Sql { text: sql.value }),
    };

    let resolve_expr =
        present(raw.resolve_expr).and_then(|field| match crate::promql::parse_expr(&field.value) {
            Ok(parsed) => Some((field.key, parsed)),
            Err(error) => {
                issues.push(Issue {
                    position: field.at,
                    kind: RuleFileErrorKind::InvalidExpr(error),
                });
                None
            }
        });
    let mut policy = |field: Option<Field<String>>, name: &'static str| {
        let field = field?;
        match FailurePolicy::parse(&field.value) {
            Some(policy) => Some((field.key, policy)),
            None => {
                issues.push(Issue {
                    position: field.at,
                    kind: RuleFileErrorKind::InvalidPolicy { field: name, value: field.value },
                });
                None
            }
        }
    };
    let on_error = policy(raw.on_error, "on_error");
    let on_no_data = policy(raw.on_no_data, "on_no_data");
    if let (Some((key, _)), Some(Query::Sql { .. })) = (&resolve_expr, &query) {
        issues.push(Issue { position: *key, kind: RuleFileErrorKind::ResolveExprWithSql });
    }
    if record.is_some() {
        let alerting_only = [
            ("resolve_expr", resolve_expr.as_ref().map(|(key, _)| *key)),
            ("on_error", on_error.map(|(key, _)| key)),
            ("on_no_data", on_no_data.map(|(key, _)| key)),
        ];
        for (name, key) in alerting_only {
            if let Some(key) = key {
                issues.push(Issue {
                    position: key,
                    kind: RuleFileErrorKind::AlertingFieldInRecordingRule(name),
                });
            }
        }
    }

    let annotations = raw.annotations;
    let for_ = raw.for_.map(|field| (field.key, field.value));
    let keep_firing_for = raw.keep_firing_for.map(|field| (field.key, field.value));
    if let Some(record) = &record {
        // `rulefmt` objects to values, not keys: `for: 0` and `annotations: {}` pass.
        if let Some(annotations) = annotations.as_ref().filter(|field| !field.value.is_empty()) {
            issues.push(Issue {
                position: annotations.key,
                kind: RuleFileErrorKind::AnnotationsInRecordingRule,
            });
        }
        if let Some((key, _)) = for_.filter(|(_, duration)| !duration.is_zero()) {
            issues.push(Issue { position: key, kind: RuleFileErrorKind::ForInRecordingRule });
        }
        if let Some((key, _)) = keep_firing_for.filter(|(_, duration)| !duration.is_zero()) {
            issues.push(Issue {
                position: key,
                kind: RuleFileErrorKind::KeepFiringForInRecordingRule,
            });
        }
        // Any non-empty UTF-8 name is a valid metric name in Prometheus 3, but braces are a common mistake.
        if record.value.contains(['{', '}']) {
            issues.push(Issue {
                position: record.at,
                kind: RuleFileErrorKind::BracesInRecordName(record.value.clone()),
            });
        }
    }

    let labels = raw.labels.map(|field| field.value).unwrap_or_default();
    check_label_names(&labels, &mut issues);
    let annotations = annotations.map(|field| field.value).unwrap_or_default();
    for entry in &annotations {
        // Under UTF-8 validation every non-empty name is valid; unlike labels, `__name__` is allowed.
        if entry.name.is_empty() {
            issues.push(Issue {
                position: entry.at,
                kind: RuleFileErrorKind::InvalidAnnotationName(entry.name.clone()),
            });
        }
    }

    let kind = match (alert, record) {
        (Some(alert), None) => Some(RuleKind::Alerting {
            name: alert.value,
            for_: for_.map(|(_, duration)| duration).unwrap_or_default(),
            keep_firing_for: keep_firing_for.map(|(_, duration)| duration).unwrap_or_default(),
        }),
        (None, Some(record)) => Some(RuleKind::Recording { name: record.value }),
        _ => None,
    };
    let rule = match (kind, query) {
        (Some(kind), Some(query)) if issues.is_empty() => Some(Rule {
            kind,
            query,
            labels: into_map(labels),
            annotations: into_map(annotations),
            resolve_expr: resolve_expr.map(|(_, expr)| expr),
            on_error: on_error.map(|(_, policy)| policy).unwrap_or_default(),
            on_no_data: on_no_data.map(|(_, policy)| policy).unwrap_or_default(),
            line: raw.position.line,
        }),
        _ => None,
    };
    let template_issues = rule.as_ref().map(template_errors).unwrap_or_default();
    if !template_issues.is_empty() {
        issues
            .extend(template_issues.into_iter().map(|kind| Issue { position: raw.position, kind }));
        return (rule_name, None, issues);
    }
    (rule_name, rule, issues)
}

/// The first function or aggregation of `expr` that Prometheus 3 parses only with
/// `--enable-feature=promql-experimental-functions`, which is off by default (`sort_by_label`, `limitk`, …): the
/// PromQL parser accepts them all, Prometheus's default does not.
fn experimental_function(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Aggregate(aggregate) => {
            let operator = aggregate.op.to_string();
            if matches!(operator.as_str(), "limitk" | "limit_ratio") {
                return Some(operator);
            }
            aggregate
                .param
                .as_deref()
                .and_then(experimental_function)
                .or_else(|| experimental_function(&aggregate.expr))
        }
        Expr::Call(call) if call.func.experimental => Some(call.func.name.to_owned()),
        Expr::Call(call) => {
            call.args.args.iter().find_map(|argument| experimental_function(argument))
        }
        Expr::Unary(unary) => experimental_function(&unary.expr),
        Expr::Binary(binary) => {
            experimental_function(&binary.lhs).or_else(|| experimental_function(&binary.rhs))
        }
        Expr::Paren(paren) => experimental_function(&paren.expr),
        Expr::Subquery(subquery) => experimental_function(&subquery.expr),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => None,
    }
}

/// Label names must be valid under UTF-8 validation (any non-empty name) and not `__name__`, which would rename
/// the series.
fn check_label_names(labels: &[Entry], issues: &mut Vec<Issue>) {
    for entry in labels {
        if entry.name.is_empty() || entry.name == "__name__" {
            issues.push(Issue {
                position: entry.at,
                kind: RuleFileErrorKind::InvalidLabelName(entry.name.clone()),
            });
        }
    }
}

fn into_map(entries: Vec<Entry>) -> BTreeMap<String, String> {
    entries.into_iter().map(|entry| (entry.name, entry.value)).collect()
}

/// rulefmt's `testTemplateParsing`: the errors of the Go templates in an alerting rule's labels and annotations,
/// `label "severity": …` / `annotation "summary": …`, labels first, each parsed as Prometheus parses it, named
/// `__alert_<name>` and behind the variable definitions of [`Template::parse`]. Recording rules' labels are not
/// templates and are not checked.
fn template_errors(rule: &Rule) -> Vec<RuleFileErrorKind> {
    let RuleKind::Alerting { name, .. } = &rule.kind else {
        return Vec::new();
    };
    let template_name = format!("__alert_{name}");
    let labels = rule.labels.iter().map(|(name, text)| ("label", name, text));
    let annotations = rule.annotations.iter().map(|(name, text)| ("annotation", name, text));
    labels
        .chain(annotations)
        .filter_map(|(field, name, text)| {
            let error = Template::parse(&template_name, text).err()?;
            Some(RuleFileErrorKind::InvalidTemplate {
                field,
                name: name.clone(),
                message: error.to_string(),
            })
        })
        .collect()
}
