//! A PromQL engine with Prometheus 3's semantics, over any [`SeriesSource`].
//!
//! Expressions are parsed by the `promql-parser` crate; evaluation is ours. A query first works out, for each
//! selector, the time window every step of the query will read ([`plan`]), fetches those series once, then
//! evaluates the expression at each step ([`eval`]). The rules are Prometheus 3's, to the sample:
//! - an instant selector takes each series' latest sample in the left-open window `(t - lookback, t]` (five
//!   minutes unless configured), unless that sample is a stale marker;
//! - a range selector `[r]` takes the samples in `(t - r, t]`, stale markers left out;
//! - `offset` moves the window back, `@` pins it to a time, `start()`/`end()` being the query's bounds;
//! - a subquery evaluates its expression at the multiples of its step inside its left-open range.

mod aggregate;
mod binary;
mod eval;
mod functions;
mod histogram;
mod plan;
mod source;
#[cfg(test)]
mod tests;
mod value;

use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;

pub(crate) use plan::millis;
pub use source::{MemorySource, Selection, SeriesSource};
pub use value::{
    Element, Labels, METRIC_NAME, Sample, Series, Value, format_value, is_stale_marker,
    stale_marker, write_value,
};

/// Why a query failed. The messages follow Prometheus's, so that users can search for them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Parse(String),
    /// The expression is valid PromQL but cannot be evaluated on this data (duplicate series, bad regex…).
    #[error("{0}")]
    Execution(String),
    /// The series source failed.
    #[error("fetching series: {0}")]
    Source(String),
    #[error("query processing would load too many samples into memory")]
    TooManySamples,
}

/// Parses a PromQL expression, with the parser's message as the error.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    parse_expr(query).map_err(QueryError::Parse)
}

/// [`parse`] with the parser's message as a plain string (the rule files' errors).
pub fn parse_expr(query: &str) -> Result<Expr, String> {
    let mut expr = promql_parser::parser::parse(query)?;
    regexes_match_newlines(&mut expr);
    Ok(expr)
}

/// The parser compiles a regex matcher as `^(?:…)$`; Prometheus compiles it as `^(?s:…)$`, so that `.` matches
/// a newline in a label value too. Every regex matcher of `expr` is compiled again with that flag.
fn regexes_match_newlines(expr: &mut Expr) {
    let matchers = |matchers: &mut promql_parser::label::Matchers| {
        let groups = std::iter::once(&mut matchers.matchers).chain(&mut matchers.or_matchers);
        for matcher in groups.flatten() {
            if let MatchOp::Re(regex) | MatchOp::NotRe(regex) = &mut matcher.op
                && let Ok(dot_all) = regex::Regex::new(&format!("(?s){}", regex.as_str()))
            {
                *regex = dot_all;
            }
        }
    };
    match expr {
        Expr::VectorSelector(selector) => matchers(&mut selector.matchers),
        Expr::MatrixSelector(matrix) => matchers(&mut matrix.vs.matchers),
        Expr::Subquery(subquery) => regexes_match_newlines(&mut subquery.expr),
        Expr::Aggregate(aggregate) => {
            regexes_match_newlines(&mut aggregate.expr);
            if let Some(param) = &mut aggregate.param {
                regexes_match_newlines(param);
            }
        }
        Expr::Unary(unary) => regexes_match_newlines(&mut unary.expr),
        Expr::Binary(binary) => {
            regexes_match_newlines(&mut binary.lhs);
            regexes_match_newlines(&mut binary.rhs);
        }
        Expr::Paren(paren) => regexes_match_newlines(&mut paren.expr),
        Expr::Call(call) => call.args.args.iter_mut().for_each(|arg| regexes_match_newlines(arg)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Evaluation settings; the defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct Engine {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`).
    pub lookback: Duration,
    /// The step of a subquery that gives none: the evaluation interval of the rule group, or the global one.
    pub default_subquery_step: Duration,
    /// The most samples one query may hold at once.
    pub max_samples: usize,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            lookback: Duration::from_secs(300),
            default_subquery_step: Duration::from_secs(60),
            max_samples: 50_000_000,
        }
    }
}

impl Engine {
    /// Evaluates `expr` at `time_ms` (milliseconds since the Unix epoch).
    pub fn instant(
        &self,
        source: &dyn SeriesSource,
        expr: &Expr,
        time_ms: i64,
    ) -> Result<Value, QueryError> {
        let mut evaluator = eval::Evaluator::new(self, source, expr, time_ms, time_ms)?;
        // An instant query of a range selector returns the raw samples of its window.
        Ok(evaluator.eval(expr, time_ms)?.into_value())
    }

    /// Evaluates `expr` at every `step` from `start_ms` to `end_ms` (both included) and returns one series per
    /// label set, as `/api/v1/query_range` does. Scalars become a series without labels.
    pub fn range(
        &self,
        source: &dyn SeriesSource,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<Series>, QueryError> {
        if step_ms <= 0 {
            return Err(QueryError::Execution(
                "zero or negative query resolution step widths are not accepted".into(),
            ));
        }
        let mut evaluator = eval::Evaluator::new(self, source, expr, start_ms, end_ms)?;
        let mut series: Vec<Series> = Vec::new();
        let mut index_of: std::collections::HashMap<Labels, usize> =
            std::collections::HashMap::new();
        let mut t = start_ms;
        while t <= end_ms {
            let elements = match evaluator.eval(expr, t)? {
                eval::Evaluated::Scalar(v) => vec![Element { labels: Labels::default(), t, v }],
                eval::Evaluated::Vector(elements) => elements,
                eval::Evaluated::Matrix(_) | eval::Evaluated::String(_) => {
                    return Err(QueryError::Execution(format!(
                        "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                        eval::result_type(expr)
                    )));
                }
            };
            for element in elements {
                let index = *index_of.entry(element.labels.clone()).or_insert_with(|| {
                    series.push(Series { labels: element.labels.clone(), samples: Vec::new() });
                    series.len() - 1
                });
                series[index].samples.push(Sample { t, v: element.v });
            }
            t += step_ms;
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(series)
    }
}
