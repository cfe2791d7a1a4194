//! `sightline redact test`: what the configured redaction does to one OTLP/JSON payload, for people who
//! write redaction rules. The redacted payload goes to stdout (so it can be piped on), and every change —
//! where, by which rule, with which action, never the value — to stderr.

use std::fmt::Write as _;

use sightline_collector::decode::json::{self, JsonError};
use sightline_collector::encode::{self, Style};
use sightline_collector::otlp::Signal;
use sightline_collector::redact::{Change, RedactionConfig, Redactor};

/// The outcome of a dry run.
#[derive(Debug)]
pub struct DryRun {
    /// The redacted payload as pretty-printed OTLP/JSON.
    pub payload: String,
    /// One line per change, then a summary line.
    pub report: String,
}

/// Redacts `payload` (an OTLP/JSON export request of any signal) under `config`.
pub fn dry_run(config: &RedactionConfig, payload: &[u8]) -> Result<DryRun, String> {
    let redactor = Redactor::new(config).map_err(|message| format!("redaction: {message}"))?;
    let signal = signal_of(payload)?;
    let mut session = redactor.session(signal, Vec::new());
    let style = Style::CANONICAL;
    let decoded = |e: JsonError| format!("the payload is not valid OTLP/JSON {signal}: {e}");
    let redacted = match signal {
        Signal::Logs => {
            let mut request = json::logs_from_json(payload).map_err(decoded)?;
            session.logs(&mut request);
            encode::logs(&style, &request)
        }
        Signal::Traces => {
            let mut request = json::traces_from_json(payload).map_err(decoded)?;
            session.traces(&mut request);
            encode::traces(&style, &request)
        }
        Signal::Metrics => {
            let mut request = json::metrics_from_json(payload).map_err(decoded)?;
            session.metrics(&mut request);
            encode::metrics(&style, &request)
        }
    };
    let (tally, changes) = session.finish();
    let payload = serde_json::to_string_pretty(&redacted).expect("a JSON value serialises");
    Ok(DryRun { payload, report: report(&changes, tally.total(), &redactor) })
}

fn report(changes: &[Change], total: u64, redactor: &Redactor) -> String {
    let mut report = String::new();
    for change in changes {
        let _ = writeln!(report, "{}: {} ({})", change.path, change.rule, change.action.name());
    }
    let rules = redactor.rules().len();
    let _ = match total {
        0 => writeln!(report, "nothing redacted ({rules} rules on)"),
        1 => writeln!(report, "1 value redacted ({rules} rules on)"),
        n => writeln!(report, "{n} values redacted ({rules} rules on)"),
    };
    report
}

/// Which export request `payload` is, from its top-level member.
fn signal_of(payload: &[u8]) -> Result<Signal, String> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let has = |camel: &str, snake: &str| value.get(camel).or_else(|| value.get(snake)).is_some();
    if has("resourceLogs", "resource_logs") {
        Ok(Signal::Logs)
    } else if has("resourceSpans", "resource_spans") {
        Ok(Signal::Traces)
    } else if has("resourceMetrics", "resource_metrics") {
        Ok(Signal::Metrics)
    } else {
        Err("the payload is not an OTLP/JSON export request: expected resourceLogs, resourceSpans or \
             resourceMetrics at the top level"
            .to_owned())
    }
}
