//! Datasets: uploading a dataset version of a resource (CSV or Parquet) and listing its versions
//! with their quality profiles.
//!
//! An upload is authorized before its body is read, then spooled to an anonymous temporary file
//! encrypted under a throwaway key (`shuyu_engine::SpoolWriter`: no plaintext touches the disk),
//! counted against `[storage] max_upload_mib` (413 beyond it), and imported from the spool by the
//! app (the engine's reader is synchronous; the app runs it on a blocking thread). Progress is
//! logged per batch with the request id and recorded on the import's job (`imports.rs`): with
//! `Prefer: respond-async` (RFC 7240) the upload is answered `202 Accepted` with the job as soon as
//! it is spooled and checked, and the import goes on in a background task; without it the
//! answer waits for the import (201), and the job can still be watched. Refusals before the body
//! is accepted (401, 403, 404, 413, 415, 503) are the same in both modes.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shuyu_app::{AppError, Ctx, DatasetView, ImportSource, UploadError, UploadKind, log_progress};
use shuyu_catalog::ResourceId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;

use super::imports::{self, ImportJobOut};

/// The media type of Parquet uploads.
pub const PARQUET: &str = "application/vnd.apache.parquet";

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_datasets, import_dataset))
}

/// The quality profile of one field: counts, rates and lengths, never values.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldQualityOut {
    pub field: String,
    /// `rows`, `nulls`, `null_rate`, `distinct`, `extent`, `valid`, `invalid`, `validity_rate`.
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
}

/// A dataset version: data hooked to an approved resource version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetOut {
    pub id: String,
    pub resource_id: String,
    pub resource_version_id: String,
    /// The resource version's number the data is hooked to.
    pub resource_version: u32,
    /// 1, 2, … per resource.
    pub number: u32,
    pub rows: u64,
    pub input_bytes: u64,
    pub parquet_bytes: u64,
    /// SM3 of the stored (plaintext) Parquet file, hex.
    pub sm3: String,
    /// `utf8` or `gb18030` for CSV uploads; absent for Parquet.
    pub encoding: Option<String>,
    pub quality: Vec<FieldQualityOut>,
    pub created_at: String,
    pub created_by: String,
}

impl From<DatasetView> for DatasetOut {
    fn from(v: DatasetView) -> Self {
        Self {
            id: v.id.to_string(),
            resource_id: v.resource.to_string(),
            resource_version_id: v.resource_version.to_string(),
            resource_version: v.resource_number,
            number: v.number,
            rows: v.rows,
            input_bytes: v.input_bytes,
            parquet_bytes: v.parquet_bytes,
            sm3: v.sm3,
            encoding: v.encoding,
            quality: v
                .quality
                .into_iter()
                .map(|q| FieldQualityOut {
                    field: q.field,
                    profile: serde_json::to_value(q.profile).unwrap_or_default(),
                })
                .collect(),
            created_at: v.created_at.to_string(),
            created_by: v.created_by.to_string(),
        }
    }
}

/// The dataset versions of a resource with their quality profiles (the provider's source
/// department, the data service agency and the authority).
#[utoipa::path(get, path = "/api/v1/resources/{id}/datasets", tag = "datasets", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = Vec<DatasetOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_datasets(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<Vec<DatasetOut>>, ApiError> {
    let all = state.app.datasets(&caller.ctx, id).await?;
    Ok(Json(all.into_iter().map(DatasetOut::from).collect()))
}

pub(super) fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Upload too large",
        format!(
            "the upload is larger than this server accepts ({} MiB, `[storage] max_upload_mib`); nothing was written",
            limit / (1024 * 1024)
        ),
    )
}

static PREFER: HeaderName = HeaderName::from_static("prefer");
static PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// Whether the request asks for an asynchronous answer (`Prefer: respond-async`, RFC 7240).
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all(&PREFER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.split([';', '=']).next())
        .any(|token| token.trim().eq_ignore_ascii_case("respond-async"))
}

/// The kind of upload its `Content-Type` names, if it is one we import.
pub(super) fn upload_kind(headers: &HeaderMap) -> Option<UploadKind> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/csv" => Some(UploadKind::Csv),
        PARQUET | "application/x-parquet" => Some(UploadKind::Parquet),
        _ => None,
    }
}

pub(super) fn unsupported_media_type() -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!("send the file with Content-Type: text/csv or {PARQUET}"),
    )
}

/// Spools the body encrypted, within `[storage] max_upload_mib` (an upload over it is refused
/// with 413 and audited; see `App::spool_upload`). Returns the source to import and its size.
async fn spool_upload(
    state: &ApiState,
    ctx: &Ctx,
    id: ResourceId,
    headers: &HeaderMap,
    body: Body,
    kind: UploadKind,
) -> Result<(ImportSource, u64), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    state
        .app
        .spool_upload(
            ctx,
            id,
            kind,
            declared,
            state.web.upload_limit,
            body.into_data_stream(),
        )
        .await
        .map_err(|e| match e {
            UploadError::TooLarge { limit } => too_large(limit).into(),
            UploadError::Interrupted => {
                Problem::bad_request("the upload was interrupted before its end; send it again")
                    .into()
            }
            UploadError::App(err) => err.into(),
        })
}

/// Import a dataset version: the body is the file, `Content-Type: text/csv` (UTF-8 or GB18030,
/// detected) or `application/vnd.apache.parquet`. Its columns must be the registered fields of
/// the approved version. The provider's source department or the data service agency only.
///
/// With `Prefer: respond-async` the answer is `202 Accepted` as soon as the upload is spooled,
/// with `Location: /api/v1/imports/{id}` and the job; the import goes on in the background and
/// its failure (422, 409, …) becomes the job's `problem`. Without it the answer waits for the
/// import (201 with the dataset version); either way the job can be watched.
#[utoipa::path(post, path = "/api/v1/resources/{id}/datasets", tag = "datasets",
    params(("id" = String, Path, description = "Resource id"),
        ("Prefer" = Option<String>, Header, description = "`respond-async`: answer 202 with the import job instead of waiting")),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 201, body = DatasetOut),
        (status = 202, body = ImportJobOut, description = "accepted (Prefer: respond-async): poll the job at Location",
            headers(("Location" = String, description = "the import job, /api/v1/imports/{id}"),
                ("Preference-Applied" = String, description = "respond-async"))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "duplicate upload, or no approved version"),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem, description = "columns or values do not fit the registered fields"),
        (status = 503, body = Problem, description = "no master key is configured")))]
async fn import_dataset(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let ctx = &caller.ctx;
    app.check_import(ctx, id).await?;
    let kind = upload_kind(&headers).ok_or_else(unsupported_media_type)?;
    let (source, size) = spool_upload(&state, ctx, id, &headers, body, kind).await?;
    if !prefers_async(&headers) {
        let pending = app.begin_import(ctx, id, Some(size)).await?;
        let view = app
            .run_import(ctx, pending, source, log_progress(ctx))
            .await?;
        return Ok((StatusCode::CREATED, Json(DatasetOut::from(view))).into_response());
    }
    let job = app.start_import(ctx, id, source, size).await?;
    let location = HeaderValue::from_str(&imports::job_path(job.id))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        [
            (header::LOCATION, location),
            (
                PREFERENCE_APPLIED.clone(),
                HeaderValue::from_static("respond-async"),
            ),
        ],
        Json(ImportJobOut::from(job)),
    )
        .into_response())
}
