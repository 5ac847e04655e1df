//! The single sign-on use cases with a scripted provider: the decisions and the audit trail that do
//! not need a real one. The whole flow against a real OpenID provider is tested in
//! `shuyu-console/tests/sso.rs`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_audit::AuditSigner;
use shuyu_core::{CreditCode, RequestId, Timestamp};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_store::{AuditFilter, Store, StoreOptions};

use super::*;
use crate::{Clock, NewOrg, NewPerson, Settings};

const ISSUER: &str = "https://idp.example.gov.cn/realms/city";
const START: Timestamp = Timestamp::from_unix_micros(1_795_000_000_000_000);

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_micros(self.0.load(Ordering::SeqCst))
    }
}

/// A provider that answers as scripted and remembers what it was given.
struct Scripted {
    answer: Mutex<Result<VerifiedIdentity, ProviderError>>,
    unreachable: Mutex<bool>,
    redeemed: Mutex<Vec<(String, String, String)>>,
}

impl IdentityProvider for Scripted {
    fn issuer(&self) -> &str {
        ISSUER
    }

    fn authorization_url<'a>(
        &'a self,
        secrets: LoginSecrets<'a>,
        _now: Timestamp,
    ) -> ProviderFuture<'a, String> {
        let down = *self.unreachable.lock().unwrap();
        Box::pin(async move {
            if down {
                return Err(ProviderError::Unavailable("connection refused".into()));
            }
            Ok(format!("{ISSUER}/auth?state={}", secrets.state))
        })
    }

    fn redeem<'a>(
        &'a self,
        code: &'a str,
        secrets: LoginSecrets<'a>,
        _now: Timestamp,
    ) -> ProviderFuture<'a, VerifiedIdentity> {
        self.redeemed.lock().unwrap().push((
            code.to_owned(),
            secrets.pkce_verifier.to_owned(),
            secrets.nonce.to_owned(),
        ));
        let answer = self.answer.lock().unwrap().clone();
        Box::pin(async move { answer })
    }
}

struct Fixture {
    app: App,
    clock: Arc<TestClock>,
    provider: Arc<Scripted>,
    _db: TestDb,
}

fn identity(sub: &str, amr: &[&str]) -> VerifiedIdentity {
    VerifiedIdentity {
        issuer: ISSUER.into(),
        subject: sub.into(),
        amr: amr.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn system(app: &App) -> Ctx {
    Ctx::system(RequestId::mint(app.now(), [9; 10]))
}

fn visitor(app: &App) -> Ctx {
    Ctx {
        principal: Principal::Anonymous,
        request_id: RequestId::mint(app.now(), [8; 10]),
        source: "127.0.0.1".into(),
    }
}

impl Fixture {
    /// An app on SQLite with single sign-on, one merchant (SSO only, no password) and one operator.
    async fn new() -> Self {
        Self::on(TestDb::sqlite()).await
    }

    async fn on(db: TestDb) -> Self {
        let signer = AuditSigner::generate(&mut StdRng::seed_from_u64(1));
        let store = Store::open(&db.url, signer, StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(TestClock(AtomicI64::new(START.unix_micros())));
        let provider = Arc::new(Scripted {
            answer: Mutex::new(Ok(identity("li.na", &["pwd"]))),
            unreachable: Mutex::new(false),
            redeemed: Mutex::new(Vec::new()),
        });
        let app = App::new(
            store,
            Profile::builtin(Profile::DEFAULT).unwrap(),
            Settings::default(),
            clock.clone(),
            StdRng::seed_from_u64(2),
        )
        .with_sso(SsoSettings {
            provider: provider.clone(),
            second_factor_amr: vec!["otp".into(), "hwk".into()],
            label_zh: String::new(),
            label_en: String::new(),
        });
        let ctx = system(&app);
        for (name, org_type, code, username, role) in [
            (
                "数据商甲",
                "merchant",
                "91220100MA17XQ2K0",
                "li.na",
                "merchant",
            ),
            (
                "运营机构乙",
                "operator",
                "91220100MA17XQ3K0",
                "zhao.gang",
                "operator",
            ),
        ] {
            let org = app
                .create_org(
                    &ctx,
                    NewOrg {
                        name: name.into(),
                        org_type: org_type.into(),
                        credit_code: CreditCode::complete(code).unwrap().to_string(),
                    },
                )
                .await
                .unwrap();
            app.create_person(
                &ctx,
                NewPerson {
                    org: org.id,
                    username: username.into(),
                    display_name: name.into(),
                    role: role.into(),
                    password: None,
                    with_totp: role == "operator",
                    verified: true,
                },
            )
            .await
            .unwrap();
        }
        Self {
            app,
            clock,
            provider,
            _db: db,
        }
    }

    async fn link(&self, username: &str, sub: &str) {
        let ctx = system(&self.app);
        let person = self.app.person_by_username(&ctx, username).await.unwrap();
        self.app
            .link_sso(&ctx, person.id, Some(&format!("{ISSUER}|{sub}")))
            .await
            .unwrap();
    }

    fn answer(&self, answer: Result<VerifiedIdentity, ProviderError>) {
        *self.provider.answer.lock().unwrap() = answer;
    }

    async fn start(&self) -> SsoStart {
        self.app
            .sso_start(&visitor(&self.app), Some("/audit?x=1"))
            .await
            .unwrap()
    }

    async fn finish(&self, state: &str, browser: Option<&str>) -> Result<SsoLogin, AppError> {
        self.app
            .sso_finish(
                &visitor(&self.app),
                SsoCallback {
                    state,
                    code: Some("the-code"),
                    error: None,
                    iss: Some(ISSUER),
                    browser_state: browser,
                },
            )
            .await
    }

    async fn details(&self, action: &str) -> Vec<String> {
        let filter = AuditFilter {
            action: Some(action.to_owned()),
            ..AuditFilter::default()
        };
        self.app
            .store()
            .search_audit(&filter, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.draft.detail)
            .collect()
    }
}

fn refusal(result: Result<SsoLogin, AppError>) -> SsoRefusal {
    match result {
        Err(AppError::Sso(r)) => r,
        Err(other) => panic!("expected an SSO refusal, got {other:?}"),
        Ok(_) => panic!("expected an SSO refusal, got a session"),
    }
}

#[tokio::test]
async fn a_linked_identity_opens_a_session_and_returns_where_it_started() {
    let f = Fixture::new().await;
    f.link("li.na", "li.na").await;
    let started = f.start().await;
    assert!(started.redirect_to.contains(&started.state));
    let login = f
        .finish(&started.state, Some(&started.state))
        .await
        .unwrap();
    assert_eq!(login.session.person.username.as_str(), "li.na");
    assert_eq!(login.return_to, "/audit?x=1");
    // The provider got the verifier and nonce stored at start, not values from the callback.
    let pending_secrets = f.provider.redeemed.lock().unwrap().clone();
    assert_eq!(pending_secrets.len(), 1);
    let (code, verifier, nonce) = &pending_secrets[0];
    assert_eq!(code, "the-code");
    assert_eq!(verifier.len(), 64);
    assert_eq!(nonce.len(), 64);
    assert_ne!(verifier, nonce);
    let session = f
        .app
        .resolve_session(login.session.secret.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.actor.credential,
        Credential::Session {
            second_factor: false
        }
    );
    assert_eq!(f.details("auth.sso_start").await, [ISSUER]);
    assert!(f.details("auth.login").await.contains(&"sso".to_owned()));
}

#[tokio::test]
async fn only_the_configured_amr_values_count_as_a_second_factor() {
    let f = Fixture::new().await;
    f.link("zhao.gang", "zhao.gang").await;
    // `mfa` is a second factor by default, but this deployment lists only otp and hwk.
    f.answer(Ok(identity("zhao.gang", &["pwd", "mfa"])));
    let s = f.start().await;
    assert_eq!(
        refusal(f.finish(&s.state, Some(&s.state)).await),
        SsoRefusal::SecondFactorMissing
    );
    f.answer(Ok(identity("zhao.gang", &["pwd", "hwk"])));
    let s = f.start().await;
    let login = f.finish(&s.state, Some(&s.state)).await.unwrap();
    let session = f
        .app
        .resolve_session(login.session.secret.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.actor.credential,
        Credential::Session {
            second_factor: true
        }
    );
}

#[tokio::test]
async fn a_state_works_once_and_only_in_the_browser_that_started_it() {
    state_works_once(Fixture::new().await).await;
    if let Some(db) = TestDb::postgres().await {
        state_works_once(Fixture::on(db).await).await;
    }
}

async fn state_works_once(f: Fixture) {
    f.link("li.na", "li.na").await;
    let s = f.start().await;
    assert_eq!(
        refusal(f.finish(&s.state, None).await),
        SsoRefusal::UnknownState
    );
    assert_eq!(
        refusal(f.finish(&s.state, Some("another-browser")).await),
        SsoRefusal::UnknownState
    );
    f.finish(&s.state, Some(&s.state)).await.unwrap();
    assert_eq!(
        refusal(f.finish(&s.state, Some(&s.state)).await),
        SsoRefusal::UnknownState
    );
    assert_eq!(
        f.provider.redeemed.lock().unwrap().len(),
        1,
        "refused callbacks never reach the provider"
    );
    let details = f.details("auth.login").await;
    assert!(details.contains(&"sso: state does not match this browser's sign-in".to_owned()));
    assert!(details.contains(&"sso: unknown or already used state".to_owned()));
}

#[tokio::test]
async fn a_sign_in_older_than_ten_minutes_is_refused_and_used_up() {
    let f = Fixture::new().await;
    f.link("li.na", "li.na").await;
    let s = f.start().await;
    f.clock
        .0
        .fetch_add((SSO_LOGIN_SECONDS + 1) * 1_000_000, Ordering::SeqCst);
    assert_eq!(
        refusal(f.finish(&s.state, Some(&s.state)).await),
        SsoRefusal::Expired
    );
    assert!(f.app.store().sso_login(&s.state).await.unwrap().is_none());
    assert!(
        f.details("auth.login")
            .await
            .contains(&"sso: sign-in expired".to_owned())
    );
}

#[tokio::test]
async fn answers_from_another_issuer_or_with_a_bad_token_are_refused() {
    let f = Fixture::new().await;
    f.link("li.na", "li.na").await;
    let s = f.start().await;
    let mixed_up = f
        .app
        .sso_finish(
            &visitor(&f.app),
            SsoCallback {
                state: &s.state,
                code: Some("c"),
                error: None,
                iss: Some("https://evil.example"),
                browser_state: Some(&s.state),
            },
        )
        .await;
    assert_eq!(refusal(mixed_up), SsoRefusal::InvalidResponse);

    f.answer(Err(ProviderError::InvalidToken("nonce mismatch".into())));
    let s = f.start().await;
    assert_eq!(
        refusal(f.finish(&s.state, Some(&s.state)).await),
        SsoRefusal::InvalidResponse
    );
    f.answer(Err(ProviderError::Unavailable("timeout".into())));
    let s = f.start().await;
    assert_eq!(
        refusal(f.finish(&s.state, Some(&s.state)).await),
        SsoRefusal::ProviderUnavailable
    );
    let details = f.details("auth.login").await;
    assert!(details.contains(&"sso: response from another issuer (iss)".to_owned()));
    assert!(details.contains(&"sso: ID token failed validation".to_owned()));
}

#[tokio::test]
async fn a_provider_error_code_is_recorded_but_never_free_text() {
    let f = Fixture::new().await;
    let s = f.start().await;
    let answer = |error| SsoCallback {
        state: "",
        code: None,
        error: Some(error),
        iss: None,
        browser_state: None,
    };
    let refused = f
        .app
        .sso_finish(
            &visitor(&f.app),
            SsoCallback {
                state: &s.state,
                browser_state: Some(&s.state),
                ..answer("access_denied")
            },
        )
        .await;
    assert_eq!(
        refusal(refused),
        SsoRefusal::ProviderDenied {
            error: "access_denied".into()
        }
    );
    let s = f.start().await;
    let refused = f
        .app
        .sso_finish(
            &visitor(&f.app),
            SsoCallback {
                state: &s.state,
                browser_state: Some(&s.state),
                ..answer("Call +86 400 000 0000 now")
            },
        )
        .await;
    assert_eq!(
        refusal(refused),
        SsoRefusal::ProviderDenied {
            error: "unrecognised_error".into()
        }
    );
}

#[tokio::test]
async fn an_unreachable_provider_fails_the_start_and_stores_nothing() {
    let f = Fixture::new().await;
    *f.provider.unreachable.lock().unwrap() = true;
    let err = f.app.sso_start(&visitor(&f.app), None).await.unwrap_err();
    assert!(matches!(
        err,
        AppError::Sso(SsoRefusal::ProviderUnavailable)
    ));
    assert_eq!(
        f.details("auth.sso_start").await,
        ["identity provider unavailable"]
    );
}

#[tokio::test]
async fn linking_checks_the_identity_and_keeps_one_identity_per_account() {
    let f = Fixture::new().await;
    let ctx = system(&f.app);
    let li = f.app.person_by_username(&ctx, "li.na").await.unwrap();
    let zhao = f.app.person_by_username(&ctx, "zhao.gang").await.unwrap();
    for bad in ["li.na", "https://other-idp.example|li.na", "|x"] {
        let err = f.app.link_sso(&ctx, li.id, Some(bad)).await.unwrap_err();
        assert!(
            matches!(
                err,
                AppError::Invalid {
                    field: "subject",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    let subject = format!("{ISSUER}|330102199001011234");
    let view = f.app.link_sso(&ctx, li.id, Some(&subject)).await.unwrap();
    assert_eq!(view.person.sso_subject.as_deref(), Some(subject.as_str()));
    let err = f
        .app
        .link_sso(&ctx, zhao.id, Some(&subject))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    // The identity may be a national ID number: it is digested on the chain, never in a detail.
    let details = f.details("person.sso_link").await;
    assert_eq!(details, [format!("linked to an identity at {ISSUER}")]);
    let view = f.app.link_sso(&ctx, li.id, None).await.unwrap();
    assert_eq!(view.person.sso_subject, None);
    assert_eq!(f.details("person.sso_unlink").await.len(), 1);
}

#[tokio::test]
async fn without_configuration_single_sign_on_is_refused_plainly() {
    let f = Fixture::new().await;
    let plain = App::new(
        f.app.store().clone(),
        Profile::builtin(Profile::DEFAULT).unwrap(),
        Settings::default(),
        f.clock.clone(),
        StdRng::seed_from_u64(3),
    );
    let err = plain.sso_start(&visitor(&plain), None).await.unwrap_err();
    assert!(matches!(err, AppError::Sso(SsoRefusal::NotConfigured)));
}

#[test]
fn only_local_paths_are_returned_to() {
    assert_eq!(local_path(Some("/me")), "/me");
    assert_eq!(local_path(Some("//evil.example/x")), "/");
    assert_eq!(local_path(Some("https://evil.example/")), "/");
    assert_eq!(local_path(Some("/\\evil")), "/");
    assert_eq!(local_path(None), "/");
}
