//! Routing, grouping and rendering of many alerts: 10,000 alerts in 500 groups go through the dispatcher
//! (routing tree, grouping, deduplication, with a silence and an inhibition rule to check per alert), and
//! each group's notification is rendered for every integration kind: the webhook payload serialized, the
//! email's text and HTML, and the Slack message. Target (issue 6): < 1 s. A second run renders the Slack
//! message through configured templates (a title and a text that ranges over the alerts), to price the template
//! engine. Results: BENCHMARKS.md.
//!
//! `cargo bench -p sightline-rules --bench notify`

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion};
use sightline_rules::notify::config::SlackConfig;
use sightline_rules::notify::dispatch::{Alert, Dispatcher};
use sightline_rules::notify::inhibit::{InhibitRule, Inhibitions};
use sightline_rules::notify::matcher::{all_match, parse_matchers};
use sightline_rules::notify::message::Message;
use sightline_rules::notify::route::{Route, RouteConfig};
use sightline_rules::notify::slack::SlackFields;
use sightline_rules::notify::{render, slack};
use sightline_rules::promql::Labels;
use sightline_rules::template::NotificationTemplates;

const ROUTES: &str = "
receiver: team
group_by: [alertname, service]
group_wait: 30s
routes:
  - matchers: [severity=critical]
    receiver: pager
    continue: true
  - matchers: ['service=~\"svc-1.*\"']
    receiver: team-one
";

/// 50 alert names × 10 services = 500 groups, 20 instances each.
fn alerts() -> Vec<Alert> {
    let mut alerts = Vec::with_capacity(10_000);
    for name in 0..50 {
        for service in 0..10 {
            for instance in 0..20 {
                let severity = if name % 5 == 0 { "critical" } else { "warning" };
                alerts.push(Alert {
                    labels: Labels::new([
                        ("alertname", format!("Alert{name}")),
                        ("service", format!("svc-{service}")),
                        ("instance", format!("10.0.{service}.{instance}:8080")),
                        ("severity", severity.to_owned()),
                        ("job", "api".to_owned()),
                    ]),
                    annotations: Labels::new([
                        ("summary", format!("Alert{name} on svc-{service} instance {instance}")),
                        ("description", "The error ratio is above 5 % for 10 minutes.".to_owned()),
                        ("runbook_url", format!("https://runbooks.example.com/alert{name}")),
                    ]),
                    starts_at_ms: 0,
                    resolved_at_ms: None,
                    valid_until_ms: i64::MAX,
                    generator_url: String::new(),
                });
            }
        }
    }
    alerts
}

/// The routing tree of [`ROUTES`].
fn root() -> Route {
    let config: RouteConfig = serde_yaml_ng::from_str(ROUTES).expect("routes");
    Route::root(&config).expect("route")
}

/// Routes every alert into its group: the part of each iteration that routing and grouping cost.
fn insert_all(dispatcher: &mut Dispatcher, alerts: &[Alert]) {
    for alert in alerts {
        dispatcher.insert(0, alert);
    }
}

fn route_group_render(c: &mut Criterion) {
    let root = root();
    let inhibit = InhibitRule::new(
        &serde_yaml_ng::from_str(
            "source_matchers: [severity=critical]\ntarget_matchers: [severity=warning]\nequal: [alertname, instance]",
        )
        .expect("rule"),
        "inhibit_rules[0]",
    )
    .expect("rule");
    let silence = parse_matchers("service=svc-9,alertname=Alert49").expect("matchers");
    let alerts = alerts();
    c.bench_function("10000_alerts_500_groups_routed_grouped_rendered", |b| {
        b.iter_batched(
            || Dispatcher::new(root.clone(), HashMap::new()),
            |mut dispatcher| {
                insert_all(&mut dispatcher, &alerts);
                // Every alert fires and is a possible inhibition source; the equal labels pair no warning with a
                // critical alert, so every group is rendered. The index keeps the check linear in the alerts.
                let firing: Vec<Labels> = alerts.iter().map(|alert| alert.labels.clone()).collect();
                let inhibitions = Inhibitions::new(std::slice::from_ref(&inhibit), &firing);
                let notifications = dispatcher.flush(30_000, |alert| {
                    all_match(&silence, &alert.labels) || inhibitions.mutes(&alert.labels)
                });
                let mut bytes = 0;
                for notification in &notifications {
                    let message = Message::of(notification, true, 0, "http://sightline:8080")
                        .expect("a message");
                    bytes += serde_json::to_vec(&message).expect("json").len();
                    bytes += render::text_body(&message, 60_000).len();
                    bytes += render::html_body(&message, 60_000).len();
                    bytes += slack::layout(&message, 60_000).to_string().len();
                }
                black_box((notifications.len(), bytes))
            },
            BatchSize::LargeInput,
        );
    });
}

/// What Slack configurations in the wild often carry.
const SLACK_TEMPLATES: &str = r#"
title: '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}'
text: >-
  {{ range .Alerts }}*Alert:* {{ .Annotations.summary }} - `{{ .Labels.severity }}`
  *Description:* {{ .Annotations.description }}
  *Details:*
  {{ range .Labels.SortedPairs }} • *{{ .Name }}:* `{{ .Value }}`
  {{ end }}{{ end }}
"#;

fn route_group_render_templates(c: &mut Criterion) {
    let root = root();
    let slack_config: SlackConfig = serde_yaml_ng::from_str(SLACK_TEMPLATES).expect("slack config");
    let templates = NotificationTemplates::new(&[]).expect("defaults");
    let fields = SlackFields::parse(&templates, "slack_configs[0]", &slack_config).expect("fields");
    let alerts = alerts();
    c.bench_function("10000_alerts_500_groups_routed_grouped_slack_templates", |b| {
        b.iter_batched(
            || Dispatcher::new(root.clone(), HashMap::new()),
            |mut dispatcher| {
                insert_all(&mut dispatcher, &alerts);
                let notifications = dispatcher.flush(30_000, |_| false);
                let mut bytes = 0;
                for notification in &notifications {
                    let message = Message::of(notification, true, 0, "http://sightline:8080")
                        .expect("a message");
                    bytes += fields.apply(&message, 60_000).to_string().len();
                }
                black_box((notifications.len(), bytes))
            },
            BatchSize::LargeInput,
        );
    });
}

criterion::criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = route_group_render, route_group_render_templates
}
criterion::criterion_main!(benches);
