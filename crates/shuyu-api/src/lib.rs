//! The HTTP API of shuyu (`/api/v1/...`), plus `/healthz`, `/readyz` and `/metrics`.
//!
//! Handlers are thin: parse the wire input with our own extractors (which turn every rejection into
//! an RFC 9457 problem and refuse unknown fields), call one `shuyu_app::App` use case, and convert the
//! domain answer into a wire type by hand. Access is never decided here: the app asks the policy.
//! Nothing here logs a request body, a secret or a data value.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod caller;
mod extract;
mod middleware;
mod problem;
mod routes;
mod state;
mod wire;

pub use caller::{Caller, SESSION_COOKIE, cookie, session_cookie};
pub use middleware::{RequestMeta, install_metrics, request_meta, security_headers};
pub use problem::Problem;
pub use routes::{PARQUET, audit_csv_header, audit_csv_line, audit_jsonl_line};
pub use state::{ApiState, WebSettings};
pub use wire::AuditEventOut;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shuyu (数域) API",
        description = "Public data authorized operation platform. Errors are RFC 9457 problem documents \
                       (application/problem+json). Authenticate with the session cookie from \
                       /api/v1/auth/login (and send its CSRF token in X-CSRF-Token on unsafe methods) or \
                       with an API token in `Authorization: Bearer syt_...`."
    ),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "auth", description = "Sign-in, sessions and one's own account"),
        (name = "profile", description = "The regulation profile this deployment runs"),
        (name = "orgs", description = "Organisations"),
        (name = "people", description = "People and personnel records (PART-3)"),
        (name = "tokens", description = "API tokens for machine clients"),
        (name = "audit", description = "The SM3 audit chain (AUD-1, AUD-2)"),
        (name = "catalog", description = "The public data catalog: resources, versions, approval, national registration (NAT-1), data quality issues (CAT-1, QLT-1)"),
        (name = "grants", description = "Grants of the secure domain (授权运营域): read, suspend, resume, revoke. No route creates a grant."),
        (name = "freezes", description = "Freezes (SBX-9): a merchant, an operator or a resource's supply stopped with a reason, and lifted with a reason"),
        (name = "workspaces", description = "Workspaces of the secure domain: tables, development tables, queries in development and production, budget ledgers and metering"),
        (name = "fusion", description = "Fusion imports (CC18(3), ZW26): a merchant's own data in its workspace once the authority approves")
    )
)]
struct ApiDoc;

/// The routes with their OpenAPI description, before state is attached.
fn api_router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(routes::router())
}

/// The OpenAPI 3.1 document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = api_router().split_for_parts();
    api
}

/// The API service: routes, Swagger UI, and the middleware that every response passes through.
pub fn router(state: ApiState) -> Router {
    let (routes, api) = api_router().split_for_parts();
    let routes = routes.with_state(state.clone());
    let docs: Router = SwaggerUi::new("/api/docs")
        .url("/api/openapi.json", api)
        .into();
    middleware::wrap(routes.merge(docs), state)
}

/// Every (method, path template) the API serves, from its OpenAPI document.
pub fn routes_table() -> Vec<(String, String)> {
    let api = openapi();
    let mut out = Vec::new();
    for (path, item) in &api.paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in methods {
            if present {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out.sort();
    out
}
