//! Grants over the API and through the one seeding use case: no route creates a grant; the demo
//! grant is seeded by the system and audited; suspend, resume and revoke with reasons; bad input
//! and impossible moves are clear problems that change nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::http::StatusCode;
use common::{Session, assert_problem, call, login};
use serde_json::{Value, json};
use shuyu_app::{AppError, Ctx, FieldRequest, NewGrant, ResourceRequest};
use shuyu_audit::Outcome;
use shuyu_core::{GrantId, RequestId, ResourceId};
use shuyu_store::AuditFilter;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::{DEMO_SCENARIO, person_ctx};

fn system(t: &TestApp) -> Ctx {
    Ctx::system(RequestId::mint(t.app.now(), [3; 10]))
}

/// The demo grant, as the system reads it.
async fn demo_grant(t: &TestApp) -> shuyu_app::GrantView {
    let all = t.app.grants(&system(t)).await.unwrap();
    assert_eq!(all.len(), 1);
    all.into_iter().next().unwrap()
}

/// A request equal to the demo grant's (all fields at their defaults).
async fn request_like_the_demo(t: &TestApp) -> NewGrant {
    let g = demo_grant(t).await.grant;
    NewGrant {
        merchant: g.merchant(),
        operator: g.operator(),
        scenario: g.scenario().clone(),
        resources: g
            .resources()
            .iter()
            .map(|r| ResourceRequest {
                resource: r.resource,
                version: r.version,
                table: r.table.clone(),
                fields: r
                    .fields
                    .iter()
                    .map(|f| FieldRequest::default_handling(&f.name))
                    .collect(),
            })
            .collect(),
        usage: g.usage(),
        term: g.term(),
        min_group_size: None,
        budget: None,
    }
}

async fn events(t: &TestApp, action: &str) -> Vec<shuyu_audit::EventRecord> {
    t.app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some(action.into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap()
}

async fn grant_json(router: &axum::Router, session: &Session, id: &str) -> Value {
    let reply = call(
        router,
        "GET",
        &format!("/api/v1/grants/{id}"),
        session,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn no_route_creates_a_grant() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let authority = login(&t, &router, "authority").await;
    let operator = login(&t, &router, "operator").await;
    for session in [&authority, &operator] {
        for method in ["POST", "PUT"] {
            let reply = call(
                &router,
                method,
                "/api/v1/grants",
                session,
                Some(json!({"scenario": "x"})),
            )
            .await;
            assert!(
                reply.status == StatusCode::METHOD_NOT_ALLOWED
                    || reply.status == StatusCode::NOT_FOUND,
                "{method}: {} {}",
                reply.status,
                reply.text()
            );
            assert_problem(&reply, reply.status);
        }
    }
    let served = shuyu_api::routes_table();
    assert!(
        !served.iter().any(|(m, p)| p.starts_with("/api/v1/grants")
            && matches!(m.as_str(), "PUT" | "PATCH")
            || (m == "POST" && p == "/api/v1/grants")),
        "{served:?}"
    );
    assert_eq!(t.app.grants(&system(&t)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_demo_grant_is_seeded_by_the_system_and_audited() {
    for t in TestApp::all().await {
        let router = t.api();
        let merchant = login(&t, &router, "merchant").await;
        let reply = call(&router, "GET", "/api/v1/grants", &merchant, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let list = reply.json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        let g = &list[0];
        assert_eq!(g["scenario"], DEMO_SCENARIO);
        assert_eq!(g["scenario_category"], "public_interest");
        assert_eq!(g["seeded"], true);
        assert_eq!(g["status"], "active");
        assert_eq!(g["resources"].as_array().unwrap().len(), 2);
        assert!(matches!(
            g["usage"].as_str(),
            Some("aggregate" | "dp_aggregate")
        ));
        let seeded = events(&t, "grant.seed").await;
        assert_eq!(seeded.len(), 1, "{}", t.db.label);
        let e = &seeded[0].draft;
        assert_eq!(e.role, "system");
        assert_eq!(e.outcome, Outcome::Ok);
        assert_eq!(e.object_id, g["id"].as_str().unwrap());
        assert!(e.detail.contains("seeded"), "{}", e.detail);
    }
}

#[tokio::test]
async fn only_the_system_seeds_a_grant_and_a_refusal_is_audited() {
    let t = TestApp::sqlite().await;
    let request = request_like_the_demo(&t).await;
    for username in ["authority", "operator", "merchant", "admin"] {
        let person = t
            .app
            .store()
            .person_by_username(username)
            .await
            .unwrap()
            .unwrap();
        let err = t
            .app
            .seed_grant(&person_ctx(&t.app, &person), request.clone())
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Forbidden(_)), "{username}: {err}");
    }
    let refused: Vec<_> = events(&t, "grant.seed")
        .await
        .into_iter()
        .filter(|e| e.draft.outcome == Outcome::Denied)
        .collect();
    assert_eq!(refused.len(), 4);
    assert_eq!(t.app.grants(&system(&t)).await.unwrap().len(), 1);
    // The same request as the system is a second, separate grant.
    let second = t.app.seed_grant(&system(&t), request).await.unwrap();
    assert!(second.grant.seeded());
    assert_eq!(t.app.grants(&system(&t)).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_bad_seed_names_the_field_and_stores_nothing() {
    let t = TestApp::sqlite().await;
    let base = request_like_the_demo(&t).await;
    let field_of = |err: AppError| match err {
        AppError::Invalid { field, .. } => field.to_owned(),
        AppError::InvalidFields(list) => list[0].0.clone(),
        other => panic!("expected invalid input, got {other:?}"),
    };
    let mut r = base.clone();
    r.merchant = r.operator;
    let err = t.app.seed_grant(&system(&t), r).await.unwrap_err();
    assert_eq!(field_of(err), "merchant");
    let mut r = base.clone();
    r.resources[0].resource = ResourceId::mint(t.app.now(), [9; 10]);
    let err = t.app.seed_grant(&system(&t), r).await.unwrap_err();
    assert_eq!(field_of(err), "resources[0].resource");
    // A field desensitized by default may not be left as it is.
    let demo = demo_grant(&t).await.grant;
    let (ri, fi) = demo
        .resources()
        .iter()
        .enumerate()
        .find_map(|(ri, r)| {
            r.fields
                .iter()
                .position(|f| f.desensitization != shuyu_profile::Desensitization::None)
                .map(|fi| (ri, fi))
        })
        .unwrap();
    let mut r = base.clone();
    r.resources[ri].fields[fi].desensitization = Some(shuyu_profile::Desensitization::None);
    let err = t.app.seed_grant(&system(&t), r).await.unwrap_err();
    assert_eq!(
        field_of(err),
        format!("resources[{ri}].fields[{fi}].desensitization")
    );
    let mut r = base.clone();
    r.min_group_size = Some(1);
    let err = t.app.seed_grant(&system(&t), r).await.unwrap_err();
    assert_eq!(field_of(err), "min_group_size");
    let mut r = base;
    r.term.to = r.term.from.plus_seconds(3_650 * 86_400);
    let err = t.app.seed_grant(&system(&t), r).await.unwrap_err();
    assert_eq!(field_of(err), "term.to");
    assert_eq!(t.app.grants(&system(&t)).await.unwrap().len(), 1);
    let ok_seeds = events(&t, "grant.seed")
        .await
        .into_iter()
        .filter(|e| e.draft.outcome == Outcome::Ok)
        .count();
    assert_eq!(ok_seeds, 1, "only the demo's grant was stored");
}

#[tokio::test]
async fn suspend_resume_revoke_with_reasons() {
    for t in TestApp::all().await {
        let router = t.api();
        let operator = login(&t, &router, "operator").await;
        let merchant = login(&t, &router, "merchant").await;
        let id = demo_grant(&t).await.grant.id().to_string();
        let path = |step: &str| format!("/api/v1/grants/{id}/{step}");

        // An empty reason is refused and changes nothing.
        let reply = call(
            &router,
            "POST",
            &path("suspend"),
            &operator,
            Some(json!({"reason": "  "})),
        )
        .await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "reason");
        assert_eq!(
            grant_json(&router, &merchant, &id).await["status"],
            "active"
        );
        // A body without `reason` is a 4xx problem too.
        let reply = call(
            &router,
            "POST",
            &path("suspend"),
            &operator,
            Some(json!({})),
        )
        .await;
        assert!(reply.status.is_client_error(), "{}", reply.status);

        let reply = call(
            &router,
            "POST",
            &path("suspend"),
            &operator,
            Some(json!({"reason": "安全检查发现异常访问"})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json()["status"], "suspended");
        let seen = grant_json(&router, &merchant, &id).await;
        assert_eq!(seen["status"], "suspended");
        assert_eq!(seen["history"][0]["reason"], "安全检查发现异常访问");

        let reply = call(
            &router,
            "POST",
            &path("resume"),
            &operator,
            Some(json!({"reason": "整改完成"})),
        )
        .await;
        assert_eq!(reply.json()["status"], "active", "{}", reply.text());
        let reply = call(
            &router,
            "POST",
            &path("revoke"),
            &operator,
            Some(json!({"reason": "协议终止"})),
        )
        .await;
        assert_eq!(reply.json()["status"], "revoked", "{}", reply.text());

        // Revoked is terminal: resuming is a conflict that names the state.
        let reply = call(
            &router,
            "POST",
            &path("resume"),
            &operator,
            Some(json!({"reason": "再试一次"})),
        )
        .await;
        let problem = assert_problem(&reply, StatusCode::CONFLICT);
        assert!(
            problem["detail"].as_str().unwrap().contains("revoked"),
            "{problem}"
        );
        let seen = grant_json(&router, &merchant, &id).await;
        assert_eq!(seen["status"], "revoked");
        assert_eq!(seen["history"].as_array().unwrap().len(), 3);
        for action in ["grant.suspend", "grant.resume", "grant.revoke"] {
            let ok: Vec<_> = events(&t, action)
                .await
                .into_iter()
                .filter(|e| e.draft.outcome == Outcome::Ok)
                .collect();
            assert_eq!(ok.len(), 1, "{action} on {}", t.db.label);
            assert_eq!(ok[0].draft.role, "operator");
            assert_eq!(ok[0].draft.object_id, id);
        }
    }
}

#[tokio::test]
async fn a_grant_cannot_be_resumed_after_its_term() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let authority = login(&t, &router, "authority").await;
    let view = demo_grant(&t).await;
    let id = view.grant.id().to_string();
    let reply = call(
        &router,
        "POST",
        &format!("/api/v1/grants/{id}/suspend"),
        &authority,
        Some(json!({"reason": "审查"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    t.clock.set(view.grant.term().to.plus_seconds(60));
    let authority = login(&t, &router, "authority").await;
    let reply = call(
        &router,
        "POST",
        &format!("/api/v1/grants/{id}/resume"),
        &authority,
        Some(json!({"reason": "恢复"})),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap().contains("term"),
        "{problem}"
    );
    assert_eq!(
        grant_json(&router, &authority, &id).await["status"],
        "expired"
    );
    assert!(events(&t, "grant.resume").await.is_empty());
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_clear_problems() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let authority = login(&t, &router, "authority").await;
    let unknown = GrantId::mint(t.app.now(), [0x77; 10]);
    let reply = call(
        &router,
        "GET",
        &format!("/api/v1/grants/{unknown}"),
        &authority,
        None,
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let reply = call(
        &router,
        "POST",
        &format!("/api/v1/grants/{unknown}/revoke"),
        &authority,
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let reply = call(
        &router,
        "GET",
        "/api/v1/grants/not-a-grant",
        &authority,
        None,
    )
    .await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    let problem = assert_problem(&reply, reply.status);
    assert_eq!(problem["field"], "path");
    assert!(
        problem["detail"].as_str().unwrap().contains("malformed"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_unverified_merchant_sees_no_grant() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let newcomer = login(&t, &router, "newcomer").await;
    let reply = call(&router, "GET", "/api/v1/grants", &newcomer, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!([]));
    let id = demo_grant(&t).await.grant.id();
    let reply = call(
        &router,
        "GET",
        &format!("/api/v1/grants/{id}"),
        &newcomer,
        None,
    )
    .await;
    assert_problem(&reply, StatusCode::FORBIDDEN);
    let reply = call(&router, "GET", "/api/v1/grants", &Session::default(), None).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED);
}
