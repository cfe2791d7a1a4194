//! `sightline rules check` and `sightline rules test`: promtool's `check rules` and `test rules`, with
//! sightline's loader and engine, and the same output shape; and `sightline rules backtest`, which has a
//! running daemon replay rule files over its stored history.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};
use sightline_rules::file::{self, RuleKind};
use sightline_rules::unittest;

use crate::query::{self, Target};

/// Checks each rule file: `Checking FILE` then `SUCCESS: N rules found`, or every error. True when all pass.
pub fn check(files: &[PathBuf], out: &mut String) -> bool {
    let mut all_passed = true;
    for path in files {
        let _ = writeln!(out, "Checking {}", path.display());
        let name = path.display().to_string();
        let parsed = std::fs::read_to_string(path)
            .map_err(|error| vec![format!("{name}: {error}")])
            .and_then(|text| {
                file::parse_rule_file(&name, &text)
                    .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())
            });
        match parsed {
            Ok(rules) => {
                let all = rules.groups.iter().flat_map(|group| &group.rules);
                let (alerting, recording): (Vec<_>, Vec<_>) =
                    all.partition(|rule| matches!(rule.kind, RuleKind::Alerting { .. }));
                let _ = writeln!(
                    out,
                    "  SUCCESS: {} rules found ({} alerting, {} recording)\n",
                    alerting.len() + recording.len(),
                    alerting.len(),
                    recording.len()
                );
            }
            Err(errors) => {
                all_passed = false;
                let _ = writeln!(out, "  FAILED:");
                for error in errors {
                    let _ = writeln!(out, "{error}");
                }
                out.push('\n');
            }
        }
    }
    all_passed
}

/// Runs each unit-test file. True when every test passes.
pub fn test(files: &[PathBuf], out: &mut String) -> bool {
    let mut all_passed = true;
    for path in files {
        let outcome = unittest::run_file(path);
        all_passed &= outcome.passed;
        out.push_str(&outcome.report);
        out.push('\n');
    }
    all_passed
}

/// Sends the rule files to the daemon's `/api/v1/rules/backtest` and prints each change of an alert's state,
/// one per line: time, group, alert, `from -> to`, value. Returns an error message when it fails.
pub fn backtest(
    target: &Target,
    from: &str,
    to: &str,
    files: &[PathBuf],
    out: &mut String,
) -> Result<(), String> {
    let mut sent = Vec::with_capacity(files.len());
    for path in files {
        let content = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        sent.push(json!({ "name": path.display().to_string(), "content": content }));
    }
    let body = json!({ "files": sent, "from": from, "to": to });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let answer =
        runtime.block_on(query::post(target, "/api/v1/rules/backtest", &body, "the backtest"))?;
    let transitions = answer["data"]["transitions"]
        .as_array()
        .ok_or_else(|| format!("the daemon answered without transitions: {answer}"))?;
    for change in transitions {
        let _ = writeln!(
            out,
            "{}  {}  {}  {} -> {}  value {}",
            change["time"].as_str().unwrap_or_default(),
            change["group"].as_str().unwrap_or_default(),
            alert_name(&change["labels"]),
            change["from"].as_str().unwrap_or_default(),
            change["to"].as_str().unwrap_or_default(),
            change["value"].as_str().unwrap_or_default(),
        );
    }
    let _ = writeln!(out, "{} state changes", transitions.len());
    Ok(())
}

/// `Name{label="value", …}` of an alert's labels.
fn alert_name(labels: &Value) -> String {
    let Some(labels) = labels.as_object() else {
        return String::new();
    };
    let name = labels.get("alertname").and_then(Value::as_str).unwrap_or_default();
    let others: Vec<String> = labels
        .iter()
        .filter(|(label, _)| *label != "alertname")
        .map(|(label, value)| format!("{label}={value}"))
        .collect();
    format!("{name}{{{}}}", others.join(", "))
}
