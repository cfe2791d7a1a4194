//! Tests of alert templates through the public API, and of the template language.

#![allow(clippy::unwrap_used)]

mod errors;
mod prometheus;

use std::collections::BTreeMap;

use super::value::Value;
use super::*;

pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

pub(super) fn data(value: f64) -> TemplateData {
    TemplateData {
        labels: labels(&[("instance", "localhost"), ("job", "node")]),
        external_labels: labels(&[("cluster", "eu1")]),
        external_url: "http://testhost:9090/path/prefix".to_owned(),
        value,
        eval_time_ms: 1_435_065_584_128,
    }
}

/// Query results keyed by expression; other expressions fail.
pub(super) fn queries<'a>(results: &'a [(&'a str, Vec<QuerySample>)]) -> impl QueryFunctions + 'a {
    move |expr: &str| match results.iter().find(|(e, _)| *e == expr) {
        Some((_, samples)) => Ok(samples.clone()),
        None => Err(format!("unknown query {expr}")),
    }
}

pub(super) fn sample(pairs: &[(&str, &str)], value: f64) -> QuerySample {
    QuerySample { labels: labels(pairs), value }
}

/// Renders an alert template for an alert with value `value`.
fn alert(text: &str, value: f64) -> Result<String, TemplateError> {
    let up = vec![
        sample(&[("__name__", "up"), ("instance", "a")], 1.0),
        sample(&[("__name__", "up"), ("instance", "b")], 0.0),
    ];
    let results = [("up", up), ("empty", Vec::new())];
    Template::parse("__alert_X", text)?.render(&data(value), &queries(&results))
}

fn ok(text: &str) -> String {
    alert(text, 1.5).unwrap()
}

/// Parses `text` without the alert definitions and runs it on `dot`, as Prometheus's own tests run
/// templates named `test`.
pub(super) fn raw(text: &str, dot: Value, queries: &dyn QueryFunctions) -> Result<String, String> {
    let template = Template::parse_text("test", text).map_err(|e| e.to_string())?;
    template.execute(dot, &data(0.0), queries).map_err(|e| e.to_string())
}

#[test]
fn alert_templates_see_labels_value_and_external_data() {
    assert_eq!(
        ok("VALUE = {{ $value }}\n  LABELS = {{ $labels }}"),
        "VALUE = 1.5\n  LABELS = map[instance:localhost job:node]"
    );
    assert_eq!(ok("{{ $labels.instance }} of {{ .Labels.job }}"), "localhost of node");
    assert_eq!(
        ok("{{ $externalLabels.cluster }} {{ .ExternalLabels }} {{ $externalURL }}"),
        "eu1 map[cluster:eu1] http://testhost:9090/path/prefix"
    );
    assert_eq!(ok("{{ .Value }}|{{ .ExternalURL }}"), "1.5|http://testhost:9090/path/prefix");
}

#[test]
fn missing_labels_render_empty_because_of_missingkey_zero() {
    assert_eq!(
        ok("[{{ $labels.nope }}][{{ .Labels.nope }}][{{ index $labels \"nope\" }}]"),
        "[][][]"
    );
}

#[test]
fn value_prints_like_go_float_formatting() {
    let cases =
        [(0.1, "0.1"), (100.0, "100"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (-0.5, "-0.5")];
    for (value, want) in cases {
        assert_eq!(alert("{{ $value }}", value).unwrap(), want);
    }
    assert_eq!(alert("{{ $value }}", f64::NAN).unwrap(), "NaN");
    assert_eq!(alert("{{ $value }}", f64::INFINITY).unwrap(), "+Inf");
}

#[test]
fn common_annotation_idioms() {
    assert_eq!(alert("{{ $value | humanizePercentage }}", 0.1234).unwrap(), "12.34%");
    assert_eq!(alert("{{ printf \"%.2f\" $value }}", 1.5).unwrap(), "1.50");
    assert_eq!(alert("{{ $value | printf \"%.1f\" }}s", 3.25).unwrap(), "3.2s");
    assert_eq!(alert("{{ humanize $value }}B", 1234567.0).unwrap(), "1.235MB");
    assert_eq!(alert("{{ $value | humanize1024 }}", 2048.0).unwrap(), "2ki");
    assert_eq!(alert("{{ $value | humanizeDuration }}", 3661.0).unwrap(), "1h 1m 1s");
    assert_eq!(alert("{{ humanize $value }}", 0.00123).unwrap(), "1.23m");
    assert_eq!(
        ok(
            "{{ if gt $value 1.0 }}high{{ else }}low{{ end }} {{ if eq $labels.job \"node\" }}node{{ end }}"
        ),
        "high node"
    );
    assert_eq!(ok("{{ $labels.instance | stripPort | toUpper }}"), "LOCALHOST");
    assert_eq!(ok("{{ printf \"%d\" $value }}"), "%!d(float64=1.5)");
}

#[test]
fn queries_feed_first_value_and_range() {
    assert_eq!(ok("{{ with query \"up\" }}{{ . | first | value }}{{ end }}"), "1");
    assert_eq!(ok("{{ with query \"empty\" }}some{{ else }}none{{ end }}"), "none");
    assert_eq!(
        ok("{{ range query \"up\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}"),
        "a=1 b=0 "
    );
    assert_eq!(
        ok("{{ range $i, $s := query \"up\" }}{{ $i }}:{{ label \"instance\" $s }} {{ end }}"),
        "0:a 1:b "
    );
    assert_eq!(ok("{{ query \"up\" | first }}"), "{map[__name__:up instance:a] 1}");
    assert_eq!(
        ok("{{ printf \"%v\" (query \"up\" | first) }}"),
        "&{map[__name__:up instance:a] 1}"
    );
    assert_eq!(
        ok("{{ len (query \"up\") }} {{ (index (query \"up\") 1).Labels.instance }}"),
        "2 b"
    );
    assert_eq!(
        alert("{{ query \"nope\" }}", 1.0).unwrap_err().to_string(),
        "error executing template __alert_X: template: __alert_X:1:115: executing \"__alert_X\" at <query \"nope\">: \
         error calling query: unknown query nope"
    );
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(ok("a  \n {{- $labels.job -}} \n  b"), "anodeb");
    assert_eq!(ok("x{{/* a comment */}}y{{- /* trimmed */ -}}  z"), "xyz");
    assert_eq!(ok("{{ 3 }} {{- 4 }}"), "34");
    assert_eq!(ok("{{-3}}"), "-3");
}

#[test]
fn literals_follow_go_syntax() {
    assert_eq!(ok(r#"{{ "a\tb\u00e9\x41" }}"#), "a\tbéA");
    assert_eq!(ok("{{ `raw\\n` }}"), "raw\\n");
    assert_eq!(
        ok("{{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ 1_000 }} {{ -0.5 }} {{ 017 }} {{ 2.0 }}"),
        "31 1000 97 1000 -0.5 15 2"
    );
    assert_eq!(ok("{{ true }} {{ false }}"), "true false");
    assert_eq!(ok("{{ print nil }}"), "<nil>");
}

#[test]
fn variables_declare_assign_and_scope() {
    assert_eq!(ok("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"), "2");
    assert_eq!(ok("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}"), "21");
    assert_eq!(ok("{{ with $y := $labels.job }}{{ $y }}{{ . }}{{ end }}"), "nodenode");
    assert_eq!(
        ok("{{ $ }}"),
        "{map[instance:localhost job:node] map[cluster:eu1] http://testhost:9090/path/prefix 1.5}"
    );
}

#[test]
fn control_structures() {
    assert_eq!(
        ok("{{ if false }}a{{ else if $labels.nope }}b{{ else if 1 }}c{{ else }}d{{ end }}"),
        "c"
    );
    assert_eq!(ok("{{ with $labels.nope }}x{{ else with $labels.job }}{{ . }}{{ end }}"), "node");
    assert_eq!(
        ok("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        "instance=localhost;job=node;"
    );
    assert_eq!(ok("{{ range $labels }}{{ . }},{{ end }}"), "localhost,node,");
    assert_eq!(ok("{{ range query \"empty\" }}x{{ else }}no samples{{ end }}"), "no samples");
    assert_eq!(
        ok(
            "{{ range $i := 5 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}"
        ),
        "02"
    );
    assert_eq!(ok("{{ range $i, $x := args \"a\" \"b\" }}{{ $i }}{{ $x }}{{ end }}"), "arg0aarg1b");
    assert_eq!(
        ok(
            "{{ $k := \"\" }}{{ $v := \"\" }}{{ range $k, $v = $labels }}{{ end }}{{ $k }}={{ $v }}"
        ),
        "job=node"
    );
}

#[test]
fn builtins_match_go() {
    assert_eq!(
        ok(
            "{{ and 1 0 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 false }} {{ not true }} {{ not \"\" }}"
        ),
        "0 2 x false false true"
    );
    assert_eq!(
        ok(
            "{{ len $labels }} {{ len \"héllo\" }} {{ index \"abc\" 1 }} {{ slice \"abcdef\" 1 3 }} {{ slice \"abc\" 1 }}"
        ),
        "2 6 98 bc bc"
    );
    assert_eq!(
        ok(
            "{{ eq $labels.job \"x\" \"node\" }} {{ ne 1 2 }} {{ lt \"a\" \"b\" }} {{ le 1.5 1.5 }} {{ ge 2 3 }} {{ gt 0.2 0.1 }}"
        ),
        "true true true true false true"
    );
    assert_eq!(
        ok("{{ print 1 2 \"a\" 3 }}|{{ println \"a\" 1 }}|{{ printf \"%s=%v\" \"k\" 1.5 }}"),
        "1 2a3|a 1\n|k=1.5"
    );
    assert_eq!(ok("{{ html \"<a href='x'>&</a>\" }}"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
    assert_eq!(ok("{{ js \"it's <b>\" }}"), "it\\'s \\u003Cb\\u003E");
    assert_eq!(ok("{{ urlquery \"a b&c\" }} {{ urlquery 1 2 }}"), "a+b%26c 1+2");
    assert_eq!(ok("{{ $labels.job | toUpper | printf \"%s!\" }}"), "NODE!");
    assert_eq!(
        ok(
            r#"{{ printf "%d items, %5.1f%%, %q, %x, %e, %g, %v, %-4s|" 3 12.345 "hi" 255 1234.5678 0.000012 $value "ab" }}"#
        ),
        "3 items,  12.3%, \"hi\", ff, 1.234568e+03, 1.2e-05, 1.5, ab  |"
    );
}

#[test]
fn prometheus_functions() {
    assert_eq!(
        ok(
            "{{ \"aa bb CC\" | title }} {{ toLower \"aA\" }} {{ match \"a+\" \"caat\" }} {{ match \"^a$\" \"b\" }}"
        ),
        "Aa Bb CC aa true false"
    );
    assert_eq!(
        ok("{{ reReplaceAll \"localhost:(.*)\" \"my.domain:$1\" \"localhost:3000\" }}"),
        "my.domain:3000"
    );
    assert_eq!(
        ok("{{ graphLink \"rate(x[5m]) > 1\" }}"),
        "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0"
    );
    assert_eq!(
        ok("{{ pathPrefix }} {{ externalURL }}"),
        "/path/prefix http://testhost:9090/path/prefix"
    );
    assert_eq!(
        ok("{{ now }} {{ now | humanizeTimestamp }}"),
        "1.435065584128e+09 2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        ok(
            "{{ 90 | toDuration }} {{ (toDuration 5400).Hours }} {{ (toDuration 0.0015).Milliseconds }}"
        ),
        "1m30s 1.5 1"
    );
    assert_eq!(
        ok(
            "{{ (toTime 1435065584).Format \"Mon, 02 Jan 2006 15:04:05 MST\" }} {{ (toTime 0).Unix }}"
        ),
        "Tue, 23 Jun 2015 13:19:44 UTC 0"
    );
    assert_eq!(ok("{{ toTime \"1435065584.5\" }}"), "2015-06-23 13:19:44.5 +0000 UTC");
    assert_eq!(ok("{{ parseDuration \"1h30m\" }} {{ \"5m\" | parseDuration }}"), "5400 300");
    assert_eq!(
        ok(
            "{{ safeHtml \"<b>\" }} {{ args 1 \"x\" }} {{ \"foo.example.com:9100\" | stripDomain }}"
        ),
        "<b> map[arg0:1 arg1:x] foo:9100"
    );
    assert_eq!(ok("{{ (args 1).nope }}|{{ index (args 1) \"nope\" }}"), "<no value>|<no value>");
}

#[test]
fn defined_templates_can_be_called() {
    assert_eq!(
        ok("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" $labels.job }}"),
        "[node]"
    );
    assert_eq!(ok("{{ block \"b\" $value }}<{{ . }}>{{ end }}"), "<1.5>");
    assert_eq!(
        ok("{{ define \"noargs\" }}{{ . }}{{ end }}{{ template \"noargs\" }}"),
        "<no value>"
    );
}

#[test]
fn templates_are_reusable_and_thread_safe_values() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    let template = Template::parse("__alert_X", "{{ $labels.job }}={{ $value }}").unwrap();
    assert_eq!(template.name(), "__alert_X");
    assert_eq!(template.render(&data(1.0), &NoQueries).unwrap(), "node=1");
    assert_eq!(template.render(&data(2.0), &NoQueries).unwrap(), "node=2");
}
