//! Parse errors (which reject a rule file at load time) and execution errors, with Go's messages and
//! positions. Alert templates carry the 112 bytes of Prometheus's definitions before the text, so columns
//! on the first line are offset by 112, as they are in Prometheus.

use super::super::{Template, TemplateError};
use super::{alert, ok};

fn parse_error(text: &str) -> (usize, String) {
    match Template::parse("__alert_X", text) {
        Err(TemplateError::Parse { line, message, .. }) => (line, message),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

fn exec_error(text: &str) -> String {
    match alert(text, 1.5) {
        Err(TemplateError::Execute { message, .. }) => message,
        other => panic!("expected an execution error for {text:?}, got {other:?}"),
    }
}

#[test]
fn parse_errors_name_the_problem_and_line() {
    let cases = [
        ("{{ humanise $value }}", 1, "function \"humanise\" not defined"),
        ("{{ $labels.job", 1, "unclosed action"),
        ("{{ 1 }", 1, "unexpected \"}\" in operand"),
        ("{{ }}", 1, "missing value for command"),
        ("{{ $labels.job | 1 }}", 1, "non executable command in pipeline stage 2"),
        ("{{ end }}", 1, "unexpected {{end}}"),
        ("{{ else }}", 1, "unexpected {{else}}"),
        ("{{ if true }}x", 1, "unexpected EOF"),
        ("{{ if true }}a{{ else }}b{{ else }}c{{ end }}", 1, "expected end; found {{else}}"),
        ("{{ $nope }}", 1, "undefined variable \"$nope\""),
        ("{{ break }}", 1, "{{break}} outside {{range}}"),
        ("{{ \"abc }}", 1, "unterminated quoted string"),
        ("{{ 3x }}", 1, "bad number syntax: \"3x\""),
        ("{{ $x=1 }}", 1, "bad character U+003D '='"),
        ("{{/* c */ }}", 1, "comment ends before closing delimiter"),
        ("{{ (1 }}", 1, "unclosed left paren"),
        ("{{ \"a\\q\" }}", 1, "invalid syntax"),
        ("{{ true.Foo }}", 1, "unexpected . after term \"true\""),
        ("{{ range $a, $b, $c := . }}{{ end }}", 1, "too many declarations in range"),
        ("{{ template $x }}", 1, "unexpected \"$x\" in template clause"),
        (
            "{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}",
            1,
            "template: multiple definition of template \"a\"",
        ),
        ("{{ 99999999999999999999 }}", 1, "integer overflow: 99999999999999999999"),
        ("line one\nline two {{ nosuch }}", 2, "function \"nosuch\" not defined"),
        ("a\n{{ $labels.job\nb", 3, "function \"b\" not defined"),
        ("x\n{{ $labels.job\n", 3, "unclosed action started at __alert_X:2"),
    ];
    for (text, line, message) in cases {
        let (got_line, got_message) = parse_error(text);
        assert_eq!(
            got_message,
            format!("template: __alert_X:{line}: {message}"),
            "parsing {text:?}"
        );
        assert_eq!(got_line, line, "line of {text:?}");
    }
}

#[test]
fn parse_error_displays_as_prometheus_wraps_it() {
    let err = Template::parse("__alert_X", "{{ nosuch }}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "error parsing template __alert_X: template: __alert_X:1: function \"nosuch\" not defined"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let parens = |n: usize| format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
    let ifs = |n: usize| format!("{}x{}", "{{ if 1 }}".repeat(n), "{{ end }}".repeat(n));
    let too_deep = "template: __alert_X:1: max expression depth exceeded";
    assert_eq!(parse_error(&parens(101)).1, too_deep);
    assert_eq!(parse_error(&ifs(101)).1, too_deep);
    assert_eq!(ok(&parens(100)), "1");
    assert_eq!(ok(&ifs(100)), "x");
    // Runaway recursion, also through nested bodies, stops at the execution depth limit.
    let recursive =
        exec_error("{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}");
    assert!(recursive.ends_with("exceeded maximum template depth (300)"), "{recursive}");
    let nested_recursion = format!(
        "{{{{ define \"r\" }}}}{}{{{{ template \"r\" ((((((((1)))))))) }}}}{}{{{{ end }}}}{{{{ template \"r\" }}}}",
        "{{ with 1 }}".repeat(90),
        "{{ end }}".repeat(90)
    );
    assert!(exec_error(&nested_recursion).ends_with("exceeded maximum template depth (300)"));
}

#[test]
fn execution_errors_give_position_and_node() {
    let prefix = "template: __alert_X:1";
    let cases = [
        (
            "{{ .Foo }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <.Foo>: can't evaluate field Foo in type struct {{ Labels \
                 map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {{}} }}"
            ),
        ),
        (
            "{{ if gt $value 1 }}x{{ end }}",
            format!(
                "{prefix}:118: executing \"__alert_X\" at <gt $value 1>: error calling gt: incompatible types for \
                 comparison"
            ),
        ),
        (
            "{{ title $value }}",
            format!(
                "{prefix}:121: executing \"__alert_X\" at <$value>: wrong type for value; expected string; got \
                 float64"
            ),
        ),
        (
            "{{ humanize }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <humanize>: wrong number of args for humanize: want 1 got 0"
            ),
        ),
        (
            "{{ $labels.job | title | humanize }}",
            format!(
                "{prefix}:137: executing \"__alert_X\" at <humanize>: error calling humanize: strconv.ParseFloat: \
                 parsing \"Node\": invalid syntax"
            ),
        ),
        (
            "{{ $labels.job.x }}",
            format!(
                "{prefix}:122: executing \"__alert_X\" at <$labels.job.x>: can't evaluate field x in type string"
            ),
        ),
        (
            "{{ $value 1 }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <$value>: can't give argument to non-function $value"
            ),
        ),
        (
            "{{ template \"nope\" }}",
            format!(
                "{prefix}:124: executing \"__alert_X\" at <{{{{template \"nope\"}}}}>: template \"nope\" not defined"
            ),
        ),
        (
            "{{ range $value }}{{ end }}",
            format!(
                "{prefix}:121: executing \"__alert_X\" at <$value>: range can't iterate over 1.5"
            ),
        ),
        (
            "{{ index $labels 1 }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <index $labels 1>: error calling index: value has type int; should be string"
            ),
        ),
        (
            "{{ reReplaceAll \"(\" \"\" \"x\" }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <reReplaceAll \"(\" \"\" \"x\">: error calling reReplaceAll: \
                 regexp: Compile(`(`): error parsing regexp: unclosed group: `(`"
            ),
        ),
        (
            "{{ first nil }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <first nil>: error calling first: first() called on vector with no elements"
            ),
        ),
        (
            "{{ toTime \"NaN\" }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <toTime \"NaN\">: error calling toTime: value is NaN or Inf"
            ),
        ),
        (
            "{{ parseDuration \"1m1h\" }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <parseDuration \"1m1h\">: error calling parseDuration: not a \
                 valid duration string: \"1m1h\""
            ),
        ),
        (
            "{{ humanize (toDuration 1) }}",
            format!(
                "{prefix}:115: executing \"__alert_X\" at <humanize (toDuration 1)>: error calling humanize: can't \
                 convert *time.Duration to float"
            ),
        ),
    ];
    for (text, message) in cases {
        assert_eq!(exec_error(text), message, "executing {text:?}");
    }
}

#[test]
fn execution_error_on_a_later_line_counts_columns_from_the_line_start() {
    assert_eq!(
        exec_error("ok\n  {{ .Nope }}"),
        "template: __alert_X:2:5: executing \"__alert_X\" at <.Nope>: can't evaluate field Nope in type struct { \
         Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
    );
    let err = alert("{{ humanize \"x\" }}", 1.0).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("error executing template __alert_X: template: __alert_X:1:115: "),
        "{err}"
    );
}
