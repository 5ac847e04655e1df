//! Freezes (SBX-9): a merchant organisation, an operator organisation or a resource's supply
//! stopped with a reason, and later lifted with a reason. Rows are never deleted; a lifted freeze
//! keeps who lifted it, when and why.
//!
//! Guarantees: at most one active (unlifted) freeze per target — checked in the `Tx`
//! ([`ALREADY_FROZEN`]) and backed by the unique partial index `freezes_one_active`; a lift only
//! ever touches the active freeze of its target.
//!
//! Must never: decide who may freeze or what a freeze stops (that is `shuyu-policy` and
//! `shuyu-app`), or delete a freeze.

use std::fmt;
use std::str::FromStr;

use shuyu_core::{OrgId, PersonId, ResourceId, Timestamp};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::rows::{opt_parsed, opt_text, opt_time, parsed, text, time};
use crate::{Store, StoreError, Tx};

/// The conflict of freezing a target that has an active freeze already.
pub const ALREADY_FROZEN: &str = "freezes.one_active";

const COLUMNS: &str = "id, target_kind, target_id, frozen_at, frozen_by, frozen_by_org, reason, \
                       lifted_at, lifted_by, lift_reason";

/// What a freeze stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FreezeTarget {
    /// A merchant organisation: all its workspaces (grants) stop.
    Merchant(OrgId),
    /// An operator organisation: every grant it runs stops.
    Operator(OrgId),
    /// A catalog resource's supply: every grant over the resource stops.
    ResourceSupply(ResourceId),
}

impl FreezeTarget {
    /// The stored kind: `merchant`, `operator` or `resource_supply`.
    pub const fn kind(self) -> &'static str {
        match self {
            FreezeTarget::Merchant(_) => "merchant",
            FreezeTarget::Operator(_) => "operator",
            FreezeTarget::ResourceSupply(_) => "resource_supply",
        }
    }

    /// The id of the organisation or resource, as text.
    pub fn id_string(self) -> String {
        match self {
            FreezeTarget::Merchant(id) | FreezeTarget::Operator(id) => id.to_string(),
            FreezeTarget::ResourceSupply(id) => id.to_string(),
        }
    }

    /// Rebuilds a target from its stored kind and id; `None` if either does not parse.
    pub fn from_parts(kind: &str, id: &str) -> Option<Self> {
        match kind {
            "merchant" => OrgId::from_str(id).ok().map(FreezeTarget::Merchant),
            "operator" => OrgId::from_str(id).ok().map(FreezeTarget::Operator),
            "resource_supply" => ResourceId::from_str(id)
                .ok()
                .map(FreezeTarget::ResourceSupply),
            _ => None,
        }
    }
}

impl fmt::Display for FreezeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.id_string())
    }
}

/// The lifting of a freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeLift {
    pub at: Timestamp,
    pub by: PersonId,
    pub reason: String,
}

/// A freeze as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFreeze {
    pub id: Uuid,
    pub target: FreezeTarget,
    pub frozen_at: Timestamp,
    pub frozen_by: PersonId,
    /// The organisation of the person who set it (an operator lifts only its own freezes).
    pub frozen_by_org: OrgId,
    pub reason: String,
    /// `None` while the freeze is active.
    pub lifted: Option<FreezeLift>,
}

fn from_row(row: &AnyRow) -> Result<StoredFreeze, StoreError> {
    let id: Uuid = parsed(row, "id")?;
    let kind = text(row, "target_kind")?;
    let target = FreezeTarget::from_parts(&kind, &text(row, "target_id")?)
        .ok_or_else(|| StoreError::Corrupt(format!("freeze {id}: target does not parse")))?;
    let lifted = match (
        opt_time(row, "lifted_at")?,
        opt_parsed::<PersonId>(row, "lifted_by")?,
        opt_text(row, "lift_reason")?,
    ) {
        (None, None, None) => None,
        (Some(at), Some(by), Some(reason)) => Some(FreezeLift { at, by, reason }),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "freeze {id}: lifted_at, lifted_by and lift_reason disagree"
            )));
        }
    };
    Ok(StoredFreeze {
        id,
        target,
        frozen_at: time(row, "frozen_at")?,
        frozen_by: parsed(row, "frozen_by")?,
        frozen_by_org: parsed(row, "frozen_by_org")?,
        reason: text(row, "reason")?,
        lifted,
    })
}

impl Tx {
    /// Stores a new, active freeze. If its target has an active freeze already nothing is written
    /// and the answer is `Conflict(ALREADY_FROZEN)`.
    pub async fn insert_freeze(&mut self, freeze: &StoredFreeze) -> Result<(), StoreError> {
        if freeze.lifted.is_some() {
            return Err(StoreError::Corrupt(format!(
                "freeze {}: a new freeze cannot be lifted already",
                freeze.id
            )));
        }
        let active: Option<String> = sqlx::query_scalar(
            "SELECT id FROM freezes WHERE target_kind = $1 AND target_id = $2 \
             AND lifted_at IS NULL",
        )
        .bind(freeze.target.kind())
        .bind(freeze.target.id_string())
        .fetch_optional(self.conn())
        .await?;
        if active.is_some() {
            return Err(StoreError::Conflict(ALREADY_FROZEN.to_owned()));
        }
        sqlx::query(
            "INSERT INTO freezes (id, target_kind, target_id, frozen_at, frozen_by, \
             frozen_by_org, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(freeze.id.to_string())
        .bind(freeze.target.kind())
        .bind(freeze.target.id_string())
        .bind(freeze.frozen_at.unix_micros())
        .bind(freeze.frozen_by.to_string())
        .bind(freeze.frozen_by_org.to_string())
        .bind(freeze.reason.clone())
        .execute(self.conn())
        .await
        .map_err(|err| match StoreError::from(err) {
            // The index caught a concurrent freeze between the check and the insert.
            StoreError::Conflict(_) => StoreError::Conflict(ALREADY_FROZEN.to_owned()),
            other => other,
        })?;
        Ok(())
    }

    /// Lifts the active freeze of `target` and returns it as lifted; `NotFound` if the target has
    /// no active freeze.
    pub async fn lift_freeze(
        &mut self,
        target: FreezeTarget,
        lift: &FreezeLift,
    ) -> Result<StoredFreeze, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM freezes WHERE target_kind = $1 AND target_id = $2 \
             AND lifted_at IS NULL"
        )))
        .bind(target.kind())
        .bind(target.id_string())
        .fetch_optional(self.conn())
        .await?;
        let mut freeze = row
            .as_ref()
            .map(from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        let done = sqlx::query(
            "UPDATE freezes SET lifted_at = $1, lifted_by = $2, lift_reason = $3 \
             WHERE id = $4 AND lifted_at IS NULL",
        )
        .bind(lift.at.unix_micros())
        .bind(lift.by.to_string())
        .bind(lift.reason.clone())
        .bind(freeze.id.to_string())
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        freeze.lifted = Some(lift.clone());
        Ok(freeze)
    }
}

impl Store {
    /// The active freeze of `target`, if any.
    pub async fn active_freeze(
        &self,
        target: FreezeTarget,
    ) -> Result<Option<StoredFreeze>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM freezes WHERE target_kind = $1 AND target_id = $2 \
             AND lifted_at IS NULL"
        )))
        .bind(target.kind())
        .bind(target.id_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every active freeze, newest first.
    pub async fn active_freezes(&self) -> Result<Vec<StoredFreeze>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM freezes WHERE lifted_at IS NULL \
             ORDER BY frozen_at DESC, id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every freeze of `target`, lifted ones included, oldest first.
    pub async fn freeze_history(
        &self,
        target: FreezeTarget,
    ) -> Result<Vec<StoredFreeze>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM freezes WHERE target_kind = $1 AND target_id = $2 \
             ORDER BY frozen_at, id"
        )))
        .bind(target.kind())
        .bind(target.id_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The operator organisations running at least one grant of `merchant` (any state).
    pub async fn operators_of_merchant(&self, merchant: OrgId) -> Result<Vec<OrgId>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT operator_org FROM grants WHERE merchant_org = $1 ORDER BY operator_org",
        )
        .bind(merchant.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|raw| {
                raw.parse()
                    .map_err(|e| StoreError::Corrupt(format!("column operator_org: {e}")))
            })
            .collect()
    }
}
