//! Output control for the `aggregate` usage method (SBX-6): only grouped aggregates leave a
//! production query, and only groups with at least `k` distinct privacy units behind them.
//!
//! [`apply_aggregate_control`] rewrites a checked logical plan (never the SQL text):
//!
//! 1. **The output must be grouped aggregates.** Below any number of `Projection`, `Sort`,
//!    `Limit`, `Filter` (`HAVING`), `Distinct` and `SubqueryAlias` nodes the plan must reach one
//!    `Aggregate`; anything else returns rows and is refused. Those nodes above the aggregate may
//!    not hold subqueries (a scalar subquery in the select list would bring rows past the
//!    control). The aggregate functions must be `count`, `sum` or `avg`: `min`, `max` and
//!    `stddev` can reveal one person's value and are refused in v1 (a per-column "safe" flag is
//!    left to the column controls).
//! 2. **Privacy units flow to the aggregate.** v1 accepts aggregates whose input is built only from
//!    table scans, `WHERE` filters, joins and table aliases, so every scanned table's privacy-unit
//!    column ([`AggregateControl::units`]) is present in the aggregate's input. An input containing a
//!    projection, an aggregate, a union, a `LIMIT` … (a derived table, a CTE, a view) is refused:
//!    it may have projected the unit away, and counting persons through it is not attempted.
//!    A table without a declared privacy unit is refused (deny by default).
//! 3. **Hidden counts, suppression, and the original schema.** The aggregate gets, per scanned
//!    table occurrence, a hidden `count(DISTINCT unit)` and one hidden `count(1)` of rows. Right
//!    above it a filter keeps a group only if **every** table's distinct-unit count is at least
//!    `k`, and a projection removes the hidden columns, restoring the aggregate's own schema. The
//!    nodes above (`HAVING`, `ORDER BY`, `LIMIT`, the final projection) are unchanged and so see
//!    only groups that passed. A global aggregate (no `GROUP BY`) is one group and is suppressed
//!    the same way.
//!
//! **Joins.** Each table occurrence is its own population: a group passes only if it has at
//! least `k` distinct units of each joined table. Counting distinct tuples of units instead would
//! let one person joined to many enterprises pass as many; requiring each population to reach
//! `k` is the conservative rule and needs no notion of "the same kind" of unit.
//!
//! A second plan ([`ControlledPlan::suppressed`]) counts the suppressed groups and the rows behind
//! them, so the answer can say what was withheld. [`apply_aggregate_control`] never executes
//! anything and never looks at a data value.
//!
//! **One pass.** [`crate::SandboxSession::execute_aggregate`] does not run those two plans: it
//! runs the aggregate with its hidden counts once (result rows capped by
//! [`crate::Limits::max_scanned_rows`]), splits the groups in Rust into passed and suppressed
//! ([`split`], the same rule as the filter above), and runs the nodes above the aggregate over the
//! passed groups as a `VALUES` relation with the aggregate's schema ([`relation`], the mechanism
//! differential privacy uses too). The suppressed groups' values never leave this module: only
//! their number and the rows behind them are kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef, DataFusionError, ScalarValue, TableReference};
use datafusion::functions_aggregate::expr_fn::{count, count_distinct, sum};
use datafusion::logical_expr::{
    Aggregate, EmptyRelation, Expr, Filter, LogicalPlan, LogicalPlanBuilder, Projection, Values,
    lit, not,
};

use crate::error::SandboxError;

/// Prefix of the hidden columns; never part of an output schema.
const HIDDEN: &str = "__shuyu_output_control";

/// The aggregate functions the `aggregate` usage method allows.
pub const ALLOWED_AGGREGATES: &[&str] = &["count", "sum", "avg"];

/// The output control of one grant whose usage method is `aggregate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateControl {
    /// The grant's minimum group size, in distinct privacy units (a `k` of 0 or 1 suppresses only
    /// groups with no unit at all).
    pub k: u64,
    /// The privacy-unit column (a person's or an enterprise's identifier) of each session table,
    /// by table name. A scanned table missing here is refused. The column must be one of the
    /// table's exposed columns; whether it may be *output* is the column control's business.
    pub units: BTreeMap<String, String>,
    /// Per table, when known: the most rows any one privacy unit has in it, every row having a
    /// unit (none missing). An aggregate over that table alone then needs no person count for a
    /// large group: a group of `n` rows has at least ⌈n / m⌉ distinct units, so `n ≥ k·m` proves
    /// it passes without reading the unit column (see [`crate::SandboxSession::execute_aggregate`]).
    pub rows_per_unit: BTreeMap<String, u64>,
}

/// What output control withheld from a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Suppression {
    /// Groups below the minimum group size, removed from the result.
    pub groups: u64,
    /// Rows of the scanned data behind those groups.
    pub rows: u64,
}

/// A plan rewritten by [`apply_aggregate_control`].
#[derive(Debug, Clone)]
pub struct ControlledPlan {
    /// The query with suppression applied; its schema is the original plan's.
    pub plan: LogicalPlan,
    /// A one-row plan counting the suppressed groups (`groups`, Int64) and the rows behind them
    /// (`rows`, Int64, null when no group is suppressed).
    pub suppressed: LogicalPlan,
}

/// Rewrites `plan` so that only groups of at least `controls.k` distinct privacy units remain.
/// See the module docs for what is accepted.
///
/// # Errors
/// [`SandboxError::OutputNotAllowed`] when the output is not grouped aggregates, uses an
/// aggregate function outside [`ALLOWED_AGGREGATES`], or the privacy units cannot be counted;
/// [`SandboxError::InvalidQuery`] if DataFusion rejects the rewritten plan.
pub fn apply_aggregate_control(
    plan: &LogicalPlan,
    controls: &AggregateControl,
) -> Result<ControlledPlan, SandboxError> {
    let aggregate = top_aggregate(plan)?;
    check_functions(aggregate)?;
    let units = unit_columns(&aggregate.input, controls)?;
    let counted = with_hidden_counts(aggregate, &units)?;
    let passes = passes(units.len(), controls.k);
    let kept = restore_schema(aggregate, filter(counted.clone(), passes.clone())?)?;
    let plan = replace_aggregate(plan.clone(), &kept).map_err(invalid)?;
    let suppressed = LogicalPlanBuilder::from(filter(counted, not(passes))?)
        .aggregate(
            Vec::<Expr>::new(),
            vec![
                count(lit(1_i64)).alias("groups"),
                sum(Expr::Column(Column::from_name(rows_column()))).alias("rows"),
            ],
        )
        .and_then(LogicalPlanBuilder::build)
        .map_err(invalid)?;
    Ok(ControlledPlan { plan, suppressed })
}

/// How the persons behind each group are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persons {
    /// One hidden `count(DISTINCT unit)` per scanned table occurrence (this many).
    Distinct(usize),
    /// One table whose units have at most this many rows each, none missing: the hidden row
    /// count bounds the persons from below, and the unit column is not read.
    Bounded(u64),
}

/// The top aggregate of a plan with its hidden counts, for the one-pass execution.
pub(crate) struct Counted<'a> {
    /// The original aggregate (its schema is the relation's).
    pub(crate) aggregate: &'a Aggregate,
    /// The aggregate with its hidden counts: the persons (as [`Counted::persons`] says) and the
    /// rows.
    pub(crate) plan: LogicalPlan,
    pub(crate) persons: Persons,
}

/// The aggregate of `plan` with its hidden counts (the checks of [`apply_aggregate_control`]).
/// With `bounded`, a single-table aggregate whose table has a known
/// [`AggregateControl::rows_per_unit`] counts rows only ([`Persons::Bounded`]).
pub(crate) fn counted<'a>(
    plan: &'a LogicalPlan,
    controls: &AggregateControl,
    bounded: bool,
) -> Result<Counted<'a>, SandboxError> {
    let aggregate = top_aggregate(plan)?;
    check_functions(aggregate)?;
    let units = unit_columns(&aggregate.input, controls)?;
    let bound = match (bounded, units.as_slice()) {
        // One unit means one table scanned: no join can repeat a person's rows.
        (true, [_]) => single_table(&aggregate.input)
            .and_then(|table| controls.rows_per_unit.get(table))
            .filter(|m| **m > 0),
        _ => None,
    };
    match bound {
        Some(m) => Ok(Counted {
            aggregate,
            plan: with_hidden_counts(aggregate, &[])?,
            persons: Persons::Bounded(*m),
        }),
        None => Ok(Counted {
            aggregate,
            plan: with_hidden_counts(aggregate, &units)?,
            persons: Persons::Distinct(units.len()),
        }),
    }
}

/// The table an aggregate input of filters and aliases over one scan reads.
fn single_table(input: &LogicalPlan) -> Option<&str> {
    match input {
        LogicalPlan::TableScan(scan) => Some(scan.table_name.table()),
        LogicalPlan::Filter(f) => single_table(&f.input),
        LogicalPlan::SubqueryAlias(a) => single_table(&a.input),
        _ => None,
    }
}

fn internal(what: &str) -> SandboxError {
    SandboxError::InvalidQuery {
        message: format!("internal: the output control {what}"),
    }
}

/// The hidden count `name` of every row of `batch`.
fn hidden_counts<'b>(
    batch: &'b RecordBatch,
    name: &str,
) -> Result<&'b arrow_array::Int64Array, SandboxError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| internal("lost a hidden count"))
}

/// The passed groups (the original aggregate's columns, as values) and what was suppressed.
pub(crate) type Split = (Vec<Vec<ScalarValue>>, Suppression);

/// Splits the rows of [`Counted::plan`] into the passed groups and what was suppressed: a group
/// passes when each table's distinct-unit count reaches `k`. With [`Persons::Bounded`] a group
/// passes when its rows prove `k` persons; `None` when some group's rows prove too few (it may
/// still have `k` persons: the caller counts them exactly).
pub(crate) fn split(
    counted: &Counted<'_>,
    batches: &[RecordBatch],
    k: u64,
) -> Result<Option<Split>, SandboxError> {
    let width = counted.aggregate.schema.fields().len();
    let tables = match counted.persons {
        Persons::Distinct(tables) => tables,
        Persons::Bounded(_) => 0,
    };
    // Bounded: n rows hold at least ⌈n / m⌉ persons, so n ≥ k·m proves k of them.
    let enough_rows = match counted.persons {
        Persons::Bounded(m) => Some(i64::try_from(k.saturating_mul(m)).unwrap_or(i64::MAX)),
        Persons::Distinct(_) => None,
    };
    let k = i64::try_from(k).unwrap_or(i64::MAX);
    let mut passed = Vec::new();
    let mut suppression = Suppression::default();
    for batch in batches {
        let units = (0..tables)
            .map(|i| hidden_counts(batch, &units_column(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = hidden_counts(batch, &rows_column())?;
        for row in 0..batch.num_rows() {
            let passes = match enough_rows {
                Some(enough) => {
                    if rows.is_null(row) || rows.value(row) < enough {
                        return Ok(None);
                    }
                    true
                }
                None => tables > 0 && units.iter().all(|u| !u.is_null(row) && u.value(row) >= k),
            };
            if passes {
                let values = batch
                    .columns()
                    .iter()
                    .take(width)
                    .map(|c| ScalarValue::try_from_array(c, row))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| internal("cannot read a group"))?;
                passed.push(values);
            } else {
                suppression.groups += 1;
                suppression.rows += u64::try_from(rows.value(row)).unwrap_or(0);
            }
        }
    }
    Ok(Some((passed, suppression)))
}

/// An in-memory relation with `schema` holding `rows` (each value cast to its column's type):
/// what replaces an aggregate so the nodes above it run over chosen groups only.
pub(crate) fn relation(
    schema: DFSchemaRef,
    rows: Vec<Vec<ScalarValue>>,
) -> Result<LogicalPlan, SandboxError> {
    if rows.is_empty() {
        return Ok(LogicalPlan::EmptyRelation(EmptyRelation {
            produce_one_row: false,
            schema,
        }));
    }
    let mut values = Vec::with_capacity(rows.len());
    for row in rows {
        if row.len() != schema.fields().len() {
            return Err(internal("built a row of the wrong width"));
        }
        let row = row
            .into_iter()
            .zip(schema.fields().iter())
            .map(|(v, f)| {
                if v.data_type() == *f.data_type() {
                    Ok(lit(v))
                } else {
                    v.cast_to(f.data_type())
                        .map(lit)
                        .map_err(|_| internal("cannot give a value its column's type"))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        values.push(row);
    }
    Ok(LogicalPlan::Values(Values { schema, values }))
}

pub(crate) fn invalid(e: DataFusionError) -> SandboxError {
    SandboxError::InvalidQuery {
        message: e.strip_backtrace(),
    }
}

pub(crate) fn refuse(reason: impl Into<String>) -> SandboxError {
    SandboxError::OutputNotAllowed {
        reason: reason.into(),
    }
}

fn row_level() -> SandboxError {
    refuse(
        "in production this grant allows only aggregated results: use GROUP BY with \
         COUNT/SUM/AVG (the query returns individual rows)",
    )
}

/// The aggregate at the top of `plan`, through the nodes that only filter, order or rename it.
pub(crate) fn top_aggregate(plan: &LogicalPlan) -> Result<&Aggregate, SandboxError> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Ok(aggregate),
        LogicalPlan::Projection(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::SubqueryAlias(_) => {
            if has_subquery(plan) {
                return Err(refuse(
                    "in production a subquery cannot be used outside the aggregated FROM/WHERE \
                     part of the query: compute it as its own aggregate query",
                ));
            }
            match plan.inputs().as_slice() {
                [input] => top_aggregate(input),
                _ => Err(row_level()),
            }
        }
        _ => Err(row_level()),
    }
}

pub(crate) fn has_subquery(node: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = node.apply_expressions(|expr| {
        expr.apply(|e| {
            if matches!(
                e,
                Expr::ScalarSubquery(_)
                    | Expr::Exists(_)
                    | Expr::InSubquery(_)
                    | Expr::SetComparison(_)
            ) {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })
    });
    found
}

/// Every aggregate call must be one of [`ALLOWED_AGGREGATES`].
pub(crate) fn check_functions(aggregate: &Aggregate) -> Result<(), SandboxError> {
    for expr in &aggregate.aggr_expr {
        let mut refused: Option<String> = None;
        let _ = expr.apply(|e| {
            if let Expr::AggregateFunction(f) = e
                && !ALLOWED_AGGREGATES.contains(&f.func.name())
            {
                refused = Some(f.func.name().to_owned());
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        if let Some(name) = refused {
            return Err(refuse(format!(
                "in production this grant allows only the aggregates COUNT, SUM and AVG: \
                 `{name}` can reveal a single person's value"
            )));
        }
    }
    Ok(())
}

/// The privacy-unit column of every table scanned under the aggregate, as named in its input.
fn unit_columns(
    input: &LogicalPlan,
    controls: &AggregateControl,
) -> Result<Vec<Column>, SandboxError> {
    let mut units = Vec::new();
    collect_units(input, None, controls, &mut units)?;
    for unit in &units {
        if !input.schema().has_column(unit) {
            return Err(cannot_count(&unit.name));
        }
    }
    Ok(units)
}

fn cannot_count(unit: &str) -> SandboxError {
    refuse(format!(
        "cannot count the persons behind each group: keep the privacy-unit column `{unit}` in \
         the FROM tables (aggregate directly over the granted tables with FROM, JOIN and WHERE, \
         not over a subquery, a CTE or a view that drops it)"
    ))
}

fn collect_units(
    node: &LogicalPlan,
    alias: Option<&TableReference>,
    controls: &AggregateControl,
    out: &mut Vec<Column>,
) -> Result<(), SandboxError> {
    match node {
        LogicalPlan::TableScan(scan) => {
            let table = scan.table_name.table();
            let unit = controls.units.get(table).ok_or_else(|| {
                refuse(format!(
                    "table `{table}` has no privacy unit declared for this grant, so its groups \
                     cannot be counted in persons; the operator must declare it"
                ))
            })?;
            let qualifier = alias.unwrap_or(&scan.table_name).clone();
            out.push(Column::new(Some(qualifier), unit.clone()));
            Ok(())
        }
        LogicalPlan::Filter(f) => collect_units(&f.input, alias, controls, out),
        LogicalPlan::SubqueryAlias(a) => collect_units(&a.input, Some(&a.alias), controls, out),
        LogicalPlan::Join(j) => {
            collect_units(&j.left, None, controls, out)?;
            collect_units(&j.right, None, controls, out)
        }
        _ => Err(cannot_count(&units_below(node, controls))),
    }
}

/// The privacy-unit names of the tables scanned under `node`, for a message.
fn units_below(node: &LogicalPlan, controls: &AggregateControl) -> String {
    let mut names: Vec<&str> = Vec::new();
    let _ = node.apply(|n| {
        if let LogicalPlan::TableScan(scan) = n
            && let Some(unit) = controls.units.get(scan.table_name.table())
            && !names.contains(&unit.as_str())
        {
            names.push(unit);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if names.is_empty() {
        "the privacy unit".to_owned()
    } else {
        names.join("`, `")
    }
}

fn units_column(i: usize) -> String {
    format!("{HIDDEN}_units_{i}")
}

fn rows_column() -> String {
    format!("{HIDDEN}_rows")
}

/// The aggregate with one hidden distinct-unit count per table and one hidden row count.
fn with_hidden_counts(
    aggregate: &Aggregate,
    units: &[Column],
) -> Result<LogicalPlan, SandboxError> {
    let mut aggr_expr = aggregate.aggr_expr.clone();
    for (i, unit) in units.iter().enumerate() {
        aggr_expr.push(count_distinct(Expr::Column(unit.clone())).alias(units_column(i)));
    }
    aggr_expr.push(count(lit(1_i64)).alias(rows_column()));
    Aggregate::try_new(
        Arc::clone(&aggregate.input),
        aggregate.group_expr.clone(),
        aggr_expr,
    )
    .map(LogicalPlan::Aggregate)
    .map_err(invalid)
}

/// A group passes when each table's distinct-unit count reaches `k`.
fn passes(tables: usize, k: u64) -> Expr {
    let k = i64::try_from(k).unwrap_or(i64::MAX);
    (0..tables)
        .map(|i| Expr::Column(Column::from_name(units_column(i))).gt_eq(lit(k)))
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(false))
}

fn filter(input: LogicalPlan, predicate: Expr) -> Result<LogicalPlan, SandboxError> {
    Filter::try_new(predicate, Arc::new(input))
        .map(LogicalPlan::Filter)
        .map_err(invalid)
}

/// Projects `input` back onto the original aggregate's schema (dropping the hidden columns).
fn restore_schema(original: &Aggregate, input: LogicalPlan) -> Result<LogicalPlan, SandboxError> {
    let columns = original
        .schema
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    Projection::try_new_with_schema(columns, Arc::new(input), Arc::clone(&original.schema))
        .map(LogicalPlan::Projection)
        .map_err(invalid)
}

/// `plan` with its top aggregate replaced by `controlled` (same schema, so the nodes above keep
/// theirs).
pub(crate) fn replace_aggregate(
    plan: LogicalPlan,
    controlled: &LogicalPlan,
) -> Result<LogicalPlan, DataFusionError> {
    if matches!(plan, LogicalPlan::Aggregate(_)) {
        return Ok(controlled.clone());
    }
    plan.map_children(|child| replace_aggregate(child, controlled).map(Transformed::yes))
        .map(|t| t.data)
}
