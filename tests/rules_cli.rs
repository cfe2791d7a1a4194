//! `sightline rules check` and `sightline rules test`, run as a user would run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sightline(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .output()
        .expect("the sightline binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The files of `dir` (relative to the repository) whose names end with `suffix`, sorted.
fn files_in(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{} is in the repository: {error}", dir.display()))
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// The promtool corpus's files ending with `suffix`.
fn corpus(suffix: &str) -> Vec<PathBuf> {
    files_in("rules/testdata/promtool", suffix)
}

fn run(subcommand: &str, files: &[PathBuf]) -> Output {
    let mut args: Vec<&Path> = vec![Path::new("rules"), Path::new(subcommand)];
    args.extend(files.iter().map(PathBuf::as_path));
    sightline(&args)
}

#[test]
fn rules_test_passes_the_promtool_corpus_and_fails_a_wrong_expectation() {
    let output = run("test", &corpus(".test.yaml"));
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(stdout(&output).matches("  SUCCESS").count(), corpus(".test.yaml").len());

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let wrong = dir.join("wrong.test.yaml");
    let test = "tests:\n  - input_series:\n      - series: 'up'\n        values: '1'\n    promql_expr_test:\n      - expr: up\n        eval_time: 0\n        exp_samples:\n          - labels: 'up'\n            value: 2\n";
    std::fs::write(&wrong, test).expect("temp dir is writable");
    let output = run("test", &[wrong]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("  FAILED:\n    expr: \"up\", time: 0,\n        exp: {__name__=\"up\"} 2\n        got: {__name__=\"up\"} 1\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn rules_check_counts_rules_and_reports_every_error_with_its_place() {
    let output = run("check", &corpus(".rules.yaml"));
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).contains("  SUCCESS: 4 rules found (3 alerting, 1 recording)"));

    let bad = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad.rules.yaml");
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m) > 1\n      - record: r\n        expr: up\n        for: 1m\n";
    std::fs::write(&bad, rules).expect("temp dir is writable");
    let output = run("check", std::slice::from_ref(&bad));
    assert_eq!(output.status.code(), Some(1));
    let name = bad.display();
    assert_eq!(
        stdout(&output),
        format!(
            "Checking {name}\n  FAILED:\n{name}: 5:15: group \"g\", rule 1, \"A\": could not parse expression: unexpected character inside brackets: ')'\n{name}: 8:9: group \"g\", rule 2, \"r\": invalid field 'for' in recording rule\n\n"
        )
    );
}

/// The rule pack's files ending with `suffix`.
fn rule_pack(suffix: &str) -> Vec<PathBuf> {
    let files = files_in("deploy/rules", suffix);
    assert!(files.len() >= 4, "the rule pack is missing files: {files:?}");
    files
}

#[test]
fn the_rule_pack_passes_rules_check_and_its_own_unit_tests() {
    let output = run("check", &rule_pack(".rules.yaml"));
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(stdout(&output).matches("  SUCCESS").count(), rule_pack(".rules.yaml").len());
    let output = run("test", &rule_pack(".test.yaml"));
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(stdout(&output).matches("  SUCCESS").count(), rule_pack(".test.yaml").len());
}
