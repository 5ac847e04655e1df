//! Wire types of the catalog: what the catalog routes accept and return, converted by hand from and
//! to `shuyu-catalog`'s types. The public catalog's types carry metadata only: no draft, no review
//! reason, no person.

use serde::{Deserialize, Serialize};
use shuyu_app::{PublicEntry, ResourceView};
use shuyu_catalog::{
    Change, Coverage, FieldDraft, FieldFlags, FieldSpec, IssueState, IssueStatus, IssueTarget,
    QualityCounts, QualityIssue, RegistrationRecord, RegistrationState, Resource, ResourceDraft,
    ResourceVersion, ValidatedResource, VersionState,
};
use utoipa::{IntoParams, ToSchema};

use crate::problem::{ApiError, Problem};

/// Input of the wrong kind, found while converting from the wire: the field and what to change.
/// Small, so it travels in `Result`s cheaply; it becomes an `invalid-input` problem.
#[derive(Debug)]
pub struct BadInput {
    pub field: String,
    pub detail: String,
}

impl BadInput {
    pub fn new(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<BadInput> for ApiError {
    fn from(b: BadInput) -> Self {
        ApiError(Problem::invalid(&b.field, b.detail))
    }
}

/// A resource as the source department enters it (CAT-1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceDraftIn {
    pub name: String,
    /// 数据摘要.
    pub summary: String,
    /// A domain code of the profile, e.g. `credit`.
    pub domain: String,
    /// real_time, daily, weekly, monthly, quarterly, yearly, irregular or once.
    pub update_frequency: String,
    pub coverage: CoverageWire,
    pub legal_basis: String,
    /// unconditional, conditional or not_open.
    pub open_category: String,
    /// A grade code of the profile's scale, e.g. `L2`; at least each field's grade.
    pub grade: String,
    pub fields: Vec<FieldIn>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageWire {
    /// First day covered (YYYY-MM-DD), if known.
    #[serde(default)]
    pub time_from: Option<String>,
    /// Last day covered (YYYY-MM-DD); absent while data is still added.
    #[serde(default)]
    pub time_to: Option<String>,
    /// The area, e.g. 全市.
    pub spatial: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldIn {
    /// Column name: lower-case ASCII letters, digits and `_`.
    pub name: String,
    /// string, integer, decimal, date, timestamp or boolean.
    #[serde(rename = "type")]
    pub field_type: String,
    pub description: String,
    pub grade: String,
    #[serde(default)]
    pub flags: FlagsWire,
    /// Identifier format whose validity the quality profile measures: none (default),
    /// resident_id, credit_code, mobile or date.
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FlagsWire {
    pub personal_information: bool,
    pub direct_identifier: bool,
    pub quasi_identifier: bool,
    pub privacy_unit: bool,
}

impl From<FieldFlags> for FlagsWire {
    fn from(f: FieldFlags) -> Self {
        Self {
            personal_information: f.personal_information,
            direct_identifier: f.direct_identifier,
            quasi_identifier: f.quasi_identifier,
            privacy_unit: f.privacy_unit,
        }
    }
}

/// A code of one of the catalog's enumerations, parsed through its own serde names.
fn code<T: serde::de::DeserializeOwned>(
    value: &str,
    field: &str,
    choices: &str,
) -> Result<T, BadInput> {
    serde_json::from_value(serde_json::Value::String(value.trim().to_owned())).map_err(|_| {
        BadInput::new(
            field,
            format!(
                "`{}` is not a valid value; use one of: {choices}",
                value.chars().take(40).collect::<String>()
            ),
        )
    })
}

fn date(value: Option<&str>, field: &str) -> Result<Option<chrono::NaiveDate>, BadInput> {
    value
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|_| BadInput::new(field, "write the date as YYYY-MM-DD"))
        })
        .transpose()
}

impl ResourceDraftIn {
    /// The domain's draft; values that are not even of the right kind are refused here, naming the
    /// field (`draft.fields[2].type`); everything else is checked by the catalog.
    pub fn into_draft(self) -> Result<ResourceDraft, BadInput> {
        let fields = self
            .fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                Ok(FieldDraft {
                    name: f.name,
                    field_type: code(
                        &f.field_type,
                        &format!("draft.fields[{i}].type"),
                        "string, integer, decimal, date, timestamp, boolean",
                    )?,
                    description: f.description,
                    grade: f.grade,
                    flags: FieldFlags {
                        personal_information: f.flags.personal_information,
                        direct_identifier: f.flags.direct_identifier,
                        quasi_identifier: f.flags.quasi_identifier,
                        privacy_unit: f.flags.privacy_unit,
                    },
                    format: match f.format.as_deref() {
                        None | Some("") | Some("none") => shuyu_catalog::FormatKind::None,
                        Some(text) => code(
                            text,
                            &format!("draft.fields[{i}].format"),
                            "none, resident_id, credit_code, mobile, date",
                        )?,
                    },
                })
            })
            .collect::<Result<Vec<_>, BadInput>>()?;
        Ok(ResourceDraft {
            name: self.name,
            summary: self.summary,
            domain: self.domain,
            update_frequency: code(
                &self.update_frequency,
                "draft.update_frequency",
                "real_time, daily, weekly, monthly, quarterly, yearly, irregular, once",
            )?,
            coverage: Coverage {
                time_from: date(
                    self.coverage.time_from.as_deref(),
                    "draft.coverage.time_from",
                )?,
                time_to: date(self.coverage.time_to.as_deref(), "draft.coverage.time_to")?,
                spatial: self.coverage.spatial,
            },
            legal_basis: self.legal_basis,
            open_category: code(
                &self.open_category,
                "draft.open_category",
                "unconditional, conditional, not_open",
            )?,
            grade: self.grade,
            fields,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResourceRequest {
    /// The source department providing the resource: the caller's own organisation if left out
    /// (source department staff); required for the data service agency.
    #[serde(default)]
    pub provider_org_id: Option<String>,
    pub draft: ResourceDraftIn,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditResourceRequest {
    pub draft: ResourceDraftIn,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseRequest {
    /// Why the version is refused; at least one.
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOut {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub description: String,
    pub grade: String,
    pub flags: FlagsWire,
}

impl From<&FieldSpec> for FieldOut {
    fn from(f: &FieldSpec) -> Self {
        Self {
            name: f.name().to_string(),
            field_type: f.field_type().as_str().to_owned(),
            description: f.description().to_owned(),
            grade: f.grade().to_owned(),
            flags: f.flags().into(),
        }
    }
}

/// A resource's metadata and data items.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentOut {
    pub name: String,
    pub summary: String,
    pub domain: String,
    pub update_frequency: String,
    pub coverage: CoverageWire,
    pub legal_basis: String,
    pub open_category: String,
    pub grade: String,
    pub fields: Vec<FieldOut>,
}

impl From<&ValidatedResource> for ContentOut {
    fn from(c: &ValidatedResource) -> Self {
        let m = c.metadata();
        Self {
            name: m.name().to_string(),
            summary: m.summary().to_owned(),
            domain: m.domain().to_owned(),
            update_frequency: m.update_frequency().as_str().to_owned(),
            coverage: CoverageWire {
                time_from: m.coverage().time_from.map(|d| d.to_string()),
                time_to: m.coverage().time_to.map(|d| d.to_string()),
                spatial: m.coverage().spatial.clone(),
            },
            legal_basis: m.legal_basis().to_owned(),
            open_category: m.open_category().as_str().to_owned(),
            grade: m.grade().to_owned(),
            fields: c.fields().iter().map(FieldOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionOut {
    pub id: String,
    pub number: u32,
    /// draft, submitted, approved, refused or superseded.
    pub state: String,
    /// When the state was reached (absent for a draft).
    pub state_at: Option<String>,
    pub state_by: Option<String>,
    /// The authority's reasons, for a refused version.
    pub reasons: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub content: ContentOut,
}

impl From<&ResourceVersion> for VersionOut {
    fn from(v: &ResourceVersion) -> Self {
        let (at, by, reasons) = match v.state() {
            VersionState::Draft => (None, None, Vec::new()),
            VersionState::Submitted { at, by } | VersionState::Approved { at, by } => {
                (Some(at.to_string()), Some(by.to_string()), Vec::new())
            }
            VersionState::Refused { at, by, reasons } => {
                (Some(at.to_string()), Some(by.to_string()), reasons.clone())
            }
            VersionState::Superseded { at, .. } => (Some(at.to_string()), None, Vec::new()),
        };
        Self {
            id: v.id().to_string(),
            number: v.number(),
            state: v.state().name().to_owned(),
            state_at: at,
            state_by: by,
            reasons,
            created_at: v.created_at().to_string(),
            created_by: v.created_by().to_string(),
            content: v.content().into(),
        }
    }
}

/// Whether the current version may be authorized, and why not.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizableOut {
    pub authorizable: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    pub authority_review: bool,
    pub conditional: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceOut {
    pub id: String,
    pub provider_org_id: String,
    pub provider_name: String,
    pub created_at: String,
    /// The number of the approved version, if any.
    pub current_version: Option<u32>,
    /// Absent while no version is approved.
    pub authorizable: Option<AuthorizableOut>,
    /// Oldest first.
    pub versions: Vec<VersionOut>,
}

impl ResourceOut {
    pub fn of(r: &Resource, provider_name: String) -> Self {
        Self {
            id: r.id().to_string(),
            provider_org_id: r.provider().to_string(),
            provider_name,
            created_at: r.created_at().to_string(),
            current_version: r.current().map(ResourceVersion::number),
            authorizable: None,
            versions: r.versions().iter().map(VersionOut::from).collect(),
        }
    }
}

impl From<&ResourceView> for ResourceOut {
    fn from(v: &ResourceView) -> Self {
        Self {
            authorizable: v.authorizable.as_ref().map(|a| match a {
                Ok(c) => AuthorizableOut {
                    authorizable: true,
                    reason: None,
                    authority_review: c.authority_review,
                    conditional: c.conditional,
                },
                Err(why) => AuthorizableOut {
                    authorizable: false,
                    reason: Some(why.to_string()),
                    authority_review: false,
                    conditional: false,
                },
            }),
            ..ResourceOut::of(&v.resource, v.provider_name.clone())
        }
    }
}

/// A resource in the managed list: its latest version's name and state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceSummaryOut {
    pub id: String,
    pub provider_org_id: String,
    pub name: String,
    pub latest_version: u32,
    pub latest_state: String,
    pub current_version: Option<u32>,
}

impl From<&Resource> for ResourceSummaryOut {
    fn from(r: &Resource) -> Self {
        let latest = r.latest();
        Self {
            id: r.id().to_string(),
            provider_org_id: r.provider().to_string(),
            name: latest
                .map(|v| v.content().metadata().name().to_string())
                .unwrap_or_default(),
            latest_version: latest.map_or(0, ResourceVersion::number),
            latest_state: latest.map_or("", |v| v.state().name()).to_owned(),
            current_version: r.current().map(ResourceVersion::number),
        }
    }
}

/// Paging of the managed list.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceListQuery {
    /// At most this many resources (1 to 500, default 100).
    pub limit: Option<u32>,
    /// Skip this many of the visible resources first (default 0).
    pub offset: Option<u64>,
}

/// One page of the managed list, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourcePage {
    pub resources: Vec<ResourceSummaryOut>,
    /// How many resources the caller may see in all.
    pub total: u64,
    /// The `offset` of the next page, absent on the last.
    pub next_offset: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// Version number to compare from.
    pub from: u32,
    /// Version number to compare to.
    pub to: u32,
}

/// One difference between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    /// metadata, field_added, field_removed or field_changed.
    pub change: String,
    /// The changed field, for field changes.
    pub field: Option<String>,
    /// The changed attribute (`grade`, `coverage.spatial`, ...).
    pub attribute: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl From<&Change> for ChangeOut {
    fn from(c: &Change) -> Self {
        let s = |v: &str| Some(v.to_owned());
        match c {
            Change::Metadata {
                attribute,
                old,
                new,
            } => Self {
                change: "metadata".into(),
                field: None,
                attribute: s(attribute),
                old: s(old),
                new: s(new),
            },
            Change::FieldAdded { field } => Self {
                change: "field_added".into(),
                field: s(field),
                attribute: None,
                old: None,
                new: None,
            },
            Change::FieldRemoved { field } => Self {
                change: "field_removed".into(),
                field: s(field),
                attribute: None,
                old: None,
                new: None,
            },
            Change::FieldChanged {
                field,
                attribute,
                old,
                new,
            } => Self {
                change: "field_changed".into(),
                field: s(field),
                attribute: s(attribute),
                old: s(old),
                new: s(new),
            },
        }
    }
}

/// Public catalog search: every parameter narrows the list.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogQueryParams {
    /// A part of the name.
    pub name: Option<String>,
    /// A domain code.
    pub domain: Option<String>,
    /// The providing organisation's id.
    pub provider: Option<String>,
    /// unconditional, conditional or not_open.
    pub open_category: Option<String>,
}

impl CatalogQueryParams {
    pub fn to_query(&self) -> Result<shuyu_app::CatalogQuery, BadInput> {
        Ok(shuyu_app::CatalogQuery {
            name: self.name.clone(),
            domain: self.domain.clone(),
            provider: self
                .provider
                .as_deref()
                .map(|p| {
                    p.trim()
                        .parse()
                        .map_err(|_| BadInput::new("provider", "not an organisation id"))
                })
                .transpose()?,
            open_category: self
                .open_category
                .as_deref()
                .map(|c| code(c, "open_category", "unconditional, conditional, not_open"))
                .transpose()?,
        })
    }
}

/// An entry of the public catalog: an approved version's metadata (no drafts, reviews or people).
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntryOut {
    pub id: String,
    pub version: u32,
    pub provider_org_id: String,
    pub provider_name: String,
    pub approved_at: Option<String>,
    pub name: String,
    pub summary: String,
    pub domain: String,
    pub update_frequency: String,
    pub coverage: CoverageWire,
    pub open_category: String,
    pub grade: String,
    /// The data items (absent in the list, present in the detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldOut>>,
}

impl CatalogEntryOut {
    pub fn of(e: &PublicEntry, with_fields: bool) -> Self {
        let c = ContentOut::from(&e.content);
        Self {
            id: e.resource.to_string(),
            version: e.number,
            provider_org_id: e.provider.to_string(),
            provider_name: e.provider_name.clone(),
            approved_at: e.approved_at.map(|t| t.to_string()),
            name: c.name,
            summary: c.summary,
            domain: c.domain,
            update_frequency: c.update_frequency,
            coverage: c.coverage,
            open_category: c.open_category,
            grade: c.grade,
            fields: with_fields.then_some(c.fields),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentWire {
    pub title: String,
    pub reference: String,
}

/// The details of a registration record (NAT-1). The agent is the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationDetailsRequest {
    /// 经办人.
    pub agent_name: String,
    pub agent_phone: String,
    pub storage_location: String,
    pub storage_method: String,
    #[serde(default)]
    pub documents: Vec<DocumentWire>,
    /// 承诺书.
    pub commitment_letter: DocumentWire,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonsRequest {
    pub reasons: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    /// The end of the public notice: a date or RFC 3339 time, in the future.
    pub until: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The result code issued by the national platform (登记结果查询码).
    pub result_code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    pub summary: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationOut {
    pub resource_id: String,
    pub version_id: String,
    /// draft, submitted, under_review, public_notice, registered, changed or cancelled.
    pub state: String,
    pub state_zh: String,
    pub notice_until: Option<String>,
    pub result_code: Option<String>,
    pub changes: u32,
    pub cancel_reason: Option<String>,
    pub agent_name: String,
    pub agent_phone: String,
    pub storage_location: String,
    pub storage_method: String,
    pub documents: Vec<DocumentWire>,
    pub commitment_letter: DocumentWire,
}

impl From<&RegistrationRecord> for RegistrationOut {
    fn from(r: &RegistrationRecord) -> Self {
        let d = r.details();
        let doc = |d: &shuyu_catalog::Document| DocumentWire {
            title: d.title.clone(),
            reference: d.reference.clone(),
        };
        let (until, changes, reason) = match r.state() {
            RegistrationState::PublicNotice { until } => (Some(until.to_string()), 0, None),
            RegistrationState::Changed { changes, .. } => (None, *changes, None),
            RegistrationState::Cancelled { reason } => (None, 0, Some(reason.clone())),
            _ => (None, 0, None),
        };
        Self {
            resource_id: r.resource().to_string(),
            version_id: r.version().to_string(),
            state: r.state().name().to_owned(),
            state_zh: r.state().label_zh().to_owned(),
            notice_until: until,
            result_code: r.result_code().map(|c| c.as_str().to_owned()),
            changes,
            cancel_reason: reason,
            agent_name: d.agent.name.clone(),
            agent_phone: d.agent.phone.clone(),
            storage_location: d.storage_location.clone(),
            storage_method: d.storage_method.clone(),
            documents: d.documents.iter().map(doc).collect(),
            commitment_letter: doc(&d.commitment_letter),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQualityIssueRequest {
    /// The field the issue is about; absent for the resource as a whole.
    #[serde(default)]
    pub field: Option<String>,
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answer: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QualityIssueOut {
    pub id: String,
    pub resource_id: String,
    /// The field, or absent for the resource as a whole.
    pub field: Option<String>,
    pub raised_by_org_id: String,
    pub text: String,
    pub raised_at: String,
    /// The provider must answer by then (profile `catalog.quality_answer_days`).
    pub due: String,
    /// open, overdue, answered or answered_late.
    pub status: String,
    pub overdue: bool,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
}

impl QualityIssueOut {
    pub fn of(i: &QualityIssue, status: IssueStatus) -> Self {
        let (answer, at) = match i.state() {
            IssueState::Open => (None, None),
            IssueState::Answered { at, answer, .. } => (Some(answer.clone()), Some(at.to_string())),
        };
        let status_text = match status {
            IssueStatus::Open => "open",
            IssueStatus::Overdue => "overdue",
            IssueStatus::Answered { late: false } => "answered",
            IssueStatus::Answered { late: true } => "answered_late",
        };
        Self {
            id: i.id().to_string(),
            resource_id: i.resource().to_string(),
            field: match i.target() {
                IssueTarget::Resource => None,
                IssueTarget::Field { name } => Some(name.to_string()),
            },
            raised_by_org_id: i.raised_by().to_string(),
            text: i.text().to_owned(),
            raised_at: i.raised_at().to_string(),
            due: i.due().to_string(),
            status: status_text.to_owned(),
            overdue: matches!(
                status,
                IssueStatus::Overdue | IssueStatus::Answered { late: true }
            ),
            answer,
            answered_at: at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QualityCountsOut {
    pub raised: u32,
    pub open: u32,
    pub overdue: u32,
    pub answered_on_time: u32,
    pub answered_late: u32,
}

impl From<QualityCounts> for QualityCountsOut {
    fn from(c: QualityCounts) -> Self {
        Self {
            raised: c.raised,
            open: c.open,
            overdue: c.overdue,
            answered_on_time: c.answered_on_time,
            answered_late: c.answered_late,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QualityIssuesOut {
    pub issues: Vec<QualityIssueOut>,
    pub counts: QualityCountsOut,
}
