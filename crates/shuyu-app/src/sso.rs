//! Single sign-on through the unified identity system, as an OpenID Connect relying party
//! (authorization code flow with PKCE S256 and a nonce), and linking people to their identities.
//!
//! The flow has two use cases. [`App::sso_start`] makes a pending login (random `state`, PKCE
//! verifier and `nonce`, where to return) and stores it with an `auth.sso_start` event; the browser
//! goes to the provider. [`App::sso_finish`] handles the provider's answer: the pending login is
//! taken (single use, at most [`SSO_LOGIN_SECONDS`] old), the code is redeemed for a verified
//! identity, and `issuer|sub` is looked up in `people.sso_subject`. Every outcome is an `auth.login`
//! event with a detail starting `sso`.
//!
//! The provider itself (HTTP, discovery, JWKS, signature and claims checks) is behind
//! [`IdentityProvider`], implemented by `shuyu-oidc` and handed in by the binary; it is given `now`,
//! so this crate still never reads the wall clock.
//!
//! Must never: create or link an account from a verified identity (only an administrator links,
//! [`App::link_sso`]); hold the audit chain's lock while talking to the provider; write an identity
//! (`sub` may be a national ID number) into an event's detail — it is only digested.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_core::PersonId;
use shuyu_identity::{SsoSubject, SsoVerdict, judge_sso_login};
use shuyu_policy::{Action, Credential, Principal, Resource};
use shuyu_store::PendingSsoLogin;

use crate::{App, AppError, Ctx, NewSession, Object, PersonView};

/// How long a pending single sign-on may take from start to callback.
pub const SSO_LOGIN_SECONDS: i64 = 600;

/// A boxed future, so that [`IdentityProvider`] can be used as a trait object.
pub type ProviderFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// The per-login secrets the provider needs to build the authorization request and to redeem its
/// code: the `state`, the PKCE code verifier (the provider derives the S256 challenge) and the nonce
/// the ID token must carry.
#[derive(Clone, Copy)]
pub struct LoginSecrets<'a> {
    pub state: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

impl std::fmt::Debug for LoginSecrets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginSecrets(..)")
    }
}

/// An identity whose ID token passed every check (signature, `iss`, `aud`, `exp`, `iat`, `nonce`,
/// `at_hash` if present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    /// Authentication methods the provider reports (`amr`), e.g. `pwd`, `otp`.
    pub amr: Vec<String>,
}

/// What can go wrong at the provider. The text is for the log: it names no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Discovery, JWKS or the token endpoint could not be reached or answered nonsense.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code (expired, reused, wrong PKCE verifier).
    #[error("identity provider refused the code: {0}")]
    Rejected(String),
    /// The ID token failed validation.
    #[error("ID token refused: {0}")]
    InvalidToken(String),
}

/// The unified identity system as the app sees it.
pub trait IdentityProvider: Send + Sync {
    /// The issuer URL, exactly as the provider names itself.
    fn issuer(&self) -> &str;
    /// Where to send the browser for this login.
    fn authorization_url<'a>(
        &'a self,
        secrets: LoginSecrets<'a>,
        now: shuyu_core::Timestamp,
    ) -> ProviderFuture<'a, String>;
    /// Redeems an authorization code and validates the ID token at `now`.
    fn redeem<'a>(
        &'a self,
        code: &'a str,
        secrets: LoginSecrets<'a>,
        now: shuyu_core::Timestamp,
    ) -> ProviderFuture<'a, VerifiedIdentity>;
}

/// Single sign-on as configured for the deployment (the binary's `[oidc]` section).
#[derive(Clone)]
pub struct SsoSettings {
    pub provider: Arc<dyn IdentityProvider>,
    /// `amr` values that count as a second factor.
    pub second_factor_amr: Vec<String>,
    /// The sign-in button's text.
    pub label_zh: String,
    pub label_en: String,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.provider.issuer())
            .field("second_factor_amr", &self.second_factor_amr)
            .finish_non_exhaustive()
    }
}

/// Why a single sign-on was refused, as facts a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoRefusal {
    #[error(
        "single sign-on is not configured for this deployment; sign in with your platform account"
    )]
    NotConfigured,
    /// Unknown, tampered, already used, or started in another browser.
    #[error(
        "this sign-in is unknown, was already used or was started in another browser; start again"
    )]
    UnknownState,
    #[error("the sign-in took longer than 10 minutes; start again")]
    Expired,
    /// The provider answered with an OAuth error code (`access_denied`, ...).
    #[error(
        "the unified identity system did not sign you in ({error}); start again, or sign in with your platform account"
    )]
    ProviderDenied { error: String },
    #[error(
        "the unified identity system cannot be reached now; try again later, or sign in with your platform account"
    )]
    ProviderUnavailable,
    #[error("the unified identity system's answer could not be verified; start again")]
    InvalidResponse,
    #[error(
        "this unified identity is not linked to a shuyu account; ask your administrator to link it"
    )]
    NotLinked,
    #[error(
        "your role needs a second factor and the unified identity sign-in confirmed none; sign in with your password and TOTP code instead"
    )]
    SecondFactorMissing,
}

/// Where the browser goes to start a single sign-on.
#[derive(Debug, Clone)]
pub struct SsoStart {
    pub redirect_to: String,
    /// The `state`, for the cookie that binds the callback to this browser.
    pub state: String,
}

/// The provider's answer at the callback, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct SsoCallback<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    /// `error` of an error response (RFC 6749 4.1.2.1).
    pub error: Option<&'a str>,
    /// `iss` of the response (RFC 9207), checked when present.
    pub iss: Option<&'a str>,
    /// The `state` remembered by this browser at start (its cookie).
    pub browser_state: Option<&'a str>,
}

/// A session opened by single sign-on, and where to go next.
#[derive(Debug)]
pub struct SsoLogin {
    pub session: NewSession,
    pub return_to: String,
}

#[derive(Serialize)]
struct StartChange<'a> {
    issuer: &'a str,
    return_to: &'a str,
}

#[derive(Serialize)]
struct SsoChange<'a> {
    subject: &'a str,
    amr: &'a [String],
    second_factor: bool,
    result: &'a str,
}

impl App {
    /// The deployment's single sign-on, if configured.
    pub fn sso(&self) -> Option<&SsoSettings> {
        self.sso.as_deref()
    }

    /// Starts a single sign-on: a pending login is stored (with its `auth.sso_start` event) and the
    /// provider's authorization URL returned. `return_to` is kept only if it is a local path.
    pub async fn sso_start(
        &self,
        ctx: &Ctx,
        return_to: Option<&str>,
    ) -> Result<SsoStart, AppError> {
        self.authorize(ctx, Action::Login, &Resource::Platform, Object::platform())
            .await?;
        let sso = self.sso().ok_or(AppError::Sso(SsoRefusal::NotConfigured))?;
        let now = self.now();
        let pending = PendingSsoLogin {
            state: hex::encode(self.random_bytes::<32>()),
            verifier: hex::encode(self.random_bytes::<32>()),
            nonce: hex::encode(self.random_bytes::<32>()),
            return_to: local_path(return_to),
            created_at: now,
        };
        let secrets = secrets_of(&pending);
        let issuer = sso.provider.issuer();
        let url = match sso.provider.authorization_url(secrets, now).await {
            Ok(url) => url,
            Err(err) => {
                tracing::warn!(request_id = %ctx.request_id, error = %err, "single sign-on cannot start");
                let mut tx = self.store.begin().await?;
                tx.audit(self.event(
                    ctx,
                    "auth.sso_start",
                    Object::platform(),
                    &StartChange {
                        issuer,
                        return_to: &pending.return_to,
                    },
                    Outcome::Failed,
                    "identity provider unavailable",
                ))
                .await?;
                tx.commit().await?;
                return Err(AppError::Sso(SsoRefusal::ProviderUnavailable));
            }
        };
        let mut tx = self.store.begin().await?;
        tx.insert_sso_login(&pending).await?;
        tx.audit(self.event(
            ctx,
            "auth.sso_start",
            Object::platform(),
            &StartChange {
                issuer,
                return_to: &pending.return_to,
            },
            Outcome::Ok,
            issuer,
        ))
        .await?;
        tx.commit().await?;
        Ok(SsoStart {
            redirect_to: url,
            state: pending.state,
        })
    }

    /// Finishes a single sign-on at the callback: checks the pending login, redeems the code, maps
    /// the verified identity to its linked person and opens a session like a password sign-in.
    pub async fn sso_finish(
        &self,
        ctx: &Ctx,
        callback: SsoCallback<'_>,
    ) -> Result<SsoLogin, AppError> {
        self.authorize(ctx, Action::Login, &Resource::Platform, Object::platform())
            .await?;
        let sso = self.sso().ok_or(AppError::Sso(SsoRefusal::NotConfigured))?;
        let now = self.now();
        let state = callback.state;

        // The callback must come back to the browser that started it (login CSRF), with a state we
        // issued and that is still pending.
        let bound = callback
            .browser_state
            .is_some_and(|b| !state.is_empty() && constant_time_eq(b.as_bytes(), state.as_bytes()));
        if !bound {
            return Err(self
                .sso_refuse(
                    ctx,
                    None,
                    None,
                    Outcome::Denied,
                    "sso: state does not match this browser's sign-in",
                    SsoRefusal::UnknownState,
                )
                .await);
        }
        let Some(pending) = self.store.sso_login(state).await? else {
            return Err(self
                .sso_refuse(
                    ctx,
                    None,
                    None,
                    Outcome::Denied,
                    "sso: unknown or already used state",
                    SsoRefusal::UnknownState,
                )
                .await);
        };
        if now.seconds_since(pending.created_at) > SSO_LOGIN_SECONDS {
            return Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    None,
                    Outcome::Failed,
                    "sso: sign-in expired",
                    SsoRefusal::Expired,
                )
                .await);
        }
        if let Some(error) = callback.error {
            let error = oauth_error_code(error);
            let detail = format!("sso: identity provider answered {error}");
            return Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    None,
                    Outcome::Failed,
                    &detail,
                    SsoRefusal::ProviderDenied { error },
                )
                .await);
        }
        if callback.iss.is_some_and(|iss| iss != sso.provider.issuer()) {
            return Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    None,
                    Outcome::Denied,
                    "sso: response from another issuer (iss)",
                    SsoRefusal::InvalidResponse,
                )
                .await);
        }
        let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
            return Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    None,
                    Outcome::Failed,
                    "sso: response without a code",
                    SsoRefusal::InvalidResponse,
                )
                .await);
        };

        // Outside any transaction: the provider may take seconds.
        let identity = match sso.provider.redeem(code, secrets_of(&pending), now).await {
            Ok(identity) => identity,
            Err(err) => {
                tracing::warn!(request_id = %ctx.request_id, error = %err, "single sign-on refused");
                let (detail, refusal) = match err {
                    ProviderError::Unavailable(_) => (
                        "sso: identity provider unavailable",
                        SsoRefusal::ProviderUnavailable,
                    ),
                    ProviderError::Rejected(_) => (
                        "sso: identity provider refused the code",
                        SsoRefusal::InvalidResponse,
                    ),
                    ProviderError::InvalidToken(_) => (
                        "sso: ID token failed validation",
                        SsoRefusal::InvalidResponse,
                    ),
                };
                return Err(self
                    .sso_refuse(ctx, Some(state), None, Outcome::Failed, detail, refusal)
                    .await);
            }
        };
        let Ok(subject) = SsoSubject::new(&identity.issuer, &identity.subject) else {
            return Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    None,
                    Outcome::Failed,
                    "sso: unusable issuer or subject",
                    SsoRefusal::InvalidResponse,
                )
                .await);
        };
        let second_factor = identity
            .amr
            .iter()
            .any(|m| sso.second_factor_amr.iter().any(|s| s == m));
        let change = |result| SsoChange {
            subject: subject.as_str(),
            amr: &identity.amr,
            second_factor,
            result,
        };
        let Some(person) = self.store.person_by_sso(subject.as_str()).await? else {
            return Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    Some((Object::new("person", "unknown"), &change("not linked"))),
                    Outcome::Failed,
                    "sso: unified identity not linked to an account",
                    SsoRefusal::NotLinked,
                )
                .await);
        };
        let object = || Object::new("person", person.id);
        let needs_second_factor = self.profile.requires_second_factor(person.role);
        match judge_sso_login(&person, second_factor, needs_second_factor, now) {
            SsoVerdict::Accepted { second_factor } => {
                let (secret, session) = self.new_session(person.id, second_factor, now);
                let mut tx = self.store.begin().await?;
                if tx.take_sso_login(state).await?.is_none() {
                    // Finished concurrently by another request with the same state.
                    tx.audit(self.event(
                        ctx,
                        "auth.login",
                        object(),
                        &change("state already used"),
                        Outcome::Denied,
                        "sso: unknown or already used state",
                    ))
                    .await?;
                    tx.commit().await?;
                    return Err(AppError::Sso(SsoRefusal::UnknownState));
                }
                tx.insert_session(&session).await?;
                let mut login_ctx = ctx.clone();
                login_ctx.principal = Principal::Person(
                    self.actor_for(&person, Credential::Session { second_factor }),
                );
                tx.audit(self.event(
                    &login_ctx,
                    "auth.login",
                    object(),
                    &change("session opened"),
                    Outcome::Ok,
                    if second_factor {
                        "sso+second factor"
                    } else {
                        "sso"
                    },
                ))
                .await?;
                tx.commit().await?;
                Ok(SsoLogin {
                    session: NewSession {
                        secret,
                        csrf: session.csrf,
                        person,
                    },
                    return_to: pending.return_to,
                })
            }
            SsoVerdict::SecondFactorMissing => Err(self
                .sso_refuse(
                    ctx,
                    Some(state),
                    Some((object(), &change("second factor missing"))),
                    Outcome::Failed,
                    "sso: second factor missing for the role",
                    SsoRefusal::SecondFactorMissing,
                )
                .await),
            SsoVerdict::Locked { until } => Err(self
                .sso_refuse_with(
                    ctx,
                    Some(state),
                    Some((object(), &change("account locked"))),
                    Outcome::Denied,
                    "sso: account locked",
                    AppError::Locked { until },
                )
                .await),
            SsoVerdict::Disabled => Err(self
                .sso_refuse_with(
                    ctx,
                    Some(state),
                    Some((object(), &change("account disabled"))),
                    Outcome::Denied,
                    "sso: account disabled",
                    AppError::Disabled,
                )
                .await),
        }
    }

    /// Records a refused single sign-on (taking the pending login, if `state` is given, in the same
    /// transaction) and returns the refusal.
    async fn sso_refuse(
        &self,
        ctx: &Ctx,
        state: Option<&str>,
        about: Option<(Object<'_>, &SsoChange<'_>)>,
        outcome: Outcome,
        detail: &str,
        refusal: SsoRefusal,
    ) -> AppError {
        self.sso_refuse_with(ctx, state, about, outcome, detail, AppError::Sso(refusal))
            .await
    }

    async fn sso_refuse_with(
        &self,
        ctx: &Ctx,
        state: Option<&str>,
        about: Option<(Object<'_>, &SsoChange<'_>)>,
        outcome: Outcome,
        detail: &str,
        err: AppError,
    ) -> AppError {
        let recorded = async {
            let mut tx = self.store.begin().await?;
            if let Some(state) = state {
                tx.take_sso_login(state).await?;
            }
            let draft = match about {
                Some((object, change)) => {
                    self.event(ctx, "auth.login", object, change, outcome, detail)
                }
                None => self.event(ctx, "auth.login", Object::platform(), &(), outcome, detail),
            };
            tx.audit(draft).await?;
            tx.commit().await?;
            Ok::<_, AppError>(())
        };
        match recorded.await {
            Ok(()) => err,
            Err(store_err) => store_err,
        }
    }

    /// Links a person to an identity of the unified identity system (`issuer|sub`), or unlinks them
    /// with `None`. Administrators (not for themselves) and the command line.
    pub async fn link_sso(
        &self,
        ctx: &Ctx,
        id: PersonId,
        subject: Option<&str>,
    ) -> Result<PersonView, AppError> {
        self.load_for(ctx, id, Action::PersonLinkSso).await?;
        let subject = subject
            .map(SsoSubject::parse)
            .transpose()
            .map_err(|e| AppError::invalid("subject", e))?;
        if let (Some(subject), Some(sso)) = (&subject, self.sso()) {
            let issuer = sso.provider.issuer();
            if subject.issuer() != issuer {
                return Err(AppError::invalid(
                    "subject",
                    format!(
                        "this deployment's unified identity system is {issuer}; give the identity as {issuer}|<sub>"
                    ),
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        tx.link_sso(id, subject.as_ref().map(SsoSubject::as_str))
            .await?;
        let (action, detail) = match &subject {
            Some(s) => (
                "person.sso_link",
                format!("linked to an identity at {}", s.issuer()),
            ),
            None => (
                "person.sso_unlink",
                "single sign-on identity removed".to_owned(),
            ),
        };
        tx.audit(self.event(
            ctx,
            action,
            Object::new("person", id),
            &subject.as_ref().map(SsoSubject::as_str),
            Outcome::Ok,
            &detail,
        ))
        .await?;
        tx.commit().await?;
        self.view(
            self.store
                .person(id)
                .await?
                .ok_or(AppError::NotFound { kind: "person" })?,
        )
        .await
    }
}

fn secrets_of(pending: &PendingSsoLogin) -> LoginSecrets<'_> {
    LoginSecrets {
        state: &pending.state,
        pkce_verifier: &pending.verifier,
        nonce: &pending.nonce,
    }
}

/// A local path to return to after signing in; anything else becomes `/`.
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 512
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// An OAuth error code as shown and recorded: only `[a-z_]`, at most 40 characters, since anybody
/// can craft a callback URL.
fn oauth_error_code(raw: &str) -> String {
    if !raw.is_empty()
        && raw.len() <= 40
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        raw.to_owned()
    } else {
        "unrecognised_error".to_owned()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
