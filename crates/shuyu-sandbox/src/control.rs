//! Column controls derived through the logical plan (SBX-3, SBX-4; the idea of SecretFlow SCQL's
//! column control list).
//!
//! Every column of a session's tables carries a [`ColumnControl`] ([`Controls`]; a column without
//! one is [`ColumnControl::Denied`]). [`derive`] walks a checked logical plan from its scans up and
//! computes, for every expression of every node, which protected source columns flow into it and
//! in what state: *raw* (the value itself), *compared* (only the result of a comparison of it),
//! *aggregated* (summarized by an aggregate) or *grouped* (a GROUP BY label). Every relation also
//! carries its *row selection*: the protected columns that decided, through a filter or a join
//! condition, which of its rows exist. A query is allowed only if every result column and the
//! result's row selection consist of visible columns and released (aggregated or grouped) ones;
//! anything else is refused naming the column and the reason. Visible columns are not tracked.
//!
//! | control          | result column (raw)  | compared (WHERE, HAVING, JOIN ON)                 | GROUP BY key               | aggregated by                    | ORDER BY, under LIMIT |
//! |------------------|----------------------|---------------------------------------------------|----------------------------|----------------------------------|-----------------------|
//! | `visible`        | yes                  | yes                                               | yes                        | any                              | yes                   |
//! | `aggregate_only` | no                   | yes, but the rows it selects must be aggregated   | no                         | count, sum, avg, stddev (no min/max: one row's value) | no |
//! | `group_by`       | no                   | yes, but the rows it selects must be aggregated   | yes: its labels are output | any                              | no                    |
//! | `join_key`       | no                   | only `=` with another column (a join), never a literal or a function of it | no | count, count(DISTINCT) | no          |
//! | `compare_only`   | no                   | yes, freely (that is its purpose)                 | only a comparison of it (`CASE WHEN x > 5 …`) | count; a comparison of it like `aggregate_only` | no |
//! | `denied`         | no                   | no                                                | no                         | no                               | no                    |
//!
//! Further rules:
//!
//! - An expression over several columns carries all of them (`visible + aggregate_only` is
//!   aggregate-only; `CAST(x AS VARCHAR)`, `substr(x, 1, 6)` and `CASE` results carry `x`).
//! - A comparison of a `compare_only` column used as a *value* (in the SELECT list, a GROUP BY
//!   key, an aggregate argument) behaves like an `aggregate_only` column: `sum(CASE WHEN x > 5
//!   THEN 1 ELSE 0 END)` counts what `count(*) … WHERE x > 5` counts and is allowed; outputting the
//!   comparison row by row is refused.
//! - Rows selected by an `aggregate_only` or `group_by` column (filters, join conditions,
//!   `IN (SELECT …)`, `EXISTS`, over the subquery's own selection too) may reach the result only
//!   through an aggregate: a filter on income may not choose which visible rows are shown.
//!   An aggregate releases the selection of its input; its aggregate columns are then reported as
//!   `aggregate_only`.
//! - `ORDER BY` a protected, unreleased value is refused (the order reveals it), and so are
//!   `LIMIT`, `OFFSET`, a sort with a fetch and `DISTINCT ON` over rows with protected, unreleased
//!   values or selection (they would let an aggregate pick single rows: `sum` of `LIMIT 1`).
//! - `DISTINCT` is not an aggregate: it releases nothing.
//! - Subqueries (scalar, `IN`, `EXISTS`, correlated ones reading outer columns), CTEs, unions
//!   and joins are derived through; a node kind not known here is refused (deny by default).
//!
//! [`OutputColumn::control`] reports what each result column is derived from: `visible` (only
//! visible columns), `group_by` (a GROUP BY label of a protected column) or `aggregate_only` (an
//! aggregate of protected columns or of protected rows), for the output control to act on.
//!
//! What this module does not do: decide whether a column may be visible (the grant does), enforce
//! minimum group sizes (a GROUP BY on a visible unique column is the output control's business),
//! or noise. It never sees data values, so its errors cannot quote one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DFSchemaRef, JoinType};
use datafusion::logical_expr::{
    Aggregate, Distinct, Expr, Join, LogicalPlan, Operator, SortExpr, Subquery,
};
use shuyu_profile::ColumnControl;

/// The column controls of a session: table → column → control. Absent means denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    tables: BTreeMap<String, BTreeMap<String, ColumnControl>>,
}

impl Controls {
    /// No column usable.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the control of `table`.`column`.
    pub fn set(&mut self, table: &str, column: &str, control: ColumnControl) {
        self.tables
            .entry(table.to_owned())
            .or_default()
            .insert(column.to_owned(), control);
    }

    /// `self` with the control of `table`.`column` set.
    #[must_use]
    pub fn with(mut self, table: &str, column: &str, control: ColumnControl) -> Self {
        self.set(table, column, control);
        self
    }

    /// The control of `table`.`column`: [`ColumnControl::Denied`] unless set.
    #[must_use]
    pub fn control(&self, table: &str, column: &str) -> ColumnControl {
        self.tables
            .get(table)
            .and_then(|t| t.get(column))
            .copied()
            .unwrap_or(ColumnControl::Denied)
    }
}

/// One column of an allowed result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The result column's name.
    pub name: String,
    /// What it is derived from: `Visible`, `GroupBy` (a label of a protected group-by column) or
    /// `AggregateOnly` (an aggregate over protected columns or protected rows).
    pub control: ColumnControl,
}

/// Why a protected column's use was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Its value reaches the result.
    Output,
    /// A comparison of it reaches the result row by row.
    OutputCompared,
    /// It selects the result's rows (filter, join condition) outside an aggregate.
    RowSelection,
    /// It is a GROUP BY key.
    GroupKey,
    /// It is summarized by an aggregate function that reveals too much of it.
    Aggregate {
        /// The aggregate function.
        function: String,
    },
    /// It is an ORDER BY key.
    OrderBy,
    /// It is not yet aggregated under a LIMIT, OFFSET or DISTINCT ON.
    Limit,
    /// A join key used other than in an equality with another column.
    JoinKeyUse,
    /// A denied column is used.
    Denied,
}

/// A refusal of the column controls: names the column and the reason, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// A protected column is used in a way its control does not allow.
    #[error("{}", refusal_message(column, *control, reason))]
    Refused {
        /// The column's table.
        table: String,
        /// The column.
        column: String,
        /// Its control.
        control: ColumnControl,
        /// What the query does with it.
        reason: Reason,
    },
    /// A construct the derivation does not reason about (refused: deny by default).
    #[error("the query uses {what}, which column controls cannot reason about")]
    Unsupported {
        /// What was found.
        what: String,
    },
}

impl ControlError {
    /// The refused column, if the refusal names one.
    #[must_use]
    pub fn column(&self) -> Option<&str> {
        match self {
            Self::Refused { column, .. } => Some(column),
            Self::Unsupported { .. } => None,
        }
    }
}

/// How a control reads in a message.
fn describe(control: ColumnControl) -> &'static str {
    match control {
        ColumnControl::Visible => "visible",
        ColumnControl::AggregateOnly => "aggregate only",
        ColumnControl::GroupBy => "group-by key only",
        ColumnControl::JoinKey => "join key only",
        ColumnControl::CompareOnly => "compare only",
        ColumnControl::Denied => "denied",
    }
}

fn refusal_message(column: &str, control: ColumnControl, reason: &Reason) -> String {
    let what = match reason {
        Reason::Output => match control {
            ColumnControl::AggregateOnly => {
                "appears outside an aggregate in the result: use it inside count, sum or avg"
            }
            ColumnControl::GroupBy => {
                "appears in the result other than as a GROUP BY key: group by it or aggregate it"
            }
            ColumnControl::JoinKey => "cannot be output: it may only join tables",
            _ => "cannot be output: it may only be compared in WHERE, HAVING or JOIN ON",
        },
        Reason::OutputCompared => {
            "reaches the result through a comparison row by row: count or sum the comparison instead"
        }
        Reason::RowSelection => {
            "selects the result's rows in a filter or join condition, which reveals it row by row: aggregate the result"
        }
        Reason::GroupKey => match control {
            ColumnControl::JoinKey => {
                "cannot be a GROUP BY key: it would make one group per identifier"
            }
            ColumnControl::CompareOnly => {
                "cannot be a GROUP BY key: group by a comparison of it (CASE WHEN …) instead"
            }
            _ => "cannot be a GROUP BY key: aggregate it instead",
        },
        Reason::Aggregate { function } => {
            let hint = match control {
                ColumnControl::AggregateOnly => {
                    "it would output one row's value; use count, sum or avg"
                }
                ColumnControl::CompareOnly => {
                    "only count may summarize it; count, sum or avg a comparison of it (CASE WHEN … THEN 1 ELSE 0 END)"
                }
                _ => "only count may summarize it",
            };
            return format!(
                "column `{column}` ({}) cannot be aggregated with {function}: {hint}",
                describe(control)
            );
        }
        Reason::OrderBy => {
            "in ORDER BY would reveal its order: order by a visible column or an aggregate"
        }
        Reason::Limit => {
            "is not yet aggregated under a LIMIT, OFFSET or DISTINCT ON, which could pick single rows: aggregate before limiting"
        }
        Reason::JoinKeyUse => {
            "can only be compared for equality with another column (a join condition), never with a literal or inside a function"
        }
        Reason::Denied => "is not usable in this workspace",
    };
    format!("column `{column}` ({}) {what}", describe(control))
}

/// Aggregates that summarize many rows into one number without outputting a row's value.
const SUMMARIES: &[&str] = &["sum", "avg", "stddev"];

/// Derives the control of each output column of `plan` and refuses a query whose result is not
/// allowed under `controls` (see the module docs for the rules).
///
/// # Errors
/// [`ControlError::Refused`] naming the first offending column and why, or
/// [`ControlError::Unsupported`] for a plan construct not reasoned about here.
pub fn derive(plan: &LogicalPlan, controls: &Controls) -> Result<Vec<OutputColumn>, ControlError> {
    let mut deriver = Deriver {
        controls,
        scopes: Vec::new(),
    };
    let relation = deriver.relation(plan)?;
    if let Some(t) = relation.rows.iter().find(|t| !t.released()) {
        return Err(t.refuse(Reason::RowSelection));
    }
    let fields = plan.schema().fields();
    let mut out = Vec::with_capacity(fields.len());
    for (field, label) in fields.iter().zip(&relation.columns) {
        let mut control = ColumnControl::Visible;
        for t in label {
            control = control.stricter(match t.state {
                State::Aggregated => ColumnControl::AggregateOnly,
                State::Grouped => ColumnControl::GroupBy,
                State::Compared if t.control == ColumnControl::CompareOnly => {
                    return Err(t.refuse(Reason::OutputCompared));
                }
                State::Raw | State::Compared => return Err(t.refuse(Reason::Output)),
            });
        }
        out.push(OutputColumn {
            name: field.name().clone(),
            control,
        });
    }
    Ok(out)
}

/// How a protected source column reached an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// Its value (possibly transformed).
    Raw,
    /// Only the result of a comparison of it.
    Compared,
    /// Summarized by an aggregate (released).
    Aggregated,
    /// As a GROUP BY label (released).
    Grouped,
}

/// One protected source column flowing into an expression or a row selection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Taint {
    table: String,
    column: String,
    control: ColumnControl,
    state: State,
}

impl Taint {
    fn released(&self) -> bool {
        matches!(self.state, State::Aggregated | State::Grouped)
    }

    fn with_state(&self, state: State) -> Self {
        Self {
            state,
            ..self.clone()
        }
    }

    fn refuse(&self, reason: Reason) -> ControlError {
        ControlError::Refused {
            table: self.table.clone(),
            column: self.column.clone(),
            control: self.control,
            reason,
        }
    }
}

/// The protected sources of one value (visible sources are not tracked).
type Label = BTreeSet<Taint>;

/// A plan node's output: one label per column, and what selected its rows.
#[derive(Debug, Clone, Default)]
struct Relation {
    columns: Vec<Label>,
    rows: Label,
}

impl Relation {
    fn unreleased(&self) -> Option<&Taint> {
        self.columns
            .iter()
            .flatten()
            .chain(&self.rows)
            .find(|t| !t.released())
    }
}

struct Deriver<'a> {
    controls: &'a Controls,
    /// Enclosing relations of the subquery being derived, innermost last.
    scopes: Vec<(DFSchemaRef, Vec<Label>)>,
}

fn unsupported(what: impl Into<String>) -> ControlError {
    ControlError::Unsupported { what: what.into() }
}

fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip_alias(&a.expr),
        other => other,
    }
}

fn is_column_ref(expr: &Expr) -> bool {
    matches!(
        strip_alias(expr),
        Expr::Column(_) | Expr::OuterReferenceColumn(..)
    )
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

/// A comparison of `label` used as a value: compare-only columns become compared.
fn compared_value(label: Label) -> Label {
    label
        .into_iter()
        .map(|t| match (t.control, t.state) {
            (ColumnControl::CompareOnly, State::Raw) => t.with_state(State::Compared),
            _ => t,
        })
        .collect()
}

/// A comparison of `label` used as a predicate: what it adds to the row selection. `equi` says
/// whether it is an equality of two column references (a join condition).
fn compared_predicate(label: Label, equi: bool) -> Result<Label, ControlError> {
    let mut rows = Label::new();
    for t in label {
        if t.released() {
            continue;
        }
        match t.control {
            ColumnControl::Visible | ColumnControl::CompareOnly => {}
            ColumnControl::JoinKey if equi && t.state == State::Raw => {}
            ColumnControl::JoinKey => return Err(t.refuse(Reason::JoinKeyUse)),
            ColumnControl::Denied => return Err(t.refuse(Reason::Denied)),
            ColumnControl::AggregateOnly | ColumnControl::GroupBy => {
                rows.insert(t.with_state(State::Compared));
            }
        }
    }
    Ok(rows)
}

/// Whether output column `index` of `plan` is a source column passed through unchanged.
fn bare_output(plan: &LogicalPlan, index: usize) -> bool {
    match plan {
        LogicalPlan::TableScan(_) => true,
        LogicalPlan::Projection(p) => match p.expr.get(index).map(strip_alias) {
            Some(Expr::Column(c)) => p
                .input
                .schema()
                .index_of_column(c)
                .is_ok_and(|i| bare_output(&p.input, i)),
            _ => false,
        },
        LogicalPlan::Filter(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Distinct(Distinct::All(_)) => plan
            .inputs()
            .first()
            .is_some_and(|input| bare_output(input, index)),
        _ => false,
    }
}

impl Deriver<'_> {
    fn relation(&mut self, plan: &LogicalPlan) -> Result<Relation, ControlError> {
        match plan {
            LogicalPlan::TableScan(scan) => {
                let table = scan.table_name.table();
                let columns: Vec<Label> = scan
                    .projected_schema
                    .fields()
                    .iter()
                    .map(|f| {
                        let control = self.controls.control(table, f.name());
                        let mut label = Label::new();
                        if control != ColumnControl::Visible {
                            label.insert(Taint {
                                table: table.to_owned(),
                                column: f.name().clone(),
                                control,
                                state: State::Raw,
                            });
                        }
                        label
                    })
                    .collect();
                let mut relation = Relation {
                    columns,
                    rows: Label::new(),
                };
                for filter in &scan.filters {
                    let rows = self.predicate(filter, &scan.projected_schema, &relation)?;
                    relation.rows.extend(rows);
                }
                Ok(relation)
            }
            LogicalPlan::Projection(p) => {
                let input = self.relation(&p.input)?;
                let columns = p
                    .expr
                    .iter()
                    .map(|e| self.value(e, p.input.schema(), &input))
                    .collect::<Result<_, _>>()?;
                Ok(Relation {
                    columns,
                    rows: input.rows,
                })
            }
            LogicalPlan::Filter(f) => {
                let mut input = self.relation(&f.input)?;
                let rows = self.predicate(&f.predicate, f.input.schema(), &input)?;
                input.rows.extend(rows);
                Ok(input)
            }
            LogicalPlan::Aggregate(a) => self.aggregate(a),
            LogicalPlan::Sort(s) => {
                let input = self.relation(&s.input)?;
                self.order_by(&s.expr, s.input.schema(), &input)?;
                if s.fetch.is_some() {
                    limit(&input)?;
                }
                Ok(input)
            }
            LogicalPlan::Limit(l) => {
                let input = self.relation(&l.input)?;
                limit(&input)?;
                Ok(input)
            }
            LogicalPlan::Join(j) => self.join(j),
            LogicalPlan::Union(u) => {
                let mut out = Relation {
                    columns: vec![Label::new(); u.schema.fields().len()],
                    rows: Label::new(),
                };
                for input in &u.inputs {
                    let r = self.relation(input)?;
                    for (acc, label) in out.columns.iter_mut().zip(r.columns) {
                        acc.extend(label);
                    }
                    out.rows.extend(r.rows);
                }
                Ok(out)
            }
            LogicalPlan::Distinct(Distinct::All(input)) => self.relation(input),
            LogicalPlan::Distinct(Distinct::On(d)) => {
                let input = self.relation(&d.input)?;
                let schema = d.input.schema();
                for e in &d.on_expr {
                    if let Some(t) = self
                        .value(e, schema, &input)?
                        .iter()
                        .find(|t| !t.released())
                    {
                        return Err(t.refuse(Reason::Limit));
                    }
                }
                if let Some(sort) = &d.sort_expr {
                    self.order_by(sort, schema, &input)?;
                }
                limit(&input)?;
                let columns = d
                    .select_expr
                    .iter()
                    .map(|e| self.value(e, schema, &input))
                    .collect::<Result<_, _>>()?;
                Ok(Relation {
                    columns,
                    rows: input.rows,
                })
            }
            LogicalPlan::SubqueryAlias(s) => self.relation(&s.input),
            LogicalPlan::Subquery(s) => self.relation(&s.subquery),
            LogicalPlan::EmptyRelation(e) => Ok(Relation {
                columns: vec![Label::new(); e.schema.fields().len()],
                rows: Label::new(),
            }),
            LogicalPlan::Values(v) => {
                let empty = Relation::default();
                let schema = Arc::new(DFSchema::empty());
                let mut columns = vec![Label::new(); v.schema.fields().len()];
                for row in &v.values {
                    for (acc, e) in columns.iter_mut().zip(row) {
                        acc.extend(self.value(e, &schema, &empty)?);
                    }
                }
                Ok(Relation {
                    columns,
                    rows: Label::new(),
                })
            }
            other => Err(unsupported(format!("a `{}` node", other.display()))),
        }
    }

    fn aggregate(&mut self, a: &Aggregate) -> Result<Relation, ControlError> {
        let input = self.relation(&a.input)?;
        let schema = a.input.schema();
        let mut columns = Vec::with_capacity(a.group_expr.len() + a.aggr_expr.len());
        for key in &a.group_expr {
            let mut label = Label::new();
            for t in self.value(key, schema, &input)? {
                let grouped = match (t.control, t.state) {
                    (_, State::Aggregated | State::Grouped) => t,
                    (ColumnControl::GroupBy, _) | (ColumnControl::CompareOnly, State::Compared) => {
                        t.with_state(State::Grouped)
                    }
                    _ => return Err(t.refuse(Reason::GroupKey)),
                };
                label.insert(grouped);
            }
            columns.push(label);
        }
        for expr in &a.aggr_expr {
            let Expr::AggregateFunction(f) = strip_alias(expr) else {
                return Err(unsupported(
                    "an aggregate expression that is not a function call",
                ));
            };
            let function = f.func.name().to_owned();
            let mut sources = Label::new();
            for arg in &f.params.args {
                sources.extend(self.value(arg, schema, &input)?);
            }
            for sort in &f.params.order_by {
                sources.extend(self.value(&sort.expr, schema, &input)?);
            }
            if let Some(filter) = &f.params.filter {
                sources.extend(self.predicate(filter, schema, &input)?);
            }
            let mut label: Label = input
                .rows
                .iter()
                .map(|t| t.with_state(State::Aggregated))
                .collect();
            for t in sources {
                if !t.released() && !may_aggregate(&function, &t) {
                    return Err(t.refuse(Reason::Aggregate { function }));
                }
                label.insert(if t.released() {
                    t
                } else {
                    t.with_state(State::Aggregated)
                });
            }
            columns.push(label);
        }
        Ok(Relation {
            columns,
            rows: Label::new(),
        })
    }

    fn join(&mut self, j: &Join) -> Result<Relation, ControlError> {
        let left = self.relation(&j.left)?;
        let right = self.relation(&j.right)?;
        let mut rows: Label = left.rows.union(&right.rows).cloned().collect();
        for (l, r) in &j.on {
            let mut label = self.value(l, j.left.schema(), &left)?;
            label.extend(self.value(r, j.right.schema(), &right)?);
            rows.extend(compared_predicate(
                label,
                is_column_ref(l) && is_column_ref(r),
            )?);
        }
        if let Some(filter) = &j.filter {
            let both = j
                .left
                .schema()
                .join(j.right.schema())
                .map_err(|_| unsupported("a join whose sides share a column name"))?;
            let combined = Relation {
                columns: left.columns.iter().chain(&right.columns).cloned().collect(),
                rows: Label::new(),
            };
            rows.extend(self.predicate(filter, &Arc::new(both), &combined)?);
        }
        let columns = match j.join_type {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                left.columns.into_iter().chain(right.columns).collect()
            }
            JoinType::LeftSemi | JoinType::LeftAnti => left.columns,
            JoinType::RightSemi | JoinType::RightAnti => right.columns,
            JoinType::LeftMark => {
                let mark = compared_value(rows.clone());
                left.columns.into_iter().chain([mark]).collect()
            }
            JoinType::RightMark => {
                let mark = compared_value(rows.clone());
                right.columns.into_iter().chain([mark]).collect()
            }
        };
        Ok(Relation { columns, rows })
    }

    fn order_by(
        &mut self,
        keys: &[SortExpr],
        schema: &DFSchemaRef,
        input: &Relation,
    ) -> Result<(), ControlError> {
        for key in keys {
            if let Some(t) = self
                .value(&key.expr, schema, input)?
                .iter()
                .find(|t| !t.released())
            {
                return Err(t.refuse(Reason::OrderBy));
            }
        }
        Ok(())
    }

    /// The sources of `expr`'s value over `input` (whose schema is `schema`).
    fn value(
        &mut self,
        expr: &Expr,
        schema: &DFSchemaRef,
        input: &Relation,
    ) -> Result<Label, ControlError> {
        match expr {
            Expr::Column(c) => column(c, schema, &input.columns),
            Expr::OuterReferenceColumn(_, c) => self.outer(c),
            Expr::Literal(..) => Ok(Label::new()),
            Expr::BinaryExpr(b) if is_comparison(b.op) => {
                let mut label = self.value(&b.left, schema, input)?;
                label.extend(self.value(&b.right, schema, input)?);
                Ok(compared_value(label))
            }
            Expr::Like(_)
            | Expr::SimilarTo(_)
            | Expr::Between(_)
            | Expr::InList(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsNotUnknown(_) => Ok(compared_value(self.children(expr, schema, input)?)),
            Expr::Case(c) => {
                let mut label = Label::new();
                let mut conditions = Label::new();
                if let Some(base) = &c.expr {
                    conditions.extend(self.value(base, schema, input)?);
                }
                for (when, then) in &c.when_then_expr {
                    conditions.extend(self.value(when, schema, input)?);
                    label.extend(self.value(then, schema, input)?);
                }
                if let Some(e) = &c.else_expr {
                    label.extend(self.value(e, schema, input)?);
                }
                label.extend(compared_value(conditions));
                Ok(label)
            }
            Expr::ScalarSubquery(s) => {
                let r = self.subquery(s, schema, input)?;
                let mut label = r.columns.into_iter().next().unwrap_or_default();
                label.extend(r.rows);
                Ok(label)
            }
            Expr::Exists(e) => {
                let r = self.subquery(&e.subquery, schema, input)?;
                Ok(compared_value(r.rows))
            }
            Expr::InSubquery(i) => {
                let mut label = self.value(&i.expr, schema, input)?;
                let r = self.subquery(&i.subquery, schema, input)?;
                label.extend(r.columns.into_iter().flatten());
                label.extend(r.rows);
                Ok(compared_value(label))
            }
            Expr::SetComparison(s) => {
                let mut label = self.value(&s.expr, schema, input)?;
                let r = self.subquery(&s.subquery, schema, input)?;
                label.extend(r.columns.into_iter().flatten());
                label.extend(r.rows);
                Ok(compared_value(label))
            }
            Expr::AggregateFunction(_) => Err(unsupported("an aggregate outside an aggregation")),
            Expr::Alias(_)
            | Expr::Not(_)
            | Expr::Negative(_)
            | Expr::BinaryExpr(_)
            | Expr::Cast(_)
            | Expr::TryCast(_)
            | Expr::ScalarFunction(_) => self.children(expr, schema, input),
            other => Err(unsupported(format!(
                "the expression kind `{}`",
                other.variant_name()
            ))),
        }
    }

    /// The union of the sources of `expr`'s direct children.
    fn children(
        &mut self,
        expr: &Expr,
        schema: &DFSchemaRef,
        input: &Relation,
    ) -> Result<Label, ControlError> {
        let mut label = Label::new();
        let mut failed = None;
        let _ = expr.apply_children(|child| {
            match self.value(child, schema, input) {
                Ok(l) => label.extend(l),
                Err(e) => {
                    failed = Some(e);
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(label),
        }
    }

    /// What a filter predicate adds to the row selection (it may refuse a join key's misuse).
    fn predicate(
        &mut self,
        expr: &Expr,
        schema: &DFSchemaRef,
        input: &Relation,
    ) -> Result<Label, ControlError> {
        match strip_alias(expr) {
            Expr::BinaryExpr(b) if matches!(b.op, Operator::And | Operator::Or) => {
                let mut rows = self.predicate(&b.left, schema, input)?;
                rows.extend(self.predicate(&b.right, schema, input)?);
                Ok(rows)
            }
            Expr::Not(inner) => self.predicate(inner, schema, input),
            Expr::BinaryExpr(b)
                if matches!(b.op, Operator::Eq | Operator::IsNotDistinctFrom)
                    && is_column_ref(&b.left)
                    && is_column_ref(&b.right) =>
            {
                let mut label = self.value(&b.left, schema, input)?;
                label.extend(self.value(&b.right, schema, input)?);
                compared_predicate(label, true)
            }
            Expr::InSubquery(i) if is_column_ref(&i.expr) => {
                let mut label = self.value(&i.expr, schema, input)?;
                let r = self.subquery(&i.subquery, schema, input)?;
                let equi = bare_output(&i.subquery.subquery, 0);
                label.extend(r.columns.into_iter().flatten());
                let mut rows = compared_predicate(label, equi)?;
                rows.extend(compared_predicate(r.rows, false)?);
                Ok(rows)
            }
            other => compared_predicate(self.value(other, schema, input)?, false),
        }
    }

    /// Derives a subquery with `input` as its innermost outer scope.
    fn subquery(
        &mut self,
        s: &Subquery,
        schema: &DFSchemaRef,
        input: &Relation,
    ) -> Result<Relation, ControlError> {
        self.scopes
            .push((Arc::clone(schema), input.columns.clone()));
        let derived = self.relation(&s.subquery);
        self.scopes.pop();
        derived
    }

    fn outer(&self, c: &Column) -> Result<Label, ControlError> {
        for (schema, columns) in self.scopes.iter().rev() {
            if schema.index_of_column(c).is_ok() {
                return column(c, schema, columns);
            }
        }
        Err(unsupported(format!("the outer column reference `{c}`")))
    }
}

/// The sources of column `c` of a relation; a denied column is refused where it is used.
fn column(c: &Column, schema: &DFSchema, columns: &[Label]) -> Result<Label, ControlError> {
    let label = schema
        .index_of_column(c)
        .ok()
        .and_then(|i| columns.get(i))
        .ok_or_else(|| unsupported(format!("the unresolved column `{c}`")))?;
    if let Some(t) = label.iter().find(|t| t.control == ColumnControl::Denied) {
        return Err(t.refuse(Reason::Denied));
    }
    Ok(label.clone())
}

/// Refuses a LIMIT (or fetch, or DISTINCT ON) over rows with protected, unreleased values.
fn limit(input: &Relation) -> Result<(), ControlError> {
    match input.unreleased() {
        Some(t) => Err(t.refuse(Reason::Limit)),
        None => Ok(()),
    }
}

/// Whether aggregate `function` may summarize the unreleased source `t`.
fn may_aggregate(function: &str, t: &Taint) -> bool {
    let summary = function == "count" || SUMMARIES.contains(&function);
    match (t.control, t.state) {
        (ColumnControl::Visible | ColumnControl::GroupBy, _) => true,
        (ColumnControl::AggregateOnly, _) | (ColumnControl::CompareOnly, State::Compared) => {
            summary
        }
        (ColumnControl::JoinKey | ColumnControl::CompareOnly, _) => function == "count",
        (ColumnControl::Denied, _) => false,
    }
}
