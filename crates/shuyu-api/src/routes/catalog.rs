//! The public catalog: approved resources' metadata, open to everyone without signing in.

use axum::Json;
use axum::extract::State;
use shuyu_catalog::ResourceId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{CatalogEntryOut, CatalogQueryParams};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_catalog))
        .routes(routes!(get_catalog_entry))
}

/// The public catalog: approved resources' metadata, searchable (no sign-in needed).
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalog", params(CatalogQueryParams),
    responses((status = 200, body = Vec<CatalogEntryOut>), (status = 422, body = Problem)))]
async fn list_catalog(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CatalogQueryParams>,
) -> Result<Json<Vec<CatalogEntryOut>>, ApiError> {
    let entries = state.app.catalog(&caller.ctx, q.to_query()?).await?;
    Ok(Json(
        entries
            .iter()
            .map(|e| CatalogEntryOut::of(e, false))
            .collect(),
    ))
}

/// One approved resource of the public catalog, with its data items.
#[utoipa::path(get, path = "/api/v1/catalog/{id}", tag = "catalog", params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = CatalogEntryOut), (status = 404, body = Problem)))]
async fn get_catalog_entry(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> Result<Json<CatalogEntryOut>, ApiError> {
    let entry = state.app.catalog_entry(&caller.ctx, id).await?;
    Ok(Json(CatalogEntryOut::of(&entry, true)))
}
