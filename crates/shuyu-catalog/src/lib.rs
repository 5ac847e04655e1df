//! The public data catalog (CAT-1, CAT-2, CAT-5, QLT-1, NAT-1): what a source department registers,
//! how it is checked against the profile's grading scale and domains, its versions and their
//! field-level differences, the authority's approval, whether a version may be authorized, the
//! national registration record and package, and data quality issues.
//!
//! Every lifecycle is an enum state with `handle(&self, cmd, now, &Profile) -> Result<Vec<Event>, _>`
//! and `apply(self, &Event) -> Self`; there are no setters.
//!
//! Must never:
//! - do I/O or read the clock: `now` is handed in, ids are minted by the caller;
//! - hold a rule that differs between cities: scales, domains, deadlines come from the profile;
//! - let a not-open resource, or one graded with a grade the profile never authorizes (core data,
//!   state secrets), be authorized ([`authorizable`]).
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod diff;
mod error;
mod model;
mod quality;
mod registration;
mod resource;

pub use diff::{Change, diff};
pub use error::{CatalogError, DraftProblem, NotAuthorizable};
pub use model::{
    ColumnName, Coverage, FieldDraft, FieldFlags, FieldSpec, FieldType, MAX_TEXT, Metadata,
    OpenCategory, ResourceDraft, UpdateFrequency, ValidatedResource,
};
pub use quality::{
    IssueState, IssueStatus, IssueTarget, QualityCommand, QualityCounts, QualityEvent,
    QualityIssue, counts, due_date,
};
pub use registration::{
    Agent, Document, RegistrationCommand, RegistrationDetails, RegistrationEvent,
    RegistrationRecord, RegistrationState, ResultCode, registration_package,
};
pub use resource::{
    AuthorizationConditions, Resource, ResourceCommand, ResourceEvent, ResourceVersion,
    VersionState, authorizable,
};
pub use shuyu_core::{QualityIssueId, ResourceId, ResourceVersionId};
pub use shuyu_quality::FormatKind;
