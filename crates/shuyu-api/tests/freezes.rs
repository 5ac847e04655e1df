//! Freezes (SBX-9) over the API: the authority freezes and unfreezes the demo merchant and a
//! resource's supply with reasons; a second freeze, or lifting what is not frozen, is a 409
//! problem; bad input and unfreezable organisations are 422 problems; each organisation lists the
//! freezes that concern it; a frozen merchant's grant may not run.
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
use shuyu_core::{OrgId, ResourceId};
use shuyu_policy::Action;
use shuyu_testkit::TestApp;

#[tokio::test]
async fn the_authority_freezes_and_unfreezes_with_reasons_and_conflicts_are_409() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let authority = login(&t, &router, "authority").await;
    let merchant = login(&t, &router, "merchant").await;
    let grant = t.app.store().grants().await.unwrap().remove(0);
    let org = grant.merchant();
    let freeze = format!("/api/v1/orgs/{org}/freeze");
    let unfreeze = format!("/api/v1/orgs/{org}/unfreeze");

    let reply = call(
        &router,
        "POST",
        &freeze,
        &authority,
        Some(json!({"reason": "逾期未整改"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["target_kind"], "merchant");
    assert_eq!(body["target_id"], org.to_string());
    assert_eq!(body["reason"], "逾期未整改");
    assert!(body["lifted_at"].is_null());

    let again = call(
        &router,
        "POST",
        &freeze,
        &authority,
        Some(json!({"reason": "再次"})),
    )
    .await;
    let problem = assert_problem(&again, StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("frozen already"),
        "{problem}"
    );

    // The merchant sees its own freeze; the grant may not run.
    let listed = call(&router, "GET", "/api/v1/freezes", &merchant, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    let err = t
        .app
        .grant_liveness(&grant, Action::WorkspaceQuery)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("frozen"), "{err}");
    // ... and may not lift it.
    let refused = call(
        &router,
        "POST",
        &unfreeze,
        &merchant,
        Some(json!({"reason": "解冻"})),
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN);

    let lifted = call(
        &router,
        "POST",
        &unfreeze,
        &authority,
        Some(json!({"reason": "已整改"})),
    )
    .await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.text());
    assert_eq!(lifted.json()["lift_reason"], "已整改");
    let not_frozen = call(
        &router,
        "POST",
        &unfreeze,
        &authority,
        Some(json!({"reason": "再次"})),
    )
    .await;
    let problem = assert_problem(&not_frozen, StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap().contains("not frozen"),
        "{problem}"
    );
    t.app
        .grant_liveness(&grant, Action::WorkspaceQuery)
        .await
        .unwrap();

    // A resource's supply.
    let resource = grant.resources()[0].resource;
    let path = format!("/api/v1/resources/{resource}/supply/freeze");
    let reply = call(
        &router,
        "POST",
        &path,
        &authority,
        Some(json!({"reason": "数据源异常"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["target_kind"], "resource_supply");
    let listed = call(&router, "GET", "/api/v1/freezes", &authority, None).await;
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    let listed = call(&router, "GET", "/api/v1/freezes", &merchant, None).await;
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        0,
        "not the merchant's concern"
    );
}

#[tokio::test]
async fn bad_input_and_unknown_targets_are_clear_problems() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let authority = login(&t, &router, "authority").await;
    let grant = t.app.store().grants().await.unwrap().remove(0);
    let freeze = format!("/api/v1/orgs/{}/freeze", grant.merchant());

    let empty = call(
        &router,
        "POST",
        &freeze,
        &authority,
        Some(json!({"reason": "  "})),
    )
    .await;
    let problem = assert_problem(&empty, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem.to_string().contains("reason"), "{problem}");
    let unknown_field = call(
        &router,
        "POST",
        &freeze,
        &authority,
        Some(json!({"reason": "理由", "until": "2027-01-01"})),
    )
    .await;
    assert!(
        unknown_field.status.is_client_error(),
        "{}",
        unknown_field.text()
    );
    assert!(t.app.store().active_freezes().await.unwrap().is_empty());

    // The authority's own organisation is neither a merchant nor an operator.
    let me = t
        .app
        .store()
        .person_by_username("authority")
        .await
        .unwrap()
        .unwrap();
    let reply = call(
        &router,
        "POST",
        &format!("/api/v1/orgs/{}/freeze", me.org),
        &authority,
        Some(json!({"reason": "理由"})),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("merchant and operator"),
        "{problem}"
    );

    let unknown_org = OrgId::mint(t.app.now(), [0x77; 10]);
    let reply = call(
        &router,
        "POST",
        &format!("/api/v1/orgs/{unknown_org}/freeze"),
        &authority,
        Some(json!({"reason": "理由"})),
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let unknown_resource = ResourceId::mint(t.app.now(), [0x78; 10]);
    let reply = call(
        &router,
        "POST",
        &format!("/api/v1/resources/{unknown_resource}/supply/freeze"),
        &authority,
        Some(json!({"reason": "理由"})),
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let malformed = call(
        &router,
        "POST",
        "/api/v1/orgs/not-an-id/freeze",
        &authority,
        Some(json!({"reason": "理由"})),
    )
    .await;
    assert!(malformed.status.is_client_error(), "{}", malformed.text());
    assert!(t.app.store().active_freezes().await.unwrap().is_empty());
}
