//! How a notification reads in an email (and in Slack's fallback text): Alertmanager's default subject
//! (`[FIRING:2] LagHigh (billing page)`), and a body that lists the firing alerts, then the resolved ones with
//! how long each lasted, each with its summary, description, labels, runbook and source links.

use std::fmt::Write as _;

use super::message::{Message, MessageAlert, human_duration};

/// Annotations shown as the alert's text, in this order, rather than in the list of annotations.
const TEXT_ANNOTATIONS: [&str; 2] = ["summary", "description"];
/// Annotations that hold a runbook's address.
const RUNBOOK_ANNOTATIONS: [&str; 2] = ["runbook_url", "runbook"];

/// Alertmanager's default subject and title: `[FIRING:2] <group label values> (<other common label values>)`,
/// or `[RESOLVED] …`.
pub fn title(message: &Message) -> String {
    let mut title = match message.status.as_str() {
        "firing" => format!("[FIRING:{}]", message.firing().count()),
        _ => "[RESOLVED]".to_owned(),
    };
    for value in message.group_labels.values() {
        title.push(' ');
        title.push_str(value);
    }
    if message.common_labels.len() > message.group_labels.len() {
        let others: Vec<&str> = message
            .common_labels
            .iter()
            .filter(|(name, _)| !message.group_labels.contains_key(*name))
            .map(|(_, value)| value.as_str())
            .collect();
        let _ = write!(title, " ({})", others.join(" "));
    }
    title
}

/// The runbook link of an alert, if an annotation gives one.
pub fn runbook(alert: &MessageAlert) -> Option<&str> {
    RUNBOOK_ANNOTATIONS.iter().find_map(|name| alert.annotations.get(*name)).map(String::as_str)
}

/// The annotations that are neither the alert's text nor its runbook.
pub fn other_annotations(alert: &MessageAlert) -> impl Iterator<Item = (&String, &String)> {
    alert.annotations.iter().filter(|(name, _)| {
        !TEXT_ANNOTATIONS.contains(&name.as_str()) && !RUNBOOK_ANNOTATIONS.contains(&name.as_str())
    })
}

/// The alert's headline: its summary, or its name.
pub fn headline(alert: &MessageAlert) -> &str {
    alert
        .annotations
        .get("summary")
        .or_else(|| alert.labels.get("alertname"))
        .map_or("alert", String::as_str)
}

/// The alert's description, if it has one.
pub fn description(alert: &MessageAlert) -> Option<&str> {
    alert.annotations.get("description").map(String::as_str)
}

/// "firing for 12m 5s" or "resolved after 3h 20m".
pub fn lasted(alert: &MessageAlert, now_ms: i64) -> String {
    let duration = alert.duration_ms(now_ms).map_or_else(|| "?".to_owned(), human_duration);
    match alert.status.as_str() {
        "resolved" => format!("resolved after {duration}"),
        _ => format!("firing for {duration}"),
    }
}

/// The plain-text body.
pub fn text_body(message: &Message, now_ms: i64) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "{}\n", title(message));
    let parts = [
        ("Firing", message.firing().collect::<Vec<_>>()),
        ("Resolved", message.resolved().collect()),
    ];
    for (heading, alerts) in parts {
        if alerts.is_empty() {
            continue;
        }
        let _ = writeln!(body, "{heading}: {}\n", alerts.len());
        for alert in alerts {
            let _ = writeln!(body, "* {} ({})", headline(alert), lasted(alert, now_ms));
            if let Some(description) = description(alert) {
                let _ = writeln!(body, "  {}", description.replace('\n', "\n  "));
            }
            let labels: Vec<String> =
                alert.labels.iter().map(|(name, value)| format!("{name}={value}")).collect();
            let _ = writeln!(body, "  Labels: {}", labels.join(", "));
            for (name, value) in other_annotations(alert) {
                let _ = writeln!(body, "  {name}: {value}");
            }
            if let Some(runbook) = runbook(alert) {
                let _ = writeln!(body, "  Runbook: {runbook}");
            }
            if !alert.generator_url.is_empty() {
                let _ = writeln!(body, "  Source: {}", alert.generator_url);
            }
            body.push('\n');
        }
    }
    if message.truncated_alerts > 0 {
        let _ = writeln!(body, "… and {} more alerts\n", message.truncated_alerts);
    }
    if !message.external_url.is_empty() {
        let _ = writeln!(body, "Open in sightline: {}/alerts", message.external_url);
    }
    body
}

/// The HTML body: the same content as [`text_body`], every value escaped.
pub fn html_body(message: &Message, now_ms: i64) -> String {
    let colour = if message.status == "firing" { "#d63232" } else { "#2eb886" };
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family: sans-serif; font-size: 14px\">\n\
         <h2 style=\"color: {colour}\">{title}</h2>\n",
        title = escape(&title(message)),
    );
    let parts = [
        ("Firing", message.firing().collect::<Vec<_>>()),
        ("Resolved", message.resolved().collect()),
    ];
    for (heading, alerts) in parts {
        if alerts.is_empty() {
            continue;
        }
        let _ = write!(html, "<h3>{heading}: {}</h3>\n<ul>\n", alerts.len());
        for alert in alerts {
            let _ = writeln!(
                html,
                "<li><p><strong>{}</strong> <em>({})</em></p>",
                escape(headline(alert)),
                escape(&lasted(alert, now_ms)),
            );
            if let Some(description) = description(alert) {
                let _ = writeln!(html, "<p>{}</p>", escape(description).replace('\n', "<br>"));
            }
            html.push_str("<table>\n");
            for (name, value) in alert.labels.iter().chain(other_annotations(alert)) {
                let _ =
                    writeln!(html, "<tr><td>{}</td><td>{}</td></tr>", escape(name), escape(value));
            }
            html.push_str("</table>\n");
            if let Some(runbook) = runbook(alert) {
                let _ = writeln!(html, "<p><a href=\"{0}\">Runbook</a></p>", escape(runbook));
            }
            if !alert.generator_url.is_empty() {
                let _ = writeln!(
                    html,
                    "<p><a href=\"{0}\">Source</a></p>",
                    escape(&alert.generator_url)
                );
            }
            html.push_str("</li>\n");
        }
        html.push_str("</ul>\n");
    }
    if message.truncated_alerts > 0 {
        let _ = writeln!(html, "<p>… and {} more alerts</p>", message.truncated_alerts);
    }
    if !message.external_url.is_empty() {
        let _ = writeln!(
            html,
            "<p><a href=\"{}/alerts\">Open in sightline</a></p>",
            escape(&message.external_url)
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::dispatch::{Alert, Notification, Sent};
    use crate::promql::Labels;

    pub const NOW_MS: i64 = 1_700_000_725_000;

    /// A group with two firing alerts and one resolved, as the snapshots show it.
    pub fn sample(firing: usize, resolved: usize) -> Message {
        let alert = |queue: &str, resolved_at_ms: Option<i64>| Alert {
            labels: Labels::new([
                ("alertname", "LagHigh"),
                ("job", "billing"),
                ("queue", queue),
                ("severity", "page"),
            ]),
            annotations: Labels::new([
                ("summary", format!("lag of {queue} is high")),
                ("description", "Messages wait <longer> than 5 minutes & grow.".to_owned()),
                ("runbook_url", "https://runbooks.example.com/queues#lag".to_owned()),
                ("dashboard", "https://grafana.example.com/d/queues".to_owned()),
            ]),
            starts_at_ms: 1_700_000_000_000,
            resolved_at_ms,
            valid_until_ms: i64::MAX,
            generator_url: format!(
                "http://sightline:8080/graph?g0.expr=queue_lag{{queue=\"{queue}\"}}"
            ),
        };
        let queues = ["emails", "invoices", "refunds"];
        let notification = Notification {
            receiver: "team".to_owned(),
            group_key: r#"{}:{alertname="LagHigh"}"#.to_owned(),
            group_labels: Labels::new([("alertname", "LagHigh")]),
            firing: queues[..firing].iter().map(|q| alert(q, None)).collect(),
            resolved: queues[firing..firing + resolved]
                .iter()
                .map(|q| alert(q, Some(1_700_000_600_000)))
                .collect(),
            sent: Sent::default(),
        };
        Message::of(&notification, true, 0, "http://sightline:8080").unwrap()
    }

    #[test]
    fn the_title_is_alertmanagers_default_subject() {
        assert_eq!(title(&sample(2, 1)), "[FIRING:2] LagHigh (billing page)");
        assert_eq!(title(&sample(0, 1)), "[RESOLVED] LagHigh (billing emails page)");
    }

    #[test]
    fn the_text_body_reads_as_the_snapshot() {
        insta::assert_snapshot!(text_body(&sample(2, 1), NOW_MS));
    }

    #[test]
    fn the_html_body_reads_as_the_snapshot() {
        insta::assert_snapshot!(html_body(&sample(2, 1), NOW_MS));
    }

    #[test]
    fn html_escapes_every_value() {
        let html = html_body(&sample(1, 0), NOW_MS);
        assert!(html.contains("Messages wait &lt;longer&gt; than 5 minutes &amp; grow."), "{html}");
        assert!(!html.contains("<longer>"));
    }
}
