//! The engine against values worked out by hand from Prometheus 3's rules. The promtool corpus
//! (`rules/testdata/promtool/`) checks the same engine against Prometheus itself.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::unittest::series::{Step, expand};

const MINUTE: i64 = 60_000;

/// Series in promtool's notation, one sample per minute from time 0.
fn source(series: &[(&str, &str)]) -> MemorySource {
    let mut source = MemorySource::default();
    for (selector, values) in series {
        let labels = crate::unittest::series_labels(selector).unwrap();
        let samples =
            expand(values).unwrap().into_iter().enumerate().filter_map(|(i, step)| match step {
                Step::Missing => None,
                Step::Value(v) => Some(Sample { t: i as i64 * MINUTE, v }),
            });
        source.add(labels, samples);
    }
    source
}

fn instant(source: &MemorySource, query: &str, t: i64) -> Result<Value, QueryError> {
    Engine::default().instant(source, &parse(query).unwrap(), t)
}

/// The instant vector's elements as (labels in Prometheus notation, value), sorted.
fn vector(source: &MemorySource, query: &str, t: i64) -> Vec<(String, f64)> {
    match instant(source, query, t).unwrap() {
        Value::Vector(elements) => {
            let mut out: Vec<(String, f64)> =
                elements.into_iter().map(|e| (e.labels.to_string(), e.v)).collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

fn scalar(source: &MemorySource, query: &str, t: i64) -> f64 {
    match instant(source, query, t).unwrap() {
        Value::Scalar(v) => v,
        other => panic!("{query}: expected a scalar, got {other:?}"),
    }
}

/// Asserts that `actual` is `expected` up to float rounding.
#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0),
        "{actual} is not {expected}"
    );
}

fn one(source: &MemorySource, query: &str, t: i64) -> f64 {
    match vector(source, query, t).as_slice() {
        [(_, v)] => *v,
        other => panic!("{query}: expected one element, got {other:?}"),
    }
}

#[test]
fn regex_matchers_are_anchored_and_their_dot_matches_a_newline() {
    let mut source = MemorySource::default();
    for message in ["a\nb", "xa\nb", "a"] {
        source
            .add(Labels::new([("__name__", "m"), ("message", message)]), [Sample { t: 0, v: 1.0 }]);
    }
    let selected = |query: &str| vector(&source, query, MINUTE).len();
    assert_eq!(selected(r#"m{message=~"a.b"}"#), 1);
    assert_eq!(selected(r#"m{message!~"a.b"}"#), 2);
    assert_eq!(selected(r#"m{message=~".*b"}"#), 2);
}

#[test]
fn instant_selectors_look_back_five_minutes_left_open() {
    let data = source(&[("up", "1")]);
    assert_eq!(vector(&data, "up", 4 * MINUTE + 59_999), [("{__name__=\"up\"}".into(), 1.0)]);
    // The sample at 0 is exactly five minutes old at 5m: outside the left-open window.
    assert_eq!(vector(&data, "up", 5 * MINUTE), []);
}

#[test]
fn a_stale_marker_ends_a_series_at_once() {
    let data = source(&[("up", "1 stale")]);
    assert_eq!(vector(&data, "up", 30_000), [("{__name__=\"up\"}".into(), 1.0)]);
    assert_eq!(vector(&data, "up", MINUTE), []);
    // Range selectors leave the marker out.
    assert_eq!(one(&data, "count_over_time(up[5m])", 2 * MINUTE), 1.0);
}

#[test]
fn range_windows_are_left_open() {
    let data = source(&[("x", "0+10x10")]);
    // (5m, 10m] holds the samples of minutes 6 to 10.
    assert_eq!(one(&data, "count_over_time(x[5m])", 10 * MINUTE), 5.0);
    assert_eq!(one(&data, "count_over_time(x[5m])", 10 * MINUTE + 30_000), 5.0);
}

#[test]
fn rate_and_increase_extrapolate_to_the_window_edges() {
    let data = source(&[("requests_total", "0+10x10")]);
    // Samples 60..100 at 6m..10m, 30 s from each edge of (5m30s, 10m30s]: 40 × 300/240.
    assert_eq!(one(&data, "increase(requests_total[5m])", 10 * MINUTE + 30_000), 50.0);
    assert_close(one(&data, "rate(requests_total[5m])", 10 * MINUTE + 30_000), 50.0 / 300.0);
    // A sample further than 110 % of the spacing from an edge extrapolates by half a spacing only.
    let sparse = source(&[("c", "_ _ _ _ _ _ _ 70 80 90")]);
    // (4m30s, 9m30s] holds 7m, 8m, 9m: 20 over 120 s, + 30 s (half spacing) + 30 s to the end.
    assert_eq!(one(&sparse, "increase(c[5m])", 9 * MINUTE + 30_000), 20.0 * 180.0 / 120.0);
}

#[test]
fn increase_does_not_extrapolate_a_counter_below_zero() {
    let data = source(&[("c", "_ _ _ _ _ _ 1 11 21")]);
    // (3m30s, 8m30s] holds 6m..8m: 20 over 120 s. The first sample is far from the start, so the
    // extrapolation would go half a spacing (30 s) back, but at this slope the counter was zero 6 s
    // before its first sample: 20 × (120 + 6 + 30) / 120.
    assert_close(one(&data, "increase(c[5m])", 8 * MINUTE + 30_000), 20.0 * 156.0 / 120.0);
}

#[test]
fn counter_resets_are_compensated() {
    let data = source(&[("c", "10 20 5 15")]);
    // Raw change 5, plus the 20 lost at the reset; the window (-2m, 3m] covers 0..3m.
    assert_eq!(one(&data, "resets(c[5m])", 3 * MINUTE), 1.0);
    assert_eq!(one(&data, "irate(c[5m])", 3 * MINUTE), 10.0 / 60.0);
    assert_eq!(one(&data, "idelta(c[5m])", 3 * MINUTE), 10.0);
    let increase = one(&data, "increase(c[4m])", 3 * MINUTE + 30_000);
    // (-30s, 3m30s]: 25 over 180 s, extrapolated 30 s each way (zero point 10/25 × 180 = 72 s back).
    assert_close(increase, 25.0 * 240.0 / 180.0);
}

#[test]
fn functions_drop_the_metric_name_except_last_over_time() {
    let data = source(&[("x{job=\"a\"}", "1 2 3")]);
    assert_eq!(vector(&data, "abs(x)", 2 * MINUTE), [("{job=\"a\"}".into(), 3.0)]);
    assert_eq!(
        vector(&data, "last_over_time(x[5m])", 2 * MINUTE),
        [("{__name__=\"x\", job=\"a\"}".into(), 3.0)]
    );
    assert_eq!(vector(&data, "avg_over_time(x[5m])", 2 * MINUTE), [("{job=\"a\"}".into(), 2.0)]);
}

#[test]
fn aggregations_group_by_and_without() {
    let data = source(&[
        ("http_requests{job=\"api\", instance=\"1\", code=\"200\"}", "10"),
        ("http_requests{job=\"api\", instance=\"2\", code=\"500\"}", "30"),
        ("http_requests{job=\"web\", instance=\"1\", code=\"200\"}", "5"),
    ]);
    assert_eq!(
        vector(&data, "sum by (job) (http_requests)", 0),
        [("{job=\"api\"}".into(), 40.0), ("{job=\"web\"}".into(), 5.0)]
    );
    assert_eq!(
        vector(&data, "max without (instance, code) (http_requests)", 0),
        [("{job=\"api\"}".into(), 30.0), ("{job=\"web\"}".into(), 5.0)]
    );
    assert_eq!(one(&data, "count(http_requests)", 0), 3.0);
    // Mean 15, squared deviations 25 + 225 + 100.
    assert_close(one(&data, "stddev(http_requests)", 0), (350.0f64 / 3.0).sqrt());
    assert_eq!(
        vector(&data, "topk(1, http_requests)", 0),
        [("{__name__=\"http_requests\", code=\"500\", instance=\"2\", job=\"api\"}".into(), 30.0)]
    );
    assert_eq!(
        vector(&data, "count_values(\"value\", http_requests)", 0),
        [
            ("{value=\"10\"}".into(), 1.0),
            ("{value=\"30\"}".into(), 1.0),
            ("{value=\"5\"}".into(), 1.0)
        ]
    );
    assert_eq!(one(&data, "quantile(0.5, http_requests)", 0), 10.0);
}

#[test]
fn comparisons_filter_or_give_booleans() {
    let data = source(&[("x{i=\"1\"}", "1"), ("x{i=\"2\"}", "5")]);
    assert_eq!(vector(&data, "x > 2", 0), [("{__name__=\"x\", i=\"2\"}".into(), 5.0)]);
    assert_eq!(vector(&data, "2 < x", 0), [("{__name__=\"x\", i=\"2\"}".into(), 5.0)]);
    assert_eq!(
        vector(&data, "x > bool 2", 0),
        [("{i=\"1\"}".into(), 0.0), ("{i=\"2\"}".into(), 1.0)]
    );
    assert_eq!(scalar(&data, "1 < bool 2", 0), 1.0);
    assert_eq!(scalar(&data, "2 ^ 3 % 5", 0), 3.0);
}

#[test]
fn vector_matching_pairs_by_labels_and_group_left_copies_labels() {
    let data = source(&[
        ("errors{job=\"api\", code=\"500\"}", "3"),
        ("errors{job=\"api\", code=\"503\"}", "1"),
        ("requests{job=\"api\"}", "100"),
        ("info{job=\"api\", team=\"core\"}", "1"),
    ]);
    assert_eq!(
        vector(&data, "errors / ignoring(code) group_left requests", 0),
        [
            ("{code=\"500\", job=\"api\"}".into(), 0.03),
            ("{code=\"503\", job=\"api\"}".into(), 0.01)
        ]
    );
    assert_eq!(
        vector(&data, "requests * on(job) group_left(team) info", 0),
        [("{job=\"api\", team=\"core\"}".into(), 100.0)]
    );
    assert_eq!(
        vector(&data, "sum by (job) (errors) / on(job) requests", 0),
        [("{job=\"api\"}".into(), 0.04)]
    );
    let error = instant(&data, "errors / ignoring(code) requests", 0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
    let error = instant(&data, "requests / ignoring(code) errors", 0).unwrap_err();
    assert!(
        error.to_string().starts_with("found duplicate series for the match group {job=\"api\"}")
    );
}

#[test]
fn set_operators_match_on_all_labels_but_the_name() {
    let data = source(&[
        ("a{x=\"1\"}", "1"),
        ("a{x=\"2\"}", "2"),
        ("b{x=\"2\"}", "20"),
        ("b{x=\"3\"}", "30"),
    ]);
    let names = |query| vector(&data, query, 0).into_iter().map(|(l, _)| l).collect::<Vec<_>>();
    assert_eq!(names("a and b"), ["{__name__=\"a\", x=\"2\"}"]);
    assert_eq!(names("a unless b"), ["{__name__=\"a\", x=\"1\"}"]);
    assert_eq!(
        names("a or b"),
        ["{__name__=\"a\", x=\"1\"}", "{__name__=\"a\", x=\"2\"}", "{__name__=\"b\", x=\"3\"}"]
    );
}

#[test]
fn offset_and_at_move_the_window() {
    let data = source(&[("x", "0+1x10")]);
    assert_eq!(one(&data, "x offset 3m", 10 * MINUTE), 7.0);
    assert_eq!(one(&data, "x @ 120", 10 * MINUTE), 2.0);
    assert_eq!(one(&data, "x @ 300 offset 1m", 0), 4.0);
    assert_eq!(one(&data, "x offset -2m", 5 * MINUTE), 7.0);
}

#[test]
fn subqueries_evaluate_at_multiples_of_their_step_inside_a_left_open_range() {
    let data = source(&[("x", "0+1x20")]);
    // Steps at 6m..10m (5m is the open edge).
    assert_eq!(one(&data, "count_over_time(x[5m:1m])", 10 * MINUTE), 5.0);
    assert_eq!(one(&data, "max_over_time(x[5m:2m])", 11 * MINUTE), 10.0);
    // rate(x[2m]) is 1/60 at each of 7m..10m.
    assert_close(one(&data, "sum_over_time(rate(x[2m])[4m:1m])", 10 * MINUTE), 4.0 / 60.0);
}

#[test]
fn absent_returns_the_labels_the_selector_pins() {
    let data = source(&[("up{job=\"a\"}", "1")]);
    assert_eq!(vector(&data, "absent(up{job=\"a\"})", 0), []);
    assert_eq!(
        vector(&data, "absent(nonexistent{job=\"b\", instance=~\".*\"})", 0),
        [("{job=\"b\"}".into(), 1.0)]
    );
    assert_eq!(
        vector(&data, "absent_over_time(up{job=\"z\"}[1m])", 0),
        [("{job=\"z\"}".into(), 1.0)]
    );
}

#[test]
fn histogram_quantile_reads_classic_buckets() {
    let data = source(&[
        ("latency_bucket{le=\"0.1\", job=\"api\"}", "0+10x5"),
        ("latency_bucket{le=\"0.5\", job=\"api\"}", "0+50x5"),
        ("latency_bucket{le=\"1\", job=\"api\"}", "0+90x5"),
        ("latency_bucket{le=\"+Inf\", job=\"api\"}", "0+100x5"),
    ]);
    let quantile = vector(&data, "histogram_quantile(0.7, rate(latency_bucket[5m]))", 5 * MINUTE);
    assert_eq!(quantile[0].0, "{job=\"api\"}");
    assert_close(quantile[0].1, 0.75);
}

#[test]
fn label_replace_and_label_join_rewrite_labels() {
    let data = source(&[("up{instance=\"host-1:9100\", job=\"node\"}", "1")]);
    assert_eq!(
        vector(&data, "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")", 0),
        [(
            "{__name__=\"up\", host=\"host-1\", instance=\"host-1:9100\", job=\"node\"}".into(),
            1.0
        )]
    );
    assert_eq!(
        vector(&data, "label_join(up, \"id\", \"/\", \"job\", \"instance\")", 0),
        [(
            "{__name__=\"up\", id=\"node/host-1:9100\", instance=\"host-1:9100\", job=\"node\"}"
                .into(),
            1.0
        )]
    );
}

#[test]
fn functions_that_would_duplicate_label_sets_fail() {
    let data = source(&[("a{x=\"1\"}", "1"), ("b{x=\"1\"}", "2")]);
    let error = instant(&data, "abs({x=\"1\"})", 0).unwrap_err();
    assert_eq!(error.to_string(), "vector cannot contain metrics with the same labelset");
}

#[test]
fn range_queries_evaluate_every_step() {
    let data = source(&[("x", "0+1x10")]);
    let series = Engine::default()
        .range(&data, &parse("x * 2").unwrap(), 0, 4 * MINUTE, 2 * MINUTE)
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(
        series[0].samples,
        [
            Sample { t: 0, v: 0.0 },
            Sample { t: 2 * MINUTE, v: 4.0 },
            Sample { t: 4 * MINUTE, v: 8.0 }
        ]
    );
    let scalar =
        Engine::default().range(&data, &parse("time()").unwrap(), 0, MINUTE, MINUTE).unwrap();
    assert_eq!(scalar[0].samples, [Sample { t: 0, v: 0.0 }, Sample { t: MINUTE, v: 60.0 }]);
}

#[test]
fn deriv_and_predict_linear_fit_a_line() {
    let data = source(&[("disk_free", "100-2x10")]);
    assert_close(one(&data, "deriv(disk_free[5m])", 10 * MINUTE), -2.0 / 60.0);
    // At 10m the fitted line is at 80 and falls 2 per minute: 20 more in 10 minutes.
    assert_close(one(&data, "predict_linear(disk_free[5m], 600)", 10 * MINUTE), 60.0);
}

/// Every `.yml` file under `dir`.
fn yaml_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "yml") {
            found.push(path);
        }
    }
}

/// The selectors of an expression.
fn selectors<'e>(expr: &'e Expr, found: &mut Vec<&'e promql_parser::parser::VectorSelector>) {
    match expr {
        Expr::VectorSelector(selector) => found.push(selector),
        Expr::MatrixSelector(matrix) => found.push(&matrix.vs),
        Expr::Subquery(subquery) => selectors(&subquery.expr, found),
        Expr::Aggregate(aggregate) => {
            selectors(&aggregate.expr, found);
            if let Some(param) = &aggregate.param {
                selectors(param, found);
            }
        }
        Expr::Unary(unary) => selectors(&unary.expr, found),
        Expr::Binary(binary) => {
            selectors(&binary.lhs, found);
            selectors(&binary.rhs, found);
        }
        Expr::Paren(paren) => selectors(&paren.expr, found),
        Expr::Call(call) => call.args.args.iter().for_each(|arg| selectors(arg, found)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// A series for each selector: its name and the values its equality matchers ask for, a sample every
/// 15 s for an hour, rising (so counters, rates and ratios all have something to compute).
fn synthetic_source(expr: &Expr) -> MemorySource {
    let mut found = Vec::new();
    selectors(expr, &mut found);
    let mut source = MemorySource::default();
    for selector in found {
        let mut labels = Labels::new([("instance", "host-1:9100"), ("job", "node")]);
        if let Some(name) = &selector.name {
            labels.set(METRIC_NAME.into(), name.clone());
        }
        for matcher in &selector.matchers.matchers {
            if matches!(matcher.op, MatchOp::Equal) {
                labels.set(matcher.name.clone(), matcher.value.clone());
            }
        }
        let samples = (0..240).map(|i| Sample { t: i * 15_000, v: (i * 7 % 100 + i) as f64 });
        source.add(labels, samples);
    }
    source
}

#[test]
fn every_rule_of_the_awesome_prometheus_alerts_corpus_evaluates_over_empty_and_synthetic_data() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/rule-corpus/awesome-prometheus-alerts");
    let mut files = Vec::new();
    yaml_files(&corpus, &mut files);
    let mut evaluated = 0;
    let mut failures = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = crate::file::parse_rule_file(&path.display().to_string(), &text).unwrap();
        for rule in file.groups.iter().flat_map(|group| &group.rules) {
            let crate::file::Query::PromQl { expr, text } = &rule.query else {
                panic!("{}: the corpus has PromQL rules only", rule.name());
            };
            for source in [MemorySource::default(), synthetic_source(expr)] {
                if let Err(error) = Engine::default().instant(&source, expr, 3_600_000) {
                    failures.push(format!("{} ({text}): {error}", rule.name()));
                }
            }
            evaluated += 1;
        }
    }
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(evaluated, 954);
}
