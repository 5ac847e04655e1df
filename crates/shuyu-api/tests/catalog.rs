//! The catalog over HTTP: registering, reviewing, versions, the public catalog, national
//! registration and data quality issues, each change on the audit chain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::{Reply, Session, call, login};
use serde_json::{Value, json};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_testkit::TestApp;

fn draft(name: &str, open_category: &str) -> Value {
    json!({
        "name": name,
        "summary": "按月汇总的企业年报报送情况",
        "domain": "credit",
        "update_frequency": "monthly",
        "coverage": {"time_from": "2024-01-01", "spatial": "全市"},
        "legal_basis": "《企业信息公示暂行条例》",
        "open_category": open_category,
        "grade": "L2",
        "fields": [
            {"name": "credit_code", "type": "string", "description": "统一社会信用代码", "grade": "L2",
             "flags": {"privacy_unit": true}},
            {"name": "reported_on", "type": "date", "description": "年报报送日期", "grade": "L1"}
        ]
    })
}

fn ok(reply: &Reply, status: StatusCode) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text());
    reply.json()
}

/// Registers `draft` as the `source` account and returns the resource id.
async fn register(api: &Router, source: &Session, draft: Value) -> String {
    let reply = call(
        api,
        "POST",
        "/api/v1/resources",
        source,
        Some(json!({"draft": draft})),
    )
    .await;
    ok(&reply, StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post(api: &Router, path: &str, who: &Session, body: Option<Value>) -> Reply {
    call(api, "POST", path, who, body).await
}

/// Registers, submits and approves a resource; returns its id.
async fn approved(t: &TestApp, api: &Router, name: &str, open_category: &str) -> String {
    let source = login(t, api, "source").await;
    let authority = login(t, api, "authority").await;
    let id = register(api, &source, draft(name, open_category)).await;
    ok(
        &post(
            api,
            &format!("/api/v1/resources/{id}/submit"),
            &source,
            None,
        )
        .await,
        StatusCode::OK,
    );
    ok(
        &post(
            api,
            &format!("/api/v1/resources/{id}/approve"),
            &authority,
            None,
        )
        .await,
        StatusCode::OK,
    );
    id
}

#[tokio::test]
async fn source_department_registers_and_authority_approves() {
    for t in TestApp::all().await {
        let api = t.api();
        let source = login(&t, &api, "source").await;
        let authority = login(&t, &api, "authority").await;

        let created = call(
            &api,
            "POST",
            "/api/v1/resources",
            &source,
            Some(json!({"draft": draft("企业年报报送情况", "conditional")})),
        )
        .await;
        let created = ok(&created, StatusCode::CREATED);
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["versions"][0]["state"], "draft");
        assert_eq!(created["provider_name"], "示范市市场监督管理局");
        assert!(created["current_version"].is_null());

        // The authority cannot approve a draft that was not submitted.
        let early = post(
            &api,
            &format!("/api/v1/resources/{id}/approve"),
            &authority,
            None,
        )
        .await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text());

        let submitted = post(
            &api,
            &format!("/api/v1/resources/{id}/submit"),
            &source,
            None,
        )
        .await;
        assert_eq!(
            ok(&submitted, StatusCode::OK)["versions"][0]["state"],
            "submitted"
        );
        // The source department does not approve its own resource.
        let own = post(
            &api,
            &format!("/api/v1/resources/{id}/approve"),
            &source,
            None,
        )
        .await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);

        let approved = post(
            &api,
            &format!("/api/v1/resources/{id}/approve"),
            &authority,
            None,
        )
        .await;
        let approved = ok(&approved, StatusCode::OK);
        assert_eq!(approved["versions"][0]["state"], "approved");
        assert_eq!(approved["current_version"], 1);
        assert_eq!(approved["authorizable"]["authorizable"], true);
        assert_eq!(approved["authorizable"]["conditional"], true);

        let public = call(
            &api,
            "GET",
            &format!("/api/v1/catalog/{id}"),
            &Session::default(),
            None,
        )
        .await;
        assert_eq!(ok(&public, StatusCode::OK)["name"], "企业年报报送情况");
    }
}

#[tokio::test]
async fn a_draft_with_bad_fields_is_refused_naming_each_field() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let source = login(&t, &api, "source").await;
    let mut bad = draft("企业年报报送情况", "conditional");
    bad["fields"][1]["grade"] = json!("L9");
    bad["domain"] = json!("astrology");
    let reply = call(
        &api,
        "POST",
        "/api/v1/resources",
        &source,
        Some(json!({"draft": bad})),
    )
    .await;
    let problem = ok(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"draft.fields[1].grade"), "{problem}");
    assert!(fields.contains(&"draft.domain"), "{problem}");
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    let mut wrong_kind = draft("企业年报报送情况", "conditional");
    wrong_kind["fields"][0]["type"] = json!("blob");
    let reply = call(
        &api,
        "POST",
        "/api/v1/resources",
        &source,
        Some(json!({"draft": wrong_kind})),
    )
    .await;
    assert_eq!(
        ok(&reply, StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "draft.fields[0].type"
    );
}

#[tokio::test]
async fn refusal_without_reasons_is_invalid() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let source = login(&t, &api, "source").await;
    let authority = login(&t, &api, "authority").await;
    let id = register(&api, &source, draft("企业年报报送情况", "conditional")).await;
    ok(
        &post(
            &api,
            &format!("/api/v1/resources/{id}/submit"),
            &source,
            None,
        )
        .await,
        StatusCode::OK,
    );
    for reasons in [json!([]), json!(["  ", ""])] {
        let reply = post(
            &api,
            &format!("/api/v1/resources/{id}/refuse"),
            &authority,
            Some(json!({"reasons": reasons})),
        )
        .await;
        assert_eq!(
            ok(&reply, StatusCode::UNPROCESSABLE_ENTITY)["field"],
            "reasons"
        );
    }
    let refused = post(
        &api,
        &format!("/api/v1/resources/{id}/refuse"),
        &authority,
        Some(json!({"reasons": ["数据摘要过于简略"]})),
    )
    .await;
    let refused = ok(&refused, StatusCode::OK);
    assert_eq!(refused["versions"][0]["state"], "refused");
    assert_eq!(refused["versions"][0]["reasons"][0], "数据摘要过于简略");
}

#[tokio::test]
async fn a_not_open_resource_is_never_authorizable_with_its_reason() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let id = approved(&t, &api, "企业注销原因明细", "not_open").await;
    let supervisor = login(&t, &api, "supervisor").await;
    let view = call(
        &api,
        "GET",
        &format!("/api/v1/resources/{id}"),
        &supervisor,
        None,
    )
    .await;
    let view = ok(&view, StatusCode::OK);
    assert_eq!(view["authorizable"]["authorizable"], false, "{view}");
    assert!(
        view["authorizable"]["reason"]
            .as_str()
            .unwrap()
            .contains("不予开放"),
        "{view}"
    );
}

#[tokio::test]
async fn public_catalog_lists_only_approved_metadata_without_login() {
    for t in TestApp::all().await {
        let api = t.api();
        let public = Session::default();
        let list = ok(
            &call(&api, "GET", "/api/v1/catalog", &public, None).await,
            StatusCode::OK,
        );
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        // The demo city's four approved datasets; its draft and its refused resource are not shown.
        assert_eq!(names.len(), 4, "{names:?}");
        for name in [
            "企业登记信息",
            "社会保险缴费明细",
            "门诊就诊记录",
            "公交刷卡记录",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
        for entry in list.as_array().unwrap() {
            for hidden in ["versions", "reasons", "fields", "draft", "created_by"] {
                assert!(entry.get(hidden).is_none(), "{hidden} in {entry}");
            }
        }
        let search = |query: &'static str| {
            let api = api.clone();
            async move {
                let reply = call(
                    &api,
                    "GET",
                    &format!("/api/v1/catalog?{query}"),
                    &Session::default(),
                    None,
                )
                .await;
                ok(&reply, StatusCode::OK)
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["name"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(search("domain=transport").await, vec!["公交刷卡记录"]);
        // 登记 (URL-encoded): a part of the name.
        assert_eq!(
            search("name=%E7%99%BB%E8%AE%B0").await,
            vec!["企业登记信息"]
        );
        assert_eq!(search("name=%25").await, Vec::<String>::new());
        assert!(search("open_category=unconditional").await.is_empty());
        let provider = list[0]["provider_org_id"].as_str().unwrap().to_owned();
        let by_provider = call(
            &api,
            "GET",
            &format!("/api/v1/catalog?provider={provider}"),
            &public,
            None,
        )
        .await;
        assert_eq!(
            ok(&by_provider, StatusCode::OK).as_array().unwrap().len(),
            1
        );
        let bad = call(
            &api,
            "GET",
            "/api/v1/catalog?open_category=secret",
            &public,
            None,
        )
        .await;
        assert_eq!(
            ok(&bad, StatusCode::UNPROCESSABLE_ENTITY)["field"],
            "open_category"
        );

        // The detail shows data items, still without versions or people.
        let id = list[0]["id"].as_str().unwrap();
        let detail = ok(
            &call(&api, "GET", &format!("/api/v1/catalog/{id}"), &public, None).await,
            StatusCode::OK,
        );
        assert!(!detail["fields"].as_array().unwrap().is_empty());
        assert!(detail.get("versions").is_none());
        // The managed side needs a sign-in.
        let managed = call(
            &api,
            "GET",
            &format!("/api/v1/resources/{id}"),
            &public,
            None,
        )
        .await;
        assert_eq!(managed.status, StatusCode::UNAUTHORIZED);

        // A draft is not in the public catalog, not even by id.
        let source = login(&t, &api, "source").await;
        let draft_id = register(&api, &source, draft("企业年报报送情况", "conditional")).await;
        let hidden = call(
            &api,
            "GET",
            &format!("/api/v1/catalog/{draft_id}"),
            &public,
            None,
        )
        .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        // Browsing is not recorded: metadata is not personal data.
        let browse = t
            .app
            .store()
            .search_audit(
                &shuyu_store::AuditFilter {
                    action: Some("catalog.*".into()),
                    ..Default::default()
                },
                None,
                100,
            )
            .await
            .unwrap();
        assert!(browse.is_empty());
    }
}

#[tokio::test]
async fn editing_creates_a_version_with_a_field_diff() {
    for t in TestApp::all().await {
        let api = t.api();
        let id = approved(&t, &api, "企业年报报送情况", "conditional").await;
        let source = login(&t, &api, "source").await;
        let mut v2 = draft("企业年报报送情况", "conditional");
        v2["fields"][1]["grade"] = json!("L2");
        v2["fields"].as_array_mut().unwrap().push(
            json!({"name": "reporter", "type": "string", "description": "报送人", "grade": "L2",
                     "flags": {"personal_information": true}}),
        );
        let edited = post(
            &api,
            &format!("/api/v1/resources/{id}/versions"),
            &source,
            Some(json!({"draft": v2})),
        )
        .await;
        let edited = ok(&edited, StatusCode::CREATED);
        assert_eq!(edited["versions"].as_array().unwrap().len(), 2);
        assert_eq!(edited["versions"][1]["state"], "draft");
        assert_eq!(edited["current_version"], 1, "version 1 stays current");

        let diff = call(
            &api,
            "GET",
            &format!("/api/v1/resources/{id}/diff?from=1&to=2"),
            &source,
            None,
        )
        .await;
        let diff = ok(&diff, StatusCode::OK);
        assert!(
        diff.as_array().unwrap().contains(&json!({
            "change": "field_changed", "field": "reported_on", "attribute": "grade", "old": "L1", "new": "L2"
        })),
        "{diff}"
    );
        assert!(
            diff.as_array()
                .unwrap()
                .iter()
                .any(|c| c["change"] == "field_added" && c["field"] == "reporter"),
            "{diff}"
        );
        // A second draft while one is pending is refused.
        let again = post(
            &api,
            &format!("/api/v1/resources/{id}/versions"),
            &source,
            Some(json!({"draft": draft("企业年报报送情况", "conditional")})),
        )
        .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
        let missing = call(
            &api,
            "GET",
            &format!("/api/v1/resources/{id}/diff?from=1&to=7"),
            &source,
            None,
        )
        .await;
        assert_eq!(
            ok(&missing, StatusCode::UNPROCESSABLE_ENTITY)["field"],
            "to"
        );
    }
}

#[tokio::test]
async fn merchant_cannot_register_resources() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let merchant = login(&t, &api, "merchant").await;
    let reply = call(
        &api,
        "POST",
        "/api/v1/resources",
        &merchant,
        Some(json!({"draft": draft("企业年报报送情况", "conditional")})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    let denied = t
        .app
        .store()
        .search_audit(
            &shuyu_store::AuditFilter {
                action: Some("resource.register".into()),
                outcome: Some(shuyu_audit::Outcome::Denied),
                ..Default::default()
            },
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(denied.len(), 1);
    // Nor may a source department register for another department.
    let source2 = login(&t, &api, "source2").await;
    let source_org = ok(
        &call(
            &api,
            "GET",
            "/api/v1/catalog?domain=credit",
            &Session::default(),
            None,
        )
        .await,
        StatusCode::OK,
    )[0]["provider_org_id"]
        .clone();
    let other = call(
        &api,
        "POST",
        "/api/v1/resources",
        &source2,
        Some(json!({"provider_org_id": source_org, "draft": draft("企业年报报送情况", "conditional")})),
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // The default profile (zhongwei) gives the data service agency no supply task (ZW5, ZW8).
    let agency = login(&t, &api, "agency").await;
    let body =
        json!({"provider_org_id": source_org, "draft": draft("企业年报报送情况", "conditional")});
    let refused = call(
        &api,
        "POST",
        "/api/v1/resources",
        &agency,
        Some(body.clone()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_data_service_agency_registers_for_a_source_department_where_the_profile_says_so() {
    // Qiqihar's agency compiles the catalog and supplies data for every department (QQ5).
    let profile = Profile::builtin("qiqihar").unwrap();
    assert!(profile.catalog().agency_supplies.value);
    let t = TestApp::on(TestDb::sqlite(), profile).await;
    let api = t.api();
    let source = login(&t, &api, "source").await;
    let mine = register(&api, &source, draft("企业登记信息", "conditional")).await;
    let provider = ok(
        &call(
            &api,
            "GET",
            &format!("/api/v1/resources/{mine}"),
            &source,
            None,
        )
        .await,
        StatusCode::OK,
    )["provider_org_id"]
        .clone();
    let agency = login(&t, &api, "agency").await;
    let body =
        json!({"provider_org_id": provider, "draft": draft("企业年报报送情况", "conditional")});
    let created = call(&api, "POST", "/api/v1/resources", &agency, Some(body)).await;
    assert_eq!(
        ok(&created, StatusCode::CREATED)["provider_org_id"],
        provider
    );
}

#[tokio::test]
async fn registration_moves_follow_the_state_machine() {
    for t in TestApp::all().await {
        let api = t.api();
        let id = approved(&t, &api, "企业年报报送情况", "conditional").await;
        let source = login(&t, &api, "source").await;
        let authority = login(&t, &api, "authority").await;
        let at = |step: &str| format!("/api/v1/resources/{id}/registration{step}");

        let none = call(&api, "GET", &at(""), &source, None).await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);
        let details = json!({
            "agent_name": "周伟", "agent_phone": "0955-1234567",
            "storage_location": "市政务云", "storage_method": "关系型数据库",
            "documents": [{"title": "资源目录", "reference": "ML-2026-01"}],
            "commitment_letter": {"title": "承诺书", "reference": "CN-2026-01"}
        });
        let record = call(&api, "PUT", &at(""), &source, Some(details)).await;
        assert_eq!(ok(&record, StatusCode::OK)["state"], "draft");

        let early = post(&api, &at("/review"), &authority, None).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text());
        assert_eq!(
            ok(
                &post(&api, &at("/submit"), &source, None).await,
                StatusCode::OK
            )["state"],
            "submitted"
        );
        // Only the authority records the review steps.
        assert_eq!(
            post(&api, &at("/review"), &source, None).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            ok(
                &post(&api, &at("/review"), &authority, None).await,
                StatusCode::OK
            )["state"],
            "under_review"
        );
        let no_reasons = post(
            &api,
            &at("/return"),
            &authority,
            Some(json!({"reasons": []})),
        )
        .await;
        assert_eq!(
            ok(&no_reasons, StatusCode::UNPROCESSABLE_ENTITY)["field"],
            "reasons"
        );
        let past = post(
            &api,
            &at("/notice"),
            &authority,
            Some(json!({"until": "2020-01-01"})),
        )
        .await;
        assert_eq!(past.status, StatusCode::CONFLICT, "{}", past.text());
        let notice = post(
            &api,
            &at("/notice"),
            &authority,
            Some(json!({"until": "2026-12-31"})),
        )
        .await;
        assert_eq!(ok(&notice, StatusCode::OK)["state"], "public_notice");
        let bad_code = post(
            &api,
            &at("/register"),
            &authority,
            Some(json!({"result_code": "not a code!"})),
        )
        .await;
        assert_eq!(
            ok(&bad_code, StatusCode::UNPROCESSABLE_ENTITY)["field"],
            "result_code"
        );
        let registered = post(
            &api,
            &at("/register"),
            &authority,
            Some(json!({"result_code": "NAT-2026-0042"})),
        )
        .await;
        let registered = ok(&registered, StatusCode::OK);
        assert_eq!(registered["state"], "registered");
        assert_eq!(registered["result_code"], "NAT-2026-0042");

        let package = call(&api, "GET", &at("/package.json"), &source, None).await;
        let package_json: Value = serde_json::from_slice(&package.body).unwrap();
        assert_eq!(package_json["result_code"], "NAT-2026-0042");
        assert_eq!(
            package_json["basic_information"]["name"],
            "企业年报报送情况"
        );
        let md = call(&api, "GET", &at("/package.md"), &source, None).await;
        assert!(
            md.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/markdown")
        );
        assert!(
            md.text()
                .starts_with("# 公共数据资源登记：企业年报报送情况"),
            "{}",
            md.text()
        );
        assert!(md.text().contains("NAT-2026-0042"));

        let changed = post(
            &api,
            &at("/change"),
            &source,
            Some(json!({"summary": "新增字段"})),
        )
        .await;
        assert_eq!(ok(&changed, StatusCode::OK)["state"], "changed");
        assert_eq!(
            ok(
                &call(&api, "GET", &at(""), &authority, None).await,
                StatusCode::OK
            )["changes"],
            1
        );
        let cancelled = post(
            &api,
            &at("/cancel"),
            &source,
            Some(json!({"reason": "停止提供"})),
        )
        .await;
        assert_eq!(ok(&cancelled, StatusCode::OK)["state"], "cancelled");
        let after = post(&api, &at("/submit"), &source, None).await;
        assert_eq!(after.status, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn quality_issue_is_answered_by_the_provider_and_overdue_after_the_deadline() {
    for t in TestApp::all().await {
        let api = t.api();
        let merchant = login(&t, &api, "merchant").await;
        let list = ok(
            &call(
                &api,
                "GET",
                "/api/v1/catalog?domain=credit",
                &Session::default(),
                None,
            )
            .await,
            StatusCode::OK,
        );
        let id = list[0]["id"].as_str().unwrap().to_owned();
        let issues = format!("/api/v1/resources/{id}/issues");

        let unknown = post(
            &api,
            &issues,
            &merchant,
            Some(json!({"field": "colour", "text": "?"})),
        )
        .await;
        assert_eq!(
            ok(&unknown, StatusCode::UNPROCESSABLE_ENTITY)["field"],
            "field"
        );
        let raised = post(
            &api,
            &issues,
            &merchant,
            Some(json!({"field": "established", "text": "成立日期有空值"})),
        )
        .await;
        let raised = ok(&raised, StatusCode::CREATED);
        assert_eq!(raised["status"], "open");
        let issue = raised["id"].as_str().unwrap().to_owned();
        let first = post(
            &api,
            &issues,
            &merchant,
            Some(json!({"text": "更新不及时"})),
        )
        .await;
        let first = ok(&first, StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Another source department may not answer; the provider answers the first one on time.
        let answer = |issue: &str| format!("/api/v1/resources/{id}/issues/{issue}/answer");
        let source2 = login(&t, &api, "source2").await;
        let stranger = post(
            &api,
            &answer(&issue),
            &source2,
            Some(json!({"answer": "已处理"})),
        )
        .await;
        assert_eq!(stranger.status, StatusCode::FORBIDDEN);
        let source = login(&t, &api, "source").await;
        let on_time = post(
            &api,
            &answer(&first),
            &source,
            Some(json!({"answer": "已改为每日更新"})),
        )
        .await;
        assert_eq!(ok(&on_time, StatusCode::OK)["status"], "answered");

        // Past the profile's deadline the open issue is overdue.
        let days = i64::from(t.app.profile().catalog().quality_answer_days.value);
        t.clock.advance_seconds((days + 1) * 86_400);
        let merchant = login(&t, &api, "merchant").await;
        let seen = ok(
            &call(&api, "GET", &issues, &merchant, None).await,
            StatusCode::OK,
        );
        let open = seen["issues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == issue.as_str())
            .unwrap()
            .clone();
        assert_eq!(open["status"], "overdue");
        assert_eq!(open["overdue"], true);
        assert_eq!(seen["counts"]["overdue"], 1);
        assert_eq!(seen["counts"]["answered_on_time"], 1);

        let source = login(&t, &api, "source").await;
        let late = post(
            &api,
            &answer(&issue),
            &source,
            Some(json!({"answer": "已补全"})),
        )
        .await;
        assert_eq!(ok(&late, StatusCode::OK)["status"], "answered_late");
        let twice = post(
            &api,
            &answer(&issue),
            &source,
            Some(json!({"answer": "再次"})),
        )
        .await;
        assert_eq!(twice.status, StatusCode::CONFLICT);
        let authority = login(&t, &api, "authority").await;
        let counts = ok(
            &call(&api, "GET", &issues, &authority, None).await,
            StatusCode::OK,
        )["counts"]
            .clone();
        assert_eq!(
            counts,
            json!({"raised": 2, "open": 0, "overdue": 0, "answered_on_time": 1, "answered_late": 1})
        );
        // Someone who neither raised nor provides sees none of them.
        let operator = login(&t, &api, "operator").await;
        let none = ok(
            &call(&api, "GET", &issues, &operator, None).await,
            StatusCode::OK,
        );
        assert_eq!(none["counts"]["raised"], 0);
    }
}

#[tokio::test]
async fn every_catalog_change_is_on_the_audit_chain() {
    for t in TestApp::all().await {
        let api = t.api();
        let source = login(&t, &api, "source").await;
        let authority = login(&t, &api, "authority").await;
        let merchant = login(&t, &api, "merchant").await;
        let id = register(&api, &source, draft("企业年报报送情况", "conditional")).await;
        let steps: Vec<(&str, String, &Session, Option<Value>)> = vec![
            (
                "POST",
                format!("/api/v1/resources/{id}/submit"),
                &source,
                None,
            ),
            (
                "POST",
                format!("/api/v1/resources/{id}/refuse"),
                &authority,
                Some(json!({"reasons": ["摘要不清"]})),
            ),
            (
                "POST",
                format!("/api/v1/resources/{id}/versions"),
                &source,
                Some(json!({"draft": draft("企业年报报送情况", "conditional")})),
            ),
            (
                "POST",
                format!("/api/v1/resources/{id}/submit"),
                &source,
                None,
            ),
            (
                "POST",
                format!("/api/v1/resources/{id}/approve"),
                &authority,
                None,
            ),
            (
                "PUT",
                format!("/api/v1/resources/{id}/registration"),
                &source,
                Some(json!({
                    "agent_name": "周伟", "agent_phone": "0955-1234567",
                    "storage_location": "市政务云", "storage_method": "关系型数据库",
                    "commitment_letter": {"title": "承诺书", "reference": "CN-2026-01"}
                })),
            ),
            (
                "POST",
                format!("/api/v1/resources/{id}/registration/submit"),
                &source,
                None,
            ),
            (
                "POST",
                format!("/api/v1/resources/{id}/issues"),
                &merchant,
                Some(json!({"text": "更新不及时"})),
            ),
        ];
        for (method, path, who, body) in steps {
            let reply = call(&api, method, &path, who, body).await;
            assert!(
                reply.status.is_success(),
                "{method} {path}: {}",
                reply.text()
            );
        }
        let events = t
            .app
            .store()
            .search_audit(&shuyu_store::AuditFilter::default(), None, 500)
            .await
            .unwrap();
        let actions: Vec<String> = events
            .iter()
            .filter(|e| e.draft.object_id == id || e.draft.detail.contains(&id))
            .map(|e| e.draft.action.clone())
            .collect();
        for expected in [
            "resource.register",
            "resource.submit",
            "resource.review",
            "resource.edit",
            "registration.update_details",
            "registration.submit",
            "quality_issue.raise",
        ] {
            assert!(
                actions.iter().any(|a| a == expected),
                "{expected} missing from {actions:?}"
            );
        }
        assert_eq!(
            actions.iter().filter(|a| *a == "resource.review").count(),
            2
        );
        let supervisor = login(&t, &api, "supervisor").await;
        let verify = ok(
            &call(&api, "GET", "/api/v1/audit/verify", &supervisor, None).await,
            StatusCode::OK,
        );
        assert_eq!(verify["intact"], true, "{verify}");
    }
}

#[tokio::test]
async fn the_managed_list_pages_through_what_the_policy_lets_the_caller_see() {
    for t in TestApp::all().await {
        let api = t.api();
        let source = login(&t, &api, "source").await;
        let list = |who: Session, q: String| {
            let api = api.clone();
            async move { call(&api, "GET", &format!("/api/v1/resources{q}"), &who, None).await }
        };
        let mine = ok(&list(source.clone(), String::new()).await, StatusCode::OK);
        let before = mine["total"].as_u64().unwrap();
        t.clock.advance_seconds(60);
        let new = register(&api, &source, draft("企业年报报送情况", "conditional")).await;
        let all = ok(&list(source.clone(), String::new()).await, StatusCode::OK);
        assert_eq!(all["total"].as_u64().unwrap(), before + 1);
        // Newest first; every resource listed is the source department's own.
        assert_eq!(all["resources"][0]["id"], new.as_str());
        assert_eq!(all["next_offset"], Value::Null);
        let provider = all["resources"][0]["provider_org_id"].clone();
        assert!(
            all["resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["provider_org_id"] == provider)
        );
        // Page by one: the pages together are the whole list, in order.
        let mut seen = Vec::new();
        let mut offset = Some(0u64);
        while let Some(at) = offset {
            let one = ok(
                &list(source.clone(), format!("?limit=1&offset={at}")).await,
                StatusCode::OK,
            );
            assert_eq!(one["resources"].as_array().unwrap().len(), 1);
            seen.push(one["resources"][0]["id"].clone());
            offset = one["next_offset"].as_u64();
        }
        let ids: Vec<Value> = all["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        assert_eq!(seen, ids);
        // A merchant manages nothing: an empty list, not an error; the draft is not there.
        let merchant = login(&t, &api, "merchant").await;
        let theirs = ok(&list(merchant, String::new()).await, StatusCode::OK);
        assert!(
            theirs["resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["id"] != new.as_str())
        );
        // Bad paging is a problem naming the parameter.
        let bad = list(source.clone(), "?limit=0".into()).await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            bad.text()
        );
        assert!(bad.text().contains("limit"), "{}", bad.text());
        let unknown = list(source, "?page=2".into()).await;
        assert_eq!(
            unknown.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            unknown.text()
        );
    }
}
