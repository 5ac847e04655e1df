//! The catalog in the console: the public catalog without signing in (metadata only, never a
//! value), and the managed pages — review, diff, registration, quality issues — with buttons shown
//! as the policy allows and every form behind the session's CSRF token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::http::{StatusCode, header};
use shuyu_app::Ctx;
use shuyu_catalog::{Resource as CatalogResource, ResourceId};
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::person_ctx;

mod common;
use common::*;

/// The demo person `username` acting through the app (for set-up steps the page does not offer).
async fn ctx_of(t: &TestApp, username: &str) -> Ctx {
    let person = t
        .app
        .store()
        .person_by_username(username)
        .await
        .unwrap()
        .unwrap();
    person_ctx(&t.app, &person)
}

/// Every resource, as the authority sees them.
async fn all_resources(t: &TestApp) -> Vec<CatalogResource> {
    t.app
        .resources(&ctx_of(t, "authority").await)
        .await
        .unwrap()
}

/// The resource whose latest version is named `name`.
async fn resource_named(t: &TestApp, name: &str) -> CatalogResource {
    all_resources(t)
        .await
        .into_iter()
        .find(|r| r.latest().unwrap().content().metadata().name().as_str() == name)
        .unwrap_or_else(|| panic!("no resource {name}"))
}

const DRAFT: &str = "职业技能培训补贴发放汇总";
const REFUSED: &str = "公交IC卡持卡人信息";
const APPROVED: [&str; 4] = [
    "企业登记信息",
    "社会保险缴费明细",
    "门诊就诊记录",
    "公交刷卡记录",
];

/// Submits the demo draft (as its source department) so the authority can review it.
async fn submitted_draft(t: &TestApp) -> ResourceId {
    let id = resource_named(t, DRAFT).await.id();
    t.app
        .submit_resource(&ctx_of(t, "source2").await, id)
        .await
        .unwrap();
    id
}

fn state_of(resource: &CatalogResource) -> &'static str {
    resource.latest().unwrap().state().name()
}

/// The longest run of ASCII digits on the page: identifiers such as resident ID numbers (18) or
/// mobile numbers (11) would show as long runs; metadata has none.
fn longest_digit_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// A page without its ids and tokens (UUIDs, hex CSRF tokens): their digit runs are not data.
fn without_ids(body: &str) -> String {
    body.split(['"', '/', '<', '>', ' ', '='])
        .filter(|w| !(w.len() >= 32 && w.chars().all(|c| c.is_ascii_hexdigit() || c == '-')))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn public_catalog_is_browsable_without_signing_in_and_shows_no_values() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let login = browser.get("/login").await;
    assert!(
        login.has(r#"href="/catalog""#),
        "the sign-in page links the catalog"
    );

    let page = browser.get("/catalog").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("公共数据目录"));
    for name in APPROVED {
        assert!(page.has(name), "{name} is listed");
    }
    assert!(page.has(r#"href="/login""#));
    assert!(!page.has(r#"action="/logout""#), "no signed-in frame");

    let social = resource_named(&t, "社会保险缴费明细").await;
    let page = browser.get(&format!("/catalog/{}", social.id())).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let content = social.current().unwrap().content();
    assert!(page.has(content.metadata().summary()));
    assert!(page.has(content.metadata().legal_basis()));
    assert!(page.has("每月"), "update frequency");
    assert!(page.has("有条件开放"), "open category");
    for field in content.fields() {
        assert!(page.has(field.name().as_str()), "field {}", field.name());
        assert!(page.has(field.description()));
    }
    assert!(page.has("个人信息") && page.has("直接标识符") && page.has("隐私单元"));
    assert!(page.has("本页只展示元数据"));
    assert!(!page.has("数据质量问题"), "no quality issues for visitors");
    assert!(
        longest_digit_run(&without_ids(&page.body)) < 11,
        "no identifier-like value on the page"
    );
    // Nothing of the managed side leaks: no version states, no reasons.
    assert!(!page.has("待审核") && !page.has("/resources/"));
}

#[tokio::test]
async fn search_filters_by_domain_and_name() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let page = browser.get("/catalog?domain=health").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("门诊就诊记录"));
    assert!(!page.has("企业登记信息") && !page.has("公交刷卡记录"));
    assert!(
        page.has(r#"<option value="health" selected>"#),
        "{}",
        page.body
    );

    let page = browser.get("/catalog?name=%E5%85%AC%E4%BA%A4").await; // 公交
    assert!(page.has("公交刷卡记录"));
    assert!(!page.has("门诊就诊记录") && !page.has("社会保险缴费明细"));

    let page = browser
        .get("/catalog?domain=health&name=%E5%85%AC%E4%BA%A4")
        .await;
    assert!(page.has("没有符合条件的资源"));

    let enterprise = resource_named(&t, "企业登记信息").await;
    let page = browser
        .get(&format!("/catalog?provider={}", enterprise.provider()))
        .await;
    assert!(page.has("企业登记信息") && !page.has("门诊就诊记录"));

    let page = browser.get("/catalog?open_category=unconditional").await;
    assert!(page.has("没有符合条件的资源"));
}

#[tokio::test]
async fn a_draft_or_refused_resource_is_not_in_the_public_catalog() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let page = browser.get("/catalog").await;
    assert!(!page.has(DRAFT) && !page.has(REFUSED));
    for name in [DRAFT, REFUSED] {
        let id = resource_named(&t, name).await.id();
        let page = browser.get(&format!("/catalog/{id}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{name}");
        assert!(!page.has(name));
    }
    // Not even for a signed-in person.
    let mut merchant = signed_in(&t, "merchant").await;
    let page = merchant.get("/catalog").await;
    assert!(!page.has(DRAFT) && !page.has(REFUSED));
}

#[tokio::test]
async fn authority_approves_a_submitted_version_from_its_page() {
    let t = TestApp::sqlite().await;
    let id = resource_named(&t, DRAFT).await.id();

    // The source department submits its draft from the page.
    let mut source = signed_in(&t, "source2").await;
    let page = source.get("/resources").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has(DRAFT) && page.has("草稿"));
    let page = source.get(&format!("/resources/{id}")).await;
    assert!(page.has(&format!(r#"action="/resources/{id}/submit""#)));
    assert!(!page.has(&format!(r#"action="/resources/{id}/approve""#)));
    let reply = source
        .post(
            &format!("/resources/{id}/submit"),
            &[("_csrf", &page.csrf())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

    let mut authority = signed_in(&t, "authority").await;
    let home = authority.get("/").await;
    assert!(home.has(r#"href="/resources""#) && home.has(r#"href="/catalog""#));
    let page = authority.get(&format!("/resources/{id}")).await;
    assert!(page.has("待审核"));
    assert!(page.has(&format!(r#"action="/resources/{id}/approve""#)));
    assert!(page.has(&format!(r#"action="/resources/{id}/refuse""#)));
    assert!(
        page.has("尚无审核通过的版本"),
        "not authorizable before approval"
    );
    let reply = authority
        .post(
            &format!("/resources/{id}/approve"),
            &[("_csrf", &page.csrf())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), format!("/resources/{id}?done=approved"));
    let page = authority.get(reply.location()).await;
    assert!(page.has("已审核通过") && page.has("已通过"));
    assert!(page.has("当前版本可以授权"));
    assert!(!page.has(&format!(r#"action="/resources/{id}/approve""#)));

    let public = Browser::new(&t).get("/catalog").await;
    assert!(public.has(DRAFT), "now in the public catalog");
    assert_eq!(state_of(&resource_named(&t, DRAFT).await), "approved");
}

#[tokio::test]
async fn refusal_without_reasons_is_rejected_on_the_form() {
    let t = TestApp::sqlite().await;
    let id = submitted_draft(&t).await;
    let mut authority = signed_in(&t, "authority").await;
    let page = authority.get(&format!("/resources/{id}")).await;
    assert!(page.has(r#"<textarea name="reasons" rows="3" required"#));
    let csrf = page.csrf();
    let reply = authority
        .post(
            &format!("/resources/{id}/refuse"),
            &[("_csrf", &csrf), ("reasons", "  \n ")],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.has("字段 reasons："), "{}", reply.body);
    assert!(
        reply.has(&format!(r#"action="/resources/{id}/refuse""#)),
        "the form again"
    );
    assert_eq!(state_of(&resource_named(&t, DRAFT).await), "submitted");

    let reply = authority
        .post(
            &format!("/resources/{id}/refuse"),
            &[("_csrf", &csrf), ("reasons", "摘要不清楚\n请补充覆盖范围")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = authority.get(reply.location()).await;
    assert!(page.has("未通过") && page.has("摘要不清楚") && page.has("请补充覆盖范围"));
}

#[tokio::test]
async fn merchant_sees_no_approve_button_and_is_refused_if_posting() {
    let t = TestApp::sqlite().await;
    let id = submitted_draft(&t).await;
    let mut merchant = signed_in(&t, "merchant").await;
    let home = merchant.get("/").await;
    assert!(home.has(r#"href="/catalog""#));
    assert!(
        !home.has(r#"href="/resources""#),
        "no managed side for a merchant"
    );
    let page = merchant.get(&format!("/resources/{id}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.has("/approve"));
    let approved = resource_named(&t, "企业登记信息").await.id();
    let page = merchant.get(&format!("/catalog/{approved}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("/approve") && !page.has("/refuse"));

    let csrf = merchant.get("/").await.csrf();
    let reply = merchant
        .post(&format!("/resources/{id}/approve"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.has("resource.review"), "{}", reply.body);
    let reply = merchant
        .post(
            &format!("/resources/{id}/refuse"),
            &[("_csrf", &csrf), ("reasons", "no")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&resource_named(&t, DRAFT).await), "submitted");
}

#[tokio::test]
async fn diff_between_versions_is_shown() {
    let t = TestApp::sqlite().await;
    let refused = resource_named(&t, REFUSED).await;
    let id = refused.id();
    let mut draft = refused.latest().unwrap().content().to_draft();
    draft.fields.retain(|f| f.name != "holder_name");
    draft.summary = "公交IC卡的办理记录（不含持卡人信息）。".into();
    t.app
        .edit_resource(&ctx_of(&t, "source4").await, id, draft)
        .await
        .unwrap();

    let mut source = signed_in(&t, "source4").await;
    let page = source.get(&format!("/resources/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("版本差异"));
    assert!(page.has("删除数据项 holder_name"), "{}", page.body);
    assert!(page.has("元数据 summary"));
    assert!(page.has("公交IC卡的办理记录与持卡人信息。"), "old value");
    assert!(
        page.has("未通过") && page.has("草稿"),
        "both versions with their states"
    );
    assert!(page.has("持卡人姓名是直接标识符"), "the refusal's reason");

    // Chosen versions: the other way round.
    let page = source.get(&format!("/resources/{id}?from=2&to=1")).await;
    assert!(page.has("新增数据项 holder_name"), "{}", page.body);
    let page = source.get(&format!("/resources/{id}?from=1&to=9")).await;
    assert!(page.has("字段 to："), "an unknown version is named");
}

#[tokio::test]
async fn quality_issue_raised_by_merchant_is_answered_by_the_provider() {
    let t = TestApp::sqlite().await;
    let id = resource_named(&t, "企业登记信息").await.id();
    let mut merchant = signed_in(&t, "merchant").await;
    let page = merchant.get(&format!("/catalog/{id}")).await;
    assert!(
        page.has(&format!(r#"action="/catalog/{id}/issues""#)),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let reply = merchant
        .post(
            &format!("/catalog/{id}/issues"),
            &[("_csrf", &csrf), ("field", ""), ("text", "   ")],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an empty issue is refused"
    );
    let reply = merchant
        .post(
            &format!("/catalog/{id}/issues"),
            &[
                ("_csrf", &csrf),
                ("field", ""),
                ("text", "注册资本一列有大量空值"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = merchant.get(reply.location()).await;
    assert!(page.has("注册资本一列有大量空值") && page.has("待答复"));

    // The provider answers on the managed page.
    let mut source = signed_in(&t, "source").await;
    let page = source.get(&format!("/resources/{id}")).await;
    assert!(page.has("注册资本一列有大量空值"));
    assert!(
        !page.has(&format!(r#"action="/resources/{id}/issues""#)),
        "a provider raises none"
    );
    let marker = format!(r#"action="/resources/{id}/issues/"#);
    let start = page.body.find(&marker).expect("an answer form") + r#"action=""#.len();
    let end = page.body[start..].find('"').unwrap() + start;
    let action = page.body[start..end].to_owned();
    let reply = source
        .post(
            &action,
            &[
                ("_csrf", &page.csrf()),
                ("answer", "已核实，系历史数据未补录，本月内补齐。"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = source.get(reply.location()).await;
    assert!(page.has("答复已记录") && page.has("已按时答复"));

    // The merchant reads the answer; the authority sees it too.
    let page = merchant.get(&format!("/catalog/{id}")).await;
    assert!(page.has("已核实，系历史数据未补录"));
    let mut authority = signed_in(&t, "authority").await;
    let page = authority.get(&format!("/resources/{id}")).await;
    assert!(page.has("已核实，系历史数据未补录"));
    assert!(!page.has("/answer\""), "only the provider answers");
}

#[tokio::test]
async fn overdue_issues_are_marked() {
    let t = TestApp::sqlite().await;
    let id = resource_named(&t, "企业登记信息").await.id();
    t.app
        .raise_quality_issue(&ctx_of(&t, "operator").await, id, None, "精度不一致")
        .await
        .unwrap();
    t.clock.advance_seconds(400 * 24 * 3600);
    let mut authority = signed_in(&t, "authority").await;
    let page = authority.get(&format!("/resources/{id}")).await;
    assert!(
        page.has("精度不一致") && page.has("已逾期"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn english_catalog_page_reads_english() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    browser.jar.insert("shuyu_lang".into(), "en".into());
    let page = browser.get("/catalog").await;
    assert!(page.has(r#"<html lang="en">"#));
    assert!(page.has("Public data catalog") && page.has("Search") && page.has("Open category"));
    assert!(page.has("open on conditions") && page.has("monthly"));
    assert!(!page.has("公共数据目录") && !page.has("搜索") && !page.has("有条件开放"));
    let id = resource_named(&t, "社会保险缴费明细").await.id();
    let page = browser.get(&format!("/catalog/{id}")).await;
    assert!(
        page.has("Data items") && page.has("Update frequency") && page.has("direct identifier")
    );
    assert!(!page.has("数据项") && !page.has("更新频率") && !page.has("直接标识符"));
}

#[tokio::test]
async fn catalog_forms_without_the_csrf_token_are_refused() {
    let t = TestApp::sqlite().await;
    let id = submitted_draft(&t).await;
    let mut authority = signed_in(&t, "authority").await;
    let reply = authority
        .post(&format!("/resources/{id}/approve"), &[])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.has("CSRF"));
    assert_eq!(state_of(&resource_named(&t, DRAFT).await), "submitted");

    let approved = resource_named(&t, "企业登记信息").await.id();
    let mut merchant = signed_in(&t, "merchant").await;
    let reply = merchant
        .post(
            &format!("/catalog/{approved}/issues"),
            &[("_csrf", "wrong"), ("text", "x")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let issues = t
        .app
        .quality_issues(&ctx_of(&t, "authority").await, approved)
        .await
        .unwrap();
    assert!(issues.issues.is_empty());
}

/// Posts one registration step with `fields` from the resource's page.
async fn registration_step(
    browser: &mut Browser,
    id: ResourceId,
    step: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let page = browser.get(&format!("/resources/{id}")).await;
    assert!(
        page.has(&format!(r#"name="step" value="{step}""#)),
        "{step} is offered: {}",
        page.body
    );
    let csrf = page.csrf();
    let mut form = vec![("_csrf", csrf.as_str()), ("step", step)];
    form.extend_from_slice(fields);
    browser
        .post(&format!("/resources/{id}/registration"), &form)
        .await
}

#[tokio::test]
async fn registration_moves_through_its_steps_and_the_package_downloads() {
    let t = TestApp::sqlite().await;
    let id = resource_named(&t, "企业登记信息").await.id();
    let mut source = signed_in(&t, "source").await;
    let page = source.get(&format!("/resources/{id}")).await;
    assert!(page.has("国家登记") && page.has("尚无登记记录"));
    assert!(
        !page.has(r#"name="step" value="start_review""#),
        "an authority step"
    );

    // The source department enters the details and submits; the authority takes it from there.
    let reply = registration_step(
        &mut source,
        id,
        "update_details",
        &[
            ("agent_name", "周伟"),
            ("agent_phone", "0631-1234567"),
            ("storage_location", "市政务云"),
            ("storage_method", "关系型数据库"),
            (
                "documents",
                "数据字典 | docs/dictionary.pdf\n资源说明 | docs/readme.pdf",
            ),
            ("commitment_title", "数据质量承诺书"),
            ("commitment_reference", "docs/commitment.pdf"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let reply = registration_step(&mut source, id, "submit", &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = source.get(reply.location()).await;
    assert!(page.has("登记记录已更新") && page.has("已提交"));

    let mut authority = signed_in(&t, "authority").await;
    let reply = registration_step(&mut authority, id, "start_review", &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let reply = registration_step(
        &mut authority,
        id,
        "publish_notice",
        &[("until", "nonsense")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.has("字段 until："));
    let reply = registration_step(
        &mut authority,
        id,
        "publish_notice",
        &[("until", "2027-01-15")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let reply = registration_step(
        &mut authority,
        id,
        "register",
        &[("result_code", "DJ-2026-0001")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = authority.get(reply.location()).await;
    assert!(page.has("已登记") && page.has("DJ-2026-0001"));

    let json = source
        .get(&format!("/resources/{id}/registration.json"))
        .await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(
        json.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        json.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(json.has("DJ-2026-0001") && json.has("企业登记信息"));
    let md = source
        .get(&format!("/resources/{id}/registration.md"))
        .await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(md.has("企业登记信息"));

    // The merchant may not download it.
    let mut merchant = signed_in(&t, "merchant").await;
    let reply = merchant
        .get(&format!("/resources/{id}/registration.json"))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

/// The demo's datasets, imported by their source departments (a few rows each).
async fn with_datasets(t: &TestApp) {
    shuyu_testkit::demo::data::seed_datasets(&t.app, 200, |_, _| {})
        .await
        .unwrap();
}

#[tokio::test]
async fn provider_sees_dataset_versions_and_field_quality_without_values() {
    let t = TestApp::sqlite().await;
    with_datasets(&t).await;
    let id = resource_named(&t, "社会保险缴费明细").await.id();
    let mut source = signed_in(&t, "source2").await;
    let page = source.get(&format!("/resources/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("数据集版本与数据质量"), "{}", page.body);
    assert!(page.has("dataset-versions") && page.has("dataset-quality"));
    // The resident ID field, with every value of the right format.
    let quality = page.body.find("dataset-quality").unwrap();
    let start = page.body[quality..]
        .find("<code>resident_id</code>")
        .expect("resident_id row")
        + quality;
    let row_end = page.body[start..].find("</tr>").unwrap() + start;
    let row = &page.body[start..row_end];
    assert!(row.contains("居民身份证号码"), "{row}");
    assert!(row.contains("100%"), "{row}");
    assert!(row.contains("长度 18–18"), "{row}");
    // Aggregates only: no identifier-length digit run (resident IDs are 18 digits).
    assert!(longest_digit_run(&without_ids(&page.body)) < 11);
}

#[tokio::test]
async fn merchant_does_not_see_dataset_quality() {
    let t = TestApp::sqlite().await;
    with_datasets(&t).await;
    let id = resource_named(&t, "社会保险缴费明细").await.id();
    let mut merchant = signed_in(&t, "merchant").await;
    for uri in [format!("/resources/{id}"), format!("/catalog/{id}")] {
        let page = merchant.get(&uri).await;
        assert!(!page.has("数据集版本与数据质量"), "{uri}: {}", page.body);
        assert!(!page.has("dataset-quality"), "{uri}");
    }
}
