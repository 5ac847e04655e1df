//! What every response passes through: request ids, problem documents for errors that did not come
//! from a handler (unknown route, wrong method, oversize body), security headers, access logs and
//! metrics. Logs carry method, path, status, latency and request id, never bodies or query strings.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use shuyu_core::{RequestId, Timestamp};

use crate::problem::Problem;
use crate::state::ApiState;

/// Set on every request before any handler runs.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: RequestId,
    pub source: String,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id (the caller's `x-request-id` if it is a UUID, else a new one) and the client
/// address of a request. Shared by the API's and the console's middleware.
pub fn request_meta(request: &Request, now: Timestamp) -> RequestMeta {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<RequestId>().ok())
        .unwrap_or_else(|| {
            let random = uuid::Uuid::new_v4();
            let tail: [u8; 10] =
                std::array::from_fn(|i| random.as_bytes().get(i).copied().unwrap_or(0));
            RequestId::mint(now, tail)
        });
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(addr)| addr.ip().to_string(),
        );
    RequestMeta { request_id, source }
}

/// The headers every response of ours carries: no MIME sniffing, no framing, no referrer, and —
/// where the deployment runs behind TLS (secure cookies on) — HSTS. Shared with the console.
pub fn security_headers(headers: &mut axum::http::HeaderMap, tls: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn install_metrics() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|()| handle)
        })
        .clone()
}

pub(crate) fn wrap(router: Router, state: ApiState) -> Router {
    let limit = state.web.body_limit;
    router
        .fallback(|| async {
            Problem::not_found("there is no such route; see /api/docs for the API")
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn_with_state(state, around))
}

async fn around(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let RequestMeta { request_id, source } = request_meta(&request, state.app.now());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let is_api = path.starts_with("/api/");
    request
        .extensions_mut()
        .insert(RequestMeta { request_id, source });

    let response = next.run(request).await;
    let mut response = problemize(response, &request_id, state.web.body_limit).await;

    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id.to_string()) {
        headers.insert(REQUEST_ID.clone(), v);
    }
    security_headers(headers, state.web.secure_cookies);
    if is_api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics::counter!("shuyu_http_requests_total", "method" => method.to_string(), "status" => status.to_string()).increment(1);
    metrics::histogram!("shuyu_http_request_duration_seconds", "method" => method.to_string())
        .record(elapsed.as_secs_f64());
    tracing::info!(%request_id, %method, path, status, latency_ms = elapsed.as_millis() as u64, "request");
    response
}

/// Makes every error response a problem document carrying the request id: bodiless errors from the
/// router (405, 413, ...) get one, and problems get their `instance`.
async fn problemize(response: Response, request_id: &RequestId, limit: usize) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, limit.max(64 * 1024))
        .await
        .unwrap_or_default();
    let mut problem: Problem = if content_type.starts_with("application/problem+json") {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(mut value) => {
                if let Some(map) = value.as_object_mut() {
                    map.entry("instance")
                        .or_insert_with(|| serde_json::Value::String(request_id.to_string()));
                }
                let mut rebuilt = Response::from_parts(
                    parts,
                    Body::from(serde_json::to_vec(&value).unwrap_or_default()),
                );
                rebuilt.headers_mut().remove(header::CONTENT_LENGTH);
                return rebuilt;
            }
            Err(_) => Problem::internal(),
        }
    } else {
        generic(status)
    };
    problem.instance = Some(request_id.to_string());
    let mut rebuilt = problem.into_response();
    for (name, value) in &parts.headers {
        if name == header::ALLOW || name == header::WWW_AUTHENTICATE {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt
}

fn generic(status: StatusCode) -> Problem {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(
            status,
            "method-not-allowed",
            "Method not allowed",
            "this route does not accept that HTTP method; the Allow header lists those it does",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            status,
            "payload-too-large",
            "Request body too large",
            "the request body is larger than this server accepts; send less",
        ),
        StatusCode::NOT_FOUND => {
            Problem::not_found("there is no such route; see /api/docs for the API")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::new(
            status,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as JSON with Content-Type: application/json",
        ),
        s if s.is_server_error() => Problem::internal(),
        s => Problem::new(
            s,
            "http-error",
            s.canonical_reason().unwrap_or("Error"),
            "the request could not be served",
        ),
    }
}
