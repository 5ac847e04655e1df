//! Single sign-on against a real OpenID provider: `node tests/oidc/provider.mjs` (the npm package
//! `oidc-provider`) on loopback, and shuyu served on a real port with `[oidc]` pointing at it. An
//! HTTP client that keeps cookies and follows no redirect walks every hop, as a browser would: start
//! → the provider's login form → consent → callback → session → `/api/v1/me`.
//!
//! Without `tests/oidc/node_modules` (run `npm ci` there) the tests say loudly that they skipped,
//! unless `SHUYU_REQUIRE_OIDC=1` (CI), where that is a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use shuyu_api::ApiState;
use shuyu_app::{Ctx, SsoSettings};
use shuyu_audit::Outcome;
use shuyu_core::{RequestId, Timestamp};
use shuyu_oidc::{OidcConfig, OidcProvider};
use shuyu_testkit::TestApp;

const CLIENT_ID: &str = "shuyu-test";
const CLIENT_SECRET: &str = "shuyu-test-secret";

/// The provider's directory, `tests/oidc` at the repository root.
fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc")
}

/// `false` (after saying so) when the provider's packages are not installed; a failure instead when
/// `SHUYU_REQUIRE_OIDC=1`.
fn provider_available() -> bool {
    if provider_dir().join("node_modules/oidc-provider").is_dir() {
        return true;
    }
    assert!(
        std::env::var("SHUYU_REQUIRE_OIDC").as_deref() != Ok("1"),
        "SHUYU_REQUIRE_OIDC=1 but tests/oidc/node_modules is missing: run `npm ci` in tests/oidc"
    );
    let _ = writeln!(
        std::io::stderr(),
        "==> SKIPPED SSO test: run npm ci in tests/oidc (the OpenID provider is not installed)"
    );
    false
}

/// The running provider; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts the provider on `port` (0: a free one), signing ID tokens with `alg`.
    fn start(port: u16, redirect_uri: &str, alg: &str) -> Self {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(port.to_string())
            .arg(redirect_uri)
            .current_dir(provider_dir())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_ID_TOKEN_ALG", alg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (is Node.js installed?)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("ready ") {
                    let _ = tx.send(issuer.to_owned());
                }
            }
        });
        let issuer = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the provider printed `ready <issuer>` within 30 s");
        Self { child, issuer }
    }
}

/// shuyu with the demo city, served on a real port, with single sign-on through `provider`.
struct Env {
    t: TestApp,
    base: String,
    provider: Provider,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Env {
    async fn start() -> Option<Self> {
        Self::start_signing_with("RS256").await
    }

    async fn start_signing_with(alg: &str) -> Option<Self> {
        if !provider_available() {
            return None;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let redirect = format!("{base}/sso/callback");
        let provider = Provider::start(0, &redirect, alg);

        let mut t = TestApp::sqlite().await;
        // The provider signs with its own clock: run the app on the same time.
        t.clock.set(Timestamp::from_datetime(chrono::Utc::now()));
        let oidc = OidcProvider::new(OidcConfig {
            issuer: provider.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_url: redirect,
            scopes: vec!["openid".into(), "profile".into()],
            extra_roots_pem: None,
            timeout: Duration::from_secs(10),
        })
        .unwrap();
        oidc.discover(t.app.now()).await.expect("discovery");
        let app = t.app.clone().with_sso(SsoSettings {
            provider: Arc::new(oidc),
            second_factor_amr: vec!["mfa".into(), "otp".into(), "hwk".into()],
            label_zh: "吉事办统一身份认证".into(),
            label_en: "Provincial unified identity".into(),
        });
        t.app = app.clone();
        t.state = ApiState {
            app,
            ..t.state.clone()
        };
        let router =
            shuyu_console::router(t.state.clone()).merge(shuyu_api::router(t.state.clone()));
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Some(Self {
            t,
            base,
            provider,
            server,
        })
    }

    /// Restarts the provider on the same address with new signing keys (a key rotation).
    fn rotate_provider_keys(&mut self) {
        let port: u16 = self
            .provider
            .issuer
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let _ = self.provider.child.kill();
        let _ = self.provider.child.wait();
        self.provider = Provider::start(port, &format!("{}/sso/callback", self.base), "RS256");
    }

    /// Links demo account `username` to the provider's account `sub` (as the command line).
    async fn link(&self, username: &str, sub: &str) {
        let ctx = Ctx::system(RequestId::mint(self.t.app.now(), [5; 10]));
        let person = self.t.app.person_by_username(&ctx, username).await.unwrap();
        let subject = format!("{}|{sub}", self.provider.issuer);
        self.t
            .app
            .link_sso(&ctx, person.id, Some(&subject))
            .await
            .unwrap();
    }

    /// The audit events named `action`, newest first.
    async fn events(&self, action: &str) -> Vec<shuyu_store::AuditRow> {
        let filter = shuyu_store::AuditFilter {
            action: Some(action.to_owned()),
            ..Default::default()
        };
        self.t
            .app
            .store()
            .search_audit(&filter, None, 1000)
            .await
            .unwrap()
    }

    async fn has_event(&self, action: &str, outcome: Outcome, detail: &str) -> bool {
        self.events(action)
            .await
            .iter()
            .any(|e| e.draft.outcome == outcome && e.draft.detail == detail)
    }
}

/// A browser: keeps cookies, follows no redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response, base: &str) -> String {
    let loc = res
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{} without Location", res.status()))
        .to_owned();
    if loc.starts_with('/') {
        format!("{base}{loc}")
    } else {
        loc
    }
}

fn sets_cookie(res: &reqwest::Response, name: &str) -> bool {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
}

/// The `action` of the page's first form.
fn form_action(html: &str) -> String {
    let form = html.find("<form").expect("a form");
    let rest = &html[form..];
    let start = rest.find("action=\"").expect("an action") + "action=\"".len();
    let end = rest[start..].find('"').unwrap() + start;
    rest[start..end].replace("&amp;", "&")
}

/// What a hop of the sign-in was, for the assertion on the whole walk.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    Authorize,
    LoginForm,
    LoginSubmitted,
    ConsentForm,
    ConsentSubmitted,
}

/// Walks from `/sso/start` through the provider's login (as `account`) and consent forms, asserting
/// every hop, and returns the callback URL the provider sends the browser to (not yet visited).
async fn sign_in_at_provider(env: &Env, browser: &reqwest::Client, account: &str) -> String {
    let start = browser
        .get(format!("{}/sso/start?next=/me", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    assert!(sets_cookie(&start, "shuyu_sso"), "binds the browser");
    let mut url = location(&start, &env.base);
    assert!(
        url.starts_with(&format!("{}/auth?", env.provider.issuer)),
        "{url}"
    );
    for needed in [
        "response_type=code",
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
        "scope=openid+profile",
        &format!("client_id={CLIENT_ID}"),
    ] {
        assert!(url.contains(needed), "{needed} in {url}");
    }

    let mut hops = Vec::new();
    for _ in 0..12 {
        if url.starts_with(&env.base) {
            break;
        }
        let res = browser.get(&url).send().await.unwrap();
        match res.status() {
            StatusCode::SEE_OTHER | StatusCode::FOUND => {
                hops.push(Hop::Authorize);
                url = location(&res, &env.provider.issuer);
            }
            StatusCode::OK => {
                let html = res.text().await.unwrap();
                let action = form_action(&html);
                let (hop, fields): (Hop, Vec<(&str, &str)>) =
                    if html.contains(r#"name="prompt" value="login""#) {
                        hops.push(Hop::LoginForm);
                        (
                            Hop::LoginSubmitted,
                            vec![("prompt", "login"), ("login", account), ("password", "any")],
                        )
                    } else if html.contains(r#"name="prompt" value="consent""#) {
                        hops.push(Hop::ConsentForm);
                        (Hop::ConsentSubmitted, vec![("prompt", "consent")])
                    } else {
                        panic!("unexpected page at the provider: {html}");
                    };
                let posted = browser.post(&action).form(&fields).send().await.unwrap();
                assert_eq!(posted.status(), StatusCode::SEE_OTHER, "{hop:?}");
                hops.push(hop);
                url = location(&posted, &env.provider.issuer);
            }
            other => panic!("unexpected {other} at {url}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!(
        hops,
        [
            Hop::Authorize,
            Hop::LoginForm,
            Hop::LoginSubmitted,
            Hop::Authorize,
            Hop::ConsentForm,
            Hop::ConsentSubmitted,
            Hop::Authorize,
        ]
    );
    assert!(
        url.starts_with(&format!("{}/sso/callback?", env.base)),
        "{url}"
    );
    assert!(url.contains("code=") && url.contains("state="), "{url}");
    url
}

#[tokio::test]
async fn a_linked_identity_signs_in_through_the_provider_and_reaches_its_account() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.link("supervisor", "alice").await;
    let b = browser();

    let login_page = b
        .get(format!("{}/login", env.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login_page.contains(r#"href="/sso/start""#),
        "the SSO button is a link"
    );
    assert!(
        login_page.contains("吉事办统一身份认证"),
        "with the configured label"
    );

    let callback = sign_in_at_provider(&env, &b, "alice").await;
    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(sets_cookie(&res, shuyu_api::SESSION_COOKIE));
    assert_eq!(
        res.headers().get("refresh").unwrap().to_str().unwrap(),
        "0;url=/me",
        "moves on to where the sign-in started, as a same-site navigation"
    );

    let me = b
        .get(format!("{}/api/v1/me", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = serde_json::from_str(&me.text().await.unwrap()).unwrap();
    assert_eq!(me["person"]["username"], "supervisor", "{me}");
    assert_eq!(me["person"]["sso_linked"], true);

    // alice's `amr` has `otp`: the supervisor role's second factor is satisfied, so the console
    // opens (the policy refuses a supervisor session without one).
    let page = b.get(format!("{}/me", env.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    assert!(
        env.has_event("auth.sso_start", Outcome::Ok, &env.provider.issuer)
            .await
    );
    assert!(
        env.has_event("auth.login", Outcome::Ok, "sso+second factor")
            .await
    );
}

#[tokio::test]
async fn an_unlinked_identity_is_refused_with_a_clear_message_and_audited() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = browser();
    let callback = sign_in_at_provider(&env, &b, "bob").await;
    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!sets_cookie(&res, shuyu_api::SESSION_COOKIE));
    let page = res.text().await.unwrap();
    assert!(
        page.contains("此统一身份尚未关联数域平台账户，请联系平台管理员为您关联。"),
        "{page}"
    );
    assert!(
        env.has_event(
            "auth.login",
            Outcome::Failed,
            "sso: unified identity not linked to an account"
        )
        .await
    );
    // Not created, not linked by name.
    let me = b
        .get(format!("{}/api/v1/me", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replayed_callback_is_refused_and_audited() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.link("merchant", "bob").await;
    let b = browser();
    let callback = sign_in_at_provider(&env, &b, "bob").await;
    let first = b.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(env.has_event("auth.login", Outcome::Ok, "sso").await);

    // Replayed by the same browser, even with its binding cookie put back: the state was used.
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let again = b
        .get(&callback)
        .header("cookie", format!("shuyu_sso={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(!sets_cookie(&again, shuyu_api::SESSION_COOKIE));
    assert!(
        env.has_event(
            "auth.login",
            Outcome::Denied,
            "sso: unknown or already used state"
        )
        .await
    );
    let page = again.text().await.unwrap();
    assert!(page.contains("已使用过"), "{page}");
}

#[tokio::test]
async fn a_tampered_state_or_another_browser_is_refused_and_the_genuine_callback_still_works() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.link("merchant", "bob").await;
    let b = browser();
    let callback = sign_in_at_provider(&env, &b, "bob").await;
    let (head, query) = callback.split_once('?').unwrap();
    let tampered: Vec<String> = query
        .split('&')
        .map(|pair| match pair.strip_prefix("state=") {
            Some(state) => format!("state={}", state.chars().rev().collect::<String>()),
            None => pair.to_owned(),
        })
        .collect();
    let tampered = format!("{head}?{}", tampered.join("&"));
    assert_ne!(tampered, callback);

    let res = b.get(&tampered).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!sets_cookie(&res, shuyu_api::SESSION_COOKIE));
    assert!(
        env.has_event(
            "auth.login",
            Outcome::Denied,
            "sso: state does not match this browser's sign-in"
        )
        .await
    );

    // The same callback opened in a browser that did not start the sign-in (login CSRF).
    let other = browser().get(&callback).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert!(!sets_cookie(&other, shuyu_api::SESSION_COOKIE));

    let genuine = b.get(&callback).send().await.unwrap();
    assert_eq!(genuine.status(), StatusCode::OK);
    assert!(sets_cookie(&genuine, shuyu_api::SESSION_COOKIE));
}

#[tokio::test]
async fn a_role_needing_a_second_factor_is_refused_when_the_provider_confirmed_none() {
    let Some(env) = Env::start().await else {
        return;
    };
    // bob signs in with a password only (`amr` = ["pwd"]); the authority role needs two factors.
    env.link("authority", "bob").await;
    let b = browser();
    let callback = sign_in_at_provider(&env, &b, "bob").await;
    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!sets_cookie(&res, shuyu_api::SESSION_COOKIE));
    let page = res.text().await.unwrap();
    assert!(
        page.contains("请改用平台账户密码和动态验证码登录"),
        "{page}"
    );
    assert!(
        env.has_event(
            "auth.login",
            Outcome::Failed,
            "sso: second factor missing for the role"
        )
        .await
    );
}

#[tokio::test]
async fn a_provider_error_is_shown_without_its_description_and_audited() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = browser();
    let start = b
        .get(format!("{}/sso/start", env.base))
        .send()
        .await
        .unwrap();
    let authorize = b.get(location(&start, &env.base)).send().await.unwrap();
    let interaction = location(&authorize, &env.provider.issuer);
    // The person cancels at the provider (its built-in form's "abort" link).
    let abort = b.get(format!("{interaction}/abort")).send().await.unwrap();
    assert_eq!(abort.status(), StatusCode::SEE_OTHER);
    let resume = b
        .get(location(&abort, &env.provider.issuer))
        .send()
        .await
        .unwrap();
    let callback = location(&resume, &env.provider.issuer);
    assert!(callback.contains("error=access_denied"), "{callback}");

    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = res.text().await.unwrap();
    assert!(page.contains("（access_denied）"), "{page}");
    assert!(
        !page.contains("End-User aborted"),
        "the provider's text is not shown"
    );
    assert!(
        env.has_event(
            "auth.login",
            Outcome::Failed,
            "sso: identity provider answered access_denied"
        )
        .await
    );
}

#[tokio::test]
async fn an_es256_signed_id_token_is_accepted() {
    let Some(env) = Env::start_signing_with("ES256").await else {
        return;
    };
    env.link("merchant", "bob").await;
    let b = browser();
    let callback = sign_in_at_provider(&env, &b, "bob").await;
    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(sets_cookie(&res, shuyu_api::SESSION_COOKIE));
}

#[tokio::test]
async fn after_the_provider_rotates_its_keys_the_new_ones_are_fetched() {
    let Some(mut env) = Env::start().await else {
        return;
    };
    env.link("merchant", "bob").await;
    // The relying party cached the first keys at discovery; the provider now signs with new ones.
    env.rotate_provider_keys();
    // Key fetches are rate-limited (10 s): let that time pass on the app's clock.
    env.t.clock.advance_seconds(11);
    let b = browser();
    let callback = sign_in_at_provider(&env, &b, "bob").await;
    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}
