//! Sign-in, sign-out and one's own account.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::{Caller, session_cookie};
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{
    AgreementRequest, LoginRequest, LoginResponse, MeOut, PasswordChangeRequest, PersonOut,
    PersonRecordOut, TotpRenewRequest, TotpRenewResponse,
};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(accept_agreement))
        .routes(routes!(change_password))
        .routes(routes!(renew_totp))
}

/// Sign in with username, password and (where the role needs it) a TOTP code. Sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn login(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let session = state
        .app
        .login(
            &caller.ctx,
            &body.username,
            &body.password,
            body.code.as_deref(),
        )
        .await?;
    let cookie = session_cookie(
        state.web.secure_cookies,
        Some(session.secret.expose()),
        state.app.settings().login.session_absolute_seconds,
    );
    let out = LoginResponse {
        person: PersonOut::from(&session.person),
        csrf_token: session.csrf,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(out)).into_response())
}

/// Sign out: the session ends on every server.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    let Some(session) = &caller.session else {
        return Err(Problem::unauthenticated("there is no session to end").into());
    };
    state.app.logout(&caller.ctx, session).await?;
    let cookie = session_cookie(state.web.secure_cookies, None, 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// One's own account and personnel record.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeOut), (status = 401, body = Problem)))]
async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Json<MeOut>, ApiError> {
    let view = state.app.me(&caller.ctx).await?;
    Ok(Json(MeOut {
        record: PersonRecordOut::from(&view),
        current_agreement_version: state.app.settings().agreement_version.clone(),
    }))
}

/// Accept the current confidentiality agreement (PART-3).
#[utoipa::path(post, path = "/api/v1/me/agreement", tag = "auth", request_body = AgreementRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn accept_agreement(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<AgreementRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .accept_agreement(&caller.ctx, &body.version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change one's password; other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChangeRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn change_password(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChangeRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .change_password(
            &caller.ctx,
            caller.session.as_ref(),
            &body.old_password,
            &body.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace one's TOTP secret (the new one is shown once).
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "auth", request_body = TotpRenewRequest,
    responses((status = 200, body = TotpRenewResponse), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn renew_totp(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<TotpRenewRequest>,
) -> Result<Json<TotpRenewResponse>, ApiError> {
    let secret = state.app.renew_totp(&caller.ctx, &body.password).await?;
    let account = caller
        .session
        .as_ref()
        .map(|s| s.person.username.to_string())
        .unwrap_or_default();
    let uri = secret
        .otpauth_uri(&account)
        .map_err(|e| ApiError::from(shuyu_app::AppError::Internal(e.to_string())))?;
    Ok(Json(TotpRenewResponse {
        totp_secret: secret.base32().to_owned(),
        otpauth_uri: uri,
    }))
}
