//! Why a catalog command was refused. Each variant is a fact a person can act on; the API maps each to
//! one problem type.

use std::fmt;

/// One thing wrong with a draft: where (`fields[3].grade`) and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftProblem {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for DraftProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.reason)
    }
}

/// Why a resource version may not be authorized (CAT-1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAuthorizable {
    #[error(
        "the resource is in the not-open category (不予开放), which is never authorized (FT2, ZW4, CC8)"
    )]
    NotOpenCannotBeAuthorized,
    #[error(
        "the resource is graded `{grade}` ({label}), a grade that is never authorized; only a lower grade can be authorized"
    )]
    GradeNeverAuthorizable { grade: String, label: String },
    #[error(
        "field `{field}` is graded `{grade}` ({label}), a grade that is never authorized; remove the field or correct its grade in a new version"
    )]
    FieldGradeNeverAuthorizable {
        field: String,
        grade: String,
        label: String,
    },
    #[error(
        "grade `{grade}` is not in the profile's scale ({scale}); the resource must be re-graded in a new version"
    )]
    UnknownGrade { grade: String, scale: String },
    #[error(
        "version {number} is {state}; only the approved current version of a resource can be authorized"
    )]
    NotApproved { number: u32, state: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("the resource draft has {} problem(s): {}", .0.len(), list(.0))]
    InvalidDraft(Vec<DraftProblem>),
    #[error("a {machine} in state `{from}` does not accept `{command}`")]
    IllegalTransition {
        machine: &'static str,
        from: &'static str,
        command: &'static str,
    },
    #[error("a refusal must state its reasons; give at least one non-empty reason")]
    RefusalNeedsReasons,
    #[error("returning a registration must state what to correct; give at least one reason")]
    ReturnNeedsReasons,
    #[error(
        "version {number} is still {state}; approve, refuse or finish it before creating another version"
    )]
    VersionPending { number: u32, state: &'static str },
    #[error("resource version {version} does not belong to this resource")]
    UnknownVersion { version: String },
    #[error("version id {version} is already used by this resource; mint a new id")]
    DuplicateVersionId { version: String },
    #[error(transparent)]
    NotAuthorizable(#[from] NotAuthorizable),
    #[error("the resource has no field `{field}`; fields are: {fields}")]
    UnknownField { field: String, fields: String },
    #[error("{what} must not be empty")]
    EmptyText { what: &'static str },
    #[error(
        "`{0}` is not a registration result code: use 1 to 64 ASCII letters, digits or `-`, as issued by the national platform"
    )]
    InvalidResultCode(String),
    #[error("the profile does not require registration of resources, so none can be submitted")]
    RegistrationNotRequired,
}

fn list(problems: &[DraftProblem]) -> String {
    let parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    parts.join("; ")
}
