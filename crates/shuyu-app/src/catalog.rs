//! The catalog's use cases (CAT-1, CAT-2, CAT-5, QLT-1, NAT-1): registering, editing, submitting,
//! approving and refusing resources; the public catalog; national registration records and their
//! package; data quality issues.
//!
//! Every change follows the app's four steps: the policy decides, the stored state is loaded and
//! rebuilt through `shuyu-catalog` (drafts re-validated against the current profile), the domain's
//! `handle` decides and `apply` moves the state, and the new state is saved with its audit event in
//! one `Tx`. Catalog metadata is not personal data: reading it is not recorded as a data access
//! (refused reads are, as always).

use shuyu_audit::Outcome;
use shuyu_catalog::{Agent, Document};
use shuyu_catalog::{
    AuthorizationConditions, CatalogError, Change, IssueStatus, NotAuthorizable, OpenCategory,
    QualityCommand, QualityCounts, QualityIssue, QualityIssueId, RegistrationCommand,
    RegistrationDetails, RegistrationRecord, RegistrationState, Resource as CatalogResource,
    ResourceCommand, ResourceDraft, ResourceId, ResourceVersionId, ValidatedResource,
};
use shuyu_core::{OrgId, OrgType, PersonId, Timestamp};
use shuyu_policy::{Action, Actor, Principal, Resource};
use shuyu_store::{CatalogSearch, StoredRegistration, StoredResource};

use crate::{App, AppError, Ctx, Object};

/// A resource to register. `provider` is the source department it belongs to: the actor's own
/// organisation when left out (source department staff), required for the data service agency.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub provider: Option<OrgId>,
    pub draft: ResourceDraft,
}

/// A resource with whether its current version may be authorized, and why not.
#[derive(Debug, Clone)]
pub struct ResourceView {
    pub resource: CatalogResource,
    pub provider_name: String,
    /// `None` while no version is approved.
    pub authorizable: Option<Result<AuthorizationConditions, NotAuthorizable>>,
}

/// An approved resource as the public catalog shows it: metadata and data items, nothing else.
#[derive(Debug, Clone)]
pub struct PublicEntry {
    pub resource: ResourceId,
    pub version: ResourceVersionId,
    pub number: u32,
    pub provider: OrgId,
    pub provider_name: String,
    pub content: ValidatedResource,
    pub approved_at: Option<Timestamp>,
}

/// Filters of the public catalog.
#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    pub name: Option<String>,
    pub domain: Option<String>,
    pub provider: Option<OrgId>,
    pub open_category: Option<OpenCategory>,
}

/// The quality issues of a resource the actor may see, each with its status now, and their counts.
#[derive(Debug, Clone)]
pub struct QualityIssues {
    pub issues: Vec<(QualityIssue, IssueStatus)>,
    pub counts: QualityCounts,
}

/// The details of a registration record as entered; the agent is the person entering them.
#[derive(Debug, Clone)]
pub struct RegistrationInput {
    pub agent_name: String,
    pub agent_phone: String,
    pub storage_location: String,
    pub storage_method: String,
    pub documents: Vec<Document>,
    pub commitment_letter: Document,
}

impl RegistrationInput {
    fn details(self, agent: PersonId) -> RegistrationDetails {
        RegistrationDetails {
            agent: Agent {
                person: agent,
                name: self.agent_name,
                phone: self.agent_phone,
            },
            storage_location: self.storage_location,
            storage_method: self.storage_method,
            documents: self.documents,
            commitment_letter: self.commitment_letter,
        }
    }
}

/// A move of a registration record, as asked for (the app adds who and when).
#[derive(Debug, Clone)]
pub enum RegistrationStep {
    UpdateDetails(RegistrationInput),
    Submit,
    StartReview,
    Return { reasons: Vec<String> },
    PublishNotice { until: Timestamp },
    Register { result_code: String },
    RecordChange { summary: String },
    Cancel { reason: String },
}

impl RegistrationStep {
    /// The moves only the authority records.
    fn is_authority_step(&self) -> bool {
        matches!(
            self,
            RegistrationStep::StartReview
                | RegistrationStep::Return { .. }
                | RegistrationStep::PublishNotice { .. }
                | RegistrationStep::Register { .. }
        )
    }
}

/// A catalog refusal as a use-case error: bad input names the field, wrong moves are conflicts.
pub(crate) fn catalog_error(err: CatalogError) -> AppError {
    match err {
        CatalogError::InvalidDraft(problems) => AppError::InvalidFields(
            problems
                .into_iter()
                .map(|p| (format!("draft.{}", p.path), p.reason))
                .collect(),
        ),
        CatalogError::RefusalNeedsReasons | CatalogError::ReturnNeedsReasons => {
            AppError::invalid("reasons", err)
        }
        CatalogError::UnknownField { .. } => AppError::invalid("field", err),
        CatalogError::EmptyText { .. } => AppError::invalid("body", err),
        CatalogError::InvalidResultCode(_) => AppError::invalid("result_code", err),
        CatalogError::UnknownVersion { .. } => AppError::invalid("version", err),
        CatalogError::IllegalTransition { .. }
        | CatalogError::VersionPending { .. }
        | CatalogError::DuplicateVersionId { .. }
        | CatalogError::NotAuthorizable(_)
        | CatalogError::RegistrationNotRequired => AppError::Conflict(err.to_string()),
    }
}

pub(crate) fn person_actor(ctx: &Ctx) -> Option<&Actor> {
    match &ctx.principal {
        Principal::Person(actor) => Some(actor),
        Principal::Anonymous | Principal::System => None,
    }
}

pub(crate) fn entry(resource: &CatalogResource) -> Resource {
    Resource::CatalogEntry {
        provider: resource.provider(),
        public: resource.current().is_some(),
    }
}

const RESOURCE: &str = "resource";
const NOT_FOUND: AppError = AppError::NotFound { kind: "resource" };

impl App {
    /// Registers a resource with its first version as a draft (CAT-1).
    pub async fn register_resource(
        &self,
        ctx: &Ctx,
        input: NewResource,
    ) -> Result<CatalogResource, AppError> {
        let Some(actor) = person_actor(ctx) else {
            self.authorize(
                ctx,
                Action::ResourceRegister,
                &Resource::Platform,
                Object::new(RESOURCE, "new"),
            )
            .await?;
            return Err(AppError::Unauthenticated);
        };
        let provider = input.provider.unwrap_or(actor.org);
        self.authorize(
            ctx,
            Action::ResourceRegister,
            &Resource::Org { id: provider },
            Object::new(RESOURCE, "new"),
        )
        .await?;
        let org =
            self.store.org(provider).await?.ok_or_else(|| {
                AppError::invalid("provider_org_id", "no organisation with that id")
            })?;
        if org.org_type != OrgType::SourceDepartment {
            return Err(AppError::invalid(
                "provider_org_id",
                "a resource is provided by a source department (数源部门); choose one",
            ));
        }
        let content = input.draft.validate(&self.profile).map_err(catalog_error)?;
        let now = self.now();
        let id = ResourceId::mint(now, self.random_bytes());
        let version = ResourceVersionId::mint(now, self.random_bytes());
        let (resource, events) =
            CatalogResource::register(id, provider, version, content, actor.person, now);
        let mut tx = self.store.begin().await?;
        tx.save_resource(&resource).await?;
        tx.audit(self.event(
            ctx,
            Action::ResourceRegister.as_str(),
            Object::new(RESOURCE, id),
            &events,
            Outcome::Ok,
            "version 1 drafted",
        ))
        .await?;
        tx.commit().await?;
        Ok(resource)
    }

    /// Drafts a new version (after the last one was approved or refused).
    pub async fn edit_resource(
        &self,
        ctx: &Ctx,
        id: ResourceId,
        draft: ResourceDraft,
    ) -> Result<CatalogResource, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(
            ctx,
            Action::ResourceEdit,
            &entry(&resource),
            Object::new(RESOURCE, id),
        )
        .await?;
        let content = draft.validate(&self.profile).map_err(catalog_error)?;
        let by = self.acting_person(ctx)?;
        let version = ResourceVersionId::mint(self.now(), self.random_bytes());
        self.move_resource(
            ctx,
            resource,
            Action::ResourceEdit,
            ResourceCommand::Edit {
                version,
                content,
                by,
            },
        )
        .await
    }

    /// Submits the pending draft for approval.
    pub async fn submit_resource(
        &self,
        ctx: &Ctx,
        id: ResourceId,
    ) -> Result<CatalogResource, AppError> {
        self.review_step(ctx, id, Action::ResourceSubmit, |by| {
            ResourceCommand::Submit { by }
        })
        .await
    }

    /// Approves the submitted version (the authority); it becomes the current version.
    pub async fn approve_resource(
        &self,
        ctx: &Ctx,
        id: ResourceId,
    ) -> Result<CatalogResource, AppError> {
        self.review_step(ctx, id, Action::ResourceReview, |by| {
            ResourceCommand::Approve { by }
        })
        .await
    }

    /// Refuses the submitted version, with reasons (required).
    pub async fn refuse_resource(
        &self,
        ctx: &Ctx,
        id: ResourceId,
        reasons: Vec<String>,
    ) -> Result<CatalogResource, AppError> {
        self.review_step(ctx, id, Action::ResourceReview, |by| {
            ResourceCommand::Refuse { by, reasons }
        })
        .await
    }

    /// A resource with all its versions (not public: drafts and review reasons included).
    pub async fn resource(&self, ctx: &Ctx, id: ResourceId) -> Result<ResourceView, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(
            ctx,
            Action::ResourceRead,
            &entry(&resource),
            Object::new(RESOURCE, id),
        )
        .await?;
        let provider_name = self.org_name(resource.provider()).await?;
        let authorizable = resource
            .current()
            .map(|v| shuyu_catalog::authorizable(v, &self.profile));
        Ok(ResourceView {
            resource,
            provider_name,
            authorizable,
        })
    }

    /// The resources the actor may manage or oversee, newest first.
    pub async fn resources(&self, ctx: &Ctx) -> Result<Vec<CatalogResource>, AppError> {
        self.refuse_anonymous(ctx, Action::ResourceRead).await?;
        let mut visible = Vec::new();
        for stored in self.store.resources().await? {
            let resource = self.rebuild(stored)?;
            if shuyu_policy::decide(
                &ctx.principal,
                Action::ResourceRead,
                &entry(&resource),
                &self.profile,
            )
            .is_allowed()
            {
                visible.push(resource);
            }
        }
        Ok(visible)
    }

    /// The field-level differences from version number `from` to version number `to`.
    pub async fn resource_diff(
        &self,
        ctx: &Ctx,
        id: ResourceId,
        from: u32,
        to: u32,
    ) -> Result<Vec<Change>, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(
            ctx,
            Action::ResourceRead,
            &entry(&resource),
            Object::new(RESOURCE, id),
        )
        .await?;
        let version = |n: u32, field: &'static str| {
            resource
                .versions()
                .iter()
                .find(|v| v.number() == n)
                .ok_or_else(|| {
                    AppError::invalid(
                        field,
                        format!(
                            "the resource has no version {n}; it has versions 1 to {}",
                            resource.versions().len()
                        ),
                    )
                })
        };
        Ok(shuyu_catalog::diff(
            version(from, "from")?,
            version(to, "to")?,
        ))
    }

    /// The public catalog: approved versions' metadata, filtered. Open to everyone, not recorded.
    pub async fn catalog(
        &self,
        ctx: &Ctx,
        query: CatalogQuery,
    ) -> Result<Vec<PublicEntry>, AppError> {
        self.authorize(
            ctx,
            Action::CatalogBrowse,
            &Resource::PublicCatalog,
            Object::new("catalog", ""),
        )
        .await?;
        let rows = self
            .store
            .catalog_entries(&CatalogSearch {
                name: query.name,
                domain: query.domain,
                provider: query.provider,
                open_category: query.open_category,
            })
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let Ok(content) = row.draft.validate(&self.profile) else {
                tracing::warn!(resource = %row.resource, "an approved version no longer validates against the profile; left out of the public catalog");
                continue;
            };
            entries.push(PublicEntry {
                resource: row.resource,
                version: row.version,
                number: row.number,
                provider: row.provider,
                provider_name: self.org_name(row.provider).await?,
                content,
                approved_at: row.approved_at,
            });
        }
        Ok(entries)
    }

    /// One entry of the public catalog; a resource without an approved version is not in it.
    pub async fn catalog_entry(&self, ctx: &Ctx, id: ResourceId) -> Result<PublicEntry, AppError> {
        let resource = self.load_resource(id).await?;
        let Some(current) = resource.current() else {
            return Err(NOT_FOUND);
        };
        self.authorize(
            ctx,
            Action::CatalogBrowse,
            &entry(&resource),
            Object::new(RESOURCE, id),
        )
        .await?;
        let approved_at = match current.state() {
            shuyu_catalog::VersionState::Approved { at, .. } => Some(*at),
            _ => None,
        };
        Ok(PublicEntry {
            resource: id,
            version: current.id(),
            number: current.number(),
            provider: resource.provider(),
            provider_name: self.org_name(resource.provider()).await?,
            content: current.content().clone(),
            approved_at,
        })
    }

    /// The registration record of a resource.
    pub async fn registration(
        &self,
        ctx: &Ctx,
        id: ResourceId,
    ) -> Result<RegistrationRecord, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(
            ctx,
            Action::ResourceRead,
            &entry(&resource),
            Object::new(RESOURCE, id),
        )
        .await?;
        self.load_registration(id).await?.ok_or(AppError::NotFound {
            kind: "registration record",
        })
    }

    /// Moves the registration record of a resource (NAT-1). The first update of details creates the
    /// record, as a draft for the current approved version.
    pub async fn registration_step(
        &self,
        ctx: &Ctx,
        id: ResourceId,
        step: RegistrationStep,
    ) -> Result<RegistrationRecord, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(
            ctx,
            Action::RegistrationManage,
            &Resource::Registration {
                provider: resource.provider(),
                authority_step: step.is_authority_step(),
            },
            Object::new("registration", id),
        )
        .await?;
        let now = self.now();
        let agent = self.acting_person(ctx)?;
        let existing = self.load_registration(id).await?;
        let (record, command) = match (existing, step) {
            (Some(record), step) => {
                let command = match step {
                    RegistrationStep::UpdateDetails(input) => {
                        RegistrationCommand::UpdateDetails(input.details(agent))
                    }
                    RegistrationStep::Submit => RegistrationCommand::Submit,
                    RegistrationStep::StartReview => RegistrationCommand::StartReview,
                    RegistrationStep::Return { reasons } => RegistrationCommand::Return { reasons },
                    RegistrationStep::PublishNotice { until } => {
                        RegistrationCommand::PublishNotice { until }
                    }
                    RegistrationStep::Register { result_code } => RegistrationCommand::Register {
                        result_code: shuyu_catalog::ResultCode::parse(&result_code)
                            .map_err(catalog_error)?,
                    },
                    RegistrationStep::RecordChange { summary } => {
                        let version = resource.current().ok_or_else(|| {
                            AppError::Conflict("the resource has no approved version".into())
                        })?;
                        RegistrationCommand::RecordChange {
                            version: version.id(),
                            summary,
                        }
                    }
                    RegistrationStep::Cancel { reason } => RegistrationCommand::Cancel { reason },
                };
                (record, command)
            }
            (None, RegistrationStep::UpdateDetails(input)) => {
                let details = input.details(agent);
                let current = resource.current().ok_or_else(|| {
                    AppError::Conflict(
                        "only an approved resource is registered; approve a version first".into(),
                    )
                })?;
                let record = RegistrationRecord::draft(id, current.id(), details.clone());
                (record, RegistrationCommand::UpdateDetails(details))
            }
            (None, _) => {
                return Err(AppError::NotFound {
                    kind: "registration record",
                });
            }
        };
        let name = command.name();
        let events = record
            .handle(command, now, &self.profile)
            .map_err(catalog_error)?;
        let record = events.iter().fold(record, RegistrationRecord::apply);
        let mut tx = self.store.begin().await?;
        tx.save_registration(&record, now).await?;
        tx.audit(self.event(
            ctx,
            &format!("registration.{name}"),
            Object::new("registration", id),
            &events,
            Outcome::Ok,
            record.state().name(),
        ))
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The package for the national registration platform: JSON and Markdown.
    pub async fn registration_package(
        &self,
        ctx: &Ctx,
        id: ResourceId,
    ) -> Result<(serde_json::Value, String), AppError> {
        let record = self.registration(ctx, id).await?;
        let resource = self.load_resource(id).await?;
        let version = resource.version(record.version()).ok_or_else(|| {
            AppError::Internal("registration record names an unknown version".into())
        })?;
        Ok(shuyu_catalog::registration_package(
            &resource, version, &record,
        ))
    }

    /// Raises a data quality issue on the current version of a resource or one of its fields.
    pub async fn raise_quality_issue(
        &self,
        ctx: &Ctx,
        id: ResourceId,
        field: Option<String>,
        text: &str,
    ) -> Result<QualityIssue, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(
            ctx,
            Action::QualityIssueRaise,
            &entry(&resource),
            Object::new("quality_issue", "new"),
        )
        .await?;
        let by = person_actor(ctx)
            .map(|a| a.org)
            .ok_or(AppError::Unauthenticated)?;
        let version = resource.current().ok_or(NOT_FOUND)?;
        let now = self.now();
        let issue_id = QualityIssueId::mint(now, self.random_bytes());
        let (issue, event) = QualityIssue::raise(
            issue_id,
            version,
            field.as_deref(),
            by,
            text,
            now,
            &self.profile,
        )
        .map_err(catalog_error)?;
        let mut tx = self.store.begin().await?;
        tx.save_quality_issue(&issue).await?;
        tx.audit(self.event(
            ctx,
            Action::QualityIssueRaise.as_str(),
            Object::new("quality_issue", issue_id),
            &event,
            Outcome::Ok,
            &format!("resource {id}, due {}", issue.due()),
        ))
        .await?;
        tx.commit().await?;
        Ok(issue)
    }

    /// Answers a quality issue (the providing source department).
    pub async fn answer_quality_issue(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
        id: QualityIssueId,
        answer: String,
    ) -> Result<QualityIssue, AppError> {
        let issue = self
            .store
            .quality_issue(id)
            .await?
            .filter(|i| i.resource() == resource)
            .ok_or(AppError::NotFound {
                kind: "quality issue",
            })?;
        let resource = self.load_resource(issue.resource()).await?;
        self.authorize(
            ctx,
            Action::QualityIssueAnswer,
            &Resource::QualityIssue {
                provider: resource.provider(),
                raised_by: issue.raised_by(),
            },
            Object::new("quality_issue", id),
        )
        .await?;
        let by = person_actor(ctx)
            .map(|a| a.org)
            .ok_or(AppError::Unauthenticated)?;
        let now = self.now();
        let events = issue
            .handle(QualityCommand::Answer { by, answer }, now, &self.profile)
            .map_err(catalog_error)?;
        let issue = events.iter().fold(issue, QualityIssue::apply);
        let late = matches!(issue.status(now), IssueStatus::Answered { late: true });
        let mut tx = self.store.begin().await?;
        tx.save_quality_issue(&issue).await?;
        tx.audit(self.event(
            ctx,
            Action::QualityIssueAnswer.as_str(),
            Object::new("quality_issue", id),
            &events,
            Outcome::Ok,
            if late {
                "answered late"
            } else {
                "answered on time"
            },
        ))
        .await?;
        tx.commit().await?;
        Ok(issue)
    }

    /// The quality issues of a resource the actor may see, with their status and counts.
    pub async fn quality_issues(
        &self,
        ctx: &Ctx,
        id: ResourceId,
    ) -> Result<QualityIssues, AppError> {
        self.refuse_anonymous(ctx, Action::QualityIssueRead).await?;
        let resource = self.load_resource(id).await?;
        let now = self.now();
        let visible: Vec<QualityIssue> = self
            .store
            .quality_issues(id)
            .await?
            .into_iter()
            .filter(|i| {
                shuyu_policy::decide(
                    &ctx.principal,
                    Action::QualityIssueRead,
                    &Resource::QualityIssue {
                        provider: resource.provider(),
                        raised_by: i.raised_by(),
                    },
                    &self.profile,
                )
                .is_allowed()
            })
            .collect();
        let counts = shuyu_catalog::counts(&visible, now);
        Ok(QualityIssues {
            issues: visible
                .into_iter()
                .map(|i| {
                    let status = i.status(now);
                    (i, status)
                })
                .collect(),
            counts,
        })
    }

    /// Saves the outcome of `cmd` on `resource` with its audit event.
    /// One step of a version's review: authorize `action` on the resource, then apply the command
    /// made for the acting person.
    async fn review_step(
        &self,
        ctx: &Ctx,
        id: ResourceId,
        action: Action,
        command: impl FnOnce(PersonId) -> ResourceCommand,
    ) -> Result<CatalogResource, AppError> {
        let resource = self.load_resource(id).await?;
        self.authorize(ctx, action, &entry(&resource), Object::new(RESOURCE, id))
            .await?;
        let by = self.acting_person(ctx)?;
        self.move_resource(ctx, resource, action, command(by)).await
    }

    async fn move_resource(
        &self,
        ctx: &Ctx,
        resource: CatalogResource,
        action: Action,
        cmd: ResourceCommand,
    ) -> Result<CatalogResource, AppError> {
        let name = cmd.name();
        let now = self.now();
        let events = resource
            .handle(cmd, now, &self.profile)
            .map_err(catalog_error)?;
        let resource = events.iter().fold(resource, CatalogResource::apply);
        let detail = resource
            .versions()
            .last()
            .map(|v| format!("{name}: version {} {}", v.number(), v.state().name()))
            .unwrap_or_default();
        let mut tx = self.store.begin().await?;
        tx.save_resource(&resource).await?;
        tx.audit(self.event(
            ctx,
            action.as_str(),
            Object::new(RESOURCE, resource.id()),
            &events,
            Outcome::Ok,
            &detail,
        ))
        .await?;
        tx.commit().await?;
        Ok(resource)
    }

    fn acting_person(&self, ctx: &Ctx) -> Result<PersonId, AppError> {
        person_actor(ctx)
            .map(|a| a.person)
            .ok_or(AppError::Unauthenticated)
    }

    async fn org_name(&self, id: OrgId) -> Result<String, AppError> {
        Ok(self
            .store
            .org(id)
            .await?
            .map(|o| o.name.to_string())
            .unwrap_or_default())
    }

    pub(crate) async fn load_resource(&self, id: ResourceId) -> Result<CatalogResource, AppError> {
        let stored = self.store.resource(id).await?.ok_or(NOT_FOUND)?;
        self.rebuild(stored)
    }

    /// Rebuilds a resource from storage by replaying its versions through the domain's `apply`,
    /// each draft re-validated against the current profile.
    fn rebuild(&self, stored: StoredResource) -> Result<CatalogResource, AppError> {
        use shuyu_catalog::{ResourceEvent as E, VersionState as S};
        let mut resource = CatalogResource::empty(stored.id, stored.provider, stored.created_at);
        for v in stored.versions {
            let content = v.draft.validate(&self.profile).map_err(|e| {
                AppError::Internal(format!(
                    "stored version {} of resource {} no longer validates against the profile: {e}",
                    v.number, stored.id
                ))
            })?;
            resource = resource.apply(&E::VersionDrafted {
                version: v.id,
                number: v.number,
                content,
                by: v.created_by,
                at: v.created_at,
            });
            let event = match v.state {
                S::Draft => None,
                S::Submitted { at, by } => Some(E::VersionSubmitted {
                    version: v.id,
                    by,
                    at,
                }),
                S::Approved { at, by } => Some(E::VersionApproved {
                    version: v.id,
                    by,
                    at,
                }),
                S::Refused { at, by, reasons } => Some(E::VersionRefused {
                    version: v.id,
                    by,
                    at,
                    reasons,
                }),
                S::Superseded { at, by_number } => Some(E::VersionSuperseded {
                    version: v.id,
                    by_number,
                    at,
                }),
            };
            if let Some(event) = event {
                resource = resource.apply(&event);
            }
        }
        Ok(resource)
    }

    async fn load_registration(
        &self,
        id: ResourceId,
    ) -> Result<Option<RegistrationRecord>, AppError> {
        Ok(self.store.registration(id).await?.map(rebuild_registration))
    }
}

/// Rebuilds a registration record by replaying the events that lead to its stored state.
fn rebuild_registration(stored: StoredRegistration) -> RegistrationRecord {
    use shuyu_catalog::RegistrationEvent as E;
    let at = stored.updated_at;
    let record = RegistrationRecord::draft(stored.resource, stored.version, stored.details);
    let events: Vec<E> = match stored.state {
        RegistrationState::Draft => vec![],
        RegistrationState::Submitted => vec![E::Submitted { at }],
        RegistrationState::UnderReview => vec![E::ReviewStarted { at }],
        RegistrationState::PublicNotice { until } => vec![E::NoticePublished { until, at }],
        RegistrationState::Registered { result_code } => vec![E::Registered { result_code, at }],
        RegistrationState::Changed {
            result_code,
            changes,
        } => std::iter::once(E::Registered { result_code, at })
            .chain((0..changes).map(|_| E::ChangeRecorded {
                version: stored.version,
                summary: String::new(),
                at,
            }))
            .collect(),
        RegistrationState::Cancelled { reason } => vec![E::Cancelled { reason, at }],
    };
    events.iter().fold(record, RegistrationRecord::apply)
}
