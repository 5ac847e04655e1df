//! Every API route against every role: the policy table, end to end over HTTP. A route without an
//! entry here fails `every_route_has_an_expectation`.
//!
//! The table is checked in Qiqihar, whose data service agency supplies data for the source
//! departments (`catalog.agency_supplies`, QQ5); where a profile says otherwise the agency has no
//! catalog rights (`catalog_grants_table` in shuyu-policy checks both kinds of city).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::http::StatusCode;
use common::{Session, call, login, raw};
use serde_json::json;
use shuyu_core::{CreditCode, Role};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_synth::CsvEncoding;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::DemoDataset;

/// Who may call a route (on the objects the test uses: the merchant's organisation, the newcomer
/// merchant, the administrator's token).
#[derive(Clone, Copy, Debug)]
enum Who {
    Public,
    SignedIn,
    Roles(&'static [Role]),
}

const OVERSIGHT_AND_MERCHANT: &[Role] = &[
    Role::Admin,
    Role::Authority,
    Role::Operator,
    Role::Supervisor,
    Role::Merchant,
];

/// Who may read a resource's managed side (drafts, reviews, registration): oversight, the
/// provider's staff and the data service agency.
const RESOURCE_READERS: &[Role] = &[
    Role::Admin,
    Role::Authority,
    Role::Operator,
    Role::Supervisor,
    Role::SourceDepartment,
    Role::DataServiceAgency,
];
/// Who acts for the providing source department: its staff and the data service agency (QQ5).
const PROVIDER: &[Role] = &[Role::SourceDepartment, Role::DataServiceAgency];
const PROVIDER_AND_AUTHORITY: &[Role] = &[
    Role::SourceDepartment,
    Role::DataServiceAgency,
    Role::Authority,
];

/// Who may read the demo grant: oversight of grants, the operator running it and the merchant's
/// verified personnel.
const GRANT_READERS: &[Role] = &[
    Role::Authority,
    Role::Supervisor,
    Role::Operator,
    Role::Merchant,
];
/// Who suspends, resumes and revokes it: the authority and the operator running it.
const GRANT_MOVERS: &[Role] = &[Role::Authority, Role::Operator];
/// Who prepares development tables and runs queries in the demo grant's workspace: the merchant's
/// cleared personnel (reading it is for the grant's readers).
const WORKSPACE_USERS: &[Role] = &[Role::Merchant];

const EXPECTED: &[(&str, &str, Who)] = &[
    ("GET", "/healthz", Who::Public),
    ("GET", "/readyz", Who::Public),
    ("GET", "/metrics", Who::Public),
    ("POST", "/api/v1/auth/login", Who::Public),
    ("GET", "/api/v1/me", Who::SignedIn),
    ("POST", "/api/v1/me/agreement", Who::SignedIn),
    ("POST", "/api/v1/me/password", Who::SignedIn),
    ("POST", "/api/v1/me/totp", Who::SignedIn),
    ("GET", "/api/v1/profile", Who::SignedIn),
    ("GET", "/api/v1/orgs", Who::SignedIn),
    ("POST", "/api/v1/orgs", Who::Roles(&[Role::Admin])),
    (
        "GET",
        "/api/v1/orgs/{id}",
        Who::Roles(OVERSIGHT_AND_MERCHANT),
    ),
    ("GET", "/api/v1/people", Who::SignedIn),
    ("POST", "/api/v1/people", Who::Roles(&[Role::Admin])),
    (
        "GET",
        "/api/v1/people/{id}",
        Who::Roles(OVERSIGHT_AND_MERCHANT),
    ),
    (
        "POST",
        "/api/v1/people/{id}/verification",
        Who::Roles(&[Role::Admin, Role::Operator]),
    ),
    (
        "POST",
        "/api/v1/people/{id}/training",
        Who::Roles(&[Role::Admin, Role::Operator]),
    ),
    (
        "POST",
        "/api/v1/people/{id}/disable",
        Who::Roles(&[Role::Admin]),
    ),
    (
        "POST",
        "/api/v1/people/{id}/enable",
        Who::Roles(&[Role::Admin]),
    ),
    (
        "POST",
        "/api/v1/people/{id}/sso",
        Who::Roles(&[Role::Admin]),
    ),
    ("GET", "/api/v1/tokens", Who::SignedIn),
    ("POST", "/api/v1/tokens", Who::SignedIn),
    ("DELETE", "/api/v1/tokens/{id}", Who::Roles(&[Role::Admin])),
    (
        "GET",
        "/api/v1/audit/events",
        Who::Roles(&[Role::Supervisor, Role::Authority]),
    ),
    (
        "GET",
        "/api/v1/audit/export",
        Who::Roles(&[Role::Supervisor, Role::Authority]),
    ),
    (
        "GET",
        "/api/v1/audit/verify",
        Who::Roles(&[Role::Supervisor, Role::Authority, Role::Admin]),
    ),
    ("GET", "/api/v1/catalog", Who::Public),
    ("GET", "/api/v1/catalog/{id}", Who::Public),
    ("GET", "/api/v1/resources", Who::SignedIn),
    ("POST", "/api/v1/resources", Who::Roles(PROVIDER)),
    (
        "GET",
        "/api/v1/resources/{id}",
        Who::Roles(RESOURCE_READERS),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/versions",
        Who::Roles(PROVIDER),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/submit",
        Who::Roles(PROVIDER),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/approve",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/refuse",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "GET",
        "/api/v1/resources/{id}/diff",
        Who::Roles(RESOURCE_READERS),
    ),
    (
        "PUT",
        "/api/v1/resources/{id}/registration",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    (
        "GET",
        "/api/v1/resources/{id}/registration",
        Who::Roles(RESOURCE_READERS),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/submit",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/review",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/return",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/notice",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/register",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "GET",
        "/api/v1/resources/{id}/registration/package.json",
        Who::Roles(RESOURCE_READERS),
    ),
    (
        "GET",
        "/api/v1/resources/{id}/registration/package.md",
        Who::Roles(RESOURCE_READERS),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/change",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/registration/cancel",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    ("GET", "/api/v1/resources/{id}/issues", Who::SignedIn),
    (
        "POST",
        "/api/v1/resources/{id}/issues",
        Who::Roles(&[Role::Operator, Role::Merchant]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/issues/{issue}/answer",
        Who::Roles(&[Role::SourceDepartment]),
    ),
    (
        "GET",
        "/api/v1/resources/{id}/datasets",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/datasets",
        Who::Roles(PROVIDER),
    ),
    (
        "GET",
        "/api/v1/resources/{id}/imports",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    (
        "GET",
        "/api/v1/imports/{id}",
        Who::Roles(PROVIDER_AND_AUTHORITY),
    ),
    ("GET", "/api/v1/grants", Who::SignedIn),
    ("GET", "/api/v1/grants/{id}", Who::Roles(GRANT_READERS)),
    // The demo grant's workspace, while the grant is live (before the moves below). The demo's
    // data is not imported here: the analyst's preparation is a 409 and its query a 422.
    ("GET", "/api/v1/workspaces", Who::SignedIn),
    ("GET", "/api/v1/workspaces/{id}", Who::Roles(GRANT_READERS)),
    (
        "POST",
        "/api/v1/workspaces/{id}/dev-tables",
        Who::Roles(WORKSPACE_USERS),
    ),
    (
        "GET",
        "/api/v1/workspaces/{id}/queries",
        Who::Roles(GRANT_READERS),
    ),
    (
        "POST",
        "/api/v1/workspaces/{id}/queries",
        Who::Roles(WORKSPACE_USERS),
    ),
    (
        "GET",
        "/api/v1/workspaces/{id}/queries/{query_id}",
        Who::Roles(GRANT_READERS),
    ),
    (
        "GET",
        "/api/v1/workspaces/{id}/ledger",
        Who::Roles(GRANT_READERS),
    ),
    // Fusion imports (CC18(3)): the merchant uploads (its JSON body here is a 415, past the
    // policy) and withdraws; only the authority approves, rejects and revokes. In this order on
    // the import made below: approved, so rejecting and withdrawing are 409s, then revoked.
    (
        "POST",
        "/api/v1/workspaces/{id}/fusion",
        Who::Roles(WORKSPACE_USERS),
    ),
    (
        "GET",
        "/api/v1/workspaces/{id}/fusion",
        Who::Roles(GRANT_READERS),
    ),
    ("GET", "/api/v1/fusion", Who::SignedIn),
    ("GET", "/api/v1/fusion/{id}", Who::Roles(GRANT_READERS)),
    (
        "POST",
        "/api/v1/fusion/{id}/approve",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/fusion/{id}/reject",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/fusion/{id}/withdraw",
        Who::Roles(WORKSPACE_USERS),
    ),
    (
        "POST",
        "/api/v1/fusion/{id}/revoke",
        Who::Roles(&[Role::Authority]),
    ),
    // In this order on the demo grant: suspended, resumed, then revoked for good (a move the grant's
    // state no longer allows is a 409, which still shows the caller was allowed).
    (
        "POST",
        "/api/v1/grants/{id}/suspend",
        Who::Roles(GRANT_MOVERS),
    ),
    (
        "POST",
        "/api/v1/grants/{id}/resume",
        Who::Roles(GRANT_MOVERS),
    ),
    (
        "POST",
        "/api/v1/grants/{id}/revoke",
        Who::Roles(GRANT_MOVERS),
    ),
    ("GET", "/api/v1/freezes", Who::SignedIn),
    // On the demo merchant: the authority (earlier in `Role::ALL`) freezes it, so the operator
    // running its grant, also allowed, meets a 409; the authority then lifts it, so the operator
    // (who may lift only its own freezes) is refused.
    ("POST", "/api/v1/orgs/{id}/freeze", Who::Roles(GRANT_MOVERS)),
    (
        "POST",
        "/api/v1/orgs/{id}/unfreeze",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/supply/freeze",
        Who::Roles(&[Role::Authority]),
    ),
    (
        "POST",
        "/api/v1/resources/{id}/supply/unfreeze",
        Who::Roles(&[Role::Authority]),
    ),
    // Last: it ends the session.
    ("POST", "/api/v1/auth/logout", Who::SignedIn),
];

#[test]
fn every_route_has_an_expectation() {
    let served = shuyu_api::routes_table();
    for (method, path) in &served {
        assert!(
            EXPECTED.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} has no entry in EXPECTED: add who may call it"
        );
    }
    for (method, path, _) in EXPECTED {
        assert!(
            served.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is expected but not served"
        );
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_says() {
    let profile = Profile::builtin("qiqihar").unwrap();
    assert!(profile.catalog().agency_supplies.value);
    let t = TestApp::on(TestDb::sqlite(), profile).await;
    let router = t.api();
    let admin = login(&t, &router, "admin").await;
    let merchant_org = t
        .app
        .person_by_username(
            &shuyu_app::Ctx::system(shuyu_core::RequestId::mint(t.app.now(), [1; 10])),
            "newcomer",
        )
        .await
        .unwrap();
    let newcomer_id = merchant_org.id.to_string();
    let merchant_org_id = merchant_org.org.to_string();
    let token = call(
        &router,
        "POST",
        "/api/v1/tokens",
        &admin,
        Some(json!({"name": "route table", "days": 5})),
    )
    .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text());
    let token_id = token.json()["token"]["id"].as_str().unwrap().to_owned();
    // The demo's approved enterprise registry, provided by the `source` account's organisation, and
    // a quality issue the merchant raised on it.
    let catalog = call(
        &router,
        "GET",
        "/api/v1/catalog?domain=credit",
        &Session::default(),
        None,
    )
    .await;
    let entry = catalog.json()[0].clone();
    let resource_id = entry["id"].as_str().unwrap().to_owned();
    let provider_org_id = entry["provider_org_id"].as_str().unwrap().to_owned();
    let merchant = login(&t, &router, "merchant").await;
    let issue = call(
        &router,
        "POST",
        &format!("/api/v1/resources/{resource_id}/issues"),
        &merchant,
        Some(json!({"text": "成立日期有空值"})),
    )
    .await;
    assert_eq!(issue.status, StatusCode::CREATED, "{}", issue.text());
    let issue_id = issue.json()["id"].as_str().unwrap().to_owned();
    // An import of the enterprise registry by its source department: its job.
    let source = login(&t, &router, "source").await;
    let upload = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/resources/{resource_id}/datasets"))
        .header("content-type", "text/csv")
        .header(
            "cookie",
            format!("shuyu_session={}", source.cookie.unwrap()),
        )
        .header("x-csrf-token", source.csrf.unwrap())
        .body(axum::body::Body::from(
            DemoDataset::EnterpriseRegistry.csv(20, CsvEncoding::Utf8),
        ))
        .unwrap();
    let imported = raw(&router, upload).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text());
    let job_id = imported.json()["id"].as_str().unwrap().to_owned();
    // The demo grant, seeded by the system for the merchant's organisation.
    let grants = call(&router, "GET", "/api/v1/grants", &merchant, None).await;
    assert_eq!(grants.status, StatusCode::OK, "{}", grants.text());
    let grant = grants.json()[0].clone();
    assert_eq!(grant["merchant_org_id"], merchant_org_id.as_str());
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    let workspace_id = grant["workspace_id"].as_str().unwrap().to_owned();
    // A query of that workspace (refused: it has no development tables), to read.
    let refused = call(
        &router,
        "POST",
        &format!("/api/v1/workspaces/{workspace_id}/queries"),
        &merchant,
        Some(json!({"env": "dev", "sql": "SELECT 1"})),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
    let query_id = refused.json()["query_id"].as_str().unwrap().to_owned();
    // A fusion import of that workspace by the merchant, pending review.
    let upload = axum::http::Request::builder()
        .method("POST")
        .uri(format!(
            "/api/v1/workspaces/{workspace_id}/fusion?table=members&legal_basis=%E7%94%A8%E6%88%B7%E6%8E%88%E6%9D%83&columns=tier:string:group_by"
        ))
        .header("content-type", "text/csv")
        .header(
            "cookie",
            format!("shuyu_session={}", merchant.cookie.clone().unwrap()),
        )
        .header("x-csrf-token", merchant.csrf.clone().unwrap())
        .body(axum::body::Body::from("tier\ngold\nsilver\n"))
        .unwrap();
    let fused = raw(&router, upload).await;
    assert_eq!(fused.status, StatusCode::CREATED, "{}", fused.text());
    let fusion_id = fused.json()["id"].as_str().unwrap().to_owned();

    let mut principals: Vec<(Option<Role>, Session)> = vec![(None, Session::default())];
    for role in Role::ALL {
        let username = t
            .logins
            .0
            .iter()
            .find(|l| l.role == *role && l.username != "newcomer")
            .unwrap()
            .username
            .clone();
        principals.push((Some(*role), login(&t, &router, &username).await));
    }
    let mut n = 0;
    for (method, template, who) in EXPECTED {
        for (role, session) in &principals {
            n += 1;
            let mut path = template
                .replace(
                    "{id}",
                    if template.contains("orgs") {
                        &merchant_org_id
                    } else if template.contains("tokens") {
                        &token_id
                    } else if template.starts_with("/api/v1/imports") {
                        &job_id
                    } else if template.starts_with("/api/v1/fusion") {
                        &fusion_id
                    } else if template.starts_with("/api/v1/grants") {
                        &grant_id
                    } else if template.starts_with("/api/v1/workspaces") {
                        &workspace_id
                    } else if template.contains("catalog") || template.contains("resources") {
                        &resource_id
                    } else {
                        &newcomer_id
                    },
                )
                .replace("{issue}", &issue_id)
                .replace("{query_id}", &query_id);
            if template.ends_with("/diff") {
                path.push_str("?from=1&to=1");
            }
            let label = role.map_or("anonymous", |r| r.as_str());
            let body = body_for(template, label, &merchant_org_id, &provider_org_id);
            let reply = call(&router, method, &path, session, body).await;
            let allowed = match (who, role) {
                (Who::Public, _) => true,
                (Who::SignedIn, r) => r.is_some(),
                (Who::Roles(roles), Some(r)) => roles.contains(r),
                (Who::Roles(_), None) => false,
            };
            if allowed {
                assert!(
                    reply.status != StatusCode::UNAUTHORIZED
                        && reply.status != StatusCode::FORBIDDEN,
                    "{label} should be allowed {method} {path}: {} {}",
                    reply.status,
                    reply.text()
                );
            } else {
                let expected = if role.is_some() {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNAUTHORIZED
                };
                assert_eq!(
                    reply.status,
                    expected,
                    "{label} should be refused {method} {path}: {}",
                    reply.text()
                );
                assert_eq!(reply.headers["content-type"], "application/problem+json");
            }
        }
    }
    assert_eq!(n, EXPECTED.len() * (Role::ALL.len() + 1));
}

/// A valid draft of a resource (CAT-1).
fn draft(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "summary": "路线表测试资源",
        "domain": "credit",
        "update_frequency": "monthly",
        "coverage": {"time_from": "2024-01-01", "spatial": "全市"},
        "legal_basis": "《市场主体登记管理条例》",
        "open_category": "conditional",
        "grade": "L2",
        "fields": [
            {"name": "credit_code", "type": "string", "description": "统一社会信用代码", "grade": "L2",
             "flags": {"privacy_unit": true}},
            {"name": "established", "type": "date", "description": "成立日期", "grade": "L1"}
        ]
    })
}

fn body_for(
    template: &str,
    label: &str,
    merchant_org: &str,
    provider_org: &str,
) -> Option<serde_json::Value> {
    let username = format!("made.by.{}", label.replace('_', "."));
    let code = CreditCode::complete(&format!("9164050{:02}MA76XQ2K", label.len()))
        .unwrap()
        .to_string();
    Some(match template {
        "/api/v1/auth/login" => {
            json!({"username": "merchant", "password": shuyu_testkit::demo::DEMO_PASSWORD})
        }
        "/api/v1/me/agreement" => json!({"version": "2026-01"}),
        "/api/v1/me/password" => {
            json!({"old_password": "not-the-password", "new_password": "Another-Long-Pass-9"})
        }
        "/api/v1/me/totp" => json!({"password": "not-the-password"}),
        "/api/v1/orgs" => {
            json!({"name": format!("测试机构 {label}"), "org_type": "merchant", "credit_code": code})
        }
        "/api/v1/people" => {
            json!({"org_id": merchant_org, "username": username, "display_name": "测试", "role": "merchant", "password": "Long-Enough-Pass-1"})
        }
        "/api/v1/people/{id}/training" => {
            json!({"topic": "数据安全培训", "completed_on": "2026-11-01"})
        }
        "/api/v1/tokens" => json!({"name": "ci", "days": 30}),
        "/api/v1/people/{id}/sso" => json!({"subject": "https://idp.example.gov.cn|route-table"}),
        "/api/v1/resources" => {
            json!({"provider_org_id": provider_org, "draft": draft(&format!("路线表资源 {label}"))})
        }
        "/api/v1/resources/{id}/versions" => json!({"draft": draft("企业登记信息")}),
        "/api/v1/resources/{id}/refuse" => json!({"reasons": ["分级不当"]}),
        "/api/v1/resources/{id}/registration" => json!({
            "agent_name": "周伟", "agent_phone": "0955-1234567",
            "storage_location": "市政务云", "storage_method": "关系型数据库",
            "documents": [{"title": "资源目录", "reference": "ML-2026-01"}],
            "commitment_letter": {"title": "承诺书", "reference": "CN-2026-01"}
        }),
        "/api/v1/resources/{id}/registration/return" => json!({"reasons": ["材料不全"]}),
        "/api/v1/resources/{id}/registration/notice" => json!({"until": "2026-12-31"}),
        "/api/v1/resources/{id}/registration/register" => json!({"result_code": "NAT-2026-0001"}),
        "/api/v1/resources/{id}/registration/change" => json!({"summary": "新增字段"}),
        "/api/v1/resources/{id}/registration/cancel" => json!({"reason": "资源停止提供"}),
        "/api/v1/resources/{id}/issues" => {
            json!({"field": "established", "text": "成立日期有空值"})
        }
        "/api/v1/resources/{id}/issues/{issue}/answer" => json!({"answer": "已补全"}),
        "/api/v1/grants/{id}/suspend"
        | "/api/v1/grants/{id}/resume"
        | "/api/v1/grants/{id}/revoke" => json!({"reason": format!("路线表测试 {label}")}),
        "/api/v1/workspaces/{id}/dev-tables" => json!({"mode": "sample", "rows": 10}),
        "/api/v1/fusion/{id}/reject" | "/api/v1/fusion/{id}/revoke" => {
            json!({"reason": format!("路线表测试 {label}")})
        }
        "/api/v1/workspaces/{id}/queries" => json!({"env": "dev", "sql": "SELECT 1"}),
        "/api/v1/orgs/{id}/freeze"
        | "/api/v1/orgs/{id}/unfreeze"
        | "/api/v1/resources/{id}/supply/freeze"
        | "/api/v1/resources/{id}/supply/unfreeze" => {
            json!({"reason": format!("路线表测试 {label}")})
        }
        _ => return None,
    })
}
