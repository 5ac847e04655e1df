//! API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shuyu_core::TokenId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{NewTokenRequest, NewTokenResponse, TokenOut};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// One's own API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenOut>), (status = 401, body = Problem)))]
async fn list_tokens(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<TokenOut>>, ApiError> {
    let tokens = state.app.tokens(&caller.ctx).await?;
    Ok(Json(tokens.iter().map(TokenOut::from).collect()))
}

/// Issue a token acting as one's own organisation and role. The secret is returned once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<NewTokenResponse>), ApiError> {
    let issued = state
        .app
        .create_token(&caller.ctx, &body.name, body.days)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenResponse {
            token: TokenOut::from(&issued.record),
            secret: issued.secret.expose().to_owned(),
        }),
    ))
}

/// Revoke a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = TokenOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn revoke_token(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<TokenId>,
) -> Result<Json<TokenOut>, ApiError> {
    Ok(Json(TokenOut::from(
        &state.app.revoke_token(&caller.ctx, id).await?,
    )))
}
