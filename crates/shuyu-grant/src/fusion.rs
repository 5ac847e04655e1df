//! Fusion imports (融合数据, Changchun art. 18(3), Zhongwei art. 26): once the authority approves, a
//! merchant's own lawfully obtained (social) data joins its workspace as one more table, to be
//! computed together with the granted public data.
//!
//! - [`FusionDeclaration::check`] checks what the merchant declares: the table name (an identifier
//!   like a grant's table names, clashing with no table of the workspace), the statement of the
//!   data's source and legal basis (required), every column of the file with its type and, when it
//!   is to be exposed at all, its column control (a column left without one is imported but not
//!   exposed: deny by default), and optionally the join key / privacy unit with its identifier
//!   format (resident ID or credit code), so that output control counts its distinct units and the
//!   DP population is the same kind as a granted table's.
//! - The review is a small state machine: [`FusionState::handle`] decides a [`FusionCommand`] and
//!   returns the [`FusionEvent`]; [`FusionState::apply`] moves the state.
//!
//! | from \ command | approve  | reject (reason) | withdraw  | revoke (reason) |
//! |----------------|----------|-----------------|-----------|-----------------|
//! | pending        | approved | rejected        | withdrawn | —               |
//! | approved       | —        | —               | —         | revoked         |
//! | rejected, withdrawn, revoked: terminal                                        |
//!
//! Who may send which command is the policy's business (`fusion.review`, `fusion.revoke`: the
//! authority only; `fusion.withdraw`: the merchant), not this module's.

use serde::{Deserialize, Serialize};
use shuyu_catalog::{FieldType, FormatKind};
use shuyu_profile::ColumnControl;

use crate::grant::valid_table_name;
use crate::lifecycle::MAX_REASON;

/// The longest statement of source and legal basis, in characters.
pub const MAX_LEGAL_BASIS: usize = 2000;
/// The most columns a fusion import may declare.
pub const MAX_FUSION_COLUMNS: usize = 200;

/// Why a fusion declaration or a review move was refused. Each names the input it is about
/// ([`FusionError::path`]); none carries a data value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FusionError {
    #[error(
        "`{table}` cannot name a workspace table: use lower-case letters, digits and `_`, starting with a letter (at most 63 characters)"
    )]
    TableName { table: String },
    #[error(
        "table name `{table}` is already a table of this workspace (granted, or another fusion import pending or approved); choose another name"
    )]
    TableClash { table: String },
    #[error(
        "state the data's source and legal basis (1 to {max} characters), e.g. 本企业会员数据，经用户授权"
    )]
    LegalBasis { max: usize },
    #[error("declare the file's columns (1 to {max}), each with its type")]
    NoColumns { max: usize },
    #[error(
        "`{column}` cannot name a column: use lower-case letters, digits and `_`, starting with a letter"
    )]
    ColumnName { index: usize, column: String },
    #[error("column `{column}` is declared twice")]
    DuplicateColumn { index: usize, column: String },
    #[error("the join key `{column}` is not a declared column")]
    UnknownUnit { column: String },
    #[error(
        "the join key `{column}` must be a string column of resident ID numbers or unified social credit codes"
    )]
    UnitFormat { column: String },
    #[error("the join key `{column}` cannot be denied: give it a control such as join_key")]
    UnitDenied { column: String },
    #[error("{command} is not possible for a fusion import that is {state}")]
    Transition {
        command: &'static str,
        state: &'static str,
    },
    #[error("give a reason (1 to {max} characters)")]
    Reason { max: usize },
    #[error(
        "column entry {index} is not `name:type` or `name:type:control` (types: string, integer, decimal, date, timestamp, boolean; controls: visible, aggregate_only, group_by, join_key, compare_only, denied)"
    )]
    ColumnSpec { index: usize },
    #[error("the join key is `column:resident_id` or `column:credit_code`")]
    UnitSpec,
}

impl FusionError {
    /// The input the error is about.
    #[must_use]
    pub fn path(&self) -> String {
        match self {
            FusionError::TableName { .. } | FusionError::TableClash { .. } => "table".into(),
            FusionError::LegalBasis { .. } => "legal_basis".into(),
            FusionError::NoColumns { .. } => "columns".into(),
            FusionError::ColumnName { index, .. } | FusionError::DuplicateColumn { index, .. } => {
                format!("columns[{index}].name")
            }
            FusionError::UnknownUnit { .. }
            | FusionError::UnitFormat { .. }
            | FusionError::UnitDenied { .. } => "unit".into(),
            FusionError::Transition { .. } => "state".into(),
            FusionError::Reason { .. } => "reason".into(),
            FusionError::ColumnSpec { index } => format!("columns[{index}]"),
            FusionError::UnitSpec => "unit".into(),
        }
    }
}

/// One column of the merchant's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusionColumn {
    pub name: String,
    pub field_type: FieldType,
    /// `None`: imported, but not exposed in the workspace (deny by default).
    pub control: Option<ColumnControl>,
}

/// The join key / privacy unit of a fusion import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusionUnit {
    pub column: String,
    /// [`FormatKind::ResidentId`] or [`FormatKind::CreditCode`].
    pub format: FormatKind,
}

/// What a merchant declares with its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusionDeclaration {
    pub table: String,
    pub legal_basis: String,
    pub columns: Vec<FusionColumn>,
    pub unit: Option<FusionUnit>,
}

impl FusionDeclaration {
    /// Checks the declaration; `taken` are the workspace's table names already in use (granted
    /// tables, and fusion imports pending or approved). The legal basis is trimmed.
    pub fn check(mut self, taken: &[String]) -> Result<Self, FusionError> {
        if !valid_table_name(&self.table) {
            return Err(FusionError::TableName {
                table: self.table.chars().take(64).collect(),
            });
        }
        if taken.contains(&self.table) {
            return Err(FusionError::TableClash { table: self.table });
        }
        let basis = self.legal_basis.trim();
        if basis.is_empty() || basis.chars().count() > MAX_LEGAL_BASIS {
            return Err(FusionError::LegalBasis {
                max: MAX_LEGAL_BASIS,
            });
        }
        self.legal_basis = basis.to_owned();
        if self.columns.is_empty() || self.columns.len() > MAX_FUSION_COLUMNS {
            return Err(FusionError::NoColumns {
                max: MAX_FUSION_COLUMNS,
            });
        }
        for (index, column) in self.columns.iter().enumerate() {
            if !valid_table_name(&column.name) {
                return Err(FusionError::ColumnName {
                    index,
                    column: column.name.chars().take(64).collect(),
                });
            }
            if self
                .columns
                .iter()
                .take(index)
                .any(|c| c.name == column.name)
            {
                return Err(FusionError::DuplicateColumn {
                    index,
                    column: column.name.clone(),
                });
            }
        }
        if let Some(unit) = &self.unit {
            let Some(column) = self.columns.iter().find(|c| c.name == unit.column) else {
                return Err(FusionError::UnknownUnit {
                    column: unit.column.chars().take(64).collect(),
                });
            };
            if column.field_type != FieldType::String
                || !matches!(unit.format, FormatKind::ResidentId | FormatKind::CreditCode)
            {
                return Err(FusionError::UnitFormat {
                    column: unit.column.clone(),
                });
            }
            if column.control == Some(ColumnControl::Denied) {
                return Err(FusionError::UnitDenied {
                    column: unit.column.clone(),
                });
            }
        }
        Ok(self)
    }

    /// The columns exposed in the workspace with their controls (the unit column always, so
    /// that units can be counted; denied unless declared otherwise).
    #[must_use]
    pub fn exposed(&self) -> Vec<(String, ColumnControl)> {
        self.columns
            .iter()
            .filter_map(|c| match (c.control, &self.unit) {
                (Some(control), _) => Some((c.name.clone(), control)),
                (None, Some(unit)) if unit.column == c.name => {
                    Some((c.name.clone(), ColumnControl::Denied))
                }
                (None, _) => None,
            })
            .collect()
    }
}

const FIELD_TYPES: [FieldType; 6] = [
    FieldType::String,
    FieldType::Integer,
    FieldType::Decimal,
    FieldType::Date,
    FieldType::Timestamp,
    FieldType::Boolean,
];

/// Reads the columns written as text, one entry per line or comma: `name:type` (imported, not
/// exposed) or `name:type:control`, e.g. `member_id:string:join_key, spend:decimal:aggregate_only`.
/// Blank entries are skipped; the names are checked by [`FusionDeclaration::check`].
pub fn parse_columns(text: &str) -> Result<Vec<FusionColumn>, FusionError> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
        .map(|(index, entry)| {
            let refused = || FusionError::ColumnSpec { index };
            let mut parts = entry.split(':').map(str::trim);
            let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(refused)?;
            let field_type = parts
                .next()
                .and_then(|t| FIELD_TYPES.iter().find(|f| f.as_str() == t))
                .copied()
                .ok_or_else(refused)?;
            let control = match parts.next() {
                None | Some("") => None,
                Some(c) => Some(
                    ColumnControl::ALL
                        .iter()
                        .find(|k| k.as_str() == c)
                        .copied()
                        .ok_or_else(refused)?,
                ),
            };
            if parts.next().is_some() {
                return Err(refused());
            }
            Ok(FusionColumn {
                name: name.to_owned(),
                field_type,
                control,
            })
        })
        .collect()
}

/// Reads the join key written as `column:resident_id` or `column:credit_code`; blank is none.
pub fn parse_unit(text: &str) -> Result<Option<FusionUnit>, FusionError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (column, format) = text.split_once(':').ok_or(FusionError::UnitSpec)?;
    let format = match format.trim() {
        "resident_id" => FormatKind::ResidentId,
        "credit_code" => FormatKind::CreditCode,
        _ => return Err(FusionError::UnitSpec),
    };
    Ok(Some(FusionUnit {
        column: column.trim().to_owned(),
        format,
    }))
}

/// The stored state of a fusion import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionState {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
    Revoked,
}

/// A review move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FusionCommand {
    Approve,
    Reject { reason: String },
    Withdraw,
    Revoke { reason: String },
}

impl FusionCommand {
    pub const fn as_str(&self) -> &'static str {
        match self {
            FusionCommand::Approve => "approve",
            FusionCommand::Reject { .. } => "reject",
            FusionCommand::Withdraw => "withdraw",
            FusionCommand::Revoke { .. } => "revoke",
        }
    }
}

/// What a review move did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FusionEvent {
    Approved,
    Rejected { reason: String },
    Withdrawn,
    Revoked { reason: String },
}

impl FusionEvent {
    /// The reason, for moves that carry one.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match self {
            FusionEvent::Rejected { reason } | FusionEvent::Revoked { reason } => Some(reason),
            FusionEvent::Approved | FusionEvent::Withdrawn => None,
        }
    }
}

fn reason(text: &str) -> Result<String, FusionError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_REASON {
        return Err(FusionError::Reason { max: MAX_REASON });
    }
    Ok(text.to_owned())
}

impl FusionState {
    pub const fn as_str(self) -> &'static str {
        match self {
            FusionState::Pending => "pending",
            FusionState::Approved => "approved",
            FusionState::Rejected => "rejected",
            FusionState::Withdrawn => "withdrawn",
            FusionState::Revoked => "revoked",
        }
    }

    /// Whether the import holds its table name and its object (pending or approved).
    #[must_use]
    pub const fn is_current(self) -> bool {
        matches!(self, FusionState::Pending | FusionState::Approved)
    }

    /// Decides `command` in this state.
    pub fn handle(self, command: &FusionCommand) -> Result<FusionEvent, FusionError> {
        let refused = || FusionError::Transition {
            command: command.as_str(),
            state: self.as_str(),
        };
        match (self, command) {
            (FusionState::Pending, FusionCommand::Approve) => Ok(FusionEvent::Approved),
            (FusionState::Pending, FusionCommand::Reject { reason: r }) => {
                Ok(FusionEvent::Rejected { reason: reason(r)? })
            }
            (FusionState::Pending, FusionCommand::Withdraw) => Ok(FusionEvent::Withdrawn),
            (FusionState::Approved, FusionCommand::Revoke { reason: r }) => {
                Ok(FusionEvent::Revoked { reason: reason(r)? })
            }
            _ => Err(refused()),
        }
    }

    /// The state after `event`.
    #[must_use]
    pub const fn apply(self, event: &FusionEvent) -> FusionState {
        match event {
            FusionEvent::Approved => FusionState::Approved,
            FusionEvent::Rejected { .. } => FusionState::Rejected,
            FusionEvent::Withdrawn => FusionState::Withdrawn,
            FusionEvent::Revoked { .. } => FusionState::Revoked,
        }
    }
}

impl std::str::FromStr for FusionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(FusionState::Pending),
            "approved" => Ok(FusionState::Approved),
            "rejected" => Ok(FusionState::Rejected),
            "withdrawn" => Ok(FusionState::Withdrawn),
            "revoked" => Ok(FusionState::Revoked),
            other => Err(format!(
                "`{}` is not a fusion import state",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declaration() -> FusionDeclaration {
        FusionDeclaration {
            table: "members".into(),
            legal_basis: " 本企业会员数据，经用户授权 ".into(),
            columns: vec![
                FusionColumn {
                    name: "member_id".into(),
                    field_type: FieldType::String,
                    control: Some(ColumnControl::JoinKey),
                },
                FusionColumn {
                    name: "spend".into(),
                    field_type: FieldType::Decimal,
                    control: Some(ColumnControl::AggregateOnly),
                },
                FusionColumn {
                    name: "note".into(),
                    field_type: FieldType::String,
                    control: None,
                },
            ],
            unit: Some(FusionUnit {
                column: "member_id".into(),
                format: FormatKind::ResidentId,
            }),
        }
    }

    #[test]
    fn a_declaration_is_checked_and_undeclared_controls_are_not_exposed() {
        let checked = declaration().check(&["clinic_visits".into()]).unwrap();
        assert_eq!(checked.legal_basis, "本企业会员数据，经用户授权");
        assert_eq!(
            checked.exposed(),
            vec![
                ("member_id".to_owned(), ColumnControl::JoinKey),
                ("spend".to_owned(), ColumnControl::AggregateOnly)
            ]
        );
    }

    #[test]
    fn bad_declarations_name_what_to_fix() {
        let taken = ["clinic_visits".to_owned()];
        let check = |f: &dyn Fn(&mut FusionDeclaration)| {
            let mut d = declaration();
            f(&mut d);
            d.check(&taken).unwrap_err().path()
        };
        assert_eq!(check(&|d| d.table = "Clinic".into()), "table");
        assert_eq!(check(&|d| d.table = "clinic_visits".into()), "table");
        assert_eq!(check(&|d| d.legal_basis = "   ".into()), "legal_basis");
        assert_eq!(check(&|d| d.columns.clear()), "columns");
        assert_eq!(
            check(&|d| d.columns[1].name = "member_id".into()),
            "columns[1].name"
        );
        assert_eq!(
            check(&|d| d.unit.as_mut().unwrap().column = "nope".into()),
            "unit"
        );
        assert_eq!(
            check(&|d| d.unit.as_mut().unwrap().format = FormatKind::Mobile),
            "unit"
        );
        assert_eq!(
            check(&|d| d.columns[0].control = Some(ColumnControl::Denied)),
            "unit"
        );
    }

    #[test]
    fn columns_and_the_join_key_are_read_from_text() {
        let columns = parse_columns(
            "member_id:string:join_key,\n spend : decimal : aggregate_only\nnote:string,",
        )
        .unwrap();
        assert_eq!(
            columns,
            declaration().columns[..2]
                .iter()
                .cloned()
                .chain([FusionColumn {
                    name: "note".into(),
                    field_type: FieldType::String,
                    control: None,
                }])
                .collect::<Vec<_>>()
        );
        assert_eq!(
            parse_columns("a:string,b:text").unwrap_err().path(),
            "columns[1]"
        );
        assert_eq!(
            parse_columns("a:string:public").unwrap_err().path(),
            "columns[0]"
        );
        assert_eq!(
            parse_unit("member_id:resident_id").unwrap(),
            declaration().unit
        );
        assert_eq!(parse_unit("  ").unwrap(), None);
        assert_eq!(parse_unit("member_id:mobile").unwrap_err().path(), "unit");
    }

    #[test]
    fn only_the_listed_moves_are_possible() {
        use FusionState::*;
        let reject = FusionCommand::Reject { reason: "x".into() };
        let revoke = FusionCommand::Revoke { reason: "x".into() };
        let all = [
            FusionCommand::Approve,
            reject,
            FusionCommand::Withdraw,
            revoke,
        ];
        for state in [Pending, Approved, Rejected, Withdrawn, Revoked] {
            for command in &all {
                let next = state.handle(command).map(|e| state.apply(&e)).ok();
                let expected = match (state, command) {
                    (Pending, FusionCommand::Approve) => Some(Approved),
                    (Pending, FusionCommand::Reject { .. }) => Some(Rejected),
                    (Pending, FusionCommand::Withdraw) => Some(Withdrawn),
                    (Approved, FusionCommand::Revoke { .. }) => Some(Revoked),
                    _ => None,
                };
                assert_eq!(next, expected, "{state:?} {command:?}");
            }
        }
        assert_eq!(
            Pending
                .handle(&FusionCommand::Reject {
                    reason: "  ".into()
                })
                .unwrap_err()
                .path(),
            "reason"
        );
    }
}
