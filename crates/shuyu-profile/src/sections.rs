//! One struct per `[section]` of a profile file. A new rule is a field here, a check in
//! `validate.rs` and a line in `rules.rs`; a new section is a struct here and a field of `Profile`.
//!
//! Must never: hold a default that differs between cities (defaults live in the TOML files, cited),
//! or accept a key it does not know (`deny_unknown_fields` on every struct).

use chrono::NaiveDate;
use serde::Deserialize;
use shuyu_core::Role;

use crate::cited::{Cited, cited_date, cited_optional_date};

/// `[regulation]`: which text the profile implements and when it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Regulation {
    /// Full Chinese title, e.g. `威海市公共数据授权运营管理办法`.
    pub name: String,
    pub name_en: String,
    /// The short English name a person uses, e.g. `Zhongwei`.
    pub short_name: String,
    pub issuing_body: Cited<String>,
    /// 文号, e.g. `威政办发〔2024〕7号`; `None` where the text carries none (the article says why).
    pub document_number: Cited<Option<String>>,
    pub status: Cited<RegulationStatus>,
    /// First day in force.
    #[serde(deserialize_with = "cited_date")]
    pub effective: Cited<NaiveDate>,
    /// Last day in force (inclusive); `None` where the regulation sets no end.
    #[serde(deserialize_with = "cited_optional_date")]
    pub expires: Cited<Option<NaiveDate>>,
}

/// The standing of the text itself. Whether it is in force on a given day is a different question,
/// answered by [`crate::Profile::validity_on`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegulationStatus {
    /// A regulation issued without qualifier (办法).
    Adopted,
    /// Issued as interim (暂行办法).
    Interim,
    /// Issued for trial (试行).
    Trial,
    /// A consultation draft (征求意见稿), not yet issued.
    Draft,
}

impl RegulationStatus {
    pub const ALL: &'static [RegulationStatus] = &[
        RegulationStatus::Adopted,
        RegulationStatus::Interim,
        RegulationStatus::Trial,
        RegulationStatus::Draft,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RegulationStatus::Adopted => "adopted",
            RegulationStatus::Interim => "interim",
            RegulationStatus::Trial => "trial",
            RegulationStatus::Draft => "draft",
        }
    }

    /// The name a person reads, in Chinese and in English.
    pub const fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (RegulationStatus::Adopted, true) => "正式印发",
            (RegulationStatus::Adopted, false) => "adopted",
            (RegulationStatus::Interim, true) => "暂行",
            (RegulationStatus::Interim, false) => "interim",
            (RegulationStatus::Trial, true) => "试行",
            (RegulationStatus::Trial, false) => "trial",
            (RegulationStatus::Draft, true) => "征求意见稿",
            (RegulationStatus::Draft, false) => "consultation draft",
        }
    }
}

/// `[audit]`: how long the audit trail is kept (AUD-4, AUTH-6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditRules {
    /// Months the logs of an operator are kept after its authorization is terminated or revoked.
    pub log_retention_after_termination_months: Cited<u32>,
}

/// `[identity]`: how people sign in (SEC-4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdentityRules {
    /// Roles that must present a second factor (TOTP) at sign-in. Always contains
    /// [`IdentityRules::MANDATORY_SECOND_FACTOR`], each role once.
    pub second_factor_roles: Cited<Vec<Role>>,
    /// Whether people sign in through the region's unified identity authentication system.
    pub unified_identity_sso: Cited<bool>,
}

impl IdentityRules {
    /// Roles that govern or oversee the platform; no profile may let them sign in with a password
    /// alone.
    pub const MANDATORY_SECOND_FACTOR: &'static [Role] = &[
        Role::Admin,
        Role::Authority,
        Role::Operator,
        Role::Supervisor,
    ];
}

/// `[personnel]`: conditions on the people who touch data (PART-3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PersonnelRules {
    /// A person must have signed a confidentiality agreement before touching data.
    pub confidentiality_agreement_required: Cited<bool>,
    /// Longest gap, in days, between two security trainings of a person.
    pub training_interval_days: Cited<u32>,
    /// A person must be real-name verified before touching data.
    pub real_name_required: Cited<bool>,
}
