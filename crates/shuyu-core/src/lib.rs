//! The vocabulary every shuyu crate shares: typed identifiers, validated values, time and roles.
//!
//! Everything here is pure: no I/O, no wall clock, no randomness. A value of a type from this crate is
//! valid by construction (parse, don't validate), so no caller re-checks it.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod credit_code;
mod id;
mod role;
mod text;
mod time;

pub use credit_code::{CreditCode, CreditCodeError};
pub use id::{
    DatasetId, FusionId, GrantId, IdError, OrgId, PersonId, QualityIssueId, QueryId, RequestId,
    ResourceId, ResourceVersionId, TokenId, WorkspaceId,
};
pub use role::{OrgType, Role, RoleError};
pub use text::{Name, TextError, Username};
pub use time::Timestamp;
