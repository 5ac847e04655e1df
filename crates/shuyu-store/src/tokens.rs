//! API tokens for machine clients: stored as SM3 digests, never as the secret.

use shuyu_core::{PersonId, Timestamp, TokenId};
use shuyu_identity::{ApiTokenRecord, SecretDigest};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{opt_time, parsed, text, time};
use crate::{Store, StoreError, Tx};

const COLUMNS: &str =
    "id, digest, hint, name, org_id, role, owner_id, created_at, expires_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        id: parsed(row, "id")?,
        digest: SecretDigest::from_stored(text(row, "digest")?),
        hint: text(row, "hint")?,
        name: text(row, "name")?,
        org: parsed(row, "org_id")?,
        role: parsed(row, "role")?,
        owner: parsed(row, "owner_id")?,
        created_at: time(row, "created_at")?,
        expires_at: time(row, "expires_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

impl Tx {
    pub async fn insert_token(&mut self, t: &ApiTokenRecord) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO api_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(t.id.to_string())
        .bind(t.digest.as_str().to_owned())
        .bind(t.hint.clone())
        .bind(t.name.clone())
        .bind(t.org.to_string())
        .bind(t.role.as_str())
        .bind(t.owner.to_string())
        .bind(t.created_at.unix_micros())
        .bind(t.expires_at.unix_micros())
        .bind(t.revoked_at.map(Timestamp::unix_micros))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Revokes a live token; returns false if it was already revoked.
    pub async fn revoke_token(&mut self, id: TokenId, at: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_micros())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    pub async fn token_by_digest(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE digest = $1"
        )))
        .bind(digest.as_str().to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn token(&self, id: TokenId) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Tokens created by a person, newest first.
    pub async fn tokens_of(&self, owner: PersonId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE owner_id = $1 ORDER BY created_at DESC"
        )))
        .bind(owner.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
