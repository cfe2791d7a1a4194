//! `sightline query "SELECT …"`: runs SQL on a running daemon through `POST /api/v1/sql` and prints the answer
//! as an aligned text table. Errors from the API are printed with their message and end in a non-zero exit.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value, json};

/// Where and as whom to ask.
#[derive(Debug)]
pub struct Target {
    /// The daemon's API, e.g. `http://localhost:8080`.
    pub url: String,
    pub token: String,
}

pub fn run(target: &Target, sql: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let answer = match runtime.block_on(ask(target, sql)) {
        Ok(answer) => answer,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    match render(&answer) {
        Ok(table) => {
            // A closed stdout (`| head`) is not worth a panic.
            let _ = std::io::stdout().lock().write_all(table.as_bytes());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn ask(target: &Target, sql: &str) -> Result<Value, String> {
    post(target, "/api/v1/sql", &json!({ "sql": sql }), "the query").await
}

/// POSTs `body` as JSON to `path` of the daemon's API; its JSON answer, or "`what` failed" with the API's
/// error message.
pub async fn post(target: &Target, path: &str, body: &Value, what: &str) -> Result<Value, String> {
    let endpoint = format!("{}{path}", target.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(&target.token)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    let status = response.status();
    let body =
        response.bytes().await.map_err(|e| format!("reading the answer of {endpoint}: {e}"))?;
    let answer: Option<Value> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let message = answer
            .as_ref()
            .and_then(|answer| answer["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        return Err(format!("{what} failed ({status}): {message}"));
    }
    answer.ok_or_else(|| format!("{endpoint} answered {status} without a JSON body"))
}

/// The answer `{"columns": [{"name", "type"}], "rows": [[…]], "truncated": bool}` as a table: a header, a rule,
/// one line per row (numbers right-aligned), then the row count.
fn render(answer: &Value) -> Result<String, String> {
    let malformed = || format!("unexpected answer from the server: {answer}");
    let columns: Vec<&str> = answer["columns"]
        .as_array()
        .ok_or_else(malformed)?
        .iter()
        .map(|column| column["name"].as_str().ok_or_else(malformed))
        .collect::<Result<_, _>>()?;
    let rows = answer["rows"].as_array().ok_or_else(malformed)?;
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|row| {
            let values = row.as_array().ok_or_else(malformed)?;
            Ok(values.iter().map(|value| (cell(value), value.is_number())).collect())
        })
        .collect::<Result<_, String>>()?;
    let mut widths: Vec<usize> = columns.iter().map(|name| name.chars().count()).collect();
    for row in &cells {
        for (width, (text, _)) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> =
        columns.iter().zip(&widths).map(|(name, width)| format!("{name:<width$}")).collect();
    out.push_str(header.join(" | ").trim_end());
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    out.push_str(&rule.join("-+-"));
    out.push('\n');
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(
                |((text, number), width)| {
                    if *number { format!("{text:>width$}") } else { format!("{text:<width$}") }
                },
            )
            .collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
    }
    let count = match rows.len() {
        1 => "1 row".to_owned(),
        n => format!("{n} rows"),
    };
    if answer["truncated"] == true {
        out.push_str(&format!(
            "({count}; truncated: the result has more rows than the server returns)\n"
        ));
    } else {
        out.push_str(&format!("({count})\n"));
    }
    Ok(out)
}

/// One value as text: strings without quotes, NULL for null, everything else as JSON. Line breaks would break
/// the table, so they are shown escaped.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => "NULL".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_aligned_with_numbers_to_the_right() {
        let answer = json!({
            "columns": [{ "name": "service_name", "type": "Utf8" }, { "name": "n", "type": "Int64" }],
            "rows": [["checkout", 12], ["payments\nv2", 3], [null, 100]],
            "truncated": false,
        });
        let expected = "\
service_name | n
-------------+----
checkout     |  12
payments\\nv2 |   3
NULL         | 100
(3 rows)
";
        assert_eq!(render(&answer).expect("a table"), expected);
    }

    #[test]
    fn a_truncated_answer_says_so() {
        let answer = json!({ "columns": [{ "name": "x" }], "rows": [[1]], "truncated": true });
        let table = render(&answer).expect("a table");
        assert!(
            table.ends_with(
                "(1 row; truncated: the result has more rows than the server returns)\n"
            )
        );
    }

    #[test]
    fn an_answer_of_another_shape_is_an_error() {
        let error = render(&json!({ "rows": [] })).expect_err("no columns");
        assert!(error.starts_with("unexpected answer from the server"), "{error}");
    }
}
