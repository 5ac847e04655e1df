//! The one access decision of shuyu: may this principal do this action to this resource?
//!
//! Every API route, console page, CLI command and background job asks [`decide`] before it acts, and
//! nothing else in the code base decides access. The function is pure and total: deny by default (an
//! action not granted below is refused), and a deny from any check wins over every allow. Each denial
//! carries a reason a person can act on, which the caller shows and writes to the audit chain.
//!
//! This crate must never read state itself: what it needs to know (the actor's organisation, the
//! resource's owner) is handed to it by the caller.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::fmt;

use serde::Serialize;
use shuyu_core::{OrgId, PersonId, Role};
use shuyu_profile::Profile;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Nobody signed in: the public.
    Anonymous,
    /// The machine's own operator acting through the `shuyu` CLI on the server (bootstrap, seeding,
    /// offline audit). Whoever runs it holds the data directory and its keys already, so it may
    /// administer accounts and read the chain's integrity, and nothing else.
    System,
    Person(Actor),
}

/// A signed-in person, or a machine client acting with a person's API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub person: PersonId,
    pub org: OrgId,
    pub role: Role,
    pub credential: Credential,
    pub clearance: Clearance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A browser or API session; `second_factor` is true once TOTP (or an SSO login that carried a
    /// second factor) was verified.
    Session { second_factor: bool },
    /// A machine client's API token, scoped to the organisation and role it was issued for.
    ApiToken,
}

/// The personnel record facts that gate data-bearing functions (PART-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clearance {
    pub real_name_verified: bool,
    pub agreement_current: bool,
}

/// Everything shuyu can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sign in with a password (and second factor) or SSO.
    Login,
    /// Read one's own account and personnel record; sign out.
    SelfRead,
    /// Accept the current confidentiality agreement, change one's password, renew one's TOTP.
    SelfManage,
    ProfileRead,
    OrgCreate,
    OrgRead,
    PersonCreate,
    PersonRead,
    /// Record the real-name verification of a person.
    PersonVerify,
    PersonRecordTraining,
    /// Lift a lockout, disable or re-enable an account.
    PersonAdminister,
    /// Link a person to (or unlink them from) an identity of the unified identity system (SSO).
    PersonLinkSso,
    TokenCreate,
    TokenRead,
    TokenRevoke,
    AuditSearch,
    AuditExport,
    /// See whether the chain is intact (no event content).
    AuditVerify,
    /// Register a data resource in the catalog (CAT-1): source department staff for their own
    /// organisation, or the data service agency acting for a source department.
    ResourceRegister,
    /// Draft a new version of a resource.
    ResourceEdit,
    /// Submit the pending draft for the authority's approval.
    ResourceSubmit,
    /// Approve or refuse a submitted version (the authority).
    ResourceReview,
    /// Read a resource with all its versions, drafts and review reasons (not public).
    ResourceRead,
    /// Browse the public catalog: approved resources' metadata, without signing in.
    CatalogBrowse,
    /// Move a national registration record (NAT-1).
    RegistrationManage,
    /// Raise a data quality issue on an approved resource or one of its fields (QLT-1).
    QualityIssueRaise,
    /// Answer a quality issue on one's own organisation's resource.
    QualityIssueAnswer,
    QualityIssueRead,
    /// Import a dataset version (data hooked to an approved resource version): the provider's
    /// source department, or the data service agency acting for it (QQ5).
    DatasetImport,
    /// List a resource's dataset versions with their quality profiles (aggregates only): the
    /// provider's source department, the agency and the authority.
    DatasetRead,
    /// Re-wrap every data key under a new master key: the command line on the server only.
    MasterKeyRotate,
    /// Delete dataset objects that no dataset version references (crash leftovers): the system
    /// only (the server at start, the command line), never a person.
    DatasetSweep,
    /// Read a grant (scenario, fields and their controls, term, budget, status). Not data-bearing:
    /// a grant describes a permission, not data, so the PART-3 clearance gate does not apply; a
    /// merchant's own personnel must still be real-name verified to see their organisation's grants.
    GrantRead,
    /// Create a grant: only the system, through the one seeding function (tests, the demo seed).
    /// In a later issue grants come from signed development agreements; no person seeds one.
    GrantSeed,
    /// Suspend an active grant: the authority, or the operator running it.
    GrantSuspend,
    /// Resume a suspended grant within its term: the authority, or the operator running it.
    GrantResume,
    /// Revoke a grant for good: the authority, or the operator running it.
    GrantRevoke,
    /// Read a workspace: its tables and fields, its queries and released results, its budget
    /// ledger and metering. The merchant's real-name-verified personnel; for oversight the
    /// authority, supervisors and the operator running the grant. Not data-bearing: everything
    /// shown passed the output control (development rows are desensitized or simulated).
    WorkspaceRead,
    /// Build a workspace's development tables (desensitized samples or simulated rows made inside
    /// the domain from the real data): the merchant's cleared personnel (data-bearing).
    WorkspacePrepare,
    /// Run a query in a workspace, in development or production: the merchant's cleared personnel
    /// only (data-bearing). The grant's term and liveness are checked by the app.
    WorkspaceQuery,
    /// Freeze an organisation (SBX-9), with a reason: a merchant (all its workspaces stop) by the
    /// authority or by an operator running one of its grants; an operator (every grant it runs
    /// stops) by the authority only.
    OrgFreeze,
    /// Lift an organisation's freeze, with a reason: the authority, or the operator that set it.
    OrgUnfreeze,
    /// Freeze a resource's supply (every grant over it stops), with a reason: the authority only.
    SupplyFreeze,
    /// Lift a resource's supply freeze, with a reason: the authority only.
    SupplyUnfreeze,
    /// See an active freeze (target, who, when, why): the authority and supervisors all, an
    /// organisation the freezes that concern it.
    FreezeRead,
    /// Ask to bring the merchant's own (social) data into its workspace for fusion computation
    /// (CC18(3), ZW26): the merchant's cleared personnel (data-bearing: the file is imported into
    /// the domain at once, pending the authority's review).
    FusionRequest,
    /// Withdraw a pending fusion import: the merchant's cleared personnel.
    FusionWithdraw,
    /// Approve or reject (with a reason) a pending fusion import: the authority only — neither the
    /// operator nor the merchant approves its own data into the domain.
    FusionReview,
    /// Revoke an approved fusion import (its table leaves the workspace): the authority only.
    FusionRevoke,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Login,
        Action::SelfRead,
        Action::SelfManage,
        Action::ProfileRead,
        Action::OrgCreate,
        Action::OrgRead,
        Action::PersonCreate,
        Action::PersonRead,
        Action::PersonVerify,
        Action::PersonRecordTraining,
        Action::PersonAdminister,
        Action::PersonLinkSso,
        Action::TokenCreate,
        Action::TokenRead,
        Action::TokenRevoke,
        Action::AuditSearch,
        Action::AuditExport,
        Action::AuditVerify,
        Action::ResourceRegister,
        Action::ResourceEdit,
        Action::ResourceSubmit,
        Action::ResourceReview,
        Action::ResourceRead,
        Action::CatalogBrowse,
        Action::RegistrationManage,
        Action::QualityIssueRaise,
        Action::QualityIssueAnswer,
        Action::QualityIssueRead,
        Action::DatasetImport,
        Action::DatasetRead,
        Action::MasterKeyRotate,
        Action::DatasetSweep,
        Action::GrantRead,
        Action::GrantSeed,
        Action::GrantSuspend,
        Action::GrantResume,
        Action::GrantRevoke,
        Action::WorkspaceRead,
        Action::WorkspacePrepare,
        Action::WorkspaceQuery,
        Action::OrgFreeze,
        Action::OrgUnfreeze,
        Action::SupplyFreeze,
        Action::SupplyUnfreeze,
        Action::FreezeRead,
        Action::FusionRequest,
        Action::FusionWithdraw,
        Action::FusionReview,
        Action::FusionRevoke,
    ];

    /// The name used in audit events (`org.create`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Login => "auth.login",
            Action::SelfRead => "self.read",
            Action::SelfManage => "self.manage",
            Action::ProfileRead => "profile.read",
            Action::OrgCreate => "org.create",
            Action::OrgRead => "org.read",
            Action::PersonCreate => "person.create",
            Action::PersonRead => "person.read",
            Action::PersonVerify => "person.verify",
            Action::PersonRecordTraining => "person.training",
            Action::PersonAdminister => "person.administer",
            Action::PersonLinkSso => "person.link_sso",
            Action::TokenCreate => "token.create",
            Action::TokenRead => "token.read",
            Action::TokenRevoke => "token.revoke",
            Action::AuditSearch => "audit.search",
            Action::AuditExport => "audit.export",
            Action::AuditVerify => "audit.verify",
            Action::ResourceRegister => "resource.register",
            Action::ResourceEdit => "resource.edit",
            Action::ResourceSubmit => "resource.submit",
            Action::ResourceReview => "resource.review",
            Action::ResourceRead => "resource.read",
            Action::CatalogBrowse => "catalog.browse",
            Action::RegistrationManage => "registration.manage",
            Action::QualityIssueRaise => "quality_issue.raise",
            Action::QualityIssueAnswer => "quality_issue.answer",
            Action::QualityIssueRead => "quality_issue.read",
            Action::DatasetImport => "dataset.import",
            Action::DatasetRead => "dataset.read",
            Action::MasterKeyRotate => "key.rotate",
            Action::DatasetSweep => "dataset.sweep",
            Action::GrantRead => "grant.read",
            Action::GrantSeed => "grant.seed",
            Action::GrantSuspend => "grant.suspend",
            Action::GrantResume => "grant.resume",
            Action::GrantRevoke => "grant.revoke",
            Action::WorkspaceRead => "workspace.read",
            Action::WorkspacePrepare => "workspace.prepare",
            Action::WorkspaceQuery => "workspace.query",
            Action::OrgFreeze => "org.freeze",
            Action::OrgUnfreeze => "org.unfreeze",
            Action::SupplyFreeze => "resource.supply_freeze",
            Action::SupplyUnfreeze => "resource.supply_unfreeze",
            Action::FreezeRead => "freeze.read",
            Action::FusionRequest => "fusion.request",
            Action::FusionWithdraw => "fusion.withdraw",
            Action::FusionReview => "fusion.review",
            Action::FusionRevoke => "fusion.revoke",
        }
    }

    /// Functions that show or move data about people or public data. Only cleared personnel
    /// (real-name verified, current confidentiality agreement accepted) may open them (PART-3).
    pub const fn is_data_bearing(self) -> bool {
        matches!(
            self,
            Action::AuditSearch
                | Action::AuditExport
                | Action::DatasetImport
                | Action::WorkspacePrepare
                | Action::WorkspaceQuery
                | Action::FusionRequest
                | Action::FusionWithdraw
        )
    }

    /// Functions a machine token must never perform: they manage credentials or the person itself.
    const fn needs_interactive_session(self) -> bool {
        matches!(
            self,
            Action::SelfManage | Action::TokenCreate | Action::TokenRevoke
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the action is done to. The caller loads the owner facts; the policy never reads state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The platform as a whole (creating organisations, the profile, sign-in).
    Platform,
    Org {
        id: OrgId,
    },
    Person {
        id: PersonId,
        org: OrgId,
    },
    /// An API token that exists, with its organisation and the person who created it.
    Token {
        org: OrgId,
        owner: PersonId,
    },
    /// A token about to be issued, with the organisation and role it would act as.
    NewToken {
        org: OrgId,
        role: Role,
    },
    AuditTrail,
    /// The public catalog as a whole (its listing).
    PublicCatalog,
    /// A resource of the catalog, with the organisation that provides it; `public` once a version
    /// is approved (only then is its metadata in the public catalog).
    CatalogEntry {
        provider: OrgId,
        public: bool,
    },
    /// The national registration record of a resource; `authority_step` for the moves only the
    /// authority records (start review, return, public notice, register).
    Registration {
        provider: OrgId,
        authority_step: bool,
    },
    /// A data quality issue: the provider of the resource and the organisation that raised it.
    QualityIssue {
        provider: OrgId,
        raised_by: OrgId,
    },
    /// A grant of the secure domain: the merchant organisation it permits and the operator
    /// organisation running it. A grant about to be seeded is described the same way.
    Grant {
        merchant: OrgId,
        operator: OrgId,
    },
    /// A freeze (SBX-9), existing or about to be set: what it is on and, for an existing one, the
    /// organisation of the person who set it (`None` for a new freeze).
    Freeze {
        subject: FreezeSubject,
        frozen_by: Option<OrgId>,
    },
}

/// What a freeze is on, with the facts the policy needs (looked up by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeSubject {
    /// A merchant organisation. `serving_operator` is the actor's own organisation when it runs
    /// at least one grant of this merchant, and `None` otherwise: an operator may freeze only the
    /// merchants whose workspaces it runs.
    Merchant {
        merchant: OrgId,
        serving_operator: Option<OrgId>,
    },
    /// An operator organisation.
    Operator { operator: OrgId },
    /// The supply of a catalog resource, with the organisation that provides it.
    ResourceSupply { provider: OrgId },
}

/// The answer, with the reason for a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Denial),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    /// Stable machine-readable code, e.g. `not_cleared`.
    pub code: &'static str,
    /// A sentence the person can act on. Never contains data values.
    pub message: String,
    /// The refused action's name (`audit.search`), for translations and support.
    pub action: &'static str,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    fn deny(code: &'static str, message: impl Into<String>) -> Self {
        Decision::Deny(Denial {
            code,
            message: message.into(),
            action: "",
        })
    }
}

/// The access decision. Checks run in order; the first deny wins, and if no grant matches the
/// answer is deny.
pub fn decide(
    principal: &Principal,
    action: Action,
    resource: &Resource,
    profile: &Profile,
) -> Decision {
    match decide_unnamed(principal, action, resource, profile) {
        Decision::Deny(denial) => Decision::Deny(Denial {
            action: action.as_str(),
            ..denial
        }),
        Decision::Allow => Decision::Allow,
    }
}

/// The checks and grants; [`decide`] stamps the action's name on a denial.
fn decide_unnamed(
    principal: &Principal,
    action: Action,
    resource: &Resource,
    profile: &Profile,
) -> Decision {
    let actor = match principal {
        Principal::Anonymous => {
            return match (action, resource) {
                (Action::Login, _) => Decision::Allow,
                (Action::CatalogBrowse, r) if is_public_catalog(r) => Decision::Allow,
                _ => Decision::deny(
                    "not_signed_in",
                    "sign in first: this function is not public",
                ),
            };
        }
        Principal::System => {
            return match action {
                Action::OrgCreate
                | Action::OrgRead
                | Action::PersonCreate
                | Action::PersonRead
                | Action::PersonVerify
                | Action::PersonRecordTraining
                | Action::PersonAdminister
                | Action::PersonLinkSso
                | Action::AuditVerify
                | Action::AuditExport
                | Action::MasterKeyRotate
                | Action::DatasetSweep
                | Action::DatasetRead
                | Action::GrantSeed
                | Action::GrantRead
                | Action::FreezeRead
                | Action::ProfileRead => Decision::Allow,
                _ => Decision::deny(
                    "forbidden",
                    format!("the command line may not perform {action}"),
                ),
            };
        }
        Principal::Person(actor) => actor,
    };

    if actor.credential == Credential::ApiToken && action.needs_interactive_session() {
        return Decision::deny(
            "interactive_session_required",
            format!("{action} manages credentials and needs a signed-in person, not an API token"),
        );
    }
    if let Credential::Session {
        second_factor: false,
    } = actor.credential
        && profile.requires_second_factor(actor.role)
    {
        return Decision::deny(
            "second_factor_required",
            format!(
                "the {} role must confirm a second factor (TOTP code or SSO) before anything else",
                actor.role
            ),
        );
    }
    if action.is_data_bearing() {
        if !actor.clearance.real_name_verified {
            return Decision::deny(
                "not_cleared",
                "your real-name verification is not recorded yet; ask your operator's compliance staff to verify you",
            );
        }
        if !actor.clearance.agreement_current {
            return Decision::deny(
                "not_cleared",
                "accept the current confidentiality agreement (on your account page) before opening this function",
            );
        }
    }
    grant(actor, action, resource, profile)
}

/// The public catalog and its approved entries: what anyone may browse.
fn is_public_catalog(resource: &Resource) -> bool {
    matches!(
        resource,
        Resource::PublicCatalog | Resource::CatalogEntry { public: true, .. }
    )
}

/// The grants: which role may do what. Anything not listed is denied.
///
/// Catalog: a source department acts for its own organisation; the data service agency
/// (公共数据服务机构) acts for every source department where the profile gives it that task
/// (`catalog.agency_supplies`, QQ5: the city-level agency compiles the catalog and aggregates and
/// supplies the public data of all departments), and for none elsewhere.
fn grant(actor: &Actor, action: Action, resource: &Resource, profile: &Profile) -> Decision {
    use Role::*;
    let role = actor.role;
    let acts_for = |provider: OrgId| may_act_for(actor, provider, profile);
    let oversight = matches!(role, Admin | Authority | Operator | Supervisor);
    // An operator running at least one of the merchant's grants (the caller looked it up).
    let serves =
        |serving_operator: Option<OrgId>| role == Operator && serving_operator == Some(actor.org);
    let allowed = match (action, resource) {
        (
            Action::Login | Action::SelfRead | Action::SelfManage | Action::ProfileRead,
            Resource::Platform,
        ) => true,
        (Action::OrgCreate, Resource::Platform) => role == Admin,
        (Action::OrgRead, Resource::Org { id }) => oversight || *id == actor.org,
        (Action::PersonCreate, Resource::Org { .. }) => role == Admin,
        (Action::PersonRead, Resource::Person { id, org }) => {
            oversight || *org == actor.org || *id == actor.person
        }
        (Action::PersonVerify | Action::PersonRecordTraining, Resource::Person { .. }) => {
            matches!(role, Admin | Operator)
        }
        // Nobody administers or links their own account: a second administrator (or the command
        // line) does, so no one grants themselves a credential.
        (Action::PersonAdminister | Action::PersonLinkSso, Resource::Person { id, .. }) => {
            role == Admin && *id != actor.person
        }
        (
            Action::TokenCreate,
            Resource::NewToken {
                org,
                role: token_role,
            },
        ) => *org == actor.org && *token_role == role,
        (Action::TokenRead | Action::TokenRevoke, Resource::Token { org, owner }) => {
            *owner == actor.person || (role == Admin && *org == actor.org)
        }
        (Action::AuditSearch | Action::AuditExport, Resource::AuditTrail) => {
            matches!(role, Supervisor | Authority)
        }
        (Action::AuditVerify, Resource::AuditTrail) => {
            matches!(role, Supervisor | Authority | Admin)
        }
        (Action::ResourceRegister, Resource::Org { id }) => acts_for(*id),
        (
            Action::ResourceEdit | Action::ResourceSubmit,
            Resource::CatalogEntry { provider, .. },
        ) => acts_for(*provider),
        (Action::ResourceReview, Resource::CatalogEntry { .. }) => role == Authority,
        (Action::ResourceRead, Resource::CatalogEntry { provider, .. }) => {
            oversight || *provider == actor.org || acts_for(*provider)
        }
        (Action::CatalogBrowse, r) => is_public_catalog(r),
        (
            Action::RegistrationManage,
            Resource::Registration {
                provider,
                authority_step,
            },
        ) => role == Authority || (!*authority_step && acts_for(*provider)),
        (Action::QualityIssueRaise, Resource::CatalogEntry { public: true, .. }) => {
            matches!(role, Operator | Merchant)
        }
        (Action::QualityIssueAnswer, Resource::QualityIssue { provider, .. }) => {
            role == SourceDepartment && *provider == actor.org
        }
        (
            Action::QualityIssueRead,
            Resource::QualityIssue {
                provider,
                raised_by,
            },
        ) => role == Authority || *provider == actor.org || *raised_by == actor.org,
        (Action::DatasetImport, Resource::CatalogEntry { provider, .. }) => acts_for(*provider),
        (Action::DatasetRead, Resource::CatalogEntry { provider, .. }) => {
            role == Authority || acts_for(*provider)
        }
        (Action::GrantRead, Resource::Grant { merchant, operator }) => {
            matches!(role, Authority | Supervisor)
                || (role == Operator && *operator == actor.org)
                || (role == Merchant
                    && *merchant == actor.org
                    && actor.clearance.real_name_verified)
        }
        (
            Action::GrantSuspend | Action::GrantResume | Action::GrantRevoke,
            Resource::Grant { operator, .. },
        ) => role == Authority || (role == Operator && *operator == actor.org),
        (Action::WorkspaceRead, Resource::Grant { merchant, operator }) => {
            matches!(role, Authority | Supervisor)
                || (role == Operator && *operator == actor.org)
                || (role == Merchant
                    && *merchant == actor.org
                    && actor.clearance.real_name_verified)
        }
        (Action::WorkspacePrepare | Action::WorkspaceQuery, Resource::Grant { merchant, .. }) => {
            role == Merchant && *merchant == actor.org
        }
        (Action::FusionRequest | Action::FusionWithdraw, Resource::Grant { merchant, .. }) => {
            role == Merchant && *merchant == actor.org
        }
        (Action::FusionReview | Action::FusionRevoke, Resource::Grant { .. }) => role == Authority,
        (Action::OrgFreeze, Resource::Freeze { subject, .. }) => match subject {
            FreezeSubject::Merchant {
                serving_operator, ..
            } => role == Authority || serves(*serving_operator),
            FreezeSubject::Operator { .. } => role == Authority,
            FreezeSubject::ResourceSupply { .. } => false,
        },
        (Action::OrgUnfreeze, Resource::Freeze { subject, frozen_by }) => match subject {
            FreezeSubject::Merchant {
                serving_operator, ..
            } => role == Authority || (serves(*serving_operator) && *frozen_by == Some(actor.org)),
            FreezeSubject::Operator { .. } => role == Authority,
            FreezeSubject::ResourceSupply { .. } => false,
        },
        (
            Action::SupplyFreeze | Action::SupplyUnfreeze,
            Resource::Freeze {
                subject: FreezeSubject::ResourceSupply { .. },
                ..
            },
        ) => role == Authority,
        (Action::FreezeRead, Resource::Freeze { subject, frozen_by }) => {
            matches!(role, Authority | Supervisor)
                || (role == Operator && *frozen_by == Some(actor.org))
                || match subject {
                    FreezeSubject::Merchant {
                        merchant,
                        serving_operator,
                    } => {
                        serves(*serving_operator)
                            || (role == Merchant
                                && *merchant == actor.org
                                && actor.clearance.real_name_verified)
                    }
                    FreezeSubject::Operator { operator } => {
                        role == Operator && *operator == actor.org
                    }
                    FreezeSubject::ResourceSupply { provider } => acts_for(*provider),
                }
        }
        _ => false,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::deny(
            "forbidden",
            format!(
                "the {} role may not perform {action} on this object",
                role.as_str()
            ),
        )
    }
}

/// Whether the actor may act for the source department `provider`: its own staff, or the data
/// service agency where the profile gives it the supply of data (`catalog.agency_supplies`).
fn may_act_for(actor: &Actor, provider: OrgId, profile: &Profile) -> bool {
    (actor.role == Role::SourceDepartment && provider == actor.org)
        || (actor.role == Role::DataServiceAgency && profile.catalog().agency_supplies.value)
}

#[cfg(test)]
mod tests;
