//! Every API route against every role: the policy table, end to end over HTTP. A route without an
//! entry here fails `every_route_has_an_expectation`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::http::StatusCode;
use common::{Session, call, login};
use serde_json::json;
use shuyu_core::{CreditCode, Role};
use shuyu_testkit::TestApp;

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
    let t = TestApp::sqlite().await;
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
            let path = template.replace(
                "{id}",
                if template.contains("orgs") {
                    &merchant_org_id
                } else if template.contains("tokens") {
                    &token_id
                } else {
                    &newcomer_id
                },
            );
            let label = role.map_or("anonymous", |r| r.as_str());
            let body = body_for(template, label, &merchant_org_id);
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

fn body_for(template: &str, label: &str, merchant_org: &str) -> Option<serde_json::Value> {
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
        _ => return None,
    })
}
