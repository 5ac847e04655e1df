//! Single sign-on through the unified identity system: `GET /sso/start` and `GET /sso/callback`.
//!
//! `/sso/start` asks `App::sso_start` for a pending login and sends the browser to the provider,
//! remembering the login's `state` in a cookie (`shuyu_sso`, HttpOnly, SameSite=Lax so that it comes
//! back on the provider's top-level redirect, ten minutes). `/sso/callback` hands the provider's
//! answer and that cookie to `App::sso_finish`, which decides and audits.
//!
//! On success the answer is a page, not a redirect: the session cookie is SameSite=Strict, and a
//! browser does not send it on a redirect chain that began at another site, so the page moves on
//! with `Refresh` (a navigation of our own page, hence same-site) and shows a link.
//!
//! Must never: show the provider's `error_description` (anybody can craft a callback URL), or log
//! the query (it carries the code).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use shuyu_api::{ApiState, session_cookie};
use shuyu_app::{AppError, Ctx, SsoCallback};
use shuyu_policy::Principal;

use crate::layout::{describe_error, public_page};
use crate::web::{Visitor, cookie, local_path, login_csrf_cookie};

const SSO_COOKIE: &str = "shuyu_sso";
const SECURE_SSO_COOKIE: &str = "__Host-shuyu_sso";

fn sso_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SSO_COOKIE
    } else {
        SSO_COOKIE
    }
}

/// `Set-Cookie` for the browser binding of a pending login; `None` clears it.
fn sso_cookie(secure: bool, state: Option<&str>) -> String {
    let name = sso_cookie_name(secure);
    let secure_attr = if secure { "; Secure" } else { "" };
    match state {
        Some(v) => format!(
            "{name}={v}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure_attr}",
            shuyu_app::SSO_LOGIN_SECONDS
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure_attr}"),
    }
}

#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    #[serde(default)]
    next: Option<String>,
}

/// The provider's answer (RFC 6749 4.1.2, RFC 9207). Other parameters a provider adds
/// (`session_state`, `error_description`, ...) are ignored.
#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

/// `GET /sso/start[?next=/path]`: to the unified identity system.
pub(crate) async fn start(
    State(state): State<ApiState>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    if visitor.session.is_some() {
        return Redirect::to("/").into_response();
    }
    let query: StartQuery = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let next = local_path(query.next.as_deref());
    let ctx = anonymous(&visitor);
    match state.app.sso_start(&ctx, Some(&next)).await {
        Ok(started) => {
            let mut response = Redirect::to(&started.redirect_to).into_response();
            append_cookie(
                &mut response,
                &sso_cookie(state.web.secure_cookies, Some(&started.state)),
            );
            response
        }
        Err(err) => failure(&state, &visitor, err),
    }
}

/// `GET /sso/callback?code=…&state=…` (or `?error=…&state=…`): back from the provider.
pub(crate) async fn callback(
    State(state): State<ApiState>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    let secure = state.web.secure_cookies;
    let query: CallbackQuery = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let browser_state = cookie(&visitor.headers, sso_cookie_name(secure));
    let ctx = anonymous(&visitor);
    let answer = SsoCallback {
        state: &query.state,
        code: query.code.as_deref(),
        error: query.error.as_deref(),
        iss: query.iss.as_deref(),
        browser_state: browser_state.as_deref(),
    };
    match state.app.sso_finish(&ctx, answer).await {
        Ok(login) => {
            let lang = visitor.lang;
            let t = lang.texts();
            let next = local_path(Some(&login.return_to));
            let body = html! {
                section.card.login-card {
                    h1 { (t.sso_signed_in_title) }
                    p { a.button.primary href=(next) { (t.sso_continue) } }
                }
            };
            let page = public_page(lang, t.sso_signed_in_title, None, &visitor.request_id, body);
            let mut response = (StatusCode::OK, page).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("0;url={next}")) {
                response.headers_mut().insert("refresh", v);
            }
            for c in [
                session_cookie(
                    secure,
                    Some(login.session.secret.expose()),
                    state.app.settings().login.session_absolute_seconds,
                ),
                sso_cookie(secure, None),
                login_csrf_cookie(secure, None),
            ] {
                append_cookie(&mut response, &c);
            }
            response
        }
        // The binding cookie stays: a forged or mistyped callback must not spoil the sign-in this
        // browser has under way. It expires with the pending login.
        Err(err) => failure(&state, &visitor, err),
    }
}

/// Whoever signs in is nobody yet, even if an older session cookie came along.
fn anonymous(visitor: &Visitor) -> Ctx {
    Ctx {
        principal: Principal::Anonymous,
        ..visitor.ctx.clone()
    }
}

/// The page for a refused or failed single sign-on, with the way back.
fn failure(state: &ApiState, visitor: &Visitor, err: AppError) -> Response {
    let lang = visitor.lang;
    let t = lang.texts();
    let (status, title, message) = describe_error(lang, &visitor.request_id, err);
    let configured = crate::sso_enabled(state);
    let body = html! {
        section.card.error-card {
            h1 { (title) }
            p role="alert" { (message) }
            p {
                @if configured {
                    a.button.secondary href="/sso/start" { (t.sso_try_again) }
                    " "
                }
                a href="/login" { (t.login_title) }
            }
        }
    };
    (
        status,
        public_page(lang, title, None, &visitor.request_id, body),
    )
        .into_response()
}

fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}
