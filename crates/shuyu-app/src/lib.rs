//! The use cases of shuyu. Each public method of [`App`] is one thing a person (or the command line)
//! asks for, and follows the same four steps:
//!
//! 1. **authorize**: ask `shuyu_policy::decide`; a refusal is itself written to the audit chain;
//! 2. **load** what the decision and the change need;
//! 3. **decide** with pure domain code (`shuyu-identity` and later domain crates);
//! 4. **save** the change and its audit event in one `shuyu_store::Tx`.
//!
//! The app never reads the wall clock or the OS RNG itself: a [`Clock`] and a seeded CSPRNG are
//! handed to it, so tests run on fixed time and reproducible randomness.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod audit;
mod auth;
mod catalog;
mod datasets;
mod error;
mod freeze;
mod grants;
mod imports;
mod inflight;
mod orgs;
mod people;
mod sso;
mod tokens;
mod workspaces;

use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use serde::Serialize;
use shuyu_audit::{EventDraft, Outcome, change_digest};
use shuyu_core::{RequestId, Timestamp};
use shuyu_identity::{LoginRules, PasswordPolicy};
use shuyu_policy::{Action, Decision, Principal, Resource};
use shuyu_profile::Profile;
use shuyu_store::Store;

pub use audit::AuditQuery;
pub use auth::{NewSession, SessionView};
pub use catalog::{
    CatalogQuery, NewResource, PublicEntry, QualityIssues, RegistrationInput, RegistrationStep,
    ResourceView,
};
pub use datasets::{
    DEFAULT_CACHE_BYTES, DataStore, DatasetView, FieldQuality, ImportSource, ProgressFn, Rotation,
    SWEEP_GRACE_SECONDS, Sweep, SweptObject,
};
pub use error::AppError;
pub use freeze::{FreezeState, FreezeTarget, FreezeView, MAX_FREEZE_REASON, freeze_stops};
pub use grants::GrantView;
pub use imports::{
    ImportJob, ImportJobs, ImportState, KEEP_FINISHED, KEEP_FINISHED_SECONDS, PendingImport,
    UploadError, UploadKind, log_progress,
};
pub use inflight::{InFlight, InFlightQuery, QueryScope};
pub use orgs::NewOrg;
pub use people::{NewPerson, PersonView};
pub use shuyu_engine::{
    ImportOptions, KeyRing, MASTER_KEY_ENV, ObjectStorage, Progress, S3Storage, Secret,
};
pub use shuyu_grant::{
    ClampBounds, FieldRequest, FusionColumn, FusionCommand, FusionDeclaration, FusionError,
    FusionState, FusionUnit, Grant, GrantEvent, GrantState, GrantStatus, NewGrant, ResourceRequest,
    Scenario, ScenarioCategory, Term,
};
pub use shuyu_sandbox::QueryDomain;
pub use shuyu_store::FreezeLift;
pub use sso::{
    IdentityProvider, LoginSecrets, ProviderError, ProviderFuture, SSO_LOGIN_SECONDS, SsoCallback,
    SsoLogin, SsoRefusal, SsoSettings, SsoStart, VerifiedIdentity,
};
pub use tokens::IssuedToken;
pub use workspaces::{
    ColumnError, Contribution, DevMode, DevTableInfo, DpEstimate, Env, FusionView, LedgerView,
    MAX_DEV_ROWS, MeteringView, PopulationLedgerView, PreparationView, Production, QueryRequest,
    QueryView, ResultColumn, ResultTable, SpendView, TotalsView, WorkspaceField, WorkspaceTable,
    WorkspaceView, fusion_declaration,
};

/// The source of "now". Only the binary implements it with the wall clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Deployment settings that are the platform's own (not a regulation's: those are the profile).
#[derive(Debug, Clone)]
pub struct Settings {
    pub login: LoginRules,
    pub password: PasswordPolicy,
    /// The version of the confidentiality agreement people must have accepted (PART-3).
    pub agreement_version: String,
    /// Longest life of an API token.
    pub token_max_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            login: LoginRules::default(),
            password: PasswordPolicy::default(),
            agreement_version: "2026-01".into(),
            token_max_days: 365,
        }
    }
}

/// Who is asking, from where, under which request id.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub principal: Principal,
    pub request_id: RequestId,
    /// Client address, or "cli" for the command line.
    pub source: String,
}

impl Ctx {
    /// The command line on the server (see `Principal::System`).
    pub fn system(request_id: RequestId) -> Self {
        Self {
            principal: Principal::System,
            request_id,
            source: "cli".into(),
        }
    }
}

/// The application: store, rules, time and randomness.
#[derive(Clone)]
pub struct App {
    store: Store,
    profile: Arc<Profile>,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    rng: Arc<Mutex<StdRng>>,
    /// Single sign-on through the unified identity system, when configured.
    sso: Option<Arc<SsoSettings>>,
    /// Dataset objects and their keys, when configured.
    data: Option<Arc<DataStore>>,
    /// The secure domain's running queries, cancelled when what they rest on is stopped.
    inflight: Arc<InFlight>,
    /// The memory all running queries share and the runtime they run on.
    query_domain: Arc<shuyu_sandbox::QueryDomain>,
}

/// The memory all running queries share by default: 2 GiB (the server's `query.memory_mib`).
pub const DEFAULT_DOMAIN_MEMORY_BYTES: usize = 2 * 1024 * 1024 * 1024;

impl App {
    pub fn new(
        store: Store,
        profile: Profile,
        settings: Settings,
        clock: Arc<dyn Clock>,
        rng: StdRng,
    ) -> Self {
        Self {
            store,
            profile: Arc::new(profile),
            settings: Arc::new(settings),
            clock,
            rng: Arc::new(Mutex::new(rng)),
            sso: None,
            data: None,
            inflight: Arc::new(InFlight::new()),
            query_domain: shuyu_sandbox::QueryDomain::shared(DEFAULT_DOMAIN_MEMORY_BYTES),
        }
    }

    /// The same app running queries in `domain` (the server: a dedicated runtime and its
    /// `query.memory_mib`; by default queries share 2 GiB on the caller's runtime).
    #[must_use]
    pub fn with_query_domain(mut self, domain: Arc<shuyu_sandbox::QueryDomain>) -> Self {
        self.query_domain = domain;
        self
    }

    /// The memory running queries hold now and the bound they share, in bytes.
    #[must_use]
    pub fn query_memory(&self) -> (usize, usize) {
        (self.query_domain.used(), self.query_domain.limit())
    }

    pub(crate) fn query_domain(&self) -> &Arc<shuyu_sandbox::QueryDomain> {
        &self.query_domain
    }

    /// The same app with single sign-on through `sso` (the binary's `[oidc]` section).
    #[must_use]
    pub fn with_sso(mut self, sso: SsoSettings) -> Self {
        self.sso = Some(Arc::new(sso));
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The registry of running queries: a query registers here and runs under its token; freezes
    /// and grant suspensions and revocations cancel the matching ones.
    pub fn inflight(&self) -> &InFlight {
        &self.inflight
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs `f` with the app's CSPRNG.
    pub(crate) fn with_rng<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        let mut guard = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    pub(crate) fn random_bytes<const N: usize>(&self) -> [u8; N] {
        use rand::RngExt;
        self.with_rng(|rng| rng.random())
    }

    /// Step 1 of every use case: the policy decides; a refusal is written to the chain and returned.
    pub(crate) async fn authorize(
        &self,
        ctx: &Ctx,
        action: Action,
        resource: &Resource,
        object: Object<'_>,
    ) -> Result<(), AppError> {
        match shuyu_policy::decide(&ctx.principal, action, resource, &self.profile) {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => {
                let detail = format!("{}: {}", denial.code, denial.message);
                let draft = self.event(ctx, action.as_str(), object, &(), Outcome::Denied, &detail);
                let mut tx = self.store.begin().await?;
                tx.audit(draft).await?;
                tx.commit().await?;
                Err(AppError::Forbidden(denial))
            }
        }
    }

    /// For listings, which filter by the policy per item: the public is refused (and audited) up
    /// front instead of receiving an empty list.
    pub(crate) async fn refuse_anonymous(&self, ctx: &Ctx, action: Action) -> Result<(), AppError> {
        if matches!(ctx.principal, Principal::Anonymous) {
            self.authorize(ctx, action, &Resource::Platform, Object::platform())
                .await?;
        }
        Ok(())
    }

    /// Records a read of personal data (AUD-1: every data access is on the chain). The command
    /// line's own look-ups are not reads by a person and are not recorded.
    pub(crate) async fn record_read(
        &self,
        ctx: &Ctx,
        action: &str,
        object: Object<'_>,
        detail: &str,
    ) -> Result<(), AppError> {
        if matches!(ctx.principal, Principal::System) {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        tx.audit(self.event(ctx, action, object, &(), Outcome::Ok, detail))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that `action` on `object` failed after the policy allowed it (`detail` says why,
    /// never a value), in a transaction of its own, and answers `err` — or the store's error if
    /// even that cannot be written.
    pub(crate) async fn failed(
        &self,
        ctx: &Ctx,
        action: Action,
        object: Object<'_>,
        detail: &str,
        err: AppError,
    ) -> AppError {
        let draft = self.event(ctx, action.as_str(), object, &(), Outcome::Failed, detail);
        let written = async {
            let mut tx = self.store.begin().await?;
            tx.audit(draft).await?;
            tx.commit().await
        }
        .await;
        match written {
            Ok(()) => err,
            Err(e) => e.into(),
        }
    }

    /// Builds an audit event for `ctx`. `change` is digested (SM3 of its JSON), never stored.
    pub(crate) fn event(
        &self,
        ctx: &Ctx,
        action: &str,
        object: Object<'_>,
        change: &impl Serialize,
        outcome: Outcome,
        detail: &str,
    ) -> EventDraft {
        let (person, org, role) = match &ctx.principal {
            Principal::Anonymous => (None, None, "anonymous".to_owned()),
            Principal::System => (None, None, "system".to_owned()),
            Principal::Person(actor) => {
                let role = match actor.credential {
                    shuyu_policy::Credential::ApiToken => format!("{}+token", actor.role),
                    shuyu_policy::Credential::Session { .. } => actor.role.as_str().to_owned(),
                };
                (
                    Some(actor.person.to_string()),
                    Some(actor.org.to_string()),
                    role,
                )
            }
        };
        let change = serde_json::to_vec(change).unwrap_or_default();
        EventDraft {
            at_micros: self.now().unix_micros(),
            actor_person: person,
            actor_org: org,
            role,
            action: action.to_owned(),
            object_type: object.kind.to_owned(),
            object_id: object.id,
            digest: change_digest(&change),
            request_id: ctx.request_id.to_string(),
            source: ctx.source.clone(),
            outcome,
            detail: detail.chars().take(500).collect(),
        }
    }
}

/// What an audit event is about.
#[derive(Debug, Clone)]
pub(crate) struct Object<'a> {
    pub kind: &'a str,
    pub id: String,
}

impl<'a> Object<'a> {
    pub(crate) fn new(kind: &'a str, id: impl ToString) -> Self {
        Self {
            kind,
            id: id.to_string(),
        }
    }

    pub(crate) fn platform() -> Self {
        Self {
            kind: "platform",
            id: String::new(),
        }
    }
}

impl App {
    /// The profile, for a signed-in reader (it shows to every signed-in user).
    pub async fn read_profile(&self, ctx: &Ctx) -> Result<&Profile, AppError> {
        self.authorize(
            ctx,
            Action::ProfileRead,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        Ok(&self.profile)
    }
}
