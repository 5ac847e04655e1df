//! Who is calling: an API token (`Authorization: Bearer syt_...`), a session cookie, or nobody.
//!
//! Cookie-authenticated requests that change state must carry the session's CSRF token in the
//! `X-CSRF-Token` header (the console's forms carry it as a field, checked by the console). A
//! presented but unusable credential is refused with a problem and the refusal is audited; an absent
//! one makes the caller anonymous, and the policy refuses what the public may not do.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use shuyu_app::{Ctx, SessionView};
use shuyu_core::RequestId;
use shuyu_policy::Principal;

use crate::middleware::RequestMeta;
use crate::problem::Problem;
use crate::state::ApiState;

pub const SESSION_COOKIE: &str = "shuyu_session";
const SECURE_SESSION_COOKIE: &str = "__Host-shuyu_session";

/// The resolved caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: Ctx,
    pub session: Option<SessionView>,
}

impl Caller {
    pub fn is_signed_in(&self) -> bool {
        matches!(self.ctx.principal, Principal::Person(_))
    }
}

/// The `Set-Cookie` value for a session (or for clearing it, with `None`).
pub fn session_cookie(secure: bool, value: Option<&str>, max_age_seconds: i64) -> String {
    let name = if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    };
    let secure_attr = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => format!(
            "{name}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure_attr}"
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure_attr}"),
    }
}

/// The session cookie's value, if the request carries one.
pub fn cookie_value(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie(
        headers,
        if secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        },
    )
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let meta = parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| RequestMeta {
                request_id: RequestId::mint(state.app.now(), [0; 10]),
                source: "unknown".into(),
            });
        let anonymous = Ctx {
            principal: Principal::Anonymous,
            request_id: meta.request_id,
            source: meta.source.clone(),
        };

        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let bearer = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            return match state
                .app
                .resolve_token(bearer)
                .await
                .map_err(Problem::from)?
            {
                Some(actor) => Ok(Caller {
                    ctx: Ctx {
                        principal: Principal::Person(actor),
                        ..anonymous
                    },
                    session: None,
                }),
                None => {
                    state
                        .app
                        .record_refusal(
                            &anonymous,
                            "auth.token",
                            "unknown, expired or revoked API token",
                        )
                        .await
                        .map_err(Problem::from)?;
                    Err(Problem::unauthenticated(
                        "the API token is unknown, expired or revoked; create a new one",
                    ))
                }
            };
        }

        let Some(cookie) = cookie_value(&parts.headers, state.web.secure_cookies) else {
            return Ok(Caller {
                ctx: anonymous,
                session: None,
            });
        };
        let Some(session) = state
            .app
            .resolve_session(&cookie)
            .await
            .map_err(Problem::from)?
        else {
            // An expired or tampered cookie: the caller is anonymous; routes that need a person
            // refuse (and audit) through the policy.
            return Ok(Caller {
                ctx: anonymous,
                session: None,
            });
        };
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let is_api = parts.uri.path().starts_with("/api/");
        if unsafe_method && is_api {
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(presented.as_bytes(), session.csrf.as_bytes()) {
                let ctx = Ctx {
                    principal: Principal::Person(session.actor.clone()),
                    ..anonymous
                };
                state
                    .app
                    .record_refusal(&ctx, "auth.csrf", "missing or wrong CSRF token")
                    .await
                    .map_err(Problem::from)?;
                return Err(Problem {
                    reason: Some("csrf".into()),
                    ..Problem::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "csrf",
                        "CSRF token missing or wrong",
                        "send the csrf_token from sign-in in the X-CSRF-Token header",
                    )
                });
            }
        }
        let ctx = Ctx {
            principal: Principal::Person(session.actor.clone()),
            ..anonymous
        };
        Ok(Caller {
            ctx,
            session: Some(session),
        })
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
