//! Freezes (SBX-9): stop a merchant organisation (all its workspaces), an operator organisation
//! (every grant it runs) or a resource's supply (every grant over it), with a reason, and lift the
//! freeze with a reason; list the active freezes.
//!
//! Who may: the authority freezes and unfreezes all three; the operator running one of a
//! merchant's grants freezes that merchant and lifts the freezes it set. The authority and
//! supervisors read every active freeze, others those that concern their organisation. A second
//! freeze of a frozen target, or lifting what is not frozen, is 409. Whether an organisation is a
//! merchant or an operator is its type; other organisations are not frozen (422).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shuyu_app::{FreezeTarget, FreezeView};
use shuyu_core::{OrgId, ResourceId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_freezes))
        .routes(routes!(freeze_org))
        .routes(routes!(unfreeze_org))
        .routes(routes!(freeze_supply))
        .routes(routes!(unfreeze_supply))
}

/// A freeze: what it stops, who set it, when and why, and its lifting once lifted.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreezeOut {
    /// `merchant`, `operator` or `resource_supply`.
    pub target_kind: String,
    /// The organisation's or the resource's id.
    pub target_id: String,
    pub frozen_at: String,
    /// The person who set it.
    pub frozen_by: String,
    pub frozen_by_org_id: String,
    pub reason: String,
    /// Set once lifted.
    pub lifted_at: Option<String>,
    pub lifted_by: Option<String>,
    pub lift_reason: Option<String>,
}

impl From<&FreezeView> for FreezeOut {
    fn from(view: &FreezeView) -> Self {
        Self {
            target_kind: view.target.kind().to_owned(),
            target_id: view.target.id_string(),
            frozen_at: view.frozen_at.to_string(),
            frozen_by: view.frozen_by.to_string(),
            frozen_by_org_id: view.frozen_by_org.to_string(),
            reason: view.reason.clone(),
            lifted_at: view.lifted.as_ref().map(|l| l.at.to_string()),
            lifted_by: view.lifted.as_ref().map(|l| l.by.to_string()),
            lift_reason: view.lifted.as_ref().map(|l| l.reason.clone()),
        }
    }
}

/// Why a target is frozen or unfrozen (kept with the freeze and on the audit chain).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeReason {
    /// 1 to 1 000 characters.
    pub reason: String,
}

/// The active freezes the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/freezes", tag = "freezes",
    responses((status = 200, body = Vec<FreezeOut>), (status = 401, body = Problem)))]
async fn list_freezes(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<FreezeOut>>, ApiError> {
    let freezes = state.app.freezes(&caller.ctx).await?;
    Ok(Json(freezes.iter().map(FreezeOut::from).collect()))
}

/// Freezes a merchant organisation (all its workspaces stop; the authority, or the operator
/// running one of its grants) or an operator organisation (every grant it runs stops; the
/// authority). Running queries under it are cancelled.
#[utoipa::path(post, path = "/api/v1/orgs/{id}/freeze", tag = "freezes", params(("id" = String, Path, description = "Organisation id")),
    request_body = FreezeReason,
    responses((status = 200, body = FreezeOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the organisation is frozen already"),
        (status = 422, body = Problem, description = "no reason, or the organisation is neither a merchant nor an operator")))]
async fn freeze_org(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<FreezeReason>,
) -> Result<Json<FreezeOut>, ApiError> {
    let target = state.app.org_freeze_target(&caller.ctx, id).await?;
    let view = state.app.freeze(&caller.ctx, target, &body.reason).await?;
    Ok(Json(FreezeOut::from(&view)))
}

/// Lifts an organisation's freeze (the authority, or the operator that set a merchant's freeze).
#[utoipa::path(post, path = "/api/v1/orgs/{id}/unfreeze", tag = "freezes", params(("id" = String, Path, description = "Organisation id")),
    request_body = FreezeReason,
    responses((status = 200, body = FreezeOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the organisation is not frozen"), (status = 422, body = Problem)))]
async fn unfreeze_org(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<OrgId>,
    ApiJson(body): ApiJson<FreezeReason>,
) -> Result<Json<FreezeOut>, ApiError> {
    let target = state.app.org_freeze_target(&caller.ctx, id).await?;
    let view = state
        .app
        .unfreeze(&caller.ctx, target, &body.reason)
        .await?;
    Ok(Json(FreezeOut::from(&view)))
}

/// Freezes a resource's supply: every grant over it stops (the authority). Running queries over
/// it are cancelled.
#[utoipa::path(post, path = "/api/v1/resources/{id}/supply/freeze", tag = "freezes", params(("id" = String, Path, description = "Resource id")),
    request_body = FreezeReason,
    responses((status = 200, body = FreezeOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the supply is frozen already"), (status = 422, body = Problem)))]
async fn freeze_supply(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<FreezeReason>,
) -> Result<Json<FreezeOut>, ApiError> {
    let view = state
        .app
        .freeze(&caller.ctx, FreezeTarget::ResourceSupply(id), &body.reason)
        .await?;
    Ok(Json(FreezeOut::from(&view)))
}

/// Lifts a resource's supply freeze (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/supply/unfreeze", tag = "freezes", params(("id" = String, Path, description = "Resource id")),
    request_body = FreezeReason,
    responses((status = 200, body = FreezeOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the supply is not frozen"), (status = 422, body = Problem)))]
async fn unfreeze_supply(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<FreezeReason>,
) -> Result<Json<FreezeOut>, ApiError> {
    let view = state
        .app
        .unfreeze(&caller.ctx, FreezeTarget::ResourceSupply(id), &body.reason)
        .await?;
    Ok(Json(FreezeOut::from(&view)))
}
