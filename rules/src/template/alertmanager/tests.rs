use std::collections::BTreeMap;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Two alerts of `HighLatency` grouped by `alertname`, one firing, one resolved after 90 s.
fn data() -> NotificationData {
    let firing = NotificationAlert {
        status: "firing".to_owned(),
        labels: labels(&[
            ("alertname", "HighLatency"),
            ("service", "checkout"),
            ("severity", "page"),
        ]),
        annotations: labels(&[("summary", "p99 above 2s <b>")]),
        starts_at_ms: 1_764_158_400_000, // 2025-11-26T12:00:00Z
        ends_at_ms: None,
        generator_url: "https://sightline.example.com/graph?g0.expr=x&g0.tab=1".to_owned(),
        fingerprint: "0123456789abcdef".to_owned(),
    };
    let resolved = NotificationAlert {
        status: "resolved".to_owned(),
        labels: labels(&[("alertname", "HighLatency"), ("service", "cart"), ("severity", "page")]),
        annotations: labels(&[("summary", "p99 above 2s")]),
        starts_at_ms: 1_764_158_400_000,
        ends_at_ms: Some(1_764_158_490_000),
        ..NotificationAlert::default()
    };
    NotificationData {
        receiver: "team pager".to_owned(),
        status: "firing".to_owned(),
        alerts: vec![firing, resolved],
        group_labels: labels(&[("alertname", "HighLatency")]),
        common_labels: labels(&[("alertname", "HighLatency"), ("severity", "page")]),
        common_annotations: BTreeMap::new(),
        external_url: "https://sightline.example.com".to_owned(),
    }
}

fn render(text: &str) -> String {
    render_with(&NotificationTemplates::new(&[]).expect("defaults"), text, false)
}

fn render_with(templates: &NotificationTemplates, text: &str, html: bool) -> String {
    let template = templates.parse("field", text).expect("parses");
    template.render(&data(), 1_764_158_520_000, html).expect("renders")
}

#[test]
fn the_default_subject_reads_as_alertmanagers() {
    assert_eq!(render(r#"{{ template "__subject" . }}"#), "[FIRING:1] HighLatency (page)");
    assert_eq!(
        render(r#"{{ template "email.default.subject" . }}"#),
        "[FIRING:1] HighLatency (page)"
    );
    assert_eq!(
        render(r#"{{ template "slack.default.titlelink" . }}"#),
        "https://sightline.example.com/alerts?receiver=team+pager"
    );
}

#[test]
fn a_typical_slack_text_template_ranges_over_alerts_and_sorted_pairs() {
    let text = "{{ range .Alerts.Firing }}*{{ .Annotations.summary }}* `{{ .Labels.severity }}`\n\
                {{ range .Labels.SortedPairs }}• {{ .Name }}={{ .Value }}\n{{ end }}{{ end }}\
                {{ len .Alerts.Resolved }} resolved";
    assert_eq!(
        render(text),
        "*p99 above 2s <b>* `page`\n• alertname=HighLatency\n• service=checkout\n• severity=page\n1 resolved"
    );
}

#[test]
fn kv_and_pairs_methods_and_alertmanagers_functions_work() {
    assert_eq!(render("{{ .CommonLabels.Names | join \",\" }}"), "alertname,severity");
    assert_eq!(
        render("{{ (.CommonLabels.Remove (stringSlice \"severity\")).Values }}"),
        "[HighLatency]"
    );
    assert_eq!(render("{{ .CommonLabels.SortedPairs.Values | join \" \" }}"), "HighLatency page");
    assert_eq!(
        render("{{ trimSpace \"  x \" | toUpper }}|{{ title \"hello world\" }}"),
        "X|Hello World"
    );
    assert_eq!(render("{{ urlUnescape \"a%20b+c\" }}"), "a b c");
    let first = "{{ with index .Alerts 0 }}";
    assert_eq!(
        render(&format!("{first}{{{{ .StartsAt.Format \"2006-01-02 15:04\" }}}}{{{{ end }}}}")),
        "2025-11-26 12:00"
    );
    assert_eq!(
        render(&format!("{first}{{{{ date \"15:04:05\" .StartsAt }}}}{{{{ end }}}}")),
        "12:00:00"
    );
    assert_eq!(render(&format!("{first}{{{{ since .StartsAt }}}}{{{{ end }}}}")), "2m0s");
    assert_eq!(render(&format!("{first}{{{{ .EndsAt.IsZero }}}}{{{{ end }}}}")), "true");
}

#[test]
fn templates_files_define_names_that_fields_call_and_a_later_definition_wins() {
    let files = vec![
        ("a.tmpl".to_owned(), r#"{{ define "team.title" }}A {{ .Status }}{{ end }}"#.to_owned()),
        ("b.tmpl".to_owned(), r#"{{ define "team.title" }}B {{ .Receiver }}{{ end }}"#.to_owned()),
        ("c.tmpl".to_owned(), r#"{{ define "slack.default.title" }}custom{{ end }}"#.to_owned()),
    ];
    let templates = NotificationTemplates::new(&files).expect("files parse");
    assert_eq!(render_with(&templates, r#"{{ template "team.title" . }}"#, false), "B team pager");
    assert_eq!(
        render_with(&templates, r#"{{ template "slack.default.title" . }}"#, false),
        "custom"
    );
}

#[test]
fn html_templates_escape_what_actions_print_unless_it_is_safe_html() {
    let templates = NotificationTemplates::new(&[]).expect("defaults");
    let text = r#"<b>{{ (index .Alerts 0).Annotations.summary }}</b>{{ "<i>ok</i>" | safeHtml }}"#;
    assert_eq!(render_with(&templates, text, true), "<b>p99 above 2s &lt;b&gt;</b><i>ok</i>");
    assert_eq!(render_with(&templates, text, false), "<b>p99 above 2s <b></b><i>ok</i>");
    let html = render_with(&templates, r#"{{ template "email.default.html" . }}"#, true);
    assert!(html.contains("summary = p99 above 2s &lt;b&gt;<br>"), "{html}");
}

#[test]
fn each_program_has_its_own_functions() {
    let templates = NotificationTemplates::new(&[]).expect("defaults");
    let error = templates
        .parse("receivers[0].slack_configs[0].text", "{{ humanize 3 }}")
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        r#"error parsing template receivers[0].slack_configs[0].text: template: receivers[0].slack_configs[0].text:1: function "humanize" not defined"#
    );
    let error = crate::template::Template::parse("__alert_x", "{{ join \",\" .Labels }}")
        .expect_err("refused");
    assert!(error.to_string().contains(r#"function "join" not defined"#), "{error}");
}

#[test]
fn a_template_calling_an_unknown_name_fails_when_rendered_with_go_s_message() {
    let templates = NotificationTemplates::new(&[]).expect("defaults");
    let template = templates.parse("title", r#"{{ template "nope" . }}"#).expect("parses");
    let error = template.render(&data(), 0, false).expect_err("refused");
    assert!(error.to_string().contains(r#"template "nope" not defined"#), "{error}");
}
