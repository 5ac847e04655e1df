//! The grants pages: who sees which grant, the detail with its fields and controls, and the
//! authority's and operator's suspend / resume / revoke with a reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::http::StatusCode;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_SCENARIO;

mod common;
use common::*;

/// The demo grant's page, found through the list.
async fn demo_grant(browser: &mut Browser) -> String {
    let list = browser.get("/grants").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.has(DEMO_SCENARIO), "{}", list.body);
    let at = list.body.find("href=\"/grants/").expect("a grant link") + "href=\"".len();
    let end = list.body[at..].find('"').unwrap() + at;
    list.body[at..end].to_owned()
}

#[tokio::test]
async fn the_authority_reads_the_demo_grant_and_suspends_resumes_and_revokes_it_with_reasons() {
    let t = TestApp::sqlite().await;
    let mut authority = signed_in(&t, "authority").await;
    let home = authority.get("/").await;
    assert!(
        home.has(r#"href="/grants""#),
        "the authority's menu has grants"
    );
    let page_uri = demo_grant(&mut authority).await;
    let page = authority.get(&page_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The granted fields with their controls, the term and the budget; the seeded mark.
    assert!(page.has("授权字段"), "{}", page.body);
    assert!(page.has("ε = "), "{}", page.body);
    assert!(page.has("系统预置"), "{}", page.body);
    assert!(page.has("有效"), "{}", page.body);
    assert!(page.has(r#"value="suspend""#) && !page.has(r#"value="resume""#));

    // No reason: refused in the person's language, nothing changes, nothing recorded.
    let csrf = page.csrf();
    let move_uri = format!("{page_uri}/move");
    let empty = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "suspend"), ("reason", "  ")],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert!(empty.has("有效"), "still active: {}", empty.body);
    assert_eq!(events(&t, "grant.suspend", "ok").await, 0);

    let suspended = authority
        .post(
            &move_uri,
            &[
                ("_csrf", &csrf),
                ("move", "suspend"),
                ("reason", "发现超范围调用，暂停待查"),
            ],
        )
        .await;
    assert_eq!(
        suspended.status,
        StatusCode::SEE_OTHER,
        "{}",
        suspended.body
    );
    assert!(suspended.location().ends_with("?done=grant_suspended"));
    let page = authority.get(suspended.location()).await;
    assert!(page.has("授权已暂停。"), "{}", page.body);
    assert!(page.has("已暂停"), "{}", page.body);
    assert!(
        page.has("发现超范围调用，暂停待查"),
        "the reason is in the history"
    );
    assert!(page.has(r#"value="resume""#) && !page.has(r#"value="suspend""#));
    assert_eq!(events(&t, "grant.suspend", "ok").await, 1);

    let resumed = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "resume"), ("reason", "核查完毕")],
        )
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.body);
    let revoked = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "revoke"), ("reason", "场景终止")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let page = authority.get(revoked.location()).await;
    assert!(page.has("已撤销"), "{}", page.body);
    assert!(
        !page.has(r#"name="move""#),
        "a revoked grant offers no move"
    );
    // Revoked is final: a crafted resume is a conflict, shown on the page.
    let again = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "resume"), ("reason", "再试")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let unknown = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "delete"), ("reason", "x")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
}

#[tokio::test]
async fn the_merchant_reads_its_grant_but_may_not_move_it_and_the_refusal_is_audited() {
    let t = TestApp::sqlite().await;
    let mut merchant = signed_in(&t, "merchant").await;
    let page_uri = demo_grant(&mut merchant).await;
    let page = merchant.get(&page_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.has(r#"name="move""#), "no move form for the merchant");
    let csrf = page.csrf();
    let before = events(&t, "grant.suspend", "denied").await;
    let refused = merchant
        .post(
            &format!("{page_uri}/move"),
            &[
                ("_csrf", &csrf),
                ("move", "suspend"),
                ("reason", "自行暂停"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(events(&t, "grant.suspend", "denied").await, before + 1);
    // Without the CSRF token the post is refused before the use case.
    let no_token = merchant
        .post(
            &format!("{page_uri}/move"),
            &[("move", "suspend"), ("reason", "x")],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{}", no_token.body);
}

#[tokio::test]
async fn people_outside_the_grant_see_no_grant() {
    let t = TestApp::sqlite().await;
    let mut authority = signed_in(&t, "authority").await;
    let page_uri = demo_grant(&mut authority).await;
    // The newcomer's real name is not verified; a source department has no grant.
    for who in ["newcomer", "source"] {
        let mut browser = signed_in(&t, who).await;
        let home = browser.get("/").await;
        if who == "source" {
            assert!(!home.has(r#"href="/grants""#), "{who}'s menu has no grants");
        }
        let list = browser.get("/grants").await;
        assert!(!list.has(DEMO_SCENARIO), "{who}: {}", list.body);
        let page = browser.get(&page_uri).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{who}: {}", page.body);
    }
    // (The authority's browser from above: a second sign-in would replay the same TOTP code.)
    let missing = authority
        .get("/grants/01a20b11-1a80-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    let malformed = authority.get("/grants/not-an-id").await;
    assert_eq!(
        malformed.status,
        StatusCode::NOT_FOUND,
        "{}",
        malformed.body
    );
}
