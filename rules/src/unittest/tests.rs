#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// The promtool unit-test files of the corpus: `rules/testdata/promtool/*.test.yaml`.
fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promtool");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "the corpus is missing from {}", dir.display());
    files
}

#[test]
fn the_promtool_corpus_passes_under_sightline() {
    let failed: Vec<String> = corpus()
        .iter()
        .map(|path| run_file(path))
        .filter(|o| !o.passed)
        .map(|o| o.report)
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Prometheus is the oracle: the same files pass under its own promtool, which the test command installs
/// (Debian's `prometheus` package).
#[test]
fn the_promtool_corpus_passes_under_promtool() {
    let output =
        Command::new("promtool").arg("test").arg("rules").args(corpus()).output().expect(
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
