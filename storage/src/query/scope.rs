//! Queries limited to some services. A [`ServiceScope`] is a set of globs on `service_name`; a query run in a
//! scope sees each store table through a [`ScopedTable`], which reads the table and keeps only the rows of
//! those services. The filter sits in the table provider, under every way SQL can reach a table (joins, unions,
//! subqueries, common table expressions): whatever the statement says, the rows it reads are already filtered.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::TableType;
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};

/// The column every store table names its service in.
const SERVICE_COLUMN: &str = "service_name";

/// Which services' rows a query may read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ServiceScope {
    /// Every service's.
    #[default]
    All,
    /// Those whose `service_name` matches one of these globs (`*` any run of characters, `?` one character).
    /// No glob: no rows at all.
    Only(Vec<String>),
}

impl ServiceScope {
    /// Whether rows of `service` are in this scope: the same test as the SQL filter's, for data read
    /// elsewhere (PromQL's recent samples).
    pub fn allows(&self, service: &str) -> bool {
        match self {
            ServiceScope::All => true,
            ServiceScope::Only(globs) => globs.iter().any(|glob| glob_matches(glob, service)),
        }
    }

    /// The filter of this scope: `None` for every service.
    pub(crate) fn predicate(&self) -> Option<Expr> {
        let ServiceScope::Only(globs) = self else { return None };
        let matches = globs.iter().map(|glob| {
            Expr::Like(Like {
                negated: false,
                expr: Box::new(col(SERVICE_COLUMN)),
                pattern: Box::new(lit(like_pattern(glob))),
                escape_char: Some('\\'),
                case_insensitive: false,
            })
        });
        Some(matches.reduce(Expr::or).unwrap_or(lit(false)))
    }
}

/// Whether `glob` (`*` any run of characters, `?` one character) matches the whole of `text`.
fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // The classic two-pointer match: on a mismatch, let the last `*` take one more character.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    star = Some((star_g, star_t + 1));
                    g = star_g + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}

/// A glob as a SQL `LIKE` pattern with `\` as the escape character.
fn like_pattern(glob: &str) -> String {
    let mut pattern = String::with_capacity(glob.len() + 4);
    for c in glob.chars() {
        match c {
            '*' => pattern.push('%'),
            '?' => pattern.push('_'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c => pattern.push(c),
        }
    }
    pattern
}

/// A store table seen through a scope: every scan keeps only the rows `predicate` accepts.
#[derive(Debug)]
pub(crate) struct ScopedTable {
    inner: Arc<dyn TableProvider>,
    predicate: Expr,
}

impl ScopedTable {
    pub(crate) fn new(inner: Arc<dyn TableProvider>, predicate: Expr) -> Self {
        Self { inner, predicate }
    }
}

#[async_trait]
impl TableProvider for ScopedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    // No `statistics`: row counts of the whole table would answer `count(*)` for every service.

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.inner.schema();
        let service = schema.index_of(SERVICE_COLUMN)?;
        // Read the columns asked for, and the service's, which the filter needs.
        let wanted: Vec<usize> =
            projection.cloned().unwrap_or_else(|| (0..schema.fields().len()).collect());
        let mut read = wanted.clone();
        if !read.contains(&service) {
            read.push(service);
        }
        // The scope's filter goes down too, so that files of other services are pruned unread.
        let mut pushed = filters.to_vec();
        pushed.push(self.predicate.clone());
        let scan = self.inner.scan(state, Some(&read), &pushed, None).await?;
        let scanned = DFSchema::try_from(scan.schema())?;
        let predicate = state.create_physical_expr(self.predicate.clone(), &scanned)?;
        let filtered: Arc<dyn ExecutionPlan> =
            Arc::new(FilterExecBuilder::new(predicate, scan).with_fetch(limit).build()?);
        if read.len() == wanted.len() {
            return Ok(filtered);
        }
        // Without the service column that only the filter needed.
        let output = filtered.schema();
        let columns: Vec<(Arc<dyn PhysicalExpr>, String)> = (0..wanted.len())
            .map(|i| {
                let name = output.field(i).name().clone();
                (Arc::new(Column::new(&name, i)) as Arc<dyn PhysicalExpr>, name)
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(columns, filtered)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        let scope =
            |globs: &[&str]| ServiceScope::Only(globs.iter().map(|g| (*g).to_owned()).collect());
        for (globs, service, expected) in [
            (&["checkout"][..], "checkout", true),
            (&["checkout"], "checkout-eu", false),
            (&["check*"], "checkout", true),
            (&["c*t"], "cart", true),
            (&["c*t"], "carts", false),
            (&["*-eu"], "checkout-eu", true),
            (&["pay?"], "pays", true),
            (&["pay?"], "pay", false),
            (&["a*b*c"], "aXbYbZc", true),
            (&["payments_x"], "paymentsAx", false),
            (&[], "checkout", false),
        ] {
            assert_eq!(scope(globs).allows(service), expected, "{globs:?} {service}");
        }
        assert!(ServiceScope::All.allows("anything"));
    }

    #[test]
    fn globs_become_like_patterns_with_sql_wildcards_escaped() {
        assert_eq!(like_pattern("checkout-*"), "checkout-%");
        assert_eq!(like_pattern("api-?"), "api-_");
        assert_eq!(like_pattern("100%_sure\\"), "100\\%\\_sure\\\\");
    }
}
