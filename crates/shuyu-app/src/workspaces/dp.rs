//! Production queries of `dp_aggregate` grants: the control parameters, the budget ledgers, and
//! repeats answered from the record.
//!
//! - **Parameters.** The query's ε is what the request asks (default: a tenth of the grant's ε);
//!   its δ a tenth of the grant's δ (0 when the grant has none: then only global aggregates
//!   run), spent on partition selection only. Each privacy unit contributes to at most `L`
//!   groups and `C` rows per group ([`Contribution`]): the request's `max_groups_per_unit` and
//!   `max_rows_per_unit`, by default and at most the profile's `[sandbox] dp_contribution`; an
//!   out-of-range value is refused before anything runs, naming the field and the cap. `L` and
//!   `C` change the noise (sensitivity `L·C`), never the cost. SUM/AVG arguments are clamped to
//!   the grant's bounds for the field, or the request's. The keyed choice of a unit's groups uses
//!   a secret derived from the master key per grant.
//! - **Fingerprint.** SM3 of the optimized plan's normal form with the parameters (ε, δ, `L`,
//!   `C`, bounds, `k`) and the dataset versions read: the same question on the same data is the
//!   same fingerprint; other `L`, `C` or ε is another release, charged again.
//! - **Repeats.** A fingerprint already charged — by this grant, or by another grant of the same
//!   legal entity over the same data population — is answered with the recorded noisy answer and
//!   spends nothing: asking again gains nothing, and the entity already holds that answer.
//! - **Ledgers.** Two per query: the grant's (its budget) and the legal entity's for the data
//!   population (`[sandbox] population_budget`), so that several grants do not multiply a
//!   budget. The charge is written in the query's `Tx` only while both stay within budget
//!   ([`shuyu_store::Tx::charge_ledger`]); a query that would exceed either is refused before it
//!   runs, naming what remains.

use std::collections::BTreeMap;

use datafusion::logical_expr::LogicalPlan;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use shuyu_dp::Amount;
use shuyu_grant::Grant;
use shuyu_profile::PrivacyBudget;
use shuyu_sandbox::{CancellationToken, DpAggregate, DpControl, DpPreview, SandboxSession};
use shuyu_store::{StoredSpend, Tx};

use super::QueryRequest;
use super::result::ResultTable;
use super::run::{Ending, GRANT_LEDGER, POPULATION_LEDGER, Run, metering_of, population_key};
use super::tables::{FusionPlan, TablePlan, Tables, datasets_of};
use crate::{App, AppError};

/// The share of the grant's budget a query spends unless it asks otherwise.
const DEFAULT_SHARE: f64 = 0.1;

const SELECTION_PURPOSE: &[u8] = b"dp-group-selection";

/// A charge waiting for the query's `Tx`.
#[derive(Debug, Clone)]
pub(crate) struct PendingSpend {
    pub legal_entity: String,
    pub population: String,
    pub fingerprint: String,
    pub amount: Amount,
    pub grant_budget: Amount,
    pub population_budget: Amount,
}

/// How much one privacy unit may contribute to a differentially private query: at most `L`
/// groups, at most `C` rows per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Contribution {
    /// `L`.
    pub groups_per_unit: u32,
    /// `C`.
    pub rows_per_unit: u32,
}

/// Cost and expected errors, as a person sees them before spending.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DpEstimate {
    pub cost: PrivacyBudget,
    pub mechanism: String,
    /// Each result column's expected error, named as the result names it.
    pub columns: Vec<ColumnError>,
    /// The noisy distinct-unit count a group must reach to be released (grouped queries).
    pub threshold: Option<u64>,
    /// `L` and `C` in effect (`L` is 1 for a global aggregate); absent in estimates stored
    /// before they could be chosen (then both were 1).
    #[serde(default)]
    pub contribution: Option<Contribution>,
}

/// One column's expected error.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(from = "ColumnErrorWire")]
pub struct ColumnError {
    pub column: String,
    /// `count`, `sum` or `avg`.
    pub aggregate: String,
    /// The 95% half-width of the noise in the column's unit; for `avg` (`per_rows`), of the
    /// mean times the group's row count: divide by `n` for a group of `n` rows.
    pub ci95: f64,
    pub per_rows: bool,
}

/// Stored estimates: the current form, or the `(column, ci95)` pairs written before.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ColumnErrorWire {
    Current {
        column: String,
        aggregate: String,
        ci95: f64,
        per_rows: bool,
    },
    Legacy(String, f64),
}

impl From<ColumnErrorWire> for ColumnError {
    fn from(w: ColumnErrorWire) -> Self {
        match w {
            ColumnErrorWire::Current {
                column,
                aggregate,
                ci95,
                per_rows,
            } => Self {
                column,
                aggregate,
                ci95,
                per_rows,
            },
            ColumnErrorWire::Legacy(column, ci95) => Self {
                aggregate: String::new(),
                column,
                ci95,
                per_rows: false,
            },
        }
    }
}

impl From<&DpPreview> for DpEstimate {
    fn from(p: &DpPreview) -> Self {
        Self {
            cost: p.cost,
            mechanism: format!("{:?}", p.mechanism).to_lowercase(),
            columns: p
                .columns
                .iter()
                .map(|c| {
                    let (aggregate, error, per_rows) = match (c.aggregate, c.mean_error) {
                        // A mean's error shrinks with its group's rows: stated per `n`.
                        (DpAggregate::Avg, Some(mean)) => ("avg", mean, true),
                        (DpAggregate::Avg, None) => ("avg", c.error, false),
                        (DpAggregate::Count, _) => ("count", c.error, false),
                        (DpAggregate::Sum, _) => ("sum", c.error, false),
                    };
                    ColumnError {
                        column: c.name.clone(),
                        aggregate: aggregate.to_owned(),
                        ci95: error.ci95_half_width,
                        per_rows,
                    }
                })
                .collect(),
            threshold: p.threshold,
            contribution: Some(Contribution {
                groups_per_unit: u32::try_from(p.groups_per_unit).unwrap_or(u32::MAX),
                rows_per_unit: u32::try_from(p.rows_per_unit).unwrap_or(u32::MAX),
            }),
        }
    }
}

impl App {
    /// The contribution bounds `request` asks for, defaulted and capped by the profile's
    /// `[sandbox] dp_contribution`; an out-of-range value is bad input naming the field and cap.
    pub(crate) fn dp_contribution(&self, request: &QueryRequest) -> Result<Contribution, AppError> {
        let caps = self.profile.sandbox().dp_contribution.value;
        let pick = |field: &'static str, asked: Option<u32>, default: u32, max: u32, what: &str| {
            match asked {
                None => Ok(default),
                Some(v) if (1..=max).contains(&v) => Ok(v),
                Some(v) => Err(AppError::invalid(
                    field,
                    format!(
                        "{v} is out of range: give 1 to {max} {what} (the platform's cap, \
                         [sandbox] dp_contribution); a larger bound means more noise, not more cost"
                    ),
                )),
            }
        };
        Ok(Contribution {
            groups_per_unit: pick(
                "max_groups_per_unit",
                request.max_groups_per_unit,
                caps.groups_per_unit,
                caps.max_groups_per_unit,
                "groups per privacy unit",
            )?,
            rows_per_unit: pick(
                "max_rows_per_unit",
                request.max_rows_per_unit,
                caps.rows_per_unit,
                caps.max_rows_per_unit,
                "rows per privacy unit and group",
            )?,
        })
    }

    /// The DP control of `plan`, a query of `grant`: δ is spent only by a grouped query (to
    /// release group keys taken from the data); a global aggregate uses the discrete Laplace
    /// mechanism and pure ε, which is far less noisy at the same ε.
    pub(crate) fn dp_control(
        &self,
        grant: &Grant,
        plans: &Tables,
        plan: &LogicalPlan,
        request: &QueryRequest,
    ) -> Result<DpControl, AppError> {
        let granted = grant.budget();
        let epsilon = request.epsilon.unwrap_or(granted.epsilon * DEFAULT_SHARE);
        if !(epsilon.is_finite() && epsilon > 0.0 && epsilon <= granted.epsilon) {
            return Err(AppError::invalid(
                "epsilon",
                format!(
                    "give an ε above 0 and at most the grant's {}",
                    granted.epsilon
                ),
            ));
        }
        let mut bounds = BTreeMap::new();
        for plan in plans.iter() {
            for (field, _) in &plan.fields {
                if let Some(b) = field.bounds {
                    bounds.insert(
                        format!("{}.{}", plan.name, field.name),
                        (b.lower as f64, b.upper as f64),
                    );
                }
            }
        }
        for (column, (lo, hi)) in &request.bounds {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(AppError::invalid(
                    "bounds",
                    format!("the bounds of {column} need finite lower < upper"),
                ));
            }
            bounds.insert(column.clone(), (*lo, *hi));
        }
        let contribution = self.dp_contribution(request)?;
        let data = self.data()?;
        let ring = data.ring()?;
        let selection_key =
            *ring.derive_secret(SELECTION_PURPOSE, grant.id().to_string().as_bytes());
        Ok(DpControl {
            units: super::run::aggregate_control(grant, plans).units,
            budget: PrivacyBudget::new(
                epsilon,
                if grouped(plan) {
                    granted.delta * DEFAULT_SHARE
                } else {
                    0.0
                },
            ),
            max_groups_per_unit: contribution.groups_per_unit,
            max_rows_per_unit: contribution.rows_per_unit,
            bounds,
            min_group_size: u64::from(grant.min_group_size()),
            selection_key,
        })
    }

    /// The estimate of a DP query (no data read).
    pub(crate) fn dp_preview(
        &self,
        grant: &Grant,
        plans: &Tables,
        session: &SandboxSession,
        plan: &LogicalPlan,
        request: &QueryRequest,
    ) -> Result<DpEstimate, String> {
        let control = self
            .dp_control(grant, plans, plan, request)
            .map_err(|e| e.to_string())?;
        session
            .preview_dp(plan, &control)
            .map(|p| DpEstimate::from(&p))
            .map_err(|e| e.to_string())
    }

    /// Runs a production query of a `dp_aggregate` grant, or answers a repeat from the record.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_dp(
        &self,
        grant: &Grant,
        plans: &Tables,
        session: &SandboxSession,
        plan: LogicalPlan,
        request: &QueryRequest,
        run: &mut Run,
        cancel: &CancellationToken,
    ) -> Result<Ending, AppError> {
        let control = match self.dp_control(grant, plans, &plan, request) {
            Ok(control) => control,
            Err(e) => return Ok(Ending::Refused(e.to_string())),
        };
        let preview = match session.preview_dp(&plan, &control) {
            Ok(preview) => preview,
            Err(e) => return Ok(Ending::from(&e)),
        };
        let amount = Amount::charge(preview.cost).map_err(|e| AppError::Internal(e.to_string()))?;
        // The control's parameters and the dataset versions read: new data is a new question.
        let mut extra = control.parameters();
        for (resource, dataset) in datasets_of(plans) {
            extra.extend_from_slice(format!("\0{resource}:{dataset}").as_bytes());
        }
        for fusion in &plans.fusion {
            extra.extend_from_slice(format!("\0fusion:{}", fusion.id).as_bytes());
        }
        let fingerprint = match session.fingerprint(&plan, &extra) {
            Ok(f) => f,
            Err(e) => return Ok(Ending::from(&e)),
        };
        // The population of the query: that of every scanned table (joins are on the units, so
        // they must describe the same register of persons or enterprises).
        let scanned = |name: &str| run.fields.iter().any(|f| f.split('.').next() == Some(name));
        let mut populations: Vec<String> = plans
            .iter()
            .filter(|p| scanned(&p.name))
            .map(TablePlan::population)
            .chain(
                plans
                    .fusion
                    .iter()
                    .filter(|f| scanned(&f.name))
                    .map(FusionPlan::population),
            )
            .collect();
        populations.sort();
        populations.dedup();
        let population = match populations.as_slice() {
            [one] => one.clone(),
            _ => {
                return Ok(Ending::Refused(
                    "a differentially private query joins tables whose privacy units are of different kinds (persons and enterprises): query one population at a time"
                        .into(),
                ));
            }
        };
        let entity = self.legal_entity(grant).await?;
        if let Some(recorded) = self
            .store
            .spend_for(grant.id(), (&entity, &population), &fingerprint)
            .await?
        {
            let answer = self
                .store
                .workspace_query(recorded.query)
                .await?
                .and_then(|q| q.result)
                .ok_or_else(|| {
                    AppError::Internal(format!("the recorded answer {} is missing", recorded.query))
                })?;
            let table: ResultTable = serde_json::from_str(&answer)
                .map_err(|e| AppError::Internal(format!("recorded answer: {e}")))?;
            run.stored.repeat_of = Some(recorded.query);
            return Ok(Ending::Succeeded(table));
        }
        let grant_budget =
            Amount::allowance(grant.budget()).map_err(|e| AppError::Internal(e.to_string()))?;
        let population_budget = Amount::allowance(self.profile.sandbox().population_budget.value)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let (ge, gd) = self
            .store
            .ledger_total(GRANT_LEDGER, &grant.id().to_string())
            .await?;
        let (pe, pd) = self
            .store
            .ledger_total(POPULATION_LEDGER, &population_key(&entity, &population))
            .await?;
        let fits = |(e, d): (u64, u64), budget: Amount| {
            e.saturating_add(amount.epsilon_nano) <= budget.epsilon_nano
                && d.saturating_add(amount.delta_atto) <= budget.delta_atto
        };
        if !fits((ge, gd), grant_budget) {
            return Ok(Ending::Refused(format!(
                "the grant's privacy budget does not cover this query: it costs {}, {} remains; ask for less ε, or repeat a query already answered (free)",
                preview.cost,
                remaining(grant_budget, (ge, gd))
            )));
        }
        if !fits((pe, pd), population_budget) {
            return Ok(Ending::Refused(format!(
                "the budget of your organisation over this data population (across all its grants) does not cover this query: it costs {}, {} remains",
                preview.cost,
                remaining(population_budget, (pe, pd))
            )));
        }
        let mut rng = StdRng::from_seed(self.random_bytes());
        let out = match session.execute_dp(plan, &control, &mut rng, cancel).await {
            Ok(out) => out,
            Err(e) => {
                if let Some(m) = e.metering() {
                    run.stored.metering = metering_of(m);
                }
                return Ok(Ending::from(&e));
            }
        };
        run.stored.metering = metering_of(&out.output.metering);
        run.stored.epsilon_nano = amount.epsilon_nano;
        run.stored.delta_atto = amount.delta_atto;
        run.spend = Some(PendingSpend {
            legal_entity: entity,
            population,
            fingerprint,
            amount,
            grant_budget,
            population_budget,
        });
        Ok(Ending::Succeeded(ResultTable::from_batches(
            &out.output.schema,
            &out.output.batches,
        )?))
    }

    /// Charges both ledgers in `tx` and records the spend; `false` when either would exceed its
    /// budget (a concurrent query spent it meanwhile).
    pub(crate) async fn charge(
        &self,
        tx: &mut Tx,
        run: &Run,
        spend: &PendingSpend,
    ) -> Result<bool, AppError> {
        let amount = (spend.amount.epsilon_nano, spend.amount.delta_atto);
        let grant_key = run.stored.grant.to_string();
        if !tx
            .charge_ledger(
                (GRANT_LEDGER, &grant_key),
                amount,
                (
                    spend.grant_budget.epsilon_nano,
                    spend.grant_budget.delta_atto,
                ),
            )
            .await?
        {
            return Ok(false);
        }
        let population = population_key(&spend.legal_entity, &spend.population);
        if !tx
            .charge_ledger(
                (POPULATION_LEDGER, &population),
                amount,
                (
                    spend.population_budget.epsilon_nano,
                    spend.population_budget.delta_atto,
                ),
            )
            .await?
        {
            return Ok(false);
        }
        tx.insert_spend(&StoredSpend {
            query: run.stored.id,
            grant: run.stored.grant,
            legal_entity: spend.legal_entity.clone(),
            population: spend.population.clone(),
            fingerprint: spend.fingerprint.clone(),
            epsilon_nano: spend.amount.epsilon_nano,
            delta_atto: spend.amount.delta_atto,
            created_at: run.stored.created_at,
        })
        .await?;
        Ok(true)
    }
}

/// Whether the aggregate at the top of `plan` (below projections, sorts, limits, filters and
/// aliases) groups by anything. A plan of another shape is refused by the control anyway.
fn grouped(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(aggregate) => !aggregate.group_expr.is_empty(),
        LogicalPlan::Projection(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::SubqueryAlias(_) => plan.inputs().first().is_some_and(|i| grouped(i)),
        _ => true,
    }
}

fn remaining(budget: Amount, (e, d): (u64, u64)) -> PrivacyBudget {
    Amount {
        epsilon_nano: budget.epsilon_nano.saturating_sub(e),
        delta_atto: budget.delta_atto.saturating_sub(d),
    }
    .as_budget()
}
