//! `[catalog]`: how resources are classified and graded, how their fields are protected by default,
//! how fast quality issues are answered and whether resources are registered (CAT-1, CAT-5, SBX-5,
//! QLT-1, NAT-1).
//!
//! The scale, the domains and the per-flag defaults are data: a city with a different grading guide
//! changes its TOML, never Rust. What *is* fixed here are the floors that national law sets for every
//! city (checked in `validate.rs`): a direct identifier is never visible and always desensitized,
//! personal information is at most `aggregate_only`, a grade that can never be authorized is `denied`.
//!
//! Must never: hold a city's scale or list in Rust, or accept a key it does not know.

use std::fmt;

use serde::Deserialize;

use crate::cited::Cited;

/// `[catalog]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CatalogRules {
    /// Whether resources carry a registration record for the national platform (NAT-1).
    pub registration_required: Cited<bool>,
    /// Whether the city's data service agency (公共数据服务机构) compiles the catalog and supplies data
    /// for the source departments: registers, edits and submits their resources, manages their
    /// registration records and imports their datasets. Only a regulation that gives such an agency
    /// that task (QQ5) sets it; elsewhere source departments do it themselves and the agency may not.
    pub agency_supplies: Cited<bool>,
    /// Calendar days a source department has to answer a quality issue (QLT-1). Where a text speaks
    /// of working days its article says so; the working-day calendar replaces the computation later.
    pub quality_answer_days: Cited<u32>,
    /// The grading scale, from the least to the most sensitive grade; codes are unique.
    pub grades: Cited<Vec<Grade>>,
    /// The domains a resource is classified in (CAT-5); codes are unique.
    pub domains: Cited<Vec<DomainEntry>>,
    /// Defaults for a field holding personal information.
    pub personal_information: Cited<FieldHandling>,
    /// Defaults for a direct identifier (name, ID number, phone...).
    pub direct_identifier: Cited<FieldHandling>,
    /// Defaults for a quasi-identifier (birth date, postcode, sex...).
    pub quasi_identifier: Cited<FieldHandling>,
    /// Defaults for the privacy unit: the field naming the person or enterprise a row is about.
    pub privacy_unit: Cited<FieldHandling>,
}

impl CatalogRules {
    /// The grade with `code`, if the scale has it.
    pub fn grade(&self, code: &str) -> Option<&Grade> {
        self.grades.value.iter().find(|g| g.code == code)
    }

    /// The domain with `code`, if the list has it.
    pub fn domain(&self, code: &str) -> Option<&DomainEntry> {
        self.domains.value.iter().find(|d| d.code == code)
    }

    /// The scale's codes in order, e.g. `L1, L2, L3, L4, important, core, state_secret`, for messages.
    pub fn grade_codes(&self) -> String {
        let codes: Vec<&str> = self.grades.value.iter().map(|g| g.code.as_str()).collect();
        codes.join(", ")
    }

    /// The list's domain codes, for messages.
    pub fn domain_codes(&self) -> String {
        let codes: Vec<&str> = self.domains.value.iter().map(|d| d.code.as_str()).collect();
        codes.join(", ")
    }
}

/// One level of the grading scale.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Grade {
    /// Short code stored with each field, e.g. `L3` or `core`: ASCII letters, digits and `_`.
    pub code: String,
    pub zh: String,
    pub en: String,
    /// Whether data of this grade may ever be authorized; `false` for core data and state secrets.
    pub authorizable: bool,
    /// Whether authorizing data of this grade needs the authority's own review.
    pub authority_review: bool,
    /// Default desensitization of a field of this grade.
    pub desensitization: Desensitization,
    /// Most permissive column control a field of this grade may get in the secure domain.
    pub column_control: ColumnControl,
}

/// One classification domain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DomainEntry {
    /// Short code, e.g. `credit`: lower-case ASCII letters, digits and `_`.
    pub code: String,
    pub zh: String,
    pub en: String,
    /// Whether the regulation names the domain as a priority for authorized operation.
    pub priority: bool,
}

/// The default protection of a kind of field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FieldHandling {
    pub desensitization: Desensitization,
    pub column_control: ColumnControl,
}

impl FieldHandling {
    pub const fn new(desensitization: Desensitization, column_control: ColumnControl) -> Self {
        Self {
            desensitization,
            column_control,
        }
    }
}

/// A desensitization rule (SBX-5). The secure domain implements them; the catalog only chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Desensitization {
    /// Replace part of the value with `*` (e.g. `110***********1234`).
    Mask,
    /// Keyed hash (HMAC-SM3): equal inputs stay equal, so the column still joins.
    Hash,
    /// Replace by a coarser value (age band, district instead of address).
    Generalize,
    /// Keep a prefix only.
    Truncate,
    /// Shift dates by a per-unit secret offset.
    DateShift,
    /// Drop values in small groups.
    Suppress,
    /// Replace every value by NULL.
    Null,
    /// Leave the value as it is.
    None,
}

impl Desensitization {
    pub const ALL: &'static [Desensitization] = &[
        Desensitization::Mask,
        Desensitization::Hash,
        Desensitization::Generalize,
        Desensitization::Truncate,
        Desensitization::DateShift,
        Desensitization::Suppress,
        Desensitization::Null,
        Desensitization::None,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Desensitization::Mask => "mask",
            Desensitization::Hash => "hash",
            Desensitization::Generalize => "generalize",
            Desensitization::Truncate => "truncate",
            Desensitization::DateShift => "date_shift",
            Desensitization::Suppress => "suppress",
            Desensitization::Null => "null",
            Desensitization::None => "none",
        }
    }

    pub const fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (Desensitization::Mask, true) => "掩码",
            (Desensitization::Hash, true) => "密钥哈希",
            (Desensitization::Generalize, true) => "泛化",
            (Desensitization::Truncate, true) => "截断",
            (Desensitization::DateShift, true) => "日期偏移",
            (Desensitization::Suppress, true) => "抑制",
            (Desensitization::Null, true) => "置空",
            (Desensitization::None, true) => "不脱敏",
            (other, false) => other.as_str(),
        }
    }
}

impl fmt::Display for Desensitization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the secure domain lets a query do with a column, from the most to the least permissive.
/// The derived order follows that list: `Visible < AggregateOnly < … < Denied`, so the *larger* of
/// two controls is the more restrictive one (see [`ColumnControl::stricter`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ColumnControl {
    /// Values may be output row by row (after desensitization).
    Visible,
    /// Values reach results only through aggregates (as an argument or a group key of large groups).
    AggregateOnly,
    /// Only a grouping key of aggregates over other columns.
    GroupBy,
    /// Only in join conditions; never output.
    JoinKey,
    /// Only in filter comparisons; never output.
    CompareOnly,
    /// Not usable at all.
    Denied,
}

impl ColumnControl {
    pub const ALL: &'static [ColumnControl] = &[
        ColumnControl::Visible,
        ColumnControl::AggregateOnly,
        ColumnControl::GroupBy,
        ColumnControl::JoinKey,
        ColumnControl::CompareOnly,
        ColumnControl::Denied,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ColumnControl::Visible => "visible",
            ColumnControl::AggregateOnly => "aggregate_only",
            ColumnControl::GroupBy => "group_by",
            ColumnControl::JoinKey => "join_key",
            ColumnControl::CompareOnly => "compare_only",
            ColumnControl::Denied => "denied",
        }
    }

    pub const fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (ColumnControl::Visible, true) => "可见",
            (ColumnControl::AggregateOnly, true) => "仅聚合",
            (ColumnControl::GroupBy, true) => "仅分组",
            (ColumnControl::JoinKey, true) => "仅关联",
            (ColumnControl::CompareOnly, true) => "仅比对",
            (ColumnControl::Denied, true) => "禁止使用",
            (other, false) => other.as_str(),
        }
    }

    /// The more restrictive of two controls.
    #[must_use]
    pub fn stricter(self, other: ColumnControl) -> ColumnControl {
        self.max(other)
    }

    /// Whether `self` allows more than `limit`.
    pub fn more_permissive_than(self, limit: ColumnControl) -> bool {
        self < limit
    }
}

impl fmt::Display for ColumnControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The floors national law sets for every profile: no profile may be more permissive.
pub(crate) mod floors {
    use super::ColumnControl;

    /// Personal information (个人信息保护法 art. 51: 去标识化) is at most aggregated.
    pub const PERSONAL_INFORMATION: ColumnControl = ColumnControl::AggregateOnly;
    /// A direct identifier is never visible; it may at most be aggregated.
    pub const DIRECT_IDENTIFIER: ColumnControl = ColumnControl::AggregateOnly;
    /// A grade that can never be authorized is denied.
    pub const NEVER_AUTHORIZABLE: ColumnControl = ColumnControl::Denied;
}
