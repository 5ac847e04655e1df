//! Organisations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shuyu_app::NewOrg;
use shuyu_core::OrgId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{NewOrgRequest, OrgOut};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org))
}

/// Organisations visible to the caller.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", responses((status = 200, body = Vec<OrgOut>), (status = 401, body = Problem)))]
async fn list_orgs(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<OrgOut>>, ApiError> {
    let orgs = state.app.orgs(&caller.ctx).await?;
    Ok(Json(orgs.iter().map(OrgOut::from).collect()))
}

/// Register an organisation (platform administrators).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = NewOrgRequest,
    responses((status = 201, body = OrgOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_org(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewOrgRequest>,
) -> Result<(StatusCode, Json<OrgOut>), ApiError> {
    let org = state
        .app
        .create_org(
            &caller.ctx,
            NewOrg {
                name: body.name,
                org_type: body.org_type,
                credit_code: body.credit_code,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(OrgOut::from(&org))))
}

/// One organisation.
#[utoipa::path(get, path = "/api/v1/orgs/{id}", tag = "orgs", params(("id" = String, Path, description = "Organisation id")),
    responses((status = 200, body = OrgOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_org(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<OrgId>,
) -> Result<Json<OrgOut>, ApiError> {
    Ok(Json(OrgOut::from(&state.app.org(&caller.ctx, id).await?)))
}
