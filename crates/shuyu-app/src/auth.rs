//! Signing in and out, sessions, and who a request is.

use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_core::{PersonId, Timestamp};
use shuyu_identity::{
    LoginFailure, LoginVerdict, OpaqueSecret, PasswordHash, Person, SecretKind, SessionRecord,
    TotpSecret, judge_login,
};
use shuyu_policy::{Action, Actor, Clearance, Credential, Principal, Resource};

use crate::{App, AppError, Ctx, Object};

/// A session just opened: the cookie secret (shown once) and its CSRF token.
#[derive(Debug)]
pub struct NewSession {
    pub secret: OpaqueSecret,
    pub csrf: String,
    pub person: Person,
}

/// A live session resolved from a cookie.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub actor: Actor,
    pub person: Person,
    pub csrf: String,
    pub digest: shuyu_identity::SecretDigest,
}

#[derive(Serialize)]
struct LoginChange<'a> {
    failed_logins: u32,
    locked: bool,
    result: &'a str,
}

impl App {
    /// Password (and TOTP) sign-in. Every attempt is on the chain; repeated failures lock the account.
    pub async fn login(
        &self,
        ctx: &Ctx,
        username: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<NewSession, AppError> {
        self.authorize(ctx, Action::Login, &Resource::Platform, Object::platform())
            .await?;
        let now = self.now();
        let Some(person) = self.store.person_by_username(username).await? else {
            // Spend the same time as a real check, so timing does not reveal which usernames exist.
            let decoy = self.with_rng(PasswordHash::decoy);
            let _ = decoy.verify(password);
            let draft = self.event(
                ctx,
                "auth.login",
                Object::new("person", "unknown"),
                &username,
                Outcome::Failed,
                "unknown username",
            );
            let mut tx = self.store.begin().await?;
            tx.audit(draft).await?;
            tx.commit().await?;
            return Err(AppError::LoginFailed);
        };
        let password_ok = password_matches(&person, password)?;
        let needs_second_factor = self.profile.requires_second_factor(person.role);
        let verdict = judge_login(
            &person,
            password_ok,
            code,
            needs_second_factor,
            now,
            &self.settings.login,
        );
        let object = Object::new("person", person.id);
        let mut tx = self.store.begin().await?;
        let result = match verdict {
            LoginVerdict::Accepted {
                second_factor,
                totp_step,
            } => {
                let (secret, session) = self.new_session(person.id, second_factor, now);
                tx.set_login_state(
                    person.id,
                    0,
                    None,
                    totp_step.unwrap_or(person.totp_last_step),
                )
                .await?;
                tx.insert_session(&session).await?;
                let change = LoginChange {
                    failed_logins: 0,
                    locked: false,
                    result: "session opened",
                };
                let mut login_ctx = ctx.clone();
                login_ctx.principal = Principal::Person(
                    self.actor_for(&person, Credential::Session { second_factor }),
                );
                tx.audit(self.event(
                    &login_ctx,
                    "auth.login",
                    object,
                    &change,
                    Outcome::Ok,
                    if second_factor {
                        "password+totp"
                    } else {
                        "password"
                    },
                ))
                .await?;
                Ok(NewSession {
                    secret,
                    csrf: session.csrf,
                    person: person.clone(),
                })
            }
            LoginVerdict::Failed {
                reason,
                locks_until,
            } => {
                let failures = person.failed_logins.saturating_add(1);
                tx.set_login_state(
                    person.id,
                    failures,
                    locks_until.or(person.locked_until),
                    person.totp_last_step,
                )
                .await?;
                let detail = match reason {
                    LoginFailure::WrongPassword => "wrong password",
                    LoginFailure::SecondFactorMissing => "second factor missing",
                    LoginFailure::WrongSecondFactor => "wrong second-factor code",
                    LoginFailure::ReplayedCode => "replayed second-factor code",
                    LoginFailure::NoPasswordSet => "no password set (single sign-on account)",
                };
                let change = LoginChange {
                    failed_logins: failures,
                    locked: locks_until.is_some(),
                    result: detail,
                };
                tx.audit(self.event(
                    ctx,
                    "auth.login",
                    object.clone(),
                    &change,
                    Outcome::Failed,
                    detail,
                ))
                .await?;
                if let Some(until) = locks_until {
                    tx.audit(self.event(
                        ctx,
                        "auth.lockout",
                        object,
                        &change,
                        Outcome::Ok,
                        &format!("locked until {until}"),
                    ))
                    .await?;
                }
                // A missing code on an otherwise right password is the one failure we name, so the
                // login form can ask for the code; it still counts as a failed attempt.
                Err(
                    if reason == LoginFailure::SecondFactorMissing && password_ok {
                        AppError::SecondFactorRequired
                    } else {
                        AppError::LoginFailed
                    },
                )
            }
            LoginVerdict::Locked { until } => {
                tx.audit(self.event(
                    ctx,
                    "auth.login",
                    object,
                    &(),
                    Outcome::Denied,
                    "account locked",
                ))
                .await?;
                Err(AppError::Locked { until })
            }
            LoginVerdict::Disabled => {
                tx.audit(self.event(
                    ctx,
                    "auth.login",
                    object,
                    &(),
                    Outcome::Denied,
                    "account disabled",
                ))
                .await?;
                Err(AppError::Disabled)
            }
        };
        tx.commit().await?;
        result
    }

    /// A fresh session for a person who just signed in: the cookie secret (shown once) and the
    /// record to store (its digest, a CSRF token, the idle and absolute limits).
    pub(crate) fn new_session(
        &self,
        person: PersonId,
        second_factor: bool,
        now: Timestamp,
    ) -> (OpaqueSecret, SessionRecord) {
        let secret = self.with_rng(|rng| OpaqueSecret::generate(SecretKind::Session, rng));
        let csrf = self.with_rng(|rng| OpaqueSecret::generate(SecretKind::Csrf, rng));
        let session = SessionRecord {
            digest: secret.digest(),
            person,
            csrf: csrf.expose().to_owned(),
            second_factor,
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus_seconds(self.settings.login.session_absolute_seconds),
        };
        (secret, session)
    }

    /// The actor a person acts as, with the personnel facts the policy needs.
    pub(crate) fn actor_for(&self, person: &Person, credential: Credential) -> Actor {
        Actor {
            person: person.id,
            org: person.org,
            role: person.role,
            credential,
            clearance: self.clearance(person),
        }
    }

    /// PART-3 gates as the profile sets them.
    pub fn clearance(&self, person: &Person) -> Clearance {
        let personnel = self.profile.personnel();
        Clearance {
            real_name_verified: !personnel.real_name_required.value
                || person.personnel.is_verified(),
            agreement_current: !personnel.confidentiality_agreement_required.value
                || person
                    .personnel
                    .has_accepted(&self.settings.agreement_version),
        }
    }

    /// Resolves a session cookie to a live session. Expired, idle or unknown sessions are `None`.
    pub async fn resolve_session(&self, cookie: &str) -> Result<Option<SessionView>, AppError> {
        let Some(secret) = OpaqueSecret::parse(SecretKind::Session, cookie) else {
            return Ok(None);
        };
        let digest = secret.digest();
        let Some(session) = self.store.session(&digest).await? else {
            return Ok(None);
        };
        let now = self.now();
        if !session.is_live(now, &self.settings.login) {
            return Ok(None);
        }
        let Some(person) = self.store.person(session.person).await? else {
            return Ok(None);
        };
        if !person.active {
            return Ok(None);
        }
        // Touch at most once a minute: idle timeouts need minute precision, not a write per request.
        if now.seconds_since(session.last_seen_at) >= 60 {
            self.store.touch_session(&digest, now).await?;
        }
        let actor = self.actor_for(
            &person,
            Credential::Session {
                second_factor: session.second_factor,
            },
        );
        Ok(Some(SessionView {
            actor,
            person,
            csrf: session.csrf,
            digest,
        }))
    }

    /// Resolves an API token (`Authorization: Bearer syt_…`). Revoked, expired or unknown is `None`;
    /// so is a token whose owner was disabled or moved to another organisation or role.
    pub async fn resolve_token(&self, bearer: &str) -> Result<Option<Actor>, AppError> {
        let Some(secret) = OpaqueSecret::parse(SecretKind::ApiToken, bearer) else {
            return Ok(None);
        };
        let Some(token) = self.store.token_by_digest(&secret.digest()).await? else {
            return Ok(None);
        };
        if !token.is_live(self.now()) {
            return Ok(None);
        }
        let Some(owner) = self.store.person(token.owner).await? else {
            return Ok(None);
        };
        if !owner.active || owner.org != token.org || owner.role != token.role {
            return Ok(None);
        }
        Ok(Some(self.actor_for(&owner, Credential::ApiToken)))
    }

    /// Signs out: the session is deleted, so the cookie is worthless everywhere.
    pub async fn logout(&self, ctx: &Ctx, session: &SessionView) -> Result<(), AppError> {
        self.authorize(
            ctx,
            Action::SelfRead,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        let mut tx = self.store.begin().await?;
        tx.delete_session(&session.digest).await?;
        tx.audit(self.event(
            ctx,
            "auth.logout",
            Object::new("person", session.person.id),
            &(),
            Outcome::Ok,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that the signed-in person accepted the current confidentiality agreement.
    pub async fn accept_agreement(&self, ctx: &Ctx, version: &str) -> Result<(), AppError> {
        let actor = self.self_manage(ctx).await?;
        if version != self.settings.agreement_version {
            return Err(AppError::invalid(
                "version",
                format!(
                    "the current agreement is version {}; accept that one",
                    self.settings.agreement_version
                ),
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.accept_agreement(actor.person, version, self.now())
            .await?;
        tx.audit(self.event(
            ctx,
            "person.agreement_accept",
            Object::new("person", actor.person),
            &version,
            Outcome::Ok,
            version,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes one's own password; every other session of the person ends.
    pub async fn change_password(
        &self,
        ctx: &Ctx,
        session: Option<&SessionView>,
        old: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let actor = self.self_manage(ctx).await?;
        let person = self
            .store
            .person(actor.person)
            .await?
            .ok_or(AppError::NotFound { kind: "person" })?;
        let old_ok = password_matches(&person, old)?;
        if !old_ok {
            return Err(AppError::invalid(
                "old_password",
                "the current password is wrong",
            ));
        }
        self.settings
            .password
            .check(person.username.as_str(), new)
            .map_err(|e| AppError::invalid("new_password", e))?;
        let hash = self.with_rng(|rng| PasswordHash::create(new, rng));
        let mut tx = self.store.begin().await?;
        tx.set_password(person.id, &hash).await?;
        let ended = tx.delete_sessions_of(person.id).await?;
        tx.audit(self.event(
            ctx,
            "person.password_change",
            Object::new("person", person.id),
            &ended,
            Outcome::Ok,
            "other sessions ended",
        ))
        .await?;
        if let Some(session) = session {
            // Keep the session this change was made in: re-open it under the same secret.
            let record = SessionRecord {
                digest: session.digest.clone(),
                person: person.id,
                csrf: session.csrf.clone(),
                second_factor: matches!(
                    session.actor.credential,
                    Credential::Session {
                        second_factor: true
                    }
                ),
                created_at: self.now(),
                last_seen_at: self.now(),
                expires_at: self
                    .now()
                    .plus_seconds(self.settings.login.session_absolute_seconds),
            };
            tx.insert_session(&record).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces one's TOTP secret after checking the password; returns the new secret to enrol.
    pub async fn renew_totp(&self, ctx: &Ctx, password: &str) -> Result<TotpSecret, AppError> {
        let actor = self.self_manage(ctx).await?;
        let person = self
            .store
            .person(actor.person)
            .await?
            .ok_or(AppError::NotFound { kind: "person" })?;
        let ok = password_matches(&person, password)?;
        if !ok {
            return Err(AppError::invalid("password", "the password is wrong"));
        }
        let secret = self.with_rng(TotpSecret::generate);
        let mut tx = self.store.begin().await?;
        tx.set_totp(person.id, Some(&secret)).await?;
        tx.audit(self.event(
            ctx,
            "person.totp_renew",
            Object::new("person", person.id),
            &(),
            Outcome::Ok,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    async fn self_manage(&self, ctx: &Ctx) -> Result<Actor, AppError> {
        self.authorize(
            ctx,
            Action::SelfManage,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        match &ctx.principal {
            Principal::Person(actor) => Ok(actor.clone()),
            _ => Err(AppError::Unauthenticated),
        }
    }

    /// The time a locked account opens again (for messages).
    pub fn lock_ends(&self, person: &Person) -> Option<Timestamp> {
        person.locked_until.filter(|until| *until > self.now())
    }
}

impl App {
    /// Writes a refused access that happened before any use case ran (a bad token, a missing CSRF
    /// token) to the audit chain.
    pub async fn record_refusal(
        &self,
        ctx: &Ctx,
        action: &str,
        detail: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.audit(self.event(
            ctx,
            action,
            Object::platform(),
            &(),
            shuyu_audit::Outcome::Denied,
            detail,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether `attempt` is the person's password (always false for single-sign-on-only accounts).
fn password_matches(person: &Person, attempt: &str) -> Result<bool, AppError> {
    match &person.password {
        Some(hash) => hash
            .verify(attempt)
            .map_err(|e| AppError::Internal(e.to_string())),
        None => Ok(false),
    }
}
