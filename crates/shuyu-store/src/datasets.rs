//! Dataset versions: data hooked (挂接) to an approved resource version. A row names the encrypted
//! Parquet object, its data key wrapped by the master key (and which master key), its sizes and
//! SM3 digest, and the quality profiles as JSON text (aggregates only). The store never opens keys
//! or objects: that is `shuyu-engine`, through the app.

use shuyu_catalog::{ResourceId, ResourceVersionId};
use shuyu_core::{DatasetId, PersonId, Timestamp};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{int, opt_text, parsed, text, time};
use crate::{Store, StoreError, Tx};

/// One dataset version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataset {
    /// The object path includes it.
    pub id: DatasetId,
    pub resource: ResourceId,
    pub resource_version: ResourceVersionId,
    pub resource_number: u32,
    /// 1, 2, … per resource.
    pub number: u32,
    pub object_path: String,
    /// The data key wrapped by the master key (`WrappedKey` text).
    pub wrapped_key: String,
    /// The public id of the master key that wraps it.
    pub master_key_id: String,
    pub rows: u64,
    pub input_bytes: u64,
    pub parquet_bytes: u64,
    /// SM3 of the plaintext Parquet, hex.
    pub sm3: String,
    /// `utf8`, `gb18030`, or `None` for Parquet input.
    pub encoding: Option<String>,
    /// The quality profile per field, JSON text.
    pub profiles: String,
    pub created_at: Timestamp,
    pub created_by: PersonId,
}

const COLUMNS: &str = "id, resource_id, resource_version_id, resource_number, number, object_path, \
     wrapped_key, master_key_id, rows_count, input_bytes, parquet_bytes, sm3, encoding, profiles, \
     created_at, created_by";

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {e}"))
}

fn u32_of(row: &AnyRow, column: &str) -> Result<u32, StoreError> {
    u32::try_from(int(row, column)?).map_err(|e| corrupt(column, e))
}

fn u64_of(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    u64::try_from(int(row, column)?).map_err(|e| corrupt(column, e))
}

fn i64_of(value: u64, column: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|e| corrupt(column, e))
}

fn from_row(row: &AnyRow) -> Result<StoredDataset, StoreError> {
    Ok(StoredDataset {
        id: parsed(row, "id")?,
        resource: parsed(row, "resource_id")?,
        resource_version: parsed(row, "resource_version_id")?,
        resource_number: u32_of(row, "resource_number")?,
        number: u32_of(row, "number")?,
        object_path: text(row, "object_path")?,
        wrapped_key: text(row, "wrapped_key")?,
        master_key_id: text(row, "master_key_id")?,
        rows: u64_of(row, "rows_count")?,
        input_bytes: u64_of(row, "input_bytes")?,
        parquet_bytes: u64_of(row, "parquet_bytes")?,
        sm3: text(row, "sm3")?,
        encoding: opt_text(row, "encoding")?,
        profiles: text(row, "profiles")?,
        created_at: time(row, "created_at")?,
        created_by: parsed(row, "created_by")?,
    })
}

impl Tx {
    /// Inserts a dataset version. A second version of the same resource with the same digest is a
    /// `Conflict` naming `dataset_versions.sm3` (a duplicate upload).
    pub async fn insert_dataset(&mut self, d: &StoredDataset) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO dataset_versions ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )))
        .bind(d.id.to_string())
        .bind(d.resource.to_string())
        .bind(d.resource_version.to_string())
        .bind(i64::from(d.resource_number))
        .bind(i64::from(d.number))
        .bind(d.object_path.clone())
        .bind(d.wrapped_key.clone())
        .bind(d.master_key_id.clone())
        .bind(i64_of(d.rows, "rows_count")?)
        .bind(i64_of(d.input_bytes, "input_bytes")?)
        .bind(i64_of(d.parquet_bytes, "parquet_bytes")?)
        .bind(d.sm3.clone())
        .bind(d.encoding.clone())
        .bind(d.profiles.clone())
        .bind(d.created_at.unix_micros())
        .bind(d.created_by.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces the wrapped key of a dataset version (master key rotation).
    pub async fn rewrap_dataset_key(
        &mut self,
        id: DatasetId,
        wrapped_key: &str,
        master_key_id: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE dataset_versions SET wrapped_key = $1, master_key_id = $2 WHERE id = $3",
        )
        .bind(wrapped_key.to_owned())
        .bind(master_key_id.to_owned())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}

impl Store {
    /// The dataset versions of a resource, oldest first.
    pub async fn datasets(&self, resource: ResourceId) -> Result<Vec<StoredDataset>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM dataset_versions WHERE resource_id = $1 ORDER BY number"
        )))
        .bind(resource.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every dataset version (for master key rotation), oldest first.
    pub async fn all_datasets(&self) -> Result<Vec<StoredDataset>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM dataset_versions ORDER BY created_at, id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The object path of every dataset version (for the housekeeping sweep): one column, not the
    /// rows' keys and quality profiles.
    pub async fn dataset_object_paths(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT object_path FROM dataset_versions")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The version of `resource` whose plaintext Parquet has digest `sm3`, if any.
    pub async fn dataset_by_digest(
        &self,
        resource: ResourceId,
        sm3: &str,
    ) -> Result<Option<StoredDataset>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM dataset_versions WHERE resource_id = $1 AND sm3 = $2"
        )))
        .bind(resource.to_string())
        .bind(sm3.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The highest dataset version number of `resource` (0 when none).
    pub async fn last_dataset_number(&self, resource: ResourceId) -> Result<u32, StoreError> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT MAX(number) FROM dataset_versions WHERE resource_id = $1")
                .bind(resource.to_string())
                .fetch_one(self.pool())
                .await?;
        u32::try_from(n.unwrap_or(0)).map_err(|e| corrupt("number", e))
    }
}
