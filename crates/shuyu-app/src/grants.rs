//! The grants' use cases (issue 5, "Grants"): seeding a grant — the ONE function that creates one,
//! called as the system by tests and the demo seed — and suspending, resuming, revoking and reading
//! grants.
//!
//! Every change follows the app's four steps: the policy decides (`grant.seed` only for the system;
//! moves for the authority and the operator running the grant), the grant and what it rests on are
//! loaded, `shuyu-grant` decides, and the grant is saved with its audit event in one `Tx`. A move is
//! saved only if the grant is still in the state it was loaded in, so two people moving the same
//! grant at once cannot both win.
//!
//! Reading a grant is not recorded as a data access (a grant describes a permission, not data), and
//! it is not data-bearing under PART-3; a merchant's personnel must be real-name verified to see
//! their organisation's grants. A grant the actor may not read is refused (and the refusal audited)
//! like every other object; grant ids are UUIDv7 with 74 random bits, so they are not guessed.
//!
//! Suspending or revoking a grant cancels its running queries (`App::inflight`) once the move
//! commits.
//!
//! Must never: create a grant for anyone but the system, or expose a way to (there is no API route).

use shuyu_audit::Outcome;
use shuyu_catalog::ResourceVersion;
use shuyu_core::{GrantId, OrgId, OrgType, WorkspaceId};
use shuyu_grant::{Grant, GrantCommand, GrantError, GrantStatus, NewGrant};
use shuyu_policy::{Action, Principal, Resource};
use shuyu_store::STALE_GRANT;

use crate::catalog::person_actor;
use crate::{App, AppError, Ctx, Object};

const GRANT: &str = "grant";
const NOT_FOUND: AppError = AppError::NotFound { kind: "grant" };

/// A grant with its status now.
#[derive(Debug, Clone)]
pub struct GrantView {
    pub grant: Grant,
    /// `active`, `suspended`, `expired` (derived from the term) or `revoked`.
    pub status: GrantStatus,
}

/// A grant refusal as a use-case error: bad input names the field, a wrong move is a conflict.
pub(crate) fn grant_error(err: GrantError) -> AppError {
    if err.is_conflict() {
        return AppError::Conflict(err.to_string());
    }
    AppError::InvalidFields(vec![(err.path(), err.to_string())])
}

fn resource_of(grant: &Grant) -> Resource {
    Resource::Grant {
        merchant: grant.merchant(),
        operator: grant.operator(),
    }
}

impl App {
    /// Creates a grant: the one way grants come to exist until development agreements do. Only
    /// the system may call it (tests, the demo seed); the request is checked by `shuyu-grant`
    /// against the catalog and the profile, stored, and a `grant.seed` event marked as seeded is
    /// appended in the same transaction.
    pub async fn seed_grant(&self, ctx: &Ctx, request: NewGrant) -> Result<GrantView, AppError> {
        self.authorize(
            ctx,
            Action::GrantSeed,
            &Resource::Grant {
                merchant: request.merchant,
                operator: request.operator,
            },
            Object::new(GRANT, "new"),
        )
        .await?;
        self.check_org(request.merchant, OrgType::Merchant, "merchant")
            .await?;
        self.check_org(request.operator, OrgType::Operator, "operator")
            .await?;
        let mut resources = Vec::with_capacity(request.resources.len());
        for (i, asked) in request.resources.iter().enumerate() {
            let resource = self
                .load_resource(asked.resource)
                .await
                .map_err(|err| match err {
                    AppError::NotFound { .. } => AppError::InvalidFields(vec![(
                        format!("resources[{i}].resource"),
                        "no resource with that id exists".to_owned(),
                    )]),
                    other => other,
                })?;
            resources.push(resource);
        }
        let versions: Vec<&ResourceVersion> = resources.iter().flat_map(|r| r.versions()).collect();
        let now = self.now();
        let id = GrantId::mint(now, self.random_bytes());
        let workspace = WorkspaceId::mint(now, self.random_bytes());
        let grant = Grant::seed(id, workspace, request, &versions, &self.profile, now)
            .map_err(grant_error)?;
        let mut tx = self.store.begin().await?;
        tx.insert_grant(&grant).await?;
        tx.audit(self.event(
            ctx,
            Action::GrantSeed.as_str(),
            Object::new(GRANT, id),
            &grant,
            Outcome::Ok,
            &format!(
                "seeded by the system (no development agreement): {} resource(s), {}, until {}",
                grant.resources().len(),
                grant.usage(),
                grant.term().to
            ),
        ))
        .await?;
        tx.commit().await?;
        Ok(self.grant_view(grant))
    }

    /// Suspends an active grant (the authority, or the operator running it); `reason` is required.
    pub async fn suspend_grant(
        &self,
        ctx: &Ctx,
        id: GrantId,
        reason: String,
    ) -> Result<GrantView, AppError> {
        self.move_grant(ctx, id, Action::GrantSuspend, |by| GrantCommand::Suspend {
            by,
            reason,
        })
        .await
    }

    /// Resumes a suspended grant within its term; `reason` is required.
    pub async fn resume_grant(
        &self,
        ctx: &Ctx,
        id: GrantId,
        reason: String,
    ) -> Result<GrantView, AppError> {
        self.move_grant(ctx, id, Action::GrantResume, |by| GrantCommand::Resume {
            by,
            reason,
        })
        .await
    }

    /// Revokes a grant for good; `reason` is required.
    pub async fn revoke_grant(
        &self,
        ctx: &Ctx,
        id: GrantId,
        reason: String,
    ) -> Result<GrantView, AppError> {
        self.move_grant(ctx, id, Action::GrantRevoke, |by| GrantCommand::Revoke {
            by,
            reason,
        })
        .await
    }

    /// The grants the actor may read, newest first: all of them for the authority and supervisors,
    /// the ones it runs for an operator, its own organisation's for a merchant.
    pub async fn grants(&self, ctx: &Ctx) -> Result<Vec<GrantView>, AppError> {
        self.refuse_anonymous(ctx, Action::GrantRead).await?;
        let all = match person_actor(ctx) {
            Some(actor) if actor.role == shuyu_core::Role::Merchant => {
                self.store.grants_of_merchant(actor.org).await?
            }
            _ => self.store.grants().await?,
        };
        Ok(all
            .into_iter()
            .filter(|g| {
                shuyu_policy::decide(
                    &ctx.principal,
                    Action::GrantRead,
                    &resource_of(g),
                    &self.profile,
                )
                .is_allowed()
            })
            .map(|g| self.grant_view(g))
            .collect())
    }

    /// One grant, if the actor may read it.
    pub async fn grant(&self, ctx: &Ctx, id: GrantId) -> Result<GrantView, AppError> {
        let grant = self.store.grant(id).await?.ok_or(NOT_FOUND)?;
        self.authorize_grant(ctx, Action::GrantRead, &grant).await?;
        Ok(self.grant_view(grant))
    }

    fn grant_view(&self, grant: Grant) -> GrantView {
        let status = grant.status(self.now());
        GrantView { grant, status }
    }

    /// Authorizes `action` on `grant`; a refusal is audited.
    async fn authorize_grant(
        &self,
        ctx: &Ctx,
        action: Action,
        grant: &Grant,
    ) -> Result<(), AppError> {
        self.authorize(
            ctx,
            action,
            &resource_of(grant),
            Object::new(GRANT, grant.id()),
        )
        .await
    }

    async fn move_grant(
        &self,
        ctx: &Ctx,
        id: GrantId,
        action: Action,
        command: impl FnOnce(shuyu_core::PersonId) -> GrantCommand,
    ) -> Result<GrantView, AppError> {
        let grant = self.store.grant(id).await?.ok_or(NOT_FOUND)?;
        self.authorize_grant(ctx, action, &grant).await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let now = self.now();
        let event = grant
            .handle(command(actor.person), now)
            .map_err(grant_error)?;
        let from = grant.state();
        let moved = grant.apply(&event);
        let mut tx = self.store.begin().await?;
        tx.update_grant(&moved, from, now)
            .await
            .map_err(|err| match err {
                shuyu_store::StoreError::Conflict(what) if what == STALE_GRANT => {
                    AppError::Conflict(
                        "the grant was changed by someone else meanwhile; reload it and try again"
                            .to_owned(),
                    )
                }
                other => other.into(),
            })?;
        tx.audit(self.event(
            ctx,
            action.as_str(),
            Object::new(GRANT, id),
            &event,
            Outcome::Ok,
            &format!("{} → {}", from.as_str(), moved.state().as_str()),
        ))
        .await?;
        tx.commit().await?;
        // A suspended or revoked grant's running queries stop within this request.
        if matches!(action, Action::GrantSuspend | Action::GrantRevoke) {
            let cancelled = self.inflight.cancel_grant(id);
            tracing::info!(request_id = %ctx.request_id, %id, cancelled, "grant stopped; its running queries cancelled");
        }
        Ok(self.grant_view(moved))
    }

    /// The organisation `id` exists and is of `kind`; otherwise `field` is named as the problem.
    async fn check_org(
        &self,
        id: OrgId,
        kind: OrgType,
        field: &'static str,
    ) -> Result<(), AppError> {
        let org = self
            .store
            .org(id)
            .await?
            .ok_or_else(|| AppError::invalid(field, "no organisation with that id exists"))?;
        if org.org_type != kind {
            return Err(AppError::invalid(
                field,
                format!("the organisation is a {}, not a {kind}", org.org_type),
            ));
        }
        Ok(())
    }
}
