//! Fusion imports (融合数据, Changchun art. 18(3), Zhongwei art. 26): a merchant brings its own
//! lawfully obtained data into its workspace; the authority approves or rejects it; the merchant
//! may withdraw a pending import; the authority may revoke an approved one.
//!
//! The upload follows the dataset upload: the body is the file (`Content-Type: text/csv` or
//! `application/vnd.apache.parquet`, at most `[storage] max_upload_mib`), authorized before the
//! body is read and spooled encrypted; the declarations are query parameters (`table`,
//! `legal_basis`, `columns` as `name:type[:control]` entries separated by commas, `unit` as
//! `column:resident_id|credit_code`). Every handler calls one `App` use case, which asks the
//! policy; another organisation's person is refused (403) and an unknown id is 404. Nothing here
//! shows a value of the file: an import is described by its declaration, row counts and quality
//! profiles (counts and rates).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shuyu_app::{
    AppError, FusionCommand, FusionState, FusionView, UploadError, fusion_declaration,
};
use shuyu_core::{FusionId, WorkspaceId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::datasets::{FieldQualityOut, too_large, unsupported_media_type, upload_kind};
use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_workspace_fusion, request_fusion))
        .routes(routes!(list_fusion))
        .routes(routes!(get_fusion))
        .routes(routes!(approve_fusion))
        .routes(routes!(reject_fusion))
        .routes(routes!(withdraw_fusion))
        .routes(routes!(revoke_fusion))
}

fn fusion_path(id: FusionId) -> String {
    format!("/api/v1/fusion/{id}")
}

/// One declared column of a fusion import.
#[derive(Debug, Serialize, ToSchema)]
pub struct FusionColumnOut {
    pub name: String,
    /// `string`, `integer`, `decimal`, `date`, `timestamp` or `boolean`.
    pub field_type: String,
    /// Its column control; absent: imported but not exposed.
    pub control: Option<String>,
}

/// A fusion import.
#[derive(Debug, Serialize, ToSchema)]
pub struct FusionOut {
    pub id: String,
    pub href: String,
    pub workspace_id: String,
    pub grant_id: String,
    pub merchant_org_id: String,
    /// Its table name in the workspace.
    pub table: String,
    /// `pending`, `approved`, `rejected`, `withdrawn` or `revoked`.
    pub state: String,
    /// The data's source and legal basis, as the merchant stated it.
    pub legal_basis: String,
    pub columns: Vec<FusionColumnOut>,
    /// The join key / privacy unit column, if any.
    pub unit_column: Option<String>,
    /// `resident_id` or `credit_code`.
    pub unit_format: Option<String>,
    pub rows: u64,
    /// Rows of the development copy (join key hashed).
    pub dev_rows: u64,
    pub input_bytes: u64,
    /// SM3 of the imported (plaintext) Parquet file, hex.
    pub sm3: String,
    pub quality: Vec<FieldQualityOut>,
    pub created_at: String,
    pub created_by: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    /// Why it was rejected or revoked.
    pub reason: Option<String>,
}

impl From<&FusionView> for FusionOut {
    fn from(v: &FusionView) -> Self {
        Self {
            id: v.id.to_string(),
            href: fusion_path(v.id),
            workspace_id: v.workspace.to_string(),
            grant_id: v.grant.to_string(),
            merchant_org_id: v.merchant.to_string(),
            table: v.table.clone(),
            state: v.state.as_str().to_owned(),
            legal_basis: v.legal_basis.clone(),
            columns: v
                .columns
                .iter()
                .map(|c| FusionColumnOut {
                    name: c.name.clone(),
                    field_type: c.field_type.as_str().to_owned(),
                    control: c.control.map(|k| k.as_str().to_owned()),
                })
                .collect(),
            unit_column: v.unit.as_ref().map(|u| u.column.clone()),
            unit_format: v.unit.as_ref().map(|u| {
                match u.format {
                    shuyu_catalog::FormatKind::CreditCode => "credit_code",
                    _ => "resident_id",
                }
                .to_owned()
            }),
            rows: v.rows,
            dev_rows: v.dev_rows,
            input_bytes: v.input_bytes,
            sm3: v.sm3.clone(),
            quality: v
                .quality
                .iter()
                .map(|q| FieldQualityOut {
                    field: q.field.clone(),
                    profile: serde_json::to_value(&q.profile).unwrap_or_default(),
                })
                .collect(),
            created_at: v.created_at.to_string(),
            created_by: v.created_by.to_string(),
            decided_at: v.decided_at.map(|t| t.to_string()),
            decided_by: v.decided_by.map(|p| p.to_string()),
            reason: v.reason.clone(),
        }
    }
}

/// The declarations of an upload. Missing ones are read as empty, so that the policy answers
/// first and the use case then names what is missing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FusionParams {
    /// The table name in the workspace: lower-case letters, digits and `_`, starting with a letter.
    #[serde(default)]
    pub table: String,
    /// The data's source and legal basis (required), e.g. `本企业会员数据，经用户授权`.
    #[serde(default)]
    pub legal_basis: String,
    /// Every column of the file, `name:type` (imported, not exposed) or `name:type:control`,
    /// separated by commas, e.g. `member_id:string:join_key,spend:decimal:aggregate_only`.
    #[serde(default)]
    pub columns: String,
    /// The join key / privacy unit: `column:resident_id` or `column:credit_code`.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Why an import is rejected or revoked (kept with it and on the audit chain).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FusionReason {
    /// 1 to 1 000 characters.
    pub reason: String,
}

/// Filters of the list of fusion imports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FusionFilter {
    /// `pending`, `approved`, `rejected`, `withdrawn` or `revoked`.
    #[serde(default)]
    pub state: Option<String>,
}

/// Request a fusion import into a workspace (the merchant's cleared personnel; the grant must be
/// live). The body is the file; the declarations are query parameters. The file is imported into
/// the domain at once (encrypted under the workspace key) and waits, `pending`, for the
/// authority's review; a column without a control is imported but not exposed.
#[utoipa::path(post, path = "/api/v1/workspaces/{id}/fusion", tag = "fusion",
    params(("id" = String, Path, description = "Workspace id"), FusionParams),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 201, body = FusionOut, headers(("Location" = String, description = "the import, /api/v1/fusion/{id}"))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem, description = "a declaration, the file's columns or values are wrong; nothing was stored"),
        (status = 503, body = Problem, description = "no master key is configured")))]
async fn request_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
    ApiQuery(params): ApiQuery<FusionParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let ctx = &caller.ctx;
    app.check_fusion(ctx, id).await?;
    let kind = upload_kind(&headers).ok_or_else(unsupported_media_type)?;
    let declaration = fusion_declaration(
        &params.table,
        &params.legal_basis,
        &params.columns,
        params.unit.as_deref().unwrap_or(""),
    )?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (source, _) = app
        .spool_fusion_upload(
            ctx,
            id,
            kind,
            declared,
            state.web.upload_limit,
            body.into_data_stream(),
        )
        .await
        .map_err(|e| -> ApiError {
            match e {
                UploadError::TooLarge { limit } => too_large(limit).into(),
                UploadError::Interrupted => {
                    Problem::bad_request("the upload was interrupted before its end; send it again")
                        .into()
                }
                UploadError::App(err) => err.into(),
            }
        })?;
    let view = app.request_fusion(ctx, id, declaration, source).await?;
    let location = HeaderValue::from_str(&fusion_path(view.id))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(FusionOut::from(&view)),
    )
        .into_response())
}

/// The fusion imports of a workspace, every state, oldest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/fusion", tag = "fusion",
    params(("id" = String, Path, description = "Workspace id")),
    responses((status = 200, body = Vec<FusionOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_workspace_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<WorkspaceId>,
) -> Result<Json<Vec<FusionOut>>, ApiError> {
    let all = state.app.workspace_fusions(&caller.ctx, id).await?;
    Ok(Json(all.iter().map(FusionOut::from).collect()))
}

/// The fusion imports the caller may read, newest first: the authority and supervisors all, a
/// merchant's verified personnel their organisation's, an operator those of the grants it runs.
#[utoipa::path(get, path = "/api/v1/fusion", tag = "fusion", params(FusionFilter),
    responses((status = 200, body = Vec<FusionOut>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<FusionFilter>,
) -> Result<Json<Vec<FusionOut>>, ApiError> {
    let wanted = filter
        .state
        .as_deref()
        .map(str::parse::<FusionState>)
        .transpose()
        .map_err(|e| Problem::invalid("state", e))?;
    let all = state.app.fusions(&caller.ctx, wanted).await?;
    Ok(Json(all.iter().map(FusionOut::from).collect()))
}

/// One fusion import.
#[utoipa::path(get, path = "/api/v1/fusion/{id}", tag = "fusion",
    params(("id" = String, Path, description = "Fusion import id")),
    responses((status = 200, body = FusionOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<FusionId>,
) -> Result<Json<FusionOut>, ApiError> {
    let view = state.app.fusion(&caller.ctx, id).await?;
    Ok(Json(FusionOut::from(&view)))
}

async fn moved(
    state: &ApiState,
    caller: &Caller,
    id: FusionId,
    command: FusionCommand,
) -> Result<Json<FusionOut>, ApiError> {
    let view = state.app.move_fusion(&caller.ctx, id, command).await?;
    Ok(Json(FusionOut::from(&view)))
}

/// Approve a pending fusion import: its table joins the workspace (the authority only).
#[utoipa::path(post, path = "/api/v1/fusion/{id}/approve", tag = "fusion",
    params(("id" = String, Path, description = "Fusion import id")),
    responses((status = 200, body = FusionOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the import is not pending")))]
async fn approve_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<FusionId>,
) -> Result<Json<FusionOut>, ApiError> {
    moved(&state, &caller, id, FusionCommand::Approve).await
}

/// Reject a pending fusion import with a reason; its objects are deleted (the authority only).
#[utoipa::path(post, path = "/api/v1/fusion/{id}/reject", tag = "fusion",
    params(("id" = String, Path, description = "Fusion import id")), request_body = FusionReason,
    responses((status = 200, body = FusionOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the import is not pending"), (status = 422, body = Problem)))]
async fn reject_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<FusionId>,
    ApiJson(body): ApiJson<FusionReason>,
) -> Result<Json<FusionOut>, ApiError> {
    moved(
        &state,
        &caller,
        id,
        FusionCommand::Reject {
            reason: body.reason,
        },
    )
    .await
}

/// Withdraw a pending fusion import; its objects are deleted (the merchant's cleared personnel).
#[utoipa::path(post, path = "/api/v1/fusion/{id}/withdraw", tag = "fusion",
    params(("id" = String, Path, description = "Fusion import id")),
    responses((status = 200, body = FusionOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the import is not pending")))]
async fn withdraw_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<FusionId>,
) -> Result<Json<FusionOut>, ApiError> {
    moved(&state, &caller, id, FusionCommand::Withdraw).await
}

/// Revoke an approved fusion import with a reason: its table leaves the workspace, its objects
/// are deleted, running queries of the workspace are cancelled (the authority only).
#[utoipa::path(post, path = "/api/v1/fusion/{id}/revoke", tag = "fusion",
    params(("id" = String, Path, description = "Fusion import id")), request_body = FusionReason,
    responses((status = 200, body = FusionOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the import is not approved"), (status = 422, body = Problem)))]
async fn revoke_fusion(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<FusionId>,
    ApiJson(body): ApiJson<FusionReason>,
) -> Result<Json<FusionOut>, ApiError> {
    moved(
        &state,
        &caller,
        id,
        FusionCommand::Revoke {
            reason: body.reason,
        },
    )
    .await
}
