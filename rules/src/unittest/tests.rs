#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::file::RuleKind;

/// The promtool unit-test files (`*.test.yaml`) of `dir`, relative to the crate: at least `min` of them, so that a
/// test over them cannot pass for want of files.
fn test_files(dir: &str, min: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= min,
        "{} test files in {}, expected {min} or more",
        files.len(),
        dir.display()
    );
    files
}

/// The corpus: `rules/testdata/promtool/*.test.yaml`.
fn corpus() -> Vec<PathBuf> {
    test_files("testdata/promtool", 7)
}

/// The rule pack's tests: `deploy/rules/*.test.yaml`.
fn rule_pack() -> Vec<PathBuf> {
    test_files("../deploy/rules", 4)
}

fn assert_pass_under_sightline(files: &[PathBuf]) {
    let failed: Vec<String> =
        files.iter().map(|path| run_file(path)).filter(|o| !o.passed).map(|o| o.report).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Prometheus is the oracle: the same files pass under its own promtool, which the test command installs
/// (Debian's `prometheus` package).
fn assert_pass_under_promtool(files: &[PathBuf]) {
    let output =
        Command::new("promtool").arg("test").arg("rules").args(files).output().expect(
            "promtool is not installed: scripts/test installs it (apt-get install prometheus)",
        );
    assert!(
        output.status.success(),
        "promtool failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_promtool_corpus_passes_under_sightline() {
    assert_pass_under_sightline(&corpus());
}

#[test]
fn the_promtool_corpus_passes_under_promtool() {
    assert_pass_under_promtool(&corpus());
}

#[test]
fn the_rule_pack_passes_under_sightline() {
    assert_pass_under_sightline(&rule_pack());
}

#[test]
fn the_rule_pack_passes_under_promtool() {
    // Tests of `sql:` rules (`*.sql.test.yaml`) are sightline's alone.
    let promql_tests: Vec<PathBuf> = rule_pack()
        .into_iter()
        .filter(|path| !path.to_string_lossy().ends_with(".sql.test.yaml"))
        .collect();
    assert!(promql_tests.len() >= 4);
    assert_pass_under_promtool(&promql_tests);
}

/// Whether `name` appears in `expr` as a whole metric name, not as a part of a longer one.
fn mentions_metric(expr: &str, name: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(name).any(|(start, _)| {
        let before = expr[..start].chars().next_back();
        let after = expr[start + name.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

#[test]
fn mentions_metric_matches_whole_names_only() {
    assert!(mentions_metric("sum(job:a:rate5m) > 1", "job:a:rate5m"));
    assert!(mentions_metric("job:a:rate5m", "job:a:rate5m"));
    assert!(!mentions_metric("job:a:rate5m_total", "job:a:rate5m"));
    assert!(!mentions_metric("x_job:a:rate5m", "job:a:rate5m"));
}

/// Every alerting rule of `deploy/rules/*.rules.yaml` is the `alertname` of an alert test, and every recording
/// rule appears in the `expr` of an expression test, in a test file that loads the rule's file.
#[test]
fn every_rule_of_the_rule_pack_has_a_unit_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rules");
    let file_name = |path: &Path| path.file_name().unwrap().to_string_lossy().into_owned();
    let mut tested = BTreeSet::new();
    for path in rule_pack() {
        let test: TestFile =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let alert_names: BTreeSet<&str> = test
            .tests
            .iter()
            .flat_map(|group| &group.alert_rule_test)
            .map(|alert_test| alert_test.alertname.as_str())
            .collect();
        let exprs: Vec<&str> = test
            .tests
            .iter()
            .flat_map(|group| &group.promql_expr_test)
            .map(|expr_test| expr_test.expr.as_str())
            .collect();
        for rule_file in file::load_rule_files(&test.rule_files, &dir).unwrap().files {
            for rule in rule_file.rules.groups.iter().flat_map(|group| &group.rules) {
                let is_tested = match &rule.kind {
                    RuleKind::Alerting { name, .. } => alert_names.contains(name.as_str()),
                    RuleKind::Recording { name } => {
                        exprs.iter().any(|expr| mentions_metric(expr, name))
                    }
                };
                if is_tested {
                    tested.insert((file_name(&rule_file.path), rule.name().to_owned()));
                }
            }
        }
    }

    let pack = file::load_rule_files(&["*.rules.yaml".to_owned()], &dir).unwrap();
    assert!(pack.files.len() >= 4, "{} rule files in {}", pack.files.len(), dir.display());
    let mut untested = Vec::new();
    let mut rules = 0;
    for rule_file in &pack.files {
        for rule in rule_file.rules.groups.iter().flat_map(|group| &group.rules) {
            rules += 1;
            let key = (file_name(&rule_file.path), rule.name().to_owned());
            if !tested.contains(&key) {
                untested.push(format!("{}: {}", key.0, key.1));
            }
        }
    }
    assert!(rules >= 20, "{rules} rules in the pack");
    assert!(untested.is_empty(), "rules without a unit test:\n{}", untested.join("\n"));
}

#[test]
fn a_wrong_expectation_fails_with_both_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promtool");
    let text = r#"
rule_files: [counters.rules.yaml]
tests:
  - input_series:
      - series: 'x{a="1"}'
        values: '1 2 3'
    promql_expr_test:
      - expr: x * 2
        eval_time: 2m
        exp_samples:
          - labels: '{a="1"}'
            value: 5
    alert_rule_test:
      - eval_time: 1m
        alertname: Nothing
        exp_alerts:
          - exp_labels: {severity: page}
"#;
    let failures = run(text, &dir);
    assert_eq!(
        failures,
        [
            "alertname: Nothing, time: 1m,\n    exp: [Labels:{alertname=\"Nothing\", severity=\"page\"} Annotations:{}]\n    got: []",
            "expr: \"x * 2\", time: 2m,\n    exp: {a=\"1\"} 5\n    got: {a=\"1\"} 6",
        ]
    );
}

#[test]
fn group_labels_apply_to_every_rule_of_the_group_unless_the_rule_sets_them() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "groups:\n  - name: g\n    labels: {team: core, tier: backend}\n    rules:\n      - record: r\n        expr: up\n        labels: {tier: frontend}\n";
    std::fs::write(dir.path().join("g.rules.yaml"), rules).unwrap();
    let text = r#"
rule_files: [g.rules.yaml]
tests:
  - input_series:
      - series: 'up{job="a"}'
        values: '1 1'
    promql_expr_test:
      - expr: r
        eval_time: 1m
        exp_samples:
          - labels: 'r{job="a", team="core", tier="frontend"}'
            value: 1
"#;
    assert_eq!(run(text, dir.path()), Vec::<String>::new());
}

#[test]
fn a_groups_query_offset_queries_that_long_before_the_evaluation_time() {
    let rules = "groups:\n  - name: g\n    query_offset: 2m\n    rules:\n      - alert: Up\n        expr: x > 0\n";
    let test = r#"
rule_files: [r.rules.yaml]
tests:
  - input_series:
      - series: 'x{job="a"}'
        values: '0 0 0 5 5 5 5'
    alert_rule_test:
      - alertname: Up
        eval_time: 4m
        exp_alerts: []
      - alertname: Up
        eval_time: 5m
        exp_alerts:
          - exp_labels: {job: a}
"#;
    assert_eq!(run_with_rules(rules, test), Vec::<String>::new());
}

/// An `sql:` rule over spans, with its input given as records: slow server spans per service.
const SLOW_SPANS_RULES: &str = r#"
groups:
  - name: spans
    rules:
      - alert: SlowSpans
        sql: |
          SELECT service_name, name AS span_name, count(*) AS value FROM spans
          WHERE end_time > now() - INTERVAL '2 minutes' AND end_time <= now()
            AND kind = 'SERVER' AND duration_ns > 1000000000
          GROUP BY service_name, name
        for: 1m
        annotations:
          summary: '{{ $value }} slow {{ $labels.span_name }}'
"#;

fn run_with_rules(rules: &str, test: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.rules.yaml"), rules).unwrap();
    run(test, dir.path())
}

#[test]
fn sql_rules_are_tested_over_input_records() {
    let test = r#"
rule_files: [r.rules.yaml]
tests:
  - interval: 1m
    input_spans:
      - fields: { service_name: api, name: GET /a, kind: SERVER, duration_ns: 1500ms, attributes: { http.route: /a } }
        counts: 0 0 3 3 0 0
      - fields: { service_name: api, name: GET /a, kind: SERVER, duration_ns: 200000000 }
        counts: 10x5
      - fields: { service_name: api, name: GET /b, kind: CLIENT, duration_ns: 2s }
        counts: 5x5
    alert_rule_test:
      - eval_time: 2m
        alertname: SlowSpans
        exp_alerts: []
      - eval_time: 3m
        alertname: SlowSpans
        exp_alerts:
          - exp_labels: { service_name: api, span_name: GET /a }
            exp_annotations: { summary: 6 slow GET /a }
      - eval_time: 5m
        alertname: SlowSpans
        exp_alerts: []
"#;
    assert_eq!(run_with_rules(SLOW_SPANS_RULES, test), Vec::<String>::new());
}

#[test]
fn input_records_with_unknown_or_time_columns_are_refused_with_the_reason() {
    let test = |fields: &str| {
        format!(
            "rule_files: [r.rules.yaml]\ntests:\n  - input_spans:\n      - fields: {fields}\n        counts: 1\n    alert_rule_test:\n      - eval_time: 1m\n        alertname: SlowSpans\n"
        )
    };
    let failures = run_with_rules(SLOW_SPANS_RULES, &test("{ service: api }"));
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].starts_with("spans have no column \"service\"; they have trace_id, "),
        "{failures:?}"
    );
    let failures = run_with_rules(SLOW_SPANS_RULES, &test("{ start_time: 5 }"));
    assert_eq!(failures, ["\"start_time\" is the time of the step its record arrives at"]);
    let failures = run_with_rules(SLOW_SPANS_RULES, &test("{ kind: [SERVER] }"));
    assert_eq!(failures, ["kind: Sequence [String(\"SERVER\")] is not text"]);
}

#[test]
fn input_records_need_sql_rules() {
    let test = "rule_files: [r.rules.yaml]\ntests:\n  - input_logs:\n      - counts: 1\n";
    let failures = run_with_rules(
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n",
        test,
    );
    assert_eq!(
        failures,
        ["input_logs and input_spans are for sql rules; the rule files have none"]
    );
}
