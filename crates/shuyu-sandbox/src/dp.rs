//! Output control of the `dp_aggregate` usage method (SBX-6): differentially private COUNT, SUM
//! and AVG, with bounded contributions per privacy unit and private selection of the groups.
//!
//! [`SandboxSession::preview_dp`] states a query's cost and each column's expected error without
//! touching data; [`SandboxSession::execute_dp`] answers it. What is guaranteed:
//!
//! - **Accepted shape** (as [`crate::output`]): below `Projection`, `Sort`, `Limit`, `Filter`
//!   (`HAVING`), `Distinct` and `SubqueryAlias` nodes without subqueries, one `Aggregate` whose
//!   functions are `COUNT(*)`, `COUNT(col)`, `SUM(col)` or `AVG(col)` of a plain column, without
//!   `DISTINCT`, `FILTER` or `ORDER BY` inside the call; its input is built from table scans,
//!   `WHERE` filters, inner joins and table aliases only. Anything else is refused with a reason.
//! - **One population.** A single scanned table, or inner joins whose conditions (`ON` or `WHERE`
//!   equalities) equate the privacy-unit columns ([`DpControl::units`]) of all joined tables; the
//!   first table's unit is then the unit. Otherwise refused: a person of one table could reach a
//!   group through many rows of another, unbounded.
//! - **Declared bounds.** Every SUM/AVG argument needs bounds in [`DpControl::bounds`] (keyed by
//!   `table.column`, `alias.column` or `column`); values are clamped to them. Integer columns use
//!   whole units (bounds rounded inwards); other numeric columns a fixed-point resolution of up to
//!   6 decimals, the finest whose sensitivity stays below 2⁵².
//! - **Stage 1** (DataFusion, the session's guarded execution with its limits, cancellation and
//!   metering; result rows capped by [`crate::Limits::max_scanned_rows`]): the aggregate becomes
//!   `GROUP BY (keys…, unit)` computing per (group, unit) the row count (or non-null count), and
//!   per SUM/AVG column the sum of the clamped values and their count. Rows whose unit is NULL are
//!   dropped.
//! - **Stage 2** (Rust): a unit keeps at most `L` ([`DpControl::max_groups_per_unit`]) of its
//!   groups, those with the smallest SM3(`selection_key` ‖ unit ‖ group) (deterministic, unknown
//!   without the key); per (group, unit) counts are clamped to `C`
//!   ([`DpControl::max_rows_per_unit`]); a unit with more than `C` rows contributes its mean
//!   times `C` to a sum (so sums and counts agree and AVG stays the mean of the rows), which lies
//!   in `[C·lo, C·hi]`, where it is clamped again. A global aggregate (no
//!   `GROUP BY`) has one group, so `L` is 1 for it.
//! - **Noise** (`shuyu-dp`). The query's ε is split evenly over the aggregate columns plus, with
//!   `GROUP BY` keys, one share for partition selection. The values of a grouped query get the
//!   discrete Laplace mechanism (pure ε) and **all** of δ goes to partition selection, the only
//!   step that needs it (as Google's differential privacy library does): a Gaussian on values
//!   with a tenth of a small δ is far noisier for small populations. A global aggregate gets the
//!   discrete Laplace when δ = 0, else the discrete Gaussian with δ split like ε. Sensitivities
//!   (a unit reaches at most `L` groups with at most `C` rows each): count `L·C`; sum
//!   `L·C·max(|lo|, |hi|)` (L1, the Laplace's); the Gaussian's is the L2 sensitivity
//!   `√L·C·max(|lo|, |hi|)`, which is `L·C·…` here since only a global aggregate (`L` = 1) uses
//!   it. AVG = noisy sum / noisy count (each half of its share) clamped to `[lo, hi]`; its stated
//!   error is the mean's, `√(e_sum² + B²·e_count²) / n` for a group of `n` rows
//!   (`B = max(|lo|, |hi|)`, first-order propagation, [`DpColumn::mean_error`]).
//! - **Partition selection.** Group keys come from the data, so a group is released only if its
//!   noisy distinct-unit count (discrete Laplace of scale `b ≥ L/ε_p`) reaches
//!   `T = max(k, ⌈1 + b·ln(L/δ)⌉)`. Why: a group present only because of one unit has a true
//!   count of 1 and is released iff the noise `Z ≥ T − 1`; for the discrete Laplace
//!   `P(Z ≥ m) = q^m/(1+q) ≤ e^(−m/b)` (q = e^(−1/b)), at most `δ/L`, and one unit creates at
//!   most `L` groups, so such a release has probability at most `δ` (the thresholding of
//!   Korolova et al. 2009 and Wilson et al. 2020, without their factor ½, which the discrete
//!   tail does not have). With δ = 0 and `GROUP BY` keys the query is refused: releasing
//!   data-derived keys needs δ > 0. A global aggregate is always released (its one group is
//!   public), still noisy.
//! - **Names.** The preview names each column as the query's output does (`SELECT COUNT(*) AS n`
//!   gives `n`, not `count(Int64(1))`): the name of the result column that is a plain copy of
//!   the aggregate column, else the aggregate's own name.
//! - **Post-processing only above.** The noisy rows become a `VALUES` relation with the
//!   aggregate's schema, put in place of the aggregate in the original plan, so `HAVING`,
//!   `ORDER BY`, `LIMIT` and the final projection run on noisy values only, and the result's
//!   schema is the original query's. COUNT and integer SUM stay integers.
//!
//! Must never: return a true aggregate, put a value (true or noisy) into an error or a `Debug`
//! output, or draw randomness other than from the RNG handed in. The number of groups withheld
//! is **not** reported: it is not differentially private (one unit can change it).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Column, ScalarValue, TableReference};
use datafusion::functions_aggregate::expr_fn::{count, sum};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    Aggregate, Cast, Expr, Filter, JoinType, LogicalPlan, Operator, lit, when,
};
use rand::CryptoRng;
use shuyu_dp::{
    Bounds, ExpectedError, FixedPoint, Mechanism, Noise, PrivacyBudget, QueryShape, cost_and_error,
    noisy_count, noisy_mean, noisy_sum,
};
use sm3::{Digest, Sm3};
use tokio_util::sync::CancellationToken;

use crate::error::SandboxError;
use crate::output::{check_functions, invalid, refuse, relation, replace_aggregate, top_aggregate};
use crate::session::{QueryOutput, SandboxSession};

/// Prefix of the columns of the stage-1 plan; never part of an output schema.
const HIDDEN: &str = "__shuyu_dp";

/// The output control of one grant whose usage method is `dp_aggregate`.
#[derive(Clone, PartialEq)]
pub struct DpControl {
    /// The privacy-unit column of each session table, by table name (as
    /// [`crate::AggregateControl::units`]). A scanned table missing here is refused.
    pub units: BTreeMap<String, String>,
    /// This query's cost. With `GROUP BY`, δ (> 0) is spent on partition selection only and the
    /// values get the discrete Laplace; without, δ = 0 selects the discrete Laplace and δ > 0 the
    /// discrete Gaussian.
    pub budget: PrivacyBudget,
    /// `L`: the groups one unit may contribute to (at least 1).
    pub max_groups_per_unit: u32,
    /// `C`: the rows one unit may contribute per group (at least 1).
    pub max_rows_per_unit: u32,
    /// Clamping bounds `(lo, hi)` of each SUM/AVG argument, keyed by `table.column`,
    /// `alias.column` or `column`.
    pub bounds: BTreeMap<String, (f64, f64)>,
    /// `k`: a group is released only if its noisy unit count reaches `max(k, τ)`.
    pub min_group_size: u64,
    /// The secret of the keyed choice of which `L` groups a unit keeps.
    pub selection_key: [u8; 32],
}

impl DpControl {
    /// The parameters that shape an answer, as canonical bytes: the `extra` of
    /// [`SandboxSession::fingerprint`], so a change of ε, δ, `L`, `C`, `k`, a bound or a unit
    /// column changes the fingerprint. The selection key is left out (it is a secret, and a
    /// repeat under a new key must not be a fresh answer either).
    #[must_use]
    pub fn parameters(&self) -> Vec<u8> {
        let mut out = b"dp/v1".to_vec();
        let mut text = |s: &str| {
            out.extend((s.len() as u64).to_be_bytes());
            out.extend(s.as_bytes());
        };
        for (table, unit) in &self.units {
            text(table);
            text(unit);
        }
        text("|bounds");
        for column in self.bounds.keys() {
            text(column);
        }
        for (lo, hi) in self.bounds.values() {
            out.extend(lo.to_bits().to_be_bytes());
            out.extend(hi.to_bits().to_be_bytes());
        }
        out.extend(self.budget.epsilon.to_bits().to_be_bytes());
        out.extend(self.budget.delta.to_bits().to_be_bytes());
        out.extend(self.max_groups_per_unit.to_be_bytes());
        out.extend(self.max_rows_per_unit.to_be_bytes());
        out.extend(self.min_group_size.to_be_bytes());
        out
    }
}

impl fmt::Debug for DpControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpControl")
            .field("units", &self.units)
            .field("budget", &self.budget)
            .field("max_groups_per_unit", &self.max_groups_per_unit)
            .field("max_rows_per_unit", &self.max_rows_per_unit)
            .field("bounds", &self.bounds)
            .field("min_group_size", &self.min_group_size)
            .field("selection_key", &"<redacted>")
            .finish()
    }
}

/// The aggregate a result column computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpAggregate {
    /// `COUNT(*)` or `COUNT(col)`.
    Count,
    /// `SUM(col)`.
    Sum,
    /// `AVG(col)`.
    Avg,
}

/// One noisy column of the aggregate and its expected error.
#[derive(Debug, Clone, PartialEq)]
pub struct DpColumn {
    /// The column's name in the query's result (its `AS` alias), or the aggregate's own name
    /// when the result does not copy it plainly.
    pub name: String,
    /// What it computes.
    pub aggregate: DpAggregate,
    /// The noise's error in the column's own unit (for AVG: of its noisy sum).
    pub error: ExpectedError,
    /// For AVG: the error of its noisy count.
    pub count_error: Option<ExpectedError>,
    /// For AVG: the mean's error times the group's row count `n` — divide by `n` for the error
    /// of the mean of a group of `n` rows (`√(e_sum² + B²·e_count²)`, `B = max(|lo|, |hi|)`,
    /// the worst case of the true mean).
    pub mean_error: Option<ExpectedError>,
}

/// What a DP query costs and how wrong it is expected to be, before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DpPreview {
    /// The budget the query spends (the control's).
    pub cost: PrivacyBudget,
    /// The mechanism of the value columns.
    pub mechanism: Mechanism,
    /// Each aggregate column, in the aggregate's order.
    pub columns: Vec<DpColumn>,
    /// With `GROUP BY` keys: the noisy distinct-unit count a group must reach to be released.
    pub threshold: Option<u64>,
    /// `L` in effect (1 for a global aggregate).
    pub groups_per_unit: u64,
    /// `C`.
    pub rows_per_unit: u64,
}

/// The answer of [`SandboxSession::execute_dp`].
#[derive(Debug, Clone)]
pub struct DpOutput {
    /// The noisy result, with the original query's schema. Its metering covers both runs.
    pub output: QueryOutput,
    /// Cost and expected errors (as [`SandboxSession::preview_dp`]).
    pub preview: DpPreview,
    /// Groups released by partition selection, before `HAVING`/`LIMIT` (public: they are the
    /// rows of the noisy relation).
    pub released_groups: u64,
}

/// What one aggregate column needs, per (group, unit) and after.
#[derive(Debug, Clone)]
enum Agg {
    /// COUNT(*) / COUNT(col): the (non-null) row count.
    Count { arg: Option<Expr> },
    /// SUM / AVG of a bounded column.
    Bounded {
        mean: bool,
        arg: Expr,
        integer: bool,
        bounds: Bounds,
    },
}

/// The checked query: everything both preview and execution need.
struct Analysis<'a> {
    aggregate: &'a Aggregate,
    unit: Column,
    aggs: Vec<(String, Agg)>,
    keyed: bool,
    /// The mechanism of the value columns.
    mechanism: Mechanism,
    /// The budget of one value column.
    share: PrivacyBudget,
    /// With `GROUP BY` keys: the budget of partition selection (its ε share and all of δ).
    selection: Option<PrivacyBudget>,
    /// The result's name of each aggregate column, in the aggregate's order.
    names: Vec<String>,
    /// `L` in effect (1 for a global aggregate).
    groups_per_unit: u64,
    rows_per_unit: u64,
    threshold: Option<u64>,
}

impl Analysis<'_> {
    fn contributions(&self) -> u64 {
        self.groups_per_unit * self.rows_per_unit
    }

    fn preview(&self, cost: PrivacyBudget) -> Result<DpPreview, SandboxError> {
        let max_contributions = self.contributions();
        let mut columns = Vec::with_capacity(self.aggs.len());
        for ((_, agg), name) in self.aggs.iter().zip(&self.names) {
            let (aggregate, shape) = match agg {
                Agg::Count { .. } => (DpAggregate::Count, QueryShape::Count { max_contributions }),
                Agg::Bounded {
                    mean: false,
                    bounds,
                    ..
                } => (
                    DpAggregate::Sum,
                    QueryShape::Sum {
                        bounds: *bounds,
                        max_contributions,
                    },
                ),
                Agg::Bounded {
                    mean: true, bounds, ..
                } => (
                    DpAggregate::Avg,
                    QueryShape::Mean {
                        bounds: *bounds,
                        max_contributions,
                    },
                ),
            };
            let estimate = cost_and_error(&shape, self.share, self.mechanism)?;
            let mean_error = match (agg, estimate.count_error) {
                (Agg::Bounded { bounds, .. }, Some(count)) => {
                    let res = bounds.resolution();
                    let b = res
                        .from_units(bounds.lower().into())
                        .abs()
                        .max(res.from_units(bounds.upper().into()).abs());
                    let e = estimate.error;
                    Some(ExpectedError {
                        std_dev: e.std_dev.hypot(b * count.std_dev),
                        ci95_half_width: e.ci95_half_width.hypot(b * count.ci95_half_width),
                    })
                }
                _ => None,
            };
            columns.push(DpColumn {
                name: name.clone(),
                aggregate,
                error: estimate.error,
                count_error: estimate.count_error,
                mean_error,
            });
        }
        Ok(DpPreview {
            cost,
            mechanism: self.mechanism,
            columns,
            threshold: self.threshold,
            groups_per_unit: self.groups_per_unit,
            rows_per_unit: self.rows_per_unit,
        })
    }
}

fn parameter(reason: impl Into<String>) -> SandboxError {
    SandboxError::DpParameters {
        reason: reason.into(),
    }
}

fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip_alias(&a.expr),
        other => other,
    }
}

fn strip_cast(expr: &Expr) -> &Expr {
    match expr {
        Expr::Cast(c) => strip_cast(&c.expr),
        Expr::TryCast(c) => strip_cast(&c.expr),
        other => other,
    }
}

fn analyze<'a>(plan: &'a LogicalPlan, control: &DpControl) -> Result<Analysis<'a>, SandboxError> {
    let aggregate = top_aggregate(plan)?;
    check_functions(aggregate)?;
    let budget = control.budget;
    if !(budget.epsilon.is_finite() && budget.epsilon > 0.0) {
        return Err(parameter("epsilon must be a positive finite number"));
    }
    if !(budget.delta >= 0.0 && budget.delta < 1.0) {
        return Err(parameter("delta must be at least 0 and below 1"));
    }
    if control.max_groups_per_unit == 0 || control.max_rows_per_unit == 0 {
        return Err(parameter(
            "the groups per unit (L) and rows per unit (C) must each be at least 1",
        ));
    }
    let keyed = !aggregate.group_expr.is_empty();
    if keyed && budget.delta == 0.0 {
        return Err(refuse(
            "a differentially private GROUP BY releases group keys taken from the data, which \
             needs delta > 0; ask with a delta above 0, or aggregate without GROUP BY",
        ));
    }
    let mut scans = Vec::new();
    let mut equalities = Vec::new();
    population(&aggregate.input, None, &mut scans, &mut equalities)?;
    let unit = one_unit(&scans, &equalities, control)?;
    let groups_per_unit = if keyed {
        u64::from(control.max_groups_per_unit)
    } else {
        1
    };
    let rows_per_unit = u64::from(control.max_rows_per_unit);
    let shares = aggregate.aggr_expr.len() + usize::from(keyed);
    let epsilon = budget.epsilon / shares as f64;
    // Grouped: the values are pure ε (Laplace), all of δ goes to partition selection. Global:
    // Laplace at δ = 0, else the Gaussian with δ split like ε.
    let (mechanism, share, selection) = if keyed {
        (
            Mechanism::Laplace,
            PrivacyBudget::new(epsilon, 0.0),
            Some(PrivacyBudget::new(epsilon, budget.delta)),
        )
    } else if budget.delta == 0.0 {
        (Mechanism::Laplace, PrivacyBudget::new(epsilon, 0.0), None)
    } else {
        (
            Mechanism::Gaussian,
            PrivacyBudget::new(epsilon, budget.delta / shares as f64),
            None,
        )
    };
    let sensitivity_cap = sensitivity_cap(share);
    let mut aggs = Vec::with_capacity(aggregate.aggr_expr.len());
    for (expr, field) in aggregate.aggr_expr.iter().zip(
        aggregate
            .schema
            .fields()
            .iter()
            .skip(aggregate.group_expr.len()),
    ) {
        let agg = aggregate_column(
            expr,
            aggregate,
            &scans,
            control,
            groups_per_unit * rows_per_unit,
            sensitivity_cap,
        )?;
        aggs.push((field.name().clone(), agg));
    }
    let threshold = match selection {
        Some(selection) => Some(threshold(
            selection,
            groups_per_unit,
            control.min_group_size,
        )?),
        None => None,
    };
    let names = output_names(plan, aggregate);
    Ok(Analysis {
        aggregate,
        unit,
        aggs,
        keyed,
        mechanism,
        share,
        selection,
        names,
        groups_per_unit,
        rows_per_unit,
        threshold,
    })
}

/// The noise of partition selection: discrete Laplace on a distinct-unit count of sensitivity `L`.
fn selection_noise(share: PrivacyBudget, groups_per_unit: u64) -> Result<Noise, SandboxError> {
    Ok(Noise::calibrate(
        Mechanism::Laplace,
        groups_per_unit,
        PrivacyBudget::new(share.epsilon, 0.0),
    )?)
}

/// `max(k, ⌈1 + b·ln(L/δ)⌉)`, `selection` holding partition selection's ε share and δ (module
/// docs).
fn threshold(selection: PrivacyBudget, groups_per_unit: u64, k: u64) -> Result<u64, SandboxError> {
    let Noise::Laplace(laplace) = selection_noise(selection, groups_per_unit)? else {
        return Err(parameter("partition selection needs the Laplace mechanism"));
    };
    let tau = 1.0 + laplace.scale() * (groups_per_unit as f64 / selection.delta).ln();
    if !tau.is_finite() || tau >= 2f64.powi(62) {
        return Err(parameter(
            "delta is too small for partition selection: the threshold is out of range",
        ));
    }
    Ok(k.max(tau.ceil().max(1.0) as u64))
}

/// The result's name of each aggregate column: the name of the output column of `plan` that is
/// a plain copy of it (through projections, aliases, sorts, limits, filters), else its own name.
fn output_names(plan: &LogicalPlan, aggregate: &Aggregate) -> Vec<String> {
    let keys = aggregate.group_expr.len();
    let own = aggregate.schema.fields().iter().skip(keys);
    let origins = origins(plan, aggregate);
    own.enumerate()
        .map(|(i, field)| {
            origins
                .iter()
                .position(|o| *o == Some(keys + i))
                .and_then(|at| plan.schema().fields().get(at))
                .map_or_else(|| field.name().clone(), |f| f.name().clone())
        })
        .collect()
}

/// For each output column of `plan`: the index of the column of `aggregate` it copies, if it
/// is a plain copy.
fn origins(plan: &LogicalPlan, aggregate: &Aggregate) -> Vec<Option<usize>> {
    let width = plan.schema().fields().len();
    match plan {
        LogicalPlan::Aggregate(a) if std::ptr::eq(a, aggregate) => (0..width).map(Some).collect(),
        LogicalPlan::Projection(p) => {
            let inner = origins(&p.input, aggregate);
            p.expr
                .iter()
                .map(|e| match strip_alias(e) {
                    Expr::Column(c) => p
                        .input
                        .schema()
                        .index_of_column(c)
                        .ok()
                        .and_then(|i| inner.get(i).copied().flatten()),
                    _ => None,
                })
                .collect()
        }
        LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(_)) => plan
            .inputs()
            .first()
            .map_or_else(|| vec![None; width], |input| origins(input, aggregate)),
        _ => vec![None; width],
    }
}

/// One scanned table occurrence under the aggregate.
struct Scan {
    table: String,
    qualifier: TableReference,
}

/// Walks the aggregate's input: scans, filters, inner joins, aliases; gathers the equalities
/// between columns of join conditions and filters.
fn population(
    node: &LogicalPlan,
    alias: Option<&TableReference>,
    scans: &mut Vec<Scan>,
    equalities: &mut Vec<(Column, Column)>,
) -> Result<(), SandboxError> {
    match node {
        LogicalPlan::TableScan(scan) => {
            scans.push(Scan {
                table: scan.table_name.table().to_owned(),
                qualifier: alias.unwrap_or(&scan.table_name).clone(),
            });
            Ok(())
        }
        LogicalPlan::Filter(f) => {
            column_equalities(&f.predicate, equalities);
            population(&f.input, alias, scans, equalities)
        }
        LogicalPlan::SubqueryAlias(a) => population(&a.input, Some(&a.alias), scans, equalities),
        LogicalPlan::Join(j) => {
            if j.join_type != JoinType::Inner {
                return Err(refuse(
                    "a differentially private query joins tables only with an inner JOIN on \
                     their privacy units: outer, semi and anti joins are not supported",
                ));
            }
            for (l, r) in &j.on {
                column_equalities(&l.clone().eq(r.clone()), equalities);
            }
            if let Some(filter) = &j.filter {
                column_equalities(filter, equalities);
            }
            population(&j.left, None, scans, equalities)?;
            population(&j.right, None, scans, equalities)
        }
        _ => Err(refuse(
            "a differentially private query aggregates directly over the granted tables (FROM, \
             inner JOIN, WHERE), not over a subquery, a CTE, a view or a UNION",
        )),
    }
}

fn column_equalities(predicate: &Expr, out: &mut Vec<(Column, Column)>) {
    for conjunct in split_conjunction(predicate) {
        if let Expr::BinaryExpr(b) = strip_alias(conjunct)
            && b.op == Operator::Eq
            && let (Expr::Column(l), Expr::Column(r)) = (b.left.as_ref(), b.right.as_ref())
        {
            out.push((l.clone(), r.clone()));
        }
    }
}

/// The unit column of the one population, or a refusal.
fn one_unit(
    scans: &[Scan],
    equalities: &[(Column, Column)],
    control: &DpControl,
) -> Result<Column, SandboxError> {
    let mut units = Vec::with_capacity(scans.len());
    for scan in scans {
        let unit = control.units.get(&scan.table).ok_or_else(|| {
            refuse(format!(
                "table `{}` has no privacy unit declared for this grant, so its contributions \
                 cannot be bounded; the operator must declare it",
                scan.table
            ))
        })?;
        units.push(Column::new(Some(scan.qualifier.clone()), unit.clone()));
    }
    let Some(first) = units.first() else {
        return Err(refuse("the query reads no table"));
    };
    // Union-find over the unit columns, joined by the equalities.
    let mut parent: Vec<usize> = (0..units.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while let Some(&p) = parent.get(i) {
            if p == i {
                break;
            }
            i = p;
        }
        i
    }
    let index = |c: &Column| units.iter().position(|u| same_column(u, c));
    for (l, r) in equalities {
        if let (Some(a), Some(b)) = (index(l), index(r)) {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if let Some(p) = parent.get_mut(ra) {
                *p = rb;
            }
        }
    }
    let first_root = root(&mut parent, 0);
    for (i, scan) in scans.iter().enumerate().skip(1) {
        if root(&mut parent, i) != first_root {
            return Err(refuse(format!(
                "a differentially private query may join tables only on their privacy units: \
                 join `{}` with `{} = {}` so that all tables describe the same persons",
                scan.table,
                units.get(i).map(Column::flat_name).unwrap_or_default(),
                first.flat_name()
            )));
        }
    }
    Ok(first.clone())
}

/// The largest sensitivity (in fixed-point units) whose noise the exact samplers can represent
/// at a column's share of the budget (halved, as a mean spends half on its sum), and at most
/// 2⁵²: the discrete Gaussian needs σ² below 2⁶⁴ (σ < 2³², kept to 2³¹), the discrete Laplace a
/// scale below 2⁶³. The finest resolution whose sensitivity fits is chosen below this cap, so a
/// small ε gets a coarser resolution rather than a refusal.
fn sensitivity_cap(share: PrivacyBudget) -> u64 {
    let half = PrivacyBudget::new(share.epsilon / 2.0, share.delta / 2.0);
    let noise_cap = if half.delta > 0.0 {
        (2_f64.powi(31) * (2.0 * shuyu_dp::mechanism::rho_for(half)).sqrt()).floor()
    } else {
        (2_f64.powi(62) * half.epsilon).floor()
    };
    let cap = 1_u64 << 52;
    if noise_cap.is_finite() && noise_cap >= 1.0 && noise_cap < cap as f64 {
        noise_cap as u64
    } else if noise_cap >= cap as f64 {
        cap
    } else {
        1
    }
}

fn same_column(unit: &Column, c: &Column) -> bool {
    unit.name == c.name
        && match &c.relation {
            Some(r) => unit.relation.as_ref() == Some(r),
            None => true,
        }
}

fn aggregate_column(
    expr: &Expr,
    aggregate: &Aggregate,
    scans: &[Scan],
    control: &DpControl,
    contributions: u64,
    cap: u64,
) -> Result<Agg, SandboxError> {
    let Expr::AggregateFunction(f) = strip_alias(expr) else {
        return Err(refuse(
            "a differentially private query outputs COUNT, SUM or AVG calls directly; compute \
             with them after the aggregate instead",
        ));
    };
    let name = f.func.name();
    if f.params.distinct {
        return Err(refuse(format!(
            "{}(DISTINCT …) is not supported by differential privacy in v1: count or sum all \
             rows, or group by the column instead",
            name.to_uppercase()
        )));
    }
    if f.params.filter.is_some() || !f.params.order_by.is_empty() {
        return Err(refuse(format!(
            "{}(…) with FILTER or ORDER BY is not supported by differential privacy: use WHERE",
            name.to_uppercase()
        )));
    }
    let arg = match f.params.args.as_slice() {
        [] => None,
        [a] => Some(strip_cast(a).clone()),
        _ => return Err(refuse("an aggregate with several arguments")),
    };
    match (name, arg) {
        ("count", None) => Ok(Agg::Count { arg: None }),
        ("count", Some(Expr::Literal(v, _))) if !v.is_null() => Ok(Agg::Count { arg: None }),
        ("count", Some(a @ Expr::Column(_))) => Ok(Agg::Count { arg: Some(a) }),
        ("count", _) => Err(refuse(
            "differential privacy counts rows (COUNT(*)) or a plain column (COUNT(col)) only",
        )),
        ("sum" | "avg", Some(Expr::Column(c))) => {
            let (lo, hi) = bounds_of(&c, scans, control)?;
            let integer = aggregate
                .input
                .schema()
                .qualified_field_from_column(&c)
                .map(|(_, f)| f.data_type().is_integer())
                .map_err(invalid)?;
            let bounds = fixed_point(&c, lo, hi, integer, contributions, cap)?;
            Ok(Agg::Bounded {
                mean: name == "avg",
                arg: Expr::Column(c),
                integer,
                bounds,
            })
        }
        (other, _) => Err(refuse(format!(
            "differential privacy sums or averages a plain column only: write {}(column)",
            other.to_uppercase()
        ))),
    }
}

fn bounds_of(c: &Column, scans: &[Scan], control: &DpControl) -> Result<(f64, f64), SandboxError> {
    let mut keys = Vec::new();
    if let Some(q) = &c.relation {
        keys.push(format!("{}.{}", q.table(), c.name));
        if let Some(scan) = scans.iter().find(|s| &s.qualifier == q) {
            keys.push(format!("{}.{}", scan.table, c.name));
        }
    }
    keys.push(c.name.clone());
    keys.iter()
        .find_map(|k| control.bounds.get(k).copied())
        .ok_or_else(|| {
            refuse(format!(
                "column `{}` is summed or averaged without declared bounds: declare its lower \
                 and upper bound for this grant (values outside are clamped)",
                c.name
            ))
        })
}

/// The bounds in fixed point: whole units for integers, else the finest resolution (≤ 6
/// decimals) whose sensitivity `max(|lo|, |hi|)·L·C` stays below `cap`.
fn fixed_point(
    c: &Column,
    lo: f64,
    hi: f64,
    integer: bool,
    contributions: u64,
    cap: u64,
) -> Result<Bounds, SandboxError> {
    let bad = || {
        parameter(format!(
            "the bounds of column `{}` must be finite with lower ≤ upper, and small enough for \
             whole units (integer columns: at least one integer between them)",
            c.name
        ))
    };
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(bad());
    }
    let decimals: Vec<u8> = if integer {
        vec![0]
    } else {
        (0..=FixedPoint::MAX_DECIMALS).rev().collect()
    };
    for d in decimals {
        let res = FixedPoint::new(d)?;
        let (l, h) = if integer {
            (lo.ceil(), hi.floor())
        } else {
            (lo, hi)
        };
        let (Some(l), Some(h)) = (res.to_units(l), res.to_units(h)) else {
            continue;
        };
        let sens = l.unsigned_abs().max(h.unsigned_abs());
        if l <= h && sens.checked_mul(contributions).is_some_and(|s| s < cap) {
            return Ok(Bounds::new(l, h, res)?);
        }
    }
    Err(bad())
}

impl SandboxSession {
    /// The cost and each column's expected error of `plan` under `control`, without executing
    /// anything or reading data (see [`crate::dp`]).
    ///
    /// # Errors
    /// [`SandboxError::OutputNotAllowed`] for a refused shape, population or missing bounds;
    /// [`SandboxError::DpParameters`] / [`SandboxError::Dp`] for unusable parameters; a plan-check
    /// or column-control refusal.
    pub fn preview_dp(
        &self,
        plan: &LogicalPlan,
        control: &DpControl,
    ) -> Result<DpPreview, SandboxError> {
        self.check(plan)?;
        self.check_controls(plan)?;
        analyze(plan, control)?.preview(control.budget)
    }

    /// Answers `plan` with differential privacy under `control` (see [`crate::dp`]): noisy
    /// values only, with the original query's schema.
    ///
    /// # Errors
    /// As [`Self::preview_dp`], and as [`Self::execute`] for the runs (limits, cancellation).
    pub async fn execute_dp(
        &self,
        plan: LogicalPlan,
        control: &DpControl,
        rng: &mut (impl CryptoRng + Send),
        cancel: &CancellationToken,
    ) -> Result<DpOutput, SandboxError> {
        self.check(&plan)?;
        self.check_controls(&plan)?;
        let analysis = analyze(&plan, control)?;
        let preview = analysis.preview(control.budget)?;
        let stage1 = stage1(&analysis)?;
        let first = self
            .run(stage1, self.limits().max_scanned_rows, cancel)
            .await?;
        let groups = contributions(&analysis, &first.batches, &control.selection_key)?;
        let (relation, released) = noisy_relation(&analysis, groups, rng)?;
        let upper = replace_aggregate(plan.clone(), &relation).map_err(invalid)?;
        let mut output = self
            .run(upper, self.limits().max_output_rows, cancel)
            .await?;
        output.metering = output.metering.after(&first.metering);
        Ok(DpOutput {
            output,
            preview,
            released_groups: released,
        })
    }
}

fn hidden(kind: &str, i: usize) -> String {
    format!("{HIDDEN}_{kind}_{i}")
}

/// `CASE WHEN x < lo THEN lo WHEN x > hi THEN hi ELSE x END`, in the column's sum type.
fn clamped(arg: &Expr, integer: bool, bounds: &Bounds) -> Result<Expr, SandboxError> {
    let res = bounds.resolution();
    let (to, lo, hi) = if integer {
        (DataType::Int64, lit(bounds.lower()), lit(bounds.upper()))
    } else {
        (
            DataType::Float64,
            lit(res.from_units(bounds.lower().into())),
            lit(res.from_units(bounds.upper().into())),
        )
    };
    let x = Expr::Cast(Cast::new(Box::new(arg.clone()), to));
    when(x.clone().lt(lo.clone()), lo)
        .when(x.clone().gt(hi.clone()), hi)
        .otherwise(x)
        .map_err(invalid)
}

/// `GROUP BY (keys…, unit)` with per (group, unit) counts and clamped sums, rows with a NULL unit
/// dropped. Output columns: keys, unit, then per aggregate column `count` (and `sum`).
fn stage1(a: &Analysis<'_>) -> Result<LogicalPlan, SandboxError> {
    let unit = Expr::Column(a.unit.clone());
    let input = Filter::try_new(unit.clone().is_not_null(), Arc::clone(&a.aggregate.input))
        .map(LogicalPlan::Filter)
        .map_err(invalid)?;
    let mut group = a.aggregate.group_expr.clone();
    group.push(unit.alias(format!("{HIDDEN}_unit")));
    let mut aggr = Vec::new();
    for (i, (_, agg)) in a.aggs.iter().enumerate() {
        match agg {
            Agg::Count { arg: None } => aggr.push(count(lit(1_i64)).alias(hidden("count", i))),
            Agg::Count { arg: Some(arg) } => {
                aggr.push(count(arg.clone()).alias(hidden("count", i)));
            }
            Agg::Bounded {
                arg,
                integer,
                bounds,
                ..
            } => {
                aggr.push(count(arg.clone()).alias(hidden("count", i)));
                aggr.push(sum(clamped(arg, *integer, bounds)?).alias(hidden("sum", i)));
            }
        }
    }
    Aggregate::try_new(Arc::new(input), group, aggr)
        .map(LogicalPlan::Aggregate)
        .map_err(invalid)
}

/// One candidate group after contribution bounding: its key (for the output), its distinct
/// units, and per aggregate column the bounded count and sum (fixed-point units).
struct Group {
    key: Vec<ScalarValue>,
    units: u64,
    counts: Vec<u64>,
    sums: Vec<i128>,
}

/// One (group, unit) row of stage 1.
struct Contribution {
    group: Vec<u8>,
    counts: Vec<u64>,
    sums: Vec<i128>,
}

fn internal(what: &str) -> SandboxError {
    SandboxError::InvalidQuery {
        message: format!("internal: the differentially private aggregate {what}"),
    }
}

fn row_bytes(columns: &[ArrayRef], rows: usize) -> Result<Vec<Vec<u8>>, SandboxError> {
    if columns.is_empty() {
        return Ok(vec![Vec::new(); rows]);
    }
    let fields = columns
        .iter()
        .map(|c| SortField::new(c.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields).map_err(|_| internal("cannot encode its keys"))?;
    let converted = converter
        .convert_columns(columns)
        .map_err(|_| internal("cannot encode its keys"))?;
    Ok(converted.iter().map(|r| r.as_ref().to_vec()).collect())
}

fn column(batch: &RecordBatch, i: usize) -> Result<&ArrayRef, SandboxError> {
    batch
        .columns()
        .get(i)
        .ok_or_else(|| internal("read too few columns"))
}

fn read_i64(batch: &RecordBatch, i: usize, row: usize) -> Result<i64, SandboxError> {
    let array = column(batch, i)?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| internal("read an unexpected column type"))?;
    Ok(if array.is_null(row) {
        0
    } else {
        array.value(row)
    })
}

fn read_units(
    batch: &RecordBatch,
    i: usize,
    row: usize,
    integer: bool,
    res: FixedPoint,
) -> Result<i128, SandboxError> {
    if integer {
        return read_i64(batch, i, row).map(i128::from);
    }
    let array = column(batch, i)?
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| internal("read an unexpected column type"))?;
    if array.is_null(row) {
        return Ok(0);
    }
    // A sum of clamped values beyond i64 units is clamped below anyway.
    let v = array.value(row) * res.units_per_one() as f64;
    Ok(if v.is_nan() {
        0
    } else {
        v.clamp(i64::MIN as f64, i64::MAX as f64) as i128
    })
}

/// Stage 2: the contributions of stage 1, bounded to `L` groups per unit (keyed choice) and `C`
/// rows per (group, unit), summed per group.
fn contributions(
    a: &Analysis<'_>,
    batches: &[RecordBatch],
    key: &[u8; 32],
) -> Result<BTreeMap<Vec<u8>, Group>, SandboxError> {
    let nk = a.aggregate.group_expr.len();
    let c = a.rows_per_unit;
    let mut groups: BTreeMap<Vec<u8>, Group> = BTreeMap::new();
    let empty_group = |key: Vec<ScalarValue>| Group {
        key,
        units: 0,
        counts: vec![0; a.aggs.len()],
        sums: vec![0; a.aggs.len()],
    };
    if !a.keyed {
        groups.insert(Vec::new(), empty_group(Vec::new()));
    }
    let mut per_unit: HashMap<Vec<u8>, Vec<([u8; 32], Contribution)>> = HashMap::new();
    for batch in batches {
        let rows = batch.num_rows();
        let (Some(key_columns), Some(unit_column)) =
            (batch.columns().get(..nk), batch.columns().get(nk..=nk))
        else {
            return Err(internal("read too few columns"));
        };
        let keys = row_bytes(key_columns, rows)?;
        let units = row_bytes(unit_column, rows)?;
        for (row, (group, unit)) in keys.into_iter().zip(units).enumerate() {
            if !groups.contains_key(&group) {
                let key = (0..nk)
                    .map(|i| {
                        ScalarValue::try_from_array(column(batch, i)?, row)
                            .map_err(|_| internal("cannot read a group key"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                groups.insert(group.clone(), empty_group(key));
            }
            let mut col = nk + 1;
            let mut counts = Vec::with_capacity(a.aggs.len());
            let mut sums = Vec::with_capacity(a.aggs.len());
            for (_, agg) in &a.aggs {
                let n = u64::try_from(read_i64(batch, col, row)?).unwrap_or(0);
                counts.push(n.min(c));
                col += 1;
                match agg {
                    Agg::Count { .. } => sums.push(0),
                    Agg::Bounded {
                        integer, bounds, ..
                    } => {
                        let mut s = read_units(batch, col, row, *integer, bounds.resolution())?;
                        // A unit with more than C rows contributes its mean times C: the sum of C
                        // of its (clamped) rows on average, consistent with its count of C.
                        if n > c && n > 0 {
                            s = s * i128::from(c) / i128::from(n);
                        }
                        let (lo, hi) = (
                            i128::from(bounds.lower()) * i128::from(c),
                            i128::from(bounds.upper()) * i128::from(c),
                        );
                        sums.push(s.clamp(lo, hi));
                        col += 1;
                    }
                }
            }
            let hash = selection_hash(key, &unit, &group);
            per_unit.entry(unit).or_default().push((
                hash,
                Contribution {
                    group,
                    counts,
                    sums,
                },
            ));
        }
    }
    let keep = usize::try_from(a.groups_per_unit).unwrap_or(usize::MAX);
    for (_, mut contributed) in per_unit {
        contributed.sort_by_key(|x| x.0);
        for (_, kept) in contributed.into_iter().take(keep) {
            let Some(g) = groups.get_mut(&kept.group) else {
                return Err(internal("lost a group"));
            };
            g.units += 1;
            for (acc, n) in g.counts.iter_mut().zip(&kept.counts) {
                *acc += n;
            }
            for (acc, s) in g.sums.iter_mut().zip(&kept.sums) {
                *acc += s;
            }
        }
    }
    Ok(groups)
}

/// SM3(key ‖ len(unit) ‖ unit ‖ len(group) ‖ group): the keyed order in which a unit keeps groups.
fn selection_hash(key: &[u8; 32], unit: &[u8], group: &[u8]) -> [u8; 32] {
    let mut h = Sm3::new();
    h.update(key);
    h.update((unit.len() as u64).to_be_bytes());
    h.update(unit);
    h.update((group.len() as u64).to_be_bytes());
    h.update(group);
    h.finalize().into()
}

/// Partition selection and noise: the aggregate's replacement (a `VALUES` relation with its
/// schema, [`crate::output::relation`]) and the number of released groups.
fn noisy_relation(
    a: &Analysis<'_>,
    groups: BTreeMap<Vec<u8>, Group>,
    rng: &mut impl CryptoRng,
) -> Result<(LogicalPlan, u64), SandboxError> {
    let schema = Arc::clone(&a.aggregate.schema);
    let fields = schema.fields();
    let contributions = a.contributions();
    let mut rows: Vec<Vec<ScalarValue>> = Vec::new();
    for group in groups.into_values() {
        if let (Some(threshold), Some(selection)) = (a.threshold, a.selection) {
            let noisy = noisy_count(
                rng,
                group.units,
                PrivacyBudget::new(selection.epsilon, 0.0),
                a.groups_per_unit,
                Mechanism::Laplace,
            )?;
            if noisy.value < threshold {
                continue;
            }
        }
        let mut row = Vec::with_capacity(fields.len());
        row.extend(group.key);
        for (i, (_, agg)) in a.aggs.iter().enumerate() {
            let n = group.counts.get(i).copied().unwrap_or(0);
            let s = group.sums.get(i).copied().unwrap_or(0);
            let value = match agg {
                Agg::Count { .. } => {
                    let v = noisy_count(rng, n, a.share, contributions, a.mechanism)?.value;
                    ScalarValue::Int64(Some(i64::try_from(v).unwrap_or(i64::MAX)))
                }
                Agg::Bounded {
                    mean: false,
                    integer,
                    bounds,
                    ..
                } => {
                    let v = noisy_sum(rng, s, *bounds, a.share, contributions, a.mechanism)?.value;
                    if *integer {
                        let v = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
                        ScalarValue::Int64(Some(i64::try_from(v).unwrap_or(i64::MAX)))
                    } else {
                        ScalarValue::Float64(Some(bounds.resolution().from_units(v)))
                    }
                }
                Agg::Bounded {
                    mean: true, bounds, ..
                } => {
                    let v =
                        noisy_mean(rng, s, n, *bounds, a.share, contributions, a.mechanism)?.value;
                    ScalarValue::Float64(Some(v))
                }
            };
            row.push(value);
        }
        rows.push(row);
    }
    let released = rows.len() as u64;
    let relation = relation(schema, rows)?;
    Ok((relation, released))
}
