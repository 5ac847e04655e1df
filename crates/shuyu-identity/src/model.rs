//! The records of identity: organisations, people with their personnel facts, sessions and tokens,
//! and the pure rules of signing in (lockout, second factor, replay, session timeouts).

use shuyu_core::{CreditCode, Name, OrgId, OrgType, PersonId, Role, Timestamp, TokenId, Username};

use crate::{PasswordHash, SecretDigest, TotpSecret};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrgId,
    pub name: Name,
    pub org_type: OrgType,
    pub credit_code: CreditCode,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub org: OrgId,
    pub username: Username,
    pub display_name: Name,
    pub role: Role,
    /// `None` for people who sign in only through single sign-on.
    pub password: Option<PasswordHash>,
    pub totp: Option<TotpSecret>,
    /// The TOTP time step of the last accepted code; older or equal steps are refused (no replay).
    pub totp_last_step: u64,
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
    pub active: bool,
    pub personnel: Personnel,
    /// `issuer|subject` of the linked single sign-on identity.
    pub sso_subject: Option<String>,
    pub created_at: Timestamp,
}

/// PART-3: real-name verification and the confidentiality agreement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Personnel {
    pub real_name_verified_at: Option<Timestamp>,
    pub real_name_verified_by: Option<PersonId>,
    pub agreement_version: Option<String>,
    pub agreement_accepted_at: Option<Timestamp>,
}

impl Personnel {
    pub fn is_verified(&self) -> bool {
        self.real_name_verified_at.is_some()
    }

    pub fn has_accepted(&self, current_version: &str) -> bool {
        self.agreement_version.as_deref() == Some(current_version)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub id: uuid::Uuid,
    pub person: PersonId,
    pub topic: String,
    pub completed_on: chrono::NaiveDate,
    pub recorded_by: PersonId,
    pub recorded_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub digest: SecretDigest,
    pub person: PersonId,
    pub csrf: String,
    pub second_factor: bool,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: TokenId,
    pub digest: SecretDigest,
    pub hint: String,
    pub name: String,
    pub org: OrgId,
    pub role: Role,
    pub owner: PersonId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiTokenRecord {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Platform settings for sign-in (MLPS level 3 asks for lockout and session limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRules {
    pub lockout_threshold: u32,
    pub lockout_seconds: i64,
    pub session_idle_seconds: i64,
    pub session_absolute_seconds: i64,
}

impl Default for LoginRules {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_seconds: 15 * 60,
            session_idle_seconds: 30 * 60,
            session_absolute_seconds: 12 * 3600,
        }
    }
}

/// What a sign-in attempt comes to. Only `Accepted` opens a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginVerdict {
    Accepted {
        second_factor: bool,
        totp_step: Option<u64>,
    },
    /// Wrong password or code; `locks_until` is set when this failure triggers the lockout.
    Failed {
        reason: LoginFailure,
        locks_until: Option<Timestamp>,
    },
    Locked {
        until: Timestamp,
    },
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    WrongPassword,
    SecondFactorMissing,
    WrongSecondFactor,
    ReplayedCode,
    NoPasswordSet,
}

/// Decides a password sign-in. `password_ok` is the argon2 verification, `code` the TOTP code given
/// (if any), `needs_second_factor` the profile's rule for the person's role.
pub fn judge_login(
    person: &Person,
    password_ok: bool,
    code: Option<&str>,
    needs_second_factor: bool,
    now: Timestamp,
    rules: &LoginRules,
) -> LoginVerdict {
    if !person.active {
        return LoginVerdict::Disabled;
    }
    if let Some(until) = person.locked_until
        && now < until
    {
        return LoginVerdict::Locked { until };
    }
    let fail = |reason| {
        let failures = person.failed_logins.saturating_add(1);
        let locks_until =
            (failures >= rules.lockout_threshold).then(|| now.plus_seconds(rules.lockout_seconds));
        LoginVerdict::Failed {
            reason,
            locks_until,
        }
    };
    if person.password.is_none() {
        return fail(LoginFailure::NoPasswordSet);
    }
    if !password_ok {
        return fail(LoginFailure::WrongPassword);
    }
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    match (&person.totp, code) {
        (Some(secret), Some(code)) => {
            let unix = u64::try_from(now.unix_micros() / 1_000_000).unwrap_or(0);
            match secret.verify(code, unix) {
                Ok(Some(step)) if step > person.totp_last_step => LoginVerdict::Accepted {
                    second_factor: true,
                    totp_step: Some(step),
                },
                Ok(Some(_)) => fail(LoginFailure::ReplayedCode),
                Ok(None) | Err(_) => fail(LoginFailure::WrongSecondFactor),
            }
        }
        (_, None) if needs_second_factor => fail(LoginFailure::SecondFactorMissing),
        (None, Some(_)) if needs_second_factor => fail(LoginFailure::WrongSecondFactor),
        _ => LoginVerdict::Accepted {
            second_factor: false,
            totp_step: None,
        },
    }
}

/// The identity of a person at the unified identity system, `issuer|subject`: the issuer URL as the
/// provider names itself and the provider's stable subject identifier (`sub`). The issuer cannot
/// contain `|`, so the first `|` separates them (subjects such as `idp|123` stay whole).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsoSubject(String);

impl SsoSubject {
    /// The longest issuer and subject accepted (OpenID Connect caps `sub` at 255 ASCII characters).
    const MAX_PART: usize = 255;

    pub fn new(issuer: &str, subject: &str) -> Result<Self, String> {
        if issuer.is_empty() || issuer.len() > Self::MAX_PART {
            return Err("the issuer must be 1 to 255 characters".into());
        }
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err("the issuer must be the provider's URL (https://…)".into());
        }
        if issuer.contains('|') || issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the issuer must not contain `|`, spaces or control characters".into());
        }
        if subject.is_empty() || subject.len() > Self::MAX_PART {
            return Err("the subject (`sub`) must be 1 to 255 characters".into());
        }
        if subject.chars().any(char::is_control) {
            return Err("the subject (`sub`) must not contain control characters".into());
        }
        Ok(Self(format!("{issuer}|{subject}")))
    }

    /// Parses `issuer|subject`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (issuer, subject) = text
            .trim()
            .split_once('|')
            .ok_or_else(|| "give the identity as `<issuer>|<sub>`".to_owned())?;
        Self::new(issuer, subject)
    }

    pub fn issuer(&self) -> &str {
        self.0.split_once('|').map_or("", |(issuer, _)| issuer)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SsoSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a single sign-on comes to, for a person the verified identity is linked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoVerdict {
    Accepted {
        second_factor: bool,
    },
    /// The role needs a second factor and the identity provider confirmed none.
    SecondFactorMissing,
    Locked {
        until: Timestamp,
    },
    Disabled,
}

/// Decides a single sign-on of `person`. `second_factor` is whether the provider reported a method
/// that counts as a second factor (`amr`); `needs_second_factor` is the profile's rule for the
/// role. A disabled account stays disabled and a locked one locked, whatever the credential.
pub fn judge_sso_login(
    person: &Person,
    second_factor: bool,
    needs_second_factor: bool,
    now: Timestamp,
) -> SsoVerdict {
    if !person.active {
        return SsoVerdict::Disabled;
    }
    if let Some(until) = person.locked_until
        && now < until
    {
        return SsoVerdict::Locked { until };
    }
    if needs_second_factor && !second_factor {
        return SsoVerdict::SecondFactorMissing;
    }
    SsoVerdict::Accepted { second_factor }
}

impl SessionRecord {
    /// A session is live until it has been idle too long or reached its absolute limit.
    pub fn is_live(&self, now: Timestamp, rules: &LoginRules) -> bool {
        now < self.expires_at && now.seconds_since(self.last_seen_at) < rules.session_idle_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn person(totp: Option<TotpSecret>) -> Person {
        let t = Timestamp::from_unix_micros(0);
        Person {
            id: PersonId::mint(t, [1; 10]),
            org: OrgId::mint(t, [2; 10]),
            username: Username::parse("li.wei").unwrap(),
            display_name: Name::parse("李伟").unwrap(),
            role: Role::Operator,
            password: Some(PasswordHash::from_stored("$argon2id$...".into())),
            totp,
            totp_last_step: 0,
            failed_logins: 0,
            locked_until: None,
            active: true,
            personnel: Personnel::default(),
            sso_subject: None,
            created_at: t,
        }
    }

    const NOW: Timestamp = Timestamp::from_unix_micros(1_700_000_000_000_000);

    fn secret() -> TotpSecret {
        TotpSecret::generate(&mut rand::rngs::StdRng::seed_from_u64(9))
    }

    #[test]
    fn fifth_wrong_password_locks_the_account() {
        let rules = LoginRules::default();
        let mut p = person(None);
        p.failed_logins = 3;
        assert_eq!(
            judge_login(&p, false, None, false, NOW, &rules),
            LoginVerdict::Failed {
                reason: LoginFailure::WrongPassword,
                locks_until: None
            }
        );
        p.failed_logins = 4;
        assert_eq!(
            judge_login(&p, false, None, false, NOW, &rules),
            LoginVerdict::Failed {
                reason: LoginFailure::WrongPassword,
                locks_until: Some(NOW.plus_seconds(900))
            }
        );
    }

    #[test]
    fn a_locked_account_refuses_even_the_right_password_until_the_lock_ends() {
        let rules = LoginRules::default();
        let mut p = person(None);
        p.locked_until = Some(NOW.plus_seconds(60));
        assert_eq!(
            judge_login(&p, true, None, false, NOW, &rules),
            LoginVerdict::Locked {
                until: NOW.plus_seconds(60)
            }
        );
        let later = NOW.plus_seconds(61);
        assert!(matches!(
            judge_login(&p, true, None, false, later, &rules),
            LoginVerdict::Accepted { .. }
        ));
    }

    #[test]
    fn roles_needing_a_second_factor_cannot_sign_in_with_a_password_alone() {
        let rules = LoginRules::default();
        let p = person(Some(secret()));
        assert!(matches!(
            judge_login(&p, true, None, true, NOW, &rules),
            LoginVerdict::Failed {
                reason: LoginFailure::SecondFactorMissing,
                ..
            }
        ));
        assert!(
            matches!(
                judge_login(&p, true, Some("000000"), true, NOW, &rules),
                LoginVerdict::Failed {
                    reason: LoginFailure::WrongSecondFactor,
                    ..
                }
            ) || secret().code_at(1_700_000_000).unwrap() == "000000"
        );
    }

    #[test]
    fn a_valid_code_is_accepted_once_and_refused_when_replayed() {
        let rules = LoginRules::default();
        let mut p = person(Some(secret()));
        let code = secret().code_at(1_700_000_000).unwrap();
        let LoginVerdict::Accepted {
            second_factor: true,
            totp_step: Some(step),
        } = judge_login(&p, true, Some(&code), true, NOW, &rules)
        else {
            panic!("valid code refused")
        };
        p.totp_last_step = step;
        assert!(matches!(
            judge_login(&p, true, Some(&code), true, NOW, &rules),
            LoginVerdict::Failed {
                reason: LoginFailure::ReplayedCode,
                ..
            }
        ));
    }

    #[test]
    fn disabled_accounts_and_sso_only_accounts_cannot_use_passwords() {
        let rules = LoginRules::default();
        let mut p = person(None);
        p.active = false;
        assert_eq!(
            judge_login(&p, true, None, false, NOW, &rules),
            LoginVerdict::Disabled
        );
        let mut p = person(None);
        p.password = None;
        assert!(matches!(
            judge_login(&p, true, None, false, NOW, &rules),
            LoginVerdict::Failed {
                reason: LoginFailure::NoPasswordSet,
                ..
            }
        ));
    }

    #[test]
    fn sessions_end_when_idle_or_at_their_absolute_limit() {
        let rules = LoginRules::default();
        let s = SessionRecord {
            digest: SecretDigest::from_stored("x".into()),
            person: person(None).id,
            csrf: "c".into(),
            second_factor: true,
            created_at: NOW,
            last_seen_at: NOW,
            expires_at: NOW.plus_seconds(rules.session_absolute_seconds),
        };
        assert!(s.is_live(NOW.plus_seconds(29 * 60), &rules));
        assert!(!s.is_live(NOW.plus_seconds(31 * 60), &rules));
        let busy = SessionRecord {
            last_seen_at: NOW.plus_seconds(12 * 3600 - 10),
            ..s
        };
        assert!(!busy.is_live(NOW.plus_seconds(12 * 3600), &rules));
    }

    #[test]
    fn sso_subjects_are_issuer_and_sub_split_at_the_first_bar() {
        let s = SsoSubject::parse("https://idp.example/realm|auth0|42").unwrap();
        assert_eq!(s.issuer(), "https://idp.example/realm");
        assert_eq!(s.as_str(), "https://idp.example/realm|auth0|42");
        assert_eq!(
            SsoSubject::new("http://127.0.0.1:9000", "alice")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000|alice"
        );
        for bad in [
            "alice",
            "|alice",
            "https://idp.example|",
            "idp.example|alice",
            "https://idp example|a",
        ] {
            assert!(SsoSubject::parse(bad).is_err(), "{bad}");
        }
        assert!(SsoSubject::new("https://idp.example", &"x".repeat(256)).is_err());
    }

    #[test]
    fn sso_needs_a_reported_second_factor_where_the_role_does() {
        let p = person(None);
        assert_eq!(
            judge_sso_login(&p, false, true, NOW),
            SsoVerdict::SecondFactorMissing
        );
        assert_eq!(
            judge_sso_login(&p, true, true, NOW),
            SsoVerdict::Accepted {
                second_factor: true
            }
        );
        assert_eq!(
            judge_sso_login(&p, false, false, NOW),
            SsoVerdict::Accepted {
                second_factor: false
            }
        );
    }

    #[test]
    fn sso_does_not_open_disabled_or_locked_accounts() {
        let mut p = person(None);
        p.locked_until = Some(NOW.plus_seconds(60));
        assert_eq!(
            judge_sso_login(&p, true, false, NOW),
            SsoVerdict::Locked {
                until: NOW.plus_seconds(60)
            }
        );
        p.active = false;
        assert_eq!(judge_sso_login(&p, true, false, NOW), SsoVerdict::Disabled);
    }
}
