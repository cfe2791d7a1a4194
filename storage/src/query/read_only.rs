//! Read-only enforcement: a planned statement may only read. DDL (`CREATE EXTERNAL TABLE`, `DROP`…), DML
//! (`INSERT`, `COPY … TO`) and session statements (`SET`, `PREPARE`…) are refused before anything runs, at
//! any depth of the plan (`EXPLAIN ANALYZE INSERT …` included). Planning such a statement has no effect;
//! only executing it would.

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement};

/// Why `plan` may not run, or `None` when it only reads.
pub(crate) fn refusal(plan: &LogicalPlan) -> Option<String> {
    let mut kind = None;
    // The closure never fails; the visit's own error cannot happen.
    let _ = plan.apply_with_subqueries(|node| {
        kind = statement_kind(node);
        Ok(if kind.is_some() { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    if let Some(kind) = kind {
        return Some(format!("only SELECT queries are allowed (got {kind})"));
    }
    // DataFusion's own check, as a second guard for plan nodes added in later versions.
    let options =
        SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    options
        .verify_plan(plan)
        .err()
        .map(|e| format!("only SELECT queries are allowed ({})", e.strip_backtrace()))
}

/// The SQL name of a node that writes or changes the session.
fn statement_kind(node: &LogicalPlan) -> Option<String> {
    let kind = match node {
        LogicalPlan::Ddl(ddl) => match ddl {
            DdlStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE",
            DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
            DdlStatement::CreateView(_) => "CREATE VIEW",
            DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
            DdlStatement::CreateCatalog(_) => "CREATE DATABASE",
            DdlStatement::CreateIndex(_) => "CREATE INDEX",
            DdlStatement::DropTable(_) => "DROP TABLE",
            DdlStatement::DropView(_) => "DROP VIEW",
            DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
            DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
            DdlStatement::DropFunction(_) => "DROP FUNCTION",
        },
        LogicalPlan::Dml(dml) => return Some(dml.op.name().to_uppercase()),
        LogicalPlan::Copy(_) => "COPY",
        LogicalPlan::Statement(statement) => match statement {
            Statement::SetVariable(_) => "SET",
            Statement::ResetVariable(_) => "RESET",
            Statement::TransactionStart(_) | Statement::TransactionEnd(_) => {
                "a transaction statement"
            }
            Statement::Prepare(_) => "PREPARE",
            Statement::Execute(_) => "EXECUTE",
            Statement::Deallocate(_) => "DEALLOCATE",
        },
        _ => return None,
    };
    Some(kind.to_string())
}
