//! Helpers shared by the console's test files: an in-process browser with a cookie jar.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_PASSWORD;
use tower::ServiceExt;

/// What came back.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The value of the first hidden `_csrf` field on the page.
    pub fn csrf(&self) -> String {
        let marker = r#"name="_csrf" value=""#;
        let start = self.body.find(marker).expect("a _csrf field") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

/// A browser: the console router and a cookie jar.
pub struct Browser {
    pub router: Router,
    pub jar: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(t: &TestApp) -> Self {
        Self {
            router: shuyu_console::router(t.state.clone()),
            jar: BTreeMap::new(),
        }
    }

    pub async fn send(&mut self, method: &str, uri: &str, form: Option<&[(&str, &str)]>) -> Reply {
        match form {
            Some(fields) => {
                let body = serde_urlencoded::to_string(fields).unwrap().into_bytes();
                self.send_body(method, uri, Some("application/x-www-form-urlencoded"), body)
                    .await
            }
            None => self.send_body(method, uri, None, Vec::new()).await,
        }
    }

    /// Posts a `multipart/form-data` body made of `parts` (see [`multipart`]).
    pub async fn post_multipart(&mut self, uri: &str, parts: &[Part<'_>]) -> Reply {
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        self.send_body("POST", uri, Some(&content_type), multipart(parts))
            .await
    }

    pub async fn send_body(
        &mut self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let body = Body::from(body);
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        self.send("GET", uri, None).await
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Reply {
        self.send("POST", uri, Some(form)).await
    }

    /// Fills in and submits the sign-in form.
    pub async fn try_sign_in(&mut self, username: &str, code: Option<&str>) -> Reply {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = page.csrf();
        let mut form = vec![
            ("_csrf", token.as_str()),
            ("username", username),
            ("password", DEMO_PASSWORD),
        ];
        if let Some(code) = code {
            form.push(("code", code));
        }
        self.post("/login", &form).await
    }
}

/// A browser signed in as a demo account (with its TOTP code where the role needs one).
pub async fn signed_in(t: &TestApp, username: &str) -> Browser {
    let mut browser = Browser::new(t);
    let code = t
        .logins
        .get(username)
        .totp
        .as_ref()
        .map(|_| t.code(username));
    let reply = browser.try_sign_in(username, code.as_deref()).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    browser
}

/// The boundary of the multipart bodies [`multipart`] builds.
pub const BOUNDARY: &str = "----shuyu-test-boundary-7MA4YWxkTrZu0gW";

/// One part of a multipart form: a field, or a file when it has a file name.
pub struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn field(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            file_name: None,
            content_type: None,
            data: value.as_bytes(),
        }
    }

    pub fn file(name: &'a str, file_name: &'a str, content_type: &'a str, data: &'a [u8]) -> Self {
        Self {
            name,
            file_name: Some(file_name),
            content_type: Some(content_type),
            data,
        }
    }
}

/// A `multipart/form-data` body (RFC 7578) as a browser sends it, with [`BOUNDARY`].
pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// How many audit events of `action` ended with `outcome` (`ok`, `denied`, `failed`).
pub async fn events(t: &TestApp, action: &str, outcome: &str) -> usize {
    let filter = shuyu_store::AuditFilter {
        action: Some(action.to_owned()),
        ..Default::default()
    };
    t.app
        .store()
        .search_audit(&filter, None, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.draft.outcome.as_str() == outcome)
        .count()
}
