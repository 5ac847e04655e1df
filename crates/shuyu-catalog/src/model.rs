//! What a source department registers (CAT-1): a resource's metadata and its fields, first as a
//! [`ResourceDraft`] straight from a form or file, then, checked against the profile, as a
//! [`ValidatedResource`]. Only a `ValidatedResource` can become a version of a resource.
//!
//! Must never: accept a grade or a domain the profile does not list, a second privacy unit, or a
//! direct identifier that is not personal information.

use shuyu_quality::FormatKind;
use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shuyu_core::Name;
use shuyu_profile::{ColumnControl, Desensitization, FieldHandling, Profile};

use crate::error::{CatalogError, DraftProblem};

/// A column identifier: 1-63 characters of lower-case ASCII letters, digits and `_`, starting with a
/// letter, so it is a column name in every SQL dialect without quoting.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ColumnName(String);

impl ColumnName {
    pub const MAX: usize = 63;

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let ok = (1..=Self::MAX).contains(&text.len())
            && text.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a column name: use 1 to {} lower-case ASCII letters, digits or `_`, \
                 starting with a letter",
                text.chars().take(80).collect::<String>(),
                Self::MAX
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ColumnName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ColumnName> for String {
    fn from(value: ColumnName) -> Self {
        value.0
    }
}

impl fmt::Display for ColumnName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The type of a data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    Decimal,
    Date,
    Timestamp,
    Boolean,
}

impl FieldType {
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Boolean => "boolean",
        }
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            FieldType::String => "字符串",
            FieldType::Integer => "整数",
            FieldType::Decimal => "小数",
            FieldType::Date => "日期",
            FieldType::Timestamp => "时间戳",
            FieldType::Boolean => "布尔",
        }
    }
}

/// The open category of public data (FT2: 无条件开放、有条件开放、不予开放).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenCategory {
    Unconditional,
    Conditional,
    /// Never authorized.
    NotOpen,
}

impl OpenCategory {
    pub const fn as_str(self) -> &'static str {
        match self {
            OpenCategory::Unconditional => "unconditional",
            OpenCategory::Conditional => "conditional",
            OpenCategory::NotOpen => "not_open",
        }
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            OpenCategory::Unconditional => "无条件开放",
            OpenCategory::Conditional => "有条件开放",
            OpenCategory::NotOpen => "不予开放",
        }
    }
}

/// How often the source department updates the data (ZW8 更新频率).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateFrequency {
    RealTime,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
    Irregular,
    /// Loaded once, not updated.
    Once,
}

impl UpdateFrequency {
    pub const fn as_str(self) -> &'static str {
        match self {
            UpdateFrequency::RealTime => "real_time",
            UpdateFrequency::Daily => "daily",
            UpdateFrequency::Weekly => "weekly",
            UpdateFrequency::Monthly => "monthly",
            UpdateFrequency::Quarterly => "quarterly",
            UpdateFrequency::Yearly => "yearly",
            UpdateFrequency::Irregular => "irregular",
            UpdateFrequency::Once => "once",
        }
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            UpdateFrequency::RealTime => "实时",
            UpdateFrequency::Daily => "每日",
            UpdateFrequency::Weekly => "每周",
            UpdateFrequency::Monthly => "每月",
            UpdateFrequency::Quarterly => "每季度",
            UpdateFrequency::Yearly => "每年",
            UpdateFrequency::Irregular => "不定期",
            UpdateFrequency::Once => "一次性",
        }
    }
}

/// Time and spatial coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// First day the data covers; `None` where it reaches back without a known start.
    pub time_from: Option<NaiveDate>,
    /// Last day the data covers; `None` while it is still being added to.
    pub time_to: Option<NaiveDate>,
    /// The area, e.g. `全市` or a district.
    pub spatial: String,
}

impl Coverage {
    pub fn describe(&self) -> String {
        let from = self
            .time_from
            .map_or_else(|| "不详".to_owned(), |d| d.to_string());
        let to = self
            .time_to
            .map_or_else(|| "至今".to_owned(), |d| d.to_string());
        format!("{from} — {to}，{}", self.spatial)
    }
}

/// The flags of a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldFlags {
    pub personal_information: bool,
    pub direct_identifier: bool,
    pub quasi_identifier: bool,
    /// The field naming the person or enterprise a row is about; at most one per resource.
    pub privacy_unit: bool,
}

/// A data item as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDraft {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub description: String,
    /// A code of the profile's grading scale, e.g. `L3`.
    pub grade: String,
    #[serde(default)]
    pub flags: FieldFlags,
    /// The identifier format whose validity the quality profile measures (QLT-1): resident ID
    /// number, unified social credit code, mobile number or date. Only for text columns (and
    /// `date` for date columns).
    #[serde(default)]
    pub format: FormatKind,
}

/// A resource as entered by the source department, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDraft {
    pub name: String,
    pub summary: String,
    /// A code of the profile's domain list, e.g. `credit`.
    pub domain: String,
    pub update_frequency: UpdateFrequency,
    pub coverage: Coverage,
    /// The law or duty under which the department holds the data.
    pub legal_basis: String,
    pub open_category: OpenCategory,
    /// The resource's grade: at least the highest grade of its fields.
    pub grade: String,
    pub fields: Vec<FieldDraft>,
}

/// A data item checked against the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    name: ColumnName,
    #[serde(rename = "type")]
    field_type: FieldType,
    description: String,
    grade: String,
    flags: FieldFlags,
    format: FormatKind,
}

impl FieldSpec {
    /// The identifier format checked by the quality profile on import.
    pub fn format(&self) -> FormatKind {
        self.format
    }
    pub fn name(&self) -> &ColumnName {
        &self.name
    }
    pub fn field_type(&self) -> FieldType {
        self.field_type
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The grade code; it was in the profile's scale when the field was checked.
    pub fn grade(&self) -> &str {
        &self.grade
    }
    pub fn flags(&self) -> FieldFlags {
        self.flags
    }

    /// The field's default desensitization rule and its most permissive column control: the
    /// strictest control of its grade and each of its flags, and the rule of the most specific flag
    /// (direct identifier, privacy unit, quasi-identifier, personal information), else the grade's.
    /// A grade the profile no longer lists yields `null` and `denied`.
    pub fn default_handling(&self, profile: &Profile) -> FieldHandling {
        let catalog = profile.catalog();
        let Some(grade) = catalog.grade(&self.grade) else {
            return FieldHandling::new(Desensitization::Null, ColumnControl::Denied);
        };
        let flagged = [
            (
                self.flags.direct_identifier,
                &catalog.direct_identifier.value,
            ),
            (self.flags.privacy_unit, &catalog.privacy_unit.value),
            (self.flags.quasi_identifier, &catalog.quasi_identifier.value),
            (
                self.flags.personal_information,
                &catalog.personal_information.value,
            ),
        ];
        let mut control = grade.column_control;
        let mut rule = None;
        for (set, h) in flagged {
            if set {
                control = control.stricter(h.column_control);
                rule = rule.or(Some(h.desensitization));
            }
        }
        // A denied column carries nothing, whatever the grade's rule says.
        let rule = if control == ColumnControl::Denied {
            Desensitization::Null
        } else {
            rule.unwrap_or(grade.desensitization)
        };
        FieldHandling::new(rule, control)
    }
}

/// The checked metadata of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    name: Name,
    summary: String,
    domain: String,
    update_frequency: UpdateFrequency,
    coverage: Coverage,
    legal_basis: String,
    open_category: OpenCategory,
    grade: String,
}

impl Metadata {
    pub fn name(&self) -> &Name {
        &self.name
    }
    pub fn summary(&self) -> &str {
        &self.summary
    }
    /// The domain code; it was in the profile's list when checked.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    pub fn update_frequency(&self) -> UpdateFrequency {
        self.update_frequency
    }
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }
    pub fn legal_basis(&self) -> &str {
        &self.legal_basis
    }
    pub fn open_category(&self) -> OpenCategory {
        self.open_category
    }
    /// The grade code of the resource as a whole.
    pub fn grade(&self) -> &str {
        &self.grade
    }
}

/// A resource whose metadata and fields passed every check of [`ResourceDraft::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatedResource {
    metadata: Metadata,
    fields: Vec<FieldSpec>,
}

impl ValidatedResource {
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name.as_str() == name)
    }
    /// The privacy unit, if a field is one.
    pub fn privacy_unit(&self) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.flags.privacy_unit)
    }
    /// Back to the form it was entered in, e.g. to start an edit or to store it.
    pub fn to_draft(&self) -> ResourceDraft {
        let m = &self.metadata;
        ResourceDraft {
            name: m.name.as_str().to_owned(),
            summary: m.summary.clone(),
            domain: m.domain.clone(),
            update_frequency: m.update_frequency,
            coverage: m.coverage.clone(),
            legal_basis: m.legal_basis.clone(),
            open_category: m.open_category,
            grade: m.grade.clone(),
            fields: self
                .fields
                .iter()
                .map(|f| FieldDraft {
                    name: f.name.as_str().to_owned(),
                    field_type: f.field_type,
                    description: f.description.clone(),
                    grade: f.grade.clone(),
                    flags: f.flags,
                    format: f.format,
                })
                .collect(),
        }
    }
}

/// Longest summary, description or legal basis, in characters.
pub const MAX_TEXT: usize = 2000;

impl ResourceDraft {
    /// Checks the draft against the profile's scale and domain list. Every problem is reported, each
    /// with its path (`fields[3].grade`) and what to change.
    pub fn validate(&self, profile: &Profile) -> Result<ValidatedResource, CatalogError> {
        let catalog = profile.catalog();
        let mut problems = Vec::new();
        let mut add = |path: String, reason: String| problems.push(DraftProblem { path, reason });

        let name = Name::parse(&self.name);
        if let Err(e) = &name {
            add("name".into(), e.to_string());
        }
        for (path, value, what) in [
            ("summary", &self.summary, "a summary of the data (数据摘要)"),
            (
                "legal_basis",
                &self.legal_basis,
                "the law or duty under which the data is held",
            ),
            (
                "coverage.spatial",
                &self.coverage.spatial,
                "the area the data covers",
            ),
        ] {
            if let Some(reason) = text_problem(value, what) {
                add(path.into(), reason);
            }
        }
        if catalog.domain(self.domain.trim()).is_none() {
            add(
                "domain".into(),
                format!(
                    "unknown domain `{}`; the domains are {}",
                    self.domain.trim(),
                    catalog.domain_codes()
                ),
            );
        }
        let scale: Vec<&str> = catalog
            .grades
            .value
            .iter()
            .map(|g| g.code.as_str())
            .collect();
        let rank = |code: &str| scale.iter().position(|c| *c == code);
        let resource_rank = rank(self.grade.trim());
        if resource_rank.is_none() {
            add(
                "grade".into(),
                format!(
                    "unknown grade `{}`; the scale is {}",
                    self.grade.trim(),
                    catalog.grade_codes()
                ),
            );
        }
        if let (Some(from), Some(to)) = (self.coverage.time_from, self.coverage.time_to)
            && from > to
        {
            add(
                "coverage.time_to".into(),
                format!("the coverage ends on {to}, before it starts on {from}"),
            );
        }
        if self.fields.is_empty() {
            add(
                "fields".into(),
                "a resource lists at least one data item (信息项)".into(),
            );
        }

        let mut names = HashSet::new();
        let mut privacy_unit: Option<usize> = None;
        let mut fields = Vec::with_capacity(self.fields.len());
        for (i, f) in self.fields.iter().enumerate() {
            let at = |key: &str| format!("fields[{i}].{key}");
            let name = match ColumnName::parse(&f.name) {
                Ok(name) => {
                    if !names.insert(name.clone()) {
                        add(
                            at("name"),
                            format!("`{name}` is listed twice; each field name appears once"),
                        );
                    }
                    Some(name)
                }
                Err(reason) => {
                    add(at("name"), reason);
                    None
                }
            };
            if let Some(reason) = text_problem(&f.description, "what the field holds") {
                add(at("description"), reason);
            }
            let grade = f.grade.trim();
            match (rank(grade), resource_rank) {
                (None, _) => add(
                    at("grade"),
                    format!(
                        "unknown grade `{grade}`; the scale is {}",
                        catalog.grade_codes()
                    ),
                ),
                (Some(field_rank), Some(res)) if field_rank > res => add(
                    at("grade"),
                    format!(
                        "`{grade}` is above the resource's grade `{}`; raise the resource's \
                         grade to at least `{grade}`",
                        self.grade.trim()
                    ),
                ),
                _ => {}
            }
            if f.flags.direct_identifier && !f.flags.personal_information {
                add(
                    at("flags.personal_information"),
                    "a direct identifier is personal information; set personal_information too"
                        .into(),
                );
            }
            if f.flags.privacy_unit {
                if let Some(first) = privacy_unit {
                    add(
                        at("flags.privacy_unit"),
                        format!(
                            "fields[{first}] is already the privacy unit; a resource has at most \
                             one"
                        ),
                    );
                } else {
                    privacy_unit = Some(i);
                }
            }
            let format_fits = match f.format {
                FormatKind::None => true,
                FormatKind::Date => matches!(f.field_type, FieldType::String | FieldType::Date),
                _ => f.field_type == FieldType::String,
            };
            if !format_fits {
                add(
                    at("format"),
                    "identifier formats apply to string columns (and `date` to date columns)"
                        .into(),
                );
            }
            if let Some(name) = name {
                fields.push(FieldSpec {
                    name,
                    field_type: f.field_type,
                    description: f.description.trim().to_owned(),
                    grade: grade.to_owned(),
                    flags: f.flags,
                    format: f.format,
                });
            }
        }

        match name {
            Ok(name) if problems.is_empty() => Ok(ValidatedResource {
                metadata: Metadata {
                    name,
                    summary: self.summary.trim().to_owned(),
                    domain: self.domain.trim().to_owned(),
                    update_frequency: self.update_frequency,
                    coverage: Coverage {
                        spatial: self.coverage.spatial.trim().to_owned(),
                        ..self.coverage.clone()
                    },
                    legal_basis: self.legal_basis.trim().to_owned(),
                    open_category: self.open_category,
                    grade: self.grade.trim().to_owned(),
                },
                fields,
            }),
            _ => Err(CatalogError::InvalidDraft(problems)),
        }
    }
}

fn text_problem(value: &str, what: &str) -> Option<String> {
    let len = value.trim().chars().count();
    if len == 0 {
        Some(format!("is empty; write {what}"))
    } else if len > MAX_TEXT {
        Some(format!(
            "is {len} characters long; at most {MAX_TEXT} are allowed"
        ))
    } else if value.chars().any(|c| c.is_control() && c != '\n') {
        Some("contains control characters".into())
    } else {
        None
    }
}
