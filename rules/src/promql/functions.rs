//! PromQL's functions: dispatch by name, and the functions over instant vectors.

mod calendar;
mod labels;
mod range;

use std::collections::HashSet;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr};

use super::eval::{Evaluated, Evaluator};
use super::value::{Element, Labels, METRIC_NAME};
use super::{QueryError, histogram};
use range::RangeWindow;
pub(super) use range::{KahanSum, mean, quantile, variance};

pub(super) fn call<'e>(
    ev: &mut Evaluator<'e>,
    call: &'e Call,
    t: i64,
) -> Result<Evaluated, QueryError> {
    let name = call.func.name;
    let args: &'e [Box<Expr>] = &call.args.args;
    let result = match name {
        "time" => return Ok(Evaluated::Scalar(t as f64 / 1000.0)),
        "pi" => return Ok(Evaluated::Scalar(std::f64::consts::PI)),
        "scalar" => {
            let elements = ev.vector(&args[0], t)?;
            let value = if let [only] = elements.as_slice() { only.v } else { f64::NAN };
            return Ok(Evaluated::Scalar(value));
        }
        "vector" => vec![Element { labels: Labels::default(), t, v: ev.scalar(&args[0], t)? }],
        "timestamp" => timestamp(ev, &args[0], t)?,
        "absent" => {
            let present = !ev.vector(&args[0], t)?.is_empty();
            absent(present, &args[0], t)
        }
        "absent_over_time" => {
            let present = !ev.range_argument(&args[0], t)?.series.is_empty();
            absent(present, &args[0], t)
        }
        "label_replace" => labels::label_replace(ev.vector(&args[0], t)?, &args[1..])?,
        "label_join" => labels::label_join(ev.vector(&args[0], t)?, &args[1..])?,
        "sort" | "sort_desc" => sort_by_value(ev.vector(&args[0], t)?, name == "sort_desc"),
        "sort_by_label" | "sort_by_label_desc" => {
            labels::sort_by_label(ev.vector(&args[0], t)?, &args[1..], name.ends_with("_desc"))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let vector = ev.vector(&args[0], t)?;
            let (min, max) = match name {
                "clamp" => (ev.scalar(&args[1], t)?, ev.scalar(&args[2], t)?),
                "clamp_min" => (ev.scalar(&args[1], t)?, f64::INFINITY),
                _ => (f64::NEG_INFINITY, ev.scalar(&args[1], t)?),
            };
            if max < min {
                Vec::new()
            } else {
                map_values(vector, t, |v| go_max(min, go_min(max, v)))
            }
        }
        "round" => {
            let vector = ev.vector(&args[0], t)?;
            let to_nearest = match args.get(1) {
                Some(arg) => ev.scalar(arg, t)?,
                None => 1.0,
            };
            // Dividing by the inverse is what Prometheus does: it is the more accurate of the two.
            let inverse = 1.0 / to_nearest;
            map_values(vector, t, |v| (v * inverse + 0.5).floor() / inverse)
        }
        "histogram_quantile" => {
            let q = ev.scalar(&args[0], t)?;
            histogram::quantile(q, ev.vector(&args[1], t)?, t)
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" | "histogram_fraction" => {
            // These read native histograms only; OpenTelemetry's explicit-bucket histograms are
            // exposed as classic `_bucket` series, so there is never a native one to read.
            for arg in args {
                ev.eval(arg, t)?;
            }
            Vec::new()
        }
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => {
            let field = calendar::field(name);
            match args.first() {
                None => {
                    vec![Element { labels: Labels::default(), t, v: field(t.div_euclid(1000)) }]
                }
                Some(arg) => {
                    // Non-finite times have no date; Go turns them into the minimum time.
                    map_values(ev.vector(arg, t)?, t, |v| field(v as i64))
                }
            }
        }
        _ => match math_function(name) {
            Some(function) => map_values(ev.vector(&args[0], t)?, t, function),
            None => range_function(ev, name, args, t)?,
        },
    };
    let mut seen = HashSet::with_capacity(result.len());
    if result.iter().any(|element| !seen.insert(&element.labels)) {
        return Err(QueryError::Execution(
            "vector cannot contain metrics with the same labelset".into(),
        ));
    }
    Ok(Evaluated::Vector(result))
}

/// The functions that map each value on its own.
fn math_function(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "sgn" => |v: f64| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

/// Applies `function` to every value; the metric name goes, as the value is no longer the metric's.
fn map_values(vector: Vec<Element>, t: i64, function: impl Fn(f64) -> f64) -> Vec<Element> {
    vector
        .into_iter()
        .map(|element| Element {
            labels: element.labels.without_metric_name(),
            t,
            v: function(element.v),
        })
        .collect()
}

/// `timestamp()`: the time of each sample. Given a selector directly, that is the sample's own time;
/// given any other expression, the evaluation time.
fn timestamp<'e>(
    ev: &mut Evaluator<'e>,
    arg: &'e Expr,
    t: i64,
) -> Result<Vec<Element>, QueryError> {
    let elements = match unwrap_parens(arg) {
        Expr::VectorSelector(selector) => ev.instant_vector(selector, t),
        other => ev.vector(other, t)?,
    };
    Ok(elements
        .into_iter()
        .map(|element| Element {
            labels: element.labels.without_metric_name(),
            t,
            v: element.t as f64 / 1000.0,
        })
        .collect())
}

/// `absent()` and `absent_over_time()`: 1 with the labels the selector pins by equality, when nothing is
/// present.
fn absent(present: bool, arg: &Expr, t: i64) -> Vec<Element> {
    if present {
        return Vec::new();
    }
    let selector = match unwrap_parens(arg) {
        Expr::VectorSelector(selector) => Some(selector),
        Expr::MatrixSelector(matrix) => Some(&matrix.vs),
        _ => None,
    };
    let mut labels = Labels::default();
    if let Some(selector) = selector {
        // A label named twice (`x{job="a", job="b"}`) is left out, as Prometheus does.
        let mut seen = HashSet::new();
        for matcher in &selector.matchers.matchers {
            if matcher.name == METRIC_NAME {
                continue;
            }
            if matches!(matcher.op, MatchOp::Equal) && seen.insert(matcher.name.as_str()) {
                labels.set(matcher.name.clone(), matcher.value.clone());
            } else {
                labels.remove(&matcher.name);
            }
        }
    }
    vec![Element { labels, t, v: 1.0 }]
}

/// `sort` and `sort_desc` (and `topk`/`bottomk`): by value, NaN last either way.
pub(super) fn sort_by_value(mut vector: Vec<Element>, descending: bool) -> Vec<Element> {
    vector.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => {
            let order = a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
    });
    vector
}

/// The functions over a range vector: one value per series, computed from its window.
fn range_function<'e>(
    ev: &mut Evaluator<'e>,
    name: &str,
    args: &'e [Box<Expr>],
    t: i64,
) -> Result<Vec<Element>, QueryError> {
    // quantile_over_time takes φ first; every other function takes the range vector first.
    let (range_arg, scalar_args) = match name {
        "quantile_over_time" => (&args[1], &args[..1]),
        _ => (&args[0], &args[1..]),
    };
    let mut scalars = Vec::with_capacity(scalar_args.len());
    for arg in scalar_args {
        scalars.push(ev.scalar(arg, t)?);
    }
    let range = ev.range_argument(range_arg, t)?;
    let window = RangeWindow { start: range.start, end: range.end, range_ms: range.range_ms };
    if matches!(name, "double_exponential_smoothing" | "holt_winters") {
        let (smoothing, trend) = (scalars[0], scalars[1]);
        if smoothing <= 0.0 || smoothing >= 1.0 {
            return Err(QueryError::Execution(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {smoothing:.6}"
            )));
        }
        if trend <= 0.0 || trend >= 1.0 {
            return Err(QueryError::Execution(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {trend:.6}"
            )));
        }
    }
    let keeps_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out = Vec::with_capacity(range.series.len());
    for series in range.series {
        let samples = &series.samples;
        let value = match name {
            "rate" => range::extrapolated_rate(samples, window, true, true),
            "increase" => range::extrapolated_rate(samples, window, true, false),
            "delta" => range::extrapolated_rate(samples, window, false, false),
            "irate" => range::instant_value(samples, true),
            "idelta" => range::instant_value(samples, false),
            "deriv" => {
                (samples.len() >= 2).then(|| range::linear_regression(samples, samples[0].t).0)
            }
            "predict_linear" => (samples.len() >= 2).then(|| {
                let (slope, intercept) = range::linear_regression(samples, t);
                slope * scalars[0] + intercept
            }),
            "changes" => Some(range::changes(samples)),
            "resets" => Some(range::resets(samples)),
            "avg_over_time" => Some(mean(samples.iter().map(|sample| sample.v))),
            "sum_over_time" => {
                let mut sum = KahanSum::default();
                samples.iter().for_each(|sample| sum.add(sample.v));
                Some(sum.value())
            }
            "count_over_time" => Some(samples.len() as f64),
            "min_over_time" => Some(range::extreme(samples, |value, best| value < best)),
            "max_over_time" => Some(range::extreme(samples, |value, best| value > best)),
            "last_over_time" => samples.last().map(|sample| sample.v),
            "first_over_time" => samples.first().map(|sample| sample.v),
            "present_over_time" => Some(1.0),
            "stddev_over_time" => Some(variance(samples.iter().map(|sample| sample.v)).sqrt()),
            "stdvar_over_time" => Some(variance(samples.iter().map(|sample| sample.v))),
            "quantile_over_time" => {
                let mut values: Vec<f64> = samples.iter().map(|sample| sample.v).collect();
                Some(quantile(scalars[0], &mut values))
            }
            "mad_over_time" => {
                let mut values: Vec<f64> = samples.iter().map(|sample| sample.v).collect();
                let median = quantile(0.5, &mut values);
                let mut deviations: Vec<f64> =
                    values.iter().map(|value| (value - median).abs()).collect();
                Some(quantile(0.5, &mut deviations))
            }
            "ts_of_first_over_time" => samples.first().map(|sample| sample.t as f64 / 1000.0),
            "ts_of_last_over_time" => samples.last().map(|sample| sample.t as f64 / 1000.0),
            "ts_of_max_over_time" | "ts_of_min_over_time" => {
                let wants_max = name == "ts_of_max_over_time";
                let mut best = samples[0];
                for sample in samples {
                    let better = if wants_max { sample.v >= best.v } else { sample.v <= best.v };
                    if better || best.v.is_nan() {
                        best = *sample;
                    }
                }
                Some(best.t as f64 / 1000.0)
            }
            "double_exponential_smoothing" | "holt_winters" => {
                range::double_exponential_smoothing(samples, scalars[0], scalars[1])
            }
            _ => {
                return Err(QueryError::Execution(format!("function {name:?} is not supported")));
            }
        };
        if let Some(v) = value {
            let labels =
                if keeps_name { series.labels } else { series.labels.without_metric_name() };
            out.push(Element { labels, t, v });
        }
    }
    Ok(out)
}

/// Go's `math.Min`: NaN if either is NaN (Rust's `f64::min` ignores a NaN).
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}

/// Go's `math.Max`: NaN if either is NaN.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

fn unwrap_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(paren) = expr {
        expr = &paren.expr;
    }
    expr
}

/// The text of a string-literal argument (the parser checks the types of function arguments).
fn string_arg(arg: &Expr) -> Result<&str, QueryError> {
    match unwrap_parens(arg) {
        Expr::StringLiteral(literal) => Ok(&literal.val),
        _ => Err(QueryError::Execution("expected a string literal argument".into())),
    }
}
