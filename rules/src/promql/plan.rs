//! Before evaluating, work out which samples each selector will read over the whole query, so that every
//! selector fetches its series once, not once per step.

use std::collections::HashMap;
use std::time::Duration;

use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

/// A selector node, identified by its address in the expression being evaluated.
pub(super) type SelectorId = *const VectorSelector;

/// The samples a selector needs: those in `(start, end]`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub start: i64,
    pub end: i64,
}

impl Window {
    fn union(self, other: Window) -> Window {
        Window { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// The times an expression is evaluated at: every step from `first` to `last`, and the query's own bounds
/// (which `@ start()` and `@ end()` name).
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub first: i64,
    pub last: i64,
}

pub(super) struct Planner {
    pub lookback_ms: i64,
    pub query_start: i64,
    pub query_end: i64,
    pub windows: HashMap<SelectorId, Window>,
    /// Whether the expression has a subquery (whose selectors are read at many times).
    pub has_subquery: bool,
}

impl Planner {
    pub fn visit(&mut self, expr: &Expr, span: Span) {
        match expr {
            Expr::VectorSelector(selector) => self.selector(selector, span, self.lookback_ms),
            Expr::MatrixSelector(matrix) => {
                self.selector(&matrix.vs, span, millis(matrix.range));
            }
            Expr::Subquery(subquery) => {
                self.has_subquery = true;
                let span = self.pinned(subquery.at.as_ref(), span);
                let offset = offset_ms(subquery.offset.as_ref());
                let range = millis(subquery.range);
                self.visit(
                    &subquery.expr,
                    Span { first: span.first - offset - range, last: span.last - offset },
                );
            }
            Expr::Aggregate(aggregate) => {
                self.visit(&aggregate.expr, span);
                if let Some(param) = &aggregate.param {
                    self.visit(param, span);
                }
            }
            Expr::Unary(unary) => self.visit(&unary.expr, span),
            Expr::Binary(binary) => {
                self.visit(&binary.lhs, span);
                self.visit(&binary.rhs, span);
            }
            Expr::Paren(paren) => self.visit(&paren.expr, span),
            Expr::Call(call) => {
                for arg in &call.args.args {
                    self.visit(arg, span);
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }

    fn selector(&mut self, selector: &VectorSelector, span: Span, reach_ms: i64) {
        let span = self.pinned(selector.at.as_ref(), span);
        let offset = offset_ms(selector.offset.as_ref());
        let window = Window { start: span.first - offset - reach_ms, end: span.last - offset };
        self.windows
            .entry(selector as SelectorId)
            .and_modify(|known| *known = known.union(window))
            .or_insert(window);
    }

    /// The span an `@` modifier pins evaluation to, or `span` itself.
    fn pinned(&self, at: Option<&AtModifier>, span: Span) -> Span {
        match at_ms(at, self.query_start, self.query_end) {
            Some(t) => Span { first: t, last: t },
            None => span,
        }
    }
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// An `offset` in milliseconds; negative offsets look forward.
pub(super) fn offset_ms(offset: Option<&Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(duration)) => millis(*duration),
        Some(Offset::Neg(duration)) => -millis(*duration),
    }
}

/// The time an `@` modifier pins to, in milliseconds.
pub(super) fn at_ms(at: Option<&AtModifier>, query_start: i64, query_end: i64) -> Option<i64> {
    match at? {
        AtModifier::Start => Some(query_start),
        AtModifier::End => Some(query_end),
        AtModifier::At(time) => Some(match time.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => millis(after),
            Err(before) => -millis(before.duration()),
        }),
    }
}
