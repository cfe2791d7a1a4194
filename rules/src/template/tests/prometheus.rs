//! The cases of Prometheus's `template/template_test.go` (`TestTemplateExpansion`, text mode), with their
//! exact expected output and error messages. Go slices given as data become maps with keys `arg0`, `arg1`…,
//! which `range` walks in the same order.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::value::Value;
use super::{queries, raw, sample};
use crate::template::QuerySample;

fn list(values: Vec<Value>) -> Value {
    let map: BTreeMap<String, Value> =
        values.into_iter().enumerate().map(|(i, v)| (format!("arg{i}"), v)).collect();
    assert!(map.len() <= 10, "keys past arg9 would sort out of order");
    Value::AnyMap(Rc::new(map))
}

fn floats(values: &[f64]) -> Value {
    list(values.iter().map(|&v| Value::Float(v)).collect())
}

fn ints(values: &[i64]) -> Value {
    list(values.iter().map(|&v| Value::Int(v)).collect())
}

fn strings(values: &[&str]) -> Value {
    list(values.iter().map(|&v| Value::str(v)).collect())
}

fn run(text: &str, dot: Value) -> Result<String, String> {
    raw(text, dot, &queries(&[]))
}

fn expand(text: &str) -> String {
    run(text, Value::Nil).unwrap()
}

fn with_query(text: &str, result: Vec<QuerySample>) -> Result<String, String> {
    // Like the Go test, every query returns the same result.
    raw(text, Value::Nil, &move |_: &str| Ok(result.clone()))
}

#[test]
fn plain_values_and_text() {
    assert_eq!(expand("plain text"), "plain text");
    assert_eq!(expand("{{ 1 }}"), "1");
    assert_eq!(expand("{{ \"<b>\" }}"), "<b>");
    assert_eq!(
        expand("{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}"),
        "1 2"
    );
    assert_eq!(expand("{{ .Foo }}"), "<no value>");
    assert_eq!(expand("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}"), "xa");
}

#[test]
fn query_results() {
    let metric_a = || vec![sample(&[("__name__", "metric"), ("instance", "a")], 11.0)];
    assert_eq!(
        with_query("{{ query \"1.5\" | first | value }}", vec![sample(&[], 1.5)]).unwrap(),
        "1.5"
    );
    assert_eq!(
        with_query("{{ query \"metric{instance='a'}\" | first | value }}", metric_a()).unwrap(),
        "11"
    );
    assert_eq!(
        with_query("{{ query \"metric{instance='a'}\" | first | label \"instance\" }}", metric_a())
            .unwrap(),
        "a"
    );
    assert_eq!(
        with_query(
            "{{ query \"metric{__value__='a'}\" | first | strvalue }}",
            vec![sample(&[("__name__", "metric"), ("__value__", "a")], 11.0)]
        )
        .unwrap(),
        "a"
    );
    assert_eq!(
        with_query("{{ query \"metric{instance='a'}\" | first | label \"foo\" }}", metric_a())
            .unwrap(),
        ""
    );
    assert_eq!(
        with_query("{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", metric_a()).unwrap(),
        ""
    );
    let two = vec![
        sample(&[("__name__", "metric"), ("instance", "b")], 21.0),
        sample(&[("__name__", "metric"), ("instance", "a")], 11.0),
    ];
    assert_eq!(
        with_query("{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}", two)
            .unwrap(),
        "a:11: b:21: "
    );
}

#[test]
fn strip_port_and_domain() {
    let port = [
        ("foo.example.com", "foo.example.com"),
        ("foo.example.com:12345", "foo.example.com"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1"),
        ("2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "2001:0DB8::1"),
        ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
    ];
    for (input, want) in port {
        assert_eq!(expand(&format!("{{{{ \"{input}\" | stripPort }}}}")), want);
    }
    let domain = [
        ("foo.example.com", "foo"),
        ("foo.example.com:12345", "foo:12345"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "[2001:0DB8::1]:12345"),
        ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
    ];
    for (input, want) in domain {
        assert_eq!(expand(&format!("{{{{ \"{input}\" | stripDomain }}}}")), want);
    }
}

#[test]
fn error_messages_match_go() {
    assert_eq!(
        run("{{\u{a0}}}", Value::Nil).unwrap_err(),
        "error parsing template test: template: test:1: unrecognized character in action: U+00A0"
    );
    assert_eq!(
        run("{{", Value::Nil).unwrap_err(),
        "error parsing template test: template: test:1: unclosed action"
    );
    assert_eq!(
        with_query("{{ query \"missing\" | first }}", Vec::new()).unwrap_err(),
        "error executing template test: template: test:1:21: executing \"test\" at <first>: error calling first: \
         first() called on vector with no elements"
    );
    assert_eq!(
        with_query("{{ (query \"missing\").banana }}", Vec::new()).unwrap_err(),
        "error executing template test: template: test:1:10: executing \"test\" at <\"missing\">: can't evaluate \
         field banana in type template.queryResult"
    );
    for func in ["humanize", "humanize1024", "humanizeDuration"] {
        assert_eq!(
            run(&format!("{{{{ {func} \"one\" }}}}"), Value::Nil).unwrap_err(),
            format!(
                "error executing template test: template: test:1:3: executing \"test\" at <{func} \"one\">: error \
                 calling {func}: strconv.ParseFloat: parsing \"one\": invalid syntax"
            )
        );
    }
    assert_eq!(
        run("{{ \"one\" | humanizePercentage }}", Value::Nil).unwrap_err(),
        "error executing template test: template: test:1:11: executing \"test\" at <humanizePercentage>: error \
         calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"
    );
    assert_eq!(
        run("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", ints(&[i64::MIN, i64::MAX]))
            .unwrap_err(),
        "error executing template test: template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error \
         calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since \
         it overflows int64"
    );
    assert_eq!(
        run("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", floats(&[1.8446744073709552e19]))
            .unwrap_err(),
        "error executing template test: template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error \
         calling humanizeTimestamp: 1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since \
         it overflows int64"
    );
}

#[test]
fn humanize_family_over_numbers_and_strings() {
    let each = |func: &str, dot: Value| {
        run(&format!("{{{{ range . }}}}{{{{ {func} . }}}}:{{{{ end }}}}"), dot).unwrap()
    };
    assert_eq!(each("humanize", floats(&[0.0, 1.0, 1234567.0, 0.12])), "0:1:1.235M:120m:");
    assert_eq!(each("humanize", strings(&["0.0", "1.0", "1234567.0", ".12"])), "0:1:1.235M:120m:");
    assert_eq!(each("humanize", ints(&[0, -1, 1, 1234567, i64::MAX])), "0:-1:1:1.235M:9.223E:");
    assert_eq!(
        each("humanize", floats(&[0.0, 1.0, 1234567.0, 1.8446744073709552e19])),
        "0:1:1.235M:18.45E:"
    );
    assert_eq!(each("humanize1024", floats(&[0.0, 1.0, 1048576.0, 0.12])), "0:1:1Mi:0.12:");
    assert_eq!(each("humanize1024", strings(&["0.0", "1.0", "1048576.0", ".12"])), "0:1:1Mi:0.12:");
    assert_eq!(each("humanize1024", ints(&[0, -1, 1, 1234567, i64::MAX])), "0:-1:1:1.177Mi:8Ei:");
    assert_eq!(
        each("humanize1024", floats(&[0.0, 1.0, 1234567.0, 1.8446744073709552e19])),
        "0:1:1.177Mi:16Ei:"
    );
    assert_eq!(
        each(
            "humanizeDuration",
            floats(&[
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                86400.0 + 3600.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        ),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        each("humanizeDuration", strings(&["0", "1", "60", "3600", "86400"])),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:"
    );
    assert_eq!(
        each("humanizeDuration", floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        each(
            "humanizeDuration",
            strings(&[".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(each("humanizeDuration", ints(&[0, -1, 1, 1234567])), "0s:-1s:1s:14d 6h 56m 7s:");
    assert_eq!(
        each("humanizePercentage", ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:"
    );
    assert_eq!(
        each("humanizePercentage", floats(&[0.0, 1.0, 1234567.0, 1.8446744073709552e19])),
        "0%:100%:1.235e+08%:1.845e+21%:"
    );
    assert_eq!(
        each("humanizeTimestamp", ints(&[0, -1, 1, 1234567, 9223372036])),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 \
         06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:"
    );
}

#[test]
fn infinities_and_nan() {
    let text = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}";
    let want = "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:";
    assert_eq!(run(text, floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN])).unwrap(), want);
    assert_eq!(run(text, strings(&["+Inf", "-Inf", "NaN"])).unwrap(), want);
}

#[test]
fn percentages_timestamps_and_times() {
    assert_eq!(
        expand(
            "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}"
        ),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        expand(
            r#"{{ "-0.22222" | humanizePercentage }}:{{ "0.0" | humanizePercentage }}:{{ "0.1234567" | humanizePercentage }}:{{ "1.23456" | humanizePercentage }}"#
        ),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        expand("{{ 1435065584.128 | humanizeTimestamp }}"),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        expand(r#"{{ "1435065584.128" | humanizeTimestamp }}"#),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(expand(r#"{{ (1435065584.128 | toTime).Format "2006" }}"#), "2015");
    assert_eq!(expand(r#"{{ ("1435065584.128" | toTime).Format "2006" }}"#), "2015");
}

#[test]
fn strings_links_and_urls() {
    assert_eq!(expand("{{ \"aa bb CC\" | title }}"), "Aa Bb CC");
    assert_eq!(expand("{{ \"aa bb CC\" | toUpper }}"), "AA BB CC");
    assert_eq!(expand("{{ \"aA bB CC\" | toLower }}"), "aa bb cc");
    assert_eq!(expand("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}"), "true false");
    assert_eq!(expand("{{ graphLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=0");
    assert_eq!(expand("{{ tableLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=1");
    assert_eq!(expand("{{ pathPrefix }}"), "/path/prefix");
    assert_eq!(expand("{{ externalURL }}"), "http://testhost:9090/path/prefix");
    assert_eq!(expand("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}"), "3720.01");
}
