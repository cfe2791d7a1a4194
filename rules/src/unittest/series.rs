//! The `values` notation of promtool's `input_series`: `1 2 _ stale 0+10x5 1-1x3 _x2 5x3`.
//!
//! - `a+bxn` is `a`, then `n` more values, each `b` more than the last; `a-bxn` counts down;
//! - `axn` is `a` repeated `n + 1` times;
//! - `_` is a missing sample and `_xn` is `n` of them;
//! - `stale` is a stale marker.

use crate::promql::stale_marker;

/// One step of an input series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    Missing,
    Value(f64),
}

/// Expands a `values` string into one step per interval, from time 0.
pub fn expand(values: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for item in values.split_whitespace() {
        expand_item(item, &mut steps).map_err(|reason| format!("{reason} in {item:?}"))?;
    }
    Ok(steps)
}

fn expand_item(item: &str, steps: &mut Vec<Step>) -> Result<(), String> {
    match item {
        "_" => steps.push(Step::Missing),
        "stale" => steps.push(Step::Value(stale_marker())),
        _ => {
            let Some((start, times)) = split_repetition(item) else {
                steps.push(Step::Value(number(item)?));
                return Ok(());
            };
            let times = times.parse::<u64>().map_err(|_| "bad repetition count".to_owned())?;
            if start == "_" {
                steps.extend((0..times).map(|_| Step::Missing));
                return Ok(());
            }
            let (first, increment) = split_increment(start)?;
            for i in 0..=times {
                steps.push(Step::Value(first + increment * i as f64));
            }
        }
    }
    Ok(())
}

/// Splits `a+bxn` at its `x`: the part before it and the count. Numbers never contain an `x`, except
/// hexadecimal ones, which the notation does not use.
fn split_repetition(item: &str) -> Option<(&str, &str)> {
    let index = item.rfind('x')?;
    Some((&item[..index], &item[index + 1..]))
}

/// Splits `a+b` / `a-b` / `a` into the start and the increment. The sign that separates them is the last
/// `+` or `-` that neither begins the text nor follows an exponent's `e`.
fn split_increment(text: &str) -> Result<(f64, f64), String> {
    let bytes = text.as_bytes();
    let separator = (1..bytes.len())
        .rev()
        .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    match separator {
        None => Ok((number(text)?, 0.0)),
        Some(i) => {
            let magnitude = number(&text[i + 1..])?;
            let increment = if bytes[i] == b'-' { -magnitude } else { magnitude };
            Ok((number(&text[..i])?, increment))
        }
    }
}

/// A number as Prometheus's series notation reads it (`1`, `-2.5`, `1e3`, `Inf`, `NaN`).
fn number(text: &str) -> Result<f64, String> {
    text.parse::<f64>().map_err(|_| format!("{text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::is_stale_marker;

    fn values(steps: &[Step]) -> Vec<Option<f64>> {
        steps
            .iter()
            .map(|step| match step {
                Step::Missing => None,
                Step::Value(v) => Some(*v),
            })
            .collect()
    }

    #[test]
    fn expanding_notation_matches_promtools_documented_examples() {
        let expanded = |text| values(&expand(text).expect("valid notation"));
        assert_eq!(expanded("-2+4x3"), [Some(-2.0), Some(2.0), Some(6.0), Some(10.0)]);
        assert_eq!(expanded(" 1-2x4"), [Some(1.0), Some(-1.0), Some(-3.0), Some(-5.0), Some(-7.0)]);
        assert_eq!(expanded("1x4"), [Some(1.0); 5]);
        assert_eq!(expanded("1 _ 3"), [Some(1.0), None, Some(3.0)]);
        assert_eq!(expanded("1e3+1e2x1"), [Some(1000.0), Some(1100.0)]);
        let with_gaps = expand("1 _x3 stale").expect("valid notation");
        assert_eq!(values(&with_gaps[..4]), [Some(1.0), None, None, None]);
        assert!(matches!(with_gaps[4], Step::Value(v) if is_stale_marker(v)));
        assert!(matches!(expand("Inf -Inf").expect("valid")[..], [Step::Value(a), Step::Value(b)]
            if a == f64::INFINITY && b == f64::NEG_INFINITY));
    }

    #[test]
    fn malformed_notation_names_the_item() {
        assert_eq!(
            expand("1 two").expect_err("not a number"),
            "\"two\" is not a number in \"two\""
        );
        assert_eq!(expand("1+1xz").expect_err("not a count"), "bad repetition count in \"1+1xz\"");
    }
}
