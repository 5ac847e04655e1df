//! Signing in and out, and the language switch.
//!
//! The sign-in form is protected by a double-submit token: `GET /login` sets a random
//! `shuyu_login_csrf` cookie (HttpOnly, SameSite=Strict) and puts the same value in the form; `POST
//! /login` refuses a form whose `_csrf` field does not match the cookie. The language switch carries
//! the session's CSRF token when signed in, the login token otherwise.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use shuyu_api::{ApiState, session_cookie};
use shuyu_app::{AppError, Ctx};
use shuyu_policy::Principal;

use crate::i18n::{Lang, fill};
use crate::layout::{bare_error, describe_error, lang_switch, public_page};
use crate::web::{
    CSRF_FIELD, NoFields, Posted, Visitor, constant_time_eq, form_pairs, fresh_login_token,
    lang_cookie, local_path, login_csrf, login_csrf_cookie, parse_fields, see_other_with_cookies,
    take_csrf,
};
use crate::{sso_enabled, sso_label};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginFields {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: Option<String>,
}

/// What the form shows again after a failed attempt (never the password).
#[derive(Debug, Default)]
struct Attempt {
    username: String,
    error: Option<String>,
    code_needed: bool,
}

/// `GET /login`. Signed-in visitors go home.
pub(crate) async fn form(State(state): State<ApiState>, visitor: Visitor) -> Response {
    if visitor.session.is_some() {
        return Redirect::to("/").into_response();
    }
    let token =
        login_csrf(&visitor.headers, state.web.secure_cookies).unwrap_or_else(fresh_login_token);
    render(
        &state,
        &visitor,
        &token,
        &Attempt::default(),
        StatusCode::OK,
    )
}

/// `POST /login`: checks the double-submit token, then `App::login`.
pub(crate) async fn submit(
    State(state): State<ApiState>,
    visitor: Visitor,
    body: Body,
) -> Response {
    let secure = state.web.secure_cookies;
    let lang = visitor.lang;
    let t = lang.texts();
    let mut pairs = match form_pairs(body, state.web.body_limit).await {
        Ok(pairs) => pairs,
        Err(e) => {
            return bare_error(
                lang,
                &visitor.request_id,
                e.status(),
                t.error_title,
                e.message(lang),
            );
        }
    };
    let presented = take_csrf(&mut pairs).unwrap_or_default();
    let token_ok = login_csrf(&visitor.headers, secure)
        .is_some_and(|expected| constant_time_eq(presented.as_bytes(), expected.as_bytes()));
    let fields: LoginFields = match parse_fields(&pairs) {
        Ok(fields) => fields,
        Err(e) => {
            return bare_error(
                lang,
                &visitor.request_id,
                e.status(),
                t.error_title,
                e.message(lang),
            );
        }
    };
    // Whoever signs in is nobody yet, even if an older session cookie came along.
    let ctx = Ctx {
        principal: Principal::Anonymous,
        ..visitor.ctx.clone()
    };
    if !token_ok {
        if let Err(err) = state
            .app
            .record_refusal(
                &ctx,
                "auth.csrf",
                "sign-in form without the matching login CSRF token",
            )
            .await
        {
            tracing::error!(request_id = %visitor.request_id, error = %err, "could not record a CSRF refusal");
        }
        let attempt = Attempt {
            username: fields.username,
            error: Some(t.login_form_expired.to_owned()),
            code_needed: false,
        };
        return render(
            &state,
            &visitor,
            &fresh_login_token(),
            &attempt,
            StatusCode::FORBIDDEN,
        );
    }
    let code = fields
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let username = fields.username.trim();
    match state
        .app
        .login(&ctx, username, &fields.password, code)
        .await
    {
        Ok(session) => see_other_with_cookies(
            "/",
            &[
                session_cookie(
                    secure,
                    Some(session.secret.expose()),
                    state.app.settings().login.session_absolute_seconds,
                ),
                login_csrf_cookie(secure, None),
            ],
        ),
        Err(err) => {
            let code_needed = matches!(err, AppError::SecondFactorRequired);
            let (status, _, message) = describe_error(lang, &visitor.request_id, err);
            let attempt = Attempt {
                username: username.to_owned(),
                error: Some(message),
                code_needed,
            };
            let token = login_csrf(&visitor.headers, secure).unwrap_or_else(fresh_login_token);
            render(&state, &visitor, &token, &attempt, status)
        }
    }
}

fn render(
    state: &ApiState,
    visitor: &Visitor,
    token: &str,
    attempt: &Attempt,
    status: StatusCode,
) -> Response {
    let lang = visitor.lang;
    let t = lang.texts();
    let roles: Vec<&str> = state
        .app
        .profile()
        .identity()
        .second_factor_roles
        .value
        .iter()
        .map(|r| r.label(lang.chinese()))
        .collect();
    let code_hint = fill(t.login_code_hint, &[&roles.join(t.enumeration_separator)]);
    let focus_username = attempt.username.is_empty();
    let body = html! {
        section.card.login-card {
            h1 { (t.login_title) }
            p.muted { (t.login_intro) }
            @if let Some(error) = &attempt.error {
                div.notice.error role="alert" { (error) }
            }
            form.stack method="post" action="/login" {
                input type="hidden" name=(CSRF_FIELD) value=(token);
                label.field {
                    span.label { (t.login_username) }
                    input type="text" name="username" value=(attempt.username)
                        autocomplete="username" required autofocus[focus_username];
                }
                label.field {
                    span.label { (t.login_password) }
                    input type="password" name="password" autocomplete="current-password"
                        required autofocus[!focus_username];
                }
                label.field.invalid[attempt.code_needed] {
                    span.label { (t.login_code) }
                    input type="text" name="code" inputmode="numeric" pattern="[0-9]{6}"
                        maxlength="6" autocomplete="one-time-code";
                    small.hint { (code_hint) }
                }
                button.primary type="submit" { (t.login_submit) }
            }
            div.sso {
                span.or { (t.login_or) }
                @if sso_enabled(state) {
                    a.button.secondary href="/sso/start" { (sso_label(state, lang)) }
                } @else {
                    button.secondary type="button" disabled { (t.login_sso) }
                    p.hint { (t.login_sso_unavailable) }
                }
            }
            p.catalog-link { a href="/catalog" { (t.login_catalog_link) } }
        }
    };
    let page = public_page(
        lang,
        t.login_title,
        Some(lang_switch(lang, token, "/login")),
        &visitor.request_id,
        body,
    );
    let mut response = (status, page).into_response();
    if let Ok(v) = HeaderValue::from_str(&login_csrf_cookie(state.web.secure_cookies, Some(token)))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /logout`: the session ends everywhere and the cookie is cleared.
pub(crate) async fn logout(
    State(state): State<ApiState>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    if let Err(err) = state.app.logout(&me.ctx, &me.session).await {
        return me.chrome.fail(err);
    }
    see_other_with_cookies(
        "/login",
        &[session_cookie(state.web.secure_cookies, None, 0)],
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LangFields {
    lang: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /lang`: remembers the language in a cookie and returns to the page.
pub(crate) async fn switch_language(
    State(state): State<ApiState>,
    visitor: Visitor,
    body: Body,
) -> Response {
    let secure = state.web.secure_cookies;
    let lang = visitor.lang;
    let t = lang.texts();
    let mut pairs = match form_pairs(body, state.web.body_limit).await {
        Ok(pairs) => pairs,
        Err(e) => {
            return bare_error(
                lang,
                &visitor.request_id,
                e.status(),
                t.error_title,
                e.message(lang),
            );
        }
    };
    let presented = take_csrf(&mut pairs).unwrap_or_default();
    let expected = match &visitor.session {
        Some(session) => Some(session.csrf.clone()),
        None => login_csrf(&visitor.headers, secure),
    };
    let token_ok = expected
        .is_some_and(|expected| constant_time_eq(presented.as_bytes(), expected.as_bytes()));
    if !token_ok {
        if let Err(err) = state
            .app
            .record_refusal(
                &visitor.ctx,
                "auth.csrf",
                "language switch without a matching CSRF token",
            )
            .await
        {
            tracing::error!(request_id = %visitor.request_id, error = %err, "could not record a CSRF refusal");
        }
        return bare_error(
            lang,
            &visitor.request_id,
            StatusCode::FORBIDDEN,
            t.csrf_title,
            t.csrf_text,
        );
    }
    let chosen = parse_fields::<LangFields>(&pairs)
        .ok()
        .and_then(|f| Lang::parse(&f.lang).map(|l| (l, f.next)));
    let Some((chosen, next)) = chosen else {
        return bare_error(
            lang,
            &visitor.request_id,
            StatusCode::BAD_REQUEST,
            t.error_title,
            t.bad_form,
        );
    };
    see_other_with_cookies(&local_path(next.as_deref()), &[lang_cookie(secure, chosen)])
}
