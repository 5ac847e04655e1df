//! Data quality issues (QLT-1): an operator or merchant raises one on a resource or a field; the
//! source department answers it by the profile's deadline. Whether an issue is overdue is derived from
//! `now`, never stored.
//!
//! Must never: compute a due date anywhere but [`due_date`].

use serde::Serialize;
use shuyu_core::{OrgId, QualityIssueId, ResourceId, Timestamp};
use shuyu_profile::Profile;

use crate::error::CatalogError;
use crate::model::{ColumnName, MAX_TEXT};
use crate::resource::ResourceVersion;

const SECONDS_PER_DAY: i64 = 86_400;

/// When a quality issue raised at `raised_at` must be answered: `raised_at` plus the profile's
/// `catalog.quality_answer_days` **calendar** days.
///
/// This is the one place the deadline is computed. When `shuyu-calendar` lands, it replaces this
/// body with working days (调休 included) where a profile's article says the period is in working days.
pub fn due_date(raised_at: Timestamp, profile: &Profile) -> Timestamp {
    let days = i64::from(profile.catalog().quality_answer_days.value);
    raised_at.plus_seconds(days.saturating_mul(SECONDS_PER_DAY))
}

/// What an issue is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum IssueTarget {
    Resource,
    Field { name: ColumnName },
}

/// The stored state of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IssueState {
    Open,
    Answered {
        at: Timestamp,
        by: OrgId,
        answer: String,
    },
}

/// How an issue stands at a moment: the state together with the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    Open,
    /// Not answered and past its due date: visible to the authority.
    Overdue,
    Answered {
        late: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QualityCommand {
    /// The source department answers (what it fixed, or why nothing is wrong).
    Answer { by: OrgId, answer: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum QualityEvent {
    Raised {
        issue: QualityIssueId,
        resource: ResourceId,
        target: IssueTarget,
        by: OrgId,
        text: String,
        at: Timestamp,
        due: Timestamp,
    },
    Answered {
        issue: QualityIssueId,
        by: OrgId,
        answer: String,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualityIssue {
    id: QualityIssueId,
    resource: ResourceId,
    target: IssueTarget,
    raised_by: OrgId,
    text: String,
    raised_at: Timestamp,
    due: Timestamp,
    state: IssueState,
}

impl QualityIssue {
    /// Raises an issue on `version`'s resource, or on one of its fields (`field`), due by
    /// [`due_date`].
    pub fn raise(
        id: QualityIssueId,
        version: &ResourceVersion,
        field: Option<&str>,
        by: OrgId,
        text: &str,
        now: Timestamp,
        profile: &Profile,
    ) -> Result<(QualityIssue, QualityEvent), CatalogError> {
        let text = checked_text(text, "the description of the quality issue")?;
        let target = match field {
            None => IssueTarget::Resource,
            Some(name) => {
                let spec = version.content().field(name.trim()).ok_or_else(|| {
                    let names: Vec<&str> = version
                        .content()
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    CatalogError::UnknownField {
                        field: name.chars().take(80).collect(),
                        fields: names.join(", "),
                    }
                })?;
                IssueTarget::Field {
                    name: spec.name().clone(),
                }
            }
        };
        let event = QualityEvent::Raised {
            issue: id,
            resource: version.resource(),
            target: target.clone(),
            by,
            text: text.clone(),
            at: now,
            due: due_date(now, profile),
        };
        let issue = QualityIssue {
            id,
            resource: version.resource(),
            target,
            raised_by: by,
            text,
            raised_at: now,
            due: due_date(now, profile),
            state: IssueState::Open,
        };
        Ok((issue, event))
    }

    /// Rebuilds an issue from its `Raised` event, e.g. as stored; its answer, if any, is then
    /// `apply`-ed. The due date is the one computed when it was raised, even if the profile's
    /// deadline changed since. `None` for any other event.
    pub fn restore(raised: &QualityEvent) -> Option<QualityIssue> {
        match raised {
            QualityEvent::Raised {
                issue,
                resource,
                target,
                by,
                text,
                at,
                due,
            } => Some(QualityIssue {
                id: *issue,
                resource: *resource,
                target: target.clone(),
                raised_by: *by,
                text: text.clone(),
                raised_at: *at,
                due: *due,
                state: IssueState::Open,
            }),
            QualityEvent::Answered { .. } => None,
        }
    }

    pub fn id(&self) -> QualityIssueId {
        self.id
    }
    pub fn resource(&self) -> ResourceId {
        self.resource
    }
    pub fn target(&self) -> &IssueTarget {
        &self.target
    }
    pub fn raised_by(&self) -> OrgId {
        self.raised_by
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn raised_at(&self) -> Timestamp {
        self.raised_at
    }
    pub fn due(&self) -> Timestamp {
        self.due
    }
    pub fn state(&self) -> &IssueState {
        &self.state
    }

    /// How the issue stands at `now`.
    pub fn status(&self, now: Timestamp) -> IssueStatus {
        match &self.state {
            IssueState::Answered { at, .. } => IssueStatus::Answered {
                late: *at > self.due,
            },
            IssueState::Open if now > self.due => IssueStatus::Overdue,
            IssueState::Open => IssueStatus::Open,
        }
    }

    pub fn handle(
        &self,
        cmd: QualityCommand,
        now: Timestamp,
        _profile: &Profile,
    ) -> Result<Vec<QualityEvent>, CatalogError> {
        match (&self.state, cmd) {
            (IssueState::Open, QualityCommand::Answer { by, answer }) => {
                let answer = checked_text(&answer, "the answer")?;
                Ok(vec![QualityEvent::Answered {
                    issue: self.id,
                    by,
                    answer,
                    at: now,
                }])
            }
            (IssueState::Answered { .. }, QualityCommand::Answer { .. }) => {
                Err(CatalogError::IllegalTransition {
                    machine: "quality issue",
                    from: "answered",
                    command: "answer",
                })
            }
        }
    }

    #[must_use]
    pub fn apply(mut self, event: &QualityEvent) -> QualityIssue {
        if let QualityEvent::Answered { by, answer, at, .. } = event {
            self.state = IssueState::Answered {
                at: *at,
                by: *by,
                answer: answer.clone(),
            };
        }
        self
    }
}

fn checked_text(text: &str, what: &'static str) -> Result<String, CatalogError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CatalogError::EmptyText { what });
    }
    Ok(text.chars().take(MAX_TEXT).collect())
}

/// Counts for evaluations (FT26, ZW31): how a source department handles quality issues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QualityCounts {
    pub raised: u32,
    pub open: u32,
    pub overdue: u32,
    pub answered_on_time: u32,
    pub answered_late: u32,
}

/// Counts `issues` as they stand at `now`.
pub fn counts<'a>(
    issues: impl IntoIterator<Item = &'a QualityIssue>,
    now: Timestamp,
) -> QualityCounts {
    let mut c = QualityCounts::default();
    for issue in issues {
        c.raised = c.raised.saturating_add(1);
        let slot = match issue.status(now) {
            IssueStatus::Open => &mut c.open,
            IssueStatus::Overdue => &mut c.overdue,
            IssueStatus::Answered { late: false } => &mut c.answered_on_time,
            IssueStatus::Answered { late: true } => &mut c.answered_late,
        };
        *slot = slot.saturating_add(1);
    }
    c
}
