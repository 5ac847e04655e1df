//! The regulation profile in force.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{ProfileOut, RuleOut};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(profile))
}

/// The effective rules of this deployment's profile, each with its article.
#[utoipa::path(get, path = "/api/v1/profile", tag = "profile", responses((status = 200, body = ProfileOut), (status = 401, body = Problem)))]
async fn profile(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<ProfileOut>, ApiError> {
    let profile = state.app.read_profile(&caller.ctx).await?;
    let validity = profile.validity_on(state.app.now().date());
    Ok(Json(ProfileOut {
        key: profile.key().to_owned(),
        name: profile.regulation().name.clone(),
        short_name: profile.regulation().short_name.clone(),
        in_force: validity.is_in_force(),
        validity: validity.describe(false),
        rules: profile
            .rules()
            .into_iter()
            .map(|r| RuleOut {
                key: r.key.to_owned(),
                label_zh: r.label_zh.to_owned(),
                label_en: r.label_en.to_owned(),
                value: r.value,
                article: r.article,
            })
            .collect(),
    }))
}
