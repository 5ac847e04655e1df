//! The console's plumbing: cookies, who is visiting, and posted forms with their CSRF check.
//!
//! - [`Visitor`]: anyone (the sign-in page), with the language and request id;
//! - [`SignedIn`]: a person with a live browser session; anyone else is sent to `/login` (303);
//! - [`Posted`]: a signed-in form submission. Its `_csrf` field must equal the session's CSRF token
//!   (compared in constant time) before the form is even parsed; a refusal is a 403 page and is
//!   written to the audit chain. A file upload (multipart) checks the same token with
//!   [`check_csrf`] from its first part, before the file part is read.
//!
//! Must never: decide access (the app's use cases ask the policy), log a form body or a cookie.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use shuyu_api::{ApiState, Caller, RequestMeta};
use shuyu_app::{Ctx, SessionView};
use shuyu_policy::{Action, Principal, Resource};

use crate::i18n::Lang;
use crate::layout::{self, Chrome};

/// The language cookie: a preference, not a secret (readable by scripts, sent same-site only).
const LANG_COOKIE: &str = "shuyu_lang";
const LOGIN_CSRF_COOKIE: &str = "shuyu_login_csrf";
const SECURE_LOGIN_CSRF_COOKIE: &str = "__Host-shuyu_login_csrf";
/// The name of the hidden CSRF field in every console form.
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// The value of cookie `name`, if the request carries it.
pub(crate) use shuyu_api::cookie;

/// The language chosen by the visitor, Chinese by default.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Lang::parse(&v))
        .unwrap_or_default()
}

pub(crate) fn lang_cookie(secure: bool, lang: Lang) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000{secure_attr}",
        lang.code()
    )
}

fn login_csrf_name(secure: bool) -> &'static str {
    if secure {
        SECURE_LOGIN_CSRF_COOKIE
    } else {
        LOGIN_CSRF_COOKIE
    }
}

/// The login form's double-submit token from its cookie, if well-formed.
pub(crate) fn login_csrf(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie(headers, login_csrf_name(secure))
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for the login CSRF token; `None` clears it.
pub(crate) fn login_csrf_cookie(secure: bool, value: Option<&str>) -> String {
    let name = login_csrf_name(secure);
    let secure_attr = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => {
            format!("{name}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600{secure_attr}")
        }
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure_attr}"),
    }
}

/// A fresh login CSRF token: 32 bytes from the operating system's CSPRNG, as hex. (No session
/// exists yet, so the app's seeded generator, which is for domain randomness, is not used.)
pub(crate) fn fresh_login_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(a.as_bytes());
    bytes.extend_from_slice(b.as_bytes());
    hex::encode(bytes)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request id set by the console's middleware (for error pages and audit events).
fn request_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<RequestMeta>()
        .map(|m| m.request_id.to_string())
        .unwrap_or_default()
}

/// Anyone at all: for the sign-in page and the language switch.
pub(crate) struct Visitor {
    pub ctx: Ctx,
    pub session: Option<SessionView>,
    pub lang: Lang,
    pub request_id: String,
    pub headers: HeaderMap,
}

impl FromRequestParts<ApiState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let lang = lang_of(&parts.headers);
        let request_id = request_id(parts);
        let caller = Caller::from_request_parts(parts, state)
            .await
            .map_err(|problem| {
                layout::bare_error(
                    lang,
                    &request_id,
                    problem.status(),
                    lang.texts().error_title,
                    &problem.detail,
                )
            })?;
        Ok(Visitor {
            ctx: caller.ctx,
            session: caller.session,
            lang,
            request_id,
            headers: parts.headers.clone(),
        })
    }
}

/// A person with a live browser session, and the frame of their pages.
pub(crate) struct SignedIn {
    pub ctx: Ctx,
    pub session: SessionView,
    pub chrome: Chrome,
}

impl SignedIn {
    pub fn lang(&self) -> Lang {
        self.chrome.lang
    }

    /// Whether the policy would allow `action` on `resource`: only to decide what to *show*. The
    /// use case behind the button asks the policy again and is the one that counts.
    pub fn may(&self, state: &ApiState, action: Action, resource: &Resource) -> bool {
        shuyu_policy::decide(&self.ctx.principal, action, resource, state.app.profile())
            .is_allowed()
    }
}

impl FromRequestParts<ApiState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        let Some(session) = visitor.session else {
            return Err(Redirect::to("/login").into_response());
        };
        if !matches!(visitor.ctx.principal, Principal::Person(_)) {
            return Err(Redirect::to("/login").into_response());
        }
        let here = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned())
        } else {
            page_of(parts.uri.path())
        };
        let chrome = Chrome::build(
            state,
            &visitor.ctx,
            &session,
            visitor.lang,
            here,
            visitor.request_id,
        )
        .await;
        Ok(SignedIn {
            ctx: visitor.ctx,
            session,
            chrome,
        })
    }
}

/// The page a form posted from `path` belongs to (where the language switch returns to).
fn page_of(path: &str) -> String {
    if path.starts_with("/me") {
        "/me".to_owned()
    } else if let Some(rest) = path.strip_prefix("/personnel/") {
        let id = rest.split('/').next().unwrap_or_default();
        format!("/personnel/{id}")
    } else if let Some(rest) = path.strip_prefix("/resources/") {
        let id = rest.split('/').next().unwrap_or_default();
        format!("/resources/{id}")
    } else if let Some(rest) = path.strip_prefix("/workspaces/") {
        let id = rest.split('/').next().unwrap_or_default();
        format!("/workspaces/{id}")
    } else if let Some(rest) = path.strip_prefix("/catalog/") {
        let id = rest.split('/').next().unwrap_or_default();
        format!("/catalog/{id}")
    } else {
        "/".to_owned()
    }
}

/// A form body as name/value pairs, read within the body limit.
pub(crate) async fn form_pairs(
    body: axum::body::Body,
    limit: usize,
) -> Result<Vec<(String, String)>, FormError> {
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| FormError::TooLarge)?;
    serde_urlencoded::from_bytes(&bytes).map_err(|_| FormError::Malformed)
}

/// Takes the `_csrf` field out of `pairs`; `None` unless exactly one was sent.
pub(crate) fn take_csrf(pairs: &mut Vec<(String, String)>) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    pairs.retain(|(k, v)| {
        if k == CSRF_FIELD {
            found.push(v.clone());
            false
        } else {
            true
        }
    });
    match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Deserializes the remaining fields into `T` (which denies unknown fields).
pub(crate) fn parse_fields<T: DeserializeOwned>(
    pairs: &[(String, String)],
) -> Result<T, FormError> {
    let encoded = serde_urlencoded::to_string(pairs).map_err(|_| FormError::Malformed)?;
    serde_urlencoded::from_str(&encoded).map_err(|_| FormError::Malformed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    TooLarge,
    Malformed,
}

impl FormError {
    pub fn status(self) -> StatusCode {
        match self {
            FormError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            FormError::Malformed => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            FormError::TooLarge => lang.texts().too_large,
            FormError::Malformed => lang.texts().bad_form,
        }
    }
}

/// A form posted by a signed-in person, its CSRF token checked.
pub(crate) struct Posted<T> {
    pub me: SignedIn,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<ApiState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let me = SignedIn::from_request_parts(&mut parts, state).await?;
        let fail = |e: FormError| {
            me.chrome.error_page(
                e.status(),
                me.lang().texts().error_title,
                e.message(me.lang()),
            )
        };
        let mut pairs = match form_pairs(body, state.web.body_limit).await {
            Ok(pairs) => pairs,
            Err(e) => return Err(fail(e)),
        };
        let presented = take_csrf(&mut pairs).unwrap_or_default();
        check_csrf(state, &me, &presented).await?;
        match parse_fields::<T>(&pairs) {
            Ok(form) => Ok(Posted { me, form }),
            Err(e) => Err(fail(e)),
        }
    }
}

/// Whether `presented` is the session's CSRF token (compared in constant time). Otherwise the
/// refusal is written to the audit chain and the answer is a 403 page.
pub(crate) async fn check_csrf(
    state: &ApiState,
    me: &SignedIn,
    presented: &str,
) -> Result<(), Response> {
    if constant_time_eq(presented.as_bytes(), me.session.csrf.as_bytes()) {
        return Ok(());
    }
    if let Err(err) = state
        .app
        .record_refusal(
            &me.ctx,
            "auth.csrf",
            "console form without the session's CSRF token",
        )
        .await
    {
        tracing::error!(request_id = %me.chrome.request_id, error = %err, "could not record a CSRF refusal");
    }
    let t = me.lang().texts();
    Err(me
        .chrome
        .error_page(StatusCode::FORBIDDEN, t.csrf_title, t.csrf_text))
}

/// A form without fields (buttons that only carry `_csrf`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoFields {}

/// A 303 to a local path, with a `Set-Cookie` header per entry.
pub(crate) fn see_other_with_cookies(to: &str, cookies: &[String]) -> Response {
    let mut response = Redirect::to(to).into_response();
    for c in cookies {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Keeps a redirect target on this site: a path, never `//host` or a scheme.
pub(crate) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_stay_on_this_site() {
        assert_eq!(local_path(Some("/audit?x=1")), "/audit?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn exactly_one_csrf_field_is_taken_out() {
        let mut pairs = vec![
            ("_csrf".to_owned(), "a".to_owned()),
            ("name".to_owned(), "x".to_owned()),
        ];
        assert_eq!(take_csrf(&mut pairs), Some("a".to_owned()));
        assert_eq!(pairs.len(), 1);
        let mut twice = vec![
            ("_csrf".to_owned(), "a".to_owned()),
            ("_csrf".to_owned(), "b".to_owned()),
        ];
        assert_eq!(take_csrf(&mut twice), None);
    }

    #[test]
    fn forms_posted_from_subpages_return_to_their_page() {
        assert_eq!(page_of("/me/tokens/abc/revoke"), "/me");
        assert_eq!(page_of("/personnel/abc/verify"), "/personnel/abc");
        assert_eq!(page_of("/resources/abc/approve"), "/resources/abc");
        assert_eq!(page_of("/catalog/abc/issues"), "/catalog/abc");
        assert_eq!(page_of("/workspaces/abc/queries"), "/workspaces/abc");
        assert_eq!(page_of("/logout"), "/");
    }
}
