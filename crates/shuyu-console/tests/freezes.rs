//! Freezes (SBX-9) in the console: the organisation page reached from a grant, with a reasoned
//! freeze / unfreeze form for the authority; what the merchant itself sees; the supply freeze on
//! the resource page; refusals and conflicts shown, nothing changed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::http::StatusCode;
use shuyu_policy::Action;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};

mod common;
use common::*;

#[tokio::test]
async fn the_authority_freezes_and_unfreezes_a_merchant_from_its_page_with_reasons() {
    let t = TestApp::sqlite().await;
    let grant = t.app.store().grants().await.unwrap().remove(0);
    let org_uri = format!("/orgs/{}", grant.merchant());
    let mut authority = signed_in(&t, "authority").await;
    let grant_page = authority.get(&format!("/grants/{}", grant.id())).await;
    assert!(
        grant_page.has(&format!(r#"href="{org_uri}""#)),
        "the grant links its merchant's page: {}",
        grant_page.body
    );
    let page = authority.get(&org_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("示范数据科技有限公司"), "{}", page.body);
    assert!(
        page.has("未冻结") && page.has(r#"value="freeze""#),
        "{}",
        page.body
    );
    assert!(!page.has(r#"value="unfreeze""#));

    let csrf = page.csrf();
    let post_uri = format!("{org_uri}/freeze");
    let empty = authority
        .post(
            &post_uri,
            &[("_csrf", &csrf), ("step", "freeze"), ("reason", " ")],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert_eq!(events(&t, "org.freeze", "ok").await, 0);

    let frozen = authority
        .post(
            &post_uri,
            &[
                ("_csrf", &csrf),
                ("step", "freeze"),
                ("reason", "违规调用，冻结待查"),
            ],
        )
        .await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.body);
    assert!(frozen.location().ends_with("?done=frozen"));
    let page = authority.get(frozen.location()).await;
    assert!(page.has("已冻结。"), "{}", page.body);
    assert!(
        page.has("违规调用，冻结待查"),
        "the reason is shown: {}",
        page.body
    );
    assert!(page.has(r#"value="unfreeze""#) && !page.has(r#"value="freeze""#));
    assert_eq!(events(&t, "org.freeze", "ok").await, 1);
    t.app
        .grant_liveness(&grant, Action::WorkspaceQuery)
        .await
        .unwrap_err();

    // A crafted second freeze is a conflict shown on the page.
    let again = authority
        .post(
            &post_uri,
            &[("_csrf", &csrf), ("step", "freeze"), ("reason", "再次")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let unknown = authority
        .post(
            &post_uri,
            &[("_csrf", &csrf), ("step", "melt"), ("reason", "x")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);

    let lifted = authority
        .post(
            &post_uri,
            &[("_csrf", &csrf), ("step", "unfreeze"), ("reason", "已整改")],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.body);
    let page = authority.get(lifted.location()).await;
    assert!(
        page.has("冻结已解除。") && page.has("未冻结"),
        "{}",
        page.body
    );
    assert_eq!(events(&t, "org.unfreeze", "ok").await, 1);
    t.app
        .grant_liveness(&grant, Action::WorkspaceQuery)
        .await
        .unwrap();

    // Organisations that are not frozen have no panel; unknown ones are 404.
    let me = t
        .app
        .store()
        .person_by_username("authority")
        .await
        .unwrap()
        .unwrap();
    let own = authority.get(&format!("/orgs/{}", me.org)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(!own.has(r#"name="step""#));
    let missing = authority
        .get("/orgs/01a20b11-1a80-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
}

#[tokio::test]
async fn the_merchant_sees_its_freeze_but_may_not_lift_it() {
    let t = TestApp::sqlite().await;
    let grant = t.app.store().grants().await.unwrap().remove(0);
    let org_uri = format!("/orgs/{}", grant.merchant());
    let authority = shuyu_testkit::demo::person_ctx(
        &t.app,
        &t.app
            .store()
            .person_by_username("authority")
            .await
            .unwrap()
            .unwrap(),
    );
    t.app
        .freeze(
            &authority,
            shuyu_app::FreezeTarget::Merchant(grant.merchant()),
            "监管冻结",
        )
        .await
        .unwrap();
    let mut merchant = signed_in(&t, "merchant").await;
    let page = merchant.get(&org_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("已冻结") && page.has("监管冻结"), "{}", page.body);
    assert!(!page.has(r#"name="step""#), "no form for the merchant");
    let csrf = page.csrf();
    let refused = merchant
        .post(
            &format!("{org_uri}/freeze"),
            &[
                ("_csrf", &csrf),
                ("step", "unfreeze"),
                ("reason", "自行解冻"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(events(&t, "org.unfreeze", "denied").await, 1);
    assert_eq!(t.app.store().active_freezes().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_supply_of_a_resource_is_frozen_on_its_page() {
    let t = TestApp::sqlite().await;
    let resource = resource_titled(&t.app, DemoDataset::SocialInsurance.title())
        .await
        .unwrap();
    let uri = format!("/resources/{resource}");
    let mut source = signed_in(&t, "source2").await;
    let page = source.get(&uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.has("数据供给冻结"),
        "nothing to show the provider yet"
    );

    let mut authority = signed_in(&t, "authority").await;
    let page = authority.get(&uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.has("数据供给冻结") && page.has(r#"value="freeze""#),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let frozen = authority
        .post(
            &format!("{uri}/supply"),
            &[
                ("_csrf", &csrf),
                ("step", "freeze"),
                ("reason", "数据源异常"),
            ],
        )
        .await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.body);
    assert!(frozen.location().ends_with("?done=frozen"));
    assert_eq!(events(&t, "resource.supply_freeze", "ok").await, 1);
    let again = authority
        .post(
            &format!("{uri}/supply"),
            &[("_csrf", &csrf), ("step", "freeze"), ("reason", "再次")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.has("数据供给冻结"),
        "shown on the resource page: {}",
        again.body
    );

    // The provider now sees the freeze and its reason, without a form.
    let page = source.get(&uri).await;
    assert!(
        page.has("已冻结") && page.has("数据源异常"),
        "{}",
        page.body
    );
    assert!(!page.has(r#"value="unfreeze""#));
}
