//! The catalog: resources and their versions, registration records, data quality issues.
//!
//! A version is stored as its checked draft (`ValidatedResource::to_draft`, JSON text) with the
//! columns the catalog is listed and searched by; it comes back as a [`StoredResource`] holding the
//! drafts, which the app re-validates against the current profile (`shuyu-catalog` is the only judge
//! of what a valid resource is). This module never decides access and never interprets states: it
//! writes what the domain's `apply` produced.

use std::collections::HashMap;

use shuyu_catalog::{
    IssueState, IssueTarget, OpenCategory, QualityEvent, QualityIssue, QualityIssueId,
    RegistrationDetails, RegistrationRecord, RegistrationState, Resource, ResourceDraft,
    ResourceId, ResourceVersionId, ResultCode, VersionState,
};
use shuyu_core::{OrgId, PersonId, Timestamp};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{flag_value, int, opt_parsed, opt_text, opt_time, parsed, text, time};
use crate::{Store, StoreError, Tx};

/// A resource as stored: its versions hold drafts still to be re-validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResource {
    pub id: ResourceId,
    pub provider: OrgId,
    pub created_at: Timestamp,
    /// Oldest first.
    pub versions: Vec<StoredVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: ResourceVersionId,
    pub number: u32,
    pub draft: ResourceDraft,
    pub state: VersionState,
    pub created_at: Timestamp,
    pub created_by: PersonId,
}

/// One approved version in the public catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntryRow {
    pub resource: ResourceId,
    pub version: ResourceVersionId,
    pub number: u32,
    pub provider: OrgId,
    pub draft: ResourceDraft,
    pub approved_at: Option<Timestamp>,
}

/// Filters of the public catalog; all given filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogSearch {
    /// A substring of the name.
    pub name: Option<String>,
    pub domain: Option<String>,
    pub provider: Option<OrgId>,
    pub open_category: Option<OpenCategory>,
}

/// A registration record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRegistration {
    pub resource: ResourceId,
    pub version: ResourceVersionId,
    pub details: RegistrationDetails,
    pub state: RegistrationState,
    pub updated_at: Timestamp,
}

const VERSION_COLUMNS: &str = "id, resource_id, number, draft, name, provider_org, domain, open_category, \
     grade, state, approved, state_at, state_by, reasons, superseded_by, created_at, created_by";

const ISSUE_COLUMNS: &str = "id, resource_id, field, raised_by_org, text, raised_at, due_at, answered_at, \
     answered_by_org, answer";

const REGISTRATION_COLUMNS: &str = "resource_id, version_id, details, state, notice_until, result_code, \
     changes, cancel_reason, updated_at";

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {e}"))
}

fn json_text<T: serde::Serialize>(value: &T, column: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(column, e))
}

fn from_json<T: serde::de::DeserializeOwned>(raw: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| corrupt(column, e))
}

fn number(row: &AnyRow, column: &str) -> Result<u32, StoreError> {
    u32::try_from(int(row, column)?).map_err(|e| corrupt(column, e))
}

fn version_from_row(row: &AnyRow) -> Result<StoredVersion, StoreError> {
    let at = || opt_time(row, "state_at")?.ok_or_else(|| corrupt("state_at", "missing"));
    let by =
        || opt_parsed::<PersonId>(row, "state_by")?.ok_or_else(|| corrupt("state_by", "missing"));
    let state = match text(row, "state")?.as_str() {
        "draft" => VersionState::Draft,
        "submitted" => VersionState::Submitted {
            at: at()?,
            by: by()?,
        },
        "approved" => VersionState::Approved {
            at: at()?,
            by: by()?,
        },
        "refused" => VersionState::Refused {
            at: at()?,
            by: by()?,
            reasons: from_json(
                &opt_text(row, "reasons")?.unwrap_or_else(|| "[]".into()),
                "reasons",
            )?,
        },
        "superseded" => VersionState::Superseded {
            at: at()?,
            by_number: u32::try_from(
                row_opt_int(row, "superseded_by")?
                    .ok_or_else(|| corrupt("superseded_by", "missing"))?,
            )
            .map_err(|e| corrupt("superseded_by", e))?,
        },
        other => return Err(corrupt("state", format!("unknown state `{other}`"))),
    };
    Ok(StoredVersion {
        id: parsed(row, "id")?,
        number: number(row, "number")?,
        draft: from_json(&text(row, "draft")?, "draft")?,
        state,
        created_at: time(row, "created_at")?,
        created_by: parsed(row, "created_by")?,
    })
}

fn row_opt_int(row: &AnyRow, column: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::Row::try_get::<Option<i64>, _>(row, column)?)
}

/// The columns of a version's state: (state_at, state_by, reasons, superseded_by).
type StateColumns = (Option<i64>, Option<String>, Option<String>, Option<i64>);

fn state_columns(state: &VersionState) -> Result<StateColumns, StoreError> {
    Ok(match state {
        VersionState::Draft => (None, None, None, None),
        VersionState::Submitted { at, by } | VersionState::Approved { at, by } => {
            (Some(at.unix_micros()), Some(by.to_string()), None, None)
        }
        VersionState::Refused { at, by, reasons } => (
            Some(at.unix_micros()),
            Some(by.to_string()),
            Some(json_text(reasons, "reasons")?),
            None,
        ),
        VersionState::Superseded { at, by_number } => (
            Some(at.unix_micros()),
            None,
            None,
            Some(i64::from(*by_number)),
        ),
    })
}

fn issue_from_row(row: &AnyRow) -> Result<QualityIssue, StoreError> {
    let target = match opt_text(row, "field")? {
        None => IssueTarget::Resource,
        Some(name) => IssueTarget::Field {
            name: shuyu_catalog::ColumnName::parse(&name).map_err(|e| corrupt("field", e))?,
        },
    };
    let id: QualityIssueId = parsed(row, "id")?;
    let raised = QualityEvent::Raised {
        issue: id,
        resource: parsed(row, "resource_id")?,
        target,
        by: parsed(row, "raised_by_org")?,
        text: text(row, "text")?,
        at: time(row, "raised_at")?,
        due: time(row, "due_at")?,
    };
    let issue = QualityIssue::restore(&raised).ok_or_else(|| corrupt("id", "not raised"))?;
    Ok(match opt_time(row, "answered_at")? {
        None => issue,
        Some(at) => issue.apply(&QualityEvent::Answered {
            issue: id,
            by: opt_parsed(row, "answered_by_org")?
                .ok_or_else(|| corrupt("answered_by_org", "missing"))?,
            answer: opt_text(row, "answer")?.unwrap_or_default(),
            at,
        }),
    })
}

fn registration_from_row(row: &AnyRow) -> Result<StoredRegistration, StoreError> {
    let code = || -> Result<ResultCode, StoreError> {
        let raw = opt_text(row, "result_code")?.ok_or_else(|| corrupt("result_code", "missing"))?;
        ResultCode::parse(&raw).map_err(|e| corrupt("result_code", e))
    };
    let state = match text(row, "state")?.as_str() {
        "draft" => RegistrationState::Draft,
        "submitted" => RegistrationState::Submitted,
        "under_review" => RegistrationState::UnderReview,
        "public_notice" => RegistrationState::PublicNotice {
            until: opt_time(row, "notice_until")?
                .ok_or_else(|| corrupt("notice_until", "missing"))?,
        },
        "registered" => RegistrationState::Registered {
            result_code: code()?,
        },
        "changed" => RegistrationState::Changed {
            result_code: code()?,
            changes: number(row, "changes")?,
        },
        "cancelled" => RegistrationState::Cancelled {
            reason: opt_text(row, "cancel_reason")?.unwrap_or_default(),
        },
        other => return Err(corrupt("state", format!("unknown state `{other}`"))),
    };
    Ok(StoredRegistration {
        resource: parsed(row, "resource_id")?,
        version: parsed(row, "version_id")?,
        details: from_json(&text(row, "details")?, "details")?,
        state,
        updated_at: time(row, "updated_at")?,
    })
}

impl Tx {
    /// Stores a resource as its `apply` left it: new versions are inserted, the states of known
    /// ones are updated.
    pub async fn save_resource(&mut self, resource: &Resource) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resources (id, provider_org, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(resource.id().to_string())
        .bind(resource.provider().to_string())
        .bind(resource.created_at().unix_micros())
        .execute(self.conn())
        .await?;
        for v in resource.versions() {
            let m = v.content().metadata();
            let (state_at, state_by, reasons, superseded_by) = state_columns(v.state())?;
            let approved = matches!(v.state(), VersionState::Approved { .. });
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO resource_versions ({VERSION_COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, approved = excluded.approved, \
                 state_at = excluded.state_at, state_by = excluded.state_by, \
                 reasons = excluded.reasons, superseded_by = excluded.superseded_by"
            )))
            .bind(v.id().to_string())
            .bind(resource.id().to_string())
            .bind(i64::from(v.number()))
            .bind(json_text(&v.content().to_draft(), "draft")?)
            .bind(m.name().as_str().to_owned())
            .bind(resource.provider().to_string())
            .bind(m.domain().to_owned())
            .bind(m.open_category().as_str())
            .bind(m.grade().to_owned())
            .bind(v.state().name())
            .bind(flag_value(approved))
            .bind(state_at)
            .bind(state_by)
            .bind(reasons)
            .bind(superseded_by)
            .bind(v.created_at().unix_micros())
            .bind(v.created_by().to_string())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Stores a registration record as its `apply` left it (one record per resource).
    pub async fn save_registration(
        &mut self,
        record: &RegistrationRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (until, code, changes, reason) = match record.state() {
            RegistrationState::PublicNotice { until } => (Some(until.unix_micros()), None, 0, None),
            RegistrationState::Registered { result_code } => {
                (None, Some(result_code.as_str().to_owned()), 0, None)
            }
            RegistrationState::Changed {
                result_code,
                changes,
            } => (
                None,
                Some(result_code.as_str().to_owned()),
                i64::from(*changes),
                None,
            ),
            RegistrationState::Cancelled { reason } => (None, None, 0, Some(reason.clone())),
            _ => (None, None, 0, None),
        };
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO registration_records ({REGISTRATION_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (resource_id) DO UPDATE SET version_id = excluded.version_id, \
             details = excluded.details, state = excluded.state, notice_until = excluded.notice_until, \
             result_code = excluded.result_code, changes = excluded.changes, \
             cancel_reason = excluded.cancel_reason, updated_at = excluded.updated_at"
        )))
        .bind(record.resource().to_string())
        .bind(record.version().to_string())
        .bind(json_text(record.details(), "details")?)
        .bind(record.state().name())
        .bind(until)
        .bind(code)
        .bind(changes)
        .bind(reason)
        .bind(now.unix_micros())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores a quality issue as its `apply` left it.
    pub async fn save_quality_issue(&mut self, issue: &QualityIssue) -> Result<(), StoreError> {
        let field = match issue.target() {
            IssueTarget::Resource => None,
            IssueTarget::Field { name } => Some(name.as_str().to_owned()),
        };
        let (at, by, answer) = match issue.state() {
            IssueState::Open => (None, None, None),
            IssueState::Answered { at, by, answer } => (
                Some(at.unix_micros()),
                Some(by.to_string()),
                Some(answer.clone()),
            ),
        };
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO quality_issues ({ISSUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (id) DO UPDATE SET answered_at = excluded.answered_at, \
             answered_by_org = excluded.answered_by_org, answer = excluded.answer"
        )))
        .bind(issue.id().to_string())
        .bind(issue.resource().to_string())
        .bind(field)
        .bind(issue.raised_by().to_string())
        .bind(issue.text().to_owned())
        .bind(issue.raised_at().unix_micros())
        .bind(issue.due().unix_micros())
        .bind(at)
        .bind(by)
        .bind(answer)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    pub async fn resource(&self, id: ResourceId) -> Result<Option<StoredResource>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT id, provider_org, created_at FROM resources WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM resource_versions WHERE resource_id = $1 ORDER BY number"
        )))
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(Some(StoredResource {
            id: parsed(&row, "id")?,
            provider: parsed(&row, "provider_org")?,
            created_at: time(&row, "created_at")?,
            versions: rows
                .iter()
                .map(version_from_row)
                .collect::<Result<_, _>>()?,
        }))
    }

    /// Every resource, newest first (the managed side filters them by the policy): two queries,
    /// whatever the number of resources.
    pub async fn resources(&self) -> Result<Vec<StoredResource>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, provider_org, created_at FROM resources ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        let versions = sqlx::query(AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM resource_versions ORDER BY resource_id, number"
        )))
        .fetch_all(self.pool())
        .await?;
        let mut by_resource: HashMap<ResourceId, Vec<StoredVersion>> = HashMap::new();
        for row in &versions {
            by_resource
                .entry(parsed(row, "resource_id")?)
                .or_default()
                .push(version_from_row(row)?);
        }
        rows.iter()
            .map(|row| {
                let id: ResourceId = parsed(row, "id")?;
                Ok(StoredResource {
                    id,
                    provider: parsed(row, "provider_org")?,
                    created_at: time(row, "created_at")?,
                    versions: by_resource.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The approved versions matching `search`, by name.
    pub async fn catalog_entries(
        &self,
        search: &CatalogSearch,
    ) -> Result<Vec<CatalogEntryRow>, StoreError> {
        let mut sql = String::from(
            "SELECT resource_id, id, number, provider_org, draft, state_at FROM resource_versions \
             WHERE approved = 1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut add = |clause: &str, value: String| {
            binds.push(value);
            let escape = if clause.ends_with("LIKE") {
                " ESCAPE '\\'"
            } else {
                ""
            };
            sql.push_str(&format!(" AND {clause} ${}{escape}", binds.len()));
        };
        if let Some(name) = search
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let escaped = name
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            add("name LIKE", format!("%{escaped}%"));
        }
        if let Some(domain) = &search.domain {
            add("domain =", domain.trim().to_owned());
        }
        if let Some(provider) = search.provider {
            add("provider_org =", provider.to_string());
        }
        if let Some(category) = search.open_category {
            add("open_category =", category.as_str().to_owned());
        }
        sql.push_str(" ORDER BY name, resource_id");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(CatalogEntryRow {
                    resource: parsed(row, "resource_id")?,
                    version: parsed(row, "id")?,
                    number: number(row, "number")?,
                    provider: parsed(row, "provider_org")?,
                    draft: from_json(&text(row, "draft")?, "draft")?,
                    approved_at: opt_time(row, "state_at")?,
                })
            })
            .collect()
    }

    pub async fn registration(
        &self,
        resource: ResourceId,
    ) -> Result<Option<StoredRegistration>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM registration_records WHERE resource_id = $1"
        )))
        .bind(resource.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(registration_from_row).transpose()
    }

    pub async fn quality_issue(
        &self,
        id: QualityIssueId,
    ) -> Result<Option<QualityIssue>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ISSUE_COLUMNS} FROM quality_issues WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(issue_from_row).transpose()
    }

    /// The quality issues of a resource, oldest first.
    pub async fn quality_issues(
        &self,
        resource: ResourceId,
    ) -> Result<Vec<QualityIssue>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ISSUE_COLUMNS} FROM quality_issues WHERE resource_id = $1 ORDER BY raised_at, id"
        )))
        .bind(resource.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(issue_from_row).collect()
    }
}
