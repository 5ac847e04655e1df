//! The managed side of the catalog: registering, editing, submitting and reviewing resources,
//! version differences, national registration records and their package, data quality issues.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shuyu_app::{NewResource, RegistrationInput, RegistrationStep};
use shuyu_catalog::{Document, QualityIssueId, ResourceId};
use shuyu_core::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{
    AnswerRequest, BadInput, CancelRequest, ChangeOut, ChangeRequest, DiffQuery, DocumentWire,
    EditResourceRequest, NewQualityIssueRequest, NewResourceRequest, NoticeRequest,
    QualityIssueOut, QualityIssuesOut, ReasonsRequest, RefuseRequest, RegisterRequest,
    RegistrationDetailsRequest, RegistrationOut, ResourceListQuery, ResourceOut, ResourcePage,
    ResourceSummaryOut,
};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, register_resource))
        .routes(routes!(get_resource))
        .routes(routes!(edit_resource))
        .routes(routes!(submit_resource))
        .routes(routes!(approve_resource))
        .routes(routes!(refuse_resource))
        .routes(routes!(diff_resource))
        .routes(routes!(get_registration, update_registration))
        .routes(routes!(submit_registration))
        .routes(routes!(review_registration))
        .routes(routes!(return_registration))
        .routes(routes!(notice_registration))
        .routes(routes!(register_registration))
        .routes(routes!(change_registration))
        .routes(routes!(cancel_registration))
        .routes(routes!(package_json))
        .routes(routes!(package_markdown))
        .routes(routes!(list_issues, raise_issue))
        .routes(routes!(answer_issue))
}

async fn resource_out(
    state: &ApiState,
    caller: &Caller,
    resource: &shuyu_catalog::Resource,
) -> Result<ResourceOut, ApiError> {
    // The view adds the provider's name and authorizability; the caller was allowed the change.
    let view = state.app.resource(&caller.ctx, resource.id()).await?;
    Ok(ResourceOut::from(&view))
}

/// Resources the caller manages or oversees (drafts included), newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/resources", tag = "catalog", params(ResourceListQuery),
    responses((status = 200, body = ResourcePage), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list_resources(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ResourceListQuery>,
) -> Result<Json<ResourcePage>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid("limit", "limit is 1 to 500").into());
    }
    let offset = q.offset.unwrap_or(0);
    let all = state.app.resources(&caller.ctx).await?;
    let total = all.len() as u64;
    let resources: Vec<ResourceSummaryOut> = all
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .map(ResourceSummaryOut::from)
        .collect();
    let end = offset.saturating_add(resources.len() as u64);
    Ok(Json(ResourcePage {
        resources,
        total,
        next_offset: (end < total).then_some(end),
    }))
}

/// Register a resource (source department staff, or the data service agency for one); its first
/// version is a draft.
#[utoipa::path(post, path = "/api/v1/resources", tag = "catalog", request_body = NewResourceRequest,
    responses((status = 201, body = ResourceOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn register_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewResourceRequest>,
) -> Result<(StatusCode, Json<ResourceOut>), ApiError> {
    let provider = body
        .provider_org_id
        .as_deref()
        .map(|p| {
            p.trim()
                .parse()
                .map_err(|_| BadInput::new("provider_org_id", "not an organisation id"))
        })
        .transpose()?;
    let draft = body.draft.into_draft()?;
    let resource = state
        .app
        .register_resource(&caller.ctx, NewResource { provider, draft })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(resource_out(&state, &caller, &resource).await?),
    ))
}

/// A resource with all its versions, states and review reasons, and whether it may be authorized.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = ResourceOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<ResourceOut>, ApiError> {
    let view = state.app.resource(&caller.ctx, id).await?;
    Ok(Json(ResourceOut::from(&view)))
}

/// Draft a new version (when no version is pending).
#[utoipa::path(post, path = "/api/v1/resources/{id}/versions", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = EditResourceRequest,
    responses((status = 201, body = ResourceOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn edit_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<EditResourceRequest>,
) -> Result<(StatusCode, Json<ResourceOut>), ApiError> {
    let draft = body.draft.into_draft()?;
    let resource = state.app.edit_resource(&caller.ctx, id, draft).await?;
    Ok((
        StatusCode::CREATED,
        Json(resource_out(&state, &caller, &resource).await?),
    ))
}

/// Submit the pending draft for the authority's approval.
#[utoipa::path(post, path = "/api/v1/resources/{id}/submit", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = ResourceOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn submit_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<ResourceOut>, ApiError> {
    let resource = state.app.submit_resource(&caller.ctx, id).await?;
    Ok(Json(resource_out(&state, &caller, &resource).await?))
}

/// Approve the submitted version (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/approve", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = ResourceOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn approve_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<ResourceOut>, ApiError> {
    let resource = state.app.approve_resource(&caller.ctx, id).await?;
    Ok(Json(resource_out(&state, &caller, &resource).await?))
}

/// Refuse the submitted version with reasons (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/refuse", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = RefuseRequest,
    responses((status = 200, body = ResourceOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refuse_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<RefuseRequest>,
) -> Result<Json<ResourceOut>, ApiError> {
    let resource = state
        .app
        .refuse_resource(&caller.ctx, id, body.reasons)
        .await?;
    Ok(Json(resource_out(&state, &caller, &resource).await?))
}

/// Field-level differences between two versions (by number).
#[utoipa::path(get, path = "/api/v1/resources/{id}/diff", tag = "catalog", params(("id" = String, Path, description = "Resource id"), DiffQuery),
    responses((status = 200, body = Vec<ChangeOut>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn diff_resource(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<Vec<ChangeOut>>, ApiError> {
    let changes = state
        .app
        .resource_diff(&caller.ctx, id, q.from, q.to)
        .await?;
    Ok(Json(changes.iter().map(ChangeOut::from).collect()))
}

async fn step(
    state: &ApiState,
    caller: &Caller,
    id: ResourceId,
    step: RegistrationStep,
) -> Result<Json<RegistrationOut>, ApiError> {
    let record = state.app.registration_step(&caller.ctx, id, step).await?;
    Ok(Json(RegistrationOut::from(&record)))
}

/// The national registration record of a resource (NAT-1).
#[utoipa::path(get, path = "/api/v1/resources/{id}/registration", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<RegistrationOut>, ApiError> {
    let record = state.app.registration(&caller.ctx, id).await?;
    Ok(Json(RegistrationOut::from(&record)))
}

/// Write the registration details; the first time creates the record for the approved version.
#[utoipa::path(put, path = "/api/v1/resources/{id}/registration", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = RegistrationDetailsRequest,
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn update_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<RegistrationDetailsRequest>,
) -> Result<Json<RegistrationOut>, ApiError> {
    let doc = |d: DocumentWire| Document {
        title: d.title,
        reference: d.reference,
    };
    let input = RegistrationInput {
        agent_name: body.agent_name,
        agent_phone: body.agent_phone,
        storage_location: body.storage_location,
        storage_method: body.storage_method,
        documents: body.documents.into_iter().map(doc).collect(),
        commitment_letter: doc(body.commitment_letter),
    };
    step(&state, &caller, id, RegistrationStep::UpdateDetails(input)).await
}

/// Submit the registration record (provider or authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/submit", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn submit_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<RegistrationOut>, ApiError> {
    step(&state, &caller, id, RegistrationStep::Submit).await
}

/// Start the review of a submitted record (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/review", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn review_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<RegistrationOut>, ApiError> {
    step(&state, &caller, id, RegistrationStep::StartReview).await
}

/// Return the record to the provider with what to correct (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/return", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = ReasonsRequest,
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn return_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<ReasonsRequest>,
) -> Result<Json<RegistrationOut>, ApiError> {
    step(
        &state,
        &caller,
        id,
        RegistrationStep::Return {
            reasons: body.reasons,
        },
    )
    .await
}

/// Publish the public notice until a date (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/notice", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = NoticeRequest,
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn notice_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<NoticeRequest>,
) -> Result<Json<RegistrationOut>, ApiError> {
    let until = Timestamp::parse(&body.until).ok_or_else(|| {
        Problem::invalid("until", "write a date (YYYY-MM-DD) or an RFC 3339 time")
    })?;
    step(
        &state,
        &caller,
        id,
        RegistrationStep::PublishNotice { until },
    )
    .await
}

/// Record the registration with the national platform's result code (the authority).
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/register", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = RegisterRequest,
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn register_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Json<RegistrationOut>, ApiError> {
    step(
        &state,
        &caller,
        id,
        RegistrationStep::Register {
            result_code: body.result_code,
        },
    )
    .await
}

/// Record a change of a registered resource (变更登记), for its current approved version.
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/change", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = ChangeRequest,
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn change_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<ChangeRequest>,
) -> Result<Json<RegistrationOut>, ApiError> {
    step(
        &state,
        &caller,
        id,
        RegistrationStep::RecordChange {
            summary: body.summary,
        },
    )
    .await
}

/// Cancel the registration (注销登记), with a reason.
#[utoipa::path(post, path = "/api/v1/resources/{id}/registration/cancel", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = CancelRequest,
    responses((status = 200, body = RegistrationOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn cancel_registration(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<CancelRequest>,
) -> Result<Json<RegistrationOut>, ApiError> {
    step(
        &state,
        &caller,
        id,
        RegistrationStep::Cancel {
            reason: body.reason,
        },
    )
    .await
}

fn download(content_type: &str, name: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The registration package for the national platform, as JSON.
#[utoipa::path(get, path = "/api/v1/resources/{id}/registration/package.json", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, description = "application/json download"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn package_json(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Response, ApiError> {
    let (json, _) = state.app.registration_package(&caller.ctx, id).await?;
    let body = serde_json::to_string_pretty(&json).map_err(|_| Problem::internal())?;
    Ok(download(
        "application/json",
        format!("registration-{id}.json"),
        body,
    ))
}

/// The registration package for the national platform, as Markdown.
#[utoipa::path(get, path = "/api/v1/resources/{id}/registration/package.md", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, description = "text/markdown download"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn package_markdown(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Response, ApiError> {
    let (_, md) = state.app.registration_package(&caller.ctx, id).await?;
    Ok(download(
        "text/markdown; charset=utf-8",
        format!("registration-{id}.md"),
        md,
    ))
}

/// The quality issues of a resource the caller may see, with overdue flags and counts.
#[utoipa::path(get, path = "/api/v1/resources/{id}/issues", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = QualityIssuesOut), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn list_issues(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<QualityIssuesOut>, ApiError> {
    let found = state.app.quality_issues(&caller.ctx, id).await?;
    Ok(Json(QualityIssuesOut {
        issues: found
            .issues
            .iter()
            .map(|(i, s)| QualityIssueOut::of(i, *s))
            .collect(),
        counts: found.counts.into(),
    }))
}

/// Raise a data quality issue on an approved resource or one of its fields (operator, merchant).
#[utoipa::path(post, path = "/api/v1/resources/{id}/issues", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    request_body = NewQualityIssueRequest,
    responses((status = 201, body = QualityIssueOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn raise_issue(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
    ApiJson(body): ApiJson<NewQualityIssueRequest>,
) -> Result<(StatusCode, Json<QualityIssueOut>), ApiError> {
    let issue = state
        .app
        .raise_quality_issue(&caller.ctx, id, body.field, &body.text)
        .await?;
    let status = issue.status(state.app.now());
    Ok((
        StatusCode::CREATED,
        Json(QualityIssueOut::of(&issue, status)),
    ))
}

/// Answer a quality issue (the providing source department).
#[utoipa::path(post, path = "/api/v1/resources/{id}/issues/{issue}/answer", tag = "catalog",
    params(("id" = String, Path, description = "Resource id"), ("issue" = String, Path, description = "Quality issue id")),
    request_body = AnswerRequest,
    responses((status = 200, body = QualityIssueOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn answer_issue(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath((id, issue)): ApiPath<(ResourceId, QualityIssueId)>,
    ApiJson(body): ApiJson<AnswerRequest>,
) -> Result<Json<QualityIssueOut>, ApiError> {
    let issue = state
        .app
        .answer_quality_issue(&caller.ctx, id, issue, body.answer)
        .await?;
    let status = issue.status(state.app.now());
    Ok(Json(QualityIssueOut::of(&issue, status)))
}
