//! The web console of shuyu: server-rendered HTML (maud), Chinese by default and English on request,
//! one vendored stylesheet, no JavaScript and no front-end build step.
//!
//! The console owns every path the API does not (`/`, `/login`, `/logout`, `/lang`, `/sso/…`, `/me…`,
//! `/personnel…`, `/audit…`, `/profile`, `/catalog…`, `/resources…`, `/imports/…`, `/grants…`, `/workspaces…`, `/assets/…`); the binary merges [`router`] with
//! `shuyu_api::router`, which owns `/api/*`, `/healthz`, `/readyz`, `/metrics` and the 404 fallback
//! (so this router has none: axum refuses to merge two fallbacks).
//!
//! Handlers are thin, like the API's: read the form or query, call one `shuyu_app::App` use case
//! (which asks the policy and writes the audit chain), render the answer. The console asks
//! `shuyu_policy::decide` only to choose which links and buttons to *show*.
//!
//! Must never:
//! - decide access itself or check roles to allow something (the use cases do; see `web::SignedIn::may`);
//! - accept a signed-in form without the session's CSRF token (`web::Posted`), or the sign-in form
//!   without its double-submit token;
//! - render a secret other than a new API token's, once, on the page that created it;
//! - log a form body, a cookie or a data value;
//! - inline a script or a style (the Content-Security-Policy forbids both).
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod assets;
mod i18n;
mod layout;
mod pages;
mod web;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use shuyu_api::{ApiState, RequestMeta};

pub use i18n::Lang;

/// The console's routes with `state` attached. No fallback: the API router supplies it.
/// What a console upload may carry beside its file: the CSRF part and the multipart framing.
const UPLOAD_FRAMING_BYTES: u64 = 64 * 1024;

pub fn router(state: ApiState) -> Router {
    // The upload's file part is streamed into the spool within `[storage] max_upload_mib`, which
    // the handler enforces itself (a clear page, audited); the whole multipart body may exceed it
    // only by what the other parts and the framing need, so an endless preamble is cut off too.
    let upload_body_limit =
        usize::try_from(state.web.upload_limit.saturating_add(UPLOAD_FRAMING_BYTES))
            .unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(pages::home::page))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/lang", post(pages::login::switch_language))
        .route("/sso/start", get(pages::sso::start))
        .route("/sso/callback", get(pages::sso::callback))
        .route("/me", get(pages::me::page))
        .route("/me/agreement", post(pages::me::accept_agreement))
        .route("/me/password", post(pages::me::change_password))
        .route("/me/tokens", post(pages::me::create_token))
        .route("/me/tokens/{id}/revoke", post(pages::me::revoke_token))
        .route("/personnel", get(pages::personnel::list))
        .route("/personnel/{id}", get(pages::personnel::record))
        .route("/personnel/{id}/verify", post(pages::personnel::verify))
        .route("/personnel/{id}/training", post(pages::personnel::training))
        .route("/personnel/{id}/disable", post(pages::personnel::disable))
        .route("/personnel/{id}/enable", post(pages::personnel::enable))
        .route("/audit", get(pages::audit::search))
        .route("/audit/export", get(pages::audit::export))
        .route("/audit/verify", get(pages::audit::verify))
        .route("/profile", get(pages::profile::page))
        .route("/catalog", get(pages::catalog::list))
        .route("/catalog/{id}", get(pages::catalog::entry))
        .route("/catalog/{id}/issues", post(pages::catalog::raise))
        .route("/resources", get(pages::resources::list))
        .route(
            "/resources/new",
            get(pages::resource_form::new_form).post(pages::resource_form::create),
        )
        .route("/resources/{id}", get(pages::resources::detail))
        .route(
            "/resources/{id}/edit",
            get(pages::resource_form::edit_form).post(pages::resource_form::update),
        )
        .route("/resources/{id}/submit", post(pages::resources::submit))
        .route("/resources/{id}/approve", post(pages::resources::approve))
        .route("/resources/{id}/refuse", post(pages::resources::refuse))
        .route(
            "/resources/{id}/registration",
            post(pages::resources::registration),
        )
        .route(
            "/resources/{id}/registration.json",
            get(pages::resources::package_json),
        )
        .route(
            "/resources/{id}/registration.md",
            get(pages::resources::package_markdown),
        )
        .route(
            "/resources/{id}/datasets",
            post(pages::imports::upload).layer(DefaultBodyLimit::max(upload_body_limit)),
        )
        .route("/imports/{id}", get(pages::imports::job))
        .route("/orgs/{id}", get(pages::freezes::org_page))
        .route("/orgs/{id}/freeze", post(pages::freezes::org_post))
        .route("/resources/{id}/supply", post(pages::freezes::supply_post))
        .route("/grants", get(pages::grants::list))
        .route("/grants/{id}", get(pages::grants::detail))
        .route("/grants/{id}/move", post(pages::grants::move_grant))
        .route("/fusion", get(pages::fusion::list))
        .route("/fusion/{id}/move", post(pages::fusion::move_fusion))
        .route("/workspaces", get(pages::workspaces::list))
        .route("/workspaces/{id}", get(pages::workspaces::page))
        .route("/workspaces/{id}/dev", post(pages::workspaces::prepare))
        .route(
            "/workspaces/{id}/fusion",
            post(pages::imports::fusion_upload).layer(DefaultBodyLimit::max(upload_body_limit)),
        )
        .route("/workspaces/{id}/queries", post(pages::workspaces::run))
        .route(
            "/workspaces/{id}/queries/{query}",
            get(pages::workspaces::query),
        )
        .route("/resources/{id}/issues", post(pages::resources::raise))
        .route(
            "/resources/{id}/issues/{issue}/answer",
            post(pages::resources::answer),
        )
        .route("/assets/shuyu.css", get(assets::stylesheet))
        .route("/assets/favicon.svg", get(assets::favicon))
        .layer(from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// Whether "sign in with unified identity (SSO)" can be used: the deployment configured single
/// sign-on through the city's unified identity authentication system (`[oidc]`; the profile's
/// `identity.unified_identity_sso` says whether the regulation requires it). Then the sign-in page's
/// button is a link to `/sso/start`; otherwise it is shown disabled with a note.
pub fn sso_enabled(state: &ApiState) -> bool {
    state.app.sso().is_some()
}

/// The sign-in button's text: the deployment's own (`oidc.label_zh` / `label_en`), or the default.
pub(crate) fn sso_label(state: &ApiState, lang: Lang) -> String {
    let configured = state.app.sso().map(|sso| match lang {
        Lang::Zh => sso.label_zh.trim(),
        Lang::En => sso.label_en.trim(),
    });
    match configured {
        Some(label) if !label.is_empty() => label.to_owned(),
        _ => lang.texts().login_sso.to_owned(),
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every console response passes through: a request id for the audit chain and the logs,
/// security headers (a strict CSP, no framing, no caching), and one log line per request (method,
/// path, status, latency, request id — never bodies, query strings or cookies).
async fn around(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let RequestMeta { request_id, source } = shuyu_api::request_meta(&request, state.app.now());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request
        .extensions_mut()
        .insert(RequestMeta { request_id, source });

    let mut response = next.run(request).await;

    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id.to_string()) {
        headers.insert(REQUEST_ID.clone(), v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    shuyu_api::security_headers(headers, state.web.secure_cookies);
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(%request_id, %method, path, status, latency_ms, "console request");
    response
}
