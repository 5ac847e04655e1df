//! The console as a browser meets it: sign-in, language, CSRF, access, banners, audit and profile
//! pages. Requests run in-process against `shuyu_console::router` with a small cookie jar.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_PASSWORD;
use tower::ServiceExt;

mod common;
use common::*;

async fn events_named(t: &TestApp, action: &str) -> usize {
    let filter = shuyu_store::AuditFilter {
        action: Some(action.to_owned()),
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
async fn login_page_is_chinese_by_default_and_english_after_switching() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let page = browser.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has(r#"<html lang="zh-CN">"#));
    assert!(page.has("用户名") && page.has("统一身份认证登录"));
    assert!(browser.jar.contains_key("shuyu_login_csrf"));

    let token = page.csrf();
    let switched = browser
        .post(
            "/lang",
            &[("_csrf", &token), ("lang", "en"), ("next", "/login")],
        )
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location(), "/login");
    let cookie = switched.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");

    let page = browser.get("/login").await;
    assert!(page.has(r#"<html lang="en">"#));
    assert!(page.has("Username") && page.has("Sign in with unified identity (SSO)"));
    assert!(!page.has("用户名"));
}

#[tokio::test]
async fn language_switch_without_its_token_is_refused() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let reply = browser
        .post("/lang", &[("lang", "en"), ("next", "/login")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!browser.jar.contains_key("shuyu_lang"));
}

#[tokio::test]
async fn the_code_field_names_the_roles_that_need_it_and_sso_is_shown_disabled() {
    let t = TestApp::sqlite().await;
    let page = Browser::new(&t).get("/login").await;
    assert!(page.has("平台管理员") && page.has("主管部门工作人员") && page.has("监管人员"));
    assert!(
        page.has(r#"<button class="secondary" type="button" disabled>统一身份认证登录</button>"#)
    );
    assert!(!page.has("/sso/start"));
}

#[tokio::test]
async fn password_and_code_sign_in_sets_the_session_cookie_and_redirects_home() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let code = t.code("authority");
    let reply = browser.try_sign_in("authority", Some(&code)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/");
    let cookies: Vec<&str> = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("shuyu_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    assert!(
        !browser.jar.contains_key("shuyu_login_csrf"),
        "the login token is cleared"
    );

    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.has("数据局 李敏，您好"));
    assert!(home.has("主管部门工作人员"));
    assert!(home.has("编目公共数据"), "the authority's responsibilities");
    assert!(home.has(r#"href="/audit""#));
}

#[tokio::test]
async fn authority_without_code_is_asked_for_the_second_factor() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let reply = browser.try_sign_in("authority", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.has("此账户须输入 6 位动态验证码"), "{}", reply.body);
    assert!(reply.has(r#"<label class="field invalid">"#));
    assert!(reply.has(r#"value="authority""#), "the username is kept");
    assert!(!browser.jar.contains_key("shuyu_session"));
}

#[tokio::test]
async fn wrong_password_is_401_and_says_so_without_naming_the_field() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    let page = browser.get("/login").await;
    let token = page.csrf();
    let reply = browser
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("username", "merchant"),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.has("用户名、密码或动态验证码错误"));
}

#[tokio::test]
async fn login_form_without_its_token_is_refused() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    browser.get("/login").await;
    let reply = browser
        .post(
            "/login",
            &[
                (
                    "_csrf",
                    "0000000000000000000000000000000000000000000000000000000000000000",
                ),
                ("username", "merchant"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!browser.jar.contains_key("shuyu_session"));
    assert_eq!(events_named(&t, "auth.csrf").await, 1);
}

#[tokio::test]
async fn a_post_form_without_csrf_is_refused_403_and_audited() {
    let t = TestApp::sqlite().await;
    let mut browser = signed_in(&t, "newcomer").await;
    let reply = browser
        .post("/me/agreement", &[("version", "2026-01")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.has("CSRF"));
    assert_eq!(events_named(&t, "auth.csrf").await, 1);
    let wrong = browser
        .post(
            "/me/agreement",
            &[("_csrf", "forged"), ("version", "2026-01")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(
        events_named(&t, "person.agreement_accept").await,
        13,
        "only the seeded ones"
    );

    let logout = browser.post("/logout", &[]).await;
    assert_eq!(
        logout.status,
        StatusCode::FORBIDDEN,
        "sign-out needs the token too"
    );
}

#[tokio::test]
async fn pages_redirect_to_login_when_signed_out() {
    let t = TestApp::sqlite().await;
    let mut browser = Browser::new(&t);
    for path in [
        "/",
        "/me",
        "/personnel",
        "/audit",
        "/audit/export?format=csv",
        "/audit/verify",
        "/profile",
    ] {
        let reply = browser.get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location(), "/login", "{path}");
    }
    let reply = browser.post("/me/password", &[("_csrf", "x")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login");
    let css = browser.get("/assets/shuyu.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let t = TestApp::sqlite().await;
    let reply = Browser::new(&t).get("/login").await;
    let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert!(reply.headers.contains_key("x-request-id"));
    assert!(!reply.has("<script") && !reply.has("style="));
}

#[tokio::test]
async fn supervisor_sees_the_audit_page_with_results_and_merchant_gets_403() {
    let t = TestApp::sqlite().await;
    let mut supervisor = signed_in(&t, "supervisor").await;
    let page = supervisor.get("/audit?action=person.*").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("person.create"));
    assert!(page.has(r#"href="/audit/export?action=person.*&amp;format=csv""#));
    assert!(page.has(r#"href="/audit/export?action=person.*&amp;format=jsonl""#));
    assert!(
        !page.has(r#"<code>auth.login</code>"#),
        "the filter applies"
    );

    let older = supervisor.get("/audit?before=3").await;
    assert_eq!(older.status, StatusCode::OK);
    assert!(older.has(r#"<td class="num">2</td>"#) && !older.has(r#"<td class="num">3</td>"#));
    assert!(
        older.has(r#"href="/audit?""#),
        "a link back to the newest events"
    );
    assert!(page.has(r#"href="/audit/verify""#), "integrity panel");

    let csv = supervisor
        .get("/audit/export?format=csv&action=person.*")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.body.starts_with("seq,at,"));
    assert!(csv.has("person.create"));

    let verify = supervisor.get("/audit/verify").await;
    assert_eq!(verify.status, StatusCode::OK);
    assert!(verify.has("审计链完整"));

    let bad = supervisor.get("/audit?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has("from"));

    let mut merchant = signed_in(&t, "merchant").await;
    let home = merchant.get("/").await;
    assert!(
        !home.has(r#"href="/audit""#),
        "no audit link for the merchant"
    );
    let refused = merchant.get("/audit").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.has("audit.search"), "{}", refused.body);
    let export = merchant.get("/audit/export?format=csv").await;
    assert_eq!(export.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn authority_sees_the_expired_profile_banner_under_a_lapsed_regulation() {
    let t = TestApp::on(TestDb::sqlite(), Profile::builtin("weihai").unwrap()).await;
    let mut authority = signed_in(&t, "authority").await;
    let home = authority.get("/").await;
    assert!(home.has(r#"class="banner warning""#), "{}", home.body);
    assert!(home.has("本部署采用的规章《"));
    assert!(home.has("已过有效期") && home.has("2026-10-29"));
    let me = authority.get("/me").await;
    assert!(me.has("已过有效期"), "on every page");

    let mut merchant = signed_in(&t, "merchant").await;
    assert!(!merchant.get("/").await.has(r#"class="banner warning""#));
}

#[tokio::test]
async fn no_profile_banner_while_the_regulation_is_in_force() {
    let t = TestApp::sqlite().await;
    let mut authority = signed_in(&t, "authority").await;
    let home = authority.get("/").await;
    assert!(!home.has(r#"class="banner warning""#), "{}", home.body);
}

#[tokio::test]
async fn newcomer_sees_the_clearance_banner_until_cleared() {
    let t = TestApp::sqlite().await;
    let mut newcomer = signed_in(&t, "newcomer").await;
    let home = newcomer.get("/").await;
    assert!(home.has("您的人员资质尚不完整"));
    assert!(home.has("尚未完成实名认证") && home.has("尚未签署现行保密协议"));
    assert!(home.has(r#"<a href="/me">"#));

    let me = newcomer.get("/me").await;
    let token = me.csrf();
    let accepted = newcomer
        .post(
            "/me/agreement",
            &[("_csrf", &token), ("version", "2026-01")],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(accepted.location(), "/me?done=agreement");
    let me = newcomer.get("/me?done=agreement").await;
    assert!(me.has("已签署现行保密协议"));
    assert!(me.has("尚未完成实名认证") && !me.has("尚未签署现行保密协议"));

    let mut supervisor = signed_in(&t, "supervisor").await;
    assert!(!supervisor.get("/").await.has("您的人员资质尚不完整"));
}

#[tokio::test]
async fn operator_verifies_the_newcomer_from_the_personnel_pages() {
    let t = TestApp::sqlite().await;
    let mut operator = signed_in(&t, "operator").await;
    let list = operator.get("/personnel").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has("newcomer") && list.has("数据商分析人员"));
    let newcomer = t
        .app
        .store()
        .person_by_username("newcomer")
        .await
        .unwrap()
        .unwrap();
    let path = format!("/personnel/{}", newcomer.id);
    let record = operator.get(&path).await;
    assert!(record.has(&format!(r#"action="{path}/verify""#)));
    assert!(
        !record.has(&format!(r#"action="{path}/disable""#)),
        "only administrators disable"
    );
    let token = record.csrf();
    let verified = operator
        .post(&format!("{path}/verify"), &[("_csrf", &token)])
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER);
    let record = operator.get(&format!("{path}?done=verified")).await;
    assert!(record.has("已记录实名认证"));
    assert!(!record.has(&format!(r#"action="{path}/verify""#)));

    let again = operator
        .post(&format!("{path}/verify"), &[("_csrf", &token)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let mut merchant = signed_in(&t, "merchant").await;
    let page = merchant.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "same organisation");
    assert!(!page.has(&format!(r#"action="{path}/verify""#)));
    let token = page.csrf();
    let refused = merchant
        .post(
            &format!("{path}/training"),
            &[
                ("_csrf", &token),
                ("topic", "x"),
                ("completed_on", "2026-11-01"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_new_token_secret_is_shown_once() {
    let t = TestApp::sqlite().await;
    let mut merchant = signed_in(&t, "merchant").await;
    let me = merchant.get("/me").await;
    let token = me.csrf();
    let created = merchant
        .post(
            "/me/tokens",
            &[("_csrf", &token), ("name", "etl"), ("days", "30")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.has("syt_"), "the secret is shown");
    let again = merchant.get("/me").await;
    assert!(again.has("etl"));
    assert!(!again.has(r#"<code class="secret">"#), "and never again");

    let bad = merchant
        .post(
            "/me/tokens",
            &[("_csrf", &token), ("name", "etl"), ("days", "many")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn profile_page_lists_rules_with_articles() {
    let t = TestApp::sqlite().await;
    let mut merchant = signed_in(&t, "merchant").await;
    let page = merchant.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    for rule in t.app.profile().rules() {
        assert!(page.has(rule.label_zh), "{}", rule.key);
        assert!(
            page.has(&maud::html! { (rule.article) }.into_string()),
            "{}",
            rule.key
        );
    }
    assert!(page.has("施行中"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let t = TestApp::sqlite().await;
    let mut merchant = signed_in(&t, "merchant").await;
    let old_cookie = merchant.jar.get("shuyu_session").cloned().unwrap();
    let home = merchant.get("/").await;
    let token = home.csrf();
    let out = merchant.post("/logout", &[("_csrf", &token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    assert!(!merchant.jar.contains_key("shuyu_session"));

    // The old cookie is worthless now, not merely forgotten by the browser.
    merchant.jar.insert("shuyu_session".into(), old_cookie);
    let reply = merchant.get("/").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login");
}

#[tokio::test]
async fn the_console_merges_with_the_api_router() {
    let t = TestApp::sqlite().await;
    let app = shuyu_console::router(t.state.clone()).merge(shuyu_api::router(t.state.clone()));
    let health = app
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let login = app
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
}
