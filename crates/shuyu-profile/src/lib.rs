#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
//! Regulation profiles: each city's rules as data, every value with the article it rests on
//! (REQUIREMENTS.md, POL-1).
//!
//! A profile is one TOML file, `profiles/NAME.toml`; the five shipped with shuyu are compiled in.
//! This crate parses and checks such text, and answers the questions the rest of shuyu asks of it:
//! is the regulation in force on a given day, does a role need a second factor, what does
//! `shuyu profile show NAME` print. Code asks `profile.audit().log_retention_after_termination_months`,
//! never which city it runs for.
//!
//! Must never:
//! - do I/O, read the environment or the clock: callers hand in text and dates;
//! - hold a rule that differs between cities in Rust: it belongs in the TOML, cited;
//! - name a city in logic: the only city names in Rust are the file list in `builtin.rs`
//!   (test `no_city_name_in_rust_code`);
//! - hand out a `Profile` that has not passed every check: the only ways to get one are
//!   [`Profile::from_toml`] and [`Profile::builtin`].

mod builtin;
mod catalog;
mod cited;
mod error;
mod rules;
mod sandbox;
mod sections;
mod validate;

use chrono::NaiveDate;
use serde::Deserialize;
use shuyu_core::Role;

pub use catalog::{
    CatalogRules, ColumnControl, Desensitization, DomainEntry, FieldHandling, Grade,
};
pub use cited::Cited;
pub use error::ProfileError;
pub use rules::RuleLine;
pub use sandbox::{DpContribution, PrivacyBudget, QueryLimits, SandboxRules, UsageMethod};
pub use sections::{AuditRules, IdentityRules, PersonnelRules, Regulation, RegulationStatus};

/// A checked regulation profile. Fields are read through getters, so a profile stays as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    key: String,
    regulation: Regulation,
    audit: AuditRules,
    identity: IdentityRules,
    personnel: PersonnelRules,
    catalog: CatalogRules,
    sandbox: SandboxRules,
}

/// The whole file. A new section is a field here and in `Profile`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    regulation: Regulation,
    audit: AuditRules,
    identity: IdentityRules,
    personnel: PersonnelRules,
    catalog: CatalogRules,
    sandbox: SandboxRules,
}

/// Whether a regulation is in force on a day. Both ends are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// The day is before the first day in force.
    NotYetEffective { from: NaiveDate },
    /// In force; `last_day` is the last valid day, `None` where the regulation sets no end.
    InForce { last_day: Option<NaiveDate> },
    /// The day is after `last_day`, the last valid day.
    Expired { last_day: NaiveDate },
}

impl Validity {
    pub const fn is_in_force(self) -> bool {
        matches!(self, Validity::InForce { .. })
    }

    /// A sentence for the start-up report and the console (POL-2).
    pub fn describe(self, chinese: bool) -> String {
        match (self, chinese) {
            (Validity::NotYetEffective { from }, true) => format!("尚未施行，自 {from} 起施行"),
            (Validity::NotYetEffective { from }, false) => {
                format!("not yet in force; in force from {from}")
            }
            (Validity::InForce { last_day: Some(d) }, true) => format!("施行中，有效期至 {d}"),
            (Validity::InForce { last_day: Some(d) }, false) => {
                format!("in force; the last valid day is {d}")
            }
            (Validity::InForce { last_day: None }, true) => "施行中，未规定有效期".to_owned(),
            (Validity::InForce { last_day: None }, false) => {
                "in force; no end date is set".to_owned()
            }
            (Validity::Expired { last_day }, true) => format!("已失效，有效期至 {last_day}"),
            (Validity::Expired { last_day }, false) => {
                format!("expired; the last valid day was {last_day}")
            }
        }
    }
}

impl Profile {
    /// Names of the profiles shipped with shuyu, for [`Profile::builtin`].
    pub const BUILTIN: &'static [&'static str] = builtin::NAMES;

    /// The profile a deployment (and `shuyu demo`) runs unless configured otherwise: the second
    /// shipped regulation (中卫), as the foundation issue asks.
    #[allow(clippy::indexing_slicing)] // constant index into a constant list: checked at compile time
    pub const DEFAULT: &'static str = builtin::NAMES[1];

    /// Parses and checks a profile. `key` names it (the file name without `.toml`) and appears in
    /// every error. Unknown keys, missing keys, wrong types and impossible values are refused; the
    /// error names the dotted key and says what to change.
    pub fn from_toml(key: &str, text: &str) -> Result<Profile, ProfileError> {
        check_name(key)?;
        let deserializer =
            toml::Deserializer::parse(text).map_err(|e| error::syntax(key, text, &e))?;
        let file: ProfileFile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            error::malformed(key, text, path, e.inner())
        })?;
        let profile = Profile {
            key: key.to_owned(),
            regulation: file.regulation,
            audit: file.audit,
            identity: file.identity,
            personnel: file.personnel,
            catalog: file.catalog,
            sandbox: file.sandbox,
        };
        validate::check(&profile).map_err(|(path, reason)| ProfileError::Invalid {
            profile: key.to_owned(),
            key: path,
            reason,
        })?;
        Ok(profile)
    }

    /// One of the profiles shipped with shuyu ([`Profile::BUILTIN`]).
    pub fn builtin(name: &str) -> Result<Profile, ProfileError> {
        Profile::from_toml(name, Profile::builtin_source(name)?)
    }

    /// The TOML text of a shipped profile, e.g. to start a new one from.
    pub fn builtin_source(name: &str) -> Result<&'static str, ProfileError> {
        builtin::source(name).ok_or_else(|| ProfileError::UnknownBuiltin {
            name: name.chars().take(64).collect(),
        })
    }

    /// The profile's name, e.g. the file name without `.toml`.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn regulation(&self) -> &Regulation {
        &self.regulation
    }

    pub fn audit(&self) -> &AuditRules {
        &self.audit
    }

    pub fn identity(&self) -> &IdentityRules {
        &self.identity
    }

    pub fn personnel(&self) -> &PersonnelRules {
        &self.personnel
    }

    pub fn catalog(&self) -> &CatalogRules {
        &self.catalog
    }

    /// The secure domain's defaults and bounds for grants and queries.
    pub fn sandbox(&self) -> &SandboxRules {
        &self.sandbox
    }

    /// Whether the regulation is in force on `date`. The regulation is valid on its `expires` day
    /// and expired from the next day on.
    pub fn validity_on(&self, date: NaiveDate) -> Validity {
        let from = self.regulation.effective.value;
        let last_day = self.regulation.expires.value;
        match last_day {
            _ if date < from => Validity::NotYetEffective { from },
            Some(last_day) if date > last_day => Validity::Expired { last_day },
            _ => Validity::InForce { last_day },
        }
    }

    /// Every cited value, in file order, with labels in Chinese and English and its article.
    pub fn rules(&self) -> Vec<RuleLine> {
        rules::lines(self)
    }

    /// Whether a person with `role` must present a second factor (TOTP) at sign-in.
    pub fn requires_second_factor(&self, role: Role) -> bool {
        self.identity.second_factor_roles.value.contains(&role)
    }
}

fn check_name(name: &str) -> Result<(), ProfileError> {
    let fits = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(ProfileError::BadName {
            name: name.chars().take(64).collect(),
        })
    }
}
