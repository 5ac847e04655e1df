//! Import jobs: the progress and outcome of dataset imports (CAT-3).
//!
//! Every import registers a job whose id is the dataset version's id: an upload sent with
//! `Prefer: respond-async` is answered `202 Accepted` with the job and `Location:
//! /api/v1/imports/{id}`, a synchronous one can be watched by others while it runs. A job shows
//! rows and input bytes read, the upload's size and a percentage, and ends `succeeded` (with the
//! dataset version) or `failed` (with the problem the synchronous upload would have answered).
//! Who may read a resource's datasets may read its jobs. Jobs are kept in memory, finished ones
//! for 24 hours (at most 1 000); after that, and after a restart, the outcome is in the dataset
//! list and the audit trail.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shuyu_app::{AppError, ImportJob, ImportState, KEEP_FINISHED, KEEP_FINISHED_SECONDS};
use shuyu_catalog::ResourceId;
use shuyu_core::DatasetId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_import))
        .routes(routes!(list_imports))
}

/// The path of an import job.
pub(super) fn job_path(id: DatasetId) -> String {
    format!("/api/v1/imports/{id}")
}

/// The dataset version a succeeded import created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedDatasetOut {
    /// The dataset version's id (also the job's id).
    pub id: String,
    /// 1, 2, … per resource.
    pub number: u32,
    /// Where the resource's dataset versions are listed.
    pub href: String,
}

/// An import job: how far a dataset import has come, or how it ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJobOut {
    /// The job's id: the id of the dataset version it creates.
    pub id: String,
    pub href: String,
    pub resource_id: String,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    pub started_by: String,
    pub started_by_org: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Data rows read so far.
    pub rows: u64,
    /// Input bytes read so far (CSV; a Parquet upload reports rows only until it ends).
    pub input_bytes: u64,
    /// The upload's size, when known.
    pub total_bytes: Option<u64>,
    /// Whole percent of `total_bytes` read (at most 99 until the import succeeded); absent when
    /// the size is unknown.
    pub percent: Option<u8>,
    /// On success: the dataset version.
    pub dataset: Option<ImportedDatasetOut>,
    /// On failure: the problem the synchronous upload answers (status, title, detail, fields).
    pub problem: Option<Problem>,
}

/// The problem a failed job shows. Internal errors were logged when they happened and are
/// answered generically, as always.
fn failure(err: &AppError) -> Problem {
    match err {
        AppError::Internal(_) => Problem::internal(),
        other => Problem::from(other.clone()),
    }
}

impl From<ImportJob> for ImportJobOut {
    fn from(job: ImportJob) -> Self {
        let percent = job.percent();
        let (dataset, problem) = match &job.state {
            ImportState::Running => (None, None),
            ImportState::Succeeded { dataset, number } => (
                Some(ImportedDatasetOut {
                    id: dataset.to_string(),
                    number: *number,
                    href: format!("/api/v1/resources/{}/datasets", job.resource),
                }),
                None,
            ),
            ImportState::Failed(err) => (None, Some(failure(err))),
        };
        Self {
            id: job.id.to_string(),
            href: job_path(job.id),
            resource_id: job.resource.to_string(),
            state: job.state.as_str().to_owned(),
            started_by: job.started_by.to_string(),
            started_by_org: job.started_by_org.to_string(),
            started_at: job.started_at.to_string(),
            finished_at: job.finished_at.map(|t| t.to_string()),
            rows: job.rows,
            input_bytes: job.input_bytes,
            total_bytes: job.total_bytes,
            percent,
            dataset,
            problem,
        }
    }
}

/// An import job's progress or outcome (who may read the resource's datasets: the provider's
/// source department, the data service agency and the authority). Finished jobs are kept for 24
/// hours (at most 1 000); then the outcome is in the dataset list and the audit trail.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "datasets", params(("id" = String, Path, description = "Import job id (the dataset version's id)")),
    responses((status = 200, body = ImportJobOut), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "unknown or expired job")))]
async fn get_import(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<DatasetId>,
) -> Result<Json<ImportJobOut>, ApiError> {
    match state.app.import_job(&caller.ctx, id).await {
        Ok(job) => Ok(Json(ImportJobOut::from(job))),
        Err(AppError::NotFound { kind: "import job" }) => Err(Problem::not_found(format!(
            "no import job with that id exists, or it is not visible to you; finished jobs are kept for {} hours (at most {KEEP_FINISHED}), after which the outcome is in the resource's dataset versions and the audit trail",
            KEEP_FINISHED_SECONDS / 3600
        ))
        .into()),
        Err(other) => Err(other.into()),
    }
}

/// A resource's import jobs still kept in memory (running, and finished in the last 24 hours),
/// newest first.
#[utoipa::path(get, path = "/api/v1/resources/{id}/imports", tag = "datasets", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = Vec<ImportJobOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_imports(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<Vec<ImportJobOut>>, ApiError> {
    let jobs = state.app.import_jobs(&caller.ctx, id).await?;
    Ok(Json(jobs.into_iter().map(ImportJobOut::from).collect()))
}
