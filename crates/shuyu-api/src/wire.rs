//! Wire types: what the API accepts and returns, converted from domain types by hand so that the
//! wire stays stable and nothing (a password hash, a TOTP secret) leaks by accident.

mod catalog;

pub use catalog::*;

use serde::{Deserialize, Serialize};
use shuyu_app::PersonView;
use shuyu_audit::EventRecord;
use shuyu_identity::{ApiTokenRecord, Organisation, Person, TrainingRecord};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit TOTP code; required for roles that need a second factor.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub person: PersonOut,
    /// Send this in `X-CSRF-Token` on POST/PUT/PATCH/DELETE made with the session cookie.
    pub csrf_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: String,
    pub name: String,
    pub org_type: String,
    pub credit_code: String,
    pub created_at: String,
}

impl From<&Organisation> for OrgOut {
    fn from(o: &Organisation) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name.to_string(),
            org_type: o.org_type.as_str().to_owned(),
            credit_code: o.credit_code.to_string(),
            created_at: o.created_at.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgRequest {
    pub name: String,
    /// One of: authority, approver, expert_panel, source_department, data_service_agency, operator,
    /// merchant, consumer, supervisor.
    pub org_type: String,
    /// Unified social credit code (18 characters, with a valid check character).
    pub credit_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonOut {
    pub id: String,
    pub org_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub locked_until: Option<String>,
    pub second_factor_enrolled: bool,
    pub sso_linked: bool,
    pub real_name_verified_at: Option<String>,
    pub agreement_version: Option<String>,
    pub agreement_accepted_at: Option<String>,
    pub created_at: String,
}

impl From<&Person> for PersonOut {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id.to_string(),
            org_id: p.org.to_string(),
            username: p.username.to_string(),
            display_name: p.display_name.to_string(),
            role: p.role.as_str().to_owned(),
            active: p.active,
            locked_until: p.locked_until.map(|t| t.to_string()),
            second_factor_enrolled: p.totp.is_some(),
            sso_linked: p.sso_subject.is_some(),
            real_name_verified_at: p.personnel.real_name_verified_at.map(|t| t.to_string()),
            agreement_version: p.personnel.agreement_version.clone(),
            agreement_accepted_at: p.personnel.agreement_accepted_at.map(|t| t.to_string()),
            created_at: p.created_at.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingOut {
    pub topic: String,
    pub completed_on: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

impl From<&TrainingRecord> for TrainingOut {
    fn from(t: &TrainingRecord) -> Self {
        Self {
            topic: t.topic.clone(),
            completed_on: t.completed_on.to_string(),
            recorded_by: t.recorded_by.to_string(),
            recorded_at: t.recorded_at.to_string(),
        }
    }
}

/// A person with their personnel record.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonRecordOut {
    pub person: PersonOut,
    pub training: Vec<TrainingOut>,
    /// May open data-bearing functions (real-name verified and current agreement accepted).
    pub cleared: bool,
    pub real_name_verified: bool,
    pub agreement_current: bool,
    pub training_due: bool,
}

impl From<&PersonView> for PersonRecordOut {
    fn from(v: &PersonView) -> Self {
        Self {
            person: PersonOut::from(&v.person),
            training: v.training.iter().map(TrainingOut::from).collect(),
            cleared: v.clearance.real_name_verified && v.clearance.agreement_current,
            real_name_verified: v.clearance.real_name_verified,
            agreement_current: v.clearance.agreement_current,
            training_due: v.training_due,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonRequest {
    pub org_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// Omit for an account that signs in only through single sign-on.
    #[serde(default)]
    pub password: Option<String>,
    /// Issue a TOTP secret (returned once). Required for roles that need a second factor.
    #[serde(default)]
    pub with_totp: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewPersonResponse {
    pub person: PersonOut,
    /// Shown once: enrol it in an authenticator app.
    pub totp_secret: Option<String>,
    pub otpauth_uri: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRequest {
    pub topic: String,
    /// YYYY-MM-DD
    pub completed_on: String,
}

/// Link a person to an identity of the unified identity system, or unlink with `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoLinkRequest {
    /// `<issuer>|<sub>`: the provider's issuer URL and the person's subject identifier there, e.g.
    /// `https://idp.example.gov.cn/realms/jl|3f2a…`; `null` removes the link. Required.
    #[serde(deserialize_with = "present_or_null")]
    #[schema(nullable, required)]
    pub subject: Option<String>,
}

/// A field that must be present, though it may be `null` (a missing field is an error, so that an
/// empty body does not unlink by accident).
fn present_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    /// The agreement version being accepted (see GET /api/v1/me).
    pub version: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    pub old_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpRenewRequest {
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpRenewResponse {
    pub totp_secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    #[serde(flatten)]
    pub record: PersonRecordOut,
    /// The confidentiality agreement version in force.
    pub current_agreement_version: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub name: String,
    /// Days until the token expires.
    pub days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub hint: String,
    pub org_id: String,
    pub role: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl From<&ApiTokenRecord> for TokenOut {
    fn from(t: &ApiTokenRecord) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            hint: t.hint.clone(),
            org_id: t.org.to_string(),
            role: t.role.as_str().to_owned(),
            created_at: t.created_at.to_string(),
            expires_at: t.expires_at.to_string(),
            revoked_at: t.revoked_at.map(|x| x.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenResponse {
    pub token: TokenOut,
    /// The secret, shown once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleQuery {
    /// Only people of this organisation.
    pub org: Option<String>,
}

/// Audit search: every parameter narrows the search.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryParams {
    /// Actor person id.
    pub actor: Option<String>,
    /// Actor organisation id.
    pub org: Option<String>,
    /// Action name, or a prefix ending in `*` (`person.*`).
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// ok, denied or failed.
    pub outcome: Option<String>,
    /// From this time (inclusive): a date or RFC 3339 time.
    pub from: Option<String>,
    /// Until this time (exclusive).
    pub to: Option<String>,
    /// Page backwards: only events with a sequence number below this.
    pub before: Option<u64>,
    /// At most this many events (1-500, default 100).
    pub limit: Option<u32>,
    /// For export: `csv` or `jsonl` (default).
    pub format: Option<String>,
}

impl AuditQueryParams {
    pub fn to_query(&self) -> shuyu_app::AuditQuery {
        shuyu_app::AuditQuery {
            actor: self.actor.clone(),
            org: self.org.clone(),
            action: self.action.clone(),
            object_type: self.object_type.clone(),
            object_id: self.object_id.clone(),
            outcome: self.outcome.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub seq: u64,
    pub at: String,
    pub actor_person: Option<String>,
    pub actor_org: Option<String>,
    pub role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// SM3 digest of the change (hex).
    pub digest: String,
    pub request_id: String,
    pub source: String,
    pub outcome: String,
    pub detail: String,
    /// SM3 chain hashes (hex).
    pub prev_hash: String,
    pub hash: String,
}

impl From<&EventRecord> for AuditEventOut {
    fn from(e: &EventRecord) -> Self {
        let d = &e.draft;
        Self {
            seq: e.seq,
            at: shuyu_core::Timestamp::from_unix_micros(d.at_micros).to_string(),
            actor_person: d.actor_person.clone(),
            actor_org: d.actor_org.clone(),
            role: d.role.clone(),
            action: d.action.clone(),
            object_type: d.object_type.clone(),
            object_id: d.object_id.clone(),
            digest: hex::encode(d.digest),
            request_id: d.request_id.clone(),
            source: d.source.clone(),
            outcome: d.outcome.as_str().to_owned(),
            detail: d.detail.clone(),
            prev_hash: hex::encode(e.prev_hash),
            hash: hex::encode(e.hash),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventOut>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyOut {
    pub intact: bool,
    pub events: Option<u64>,
    pub checkpoints: Option<u64>,
    pub last_checkpoint_seq: Option<u64>,
    /// Events after the last signed checkpoint.
    pub unsigned_tail: Option<u64>,
    /// The first break found, naming the event.
    pub broken: Option<String>,
    pub first_broken_seq: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleOut {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub value: String,
    pub article: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileOut {
    pub key: String,
    pub name: String,
    pub short_name: String,
    pub in_force: bool,
    /// A sentence on validity (for example that it expired, and when).
    pub validity: String,
    pub rules: Vec<RuleOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}
