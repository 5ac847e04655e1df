//! Liveness, readiness and Prometheus metrics (public: they reveal no data).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::state::ApiState;
use crate::wire::Health;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Health), (status = 503, body = Problem)))]
async fn readyz(State(state): State<ApiState>) -> Result<Json<Health>, Problem> {
    match state.app.store().ping().await {
        Ok(()) => Ok(Json(Health {
            status: "ready".into(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "Not ready",
                "the database does not answer",
            ))
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    // The secure domain's memory, read at each scrape (sizes and counts only, never data).
    if let Some(cache) = state.app.cache_stats() {
        metrics::gauge!("shuyu_query_cache_bytes").set(cache.bytes as f64);
        metrics::counter!("shuyu_query_cache_hits_total").absolute(cache.hits);
        metrics::counter!("shuyu_query_cache_misses_total").absolute(cache.misses);
    }
    let domain = state.app.query_memory();
    metrics::gauge!("shuyu_query_memory_bytes").set(domain.0 as f64);
    metrics::gauge!("shuyu_query_memory_limit_bytes").set(domain.1 as f64);
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
