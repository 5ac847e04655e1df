//! A resource and its versions, and the approval lifecycle of each version (CAT-1, CAT-2).
//!
//! Version states: `Draft → Submitted → Approved | Refused{reasons}`; an approved version becomes
//! `Superseded` when a later version is approved. Editing creates a new `Draft` version; the approved
//! version stays the authorizable one until its successor is approved. At most one version is pending
//! (draft or submitted) at a time.
//!
//! Must never: change a version's content after it was created, approve without the state machine,
//! or let a refusal go without reasons.

use serde::Serialize;
use shuyu_core::{OrgId, PersonId, ResourceId, ResourceVersionId, Timestamp};
use shuyu_profile::Profile;

use crate::error::{CatalogError, NotAuthorizable};
use crate::model::{OpenCategory, ValidatedResource};

/// Where a version stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VersionState {
    Draft,
    Submitted {
        at: Timestamp,
        by: PersonId,
    },
    Approved {
        at: Timestamp,
        by: PersonId,
    },
    Refused {
        at: Timestamp,
        by: PersonId,
        reasons: Vec<String>,
    },
    /// Was approved; a later version (`by_number`) has been approved since.
    Superseded {
        at: Timestamp,
        by_number: u32,
    },
}

impl VersionState {
    pub const fn name(&self) -> &'static str {
        match self {
            VersionState::Draft => "draft",
            VersionState::Submitted { .. } => "submitted",
            VersionState::Approved { .. } => "approved",
            VersionState::Refused { .. } => "refused",
            VersionState::Superseded { .. } => "superseded",
        }
    }

    const fn is_pending(&self) -> bool {
        matches!(self, VersionState::Draft | VersionState::Submitted { .. })
    }
}

/// One version of a resource: its content never changes once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceVersion {
    id: ResourceVersionId,
    resource: ResourceId,
    number: u32,
    content: ValidatedResource,
    created_at: Timestamp,
    created_by: PersonId,
    state: VersionState,
}

impl ResourceVersion {
    pub fn id(&self) -> ResourceVersionId {
        self.id
    }
    pub fn resource(&self) -> ResourceId {
        self.resource
    }
    /// 1 for the first version, counting up.
    pub fn number(&self) -> u32 {
        self.number
    }
    pub fn content(&self) -> &ValidatedResource {
        &self.content
    }
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
    pub fn created_by(&self) -> PersonId {
        self.created_by
    }
    pub fn state(&self) -> &VersionState {
        &self.state
    }
}

/// A catalog resource: who provides it and all its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    id: ResourceId,
    provider: OrgId,
    created_at: Timestamp,
    versions: Vec<ResourceVersion>,
}

/// What people ask of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceCommand {
    /// A new version with new content (the first one is made by [`Resource::register`]).
    Edit {
        version: ResourceVersionId,
        content: ValidatedResource,
        by: PersonId,
    },
    /// The source department submits the pending draft to the authority.
    Submit { by: PersonId },
    /// The authority approves the submitted version; it enters the authorizable catalog.
    Approve { by: PersonId },
    /// The authority refuses the submitted version, with its reasons.
    Refuse { by: PersonId, reasons: Vec<String> },
}

impl ResourceCommand {
    pub const fn name(&self) -> &'static str {
        match self {
            ResourceCommand::Edit { .. } => "edit",
            ResourceCommand::Submit { .. } => "submit",
            ResourceCommand::Approve { .. } => "approve",
            ResourceCommand::Refuse { .. } => "refuse",
        }
    }
}

/// What happened to a resource; applied in order they rebuild it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ResourceEvent {
    Registered {
        resource: ResourceId,
        provider: OrgId,
        at: Timestamp,
    },
    VersionDrafted {
        version: ResourceVersionId,
        number: u32,
        content: ValidatedResource,
        by: PersonId,
        at: Timestamp,
    },
    VersionSubmitted {
        version: ResourceVersionId,
        by: PersonId,
        at: Timestamp,
    },
    VersionApproved {
        version: ResourceVersionId,
        by: PersonId,
        at: Timestamp,
    },
    VersionRefused {
        version: ResourceVersionId,
        by: PersonId,
        at: Timestamp,
        reasons: Vec<String>,
    },
    VersionSuperseded {
        version: ResourceVersionId,
        by_number: u32,
        at: Timestamp,
    },
}

impl Resource {
    /// A new resource with its first version as a draft. Returns the events that create it; apply
    /// them to [`Resource::empty`] (or use the returned resource).
    pub fn register(
        id: ResourceId,
        provider: OrgId,
        version: ResourceVersionId,
        content: ValidatedResource,
        by: PersonId,
        now: Timestamp,
    ) -> (Resource, Vec<ResourceEvent>) {
        let events = vec![
            ResourceEvent::Registered {
                resource: id,
                provider,
                at: now,
            },
            ResourceEvent::VersionDrafted {
                version,
                number: 1,
                content,
                by,
                at: now,
            },
        ];
        let resource = events
            .iter()
            .fold(Resource::empty(id, provider, now), Resource::apply);
        (resource, events)
    }

    /// A resource with no versions, the start for replaying its events.
    pub fn empty(id: ResourceId, provider: OrgId, created_at: Timestamp) -> Resource {
        Resource {
            id,
            provider,
            created_at,
            versions: Vec::new(),
        }
    }

    pub fn id(&self) -> ResourceId {
        self.id
    }
    pub fn provider(&self) -> OrgId {
        self.provider
    }
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
    /// Every version, oldest first: the history.
    pub fn versions(&self) -> &[ResourceVersion] {
        &self.versions
    }
    pub fn version(&self, id: ResourceVersionId) -> Option<&ResourceVersion> {
        self.versions.iter().find(|v| v.id == id)
    }
    pub fn latest(&self) -> Option<&ResourceVersion> {
        self.versions.last()
    }
    /// The version in the authorizable catalog: the approved one, if any.
    pub fn current(&self) -> Option<&ResourceVersion> {
        self.versions
            .iter()
            .find(|v| matches!(v.state, VersionState::Approved { .. }))
    }
    /// The draft or submitted version, if any.
    pub fn pending(&self) -> Option<&ResourceVersion> {
        self.versions.iter().find(|v| v.state.is_pending())
    }

    /// Decides a command. `profile` is consulted when approving: a version whose grades left the
    /// scale cannot be approved.
    pub fn handle(
        &self,
        cmd: ResourceCommand,
        now: Timestamp,
        profile: &Profile,
    ) -> Result<Vec<ResourceEvent>, CatalogError> {
        let command = cmd.name();
        let pending = self.pending();
        match (cmd, pending) {
            (
                ResourceCommand::Edit {
                    version,
                    content,
                    by,
                },
                None,
            ) => {
                if self.version(version).is_some() {
                    return Err(CatalogError::DuplicateVersionId {
                        version: version.to_string(),
                    });
                }
                let number = self
                    .versions
                    .last()
                    .map_or(1, |v| v.number.saturating_add(1));
                Ok(vec![ResourceEvent::VersionDrafted {
                    version,
                    number,
                    content,
                    by,
                    at: now,
                }])
            }
            (ResourceCommand::Edit { .. }, Some(p)) => Err(CatalogError::VersionPending {
                number: p.number,
                state: p.state.name(),
            }),
            (ResourceCommand::Submit { by }, Some(p)) if p.state == VersionState::Draft => {
                Ok(vec![ResourceEvent::VersionSubmitted {
                    version: p.id,
                    by,
                    at: now,
                }])
            }
            (ResourceCommand::Approve { by }, Some(p))
                if matches!(p.state, VersionState::Submitted { .. }) =>
            {
                check_grades_known(&p.content, profile)?;
                let mut events = vec![ResourceEvent::VersionApproved {
                    version: p.id,
                    by,
                    at: now,
                }];
                if let Some(old) = self.current() {
                    events.push(ResourceEvent::VersionSuperseded {
                        version: old.id,
                        by_number: p.number,
                        at: now,
                    });
                }
                Ok(events)
            }
            (ResourceCommand::Refuse { by, reasons }, Some(p))
                if matches!(p.state, VersionState::Submitted { .. }) =>
            {
                let reasons: Vec<String> = reasons
                    .iter()
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect();
                if reasons.is_empty() {
                    return Err(CatalogError::RefusalNeedsReasons);
                }
                Ok(vec![ResourceEvent::VersionRefused {
                    version: p.id,
                    by,
                    at: now,
                    reasons,
                }])
            }
            (_, p) => Err(CatalogError::IllegalTransition {
                machine: "resource version",
                from: p.map_or("no pending version", |v| v.state.name()),
                command,
            }),
        }
    }

    /// Applies an event that [`Resource::handle`] (or [`Resource::register`]) produced.
    #[must_use]
    pub fn apply(mut self, event: &ResourceEvent) -> Resource {
        let set = |versions: &mut Vec<ResourceVersion>, id: ResourceVersionId, state| {
            if let Some(v) = versions.iter_mut().find(|v| v.id == id) {
                v.state = state;
            }
        };
        match event {
            ResourceEvent::Registered {
                resource,
                provider,
                at,
            } => {
                self.id = *resource;
                self.provider = *provider;
                self.created_at = *at;
            }
            ResourceEvent::VersionDrafted {
                version,
                number,
                content,
                by,
                at,
            } => self.versions.push(ResourceVersion {
                id: *version,
                resource: self.id,
                number: *number,
                content: content.clone(),
                created_at: *at,
                created_by: *by,
                state: VersionState::Draft,
            }),
            ResourceEvent::VersionSubmitted { version, by, at } => set(
                &mut self.versions,
                *version,
                VersionState::Submitted { at: *at, by: *by },
            ),
            ResourceEvent::VersionApproved { version, by, at } => set(
                &mut self.versions,
                *version,
                VersionState::Approved { at: *at, by: *by },
            ),
            ResourceEvent::VersionRefused {
                version,
                by,
                at,
                reasons,
            } => set(
                &mut self.versions,
                *version,
                VersionState::Refused {
                    at: *at,
                    by: *by,
                    reasons: reasons.clone(),
                },
            ),
            ResourceEvent::VersionSuperseded {
                version,
                by_number,
                at,
            } => set(
                &mut self.versions,
                *version,
                VersionState::Superseded {
                    at: *at,
                    by_number: *by_number,
                },
            ),
        }
        self
    }
}

fn check_grades_known(content: &ValidatedResource, profile: &Profile) -> Result<(), CatalogError> {
    let catalog = profile.catalog();
    let grades = std::iter::once(content.metadata().grade())
        .chain(content.fields().iter().map(|f| f.grade()));
    for grade in grades {
        if catalog.grade(grade).is_none() {
            return Err(NotAuthorizable::UnknownGrade {
                grade: grade.to_owned(),
                scale: catalog.grade_codes(),
            }
            .into());
        }
    }
    Ok(())
}

/// Under what conditions an authorizable version may be authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuthorizationConditions {
    /// The resource's grade needs the authority's own review (e.g. important data).
    pub authority_review: bool,
    /// The resource is conditionally open (有条件开放): the grant must state its conditions.
    pub conditional: bool,
}

/// Whether `version` may be authorized to an operator, and on what conditions. Refused, with the
/// reason, for a version that is not the approved current one, a not-open resource, or a resource or
/// field graded with a grade the profile never authorizes (core data, state secrets).
pub fn authorizable(
    version: &ResourceVersion,
    profile: &Profile,
) -> Result<AuthorizationConditions, NotAuthorizable> {
    if !matches!(version.state, VersionState::Approved { .. }) {
        return Err(NotAuthorizable::NotApproved {
            number: version.number,
            state: version.state.name(),
        });
    }
    let metadata = version.content.metadata();
    if metadata.open_category() == OpenCategory::NotOpen {
        return Err(NotAuthorizable::NotOpenCannotBeAuthorized);
    }
    let catalog = profile.catalog();
    let unknown = |grade: &str| NotAuthorizable::UnknownGrade {
        grade: grade.to_owned(),
        scale: catalog.grade_codes(),
    };
    let grade = catalog
        .grade(metadata.grade())
        .ok_or_else(|| unknown(metadata.grade()))?;
    if !grade.authorizable {
        return Err(NotAuthorizable::GradeNeverAuthorizable {
            grade: grade.code.clone(),
            label: grade.zh.clone(),
        });
    }
    let mut authority_review = grade.authority_review;
    for field in version.content.fields() {
        let g = catalog
            .grade(field.grade())
            .ok_or_else(|| unknown(field.grade()))?;
        if !g.authorizable {
            return Err(NotAuthorizable::FieldGradeNeverAuthorizable {
                field: field.name().to_string(),
                grade: g.code.clone(),
                label: g.zh.clone(),
            });
        }
        authority_review |= g.authority_review;
    }
    Ok(AuthorizationConditions {
        authority_review,
        conditional: metadata.open_category() == OpenCategory::Conditional,
    })
}
