//! Linking people to identities of the unified identity system (`POST /api/v1/people/{id}/sso`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::http::StatusCode;
use common::{assert_problem, call, login};
use serde_json::json;
use shuyu_app::Ctx;
use shuyu_core::RequestId;
use shuyu_testkit::TestApp;

const SUBJECT: &str = "https://idp.example.gov.cn/realms/city|7d3c9a";

async fn person_id(t: &TestApp, username: &str) -> String {
    let ctx = Ctx::system(RequestId::mint(t.app.now(), [3; 10]));
    t.app
        .person_by_username(&ctx, username)
        .await
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn an_administrator_links_and_unlinks_an_identity_and_one_identity_opens_one_account() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let admin = login(&t, &router, "admin").await;
    let merchant = person_id(&t, "merchant").await;
    let consumer = person_id(&t, "consumer").await;
    let path = format!("/api/v1/people/{merchant}/sso");

    let linked = call(
        &router,
        "POST",
        &path,
        &admin,
        Some(json!({"subject": SUBJECT})),
    )
    .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.text());
    assert_eq!(linked.json()["person"]["sso_linked"], true);

    let twice = call(
        &router,
        "POST",
        &format!("/api/v1/people/{consumer}/sso"),
        &admin,
        Some(json!({"subject": SUBJECT})),
    )
    .await;
    let problem = assert_problem(&twice, StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("single sign-on identity"),
        "{problem}"
    );
    assert!(
        !twice.text().contains("7d3c9a"),
        "the identity is not echoed"
    );

    let unlinked = call(
        &router,
        "POST",
        &path,
        &admin,
        Some(json!({"subject": null})),
    )
    .await;
    assert_eq!(unlinked.status, StatusCode::OK, "{}", unlinked.text());
    assert_eq!(unlinked.json()["person"]["sso_linked"], false);
}

#[tokio::test]
async fn a_malformed_or_missing_identity_is_refused_naming_the_field() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let admin = login(&t, &router, "admin").await;
    let path = format!("/api/v1/people/{}/sso", person_id(&t, "merchant").await);
    for bad in [
        "7d3c9a",
        "idp.example.gov.cn|7d3c9a",
        "https://idp.example.gov.cn|",
    ] {
        let reply = call(
            &router,
            "POST",
            &path,
            &admin,
            Some(json!({"subject": bad})),
        )
        .await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "subject", "{bad}: {problem}");
    }
    // An empty body must not unlink by accident.
    let reply = call(&router, "POST", &path, &admin, Some(json!({}))).await;
    assert!(reply.status.is_client_error(), "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn nobody_links_their_own_account() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let admin = login(&t, &router, "admin").await;
    let path = format!("/api/v1/people/{}/sso", person_id(&t, "admin").await);
    let reply = call(
        &router,
        "POST",
        &path,
        &admin,
        Some(json!({"subject": SUBJECT})),
    )
    .await;
    assert_problem(&reply, StatusCode::FORBIDDEN);
}
