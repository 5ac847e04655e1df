//! The routes, one module per area. Every handler takes a [`Caller`](crate::Caller) and calls one
//! `App` use case, which asks the policy.

mod audit;
mod auth;
mod catalog;
mod datasets;
mod freezes;
mod fusion;
mod grants;
mod health;
mod imports;
mod orgs;
mod people;
mod profile;
mod resources;
mod tokens;
mod workspaces;

use utoipa_axum::router::OpenApiRouter;

use crate::state::ApiState;

pub use audit::{
    csv_header as audit_csv_header, csv_line as audit_csv_line, jsonl_line as audit_jsonl_line,
};
pub use datasets::PARQUET;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(profile::router())
        .merge(orgs::router())
        .merge(people::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(catalog::router())
        .merge(resources::router())
        .merge(datasets::router())
        .merge(imports::router())
        .merge(grants::router())
        .merge(freezes::router())
        .merge(workspaces::router())
        .merge(fusion::router())
}
