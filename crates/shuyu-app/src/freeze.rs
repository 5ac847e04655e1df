//! Freezes (SBX-9): the authority stops a merchant organisation (all its workspaces), an operator
//! organisation (every grant it runs) or a resource's supply (every grant over the resource), with
//! a reason, and lifts the freeze with a reason. An operator may freeze a merchant whose grants it
//! runs, and lift the freezes it set. A single workspace is stopped by suspending its grant; there
//! is no second concept for it.
//!
//! Every change follows the app's four steps: the facts the policy needs are loaded (the target's
//! type or provider, whether the actor's organisation runs one of the merchant's grants, who set
//! the active freeze), the policy decides, the reason is checked, and the freeze (or its lift) is
//! saved with its audit event (`org.freeze`, `org.unfreeze`, `resource.supply_freeze`,
//! `resource.supply_unfreeze`) in one `Tx`. Once that commits, the queries running under what the
//! freeze stops are cancelled (see [`crate::InFlight`]).
//!
//! [`App::grant_liveness`] is the one answer to "may this grant run now?": the grant's status and
//! term (through `Grant::is_live` with the merchant's and operator's real freeze state) and the
//! supply of every granted resource.
//!
//! Must never: let a second active freeze of one target exist (a second freeze is a conflict),
//! change a freeze without its audit event, or put a data value in an error.

use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_core::{OrgId, OrgType, PersonId, Timestamp};
use shuyu_grant::{Grant, GrantStatus};
use shuyu_policy::{Action, Denial, FreezeSubject, Principal, Resource};
use shuyu_store::{ALREADY_FROZEN, FreezeLift, StoredFreeze};

use crate::inflight::QueryScope;
use crate::{App, AppError, Ctx, Object};

pub use shuyu_store::FreezeTarget;

/// The longest reason, in characters (as for grant moves).
pub const MAX_FREEZE_REASON: usize = 1000;

/// A freeze: what it stops, who set it, when and why, and its lifting once lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeView {
    pub target: FreezeTarget,
    pub frozen_at: Timestamp,
    pub frozen_by: PersonId,
    /// The organisation of the person who set it.
    pub frozen_by_org: OrgId,
    pub reason: String,
    /// `None` while the freeze is active.
    pub lifted: Option<FreezeLift>,
}

/// What the actor may do about one target's freeze, for pages that show a form only when it
/// would be allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeState {
    /// The active freeze, if there is one and the actor may read it.
    pub active: Option<FreezeView>,
    /// Whether the target is frozen now (known to whoever may freeze or unfreeze it).
    pub frozen: bool,
    /// The policy would allow freezing it (and it is not frozen).
    pub may_freeze: bool,
    /// The policy would allow lifting its active freeze.
    pub may_unfreeze: bool,
}

impl From<StoredFreeze> for FreezeView {
    fn from(f: StoredFreeze) -> Self {
        Self {
            target: f.target,
            frozen_at: f.frozen_at,
            frozen_by: f.frozen_by,
            frozen_by_org: f.frozen_by_org,
            reason: f.reason,
            lifted: f.lifted,
        }
    }
}

/// What is digested into the audit event (the event itself stores the digest only).
#[derive(Serialize)]
struct FreezeChange<'a> {
    target_kind: &'a str,
    target_id: String,
    reason: &'a str,
}

/// Whether a freeze of `target` stops a query running under `scope`.
pub fn freeze_stops(target: FreezeTarget, scope: &QueryScope) -> bool {
    match target {
        FreezeTarget::Merchant(org) => scope.merchant == org,
        FreezeTarget::Operator(org) => scope.operator == org,
        FreezeTarget::ResourceSupply(resource) => scope.resources.contains(&resource),
    }
}

fn freeze_action(target: FreezeTarget) -> Action {
    match target {
        FreezeTarget::Merchant(_) | FreezeTarget::Operator(_) => Action::OrgFreeze,
        FreezeTarget::ResourceSupply(_) => Action::SupplyFreeze,
    }
}

fn unfreeze_action(target: FreezeTarget) -> Action {
    match target {
        FreezeTarget::Merchant(_) | FreezeTarget::Operator(_) => Action::OrgUnfreeze,
        FreezeTarget::ResourceSupply(_) => Action::SupplyUnfreeze,
    }
}

fn object(target: FreezeTarget) -> Object<'static> {
    match target {
        FreezeTarget::Merchant(id) | FreezeTarget::Operator(id) => Object::new("org", id),
        FreezeTarget::ResourceSupply(id) => Object::new("resource", id),
    }
}

/// The target in words, for messages (no names or values, only its kind).
fn described(target: FreezeTarget) -> &'static str {
    match target {
        FreezeTarget::Merchant(_) => "the merchant organisation",
        FreezeTarget::Operator(_) => "the operator organisation",
        FreezeTarget::ResourceSupply(_) => "the resource's supply",
    }
}

/// A reason as given: trimmed, 1 to [`MAX_FREEZE_REASON`] characters.
fn checked_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid(
            "reason",
            "give a reason: it is kept with the freeze and shown to those concerned",
        ));
    }
    if reason.chars().count() > MAX_FREEZE_REASON {
        return Err(AppError::invalid(
            "reason",
            format!("shorten the reason to at most {MAX_FREEZE_REASON} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// A refusal to run `action` under a grant now: a 403-like answer with a stable code, what to
/// do, and the action actually attempted (`workspace.query`, `workspace.prepare`).
fn not_live(action: Action, code: &'static str, message: String) -> AppError {
    AppError::Forbidden(Denial {
        code,
        message,
        action: action.as_str(),
    })
}

impl App {
    /// Freezes `target` with `reason` (the authority; for a merchant whose grants it runs, also
    /// the operator). A target frozen already is a conflict. After the change and its audit event
    /// commit, the queries running under what it stops are cancelled.
    pub async fn freeze(
        &self,
        ctx: &Ctx,
        target: FreezeTarget,
        reason: &str,
    ) -> Result<FreezeView, AppError> {
        let subject = self.freeze_subject(ctx, target).await?;
        let action = freeze_action(target);
        self.authorize(
            ctx,
            action,
            &Resource::Freeze {
                subject,
                frozen_by: None,
            },
            object(target),
        )
        .await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let reason = checked_reason(reason)?;
        let now = self.now();
        let freeze = StoredFreeze {
            id: uuid::Builder::from_unix_timestamp_millis(
                u64::try_from(now.unix_micros() / 1000).unwrap_or(0),
                &self.random_bytes(),
            )
            .into_uuid(),
            target,
            frozen_at: now,
            frozen_by: actor.person,
            frozen_by_org: actor.org,
            reason,
            lifted: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_freeze(&freeze).await.map_err(|err| match err {
            shuyu_store::StoreError::Conflict(what) if what == ALREADY_FROZEN => {
                AppError::Conflict(format!(
                    "{} is frozen already; lift that freeze first if it should be set again",
                    described(target)
                ))
            }
            other => other.into(),
        })?;
        tx.audit(self.event(
            ctx,
            action.as_str(),
            object(target),
            &FreezeChange {
                target_kind: target.kind(),
                target_id: target.id_string(),
                reason: &freeze.reason,
            },
            Outcome::Ok,
            &format!("{} frozen", target.kind()),
        ))
        .await?;
        tx.commit().await?;
        let cancelled = self
            .inflight
            .cancel_matching(|scope| freeze_stops(target, scope));
        tracing::info!(
            request_id = %ctx.request_id,
            target = target.kind(),
            cancelled,
            "freeze set; running queries under it cancelled"
        );
        Ok(freeze.into())
    }

    /// Lifts the active freeze of `target` with `reason` (the authority, or the operator that set
    /// a merchant's freeze). A target that is not frozen is a conflict.
    pub async fn unfreeze(
        &self,
        ctx: &Ctx,
        target: FreezeTarget,
        reason: &str,
    ) -> Result<FreezeView, AppError> {
        let subject = self.freeze_subject(ctx, target).await?;
        let active = self.store.active_freeze(target).await?;
        let action = unfreeze_action(target);
        self.authorize(
            ctx,
            action,
            &Resource::Freeze {
                subject,
                frozen_by: active.as_ref().map(|f| f.frozen_by_org),
            },
            object(target),
        )
        .await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let reason = checked_reason(reason)?;
        let not_frozen = || AppError::Conflict(format!("{} is not frozen", described(target)));
        if active.is_none() {
            return Err(not_frozen());
        }
        let lift = FreezeLift {
            at: self.now(),
            by: actor.person,
            reason,
        };
        let mut tx = self.store.begin().await?;
        let lifted = tx
            .lift_freeze(target, &lift)
            .await
            .map_err(|err| match err {
                shuyu_store::StoreError::NotFound => not_frozen(),
                other => other.into(),
            })?;
        tx.audit(self.event(
            ctx,
            action.as_str(),
            object(target),
            &FreezeChange {
                target_kind: target.kind(),
                target_id: target.id_string(),
                reason: &lift.reason,
            },
            Outcome::Ok,
            &format!("{} unfrozen", target.kind()),
        ))
        .await?;
        tx.commit().await?;
        Ok(lifted.into())
    }

    /// The active freezes the actor may read, newest first: all of them for the authority and
    /// supervisors; for others those that concern their organisation.
    pub async fn freezes(&self, ctx: &Ctx) -> Result<Vec<FreezeView>, AppError> {
        self.refuse_anonymous(ctx, Action::FreezeRead).await?;
        let mut visible = Vec::new();
        for freeze in self.store.active_freezes().await? {
            let subject = match self.freeze_subject(ctx, freeze.target).await {
                Ok(subject) => subject,
                // A target that no longer loads is shown to nobody but is not an error here.
                Err(AppError::NotFound { .. } | AppError::Invalid { .. }) => continue,
                Err(other) => return Err(other),
            };
            let resource = Resource::Freeze {
                subject,
                frozen_by: Some(freeze.frozen_by_org),
            };
            if shuyu_policy::decide(&ctx.principal, Action::FreezeRead, &resource, &self.profile)
                .is_allowed()
            {
                visible.push(freeze.into());
            }
        }
        Ok(visible)
    }

    /// One target's freeze state for the actor: the active freeze if they may read it, and
    /// whether the policy would let them freeze or unfreeze it. Read-only; decides nothing.
    pub async fn freeze_state(
        &self,
        ctx: &Ctx,
        target: FreezeTarget,
    ) -> Result<FreezeState, AppError> {
        let subject = self.freeze_subject(ctx, target).await?;
        let active = self.store.active_freeze(target).await?;
        let frozen_by = active.as_ref().map(|f| f.frozen_by_org);
        let allows = |action, frozen_by| {
            shuyu_policy::decide(
                &ctx.principal,
                action,
                &Resource::Freeze { subject, frozen_by },
                &self.profile,
            )
            .is_allowed()
        };
        let may_freeze = active.is_none() && allows(freeze_action(target), None);
        let may_unfreeze = active.is_some() && allows(unfreeze_action(target), frozen_by);
        let readable = active.is_some() && allows(Action::FreezeRead, frozen_by);
        let frozen = active.is_some() && (readable || may_unfreeze);
        Ok(FreezeState {
            active: if readable {
                active.map(Into::into)
            } else {
                None
            },
            frozen,
            may_freeze,
            may_unfreeze,
        })
    }

    /// The freeze target of organisation `id`: a merchant or an operator, by its type. The public
    /// is refused (and audited); another type is `Invalid` for those who may read the
    /// organisation and `NotFound` for others, so its type is not revealed. Decides nothing:
    /// `freeze`/`unfreeze` ask the policy.
    pub async fn org_freeze_target(&self, ctx: &Ctx, id: OrgId) -> Result<FreezeTarget, AppError> {
        self.refuse_anonymous(ctx, Action::OrgFreeze).await?;
        let not_found = AppError::NotFound {
            kind: "organisation",
        };
        let org = self.store.org(id).await?.ok_or(not_found.clone())?;
        match org.org_type {
            OrgType::Merchant => Ok(FreezeTarget::Merchant(id)),
            OrgType::Operator => Ok(FreezeTarget::Operator(id)),
            _ if !shuyu_policy::decide(
                &ctx.principal,
                Action::OrgRead,
                &Resource::Org { id },
                &self.profile,
            )
            .is_allowed() =>
            {
                Err(not_found)
            }
            other => Err(AppError::invalid(
                "id",
                format!(
                    "only merchant and operator organisations are frozen; this one is a {other} \
                     (a resource's supply is frozen on the resource)"
                ),
            )),
        }
    }

    /// Why `grant` may not run now, if anything: not live (revoked, suspended, expired, not
    /// started — through `Grant::is_live` with the merchant's and operator's freeze state), its
    /// merchant or operator frozen, or a granted resource's supply frozen. `Ok(())` means it may
    /// run. Refusals are `Forbidden` with a stable code (`grant_revoked`, `grant_suspended`,
    /// `grant_expired`, `grant_not_started`, `merchant_frozen`, `operator_frozen`,
    /// `supply_frozen`) and say what to do; they name no value, and name `action`, the one
    /// attempted.
    pub async fn grant_liveness(&self, grant: &Grant, action: Action) -> Result<(), AppError> {
        let now = self.now();
        let merchant_freeze = self
            .store
            .active_freeze(FreezeTarget::Merchant(grant.merchant()))
            .await?;
        let operator_freeze = self
            .store
            .active_freeze(FreezeTarget::Operator(grant.operator()))
            .await?;
        let mut supply_frozen = false;
        for resource in grant.resources() {
            if self
                .store
                .active_freeze(FreezeTarget::ResourceSupply(resource.resource))
                .await?
                .is_some()
            {
                supply_frozen = true;
                break;
            }
        }
        if grant.is_live(now, merchant_freeze.is_none(), operator_freeze.is_none())
            && !supply_frozen
        {
            return Ok(());
        }
        match grant.status(now) {
            GrantStatus::Revoked => {
                return Err(not_live(
                    action,
                    "grant_revoked",
                    "the grant is revoked; a new grant is needed".to_owned(),
                ));
            }
            GrantStatus::Suspended => {
                return Err(not_live(
                    action,
                    "grant_suspended",
                    "the grant is suspended; ask the authority or the operator running it to resume it"
                        .to_owned(),
                ));
            }
            GrantStatus::Expired => {
                return Err(not_live(
                    action,
                    "grant_expired",
                    format!(
                        "the grant's term ended at {}; a new grant is needed",
                        grant.term().to
                    ),
                ));
            }
            GrantStatus::Active => {}
        }
        if !grant.term().contains(now) {
            return Err(not_live(
                action,
                "grant_not_started",
                format!("the grant's term starts at {}", grant.term().from),
            ));
        }
        if let Some(freeze) = merchant_freeze {
            return Err(not_live(
                action,
                "merchant_frozen",
                format!(
                    "the merchant organisation is frozen since {}; its workspaces run again once the freeze is lifted",
                    freeze.frozen_at
                ),
            ));
        }
        if let Some(freeze) = operator_freeze {
            return Err(not_live(
                action,
                "operator_frozen",
                format!(
                    "the operator organisation running this grant is frozen since {}; its grants run again once the freeze is lifted",
                    freeze.frozen_at
                ),
            ));
        }
        if supply_frozen {
            return Err(not_live(
                    action,
                "supply_frozen",
                "the supply of a resource this grant names is frozen; the grant runs again once the freeze is lifted"
                    .to_owned(),
            ));
        }
        Err(AppError::Internal(
            "a grant was found not live for no known reason".to_owned(),
        ))
    }

    /// The policy's facts about `target`, checking that it exists and is of the right kind.
    async fn freeze_subject(
        &self,
        ctx: &Ctx,
        target: FreezeTarget,
    ) -> Result<FreezeSubject, AppError> {
        match target {
            FreezeTarget::Merchant(merchant) => {
                self.check_freeze_org(merchant, OrgType::Merchant).await?;
                let serving_operator = match &ctx.principal {
                    Principal::Person(actor) if actor.role == shuyu_core::Role::Operator => self
                        .store
                        .operators_of_merchant(merchant)
                        .await?
                        .contains(&actor.org)
                        .then_some(actor.org),
                    _ => None,
                };
                Ok(FreezeSubject::Merchant {
                    merchant,
                    serving_operator,
                })
            }
            FreezeTarget::Operator(operator) => {
                self.check_freeze_org(operator, OrgType::Operator).await?;
                Ok(FreezeSubject::Operator { operator })
            }
            FreezeTarget::ResourceSupply(resource) => {
                let stored = self
                    .store
                    .resource(resource)
                    .await?
                    .ok_or(AppError::NotFound { kind: "resource" })?;
                Ok(FreezeSubject::ResourceSupply {
                    provider: stored.provider,
                })
            }
        }
    }

    async fn check_freeze_org(&self, id: OrgId, kind: OrgType) -> Result<(), AppError> {
        let org = self.store.org(id).await?.ok_or(AppError::NotFound {
            kind: "organisation",
        })?;
        if org.org_type != kind {
            return Err(AppError::invalid(
                "target",
                format!("the organisation is a {}, not a {kind}", org.org_type),
            ));
        }
        Ok(())
    }
}
