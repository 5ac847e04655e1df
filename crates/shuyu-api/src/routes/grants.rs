//! Grants of the secure domain (授权运营域, issue 5): read them, and suspend, resume or revoke one.
//!
//! There is deliberately no route that creates a grant: grants come from the system's one seeding
//! function now (tests, the demo), and from signed development agreements in a later issue. A POST
//! to `/api/v1/grants` is answered 405 (the path exists for GET only), as a problem document.
//!
//! Who may: the authority and supervisors read every grant, an operator the grants it runs, a
//! merchant's real-name-verified personnel their organisation's; the authority and the operator
//! running a grant suspend, resume and revoke it, each with a reason.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shuyu_app::{GrantEvent, GrantView};
use shuyu_core::GrantId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_grants))
        .routes(routes!(get_grant))
        .routes(routes!(suspend_grant))
        .routes(routes!(resume_grant))
        .routes(routes!(revoke_grant))
}

/// A granted field and how the secure domain treats it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantedFieldOut {
    pub name: String,
    /// The field's grade when granted.
    pub grade: String,
    /// `visible`, `aggregate_only`, `group_by`, `join_key` or `compare_only`.
    pub column_control: String,
    /// `mask`, `hash`, `generalize`, `truncate`, `date_shift`, `suppress`, `null` or `none`.
    pub desensitization: String,
}

/// A granted resource: the approved version it was granted on and its fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantedResourceOut {
    pub resource_id: String,
    pub version_id: String,
    pub fields: Vec<GrantedFieldOut>,
}

/// One move of a grant's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantChangeOut {
    /// `suspended`, `resumed` or `revoked`.
    pub event: String,
    pub by: String,
    pub at: String,
    pub reason: String,
}

/// A grant: the exact, time-bound permission of a merchant organisation to use data.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    pub id: String,
    pub href: String,
    pub merchant_org_id: String,
    pub operator_org_id: String,
    pub workspace_id: String,
    pub scenario: String,
    /// `public_governance`, `public_interest` or `industry`.
    pub scenario_category: String,
    pub resources: Vec<GrantedResourceOut>,
    /// `aggregate` or `dp_aggregate`.
    pub usage: String,
    pub term_from: String,
    /// The end of the term (exclusive).
    pub term_to: String,
    /// Groups smaller than this many distinct privacy units are suppressed.
    pub min_group_size: u32,
    pub budget_epsilon: f64,
    pub budget_delta: f64,
    /// `active`, `suspended`, `expired` or `revoked`, now.
    pub status: String,
    /// Made by the system's seeding function, not by a signed development agreement.
    pub seeded: bool,
    pub created_at: String,
    /// Suspensions, resumptions and the revocation, oldest first.
    pub history: Vec<GrantChangeOut>,
}

impl From<&GrantEvent> for GrantChangeOut {
    fn from(event: &GrantEvent) -> Self {
        let (name, by, at, reason) = match event {
            GrantEvent::Suspended { by, at, reason } => ("suspended", by, at, reason),
            GrantEvent::Resumed { by, at, reason } => ("resumed", by, at, reason),
            GrantEvent::Revoked { by, at, reason } => ("revoked", by, at, reason),
        };
        Self {
            event: name.to_owned(),
            by: by.to_string(),
            at: at.to_string(),
            reason: reason.clone(),
        }
    }
}

impl From<&GrantView> for GrantOut {
    fn from(view: &GrantView) -> Self {
        let g = &view.grant;
        let term = g.term();
        let budget = g.budget();
        Self {
            id: g.id().to_string(),
            href: format!("/api/v1/grants/{}", g.id()),
            merchant_org_id: g.merchant().to_string(),
            operator_org_id: g.operator().to_string(),
            workspace_id: g.workspace().to_string(),
            scenario: g.scenario().name.clone(),
            scenario_category: g.scenario().category.as_str().to_owned(),
            resources: g
                .resources()
                .iter()
                .map(|r| GrantedResourceOut {
                    resource_id: r.resource.to_string(),
                    version_id: r.version.to_string(),
                    fields: r
                        .fields
                        .iter()
                        .map(|f| GrantedFieldOut {
                            name: f.name.clone(),
                            grade: f.grade.clone(),
                            column_control: f.column_control.as_str().to_owned(),
                            desensitization: f.desensitization.as_str().to_owned(),
                        })
                        .collect(),
                })
                .collect(),
            usage: g.usage().as_str().to_owned(),
            term_from: term.from.to_string(),
            term_to: term.to.to_string(),
            min_group_size: g.min_group_size(),
            budget_epsilon: budget.epsilon,
            budget_delta: budget.delta,
            status: view.status.as_str().to_owned(),
            seeded: g.seeded(),
            created_at: g.created_at().to_string(),
            history: g.history().iter().map(GrantChangeOut::from).collect(),
        }
    }
}

/// Why a grant is suspended, resumed or revoked (kept in its history and on the audit chain).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantReason {
    /// 1 to 1 000 characters.
    pub reason: String,
}

/// The grants the caller may read, newest first. No route creates a grant.
#[utoipa::path(get, path = "/api/v1/grants", tag = "grants",
    responses((status = 200, body = Vec<GrantOut>), (status = 401, body = Problem)))]
async fn list_grants(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<GrantOut>>, ApiError> {
    let grants = state.app.grants(&caller.ctx).await?;
    Ok(Json(grants.iter().map(GrantOut::from).collect()))
}

/// One grant.
#[utoipa::path(get, path = "/api/v1/grants/{id}", tag = "grants", params(("id" = String, Path, description = "Grant id")),
    responses((status = 200, body = GrantOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_grant(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<GrantId>,
) -> Result<Json<GrantOut>, ApiError> {
    let view = state.app.grant(&caller.ctx, id).await?;
    Ok(Json(GrantOut::from(&view)))
}

/// Suspends an active grant (the authority, or the operator running it).
#[utoipa::path(post, path = "/api/v1/grants/{id}/suspend", tag = "grants", params(("id" = String, Path, description = "Grant id")),
    request_body = GrantReason,
    responses((status = 200, body = GrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the grant is not active"), (status = 422, body = Problem)))]
async fn suspend_grant(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<GrantId>,
    ApiJson(body): ApiJson<GrantReason>,
) -> Result<Json<GrantOut>, ApiError> {
    let view = state
        .app
        .suspend_grant(&caller.ctx, id, body.reason)
        .await?;
    Ok(Json(GrantOut::from(&view)))
}

/// Resumes a suspended grant within its term (the authority, or the operator running it).
#[utoipa::path(post, path = "/api/v1/grants/{id}/resume", tag = "grants", params(("id" = String, Path, description = "Grant id")),
    request_body = GrantReason,
    responses((status = 200, body = GrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the grant is not suspended, or its term is over"), (status = 422, body = Problem)))]
async fn resume_grant(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<GrantId>,
    ApiJson(body): ApiJson<GrantReason>,
) -> Result<Json<GrantOut>, ApiError> {
    let view = state.app.resume_grant(&caller.ctx, id, body.reason).await?;
    Ok(Json(GrantOut::from(&view)))
}

/// Revokes a grant for good (the authority, or the operator running it).
#[utoipa::path(post, path = "/api/v1/grants/{id}/revoke", tag = "grants", params(("id" = String, Path, description = "Grant id")),
    request_body = GrantReason,
    responses((status = 200, body = GrantOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the grant is already revoked"), (status = 422, body = Problem)))]
async fn revoke_grant(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<GrantId>,
    ApiJson(body): ApiJson<GrantReason>,
) -> Result<Json<GrantOut>, ApiError> {
    let view = state.app.revoke_grant(&caller.ctx, id, body.reason).await?;
    Ok(Json(GrantOut::from(&view)))
}
