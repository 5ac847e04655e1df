//! Grants of the secure domain (授权运营域, issue 5): the exact, time-bound permission of a merchant
//! organisation to use data — scenario, resources and granted fields (each with its column control
//! and desensitization), usage method, term, minimum group size and privacy budget — and its status.
//!
//! - [`Grant::seed`] checks a [`NewGrant`] against the catalog (approved, authorizable versions; the
//!   fields exist; a field's handling may be tightened from its default, never loosened) and the
//!   profile's `[sandbox]` bounds (usage method per grade, term, group size, budget).
//! - The lifecycle is a small state machine: [`Grant::handle`] decides a [`GrantCommand`]
//!   (suspend, resume, revoke, each with a reason) and [`Grant::apply`] moves the state; `expired` is
//!   derived from the term ([`Grant::status`]). A grant dies with its merchant's or operator's
//!   access ([`Grant::is_live`]).
//!
//! Must never:
//! - do I/O or read the clock: `now` is handed in, ids are minted by the caller;
//! - hold a rule that differs between cities: bounds come from the profile;
//! - let a field be used more permissively than its catalog default, or a grade with a usage method
//!   its profile does not allow;
//! - leave a revoked grant: `revoked` is terminal.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod error;
mod fusion;
mod grant;
mod lifecycle;

pub use error::GrantError;
pub use fusion::{
    FusionColumn, FusionCommand, FusionDeclaration, FusionError, FusionEvent, FusionState,
    FusionUnit, MAX_FUSION_COLUMNS, MAX_LEGAL_BASIS, parse_columns, parse_unit,
};
pub use grant::{
    ClampBounds, FieldRequest, Grant, GrantedField, GrantedResource, NewGrant, ResourceRequest,
    Scenario, ScenarioCategory, Term, desensitization_at_least_as_strict, valid_table_name,
};
pub use lifecycle::{GrantCommand, GrantEvent, GrantState, GrantStatus, StatusChange};
pub use shuyu_core::{GrantId, WorkspaceId};
pub use shuyu_profile::{PrivacyBudget, UsageMethod};
