//! The API as a client meets it: sign-in, sessions, tokens, bad input, audit search and export.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Session, assert_problem, call, login, raw};
use serde_json::json;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_PASSWORD;

async fn denied_events(t: &TestApp) -> usize {
    let filter = shuyu_store::AuditFilter {
        outcome: Some(shuyu_audit::Outcome::Denied),
        ..Default::default()
    };
    t.app
        .store()
        .search_audit(&filter, None, 1000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn wrong_passwords_are_401_and_the_fifth_locks_the_account() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    for attempt in 1..=5 {
        let reply = call(
            &api,
            "POST",
            "/api/v1/auth/login",
            &Session::default(),
            Some(json!({"username": "merchant", "password": "Wrong-Password-1"})),
        )
        .await;
        let body = assert_problem(&reply, StatusCode::UNAUTHORIZED);
        assert!(
            body["detail"].as_str().unwrap().contains("wrong"),
            "attempt {attempt}: {body}"
        );
    }
    let reply = call(
        &api,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(json!({"username": "merchant", "password": DEMO_PASSWORD})),
    )
    .await;
    let body = assert_problem(&reply, StatusCode::FORBIDDEN);
    assert!(
        body["type"].as_str().unwrap().ends_with("account-locked"),
        "{body}"
    );
    let locks = shuyu_store::AuditFilter {
        action: Some("auth.lockout".into()),
        ..Default::default()
    };
    assert_eq!(
        t.app
            .store()
            .search_audit(&locks, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // After the lock ends, the right password works again.
    t.clock.advance_seconds(16 * 60);
    login(&t, &api, "merchant").await;
}

#[tokio::test]
async fn second_factor_roles_need_the_code_and_a_code_cannot_be_replayed() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let reply = call(
        &api,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(json!({"username": "authority", "password": DEMO_PASSWORD})),
    )
    .await;
    let body = assert_problem(&reply, StatusCode::UNAUTHORIZED);
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("second-factor-required"),
        "{body}"
    );
    let code = t.code("authority");
    let first = call(
        &api,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(json!({"username": "authority", "password": DEMO_PASSWORD, "code": code})),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let replay = call(
        &api,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(json!({"username": "authority", "password": DEMO_PASSWORD, "code": code})),
    )
    .await;
    assert_problem(&replay, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_cookies_cannot_be_forged() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let s = login(&t, &api, "merchant").await;
    assert_eq!(
        call(&api, "GET", "/api/v1/me", &s, None).await.status,
        StatusCode::OK
    );
    let before = denied_events(&t).await;
    let forged = Session {
        cookie: Some(format!("sys_{}", "A".repeat(43))),
        ..Session::default()
    };
    assert_problem(
        &call(&api, "GET", "/api/v1/me", &forged, None).await,
        StatusCode::UNAUTHORIZED,
    );
    let tampered = Session {
        cookie: Some(format!("{}x", s.cookie.clone().unwrap())),
        ..Session::default()
    };
    assert_problem(
        &call(&api, "GET", "/api/v1/me", &tampered, None).await,
        StatusCode::UNAUTHORIZED,
    );
    assert_eq!(
        denied_events(&t).await,
        before + 2,
        "each refused access is on the chain"
    );
    t.clock.advance_seconds(31 * 60);
    assert_problem(
        &call(&api, "GET", "/api/v1/me", &s, None).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn state_changes_with_a_cookie_need_the_csrf_token() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let s = login(&t, &api, "merchant").await;
    let no_csrf = Session {
        csrf: None,
        ..s.clone()
    };
    let before = denied_events(&t).await;
    let reply = call(
        &api,
        "POST",
        "/api/v1/tokens",
        &no_csrf,
        Some(json!({"name": "x", "days": 3})),
    )
    .await;
    assert_eq!(
        assert_problem(&reply, StatusCode::FORBIDDEN)["reason"],
        "csrf"
    );
    assert_eq!(denied_events(&t).await, before + 1);
    let wrong = Session {
        csrf: Some("syc_wrong".into()),
        ..s.clone()
    };
    assert_problem(
        &call(
            &api,
            "POST",
            "/api/v1/tokens",
            &wrong,
            Some(json!({"name": "x", "days": 3})),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_eq!(
        call(
            &api,
            "POST",
            "/api/v1/tokens",
            &s,
            Some(json!({"name": "x", "days": 3}))
        )
        .await
        .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn api_tokens_act_for_their_org_and_role_until_revoked_or_expired() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let s = login(&t, &api, "merchant").await;
    let issued = call(
        &api,
        "POST",
        "/api/v1/tokens",
        &s,
        Some(json!({"name": "etl", "days": 2})),
    )
    .await;
    assert_eq!(issued.status, StatusCode::CREATED);
    let secret = issued.json()["secret"].as_str().unwrap().to_owned();
    let id = issued.json()["token"]["id"].as_str().unwrap().to_owned();
    let listed = call(&api, "GET", "/api/v1/tokens", &s, None).await;
    assert!(
        !listed.text().contains(&secret),
        "the secret is shown once only"
    );

    let machine = Session {
        bearer: Some(secret.clone()),
        ..Session::default()
    };
    let me = call(&api, "GET", "/api/v1/me", &machine, None).await;
    assert_eq!(me.json()["person"]["username"], "merchant");
    // Tokens cannot mint tokens or reach other organisations' people.
    assert_problem(
        &call(
            &api,
            "POST",
            "/api/v1/tokens",
            &machine,
            Some(json!({"name": "y", "days": 1})),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    let supervisor = t
        .app
        .person_by_username(
            &shuyu_app::Ctx::system(shuyu_core::RequestId::mint(t.app.now(), [2; 10])),
            "supervisor",
        )
        .await
        .unwrap();
    assert_problem(
        &call(
            &api,
            "GET",
            &format!("/api/v1/people/{}", supervisor.id),
            &machine,
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    );

    assert_eq!(
        call(&api, "DELETE", &format!("/api/v1/tokens/{id}"), &s, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_problem(
        &call(&api, "GET", "/api/v1/me", &machine, None).await,
        StatusCode::UNAUTHORIZED,
    );
    assert_problem(
        &call(&api, "DELETE", &format!("/api/v1/tokens/{id}"), &s, None).await,
        StatusCode::CONFLICT,
    );

    let issued = call(
        &api,
        "POST",
        "/api/v1/tokens",
        &s,
        Some(json!({"name": "short", "days": 1})),
    )
    .await;
    let short = Session {
        bearer: Some(issued.json()["secret"].as_str().unwrap().to_owned()),
        ..Session::default()
    };
    assert_eq!(
        call(&api, "GET", "/api/v1/me", &short, None).await.status,
        StatusCode::OK
    );
    t.clock.advance_seconds(86_401);
    assert_problem(
        &call(&api, "GET", "/api/v1/me", &short, None).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_that_names_what_to_fix() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let admin = login(&t, &api, "admin").await;
    let orgs_before = t.app.store().org_count().await.unwrap();

    let malformed = Request::builder()
        .method("POST")
        .uri("/api/v1/orgs")
        .header(
            header::COOKIE,
            format!("shuyu_session={}", admin.cookie.clone().unwrap()),
        )
        .header("x-csrf-token", admin.csrf.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();
    assert_problem(&raw(&api, malformed).await, StatusCode::BAD_REQUEST);

    let unknown = call(&api, "POST", "/api/v1/orgs", &admin, Some(json!({"name": "x", "org_type": "merchant", "credit_code": "91350100M000100Y43", "colour": "red"}))).await;
    let body = assert_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap().contains("colour"),
        "{body}"
    );

    let bad_code = call(
        &api,
        "POST",
        "/api/v1/orgs",
        &admin,
        Some(json!({"name": "x", "org_type": "merchant", "credit_code": "91350100M000100Y44"})),
    )
    .await;
    let body = assert_problem(&bad_code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "credit_code");
    assert!(
        body["detail"].as_str().unwrap().contains("check character"),
        "{body}"
    );

    let bad_type = call(
        &api,
        "POST",
        "/api/v1/orgs",
        &admin,
        Some(json!({"name": "x", "org_type": "bank", "credit_code": "91350100M000100Y43"})),
    )
    .await;
    assert_eq!(
        assert_problem(&bad_type, StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "org_type"
    );

    let huge = call(&api, "POST", "/api/v1/orgs", &admin, Some(json!({"name": "x".repeat(100_000), "org_type": "merchant", "credit_code": "91350100M000100Y43"}))).await;
    assert_problem(&huge, StatusCode::PAYLOAD_TOO_LARGE);

    assert_problem(
        &call(&api, "GET", "/api/v1/orgs/not-a-uuid", &admin, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_problem(
        &call(
            &api,
            "GET",
            "/api/v1/orgs/01a20d5a-e99f-7de6-8605-f60eda7230ac",
            &admin,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &call(&api, "GET", "/api/v1/nowhere", &admin, None).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &call(&api, "PATCH", "/api/v1/orgs", &admin, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
    );
    let weak = call(&api, "POST", "/api/v1/people", &admin, Some(json!({"org_id": "01a20d5a-e99f-7de6-8605-f60eda7230ac", "username": "x.y", "display_name": "X", "role": "merchant", "password": "short"}))).await;
    assert_problem(&weak, StatusCode::NOT_FOUND);

    assert_eq!(
        t.app.store().org_count().await.unwrap(),
        orgs_before,
        "nothing was half-written"
    );
}

#[tokio::test]
async fn a_person_is_created_with_a_role_that_fits_the_org_and_a_strong_password() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let admin = login(&t, &api, "admin").await;
    let orgs = call(&api, "GET", "/api/v1/orgs", &admin, None).await.json();
    let merchant_org = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_type"] == "merchant")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mk = |role: &str, password: &str| json!({"org_id": merchant_org, "username": "new.analyst", "display_name": "新分析员", "role": role, "password": password});
    let wrong_role = call(
        &api,
        "POST",
        "/api/v1/people",
        &admin,
        Some(mk("authority", "Strong-Pass-2026")),
    )
    .await;
    assert_eq!(
        assert_problem(&wrong_role, StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "role"
    );
    let weak = call(
        &api,
        "POST",
        "/api/v1/people",
        &admin,
        Some(mk("merchant", "weakpassword")),
    )
    .await;
    assert_eq!(
        assert_problem(&weak, StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "password"
    );
    let ok = call(
        &api,
        "POST",
        "/api/v1/people",
        &admin,
        Some(mk("merchant", "Strong-Pass-2026")),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    assert!(!ok.text().contains("argon2"), "no hash on the wire");
    let dup = call(
        &api,
        "POST",
        "/api/v1/people",
        &admin,
        Some(mk("merchant", "Strong-Pass-2026")),
    )
    .await;
    let body = assert_problem(&dup, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("username"),
        "{body}"
    );
}

#[tokio::test]
async fn uncleared_personnel_cannot_open_data_bearing_functions_until_verified_and_agreed() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    // The supervisor (cleared in the demo) searches; a fresh supervisor account cannot until cleared.
    let admin = login(&t, &api, "admin").await;
    let orgs = call(&api, "GET", "/api/v1/orgs", &admin, None).await.json();
    let sup_org = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_type"] == "supervisor")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = call(&api, "POST", "/api/v1/people", &admin, Some(json!({"org_id": sup_org, "username": "new.auditor", "display_name": "新审计员", "role": "supervisor", "password": "Strong-Pass-2026", "with_totp": true}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["person"]["id"].as_str().unwrap().to_owned();
    let secret =
        shuyu_identity::TotpSecret::from_base32(created.json()["totp_secret"].as_str().unwrap())
            .unwrap();
    let unix = u64::try_from(t.app.now().unix_micros() / 1_000_000).unwrap();
    let login_reply = call(&api, "POST", "/api/v1/auth/login", &Session::default(), Some(json!({"username": "new.auditor", "password": "Strong-Pass-2026", "code": secret.code_at(unix).unwrap()}))).await;
    assert_eq!(login_reply.status, StatusCode::OK);
    let cookie = login_reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let auditor = Session {
        cookie: Some(cookie),
        csrf: login_reply.json()["csrf_token"].as_str().map(str::to_owned),
        bearer: None,
    };

    let reply = call(&api, "GET", "/api/v1/audit/events", &auditor, None).await;
    assert_eq!(
        assert_problem(&reply, StatusCode::FORBIDDEN)["reason"],
        "not_cleared"
    );
    let operator = login(&t, &api, "operator").await;
    assert_eq!(
        call(
            &api,
            "POST",
            &format!("/api/v1/people/{id}/verification"),
            &operator,
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let reply = call(&api, "GET", "/api/v1/audit/events", &auditor, None).await;
    assert!(
        assert_problem(&reply, StatusCode::FORBIDDEN)["detail"]
            .as_str()
            .unwrap()
            .contains("agreement")
    );
    assert_problem(
        &call(
            &api,
            "POST",
            "/api/v1/me/agreement",
            &auditor,
            Some(json!({"version": "1999"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(
        call(
            &api,
            "POST",
            "/api/v1/me/agreement",
            &auditor,
            Some(json!({"version": "2026-01"}))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&api, "GET", "/api/v1/audit/events", &auditor, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn supervisors_search_and_export_the_trail_and_the_search_is_itself_audited() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let sup = login(&t, &api, "supervisor").await;
    let page = call(
        &api,
        "GET",
        "/api/v1/audit/events?action=person.*&limit=5",
        &sup,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let events = page.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 5);
    assert!(
        events
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("person."))
    );
    let next = page.json()["next_before"].as_u64().unwrap();
    let older = call(
        &api,
        "GET",
        &format!("/api/v1/audit/events?action=person.*&limit=5&before={next}"),
        &sup,
        None,
    )
    .await;
    assert!(older.json()["events"][0]["seq"].as_u64().unwrap() < next);
    let searches = call(
        &api,
        "GET",
        "/api/v1/audit/events?action=audit.search",
        &sup,
        None,
    )
    .await
    .json();
    assert!(
        searches["events"].as_array().unwrap().len() >= 2,
        "{searches}"
    );

    let bad = call(
        &api,
        "GET",
        "/api/v1/audit/events?from=yesterday",
        &sup,
        None,
    )
    .await;
    assert_eq!(
        assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "from"
    );
    assert_problem(
        &call(&api, "GET", "/api/v1/audit/events?colour=red", &sup, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    let csv = call(
        &api,
        "GET",
        "/api/v1/audit/export?format=csv&action=org.create",
        &sup,
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text();
    assert!(text.starts_with("seq,at,actor_person"));
    assert_eq!(
        text.lines().count(),
        1 + 12,
        "header and the twelve demo organisations:\n{text}"
    );
    let jsonl = call(
        &api,
        "GET",
        "/api/v1/audit/export?action=org.create",
        &sup,
        None,
    )
    .await;
    for line in jsonl.text().lines() {
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(line).unwrap()["action"],
            "org.create"
        );
    }
    let verify = call(&api, "GET", "/api/v1/audit/verify", &sup, None)
        .await
        .json();
    assert_eq!(verify["intact"], true, "{verify}");
}

#[tokio::test]
async fn openapi_and_swagger_ui_are_served_from_the_binary() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let doc = call(&api, "GET", "/api/openapi.json", &Session::default(), None)
        .await
        .json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["paths"]["/api/v1/audit/events"]["get"].is_object());
    let ui = call(&api, "GET", "/api/docs/", &Session::default(), None).await;
    assert_eq!(ui.status, StatusCode::OK);
    assert!(
        ui.text().contains("swagger"),
        "{}",
        &ui.text()[..200.min(ui.text().len())]
    );
    let ready = call(&api, "GET", "/readyz", &Session::default(), None).await;
    assert_eq!(ready.status, StatusCode::OK);
    let reply = call(&api, "GET", "/healthz", &Session::default(), None).await;
    assert!(reply.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn a_session_opened_on_one_server_works_on_another_sharing_the_database() {
    for db in shuyu_store::testing::TestDb::all().await {
        one_session_two_servers(TestApp::on(db, shuyu_testkit::default_profile()).await).await;
    }
}

async fn one_session_two_servers(t: TestApp) {
    let first = t.api();
    let s = login(&t, &first, "merchant").await;
    // A second server process: its own store pool and app on the same database.
    let store = shuyu_store::Store::open(
        &t.db.url,
        t.signer.clone(),
        shuyu_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let app = shuyu_app::App::new(
        store,
        shuyu_testkit::default_profile(),
        shuyu_app::Settings::default(),
        std::sync::Arc::new(t.clock.clone()),
        <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(99),
    );
    let state = shuyu_api::ApiState {
        app,
        ..t.state.clone()
    };
    let second = shuyu_api::router(state);
    let me = call(&second, "GET", "/api/v1/me", &s, None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(
        call(&second, "POST", "/api/v1/auth/logout", &s, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &call(&first, "GET", "/api/v1/me", &s, None).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn reading_a_personnel_record_is_itself_on_the_chain() {
    let t = TestApp::sqlite().await;
    let api = t.api();
    let operator = login(&t, &api, "operator").await;
    let people = call(&api, "GET", "/api/v1/people", &operator, None)
        .await
        .json();
    let newcomer = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == "newcomer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(
            &api,
            "GET",
            &format!("/api/v1/people/{newcomer}"),
            &operator,
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let reads = shuyu_store::AuditFilter {
        action: Some("person.*".into()),
        object_id: Some(newcomer.clone()),
        ..Default::default()
    };
    let found = t.app.store().search_audit(&reads, None, 10).await.unwrap();
    assert!(
        found
            .iter()
            .any(|e| e.draft.action == "person.read" && e.draft.role == "operator"),
        "{found:?}"
    );
    let lists = shuyu_store::AuditFilter {
        action: Some("person.list".into()),
        ..Default::default()
    };
    assert_eq!(
        t.app
            .store()
            .search_audit(&lists, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn behind_tls_responses_carry_hsts_and_cookies_are_secure_host_cookies() {
    let t = TestApp::sqlite().await;
    let state = shuyu_api::ApiState {
        web: std::sync::Arc::new(shuyu_api::WebSettings {
            secure_cookies: true,
            ..shuyu_api::WebSettings::default()
        }),
        ..t.state.clone()
    };
    let api = shuyu_api::router(state);
    let reply = call(
        &api,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(json!({"username": "merchant", "password": DEMO_PASSWORD})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.contains_key("strict-transport-security"));
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-shuyu_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert_eq!(reply.headers["x-frame-options"], "DENY");
}
