//! People and their personnel records.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shuyu_app::NewPerson;
use shuyu_core::{OrgId, PersonId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{
    NewPersonRequest, NewPersonResponse, PeopleQuery, PersonOut, PersonRecordOut, SsoLinkRequest,
    TrainingOut, TrainingRequest,
};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_people, create_person))
        .routes(routes!(get_person))
        .routes(routes!(verify_person))
        .routes(routes!(record_training))
        .routes(routes!(disable_person))
        .routes(routes!(enable_person))
        .routes(routes!(link_sso))
}

/// People visible to the caller, optionally of one organisation.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleQuery),
    responses((status = 200, body = Vec<PersonOut>), (status = 401, body = Problem)))]
async fn list_people(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PeopleQuery>,
) -> Result<Json<Vec<PersonOut>>, ApiError> {
    let org = q
        .org
        .map(|o| o.parse::<OrgId>())
        .transpose()
        .map_err(|e| Problem::invalid("org", e.to_string()))?;
    let people = state.app.people(&caller.ctx, org).await?;
    Ok(Json(people.iter().map(PersonOut::from).collect()))
}

/// Create an account (platform administrators). A TOTP secret, when requested, is returned once.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = NewPersonRequest,
    responses((status = 201, body = NewPersonResponse), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_person(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewPersonRequest>,
) -> Result<(StatusCode, Json<NewPersonResponse>), ApiError> {
    let org = body
        .org_id
        .parse::<OrgId>()
        .map_err(|e| Problem::invalid("org_id", e.to_string()))?;
    let input = NewPerson {
        org,
        username: body.username,
        display_name: body.display_name,
        role: body.role,
        password: body.password,
        with_totp: body.with_totp,
        verified: false,
    };
    let (person, totp) = state.app.create_person(&caller.ctx, input).await?;
    let uri = totp
        .as_ref()
        .and_then(|t| t.otpauth_uri(person.username.as_str()).ok());
    Ok((
        StatusCode::CREATED,
        Json(NewPersonResponse {
            person: PersonOut::from(&person),
            totp_secret: totp.map(|t| t.base32().to_owned()),
            otpauth_uri: uri,
        }),
    ))
}

/// A person with their personnel record.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonRecordOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_person(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<PersonId>,
) -> Result<Json<PersonRecordOut>, ApiError> {
    Ok(Json(PersonRecordOut::from(
        &state.app.person(&caller.ctx, id).await?,
    )))
}

/// Record that this person's real name was verified (operator compliance staff, administrators).
#[utoipa::path(post, path = "/api/v1/people/{id}/verification", tag = "people", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonRecordOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn verify_person(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<PersonId>,
) -> Result<Json<PersonRecordOut>, ApiError> {
    Ok(Json(PersonRecordOut::from(
        &state.app.verify_person(&caller.ctx, id).await?,
    )))
}

/// Add a security training record.
#[utoipa::path(post, path = "/api/v1/people/{id}/training", tag = "people", params(("id" = String, Path, description = "Person id")), request_body = TrainingRequest,
    responses((status = 201, body = TrainingOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn record_training(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(body): ApiJson<TrainingRequest>,
) -> Result<(StatusCode, Json<TrainingOut>), ApiError> {
    let record = state
        .app
        .record_training(&caller.ctx, id, &body.topic, &body.completed_on)
        .await?;
    Ok((StatusCode::CREATED, Json(TrainingOut::from(&record))))
}

/// Disable an account; its sessions end at once.
#[utoipa::path(post, path = "/api/v1/people/{id}/disable", tag = "people", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonRecordOut), (status = 403, body = Problem)))]
async fn disable_person(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<PersonId>,
) -> Result<Json<PersonRecordOut>, ApiError> {
    Ok(Json(PersonRecordOut::from(
        &state.app.set_person_active(&caller.ctx, id, false).await?,
    )))
}

/// Enable an account; this also lifts a lockout.
#[utoipa::path(post, path = "/api/v1/people/{id}/enable", tag = "people", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonRecordOut), (status = 403, body = Problem)))]
async fn enable_person(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<PersonId>,
) -> Result<Json<PersonRecordOut>, ApiError> {
    Ok(Json(PersonRecordOut::from(
        &state.app.set_person_active(&caller.ctx, id, true).await?,
    )))
}

/// Link this person to an identity of the unified identity system (`<issuer>|<sub>`), or unlink with
/// `null`. Administrators, never for themselves. One identity opens one account.
#[utoipa::path(post, path = "/api/v1/people/{id}/sso", tag = "people", params(("id" = String, Path, description = "Person id")), request_body = SsoLinkRequest,
    responses((status = 200, body = PersonRecordOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn link_sso(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(body): ApiJson<SsoLinkRequest>,
) -> Result<Json<PersonRecordOut>, ApiError> {
    Ok(Json(PersonRecordOut::from(
        &state
            .app
            .link_sso(&caller.ctx, id, body.subject.as_deref())
            .await?,
    )))
}
