//! `sightline config check` and `--version`, run as a user would run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sightline(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sightline"));
    command.args(args);
    // The outcome must not depend on the developer's shell.
    for name in ["SIGHTLINE_CONFIG", "SIGHTLINE_DATA_DIR", "SIGHTLINE_ADMIN_TOKEN"] {
        command.env_remove(name);
    }
    command.output().expect("the sightline binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn config_check_reports_every_mistake_and_fails() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("three-mistakes.yaml");
    let config = "otlp:\n  grpc:\n    lisen: \"0.0.0.0:4317\"\n  tokens:\n    - name: app\n      token: t\n      signals: [logs, spans]\nevaluation_interval: 15 seconds\n";
    std::fs::write(&path, config).expect("temp config is writable");

    let output = sightline(&["config", "check", path.to_str().expect("utf-8 path")]);
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    for expected in [
        "otlp.grpc.lisen: unknown field",
        "otlp.tokens[0].signals[1]: \"spans\"",
        "evaluation_interval: ",
    ] {
        assert!(printed.contains(expected), "missing {expected:?} in:\n{printed}");
    }
    assert_eq!(printed.lines().count(), 3, "one line per error:\n{printed}");
}

#[test]
fn config_check_accepts_the_deploy_example() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sightline.yaml");
    let output = sightline(&["config", "check", example.to_str().expect("utf-8 path")]);
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    assert!(printed.trim_end().ends_with("sightline.yaml: ok"), "{printed}");
}

#[test]
fn version_flag_prints_name_and_version() {
    let output = sightline(&["--version"]);
    assert!(output.status.success());
    assert_eq!(text(&output).trim(), format!("sightline {}", env!("CARGO_PKG_VERSION")));
}
