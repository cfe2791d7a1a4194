//! Time pruning: the bounds that a scan's filters put on the table's time column, and whether a file's
//! `[min_time_ns, max_time_ns]` can hold a matching row. Only simple conjuncts are understood
//! (`col >= lit`, `lit < col`, `col BETWEEN a AND b`, `col = lit`); everything else leaves the range open,
//! which is always safe because DataFusion still applies every filter to the rows.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

use crate::catalog::DataFile;

/// An inclusive range of Unix nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub min_ns: i64,
    pub max_ns: i64,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange { min_ns: i64::MIN, max_ns: i64::MAX };

    /// The range allowed by all of `filters` (which DataFusion ANDs together) on `column`.
    pub fn from_filters(column: &str, filters: &[Expr]) -> TimeRange {
        let mut range = TimeRange::ALL;
        for filter in filters {
            range.narrow(column, filter);
        }
        range
    }

    pub fn overlaps(&self, file: &DataFile) -> bool {
        file.max_time_ns >= self.min_ns && file.min_time_ns <= self.max_ns
    }

    fn narrow(&mut self, column: &str, expr: &Expr) {
        match expr {
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, right }) => {
                self.narrow(column, left);
                self.narrow(column, right);
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                if is_column(column, left)
                    && let Some(value) = timestamp_ns(right)
                {
                    self.apply(*op, value);
                } else if is_column(column, right)
                    && let Some(value) = timestamp_ns(left)
                    && let Some(op) = op.swap()
                {
                    self.apply(op, value);
                }
            }
            Expr::Between(Between { expr, negated: false, low, high })
                if is_column(column, expr) =>
            {
                if let Some(low) = timestamp_ns(low) {
                    self.apply(Operator::GtEq, low);
                }
                if let Some(high) = timestamp_ns(high) {
                    self.apply(Operator::LtEq, high);
                }
            }
            _ => {}
        }
    }

    /// Narrows the range by `column <op> value`.
    fn apply(&mut self, op: Operator, value: i64) {
        match op {
            Operator::Eq => {
                self.min_ns = self.min_ns.max(value);
                self.max_ns = self.max_ns.min(value);
            }
            Operator::Gt => self.min_ns = self.min_ns.max(value.saturating_add(1)),
            Operator::GtEq => self.min_ns = self.min_ns.max(value),
            Operator::Lt => self.max_ns = self.max_ns.min(value.saturating_sub(1)),
            Operator::LtEq => self.max_ns = self.max_ns.min(value),
            _ => {}
        }
    }
}

/// `column` itself, or a cast of it to another nanosecond timestamp type (which keeps the instant; a cast
/// to a coarser unit would truncate, so bounds on it say nothing exact about the column).
fn is_column(column: &str, expr: &Expr) -> bool {
    match expr {
        Expr::Column(c) => c.name == column,
        Expr::Cast(cast) => {
            matches!(cast.field.data_type(), DataType::Timestamp(TimeUnit::Nanosecond, _))
                && is_column(column, &cast.expr)
        }
        _ => false,
    }
}

/// A literal timestamp, in Unix nanoseconds.
fn timestamp_ns(expr: &Expr) -> Option<i64> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    match value {
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000_000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};

    use super::*;

    fn ts(ns: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(Some(ns), Some("UTC".into())))
    }

    fn file(min: i64, max: i64) -> DataFile {
        DataFile {
            path: String::new(),
            size_bytes: 0,
            lsn: 0,
            min_time_ns: min,
            max_time_ns: max,
            replaces: Vec::new(),
            body_references: false,
        }
    }

    #[test]
    fn comparisons_on_either_side_narrow_the_range() {
        let filters = [col("timestamp").gt_eq(ts(100)), ts(200).gt(col("timestamp"))];
        let range = TimeRange::from_filters("timestamp", &filters);
        assert_eq!(range, TimeRange { min_ns: 100, max_ns: 199 });
    }

    #[test]
    fn between_and_equality_narrow_the_range() {
        let between = col("start_time").between(ts(10), ts(20));
        let range = TimeRange::from_filters("start_time", &[between]);
        assert_eq!(range, TimeRange { min_ns: 10, max_ns: 20 });
        let range = TimeRange::from_filters("start_time", &[col("start_time").eq(ts(15))]);
        assert_eq!(range, TimeRange { min_ns: 15, max_ns: 15 });
    }

    #[test]
    fn other_columns_disjunctions_and_non_literals_leave_the_range_open() {
        let filters = [
            col("observed_timestamp").gt(ts(100)),
            col("timestamp").gt(ts(100)).or(col("timestamp").lt(ts(5))),
            col("timestamp").gt(col("observed_timestamp")),
            col("timestamp").not_between(ts(1), ts(2)),
        ];
        assert_eq!(TimeRange::from_filters("timestamp", &filters), TimeRange::ALL);
    }

    #[test]
    fn files_overlap_when_any_instant_is_shared() {
        let range = TimeRange { min_ns: 100, max_ns: 200 };
        assert!(range.overlaps(&file(50, 100)));
        assert!(range.overlaps(&file(200, 300)));
        assert!(range.overlaps(&file(0, 1000)));
        assert!(!range.overlaps(&file(0, 99)));
        assert!(!range.overlaps(&file(201, 300)));
    }
}
