//! Running a query in a workspace (SBX-3, SBX-4, SBX-6): the one path every query takes.
//!
//! 1. The policy decides (`workspace.query`: the merchant's cleared personnel); the grant must be
//!    live (active, within its term).
//! 2. **Development**: the query is planned and run over the development tables; its rows are
//!    shown. It is also planned against production (no data is read): if production's column
//!    controls and output control would accept it, the production plan's fingerprint is recorded
//!    with the run — the link production requires.
//! 3. **Production**: the query is planned over the real data (only the grant's tables and fields,
//!    column controls through the plan); its plan's fingerprint must match a succeeded development
//!    run of this workspace; the grant's usage method decides the output control: `aggregate`
//!    suppresses groups below the grant's minimum size in distinct privacy units,
//!    `dp_aggregate` answers with noise and charges the budget ([`super::dp`]).
//! 4. The query, its outcome, its released result (and SM3 digest), budget and metering are stored
//!    with its `workspace.query` event in one `Tx` — refusals and failures too.
//!
//! Refusals name the table, column or rule; they never quote a data value (the sandbox withholds
//! DataFusion's messages while running).

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use serde::{Deserialize, Serialize};
use shuyu_audit::Outcome;
use shuyu_core::{QueryId, WorkspaceId};
use shuyu_grant::Grant;
use shuyu_policy::{Action, Principal};
use shuyu_profile::UsageMethod;
use shuyu_sandbox::{
    AggregateControl, CancellationToken, Metering, SandboxError, SandboxSession,
    apply_aggregate_control,
};
use shuyu_store::{StoredMetering, StoredQuery};

use super::dp::{DpEstimate, PendingSpend};
use super::result::ResultTable;
use super::tables::{TablePlan, Tables};
use super::{Env, QueryView, WORKSPACE, query_view};
use crate::{App, AppError, Ctx, Object, QueryScope};

/// The longest query text accepted.
pub const MAX_SQL_BYTES: usize = 64 * 1024;

pub(crate) const GRANT_LEDGER: &str = "grant";
pub(crate) const POPULATION_LEDGER: &str = "population";

/// The population ledger's key of a legal entity and a data population.
pub(crate) fn population_key(entity: &str, population: &str) -> String {
    format!("{entity}/{population}")
}

/// What a person asks to run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueryRequest {
    pub env: Env,
    pub sql: String,
    /// Differentially private queries: the ε this query spends (default: a tenth of the grant's).
    #[serde(default)]
    pub epsilon: Option<f64>,
    /// Differentially private sums and means: clamping bounds per column (`table.column` or
    /// `column`), overriding the grant's.
    #[serde(default)]
    pub bounds: BTreeMap<String, (f64, f64)>,
    /// Differentially private queries: `L`, the groups one privacy unit may count in (default
    /// and cap: the profile's `[sandbox] dp_contribution`).
    #[serde(default)]
    pub max_groups_per_unit: Option<u32>,
    /// Differentially private queries: `C`, the rows one privacy unit may count with per group.
    #[serde(default)]
    pub max_rows_per_unit: Option<u32>,
}

/// A development run's verdict on production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Production {
    /// Whether production would accept this query.
    pub accepted: bool,
    /// Why not.
    pub reason: Option<String>,
    /// A `dp_aggregate` grant: what the production run would cost and its expected error.
    pub estimate: Option<DpEstimate>,
}

/// A query on its way to the store.
pub(crate) struct Run {
    pub stored: StoredQuery,
    pub fields: Vec<String>,
    pub production: Option<Production>,
    /// A differentially private run's charge, made in the query's `Tx`.
    pub spend: Option<PendingSpend>,
}

/// How a query ended before it is stored.
pub(crate) enum Ending {
    Succeeded(ResultTable),
    Refused(String),
    Failed(String),
}

impl From<&SandboxError> for Ending {
    fn from(e: &SandboxError) -> Self {
        if e.is_refusal() || matches!(e, SandboxError::InvalidQuery { .. }) {
            Ending::Refused(e.to_string())
        } else {
            Ending::Failed(e.to_string())
        }
    }
}

pub(crate) fn metering_of(m: &Metering) -> StoredMetering {
    StoredMetering {
        elapsed_us: u64::try_from(m.elapsed.as_micros()).unwrap_or(u64::MAX),
        compute_us: u64::try_from(m.compute.as_micros()).unwrap_or(u64::MAX),
        rows_scanned: m.rows_scanned,
        bytes_fetched: m.bytes_fetched,
        output_bytes: m.output_bytes,
    }
}

/// The fields a plan reads, as `table.column`, sorted.
pub(crate) fn touched_fields(plan: &LogicalPlan) -> Vec<String> {
    let mut fields = BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            for field in scan.projected_schema.fields() {
                fields.insert(format!("{}.{}", scan.table_name.table(), field.name()));
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    fields.into_iter().collect()
}

impl App {
    /// Runs `request` in a workspace. A refused or failed query is stored and audited too, and
    /// answered [`AppError::Query`] naming it.
    pub async fn run_query(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        request: QueryRequest,
    ) -> Result<QueryView, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspaceQuery)
            .await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let sql = request.sql.trim();
        if sql.is_empty() || sql.len() > MAX_SQL_BYTES {
            return Err(AppError::invalid(
                "sql",
                format!("give one SQL query of at most {} KiB", MAX_SQL_BYTES / 1024),
            ));
        }
        // Contribution bounds are checked before anything runs or is stored (bad input, 422).
        let contribution = match grant.usage() {
            UsageMethod::DpAggregate => Some(self.dp_contribution(&request)?),
            UsageMethod::Aggregate => {
                for (field, given) in [
                    ("max_groups_per_unit", request.max_groups_per_unit),
                    ("max_rows_per_unit", request.max_rows_per_unit),
                ] {
                    if given.is_some() {
                        return Err(AppError::invalid(
                            field,
                            "contribution bounds apply to differentially private grants only; \
                             this grant suppresses small groups instead: leave it out",
                        ));
                    }
                }
                None
            }
        };
        let dp_contribution = contribution
            .map(|c| serde_json::to_string(&c))
            .transpose()
            .map_err(|e| AppError::Internal(format!("contribution: {e}")))?;
        let now = self.now();
        let mut run = Run {
            stored: StoredQuery {
                id: QueryId::mint(now, self.random_bytes()),
                grant: grant.id(),
                env: request.env.as_str().to_owned(),
                sql: sql.to_owned(),
                fingerprint: None,
                outcome: String::new(),
                reason: None,
                production: None,
                dev_query: None,
                repeat_of: None,
                result: None,
                result_sm3: None,
                result_rows: 0,
                epsilon_nano: 0,
                delta_atto: 0,
                suppressed_groups: 0,
                suppressed_rows: 0,
                dp_contribution,
                metering: StoredMetering::default(),
                created_at: now,
                created_by: actor.person,
            },
            fields: Vec::new(),
            production: None,
            spend: None,
        };
        // Registered before the liveness check, so that a freeze or suspension landing from now
        // on cancels this query (SBX-9).
        let running = self.inflight().register(QueryScope::of_grant(&grant));
        let cancel = running.token();
        let ending = match self.grant_liveness(&grant, Action::WorkspaceQuery).await {
            Err(e) => Ending::Refused(e.to_string()),
            Ok(()) => {
                let plans = self.session_tables(&grant).await?;
                match request.env {
                    Env::Dev => {
                        self.run_dev(&grant, &plans, &request, &mut run, cancel)
                            .await?
                    }
                    Env::Prod => {
                        self.run_prod(&grant, &plans, &request, &mut run, cancel)
                            .await?
                    }
                }
            }
        };
        drop(running);
        self.finish(ctx, workspace, run, ending).await
    }

    async fn run_dev(
        &self,
        grant: &Grant,
        plans: &Tables,
        request: &QueryRequest,
        run: &mut Run,
        cancel: &CancellationToken,
    ) -> Result<Ending, AppError> {
        if !plans.dev_has_tables() {
            return Ok(Ending::Refused(
                "this workspace has no development tables yet: prepare them (a desensitized sample or simulated rows) first"
                    .into(),
            ));
        }
        let session = self.open_session(grant, plans, Env::Dev).await?;
        let plan = match session.plan(&run.stored.sql) {
            Ok(plan) => plan,
            Err(e) => return Ok(Ending::from(&e)),
        };
        run.fields = touched_fields(&plan);
        let output = match session.execute(plan, cancel).await {
            Ok(output) => output,
            Err(e) => {
                if let Some(m) = e.metering() {
                    run.stored.metering = metering_of(m);
                }
                return Ok(Ending::from(&e));
            }
        };
        run.stored.metering = metering_of(&output.metering);
        let (production, fingerprint) = self.production_check(grant, plans, request).await?;
        run.stored.fingerprint = fingerprint;
        run.production = Some(production);
        Ok(Ending::Succeeded(ResultTable::from_batches(
            &output.schema,
            &output.batches,
        )?))
    }

    /// Plans the query against production without reading any row: would it be accepted, and
    /// the fingerprint of its production plan if so.
    async fn production_check(
        &self,
        grant: &Grant,
        plans: &Tables,
        request: &QueryRequest,
    ) -> Result<(Production, Option<String>), AppError> {
        let refused = |reason: String| {
            (
                Production {
                    accepted: false,
                    reason: Some(reason),
                    estimate: None,
                },
                None,
            )
        };
        if !plans.prod_has_data() {
            return Ok(refused("production has no data yet".into()));
        }
        let session = self.open_session(grant, plans, Env::Prod).await?;
        let plan = match session.plan(&request.sql) {
            Ok(plan) => plan,
            Err(e) => return Ok(refused(e.to_string())),
        };
        let estimate = match self.output_check(grant, plans, &session, &plan, request) {
            Ok(estimate) => estimate,
            Err(reason) => return Ok(refused(reason)),
        };
        let fingerprint = match plan_fingerprint(&session, &plan) {
            Ok(f) => f,
            Err(e) => return Ok(refused(e.to_string())),
        };
        Ok((
            Production {
                accepted: true,
                reason: None,
                estimate,
            },
            Some(fingerprint),
        ))
    }

    /// Whether the grant's output control accepts `plan` (no execution).
    fn output_check(
        &self,
        grant: &Grant,
        plans: &Tables,
        session: &SandboxSession,
        plan: &LogicalPlan,
        request: &QueryRequest,
    ) -> Result<Option<DpEstimate>, String> {
        match grant.usage() {
            UsageMethod::Aggregate => {
                apply_aggregate_control(plan, &aggregate_control(grant, plans))
                    .map(|_| None)
                    .map_err(|e| e.to_string())
            }
            UsageMethod::DpAggregate => self
                .dp_preview(grant, plans, session, plan, request)
                .map(Some),
        }
    }

    async fn run_prod(
        &self,
        grant: &Grant,
        plans: &Tables,
        request: &QueryRequest,
        run: &mut Run,
        cancel: &CancellationToken,
    ) -> Result<Ending, AppError> {
        if !plans.prod_has_data() {
            return Ok(Ending::Refused(
                "no granted resource has data yet: the source department must import a dataset first"
                    .into(),
            ));
        }
        let session = self.open_session(grant, plans, Env::Prod).await?;
        let plan = match session.plan(&run.stored.sql) {
            Ok(plan) => plan,
            Err(e) => return Ok(Ending::from(&e)),
        };
        run.fields = touched_fields(&plan);
        let fingerprint = match plan_fingerprint(&session, &plan) {
            Ok(f) => f,
            Err(e) => return Ok(Ending::from(&e)),
        };
        run.stored.fingerprint = Some(fingerprint.clone());
        let Some(dev) = self
            .store
            .succeeded_query_with(grant.id(), Env::Dev.as_str(), &fingerprint)
            .await?
        else {
            return Ok(Ending::Refused(
                "production runs only a query whose plan first ran in development: run it in the development environment, then here unchanged"
                    .into(),
            ));
        };
        run.stored.dev_query = Some(dev);
        match grant.usage() {
            UsageMethod::Aggregate => {
                let control = self
                    .with_unit_rows(aggregate_control(grant, plans), plans, &session, cancel)
                    .await?;
                match session.execute_aggregate(plan, &control, cancel).await {
                    Ok(out) => {
                        run.stored.metering = metering_of(&out.output.metering);
                        run.stored.suppressed_groups = out.suppression.groups;
                        run.stored.suppressed_rows = out.suppression.rows;
                        Ok(Ending::Succeeded(ResultTable::from_batches(
                            &out.output.schema,
                            &out.output.batches,
                        )?))
                    }
                    Err(e) => {
                        if let Some(m) = e.metering() {
                            run.stored.metering = metering_of(m);
                        }
                        Ok(Ending::from(&e))
                    }
                }
            }
            UsageMethod::DpAggregate => {
                self.run_dp(grant, plans, &session, plan, request, run, cancel)
                    .await
            }
        }
    }

    /// `control` with the known bound on rows per privacy unit of each table's dataset, computed
    /// once per dataset (a pass over its unit column) and remembered: with it, aggregates over
    /// one table prove large groups pass from their row counts alone. A bound that cannot be
    /// computed is simply absent (the persons are then counted).
    async fn with_unit_rows(
        &self,
        mut control: AggregateControl,
        plans: &[TablePlan],
        session: &SandboxSession,
        cancel: &CancellationToken,
    ) -> Result<AggregateControl, AppError> {
        let data = self.data()?;
        for plan in plans {
            let (Some(dataset), Some(unit)) = (&plan.dataset, plan.unit_column()) else {
                continue;
            };
            let rows = match data.unit_rows(dataset.id) {
                Some(rows) => rows,
                None => match session.rows_per_unit(&plan.name, &unit, cancel).await {
                    Ok(rows) => {
                        data.set_unit_rows(dataset.id, rows);
                        rows
                    }
                    Err(e) => {
                        tracing::warn!(dataset = %dataset.id, error = %e, "cannot bound the rows per privacy unit");
                        None
                    }
                },
            };
            if let Some(rows) = rows {
                control.rows_per_unit.insert(plan.name.clone(), rows);
            }
        }
        Ok(control)
    }

    /// Stores the query with its event, in one `Tx`; answers the view, or the refusal.
    pub(crate) async fn finish(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        mut run: Run,
        ending: Ending,
    ) -> Result<QueryView, AppError> {
        let (outcome, audit_outcome) = match &ending {
            Ending::Succeeded(_) => ("succeeded", Outcome::Ok),
            Ending::Refused(_) => ("refused", Outcome::Denied),
            Ending::Failed(_) => ("failed", Outcome::Failed),
        };
        run.stored.outcome = outcome.to_owned();
        run.stored.production = run
            .production
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| AppError::Internal(format!("production verdict: {e}")))?;
        match &ending {
            Ending::Succeeded(table) => {
                let (text, digest) = table.stored()?;
                run.stored.result_rows = table.rows.len() as u64;
                run.stored.result = Some(text);
                run.stored.result_sm3 = Some(digest);
            }
            Ending::Refused(reason) | Ending::Failed(reason) => {
                run.stored.reason = Some(reason.clone());
            }
        }
        let q = &run.stored;
        let budget = super::amount_budget(q.epsilon_nano, q.delta_atto);
        let change = QueryEvent {
            query: q.id,
            env: &q.env,
            sql: &q.sql,
            fingerprint: q.fingerprint.as_deref(),
            fields: &run.fields,
            epsilon: budget.epsilon,
            delta: budget.delta,
            result_sm3: q.result_sm3.as_deref(),
            rows: q.result_rows,
            reason: q.reason.as_deref(),
        };
        let detail = format!(
            "{} {}: {}; fields {}; ε {} δ {}; result {}{}",
            q.env,
            outcome,
            q.sql.chars().take(400).collect::<String>(),
            if run.fields.is_empty() {
                "none".to_owned()
            } else {
                run.fields.join(", ")
            },
            budget.epsilon,
            budget.delta,
            q.result_sm3.as_deref().unwrap_or("none"),
            q.reason
                .as_deref()
                .map(|r| format!("; {r}"))
                .unwrap_or_default(),
        );
        let mut tx = self.store.begin().await?;
        tx.insert_query(q).await?;
        if let Some(spend) = &run.spend
            && !self.charge(&mut tx, &run, spend).await?
        {
            // Another query spent the budget meanwhile: nothing of this answer is released.
            tx.rollback().await?;
            let mut refused = run;
            refused.spend = None;
            refused.stored.result = None;
            refused.stored.result_sm3 = None;
            refused.stored.result_rows = 0;
            refused.stored.epsilon_nano = 0;
            refused.stored.delta_atto = 0;
            return Box::pin(
                self.finish(
                    ctx,
                    workspace,
                    refused,
                    Ending::Refused(
                        "the privacy budget was spent by another query meanwhile; see the ledger"
                            .into(),
                    ),
                ),
            )
            .await;
        }
        tx.audit(self.event(
            ctx,
            Action::WorkspaceQuery.as_str(),
            Object::new(WORKSPACE, workspace),
            &change,
            audit_outcome,
            &detail,
        ))
        .await?;
        tx.commit().await?;
        let id = run.stored.id;
        match ending {
            Ending::Succeeded(_) => query_view(workspace, run.stored),
            Ending::Refused(reason) => Err(AppError::Query {
                query: id,
                refused: true,
                reason,
            }),
            Ending::Failed(reason) => Err(AppError::Query {
                query: id,
                refused: false,
                reason,
            }),
        }
    }
}

#[derive(Serialize)]
struct QueryEvent<'a> {
    query: QueryId,
    env: &'a str,
    sql: &'a str,
    fingerprint: Option<&'a str>,
    fields: &'a [String],
    epsilon: f64,
    delta: f64,
    result_sm3: Option<&'a str>,
    rows: u64,
    reason: Option<&'a str>,
}

/// The output control of an `aggregate` grant: its minimum group size, and each table's privacy
/// unit (a table without one is refused by the control: deny by default).
pub(crate) fn aggregate_control(grant: &Grant, plans: &Tables) -> AggregateControl {
    AggregateControl {
        k: u64::from(grant.min_group_size()),
        units: plans.units(),
        rows_per_unit: BTreeMap::new(),
    }
}

/// The fingerprint of a production plan: SM3 of its normalized, optimized form.
pub(crate) fn plan_fingerprint(
    session: &SandboxSession,
    plan: &LogicalPlan,
) -> Result<String, SandboxError> {
    session.fingerprint(plan, &[])
}
