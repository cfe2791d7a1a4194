#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// The errors of `text` as `rules.yaml`, displayed.
fn errors(text: &str) -> Vec<String> {
    match parse_rule_file("rules.yaml", text) {
        Ok(file) => panic!("expected errors, got {file:?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn parse(text: &str) -> RuleFile {
    match parse_rule_file("rules.yaml", text) {
        Ok(file) => file,
        Err(errors) => panic!(
            "expected no errors, got:\n{}",
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn promql(text: &str) -> Query {
    Query::PromQl { text: text.to_owned(), expr: crate::promql::parse_expr(text).unwrap() }
}

// --- The corpus -------------------------------------------------------------------------------------------------

/// Every directory under `dir` that holds files, relative to `base`.
fn directories_with_files(base: &Path, dir: &Path, found: &mut Vec<String>) {
    let mut has_files = false;
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            directories_with_files(base, &path, found);
        } else {
            has_files = true;
        }
    }
    if has_files {
        found.push(dir.strip_prefix(base).unwrap().to_str().unwrap().to_owned());
    }
}

#[test]
fn every_file_of_the_awesome_prometheus_alerts_corpus_loads_with_its_954_alerting_rules() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/rule-corpus/awesome-prometheus-alerts");
    let mut directories = Vec::new();
    directories_with_files(&corpus, &corpus, &mut directories);
    let patterns: Vec<String> = directories.iter().map(|dir| format!("{dir}/*.yml")).collect();

    let loaded = match load_rule_files(&patterns, &corpus) {
        Ok(loaded) => loaded,
        Err(errors) => panic!(
            "{} errors, first ones:\n{}",
            errors.len(),
            errors.iter().take(20).map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
    };

    assert_eq!(loaded.files.len(), 112);
    assert_eq!(loaded.unmatched_patterns, Vec::<String>::new());
    let rules: Vec<&Rule> = loaded
        .files
        .iter()
        .flat_map(|file| &file.rules.groups)
        .flat_map(|group| &group.rules)
        .collect();
    let alerting =
        rules.iter().filter(|rule| matches!(rule.kind, RuleKind::Alerting { .. })).count();
    assert_eq!(alerting, 954);
    assert_eq!(rules.len(), 954);
    assert!(rules.iter().all(|rule| matches!(rule.query, Query::PromQl { .. })));
}

// --- The model --------------------------------------------------------------------------------------------------

#[test]
fn a_complete_file_becomes_the_model_with_every_field() {
    let file = parse(
        r#"groups:
  - name: api
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: payments
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels:
          source: recording
      - alert: HighErrorRate
        expr: |
          job:http_requests:rate5m > 100
        for: 10m
        keep_firing_for: 1h30m
        labels:
          severity: page
        annotations:
          summary: "High error rate on {{ $labels.job }}"
      - alert: QueueLag
        sql: SELECT queue, max(lag) AS value FROM queues GROUP BY queue
        on_error: alerting
  - name: defaults
    interval: 0s
    query_offset: 0
    limit: -1
    rules: []
"#,
    );
    let expected = RuleFile {
        groups: vec![
            RuleGroup {
                name: "api".to_owned(),
                interval: Some(Duration::from_secs(30)),
                query_offset: Some(Duration::from_secs(60)),
                limit: NonZeroUsize::new(10),
                labels: map(&[("team", "payments")]),
                rules: vec![
                    Rule {
                        kind: RuleKind::Recording { name: "job:http_requests:rate5m".to_owned() },
                        query: promql("sum by (job) (rate(http_requests_total[5m]))"),
                        labels: map(&[("source", "recording")]),
                        annotations: BTreeMap::new(),
                        resolve_expr: None,
                        on_error: FailurePolicy::KeepLast,
                        on_no_data: FailurePolicy::KeepLast,
                        line: 9,
                    },
                    Rule {
                        kind: RuleKind::Alerting {
                            name: "HighErrorRate".to_owned(),
                            for_: Duration::from_secs(600),
                            keep_firing_for: Duration::from_secs(5_400),
                        },
                        query: promql("job:http_requests:rate5m > 100\n"),
                        labels: map(&[("severity", "page")]),
                        annotations: map(&[("summary", "High error rate on {{ $labels.job }}")]),
                        resolve_expr: None,
                        on_error: FailurePolicy::KeepLast,
                        on_no_data: FailurePolicy::KeepLast,
                        line: 13,
                    },
                    Rule {
                        kind: RuleKind::Alerting {
                            name: "QueueLag".to_owned(),
                            for_: Duration::ZERO,
                            keep_firing_for: Duration::ZERO,
                        },
                        query: Query::Sql {
                            text: "SELECT queue, max(lag) AS value FROM queues GROUP BY queue"
                                .to_owned(),
                        },
                        labels: BTreeMap::new(),
                        annotations: BTreeMap::new(),
                        resolve_expr: None,
                        on_error: FailurePolicy::Alerting,
                        on_no_data: FailurePolicy::KeepLast,
                        line: 22,
                    },
                ],
                line: 2,
            },
            RuleGroup {
                name: "defaults".to_owned(),
                // Zero is "the global evaluation_interval" for Prometheus, like no interval at all.
                interval: None,
                // An explicit zero offset overrides the global one, so it is kept.
                query_offset: Some(Duration::ZERO),
                limit: None,
                labels: BTreeMap::new(),
                rules: Vec::new(),
                line: 25,
            },
        ],
    };
    assert_eq!(file, expected);
    assert_eq!(file.groups[0].rules[1].name(), "HighErrorRate");
    assert_eq!(
        file.groups[0].rules[2].query.text(),
        "SELECT queue, max(lag) AS value FROM queues GROUP BY queue"
    );
}

#[test]
fn empty_and_comment_only_files_and_null_groups_have_no_groups() {
    for text in ["", "# only a comment\n", "groups:\n", "groups: []\n", "---\n", "~\n"] {
        assert_eq!(parse(text), RuleFile { groups: Vec::new() }, "text {text:?}");
    }
}

#[test]
fn null_items_are_dropped_from_groups_and_rules_as_go_yaml_does() {
    let file = parse(
        r#"groups:
  -
  - name: g
    rules:
      -
      - ~
      - alert: A
        expr: up == 0
"#,
    );
    assert_eq!(file.groups.len(), 1);
    assert_eq!(file.groups[0].rules.len(), 1);
    assert_eq!(file.groups[0].rules[0].name(), "A");
}

#[test]
fn any_scalar_is_a_string_and_a_null_label_value_is_empty() {
    let file = parse(
        r#"groups:
  - name: 2024
    rules:
      - alert: true
        expr: up == 0
        labels:
          priority: 1
          empty:
          ~: skipped like go-yaml skips a null key
          quoted: "null"
"#,
    );
    let group = &file.groups[0];
    assert_eq!(group.name, "2024");
    assert_eq!(group.rules[0].name(), "true");
    assert_eq!(group.rules[0].labels, map(&[("empty", ""), ("priority", "1"), ("quoted", "null")]));
}

#[test]
fn utf8_label_and_annotation_names_and_recording_names_are_accepted_as_in_prometheus_3() {
    let file = parse(
        r#"groups:
  - name: g
    labels:
      "service.name": api
    rules:
      - record: "http.server.duration:p99"
        expr: vector(1)
        labels:
          "ins-tance": a
          "5": b
      - alert: A
        expr: up == 0
        annotations:
          "runbook.url": https://example.com
          __name__: allowed for annotations
"#,
    );
    assert_eq!(file.groups[0].labels, map(&[("service.name", "api")]));
    assert_eq!(file.groups[0].rules[0].name(), "http.server.duration:p99");
    assert_eq!(file.groups[0].rules[0].labels, map(&[("5", "b"), ("ins-tance", "a")]));
}

#[test]
fn promql_of_any_type_is_accepted_as_prometheus_checks_types_only_at_evaluation() {
    let file = parse(
        r#"groups:
  - name: g
    rules:
      - record: scalar
        expr: "1"
      - record: string
        expr: '"text"'
      - record: range
        expr: up[5m]
"#,
    );
    assert_eq!(file.groups[0].rules.len(), 3);
}

#[test]
fn zero_for_and_empty_annotations_are_allowed_in_recording_rules_as_rulefmt_checks_values() {
    let file = parse(
        r#"groups:
  - name: g
    rules:
      - record: r
        expr: up
        for: 0s
        keep_firing_for: 0
        annotations: {}
"#,
    );
    assert_eq!(file.groups[0].rules[0].kind, RuleKind::Recording { name: "r".to_owned() });
}

#[test]
fn anchors_aliases_and_merge_keys_work_as_in_go_yaml() {
    // As Prometheus's own testdata/test_aliases.yaml: a whole rule, an expression and labels reused.
    let file = parse(
        r#"groups:
  - name: my-group-name
    interval: 30s
    rules:
      - &alert
        alert: HighAlert
        expr: &expr |
          sum without(instance) (rate(errors_total[5m]))
          /
          sum without(instance) (rate(requests_total[5m]))
        for: 5m
        labels: &labels
          severity: critical
          team: a
      - record: new_metric
        expr: *expr
      - *alert
      - <<: *alert
        alert: HighAlert2
        labels:
          <<: *labels
          team: b
      - <<: [{alert: Merged, expr: up}, {alert: Ignored, for: 1m}]
"#,
    );
    let rules = &file.groups[0].rules;
    let expr = "sum without(instance) (rate(errors_total[5m]))\n/\nsum without(instance) (rate(requests_total[5m]))\n";
    assert_eq!(rules.len(), 5);
    for rule in &rules[..4] {
        assert_eq!(rule.query.text(), expr);
    }
    assert_eq!(rules[0], rules[2]);
    assert_eq!(rules[3].name(), "HighAlert2");
    assert_eq!(rules[3].labels, map(&[("severity", "critical"), ("team", "b")]));
    assert_eq!(
        rules[3].kind,
        RuleKind::Alerting {
            name: "HighAlert2".to_owned(),
            for_: Duration::from_secs(300),
            keep_firing_for: Duration::ZERO,
        }
    );
    // The first merged mapping wins over the later ones, key by key.
    assert_eq!(
        rules[4].kind,
        RuleKind::Alerting {
            name: "Merged".to_owned(),
            for_: Duration::from_secs(60),
            keep_firing_for: Duration::ZERO,
        }
    );
}

#[test]
fn yaml_forms_that_go_yaml_accepts_are_accepted() {
    // Each was checked with promtool: flow style, explicit document markers and directives, a byte-order mark,
    // CRLF line ends, comments, folded and quoted multi-line expressions, quoted and explicit (`?`) keys, tags,
    // and a base64 `!!binary` value.
    let texts = [
        "{groups: [{name: g, rules: [{alert: A, expr: up}]}]}\n",
        "%YAML 1.1\n---\ngroups:\n  - name: g\n    rules: [{alert: A, expr: up}]\n...\n",
        "\u{feff}groups:\n  - name: g\n    rules: [{alert: A, expr: up}]\n",
        "groups:\r\n  - name: g\r\n    rules:\r\n      - alert: A\r\n        expr: up\r\n",
        "groups: # c\n  - name: g # c\n    rules:\n      - alert: A # c\n        expr: up # c\n",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: >-\n          up\n          == 0\n",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: \"up\\n == 0\"\n",
        "groups:\n  - \"name\": g\n    rules:\n      - ? alert\n        : A\n        expr: up\n",
        "groups: !!seq\n  - name: g\n    rules:\n      - alert: !!str A\n        expr: up\n        for: !!str 5m\n",
    ];
    for text in texts {
        let file = parse(text);
        assert_eq!(file.groups[0].rules[0].name(), "A", "text {text:?}");
    }
    let binary = parse(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: {a: !!binary aGVsbG8=}\n",
    );
    assert_eq!(binary.groups[0].rules[0].labels, map(&[("a", "hello")]));
}

#[test]
fn yaml_forms_that_go_yaml_rejects_are_rejected() {
    assert_eq!(
        errors("groups:\n\t- name: g\n"),
        ["rules.yaml: 2:2: yaml: tabs disallowed within this context (block indentation)"]
    );
    // A quoted `<<` is an ordinary key, not a merge.
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        \"<<\": {for: 5m}\n"
        ),
        [
            r#"rules.yaml: 6:9: group "g", rule 1, "A": field "<<" not found in rule (the fields are: record, alert, expr, sql, for, keep_firing_for, labels, annotations, resolve_expr, on_error, on_no_data)"#
        ]
    );
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        <<: 5\n"
        ),
        [
            r#"rules.yaml: 6:13: group "g", rule 1, "A": yaml: map merge requires map or sequence of maps as the value"#
        ]
    );
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: {a: !!binary '%'}\n"
        ),
        [
            r#"rules.yaml: 6:21: group "g", rule 1, "A": label "a": expected a string, found a !!binary value that is not base64"#
        ]
    );
}

#[test]
fn group_limits_read_as_go_yaml_reads_an_int() {
    let limit = |value: &str| {
        parse(&format!("groups:\n  - name: g\n    limit: {value}\n    rules: []\n")).groups[0].limit
    };
    assert_eq!(limit("25"), NonZeroUsize::new(25));
    assert_eq!(limit("0x10"), NonZeroUsize::new(16));
    assert_eq!(limit("0o10"), NonZeroUsize::new(8));
    assert_eq!(limit("010"), NonZeroUsize::new(8));
    assert_eq!(limit("0b11"), NonZeroUsize::new(3));
    assert_eq!(limit("1_000"), NonZeroUsize::new(1_000));
    assert_eq!(limit("5.7"), NonZeroUsize::new(5));
    assert_eq!(limit("1e3"), NonZeroUsize::new(1_000));
    assert_eq!(limit("0"), None);
    assert_eq!(limit("-3"), None);
    assert_eq!(limit("~"), None);
}

// --- Errors: each check of rulefmt, with its exact message and position ------------------------------------------

#[test]
fn a_group_without_a_name_is_an_error() {
    assert_eq!(
        errors("groups:\n  - rules: []\n  - name: \"\"\n    rules: []\n"),
        [
            r#"rules.yaml: 2:5: group "": groupname must not be empty"#,
            r#"rules.yaml: 3:5: group "": groupname must not be empty"#,
            r#"rules.yaml: 3:5: group "": groupname is repeated in the same file (first at line 2)"#,
        ]
    );
}

#[test]
fn a_group_name_repeated_in_a_file_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: api\n    rules: []\n  - name: db\n    rules: []\n  - name: api\n    rules: []\n"
        ),
        [
            r#"rules.yaml: 6:5: group "api": groupname is repeated in the same file (first at line 2)"#
        ]
    );
}

#[test]
fn a_rule_with_both_record_and_alert_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - record: r\n        alert: A\n        expr: up\n"
        ),
        [
            r#"rules.yaml: 4:17: group "g", rule 1, "A": only one of 'record' and 'alert' must be set"#
        ]
    );
}

#[test]
fn a_rule_with_neither_record_nor_alert_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - expr: up\n      - alert: \"\"\n        expr: up\n"
        ),
        [
            r#"rules.yaml: 4:9: group "g", rule 1, "": one of 'record' or 'alert' must be set"#,
            r#"rules.yaml: 5:9: group "g", rule 2, "": one of 'record' or 'alert' must be set"#,
        ]
    );
}

#[test]
fn a_rule_without_expr_or_sql_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        for: 1m\n      - alert: B\n        expr:\n"
        ),
        [
            r#"rules.yaml: 4:9: group "g", rule 1, "A": field 'expr' (or 'sql') must be set in rule"#,
            r#"rules.yaml: 6:9: group "g", rule 2, "B": field 'expr' (or 'sql') must be set in rule"#,
        ]
    );
}

#[test]
fn a_rule_with_both_expr_and_sql_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        sql: SELECT 1 AS value\n"
        ),
        [r#"rules.yaml: 6:9: group "g", rule 1, "A": only one of 'expr' and 'sql' must be set"#]
    );
}

#[test]
fn an_expression_that_is_not_promql_is_an_error_at_the_expression() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m])\n"
        ),
        [
            r#"rules.yaml: 5:15: group "g", rule 1, "A": could not parse expression: unclosed left parenthesis"#
        ]
    );
    assert_eq!(
        errors("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: rate(up)\n"),
        [
            r#"rules.yaml: 5:15: group "g", rule 1, "r": could not parse expression: expected type matrix in call to function 'rate', got vector"#
        ]
    );
}

#[test]
fn experimental_promql_functions_are_errors_as_in_prometheus_by_default() {
    assert_eq!(
        errors(
            r#"groups:
  - name: g
    rules:
      - record: a
        expr: sort_by_label(up, "job")
      - record: b
        expr: sum(limitk(2, up))
      - record: c
        expr: 1 + abs(mad_over_time(x[5m]))
      - record: d
        expr: rate(x[5m:1m] @ start())
"#
        ),
        [
            r#"rules.yaml: 5:15: group "g", rule 1, "a": could not parse expression: function "sort_by_label" is not enabled (an experimental PromQL function, off by default in Prometheus)"#,
            r#"rules.yaml: 7:15: group "g", rule 2, "b": could not parse expression: function "limitk" is not enabled (an experimental PromQL function, off by default in Prometheus)"#,
            r#"rules.yaml: 9:15: group "g", rule 3, "c": could not parse expression: function "mad_over_time" is not enabled (an experimental PromQL function, off by default in Prometheus)"#,
        ]
    );
}

#[test]
fn recording_rules_may_not_have_for_keep_firing_for_or_annotations() {
    assert_eq!(
        errors(
            r#"groups:
  - name: g
    rules:
      - record: r
        expr: up
        for: 5m
        keep_firing_for: 1m
        annotations:
          summary: no
"#
        ),
        [
            r#"rules.yaml: 6:9: group "g", rule 1, "r": invalid field 'for' in recording rule"#,
            r#"rules.yaml: 7:9: group "g", rule 1, "r": invalid field 'keep_firing_for' in recording rule"#,
            r#"rules.yaml: 8:9: group "g", rule 1, "r": invalid field 'annotations' in recording rule"#,
        ]
    );
}

#[test]
fn a_recording_rule_name_with_braces_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - record: 'strawberry{flavor=\"sweet\"}'\n        expr: 1\n"
        ),
        [
            r#"rules.yaml: 4:17: group "g", rule 1, "strawberry{flavor=\"sweet\"}": braces present in the recording rule name; should it be in expr?: strawberry{flavor="sweet"}"#
        ]
    );
}

#[test]
fn an_empty_label_name_or_name_label_is_an_error_in_rules_and_groups() {
    assert_eq!(
        errors(
            r#"groups:
  - name: g
    labels:
      __name__: x
    rules:
      - record: hola
        expr: 1
        labels:
          __name__: anything
          "": empty
"#
        ),
        [
            r#"rules.yaml: 4:7: group "g": invalid label name: __name__"#,
            r#"rules.yaml: 9:11: group "g", rule 1, "hola": invalid label name: __name__"#,
            r#"rules.yaml: 10:11: group "g", rule 1, "hola": invalid label name: "#,
        ]
    );
}

#[test]
fn an_empty_annotation_name_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          '': x\n"
        ),
        [r#"rules.yaml: 7:11: group "g", rule 1, "A": invalid annotation name: "#]
    );
}

#[test]
fn unknown_fields_are_errors_by_name_at_every_level() {
    assert_eq!(
        errors(
            r#"groups:
  - name: g
    evaluation_interval: 1m
    rules:
      - alert: A
        expr: up
        annotation:
          summary: singular
namespace: x
"#
        ),
        [
            r#"rules.yaml: 3:5: group "g": field "evaluation_interval" not found in group (the fields are: name, interval, query_offset, limit, labels, rules)"#,
            r#"rules.yaml: 7:9: group "g", rule 1, "A": field "annotation" not found in rule (the fields are: record, alert, expr, sql, for, keep_firing_for, labels, annotations, resolve_expr, on_error, on_no_data)"#,
            r#"rules.yaml: 9:1: field "namespace" not found in the rule file (the fields are: groups)"#,
        ]
    );
}

#[test]
fn a_key_repeated_in_a_mapping_is_an_error() {
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        expr: down\n"
        ),
        [
            r#"rules.yaml: 6:9: group "g", rule 1, "A": mapping key "expr" already defined at line 5"#
        ]
    );
    assert_eq!(
        errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: {a: x, a: y}\n"
        ),
        [r#"rules.yaml: 6:24: group "g", rule 1, "A": mapping key "a" already defined at line 6"#]
    );
}

#[test]
fn values_of_the_wrong_kind_are_errors() {
    assert_eq!(
        errors(
            r#"groups:
  - name: g
    limit: "5"
    rules:
      - alert: [A]
        expr: up
        labels:
          severity: {level: 1}
      - just a string
  - rules: {}
    name: h
"#
        ),
        [
            r#"rules.yaml: 3:12: group "g": field "limit": expected an integer, found a string"#,
            r#"rules.yaml: 5:16: group "g", rule 1, "": field "alert": expected a string, found a sequence"#,
            r#"rules.yaml: 8:21: group "g", rule 1, "": label "severity": expected a string, found a mapping"#,
            r#"rules.yaml: 9:9: group "g": a rule: expected a mapping, found a scalar"#,
            r#"rules.yaml: 10:12: group "h": field "rules": expected a sequence, found a mapping"#,
        ]
    );
    assert_eq!(
        errors("hello\n"),
        [r#"rules.yaml: 1:1: the rule file: expected a mapping, found a scalar"#]
    );
}

#[test]
fn durations_that_prometheus_rejects_are_errors() {
    assert_eq!(
        errors(
            r#"groups:
  - name: g
    interval: 5
    query_offset: -1m
    rules:
      - alert: A
        expr: up
        for: 1m1d
        keep_firing_for: ""
      - alert: B
        expr: up
        for: 1.5h
"#
        ),
        [
            r#"rules.yaml: 3:15: group "g": field "interval": not a valid duration string: "5""#,
            r#"rules.yaml: 4:19: group "g": field "query_offset": not a valid duration string: "-1m""#,
            r#"rules.yaml: 8:14: group "g", rule 1, "A": field "for": not a valid duration string: "1m1d""#,
            r#"rules.yaml: 9:26: group "g", rule 1, "A": field "keep_firing_for": empty duration string"#,
            r#"rules.yaml: 12:14: group "g", rule 2, "B": field "for": unknown unit "." in duration "1.5h""#,
        ]
    );
}

#[test]
fn a_second_document_is_an_error_unless_it_is_empty() {
    let first = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n";
    assert_eq!(
        errors(&format!("{first}---\ngroups:\n  - name: h\n    rules: []\n")),
        ["rules.yaml: 7:1: rule file must not contain multiple YAML documents"]
    );
    assert_eq!(parse(&format!("{first}---\n")).groups.len(), 1);
    assert_eq!(parse(&format!("{first}---\n# nothing\n...\n")).groups.len(), 1);
}

#[test]
fn yaml_syntax_errors_are_reported_at_their_position() {
    let errors = errors("groups:\n  - name: g\n    rules: [\n");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("rules.yaml: 4:1: yaml: "), "{}", errors[0]);
}

#[test]
fn an_alias_inside_its_own_anchor_is_an_error() {
    assert_eq!(
        errors("groups: &g\n  - name: g\n    rules: *g\n"),
        ["rules.yaml: 3:12: yaml: anchor value contains itself"]
    );
}

#[test]
fn a_billion_laughs_document_stops_at_go_yaml_alias_limit() {
    // Labels merged from ten copies of labels merged from ten copies of…, nine levels deep: 10^9 merges if
    // decoded naively. The anchors sit under a `.definitions` key, itself an error, as rule files have no such key.
    let mut text = String::from(".definitions:\n  - &l0 {a: x}\n");
    for level in 1..=9 {
        let previous = format!("*l{}", level - 1);
        text.push_str(&format!("  - &l{level} {{<<: [{}]}}\n", vec![previous; 10].join(", ")));
    }
    text.push_str("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: *l9\n");
    assert_eq!(
        errors(&text),
        [
            r#"rules.yaml: 1:1: field ".definitions" not found in the rule file (the fields are: groups)"#,
            // Where the count ran out: at one of the level-1 copies, some thousand merges in.
            r#"rules.yaml: 3:5: group "g", rule 1, "A": yaml: document contains excessive aliasing"#,
        ]
    );
}

#[test]
fn a_long_chain_of_merges_stops_at_the_merge_depth_limit() {
    // Each anchor merges the one before: decoding the last merges them all, one inside the other. Ordinary rules
    // before it keep the share of aliases under go-yaml's limit, so that only the depth stops it.
    let mut text = String::from(".definitions:\n  - &m0 {expr: up}\n");
    for link in 1..=2_000 {
        text.push_str(&format!("  - &m{link} {{<<: *m{}}}\n", link - 1));
    }
    text.push_str("groups:\n");
    for group in 0..300 {
        text.push_str(&format!(
            "  - name: g{group}\n    rules:\n      - alert: A\n        expr: up\n"
        ));
    }
    text.push_str("  - name: last\n    rules:\n      - <<: *m2000\n        alert: B\n");
    assert_eq!(
        errors(&text),
        [
            r#"rules.yaml: 1:1: field ".definitions" not found in the rule file (the fields are: groups)"#,
            // At the 1001st mapping merged, `&m1000`.
            r#"rules.yaml: 1002:5: group "last", rule 1, "": yaml: document contains excessive aliasing"#,
            // Decoding stopped before the rule's own fields were read.
            r#"rules.yaml: 3206:9: group "last", rule 1, "": one of 'record' or 'alert' must be set"#,
            r#"rules.yaml: 3206:9: group "last", rule 1, "": field 'expr' (or 'sql') must be set in rule"#,
        ]
    );
}

#[test]
fn documents_nested_deeper_than_any_stack_are_reported_and_dropped() {
    let text = format!("groups:\n  {}x\n", "- ".repeat(200_000));
    assert_eq!(
        errors(&text),
        [r#"rules.yaml: 2:5: a group: expected a mapping, found a sequence"#]
    );
}

#[test]
fn all_errors_of_a_file_are_reported_in_order_of_position() {
    assert_eq!(
        errors(
            r#"groups:
  - name: first
    rules:
      - alert: A
        expr: up ==
        bogus: 1
      - record: r
        expr: up
        for: 1m
  - name: first
    rules:
      - alert: B
"#
        ),
        [
            r#"rules.yaml: 5:15: group "first", rule 1, "A": could not parse expression: invalid promql query"#,
            r#"rules.yaml: 6:9: group "first", rule 1, "A": field "bogus" not found in rule (the fields are: record, alert, expr, sql, for, keep_firing_for, labels, annotations, resolve_expr, on_error, on_no_data)"#,
            r#"rules.yaml: 9:9: group "first", rule 2, "r": invalid field 'for' in recording rule"#,
            r#"rules.yaml: 10:5: group "first": groupname is repeated in the same file (first at line 2)"#,
            r#"rules.yaml: 12:9: group "first", rule 1, "B": field 'expr' (or 'sql') must be set in rule"#,
        ]
    );
}

#[test]
fn errors_carry_their_parts_apart_from_the_message() {
    let errors =
        parse_rule_file("rules.yaml", "groups:\n  - name: g\n    rules:\n      - alert: A\n")
            .unwrap_err();
    assert_eq!(errors.len(), 1);
    let error = &errors[0];
    assert_eq!(error.file, "rules.yaml");
    assert_eq!(error.position, Some(Position { line: 4, column: 9 }));
    assert_eq!(error.group.as_deref(), Some("g"));
    assert_eq!(error.rule, Some((1, "A".to_owned())));
    assert!(matches!(error.kind, RuleFileErrorKind::NoQuery));
}

// --- Templates ----------------------------------------------------------------------------------------------

#[test]
fn the_labels_of_recording_rules_are_not_templates() {
    let file = parse(
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        labels:\n          source: '{{ not a template'\n",
    );
    assert_eq!(file.groups[0].rules[0].labels, map(&[("source", "{{ not a template")]));
}

#[test]
fn a_template_that_does_not_parse_is_an_error_of_its_rule() {
    let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          summary: '{{ $labels.instance '\n        labels:\n          team: '{{ humanise $value }}'\n";
    assert_eq!(
        errors(text),
        [
            "rules.yaml: 4:9: group \"g\", rule 1, \"A\": label \"team\": error parsing template __alert_A: template: __alert_A:1: function \"humanise\" not defined",
            "rules.yaml: 4:9: group \"g\", rule 1, \"A\": annotation \"summary\": error parsing template __alert_A: template: __alert_A:1: unclosed action",
        ]
    );
}

#[test]
fn the_alerting_extension_fields_are_checked_and_refused_on_recording_rules() {
    let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up > 1\n        resolve_expr: up <\n        on_error: retry\n      - record: r\n        expr: up\n        on_no_data: ok\n      - alert: B\n        sql: SELECT 1 AS value\n        resolve_expr: up < 1\n      - alert: C\n        expr: up > 1\n        resolve_expr: up < 1\n        on_error: ok\n        on_no_data: alerting\n";
    let errors: Vec<String> =
        parse_rule_file("rules.yaml", text).unwrap_err().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            r#"rules.yaml: 6:23: group "g", rule 1, "A": could not parse expression: invalid promql query"#,
            r#"rules.yaml: 7:19: group "g", rule 1, "A": field "on_error": "retry" is not a policy (the policies are: keep_last, alerting, ok)"#,
            r#"rules.yaml: 10:9: group "g", rule 2, "r": invalid field 'on_no_data' in recording rule"#,
            r#"rules.yaml: 13:9: group "g", rule 3, "B": field 'resolve_expr' needs a PromQL 'expr'"#,
        ]
    );
    let good = text.split("      - alert: C").nth(1).unwrap();
    let file = parse_rule_file(
        "rules.yaml",
        &format!("groups:\n  - name: g\n    rules:\n      - alert: C{good}"),
    )
    .unwrap();
    let rule = &file.groups[0].rules[0];
    assert_eq!((rule.on_error, rule.on_no_data), (FailurePolicy::Ok, FailurePolicy::Alerting));
    assert_eq!(rule.resolve_expr, Some(crate::promql::parse_expr("up < 1").unwrap()));
}
