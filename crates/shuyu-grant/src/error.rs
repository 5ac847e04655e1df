//! Why a grant was refused or a move of it was not allowed. Each variant names the input it is about
//! ([`GrantError::path`], e.g. `resources[1].fields[0].column_control`) and says what to change; none
//! carries a data value.

use shuyu_catalog::NotAuthorizable;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the scenario needs a name (1 to {max} characters)")]
    ScenarioName { max: usize },
    #[error("a grant covers at least one resource")]
    NoResources,
    #[error("resource {resource} is listed twice; list each resource once with all its fields")]
    DuplicateResource { index: usize, resource: String },
    #[error(
        "`{table}` cannot name a workspace table: use lower-case letters, digits and `_`, starting with a letter (at most 63 characters)"
    )]
    TableName { index: usize, table: String },
    #[error("table name `{table}` is used twice; give each granted resource its own table name")]
    DuplicateTable { index: usize, table: String },
    #[error(
        "field `{field}`: clamping bounds are for integer or decimal fields and need lower < upper"
    )]
    Bounds {
        index: usize,
        field_index: usize,
        field: String,
    },
    #[error("no granted field for resource {resource}; list the fields the scenario needs")]
    NoFields { index: usize, resource: String },
    #[error(
        "version {version} is not a version of resource {resource}; grant the resource's approved version"
    )]
    UnknownVersion {
        index: usize,
        resource: String,
        version: String,
    },
    #[error("resource {resource} cannot be granted: {reason}")]
    NotAuthorizable {
        index: usize,
        resource: String,
        reason: NotAuthorizable,
    },
    #[error("the resource has no field `{field}`; its fields are: {fields}")]
    UnknownField {
        index: usize,
        field_index: usize,
        field: String,
        fields: String,
    },
    #[error("field `{field}` is listed twice; list each field once")]
    DuplicateField {
        index: usize,
        field_index: usize,
        field: String,
    },
    #[error(
        "field `{field}` may be at most `{default}` (its catalog default); `{asked}` would loosen it — choose `{default}` or a stricter control"
    )]
    LoosenedControl {
        index: usize,
        field_index: usize,
        field: String,
        asked: &'static str,
        default: &'static str,
    },
    #[error(
        "field `{field}` would be denied, so granting it is pointless; leave it out of the grant"
    )]
    DeniedField {
        index: usize,
        field_index: usize,
        field: String,
    },
    #[error(
        "field `{field}` is desensitized with `{default}` by default; `{asked}` is not at least as strict — keep `{default}`, or choose suppress or null"
    )]
    LoosenedDesensitization {
        index: usize,
        field_index: usize,
        field: String,
        asked: &'static str,
        default: &'static str,
    },
    #[error(
        "field `{field}` is graded `{grade}`, which the profile allows only for: {allowed}; the grant's usage method `{usage}` is not among them"
    )]
    UsageNotAllowed {
        index: usize,
        field_index: usize,
        field: String,
        grade: String,
        usage: &'static str,
        allowed: String,
    },
    #[error("the term ends ({to}) before or when it starts ({from}); give an end after the start")]
    TermInverted { from: String, to: String },
    #[error("the term has already ended ({to}); give an end in the future")]
    TermEnded { to: String },
    #[error(
        "the term lasts {days} days; the profile allows at most {max} days (sandbox.max_term_days)"
    )]
    TermTooLong { days: i64, max: u32 },
    #[error(
        "a minimum group size of {asked} is below the profile's floor of {floor} distinct privacy units (sandbox.min_group_size_floor)"
    )]
    GroupTooSmall { asked: u32, floor: u32 },
    #[error(
        "the budget ({asked}) is not a budget: ε must be a number above 0 and δ a number from 0 to below 1"
    )]
    BudgetMalformed { asked: String },
    #[error(
        "the budget ({asked}) exceeds the most a grant may get ({max}, sandbox.max_grant_budget)"
    )]
    BudgetTooLarge { asked: String, max: String },
    #[error("a reason is required (1 to {max} characters); say why, for the audit trail")]
    ReasonRequired { max: usize },
    #[error("a grant that is {from} cannot be {command}")]
    IllegalTransition {
        from: &'static str,
        command: &'static str,
    },
    #[error("the grant's term ended at {to}; an expired grant cannot be resumed")]
    ResumeAfterTerm { to: String },
}

impl GrantError {
    /// The input the error is about, as a path into [`crate::NewGrant`] or the command, e.g.
    /// `resources[0].fields[2].desensitization`; `""` for the grant's state as a whole.
    pub fn path(&self) -> String {
        let field = |i: &usize, f: &usize, leaf: &str| format!("resources[{i}].fields[{f}]{leaf}");
        match self {
            GrantError::ScenarioName { .. } => "scenario.name".into(),
            GrantError::NoResources => "resources".into(),
            GrantError::DuplicateResource { index, .. } => format!("resources[{index}].resource"),
            GrantError::NoFields { index, .. } => format!("resources[{index}].fields"),
            GrantError::TableName { index, .. } | GrantError::DuplicateTable { index, .. } => {
                format!("resources[{index}].table")
            }
            GrantError::Bounds {
                index, field_index, ..
            } => field(index, field_index, ".bounds"),
            GrantError::UnknownVersion { index, .. }
            | GrantError::NotAuthorizable { index, .. } => {
                format!("resources[{index}].version")
            }
            GrantError::UnknownField {
                index, field_index, ..
            }
            | GrantError::DuplicateField {
                index, field_index, ..
            } => field(index, field_index, ".name"),
            GrantError::LoosenedControl {
                index, field_index, ..
            }
            | GrantError::DeniedField {
                index, field_index, ..
            } => field(index, field_index, ".column_control"),
            GrantError::LoosenedDesensitization {
                index, field_index, ..
            } => field(index, field_index, ".desensitization"),
            GrantError::UsageNotAllowed { .. } => "usage".into(),
            GrantError::TermInverted { .. }
            | GrantError::TermEnded { .. }
            | GrantError::TermTooLong { .. } => "term.to".into(),
            GrantError::GroupTooSmall { .. } => "min_group_size".into(),
            GrantError::BudgetMalformed { .. } | GrantError::BudgetTooLarge { .. } => {
                "budget".into()
            }
            GrantError::ReasonRequired { .. } => "reason".into(),
            GrantError::IllegalTransition { .. } | GrantError::ResumeAfterTerm { .. } => {
                String::new()
            }
        }
    }

    /// Whether the error is about the grant's state (a conflict), not about the input.
    pub const fn is_conflict(&self) -> bool {
        matches!(
            self,
            GrantError::IllegalTransition { .. } | GrantError::ResumeAfterTerm { .. }
        )
    }
}
