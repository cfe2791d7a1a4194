//! The functions that work on labels: `label_replace`, `label_join`, `sort_by_label`.

use std::cmp::Ordering;

use promql_parser::parser::Expr;
use regex::Regex;

use super::super::value::Element;
use super::{QueryError, string_arg};

/// `label_replace(v, dst, replacement, src, regex)`: where `regex` matches all of `src`'s value, set `dst`
/// to `replacement` with `$1`/`${name}` expanded.
pub(super) fn label_replace(
    vector: Vec<Element>,
    args: &[Box<Expr>],
) -> Result<Vec<Element>, QueryError> {
    let destination = string_arg(&args[0])?;
    let replacement = string_arg(&args[1])?;
    let source = string_arg(&args[2])?;
    let pattern = string_arg(&args[3])?;
    let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|_| {
        QueryError::Execution(format!("invalid regular expression in label_replace(): {pattern}"))
    })?;
    if !is_label_name(destination) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_replace(): {destination}"
        )));
    }
    Ok(vector
        .into_iter()
        .map(|mut element| {
            let value = element.labels.value(source).to_owned();
            if let Some(captures) = regex.captures(&value) {
                let mut replaced = String::new();
                captures.expand(replacement, &mut replaced);
                element.labels.set(destination.to_owned(), replaced);
            }
            element
        })
        .collect())
}

/// `label_join(v, dst, separator, src…)`: set `dst` to the values of the `src` labels joined.
pub(super) fn label_join(
    vector: Vec<Element>,
    args: &[Box<Expr>],
) -> Result<Vec<Element>, QueryError> {
    let destination = string_arg(&args[0])?;
    let separator = string_arg(&args[1])?;
    let sources = args[2..].iter().map(|arg| string_arg(arg)).collect::<Result<Vec<_>, _>>()?;
    if let Some(bad) = sources.iter().find(|source| !is_label_name(source)) {
        return Err(QueryError::Execution(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !is_label_name(destination) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_join(): {destination}"
        )));
    }
    Ok(vector
        .into_iter()
        .map(|mut element| {
            let joined = sources
                .iter()
                .map(|source| element.labels.value(source))
                .collect::<Vec<_>>()
                .join(separator);
            element.labels.set(destination.to_owned(), joined);
            element
        })
        .collect())
}

/// `sort_by_label(v, label…)`: natural order of the named labels' values, then the whole label set.
pub(super) fn sort_by_label(
    mut vector: Vec<Element>,
    args: &[Box<Expr>],
    descending: bool,
) -> Vec<Element> {
    let names: Vec<&str> = args.iter().filter_map(|arg| string_arg(arg).ok()).collect();
    vector.sort_by(|a, b| {
        let order = names
            .iter()
            .map(|name| natural_order(a.labels.value(name), b.labels.value(name)))
            .find(|order| order.is_ne())
            .unwrap_or_else(|| a.labels.cmp(&b.labels));
        if descending { order.reverse() } else { order }
    });
    vector
}

/// Label names are any non-empty UTF-8 text in Prometheus 3.
fn is_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// Natural order: runs of digits compare as numbers, everything else as text (`a2 < a10`).
fn natural_order(a: &str, b: &str) -> Ordering {
    let (mut a_chunks, mut b_chunks) = (chunks(a), chunks(b));
    loop {
        match (a_chunks.next(), b_chunks.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u128>(), y.parse::<u128>()) {
                    (Ok(x_number), Ok(y_number)) => x_number.cmp(&y_number).then(x.cmp(y)),
                    _ => x.cmp(y),
                };
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

/// Splits text into alternating runs of ASCII digits and of everything else.
fn chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() != digits)
            .map_or(rest.len(), |(index, _)| index);
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        assert_eq!(natural_order("a2", "a10"), Ordering::Less);
        assert_eq!(natural_order("node10", "node9"), Ordering::Greater);
        assert_eq!(natural_order("b", "a10"), Ordering::Greater);
        assert_eq!(natural_order("x", "x"), Ordering::Equal);
        assert_eq!(natural_order("x", "x1"), Ordering::Less);
    }
}
