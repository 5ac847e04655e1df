//! The plan check: defence in depth over the logical plan, whatever produced it.
//!
//! The planner of a session already knows only the session's tables and allowed functions; this
//! walk refuses again, on the plan itself (subqueries included), every node kind a query of the
//! secure domain has no business containing, every scan of a table that is not the session's
//! own, and every function call outside the allow-list. [`crate::SandboxSession::execute`]
//! runs it again on the plan it is given, so a hand-built plan gets no further than SQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan};

use crate::error::{SandboxError, StatementKind};
use crate::functions::{AGGREGATE, Functions, SCALAR};

/// Checks `plan` against the session's `tables`.
///
/// # Errors
/// The first refusal found, as a [`SandboxError`].
pub fn check_plan(
    plan: &LogicalPlan,
    tables: &BTreeMap<String, Arc<dyn TableProvider>>,
) -> Result<(), SandboxError> {
    let mut refusal: Option<SandboxError> = None;
    let walked = plan.apply_with_subqueries(|node| {
        if let Err(e) = check_node(node, tables) {
            refusal = Some(e);
            return Ok(TreeNodeRecursion::Stop);
        }
        node.apply_expressions(|expr| {
            expr.apply(|e| match check_expr(e) {
                Ok(()) => Ok(TreeNodeRecursion::Continue),
                Err(err) => {
                    refusal = Some(err);
                    Ok(TreeNodeRecursion::Stop)
                }
            })
        })
    });
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    walked.map_err(|e| SandboxError::InvalidQuery {
        message: e.strip_backtrace(),
    })?;
    Ok(())
}

fn not_allowed(what: impl Into<String>) -> SandboxError {
    SandboxError::PlanNotAllowed { what: what.into() }
}

fn not_a_query(kind: StatementKind, statement: impl Into<String>) -> SandboxError {
    SandboxError::NotAQuery {
        kind,
        statement: statement.into(),
    }
}

fn check_node(
    node: &LogicalPlan,
    tables: &BTreeMap<String, Arc<dyn TableProvider>>,
) -> Result<(), SandboxError> {
    match node {
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Aggregate(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Join(_)
        | LogicalPlan::Union(_)
        | LogicalPlan::EmptyRelation(_)
        | LogicalPlan::Subquery(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Values(_)
        | LogicalPlan::Distinct(_) => Ok(()),
        LogicalPlan::TableScan(scan) => check_scan(&scan.table_name, scan.source.schema(), tables),
        LogicalPlan::Window(_) => Err(not_allowed("window functions (OVER)")),
        LogicalPlan::Repartition(_) => Err(not_allowed("an explicit repartitioning")),
        LogicalPlan::Unnest(_) => Err(not_allowed("UNNEST")),
        LogicalPlan::RecursiveQuery(_) => Err(not_allowed("a recursive query (WITH RECURSIVE)")),
        LogicalPlan::Extension(ext) => Err(not_allowed(format!(
            "the extension node `{}`",
            ext.node.name()
        ))),
        LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => {
            Err(not_a_query(StatementKind::Explain, "EXPLAIN"))
        }
        LogicalPlan::Ddl(ddl) => Err(not_a_query(StatementKind::Ddl, ddl.name())),
        LogicalPlan::Dml(dml) => Err(not_a_query(StatementKind::Dml, dml.op.to_string())),
        LogicalPlan::Copy(_) => Err(not_a_query(StatementKind::Dml, "COPY")),
        LogicalPlan::Statement(stmt) => Err(not_a_query(StatementKind::Statement, stmt.name())),
        LogicalPlan::DescribeTable(_) => Err(not_a_query(StatementKind::Statement, "DESCRIBE")),
    }
}

/// A scan must read one of the session's tables, by its bare name, with the session's schema.
fn check_scan(
    name: &TableReference,
    schema: arrow_schema::SchemaRef,
    tables: &BTreeMap<String, Arc<dyn TableProvider>>,
) -> Result<(), SandboxError> {
    let unknown = || SandboxError::UnknownTable {
        table: name.to_string(),
    };
    let TableReference::Bare { table } = name else {
        return Err(unknown());
    };
    let own = tables.get(table.as_ref()).ok_or_else(unknown)?;
    if own.schema() != schema {
        return Err(unknown());
    }
    Ok(())
}

fn check_expr(expr: &Expr) -> Result<(), SandboxError> {
    let unavailable = |name: &str| SandboxError::FunctionNotAvailable {
        function: name.to_owned(),
        available: Functions::listing(),
    };
    match expr {
        Expr::ScalarFunction(f) if !SCALAR.contains(&f.func.name()) => {
            Err(unavailable(f.func.name()))
        }
        Expr::AggregateFunction(f) if !AGGREGATE.contains(&f.func.name()) => {
            Err(unavailable(f.func.name()))
        }
        Expr::WindowFunction(_) => Err(not_allowed("window functions (OVER)")),
        Expr::HigherOrderFunction(_) | Expr::Lambda(_) | Expr::LambdaVariable(_) => {
            Err(not_allowed("lambda functions"))
        }
        Expr::ScalarVariable(..) => Err(not_allowed("session variables (@name)")),
        Expr::Placeholder(_) => Err(not_allowed("parameters ($1)")),
        Expr::Unnest(_) => Err(not_allowed("UNNEST")),
        Expr::GroupingSet(_) => Err(not_allowed("grouping sets (ROLLUP, CUBE, GROUPING SETS)")),
        Expr::SimilarTo(_) => Err(not_allowed("SIMILAR TO (regular expressions)")),
        _ => Ok(()),
    }
}
