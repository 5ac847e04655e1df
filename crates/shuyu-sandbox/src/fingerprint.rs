//! Plan fingerprints: the SM3 digest (hex, 64 characters) of a normalized logical plan and the
//! control parameters, the key under which the privacy ledger answers a repeated query for free.
//!
//! [`crate::SandboxSession::fingerprint`] first runs the session's analyzer and optimizer (so
//! constant folding, `5 < x` → `x > 5`, predicate push-down and projection pruning are applied),
//! then [`fingerprint`] hashes a normal form in which:
//!
//! - **columns are positions**, not names: a column is written `#i`, its index in the node's
//!   input (for a scan: the table's own column name). So **table aliases** (`FROM t AS x`) and
//!   **output aliases** (`count(*) AS n`) do not matter; `SubqueryAlias` nodes are dropped, and a
//!   projection that only passes its input's columns through in order is dropped;
//! - **`AND` / `OR` chains are sets**: their operands are sorted (`a > 5 AND b = 1` equals
//!   `b = 1 AND a > 5`), including the filters pushed into a scan;
//! - **commutative operators** (`=`, `<>`, `+`, `*`, `IS [NOT] DISTINCT FROM`) have sorted
//!   operands, and **comparisons** are oriented (`x > 5` equals `5 < x`).
//!
//! What does **not** collide (deliberately or not yet): a different table, column, constant,
//! function, join type, `GROUP BY` order, select-list order, `ORDER BY`, `LIMIT`; algebraic
//! rewrites the optimizer does not perform (`x > 5` vs `x >= 6`, `NOT (x <= 5)` unless simplified);
//! normalization inside function arguments and subqueries (printed as DataFusion displays them).
//! A change of `extra` (the control parameters: ε, δ, bounds, `L`, `C`, `k`) always changes the
//! fingerprint. The digest never contains a data value (a plan holds only the query's literals).

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{BinaryExpr, Distinct, Expr, LogicalPlan, Operator};
use sm3::{Digest, Sm3};

use crate::error::SandboxError;
use crate::session::SandboxSession;

/// Domain separation of the digest (bump when the normal form changes).
const DOMAIN: &[u8] = b"shuyu-sandbox/plan-fingerprint/v1";

/// The SM3 hex digest of `plan`'s normal form and `extra` (see the module docs). `plan` should
/// already be optimized ([`SandboxSession::fingerprint`] does it).
#[must_use]
pub fn fingerprint(plan: &LogicalPlan, extra: &[u8]) -> String {
    let form = normal_form(plan);
    let mut h = Sm3::new();
    h.update(DOMAIN);
    h.update((form.len() as u64).to_be_bytes());
    h.update(form.as_bytes());
    h.update((extra.len() as u64).to_be_bytes());
    h.update(extra);
    hex::encode(h.finalize())
}

impl SandboxSession {
    /// The fingerprint of `plan` after the session's analyzer and optimizer, with `extra` (the
    /// control parameters) mixed in. See [`mod@crate::fingerprint`].
    ///
    /// # Errors
    /// A plan-check refusal, or [`SandboxError::InvalidQuery`] if the optimizer fails.
    pub fn fingerprint(&self, plan: &LogicalPlan, extra: &[u8]) -> Result<String, SandboxError> {
        self.check(plan)?;
        let optimized = self
            .state()
            .optimize(plan)
            .map_err(crate::output::invalid)?;
        Ok(fingerprint(&optimized, extra))
    }
}

/// The normal form of a plan node and its inputs.
fn normal_form(plan: &LogicalPlan) -> String {
    let inputs = plan.inputs();
    let children = || {
        inputs
            .iter()
            .map(|c| normal_form(c))
            .collect::<Vec<_>>()
            .join(",")
    };
    let exprs = |list: &[Expr]| {
        list.iter()
            .map(|e| canonical(e, &inputs))
            .collect::<Vec<_>>()
            .join(",")
    };
    let node = match plan {
        LogicalPlan::SubqueryAlias(_) => return children(),
        LogicalPlan::Projection(p) if passes_through(&p.expr, &p.input) => return children(),
        LogicalPlan::Projection(p) => format!("Projection[{}]", exprs(&p.expr)),
        LogicalPlan::Filter(f) => format!("Filter[{}]", canonical(&f.predicate, &inputs)),
        LogicalPlan::Aggregate(a) => format!(
            "Aggregate[{}|{}]",
            exprs(&a.group_expr),
            exprs(&a.aggr_expr)
        ),
        LogicalPlan::Sort(s) => {
            let keys: Vec<String> = s
                .expr
                .iter()
                .map(|k| {
                    format!(
                        "{} {} {}",
                        canonical(&k.expr, &inputs),
                        k.asc,
                        k.nulls_first
                    )
                })
                .collect();
            format!("Sort[{}|{:?}]", keys.join(","), s.fetch)
        }
        LogicalPlan::Limit(l) => {
            let skip = l.skip.as_deref().map(|e| canonical(e, &inputs));
            let fetch = l.fetch.as_deref().map(|e| canonical(e, &inputs));
            format!("Limit[{skip:?}|{fetch:?}]")
        }
        LogicalPlan::Join(j) => {
            let on: Vec<String> =
                j.on.iter()
                    .map(|(l, r)| format!("{}={}", canonical(l, &inputs), canonical(r, &inputs)))
                    .collect();
            let filter = j.filter.as_ref().map(|f| canonical(f, &inputs));
            format!(
                "Join[{}|{}|{filter:?}|{:?}]",
                j.join_type,
                on.join(","),
                j.null_equality
            )
        }
        LogicalPlan::TableScan(s) => {
            let schema = s.source.schema();
            let columns: Vec<String> = match &s.projection {
                Some(p) => p
                    .iter()
                    .filter_map(|i| schema.fields().get(*i).map(|f| f.name().clone()))
                    .collect(),
                None => schema.fields().iter().map(|f| f.name().clone()).collect(),
            };
            let mut filters: Vec<String> = s.filters.iter().map(by_name).collect();
            filters.sort();
            format!(
                "Scan[{}|{}|{}|{:?}]",
                s.table_name.table(),
                columns.join(","),
                filters.join(" AND "),
                s.fetch
            )
        }
        LogicalPlan::Distinct(Distinct::All(_)) => "Distinct".to_owned(),
        other => format!("{}", other.display()),
    };
    format!("{node}({})", children())
}

/// Whether a projection only passes its input's columns through, in order.
fn passes_through(exprs: &[Expr], input: &LogicalPlan) -> bool {
    let schema = input.schema();
    exprs.len() == schema.fields().len()
        && exprs.iter().enumerate().all(|(i, e)| {
            matches!(strip(e), Expr::Column(c) if schema.index_of_column(c).ok() == Some(i))
        })
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => strip(&a.expr),
        other => other,
    }
}

/// A scan filter: columns by their table column name.
fn by_name(e: &Expr) -> String {
    let named = e
        .clone()
        .transform_up(|e| {
            Ok(match e {
                Expr::Column(c) => Transformed::yes(Expr::Column(Column::from_name(c.name))),
                Expr::Alias(a) => Transformed::yes(*a.expr),
                other => Transformed::no(other),
            })
        })
        .map_or_else(|_| e.clone(), |t| t.data);
    print(&named)
}

/// Columns by position in the concatenated inputs, aliases stripped, then printed canonically.
fn canonical(e: &Expr, inputs: &[&LogicalPlan]) -> String {
    let schemas: Vec<&DFSchema> = inputs.iter().map(|p| p.schema().as_ref()).collect();
    let positional = e
        .clone()
        .transform_up(|e| {
            Ok(match e {
                Expr::Column(c) => match position(&c, &schemas) {
                    Some(i) => Transformed::yes(Expr::Column(Column::from_name(format!("#{i}")))),
                    None => Transformed::no(Expr::Column(c)),
                },
                Expr::Alias(a) => Transformed::yes(*a.expr),
                other => Transformed::no(other),
            })
        })
        .map_or_else(|_| e.clone(), |t| t.data);
    print(&positional)
}

fn position(c: &Column, schemas: &[&DFSchema]) -> Option<usize> {
    let mut offset = 0;
    for schema in schemas {
        if let Ok(i) = schema.index_of_column(c) {
            return Some(offset + i);
        }
        offset += schema.fields().len();
    }
    None
}

/// Prints `e` with `AND`/`OR` chains sorted, commutative operands sorted, comparisons oriented.
fn print(e: &Expr) -> String {
    match e {
        Expr::BinaryExpr(b) if matches!(b.op, Operator::And | Operator::Or) => {
            let mut parts = Vec::new();
            chain(e, b.op, &mut parts);
            let mut printed: Vec<String> = parts.into_iter().map(print).collect();
            printed.sort();
            format!("({})", printed.join(&format!(" {} ", b.op)))
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (l, r) = (print(left), print(right));
            let commutative = matches!(
                op,
                Operator::Eq
                    | Operator::NotEq
                    | Operator::Plus
                    | Operator::Multiply
                    | Operator::IsDistinctFrom
                    | Operator::IsNotDistinctFrom
            );
            match (commutative, op.swap()) {
                (true, _) if r < l => format!("({r} {op} {l})"),
                (false, Some(swapped)) if r < l => format!("({r} {swapped} {l})"),
                _ => format!("({l} {op} {r})"),
            }
        }
        Expr::Not(inner) => format!("NOT {}", print(inner)),
        other => format!("{other}"),
    }
}

fn chain<'a>(e: &'a Expr, op: Operator, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryExpr(b) if b.op == op => {
            chain(&b.left, op, out);
            chain(&b.right, op, out);
        }
        other => out.push(other),
    }
}
