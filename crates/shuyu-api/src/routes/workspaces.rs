//! Workspaces of the secure domain (issue 5, SBX-1..9): read a workspace and its tables, build its
//! development tables, run queries in development and production, read its queries and ledger.
//!
//! Every handler calls one `App` use case, which asks the policy: the merchant's verified
//! personnel, the authority, supervisors and the operator running the grant read a workspace
//! (`workspace.read`); only the merchant's cleared personnel prepare development tables and run
//! queries (`workspace.prepare`, `workspace.query`). Another organisation's person is refused (403)
//! and an id that does not exist, or a query of another workspace, is not found (404); neither
//! answer names a table, a query's text or a result.
//!
//! What this module guarantees on the wire:
//! - production rows never appear: a production query's `result` is what the grant's output control
//!   released (grouped aggregates with small groups suppressed, or noisy aggregates), nothing else;
//! - a refused or failed query is answered as a 422 problem (`query-refused` / `query-failed`) that
//!   names the stored query (`query_id`) and says why, never quoting a data value;
//! - request bodies refuse unknown fields; `env` and `mode` are read here (by the app's own
//!   parsers) and a wrong one is a 422 problem naming the field. Like every malformed body, that
//!   answer comes before the policy is asked, and says nothing about the workspace.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shuyu_app::{
    AppError, Contribution, DevMode, DevTableInfo, DpEstimate, Env, GrantView, LedgerView,
    MeteringView, Production, QueryRequest, QueryView, ResultTable, WorkspaceField, WorkspaceTable,
    WorkspaceView,
};
use shuyu_core::{QueryId, WorkspaceId};
use shuyu_profile::PrivacyBudget;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::grants::GrantOut;
use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_workspaces))
        .routes(routes!(get_workspace))
        .routes(routes!(prepare_dev_tables))
        .routes(routes!(list_queries, run_query))
        .routes(routes!(get_query))
        .routes(routes!(get_ledger))
}

fn workspace_path(id: WorkspaceId) -> String {
    format!("/api/v1/workspaces/{id}")
}

fn query_path(workspace: WorkspaceId, id: QueryId) -> String {
    format!("/api/v1/workspaces/{workspace}/queries/{id}")
}

/// A workspace in a list: the grant that opens it, its usage method and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceSummaryOut {
    pub id: String,
    pub href: String,
    pub grant_id: String,
    pub merchant_org_id: String,
    pub operator_org_id: String,
    pub scenario: String,
    /// `aggregate` or `dp_aggregate`: how production answers.
    pub usage: String,
    /// The grant's status now: `active`, `suspended`, `expired` or `revoked`.
    pub status: String,
    /// The end of the grant's term (exclusive).
    pub term_to: String,
}

impl From<&GrantView> for WorkspaceSummaryOut {
    fn from(view: &GrantView) -> Self {
        let g = &view.grant;
        Self {
            id: g.workspace().to_string(),
            href: workspace_path(g.workspace()),
            grant_id: g.id().to_string(),
            merchant_org_id: g.merchant().to_string(),
            operator_org_id: g.operator().to_string(),
            scenario: g.scenario().name.clone(),
            usage: g.usage().as_str().to_owned(),
            status: view.status.as_str().to_owned(),
            term_to: g.term().to.to_string(),
        }
    }
}

/// Clamping bounds of a numeric field (differentially private sums and means).
#[derive(Debug, Serialize, ToSchema)]
pub struct BoundsOut {
    pub lower: i64,
    pub upper: i64,
}

/// A field of a workspace table as granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceFieldOut {
    pub name: String,
    pub description: String,
    /// `string`, `integer`, `decimal`, `date`, `timestamp` or `boolean`.
    pub field_type: String,
    pub grade: String,
    /// `visible`, `aggregate_only`, `group_by`, `join_key` or `compare_only`; absent for a privacy
    /// unit that is not granted (it is counted, never used).
    pub column_control: Option<String>,
    /// How development rows show it: `mask`, `hash`, `generalize`, `truncate`, `date_shift`,
    /// `suppress`, `null` or `none`; absent for a privacy unit that is not granted.
    pub desensitization: Option<String>,
    pub bounds: Option<BoundsOut>,
    /// The table's privacy unit: persons or enterprises are counted by it.
    pub privacy_unit: bool,
}

/// A development table, once prepared.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevTableOut {
    /// `sample` or `simulated`.
    pub mode: String,
    pub rows: u64,
    pub dataset_id: String,
    pub created_at: String,
}

impl From<&DevTableInfo> for DevTableOut {
    fn from(d: &DevTableInfo) -> Self {
        Self {
            mode: d.mode.clone(),
            rows: d.rows,
            dataset_id: d.dataset.to_string(),
            created_at: d.created_at.to_string(),
        }
    }
}

/// One table of a workspace: the same name in development and production.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceTableOut {
    /// The name queries use.
    pub name: String,
    pub resource_id: String,
    pub resource_name: String,
    /// The privacy-unit column, if the resource has one.
    pub privacy_unit: Option<String>,
    pub fields: Vec<WorkspaceFieldOut>,
    /// The dataset version production reads, once the resource has data.
    pub dataset_id: Option<String>,
    /// Its row count.
    pub rows: Option<u64>,
    /// The development table, once prepared.
    pub dev: Option<DevTableOut>,
}

fn field_out(f: &WorkspaceField, unit: Option<&str>) -> WorkspaceFieldOut {
    WorkspaceFieldOut {
        name: f.name.clone(),
        description: f.description.clone(),
        field_type: f.field_type.as_str().to_owned(),
        grade: f.grade.clone(),
        column_control: f.column_control.map(|c| c.as_str().to_owned()),
        desensitization: f.desensitization.map(|d| d.as_str().to_owned()),
        bounds: f.bounds.map(|b| BoundsOut {
            lower: b.lower,
            upper: b.upper,
        }),
        privacy_unit: unit == Some(f.name.as_str()),
    }
}

impl From<&WorkspaceTable> for WorkspaceTableOut {
    fn from(t: &WorkspaceTable) -> Self {
        let unit = t.privacy_unit.as_deref();
        Self {
            name: t.name.clone(),
            resource_id: t.resource.to_string(),
            resource_name: t.resource_name.clone(),
            privacy_unit: t.privacy_unit.clone(),
            fields: t.fields.iter().map(|f| field_out(f, unit)).collect(),
            dataset_id: t.dataset.map(|d| d.to_string()),
            rows: t.rows,
            dev: t.dev.as_ref().map(DevTableOut::from),
        }
    }
}

/// A workspace: its grant and its tables with their fields, controls and data.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceOut {
    pub id: String,
    pub href: String,
    pub grant: GrantOut,
    pub tables: Vec<WorkspaceTableOut>,
    /// The workspace's fusion imports, every state (approved ones are tables of its sessions).
    pub fusion: Vec<super::fusion::FusionOut>,
}

impl From<&WorkspaceView> for WorkspaceOut {
    fn from(view: &WorkspaceView) -> Self {
        Self {
            id: view.id.to_string(),
            href: workspace_path(view.id),
            grant: GrantOut::from(&view.grant),
            tables: view.tables.iter().map(WorkspaceTableOut::from).collect(),
            fusion: view
                .fusion
                .iter()
                .map(super::fusion::FusionOut::from)
                .collect(),
        }
    }
}

/// Builds (or rebuilds) the development tables.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareDevRequest {
    /// `sample` (a uniform sample of the real rows, desensitized by the grant's rules) or
    /// `simulated` (rows drawn from the real data's per-column marginals).
    pub mode: String,
    /// Rows per table, 1 to 10 000.
    pub rows: u32,
}

/// A query to run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequestIn {
    /// `dev` (development tables, rows shown) or `prod` (the real data, output controlled; the
    /// same plan must have run in development first).
    pub env: String,
    /// One SQL query over the workspace's tables (at most 64 KiB).
    pub sql: String,
    /// Differentially private grants: the ε this query spends (default: a tenth of the grant's).
    #[serde(default)]
    pub epsilon: Option<f64>,
    /// Differentially private sums and means: clamping bounds `[lower, upper]` per column
    /// (`table.column` or `column`), overriding the grant's.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Vec<f64>>)]
    pub bounds: BTreeMap<String, (f64, f64)>,
    /// Differentially private grants: `L`, the most groups one privacy unit (person or
    /// enterprise) counts in; default and cap from the profile (`[sandbox] dp_contribution`).
    /// More means more noise, not more cost; beyond the cap, a 422 naming the field.
    #[serde(default)]
    pub max_groups_per_unit: Option<u32>,
    /// Differentially private grants: `C`, the most rows one privacy unit counts with per group.
    #[serde(default)]
    pub max_rows_per_unit: Option<u32>,
}

impl QueryRequestIn {
    fn into_request(self) -> Result<QueryRequest, AppError> {
        let env: Env = self.env.parse()?;
        Ok(QueryRequest {
            env,
            sql: self.sql,
            epsilon: self.epsilon,
            bounds: self.bounds,
            max_groups_per_unit: self.max_groups_per_unit,
            max_rows_per_unit: self.max_rows_per_unit,
        })
    }
}

/// A privacy budget (ε, δ).
#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetOut {
    pub epsilon: f64,
    pub delta: f64,
}

impl From<PrivacyBudget> for BudgetOut {
    fn from(b: PrivacyBudget) -> Self {
        Self {
            epsilon: b.epsilon,
            delta: b.delta,
        }
    }
}

/// The work a query (or a workspace's queries together) took: the basis of fees (SBX-8).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeteringOut {
    pub elapsed_ms: f64,
    pub compute_ms: f64,
    pub rows_scanned: u64,
    pub bytes_fetched: u64,
    pub output_bytes: u64,
}

impl From<MeteringView> for MeteringOut {
    fn from(m: MeteringView) -> Self {
        Self {
            elapsed_ms: m.elapsed_ms,
            compute_ms: m.compute_ms,
            rows_scanned: m.rows_scanned,
            bytes_fetched: m.bytes_fetched,
            output_bytes: m.output_bytes,
        }
    }
}

/// A result column.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultColumnOut {
    pub name: String,
    /// The Arrow type, as text (`Int64`, `Utf8`, `Date32`…).
    pub data_type: String,
}

/// A released result: columns, and rows of JSON values (numbers stay numbers, other values are
/// their display text).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOut {
    pub columns: Vec<ResultColumnOut>,
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl From<&ResultTable> for ResultOut {
    fn from(r: &ResultTable) -> Self {
        Self {
            columns: r
                .columns
                .iter()
                .map(|c| ResultColumnOut {
                    name: c.name.clone(),
                    data_type: c.data_type.clone(),
                })
                .collect(),
            rows: r.rows.clone(),
        }
    }
}

/// The expected error of one noisy column.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnErrorOut {
    /// The result column's name (its `AS` alias).
    pub column: String,
    /// `count`, `sum` or `avg` (empty in estimates stored before it was recorded).
    pub aggregate: String,
    /// The 95% half-width of its noise; with `per_rows`, of a mean times its group's row count
    /// (divide by `n` for a group of `n` rows).
    pub ci95: f64,
    pub per_rows: bool,
}

/// How much one privacy unit may contribute to a differentially private query.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionOut {
    /// `L`: the most groups one unit counts in.
    pub groups_per_unit: u32,
    /// `C`: the most rows one unit counts with per group.
    pub rows_per_unit: u32,
}

impl From<Contribution> for ContributionOut {
    fn from(c: Contribution) -> Self {
        Self {
            groups_per_unit: c.groups_per_unit,
            rows_per_unit: c.rows_per_unit,
        }
    }
}

/// What a differentially private production run would cost, and its expected error.
#[derive(Debug, Serialize, ToSchema)]
pub struct DpEstimateOut {
    pub cost: BudgetOut,
    pub mechanism: String,
    pub columns: Vec<ColumnErrorOut>,
    /// The noisy distinct-unit count a group must reach to be released (grouped queries).
    pub threshold: Option<u64>,
    /// `L` and `C` in effect (`L` is 1 for a global aggregate).
    pub contribution: Option<ContributionOut>,
}

impl From<&DpEstimate> for DpEstimateOut {
    fn from(e: &DpEstimate) -> Self {
        Self {
            cost: e.cost.into(),
            mechanism: e.mechanism.clone(),
            columns: e
                .columns
                .iter()
                .map(|c| ColumnErrorOut {
                    column: c.column.clone(),
                    aggregate: c.aggregate.clone(),
                    ci95: c.ci95,
                    per_rows: c.per_rows,
                })
                .collect(),
            threshold: e.threshold,
            contribution: e.contribution.map(ContributionOut::from),
        }
    }
}

/// A development run's verdict on production.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductionOut {
    /// Whether production would accept this query.
    pub accepted: bool,
    /// Why not.
    pub reason: Option<String>,
    pub estimate: Option<DpEstimateOut>,
}

impl From<&Production> for ProductionOut {
    fn from(p: &Production) -> Self {
        Self {
            accepted: p.accepted,
            reason: p.reason.clone(),
            estimate: p.estimate.as_ref().map(DpEstimateOut::from),
        }
    }
}

/// A stored workspace query: its text, outcome, released result and what it cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueryOut {
    pub id: String,
    pub href: String,
    pub workspace_id: String,
    /// `dev` or `prod`.
    pub env: String,
    pub sql: String,
    /// The plan's fingerprint (the link between a development run and production).
    pub fingerprint: Option<String>,
    /// `succeeded`, `refused` or `failed`.
    pub outcome: String,
    pub reason: Option<String>,
    /// A production run: the development run it matched.
    pub dev_query_id: Option<String>,
    /// A repeated differentially private query: the run it was answered from (spending nothing).
    pub repeat_of: Option<String>,
    pub result: Option<ResultOut>,
    /// SM3 digest of the stored result (hex), also on the audit chain.
    pub result_sm3: Option<String>,
    pub result_rows: u64,
    pub budget_spent: BudgetOut,
    pub suppressed_groups: u64,
    pub suppressed_rows: u64,
    /// A query of a differentially private grant: the contribution bounds it asked for.
    pub contribution: Option<ContributionOut>,
    pub metering: MeteringOut,
    pub created_at: String,
    pub created_by: String,
    /// A development run: whether production would accept the query, and why not.
    pub production: Option<ProductionOut>,
}

impl From<&QueryView> for QueryOut {
    fn from(q: &QueryView) -> Self {
        Self {
            id: q.id.to_string(),
            href: query_path(q.workspace, q.id),
            workspace_id: q.workspace.to_string(),
            env: q.env.clone(),
            sql: q.sql.clone(),
            fingerprint: q.fingerprint.clone(),
            outcome: q.outcome.clone(),
            reason: q.reason.clone(),
            dev_query_id: q.dev_query.map(|id| id.to_string()),
            repeat_of: q.repeat_of.map(|id| id.to_string()),
            result: q.result.as_ref().map(ResultOut::from),
            result_sm3: q.result_sm3.clone(),
            result_rows: q.result_rows,
            budget_spent: q.budget_spent.into(),
            suppressed_groups: q.suppressed_groups,
            suppressed_rows: q.suppressed_rows,
            contribution: q.contribution.map(ContributionOut::from),
            metering: q.metering.into(),
            created_at: q.created_at.to_string(),
            created_by: q.created_by.to_string(),
            production: q.production.as_ref().map(ProductionOut::from),
        }
    }
}

/// A population ledger of the merchant's legal entity.
#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationLedgerOut {
    pub population: String,
    pub budget: BudgetOut,
    pub spent: BudgetOut,
}

/// One charge of the grant's budget.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpendOut {
    pub query_id: String,
    pub fingerprint: String,
    pub cost: BudgetOut,
    pub at: String,
}

/// The workspace's queries counted, and their metering summed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsOut {
    pub queries: u64,
    pub refused: u64,
    pub metering: MeteringOut,
    /// Development tables prepared: the desensitization work (SBX-8).
    pub preparation: PreparationOut,
}

/// The development-table preparations of a workspace, summed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreparationOut {
    pub preparations: u64,
    /// Rows of the real data read to sample or to learn marginals from.
    pub rows_read: u64,
    /// Rows written to development tables (desensitized or simulated).
    pub rows_written: u64,
    pub elapsed_ms: f64,
}

/// The budget of a workspace: its grant's ledger, the population ledgers, the charges and the
/// metering totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerOut {
    pub workspace_id: String,
    /// `aggregate` or `dp_aggregate`.
    pub usage: String,
    pub grant_budget: BudgetOut,
    pub grant_spent: BudgetOut,
    pub populations: Vec<PopulationLedgerOut>,
    pub spends: Vec<SpendOut>,
    pub totals: TotalsOut,
}

impl From<&LedgerView> for LedgerOut {
    fn from(l: &LedgerView) -> Self {
        Self {
            workspace_id: l.workspace.to_string(),
            usage: l.usage.clone(),
            grant_budget: l.grant_budget.into(),
            grant_spent: l.grant_spent.into(),
            populations: l
                .populations
                .iter()
                .map(|p| PopulationLedgerOut {
                    population: p.population.clone(),
                    budget: p.budget.into(),
                    spent: p.spent.into(),
                })
                .collect(),
            spends: l
                .spends
                .iter()
                .map(|s| SpendOut {
                    query_id: s.query.to_string(),
                    fingerprint: s.fingerprint.clone(),
                    cost: s.cost.into(),
                    at: s.at.to_string(),
                })
                .collect(),
            totals: TotalsOut {
                queries: l.totals.queries,
                refused: l.totals.refused,
                metering: l.totals.metering.into(),
                preparation: PreparationOut {
                    preparations: l.totals.preparation.preparations,
                    rows_read: l.totals.preparation.rows_read,
                    rows_written: l.totals.preparation.rows_written,
                    elapsed_ms: l.totals.preparation.elapsed_ms,
                },
            },
        }
    }
}

/// The workspaces the caller may read (those of the grants they may read), newest first.
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces",
    responses((status = 200, body = Vec<WorkspaceSummaryOut>), (status = 401, body = Problem)))]
async fn list_workspaces(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<WorkspaceSummaryOut>>, ApiError> {
    let grants = state.app.workspaces(&caller.ctx).await?;
    Ok(Json(grants.iter().map(WorkspaceSummaryOut::from).collect()))
}

/// One workspace: its grant, tables and fields (type, grade, column control, desensitization,
/// bounds, privacy unit), the datasets' rows and the development tables.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    responses((status = 200, body = WorkspaceOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_workspace(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
) -> Result<Json<WorkspaceOut>, ApiError> {
    let view = state.app.workspace(&caller.ctx, id).await?;
    Ok(Json(WorkspaceOut::from(&view)))
}

/// Builds (or rebuilds) the development tables from the real data inside the domain: a
/// desensitized sample or simulated rows (the merchant's cleared personnel; the grant must be live).
#[utoipa::path(post, path = "/api/v1/workspaces/{id}/dev-tables", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    request_body = PrepareDevRequest,
    responses((status = 200, body = WorkspaceOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "no granted resource has data yet"),
        (status = 422, body = Problem, description = "a wrong `mode` or `rows`")))]
async fn prepare_dev_tables(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
    ApiJson(body): ApiJson<PrepareDevRequest>,
) -> Result<Json<WorkspaceOut>, ApiError> {
    let mode: DevMode = body.mode.parse()?;
    let view = state
        .app
        .prepare_dev(&caller.ctx, id, mode, body.rows)
        .await?;
    Ok(Json(WorkspaceOut::from(&view)))
}

/// Runs a query (the merchant's cleared personnel). 201 with the stored query; a query the secure
/// domain refuses or that stops is stored too and answered 422 with its `query_id`.
#[utoipa::path(post, path = "/api/v1/workspaces/{id}/queries", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    request_body = QueryRequestIn,
    responses((status = 201, body = QueryOut, headers(("location" = String, description = "The stored query"))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "bad input (naming the field), or the query was refused (`query-refused`) or stopped (`query-failed`); both name the stored query in `query_id`")))]
async fn run_query(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
    ApiJson(body): ApiJson<QueryRequestIn>,
) -> Result<Response, ApiError> {
    let request = body.into_request()?;
    let view = state.app.run_query(&caller.ctx, id, request).await?;
    let location = HeaderValue::from_str(&query_path(view.workspace, view.id))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(QueryOut::from(&view)),
    )
        .into_response())
}

/// The workspace's latest queries (newest first, at most 100), run or refused.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/queries", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    responses((status = 200, body = Vec<QueryOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_queries(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
) -> Result<Json<Vec<QueryOut>>, ApiError> {
    let queries = state.app.workspace_queries(&caller.ctx, id).await?;
    Ok(Json(queries.iter().map(QueryOut::from).collect()))
}

/// One query of the workspace with its released result.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/queries/{query_id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id"), ("query_id" = String, Path, description = "Query id")),
    responses((status = 200, body = QueryOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_query(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath((id, query_id)): ApiPath<(WorkspaceId, QueryId)>,
) -> Result<Json<QueryOut>, ApiError> {
    let view = state.app.workspace_query(&caller.ctx, id, query_id).await?;
    Ok(Json(QueryOut::from(&view)))
}

/// The workspace's budget ledgers (the grant's and the legal entity's populations), its charges
/// and the metering totals.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/ledger", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    responses((status = 200, body = LedgerOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_ledger(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
) -> Result<Json<LedgerOut>, ApiError> {
    let ledger = state.app.workspace_ledger(&caller.ctx, id).await?;
    Ok(Json(LedgerOut::from(&ledger)))
}
