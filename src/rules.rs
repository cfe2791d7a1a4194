//! `sightline rules check` and `sightline rules test`: promtool's `check rules` and `test rules`, with
//! sightline's loader and engine, and the same output shape.

use std::fmt::Write as _;
use std::path::PathBuf;

use sightline_rules::file::{self, RuleKind};
use sightline_rules::unittest;

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
