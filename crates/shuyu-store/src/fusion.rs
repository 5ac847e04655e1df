//! Fusion imports (CC18(3), ZW26): a merchant's own data imported into its workspace, pending the
//! authority's review, and the last review move.
//!
//! Guarantees: one current (pending or approved) import per workspace table name — checked in the
//! `Tx` ([`FUSION_TABLE_TAKEN`]) and backed by the unique partial index `fusion_imports_one_table`;
//! a move is saved only from the state the import was loaded in ([`STALE_FUSION`]).
//!
//! Must never: decide who may move an import or which move is legal (`shuyu-policy` and
//! `shuyu_grant::FusionState::handle`), or hold a data value (profiles are counts and rates).

use shuyu_core::{FusionId, GrantId, PersonId, Timestamp};
use shuyu_grant::FusionState;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{int, opt_parsed, opt_text, opt_time, parsed, text, time};
use crate::{Store, StoreError, Tx};

/// The conflict of a table name held by a current import of the same workspace.
pub const FUSION_TABLE_TAKEN: &str = "fusion_imports.one_table";
/// The conflict of a move from a state the import is no longer in.
pub const STALE_FUSION: &str = "fusion_imports.state";

/// One fusion import as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFusion {
    pub id: FusionId,
    pub grant: GrantId,
    pub table: String,
    pub state: FusionState,
    /// The checked declaration, JSON.
    pub declaration: String,
    /// The production table's object (encrypted under the workspace key).
    pub object_path: String,
    /// The development table's object (join key hashed).
    pub dev_object_path: String,
    pub rows: u64,
    pub dev_rows: u64,
    pub input_bytes: u64,
    /// SM3 of the plaintext Parquet file, hex.
    pub sm3: String,
    /// Per-column quality profiles, JSON (no values).
    pub profiles: String,
    pub created_at: Timestamp,
    pub created_by: PersonId,
    /// The last review move: when, by whom, why.
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<PersonId>,
    pub reason: Option<String>,
}

const COLUMNS: &str = "id, grant_id, table_name, state, declaration, object_path, dev_object_path, \
     rows_count, dev_rows, input_bytes, sm3, profiles, created_at, created_by, decided_at, \
     decided_by, reason";

fn u64_of(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    u64::try_from(int(row, column)?)
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn i64_of(value: u64, column: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn from_row(row: &AnyRow) -> Result<StoredFusion, StoreError> {
    Ok(StoredFusion {
        id: parsed(row, "id")?,
        grant: parsed(row, "grant_id")?,
        table: text(row, "table_name")?,
        state: parsed(row, "state")?,
        declaration: text(row, "declaration")?,
        object_path: text(row, "object_path")?,
        dev_object_path: text(row, "dev_object_path")?,
        rows: u64_of(row, "rows_count")?,
        dev_rows: u64_of(row, "dev_rows")?,
        input_bytes: u64_of(row, "input_bytes")?,
        sm3: text(row, "sm3")?,
        profiles: text(row, "profiles")?,
        created_at: time(row, "created_at")?,
        created_by: parsed(row, "created_by")?,
        decided_at: opt_time(row, "decided_at")?,
        decided_by: opt_parsed(row, "decided_by")?,
        reason: opt_text(row, "reason")?,
    })
}

impl Tx {
    /// Stores a new (pending) import; `Conflict(FUSION_TABLE_TAKEN)` if a current import of the
    /// workspace holds its table name.
    pub async fn insert_fusion(&mut self, f: &StoredFusion) -> Result<(), StoreError> {
        let taken: Option<String> = sqlx::query_scalar(
            "SELECT id FROM fusion_imports WHERE grant_id = $1 AND table_name = $2 \
             AND state IN ('pending', 'approved')",
        )
        .bind(f.grant.to_string())
        .bind(f.table.clone())
        .fetch_optional(self.conn())
        .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(FUSION_TABLE_TAKEN.to_owned()));
        }
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO fusion_imports ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17)"
        )))
        .bind(f.id.to_string())
        .bind(f.grant.to_string())
        .bind(f.table.clone())
        .bind(f.state.as_str())
        .bind(f.declaration.clone())
        .bind(f.object_path.clone())
        .bind(f.dev_object_path.clone())
        .bind(i64_of(f.rows, "rows_count")?)
        .bind(i64_of(f.dev_rows, "dev_rows")?)
        .bind(i64_of(f.input_bytes, "input_bytes")?)
        .bind(f.sm3.clone())
        .bind(f.profiles.clone())
        .bind(f.created_at.unix_micros())
        .bind(f.created_by.to_string())
        .bind(f.decided_at.map(Timestamp::unix_micros))
        .bind(f.decided_by.map(|p| p.to_string()))
        .bind(f.reason.clone())
        .execute(self.conn())
        .await
        .map_err(|err| match StoreError::from(err) {
            StoreError::Conflict(_) => StoreError::Conflict(FUSION_TABLE_TAKEN.to_owned()),
            other => other,
        })?;
        Ok(())
    }

    /// Moves import `id` from `from` to `to`, recording who, when and why;
    /// `Conflict(STALE_FUSION)` if it is no longer in `from`.
    pub async fn move_fusion(
        &mut self,
        id: FusionId,
        from: FusionState,
        to: FusionState,
        (at, by, reason): (Timestamp, PersonId, Option<&str>),
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE fusion_imports SET state = $1, decided_at = $2, decided_by = $3, reason = $4 \
             WHERE id = $5 AND state = $6",
        )
        .bind(to.as_str())
        .bind(at.unix_micros())
        .bind(by.to_string())
        .bind(reason.map(str::to_owned))
        .bind(id.to_string())
        .bind(from.as_str())
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(STALE_FUSION.to_owned()));
        }
        Ok(())
    }
}

impl Store {
    /// One fusion import.
    pub async fn fusion(&self, id: FusionId) -> Result<Option<StoredFusion>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM fusion_imports WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The fusion imports of a grant's workspace, oldest first.
    pub async fn fusions_of_grant(&self, grant: GrantId) -> Result<Vec<StoredFusion>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM fusion_imports WHERE grant_id = $1 ORDER BY created_at, id"
        )))
        .bind(grant.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every fusion import, newest first (at most `limit`).
    pub async fn fusions(&self, limit: u32) -> Result<Vec<StoredFusion>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM fusion_imports ORDER BY created_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
