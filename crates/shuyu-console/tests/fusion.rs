//! The fusion pages (CC18(3)): the authority's `/fusion` list with approve / reject (with a
//! reason) / revoke forms; the merchant sees its imports on its workspace page without review
//! forms and has no fusion menu entry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::http::StatusCode;
use shuyu_app::{Ctx, FusionColumn, FusionDeclaration, ImportSource};
use shuyu_catalog::FieldType;
use shuyu_core::RequestId;
use shuyu_profile::ColumnControl;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::person_ctx;

mod common;
use common::*;

/// A pending import `members` of the demo workspace, requested by the demo merchant.
async fn requested(t: &TestApp) -> String {
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, "merchant").await.unwrap();
    let analyst = person_ctx(&t.app, &person);
    let workspace = t.app.grants(&analyst).await.unwrap()[0].grant.workspace();
    let declaration = FusionDeclaration {
        table: "members".into(),
        legal_basis: "本企业会员数据，经用户授权".into(),
        columns: vec![FusionColumn {
            name: "tier".into(),
            field_type: FieldType::String,
            control: Some(ColumnControl::GroupBy),
        }],
        unit: None,
    };
    let csv = b"tier\ngold\nsilver\n".to_vec();
    t.app
        .request_fusion(
            &analyst,
            workspace,
            declaration,
            ImportSource::Csv(Box::new(std::io::Cursor::new(csv))),
        )
        .await
        .unwrap();
    format!("/workspaces/{workspace}")
}

#[tokio::test]
async fn the_authority_approves_rejects_with_a_reason_and_revokes_fusion_imports() {
    let t = TestApp::sqlite().await;
    let workspace_page = requested(&t).await;
    let mut authority = signed_in(&t, "authority").await;
    let home = authority.get("/").await;
    assert!(
        home.has(r#"href="/fusion""#),
        "the authority's menu has fusion"
    );
    let page = authority.get("/fusion").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("members") && page.has("待审核"), "{}", page.body);
    assert!(page.has("本企业会员数据，经用户授权"), "{}", page.body);
    assert!(page.has(r#"value="approve""#) && page.has(r#"value="reject""#));
    assert!(
        !page.has(r#"value="withdraw""#),
        "the authority does not withdraw"
    );
    let at = page.body.find("action=\"/fusion/").unwrap() + "action=\"".len();
    let end = page.body[at..].find('"').unwrap() + at;
    let move_uri = page.body[at..end].to_owned();
    let csrf = page.csrf();

    // Rejecting needs a reason: refused on the page, nothing changes.
    let empty = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "reject"), ("reason", " ")],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert!(empty.has("待审核"), "{}", empty.body);
    assert_eq!(events(&t, "fusion.reject", "ok").await, 0);

    let approved = authority
        .post(
            &move_uri,
            &[("_csrf", &csrf), ("move", "approve"), ("reason", "")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let page = authority.get("/fusion").await;
    assert!(
        page.has("已批准") && page.has(r#"value="revoke""#),
        "{}",
        page.body
    );
    assert_eq!(events(&t, "fusion.approve", "ok").await, 1);

    // The merchant sees the import on its workspace page, without review forms or a menu entry.
    let mut merchant = signed_in(&t, "merchant").await;
    let home = merchant.get("/").await;
    assert!(!home.has(r#"href="/fusion""#));
    let ws = merchant.get(&workspace_page).await;
    assert_eq!(ws.status, StatusCode::OK, "{}", ws.body);
    assert!(
        ws.has("自有数据融合") && ws.has("members") && ws.has("已批准"),
        "{}",
        ws.body
    );
    assert!(!ws.has(r#"value="revoke""#) && !ws.has(r#"value="approve""#));
    // A crafted approval by the merchant is refused.
    let mcsrf = ws.csrf();
    let refused = merchant
        .post(
            &move_uri,
            &[("_csrf", &mcsrf), ("move", "revoke"), ("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    let revoked = authority
        .post(
            &move_uri,
            &[
                ("_csrf", &csrf),
                ("move", "revoke"),
                ("reason", "用户撤回授权"),
            ],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let page = authority.get("/fusion").await;
    assert!(
        page.has("已撤销") && page.has("用户撤回授权"),
        "{}",
        page.body
    );
    assert!(
        !page.has(r#"name="move""#),
        "a revoked import offers no move"
    );
}

#[tokio::test]
async fn the_analyst_requests_an_import_through_the_workspace_form() {
    let t = TestApp::sqlite().await;
    let mut analyst = signed_in(&t, "merchant").await;
    let workspaces = analyst.get("/workspaces").await;
    let at = workspaces.body.find("href=\"/workspaces/").unwrap() + "href=\"".len();
    let end = workspaces.body[at..].find('"').unwrap() + at;
    let page_uri = workspaces.body[at..end].to_owned();
    let page = analyst.get(&page_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let form_uri = format!("{page_uri}/fusion");
    assert!(
        page.has(&format!(r#"action="{form_uri}""#)),
        "the workspace page has the form: {}",
        page.body
    );
    let csrf = page.csrf();
    let post = |basis: &'static str| {
        let csrf = csrf.clone();
        vec![
            ("_csrf", csrf),
            ("table", "members".to_owned()),
            ("legal_basis", basis.to_owned()),
            ("columns", "tier:string:group_by".to_owned()),
            ("unit", String::new()),
        ]
    };
    let csv = b"tier\ngold\nsilver\n";

    // An empty legal basis is refused with the reason, and nothing is stored.
    let fields = post(" ");
    let mut parts: Vec<Part<'_>> = fields.iter().map(|(n, v)| Part::field(n, v)).collect();
    parts.push(Part::file("file", "members.csv", "text/csv", csv));
    let refused = analyst.post_multipart(&form_uri, &parts).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(analyst.get(&page_uri).await.has("没有融合数据申请"));

    // A whole request is stored pending and shown on the workspace page.
    let fields = post("本企业会员数据，经用户授权");
    let mut parts: Vec<Part<'_>> = fields.iter().map(|(n, v)| Part::field(n, v)).collect();
    parts.push(Part::file("file", "members.csv", "text/csv", csv));
    let done = analyst.post_multipart(&form_uri, &parts).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = analyst.get(&page_uri).await;
    assert!(page.has("members") && page.has("待审核"), "{}", page.body);

    // Without the session's token nothing is read.
    let mut parts: Vec<Part<'_>> = vec![Part::field("_csrf", "0")];
    parts.push(Part::file("file", "members.csv", "text/csv", csv));
    let forged = analyst.post_multipart(&form_uri, &parts).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
}
