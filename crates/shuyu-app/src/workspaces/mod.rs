//! Workspaces of the secure domain (issue 5, SBX-1..8): each grant opens one, for the merchant's
//! verified personnel, with two environments over the same table names:
//!
//! - **development** (`dev`): tables made inside the domain from the real data, desensitized
//!   samples or simulated rows ([`dev`]); people see these rows;
//! - **production** (`prod`): the same tables over the real datasets; people never see a row, only
//!   what the grant's usage method lets out (grouped aggregates with small groups suppressed, or
//!   differentially private aggregates), and only for a query whose production plan was first run
//!   in development ([`run`]).
//!
//! Every query, run or refused, is stored as a workspace query with its text, environment,
//! plan fingerprint, released result (JSON) and its SM3 digest, the budget it spent and its
//! metering, and is one `workspace.query` event on the audit chain, in the same transaction.
//! Nothing leaves the domain except what passed the output control.
//!
//! A workspace is addressed by its [`WorkspaceId`]; one the actor may not read is refused like any
//! other object (the refusal audited), and one that does not exist is "not found".

mod dev;
mod dp;
mod fusion;
mod result;
mod run;
mod tables;

use serde::Serialize;
use shuyu_catalog::{FieldType, ResourceId};
use shuyu_core::{DatasetId, PersonId, QueryId, Timestamp, WorkspaceId};
use shuyu_grant::{ClampBounds, Grant};
use shuyu_policy::{Action, Resource};
use shuyu_profile::{ColumnControl, Desensitization, PrivacyBudget};
use shuyu_store::{StoredMetering, StoredQuery};

pub use dev::MAX_DEV_ROWS;
pub use dp::{ColumnError, Contribution, DpEstimate};
pub use fusion::{FusionView, fusion_declaration};
pub use result::{ResultColumn, ResultTable};
pub use run::{Production, QueryRequest};

use crate::grants::GrantView;
use crate::{App, AppError, Ctx, Object};

pub(crate) const WORKSPACE: &str = "workspace";
const NOT_FOUND: AppError = AppError::NotFound { kind: "workspace" };

/// A workspace environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Env {
    /// Development: desensitized or simulated rows, visible.
    Dev,
    /// Production: the real data, outputs controlled.
    Prod,
}

impl Env {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Prod => "prod",
        }
    }
}

impl std::str::FromStr for Env {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" | "development" => Ok(Env::Dev),
            "prod" | "production" => Ok(Env::Prod),
            _ => Err(AppError::invalid("env", "use `dev` or `prod`")),
        }
    }
}

/// How development tables are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DevMode {
    /// A uniform sample of the real rows, desensitized by the grant's rules.
    Sample,
    /// Rows drawn from the real data's per-column marginals.
    Simulated,
}

impl DevMode {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            DevMode::Sample => "sample",
            DevMode::Simulated => "simulated",
        }
    }
}

impl std::str::FromStr for DevMode {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sample" => Ok(DevMode::Sample),
            "simulated" => Ok(DevMode::Simulated),
            _ => Err(AppError::invalid("mode", "use `sample` or `simulated`")),
        }
    }
}

/// A workspace as its people see it: the grant and its tables, and its fusion imports (every
/// state; the approved ones are tables of its sessions too).
#[derive(Debug, Clone)]
pub struct WorkspaceView {
    pub id: WorkspaceId,
    pub grant: GrantView,
    pub tables: Vec<WorkspaceTable>,
    pub fusion: Vec<FusionView>,
}

/// One table of a workspace.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceTable {
    pub name: String,
    pub resource: ResourceId,
    pub resource_name: String,
    /// The privacy-unit column (persons or enterprises are counted by it), if any.
    pub privacy_unit: Option<String>,
    pub fields: Vec<WorkspaceField>,
    /// The dataset version production reads, if the resource has data.
    pub dataset: Option<DatasetId>,
    /// Its row count.
    pub rows: Option<u64>,
    /// The development table, once prepared.
    pub dev: Option<DevTableInfo>,
}

/// A field of a workspace table as granted.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceField {
    pub name: String,
    pub description: String,
    pub field_type: FieldType,
    pub grade: String,
    /// `None` for the privacy unit when it is not granted: it is counted, never used.
    pub column_control: Option<ColumnControl>,
    pub desensitization: Option<Desensitization>,
    pub bounds: Option<ClampBounds>,
}

/// A development table.
#[derive(Debug, Clone, Serialize)]
pub struct DevTableInfo {
    pub mode: String,
    pub rows: u64,
    pub dataset: DatasetId,
    pub created_at: Timestamp,
}

/// A stored workspace query as shown.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    pub id: QueryId,
    pub workspace: WorkspaceId,
    pub env: String,
    pub sql: String,
    pub fingerprint: Option<String>,
    /// `succeeded`, `refused` or `failed`.
    pub outcome: String,
    pub reason: Option<String>,
    pub dev_query: Option<QueryId>,
    pub repeat_of: Option<QueryId>,
    pub result: Option<ResultTable>,
    pub result_sm3: Option<String>,
    pub result_rows: u64,
    pub budget_spent: PrivacyBudget,
    pub suppressed_groups: u64,
    pub suppressed_rows: u64,
    /// A query of a `dp_aggregate` grant: the contribution bounds `L` and `C` it asked for.
    pub contribution: Option<Contribution>,
    pub metering: MeteringView,
    pub created_at: Timestamp,
    pub created_by: PersonId,
    /// A development run: whether production would accept the query, and why not.
    pub production: Option<Production>,
}

/// The work of a query, or of a workspace's queries together.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct MeteringView {
    pub elapsed_ms: f64,
    pub compute_ms: f64,
    pub rows_scanned: u64,
    pub bytes_fetched: u64,
    pub output_bytes: u64,
}

impl From<StoredMetering> for MeteringView {
    fn from(m: StoredMetering) -> Self {
        Self {
            elapsed_ms: m.elapsed_us as f64 / 1000.0,
            compute_ms: m.compute_us as f64 / 1000.0,
            rows_scanned: m.rows_scanned,
            bytes_fetched: m.bytes_fetched,
            output_bytes: m.output_bytes,
        }
    }
}

/// The budget of a workspace: its grant's ledger and the legal entity's population ledgers.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerView {
    pub workspace: WorkspaceId,
    pub usage: String,
    pub grant_budget: PrivacyBudget,
    pub grant_spent: PrivacyBudget,
    pub populations: Vec<PopulationLedgerView>,
    pub spends: Vec<SpendView>,
    pub totals: TotalsView,
}

#[derive(Debug, Clone, Serialize)]
pub struct PopulationLedgerView {
    pub population: String,
    pub budget: PrivacyBudget,
    pub spent: PrivacyBudget,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpendView {
    pub query: QueryId,
    pub fingerprint: String,
    pub cost: PrivacyBudget,
    pub at: Timestamp,
}

/// Metering summed over a workspace's queries (SBX-8): the basis of fees.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TotalsView {
    pub queries: u64,
    pub refused: u64,
    pub metering: MeteringView,
    /// Development tables prepared (desensitization work).
    pub preparation: PreparationView,
}

/// The development-table preparations of a workspace, summed (SBX-8).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PreparationView {
    pub preparations: u64,
    /// Rows of the real data read to sample or to learn marginals from.
    pub rows_read: u64,
    /// Rows written to development tables (desensitized or simulated).
    pub rows_written: u64,
    pub elapsed_ms: f64,
}

pub(crate) fn amount_budget(epsilon_nano: u64, delta_atto: u64) -> PrivacyBudget {
    shuyu_dp::Amount {
        epsilon_nano,
        delta_atto,
    }
    .as_budget()
}

pub(crate) fn resource_of(grant: &Grant) -> Resource {
    Resource::Grant {
        merchant: grant.merchant(),
        operator: grant.operator(),
    }
}

impl App {
    /// The grant of `workspace` once `action` on it is allowed (a refusal is audited).
    pub(crate) async fn authorized_workspace(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        action: Action,
    ) -> Result<Grant, AppError> {
        let grant = self
            .store
            .grant_of_workspace(workspace)
            .await?
            .ok_or(NOT_FOUND)?;
        self.authorize(
            ctx,
            action,
            &resource_of(&grant),
            Object::new(WORKSPACE, workspace),
        )
        .await?;
        Ok(grant)
    }

    /// A workspace: its grant and tables with their fields, controls and data.
    pub async fn workspace(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
    ) -> Result<WorkspaceView, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspaceRead)
            .await?;
        let plans = self.table_plans(&grant).await?;
        let tables = plans
            .iter()
            .map(|plan| {
                let mut fields: Vec<WorkspaceField> = plan
                    .fields
                    .iter()
                    .map(|(g, spec)| WorkspaceField {
                        name: g.name.clone(),
                        description: spec.description().to_owned(),
                        field_type: spec.field_type(),
                        grade: g.grade.clone(),
                        column_control: Some(g.column_control),
                        desensitization: Some(g.desensitization),
                        bounds: g.bounds,
                    })
                    .collect();
                if let Some(unit) = &plan.unit
                    && !fields.iter().any(|f| f.name == unit.name().as_str())
                {
                    fields.push(WorkspaceField {
                        name: unit.name().as_str().to_owned(),
                        description: unit.description().to_owned(),
                        field_type: unit.field_type(),
                        grade: unit.grade().to_owned(),
                        column_control: None,
                        desensitization: None,
                        bounds: None,
                    });
                }
                WorkspaceTable {
                    name: plan.name.clone(),
                    resource: plan.resource.id(),
                    resource_name: plan
                        .resource
                        .current()
                        .map(|v| v.content().metadata().name().as_str().to_owned())
                        .unwrap_or_default(),
                    privacy_unit: plan.unit_column(),
                    fields,
                    dataset: plan.dataset.as_ref().map(|d| d.id),
                    rows: plan.dataset.as_ref().map(|d| d.rows),
                    dev: plan.dev.as_ref().map(|d| DevTableInfo {
                        mode: d.mode.clone(),
                        rows: d.rows,
                        dataset: d.dataset,
                        created_at: d.created_at,
                    }),
                }
            })
            .collect();
        let fusion = self
            .store
            .fusions_of_grant(grant.id())
            .await?
            .into_iter()
            .map(|f| fusion::view(&grant, f))
            .collect::<Result<_, _>>()?;
        let status = grant.status(self.now());
        Ok(WorkspaceView {
            id: workspace,
            grant: GrantView { grant, status },
            tables,
            fusion,
        })
    }

    /// The workspaces the actor may read: those of the grants they may read.
    pub async fn workspaces(&self, ctx: &Ctx) -> Result<Vec<GrantView>, AppError> {
        self.grants(ctx).await
    }

    /// The latest queries of a workspace (newest first, at most 100).
    pub async fn workspace_queries(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
    ) -> Result<Vec<QueryView>, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspaceRead)
            .await?;
        let stored = self.store.workspace_queries(grant.id(), 100).await?;
        stored
            .into_iter()
            .map(|q| query_view(workspace, q))
            .collect()
    }

    /// One query of a workspace with its released result.
    pub async fn workspace_query(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        id: QueryId,
    ) -> Result<QueryView, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspaceRead)
            .await?;
        let stored = self
            .store
            .workspace_query(id)
            .await?
            .filter(|q| q.grant == grant.id())
            .ok_or(AppError::NotFound { kind: "query" })?;
        query_view(workspace, stored)
    }

    /// The budget ledgers and metering of a workspace.
    pub async fn workspace_ledger(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
    ) -> Result<LedgerView, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspaceRead)
            .await?;
        let plans = self.session_tables(&grant).await?;
        let entity = self.legal_entity(&grant).await?;
        let (eps, delta) = self
            .store
            .ledger_total(run::GRANT_LEDGER, &grant.id().to_string())
            .await?;
        let mut populations: Vec<String> = plans
            .iter()
            .map(tables::TablePlan::population)
            .chain(plans.fusion.iter().map(tables::FusionPlan::population))
            .collect();
        populations.sort();
        populations.dedup();
        let mut population_views = Vec::new();
        for population in populations {
            let (e, d) = self
                .store
                .ledger_total(
                    run::POPULATION_LEDGER,
                    &run::population_key(&entity, &population),
                )
                .await?;
            population_views.push(PopulationLedgerView {
                population,
                budget: self.profile.sandbox().population_budget.value,
                spent: amount_budget(e, d),
            });
        }
        let spends = self
            .store
            .spends_of_grant(grant.id())
            .await?
            .into_iter()
            .map(|s| SpendView {
                query: s.query,
                fingerprint: s.fingerprint,
                cost: amount_budget(s.epsilon_nano, s.delta_atto),
                at: s.created_at,
            })
            .collect();
        let totals = self.store.workspace_totals(grant.id()).await?;
        Ok(LedgerView {
            workspace,
            usage: grant.usage().as_str().to_owned(),
            grant_budget: grant.budget(),
            grant_spent: amount_budget(eps, delta),
            populations: population_views,
            spends,
            totals: TotalsView {
                queries: totals.queries,
                refused: totals.refused,
                metering: totals.metering.into(),
                preparation: PreparationView {
                    preparations: totals.preparation.preparations,
                    rows_read: totals.preparation.rows_read,
                    rows_written: totals.preparation.rows_written,
                    elapsed_ms: totals.preparation.elapsed_us as f64 / 1000.0,
                },
            },
        })
    }

    /// The merchant's legal entity (unified social credit code): whose population ledgers apply.
    pub(crate) async fn legal_entity(&self, grant: &Grant) -> Result<String, AppError> {
        let org = self.store.org(grant.merchant()).await?.ok_or_else(|| {
            AppError::Internal(format!("grant {} names a missing merchant", grant.id()))
        })?;
        Ok(org.credit_code.as_str().to_owned())
    }
}

pub(crate) fn query_view(workspace: WorkspaceId, q: StoredQuery) -> Result<QueryView, AppError> {
    let production = q
        .production
        .as_deref()
        .map(serde_json::from_str::<Production>)
        .transpose()
        .map_err(|e| AppError::Internal(format!("query {}: stored verdict: {e}", q.id)))?;
    let result = q
        .result
        .as_deref()
        .map(serde_json::from_str::<ResultTable>)
        .transpose()
        .map_err(|e| AppError::Internal(format!("query {}: stored result: {e}", q.id)))?;
    let contribution = q
        .dp_contribution
        .as_deref()
        .map(serde_json::from_str::<Contribution>)
        .transpose()
        .map_err(|e| AppError::Internal(format!("query {}: stored contribution: {e}", q.id)))?;
    Ok(QueryView {
        id: q.id,
        workspace,
        env: q.env,
        sql: q.sql,
        fingerprint: q.fingerprint,
        outcome: q.outcome,
        reason: q.reason,
        dev_query: q.dev_query,
        repeat_of: q.repeat_of,
        result,
        result_sm3: q.result_sm3,
        result_rows: q.result_rows,
        budget_spent: amount_budget(q.epsilon_nano, q.delta_atto),
        suppressed_groups: q.suppressed_groups,
        suppressed_rows: q.suppressed_rows,
        contribution,
        metering: q.metering.into(),
        created_at: q.created_at,
        created_by: q.created_by,
        production,
    })
}
