//! The forms that register a resource and draft a new version of it (`/resources/new`,
//! `/resources/{id}/edit`), as a browser meets them: the fields as rows of inputs, empty rows
//! ignored, more rows on request, the catalog's problems shown next to the inputs they name with
//! everything typed kept, the register and edit buttons only where the policy allows, refusals on
//! the audit chain. Requests run in-process against `shuyu_console::router` with a cookie jar.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::http::StatusCode;
use shuyu_catalog::{Resource as CatalogResource, ResourceId};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::person_ctx;

mod common;
use common::*;

const NAME: &str = "特种设备使用登记信息";

/// Every resource, as the authority sees them.
async fn all_resources(t: &TestApp) -> Vec<CatalogResource> {
    let person = t
        .app
        .store()
        .person_by_username("authority")
        .await
        .unwrap()
        .unwrap();
    t.app.resources(&person_ctx(&t.app, &person)).await.unwrap()
}

/// The profile's grade codes, lowest first, and its first domain code.
fn scale(t: &TestApp) -> (Vec<String>, String) {
    let catalog = t.app.profile().catalog();
    let grades = catalog
        .grades
        .value
        .iter()
        .map(|g| g.code.clone())
        .collect();
    let domain = catalog.domains.value[0].code.clone();
    (grades, domain)
}

/// A filled form with three data items in rows 1-3 and an empty fourth row.
fn three_fields(csrf: &str, grades: &[String], domain: &str) -> Vec<(String, String)> {
    let low = grades[0].as_str();
    let mid = grades[1].as_str();
    let pairs: Vec<(&str, &str)> = vec![
        ("_csrf", csrf),
        ("rows", "4"),
        ("name", NAME),
        (
            "summary",
            "特种设备（电梯、锅炉等）的使用登记情况，不含个人信息。",
        ),
        ("domain", domain),
        ("update_frequency", "monthly"),
        ("coverage.time_from", "2019-01-01"),
        ("coverage.time_to", ""),
        ("coverage.spatial", "全市"),
        ("legal_basis", "《特种设备安全法》第三十三条"),
        ("open_category", "conditional"),
        ("grade", mid),
        ("fields[0].name", "device_code"),
        ("fields[0].type", "string"),
        ("fields[0].description", "设备代码"),
        ("fields[0].grade", low),
        ("fields[0].format", "none"),
        ("fields[1].name", "user_credit_code"),
        ("fields[1].type", "string"),
        ("fields[1].description", "使用单位统一社会信用代码"),
        ("fields[1].grade", low),
        ("fields[1].format", "credit_code"),
        ("fields[1].flags.privacy_unit", "1"),
        ("fields[2].name", "registered_on"),
        ("fields[2].type", "date"),
        ("fields[2].description", "登记日期"),
        ("fields[2].grade", low),
        ("fields[2].format", "date"),
        ("fields[3].name", ""),
        ("fields[3].type", "string"),
        ("fields[3].description", ""),
        ("fields[3].grade", ""),
        ("fields[3].format", "none"),
        ("intent", "save"),
    ];
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn set(pairs: &mut Vec<(String, String)>, key: &str, value: &str) {
    pairs.retain(|(k, _)| k != key);
    pairs.push((key.to_owned(), value.to_owned()));
}

fn id_in(location: &str) -> ResourceId {
    let rest = location.strip_prefix("/resources/").unwrap();
    rest.split('?').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn source_department_registers_three_fields_edits_and_sees_the_diff() {
    let t = TestApp::sqlite().await;
    let (grades, domain) = scale(&t);
    let registered = events(&t, "resource.register", "ok").await;
    let edits = events(&t, "resource.edit", "ok").await;
    let mut source = signed_in(&t, "source").await;

    let list = source.get("/resources").await;
    assert!(list.has(r#"href="/resources/new""#), "the register button");
    let form = source.get("/resources/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("登记数据资源") && form.has("基本信息") && form.has("增加空行"));
    assert!(
        form.has(&format!(r#"<option value="{domain}">"#)),
        "domains"
    );
    assert!(
        form.has(r#"name="fields[2].flags.privacy_unit""#),
        "three empty rows"
    );
    assert!(!form.has(r#"name="fields[3].name""#));
    assert!(
        !form.has(r#"name="provider""#),
        "a department registers its own"
    );

    let filled = three_fields(&form.csrf(), &grades, &domain);
    let reply = source.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(reply.location().ends_with("?done=registered"));
    let id = id_in(reply.location());
    assert_eq!(events(&t, "resource.register", "ok").await, registered + 1);

    let page = source.get(reply.location()).await;
    assert!(page.has("资源已登记为草稿"), "{}", page.body);
    assert!(page.has(NAME) && page.has("草稿"));
    for name in ["device_code", "user_credit_code", "registered_on"] {
        assert!(page.has(name), "{name}");
    }
    assert!(
        page.has("默认脱敏") && page.has("列控制"),
        "default handling"
    );
    assert!(page.has("统一社会信用代码"), "the identifier format");
    assert!(
        !page.has(&format!(r#"href="/resources/{id}/edit""#)),
        "no new version while the draft is pending"
    );
    let resource = all_resources(&t)
        .await
        .into_iter()
        .find(|r| r.id() == id)
        .unwrap();
    let fields = resource.latest().unwrap().content().fields();
    assert_eq!(fields.len(), 3, "the empty row is ignored");
    assert!(fields[1].flags().privacy_unit);
    assert!(source.get("/resources").await.has(NAME), "listed");

    // Submitted by the department, approved by the authority: then a new version may be drafted.
    let reply = source
        .post(
            &format!("/resources/{id}/submit"),
            &[("_csrf", &page.csrf())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let mut authority = signed_in(&t, "authority").await;
    let csrf = authority.get(&format!("/resources/{id}")).await.csrf();
    let reply = authority
        .post(&format!("/resources/{id}/approve"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(
        !authority
            .get(&format!("/resources/{id}"))
            .await
            .has("/edit\""),
        "the authority does not edit"
    );

    let page = source.get(&format!("/resources/{id}")).await;
    assert!(
        page.has(&format!(r#"href="/resources/{id}/edit""#)),
        "the edit button"
    );
    let form = source.get(&format!("/resources/{id}/edit")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has(&format!(r#"value="{NAME}""#)), "filled in");
    assert!(form.has(r#"value="user_credit_code""#));
    assert!(
        form.has(
            r#"<input type="checkbox" name="fields[1].flags.privacy_unit" value="1" checked>"#
        ),
        "{}",
        form.body
    );
    assert!(form.has(r#"<option value="credit_code" selected>"#));
    assert!(form.has(r#"value="2019-01-01""#));
    assert!(form.has(r#"name="fields[5].name""#) && !form.has(r#"name="fields[6].name""#));

    let mut edited = three_fields(&form.csrf(), &grades, &domain);
    set(&mut edited, "fields[0].grade", &grades[1]);
    set(&mut edited, "fields[3].name", "inspected_on");
    set(&mut edited, "fields[3].type", "date");
    set(&mut edited, "fields[3].description", "最近一次定期检验日期");
    set(&mut edited, "fields[3].grade", &grades[0]);
    let reply = source
        .post(&format!("/resources/{id}/edit"), &borrowed(&edited))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), format!("/resources/{id}?done=edited"));
    let page = source.get(reply.location()).await;
    assert!(page.has("已保存为新版本"));
    assert!(page.has("版本差异"));
    assert!(page.has("新增数据项 inspected_on"), "{}", page.body);
    assert!(page.has("数据项 device_code 的"), "the grade change");
    assert_eq!(events(&t, "resource.edit", "ok").await, edits + 1);
}

#[tokio::test]
async fn invalid_fields_are_named_next_to_their_inputs_and_nothing_typed_is_lost() {
    let t = TestApp::sqlite().await;
    let (grades, domain) = scale(&t);
    let before = all_resources(&t).await.len();
    let mut source = signed_in(&t, "source").await;
    let form = source.get("/resources/new").await;
    let mut filled = three_fields(&form.csrf(), &grades, &domain);
    set(&mut filled, "fields[1].name", "");
    set(&mut filled, "fields[2].grade", "");
    set(&mut filled, "coverage.time_to", "2018-12-31");

    let reply = source.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.has("请更正以下问题"), "{}", reply.body);
    assert!(reply.has("数据项第 2 行的名称"), "names the row and input");
    assert!(reply.has("数据项第 3 行的分级"));
    assert!(reply.has("覆盖截止日期"));
    // What to do, in Chinese, beside the catalog's exact rule.
    assert!(reply.has("名称须为 1–63 个小写英文字母"));
    assert!(reply.has("请从规章的分级中选择"));
    assert!(reply.has("截止日期不能早于起始日期"));
    assert!(reply.has(r#"<td class="invalid"><input type="text" name="fields[1].name" value=""#));
    // Everything typed is still there.
    assert!(reply.has(&format!(r#"value="{NAME}""#)));
    assert!(
        reply.has("使用单位统一社会信用代码"),
        "the description of the bad row"
    );
    assert!(reply.has(r#"value="registered_on""#));
    assert!(reply.has(r#"value="2018-12-31""#) && reply.has(r#"value="2019-01-01""#));
    assert!(
        reply.has(
            r#"<input type="checkbox" name="fields[1].flags.privacy_unit" value="1" checked>"#
        )
    );
    assert!(reply.has(r#"<option value="credit_code" selected>"#));
    assert_eq!(all_resources(&t).await.len(), before, "nothing registered");

    // A date that is not one is caught before the catalog, in English for an English reader.
    let csrf = reply.csrf();
    let reply = source
        .post(
            "/lang",
            &[("_csrf", &csrf), ("lang", "en"), ("next", "/resources/new")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    set(&mut filled, "coverage.time_to", "31/12/2030");
    let reply = source.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.has("Write the date as YYYY-MM-DD"), "{}", reply.body);
    assert!(reply.has("Covered until"));
    assert!(reply.has(r#"value="31/12/2030""#));
    assert_eq!(all_resources(&t).await.len(), before);
}

#[tokio::test]
async fn more_rows_keep_what_was_typed() {
    let t = TestApp::sqlite().await;
    let (grades, domain) = scale(&t);
    let mut source = signed_in(&t, "source").await;
    let form = source.get("/resources/new").await;
    let mut filled = three_fields(&form.csrf(), &grades, &domain);
    set(&mut filled, "intent", "more");
    let reply = source.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.has(r#"name="fields[8].name""#),
        "four rows + five more"
    );
    assert!(!reply.has(r#"name="fields[9].name""#));
    assert!(reply.has(r#"value="device_code""#) && reply.has(r#"value="全市""#));
    assert!(!reply.has("请更正以下问题"));
    assert!(
        all_resources(&t).await.iter().all(|r| r
            .latest()
            .unwrap()
            .content()
            .metadata()
            .name()
            .as_str()
            != NAME)
    );
}

#[tokio::test]
async fn merchant_sees_no_register_button_and_is_refused_and_audited() {
    let t = TestApp::sqlite().await;
    let (grades, domain) = scale(&t);
    let before = all_resources(&t).await.len();
    let denied = events(&t, "resource.register", "denied").await;
    let mut merchant = signed_in(&t, "merchant").await;
    let home = merchant.get("/").await;
    assert!(!home.has("/resources/new"));
    let list = merchant.get("/resources").await;
    assert!(!list.has("/resources/new"), "no register button");

    let form = merchant.get("/resources/new").await;
    assert_eq!(form.status, StatusCode::FORBIDDEN);
    assert!(!form.has(r#"name="fields[0].name""#));
    assert_eq!(events(&t, "resource.register", "denied").await, denied + 1);

    let csrf = merchant.get("/").await.csrf();
    let filled = three_fields(&csrf, &grades, &domain);
    let reply = merchant.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.has("resource.register"), "{}", reply.body);
    assert_eq!(events(&t, "resource.register", "denied").await, denied + 2);

    // An invalid form or "more rows" does not get past the policy either.
    let mut bad = filled.clone();
    set(&mut bad, "intent", "more");
    let reply = merchant.post("/resources/new", &borrowed(&bad)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(events(&t, "resource.register", "denied").await, denied + 3);

    // Nor does editing someone's resource.
    let existing = all_resources(&t).await[0].id();
    let reply = merchant.get(&format!("/resources/{existing}/edit")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = merchant
        .post(&format!("/resources/{existing}/edit"), &borrowed(&filled))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(all_resources(&t).await.len(), before);
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused_and_audited() {
    let t = TestApp::sqlite().await;
    let (grades, domain) = scale(&t);
    let before = all_resources(&t).await.len();
    let registered = events(&t, "resource.register", "ok").await;
    let mut source = signed_in(&t, "source").await;
    let mut filled = three_fields("", &grades, &domain);
    filled.retain(|(k, _)| k != "_csrf");
    let reply = source.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.has("CSRF"));
    assert_eq!(events(&t, "auth.csrf", "denied").await, 1);

    let approved = all_resources(&t)
        .await
        .into_iter()
        .find(|r| r.current().is_some() && r.pending().is_none())
        .unwrap();
    let mut forged = filled.clone();
    forged.push(("_csrf".to_owned(), "forged".to_owned()));
    let reply = source
        .post(
            &format!("/resources/{}/edit", approved.id()),
            &borrowed(&forged),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(events(&t, "auth.csrf", "denied").await, 2);
    assert_eq!(all_resources(&t).await.len(), before);
    assert_eq!(events(&t, "resource.register", "ok").await, registered);
}

#[tokio::test]
async fn the_agency_chooses_the_source_department_it_registers_for() {
    // In the default city (zhongwei, ZW5/ZW8) source departments catalog their own data: the
    // agency gets no form.
    let t = TestApp::sqlite().await;
    let mut agency = signed_in(&t, "agency").await;
    assert_eq!(
        agency.get("/resources/new").await.status,
        StatusCode::FORBIDDEN
    );
    // Qiqihar's agency catalogs and supplies for every department (QQ5).
    let t = TestApp::on(TestDb::sqlite(), Profile::builtin("qiqihar").unwrap()).await;
    let (grades, domain) = scale(&t);
    let social = all_resources(&t)
        .await
        .into_iter()
        .find(|r| r.latest().unwrap().content().metadata().name().as_str() == "社会保险缴费明细")
        .unwrap();
    let mut agency = signed_in(&t, "agency").await;
    let form = agency.get("/resources/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let provider = social.provider().to_string();
    assert!(form.has(r#"name="provider""#), "a provider choice");
    assert!(form.has(&format!(r#"<option value="{provider}">"#)));

    let mut filled = three_fields(&form.csrf(), &grades, &domain);
    set(&mut filled, "provider", "not-an-id");
    let reply = agency.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.has("请选择一个数源部门"));

    set(&mut filled, "provider", &provider);
    let reply = agency.post("/resources/new", &borrowed(&filled)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let id = id_in(reply.location());
    let registered = all_resources(&t)
        .await
        .into_iter()
        .find(|r| r.id() == id)
        .unwrap();
    assert_eq!(registered.provider(), social.provider());
}

#[tokio::test]
async fn the_forms_need_a_session_and_carry_no_inline_script_or_style() {
    let t = TestApp::sqlite().await;
    let existing = all_resources(&t).await[0].id();
    let mut visitor = Browser::new(&t);
    for path in [
        "/resources/new".to_owned(),
        format!("/resources/{existing}/edit"),
    ] {
        let reply = visitor.get(&path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location(), "/login");
    }
    let mut source = signed_in(&t, "source").await;
    let form = source.get("/resources/new").await;
    assert!(!form.has("<script") && !form.has("style="));
    // In English, the same form with English words.
    let csrf = form.csrf();
    source
        .post(
            "/lang",
            &[("_csrf", &csrf), ("lang", "en"), ("next", "/resources/new")],
        )
        .await;
    let form = source.get("/resources/new").await;
    assert!(form.has("Register a data resource") && form.has("Add empty rows"));
    assert!(!form.has("登记数据资源"));
}
