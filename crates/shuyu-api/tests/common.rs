//! Helpers for in-process API tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_PASSWORD;
use tower::ServiceExt;

/// A signed-in browser-like client: its cookie and CSRF token.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn call(
    router: &Router,
    method: &str,
    path: &str,
    session: &Session,
    body: Option<Value>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(c) = &session.cookie {
        req = req.header(header::COOKIE, format!("shuyu_session={c}"));
    }
    if let Some(t) = &session.csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = &session.bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let req = match body {
        Some(v) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    raw(router, req).await
}

pub async fn raw(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// Signs a demo account in through the API and returns its session.
pub async fn login(t: &TestApp, router: &Router, username: &str) -> Session {
    let login = t.logins.get(username);
    if login.totp.is_some() {
        // A TOTP code works once per 30-second step: step past the last one used.
        t.clock.advance_seconds(30);
    }
    let code = login.totp.as_ref().map(|_| t.code(username));
    let reply = call(
        router,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(serde_json::json!({"username": username, "password": DEMO_PASSWORD, "code": code})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{username}: {}", reply.text());
    let set_cookie = reply
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    Session {
        cookie: Some(cookie),
        csrf: reply.json()["csrf_token"].as_str().map(str::to_owned),
        bearer: None,
    }
}

pub fn assert_problem(reply: &Reply, status: StatusCode) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text());
    let ct = reply
        .headers
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(ct, "application/problem+json");
    let body = reply.json();
    for key in ["type", "title", "status", "detail", "instance"] {
        assert!(body.get(key).is_some(), "problem lacks {key}: {body}");
    }
    assert_eq!(body["status"], status.as_u16());
    body
}
