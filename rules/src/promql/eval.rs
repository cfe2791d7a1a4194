//! Evaluation of an expression at one time: selectors, subqueries, and the dispatch to functions,
//! aggregations and operators.

use std::collections::HashMap;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, SubqueryExpr, VectorSelector};

use super::plan::{Planner, SelectorId, Span, at_ms, millis, offset_ms};
use super::source::{Selection, SeriesSource};
use super::value::{Element, Labels, Sample, Series, Value, is_stale_marker};
use super::{Engine, QueryError, aggregate, binary, functions};

/// What an expression evaluated to at one time.
#[derive(Debug, Clone)]
pub(super) enum Evaluated {
    Scalar(f64),
    String(String),
    Vector(Vec<Element>),
    /// A range vector: a range selector's or a subquery's samples.
    Matrix(Vec<Series>),
}

impl Evaluated {
    pub fn into_value(self) -> Value {
        match self {
            Evaluated::Scalar(v) => Value::Scalar(v),
            Evaluated::String(s) => Value::String(s),
            Evaluated::Vector(elements) => Value::Vector(elements),
            Evaluated::Matrix(series) => Value::Matrix(series),
        }
    }
}

/// The samples of a range-vector argument at one time, with the window they were taken from.
pub(super) struct RangeArgument {
    pub series: Vec<Series>,
    /// The window `(start, end]`, in milliseconds.
    pub start: i64,
    pub end: i64,
    pub range_ms: i64,
}

pub(super) struct Evaluator<'e> {
    engine: &'e Engine,
    pub query_start: i64,
    pub query_end: i64,
    selected: HashMap<SelectorId, Vec<Series>>,
    /// Whether each range selector is read at one time only (an instant query without subqueries): its
    /// series are then handed over rather than copied out of `selected`.
    read_once: bool,
}

impl<'e> Evaluator<'e> {
    /// Fetches, once, every series each selector of `expr` reads between the query's first and last step.
    pub fn new(
        engine: &'e Engine,
        source: &dyn SeriesSource,
        expr: &'e Expr,
        start: i64,
        end: i64,
    ) -> Result<Evaluator<'e>, QueryError> {
        let mut planner = Planner {
            lookback_ms: millis(engine.lookback),
            query_start: start,
            query_end: end,
            windows: HashMap::new(),
            has_subquery: false,
        };
        planner.visit(expr, Span { first: start, last: end });
        let mut selected = HashMap::with_capacity(planner.windows.len());
        let mut samples = 0usize;
        for (id, window) in planner.windows {
            let selector = find_selector(expr, id).ok_or_else(|| {
                QueryError::Execution("internal error: a planned selector is missing".into())
            })?;
            let selection =
                Selection { metric_name: selector.name.as_deref(), matchers: &selector.matchers };
            let series =
                source.select(selection, window.start, window.end).map_err(QueryError::Source)?;
            samples += series.iter().map(|series| series.samples.len()).sum::<usize>();
            if samples > engine.max_samples {
                return Err(QueryError::TooManySamples);
            }
            selected.insert(id, series);
        }
        let read_once = start == end && !planner.has_subquery;
        Ok(Evaluator { engine, query_start: start, query_end: end, selected, read_once })
    }

    pub fn eval(&mut self, expr: &'e Expr, t: i64) -> Result<Evaluated, QueryError> {
        Ok(match expr {
            Expr::NumberLiteral(number) => Evaluated::Scalar(number.val),
            Expr::StringLiteral(string) => Evaluated::String(string.val.clone()),
            Expr::Paren(paren) => self.eval(&paren.expr, t)?,
            Expr::Unary(unary) => match self.eval(&unary.expr, t)? {
                Evaluated::Scalar(v) => Evaluated::Scalar(-v),
                Evaluated::Vector(elements) => Evaluated::Vector(
                    elements
                        .into_iter()
                        .map(|element| Element {
                            labels: element.labels.without_metric_name(),
                            t,
                            v: -element.v,
                        })
                        .collect(),
                ),
                _ => {
                    return Err(QueryError::Execution(
                        "unary expression only allowed on expressions of type scalar or vector"
                            .into(),
                    ));
                }
            },
            Expr::VectorSelector(selector) => Evaluated::Vector(
                self.instant_vector(selector, t)
                    .into_iter()
                    .map(|element| Element { t, ..element })
                    .collect(),
            ),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                Evaluated::Matrix(self.range_argument(expr, t)?.series)
            }
            Expr::Call(call) => functions::call(self, call, t)?,
            Expr::Aggregate(aggregate) => aggregate::eval(self, aggregate, t)?,
            Expr::Binary(binary) => binary::eval(self, binary, t)?,
            Expr::Extension(_) => {
                return Err(QueryError::Execution("unsupported expression extension".into()));
            }
        })
    }

    /// Evaluates an argument that must be a scalar.
    pub fn scalar(&mut self, expr: &'e Expr, t: i64) -> Result<f64, QueryError> {
        match self.eval(expr, t)? {
            Evaluated::Scalar(v) => Ok(v),
            other => Err(type_error("scalar", &other)),
        }
    }

    /// Evaluates an argument that must be an instant vector.
    pub fn vector(&mut self, expr: &'e Expr, t: i64) -> Result<Vec<Element>, QueryError> {
        match self.eval(expr, t)? {
            Evaluated::Vector(elements) => Ok(elements),
            other => Err(type_error("instant vector", &other)),
        }
    }

    /// Each selected series' latest sample in `(t - lookback, t]` (after `@` and `offset`), keeping the
    /// sample's own time in [`Element::t`]. A stale marker as the latest sample means no value.
    pub fn instant_vector(&self, selector: &VectorSelector, t: i64) -> Vec<Element> {
        let reference = self.pinned(selector.at.as_ref(), t) - offset_ms(selector.offset.as_ref());
        let oldest = reference - millis(self.engine.lookback);
        let Some(series) = self.selected.get(&(selector as SelectorId)) else {
            return Vec::new();
        };
        series
            .iter()
            .filter_map(|series| {
                let after = series.samples.partition_point(|sample| sample.t <= reference);
                let sample = series.samples[..after].last()?;
                (sample.t > oldest && !is_stale_marker(sample.v)).then(|| Element {
                    labels: series.labels.clone(),
                    t: sample.t,
                    v: sample.v,
                })
            })
            .collect()
    }

    /// Evaluates a range selector or a subquery (parentheses around either are allowed) at `t`.
    pub fn range_argument(&mut self, expr: &'e Expr, t: i64) -> Result<RangeArgument, QueryError> {
        match expr {
            Expr::Paren(paren) => self.range_argument(&paren.expr, t),
            Expr::MatrixSelector(matrix) => {
                let selector = &matrix.vs;
                let end =
                    self.pinned(selector.at.as_ref(), t) - offset_ms(selector.offset.as_ref());
                let range_ms = millis(matrix.range);
                let start = end - range_ms;
                let id = selector as SelectorId;
                let series = if self.read_once {
                    self.selected.remove(&id).map(|all| into_window(all, start, end))
                } else {
                    self.selected.get(&id).map(|all| window_of(all, start, end))
                };
                let series = series.unwrap_or_default();
                Ok(RangeArgument { series, start, end, range_ms })
            }
            Expr::Subquery(subquery) => self.subquery(subquery, t),
            other => Err(QueryError::Execution(format!(
                "expected type range vector, got {}",
                result_type(other)
            ))),
        }
    }

    /// Evaluates the subquery's expression at every multiple of its step inside `(end - range, end]`.
    fn subquery(
        &mut self,
        subquery: &'e SubqueryExpr,
        t: i64,
    ) -> Result<RangeArgument, QueryError> {
        let end = self.pinned(subquery.at.as_ref(), t) - offset_ms(subquery.offset.as_ref());
        let range_ms = millis(subquery.range);
        let start = end - range_ms;
        let step = match subquery.step {
            Some(step) if !step.is_zero() => millis(step),
            _ => millis(self.engine.default_subquery_step),
        };
        let mut series: Vec<Series> = Vec::new();
        let mut index_of: HashMap<Labels, usize> = HashMap::new();
        let mut step_time = start.div_euclid(step) * step;
        if step_time <= start {
            step_time += step;
        }
        while step_time <= end {
            let elements = match self.eval(&subquery.expr, step_time)? {
                Evaluated::Vector(elements) => elements,
                Evaluated::Scalar(v) => {
                    vec![Element { labels: Labels::default(), t: step_time, v }]
                }
                other => return Err(type_error("instant vector", &other)),
            };
            for element in elements {
                let index = *index_of.entry(element.labels.clone()).or_insert_with(|| {
                    series.push(Series { labels: element.labels, samples: Vec::new() });
                    series.len() - 1
                });
                series[index].samples.push(Sample { t: step_time, v: element.v });
            }
            step_time += step;
        }
        Ok(RangeArgument { series, start, end, range_ms })
    }

    fn pinned(&self, at: Option<&promql_parser::parser::AtModifier>, t: i64) -> i64 {
        at_ms(at, self.query_start, self.query_end).unwrap_or(t)
    }
}

/// The samples of `series` in `(start, end]` without stale markers; series left with none are dropped.
fn window_of(series: &[Series], start: i64, end: i64) -> Vec<Series> {
    series
        .iter()
        .filter_map(|series| {
            let from = series.samples.partition_point(|sample| sample.t <= start);
            let to = series.samples.partition_point(|sample| sample.t <= end);
            let samples: Vec<Sample> = series.samples[from..to]
                .iter()
                .filter(|sample| !is_stale_marker(sample.v))
                .copied()
                .collect();
            (!samples.is_empty()).then(|| Series { labels: series.labels.clone(), samples })
        })
        .collect()
}

/// [`window_of`] for series read once: they are filtered in place.
fn into_window(mut series: Vec<Series>, start: i64, end: i64) -> Vec<Series> {
    series.retain_mut(|series| {
        series
            .samples
            .retain(|sample| sample.t > start && sample.t <= end && !is_stale_marker(sample.v));
        !series.samples.is_empty()
    });
    series
}

/// Finds the selector node with address `id` in `expr`.
fn find_selector(expr: &Expr, id: SelectorId) -> Option<&VectorSelector> {
    match expr {
        Expr::VectorSelector(selector) => std::ptr::eq(selector, id).then_some(selector),
        Expr::MatrixSelector(matrix) => std::ptr::eq(&matrix.vs, id).then_some(&matrix.vs),
        Expr::Subquery(subquery) => find_selector(&subquery.expr, id),
        Expr::Aggregate(aggregate) => find_selector(&aggregate.expr, id)
            .or_else(|| aggregate.param.as_deref().and_then(|param| find_selector(param, id))),
        Expr::Unary(unary) => find_selector(&unary.expr, id),
        Expr::Binary(binary) => {
            find_selector(&binary.lhs, id).or_else(|| find_selector(&binary.rhs, id))
        }
        Expr::Paren(paren) => find_selector(&paren.expr, id),
        Expr::Call(call) => call.args.args.iter().find_map(|arg| find_selector(arg, id)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => None,
    }
}

/// The type of value `expr` produces, by Prometheus's names.
pub(super) fn result_type(expr: &Expr) -> &'static str {
    match expr.value_type() {
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
        ValueType::Vector => "vector",
        ValueType::Matrix => "matrix",
    }
}

fn type_error(expected: &str, got: &Evaluated) -> QueryError {
    let got = match got {
        Evaluated::Scalar(_) => "scalar",
        Evaluated::String(_) => "string",
        Evaluated::Vector(_) => "instant vector",
        Evaluated::Matrix(_) => "range vector",
    };
    QueryError::Execution(format!("expected type {expected}, got {got}"))
}
