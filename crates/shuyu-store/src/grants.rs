//! Grants of the secure domain. A row holds the grant as JSON (checked by `shuyu-grant` when it
//! was made or moved) and, beside it, the columns grants are found by: merchant, operator,
//! workspace, state, term. Every granted resource version is a row of `grant_resources`.
//!
//! Must never: decide whether a grant is valid or who may see it (that is `shuyu-grant` and
//! `shuyu-policy`), or let a stale move overwrite a newer one (`update_grant` checks the state it
//! moved from).

use shuyu_core::{GrantId, OrgId, Timestamp};
use shuyu_grant::{Grant, GrantState};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{flag_value, parsed, text};
use crate::{Store, StoreError, Tx};

const COLUMNS: &str = "id, merchant_org, operator_org, workspace_id, state, body";

/// The constraint a stale move breaks: the grant was moved by someone else meanwhile.
pub const STALE_GRANT: &str = "grants.state";

fn from_row(row: &AnyRow) -> Result<Grant, StoreError> {
    let id: GrantId = parsed(row, "id")?;
    let body = text(row, "body")?;
    let grant: Grant = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("grant {id}: body: {e}")))?;
    let state: GrantState = parsed(row, "state")?;
    let merchant: OrgId = parsed(row, "merchant_org")?;
    let operator: OrgId = parsed(row, "operator_org")?;
    if grant.id() != id
        || grant.state() != state
        || grant.merchant() != merchant
        || grant.operator() != operator
        || grant.workspace().to_string() != text(row, "workspace_id")?
    {
        return Err(StoreError::Corrupt(format!(
            "grant {id}: the columns disagree with the stored body"
        )));
    }
    Ok(grant)
}

fn body(grant: &Grant) -> Result<String, StoreError> {
    serde_json::to_string(grant)
        .map_err(|e| StoreError::Corrupt(format!("grant {}: {e}", grant.id())))
}

impl Tx {
    /// Inserts a new grant and its granted resource versions.
    pub async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        let term = grant.term();
        sqlx::query(
            "INSERT INTO grants (id, merchant_org, operator_org, workspace_id, state, seeded, \
             term_from, term_to, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(grant.id().to_string())
        .bind(grant.merchant().to_string())
        .bind(grant.operator().to_string())
        .bind(grant.workspace().to_string())
        .bind(grant.state().as_str())
        .bind(flag_value(grant.seeded()))
        .bind(term.from.unix_micros())
        .bind(term.to.unix_micros())
        .bind(body(grant)?)
        .bind(grant.created_at().unix_micros())
        .bind(grant.created_at().unix_micros())
        .execute(self.conn())
        .await?;
        for resource in grant.resources() {
            sqlx::query(
                "INSERT INTO grant_resources (grant_id, resource_id, resource_version_id) \
                 VALUES ($1, $2, $3)",
            )
            .bind(grant.id().to_string())
            .bind(resource.resource.to_string())
            .bind(resource.version.to_string())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Saves a grant after a move from state `from`. If the stored grant is no longer in `from`
    /// (someone moved it meanwhile) nothing is written and the answer is
    /// `Conflict(STALE_GRANT)`; an unknown grant is `NotFound`.
    pub async fn update_grant(
        &mut self,
        grant: &Grant,
        from: GrantState,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE grants SET state = $1, body = $2, updated_at = $3 WHERE id = $4 AND state = $5",
        )
        .bind(grant.state().as_str())
        .bind(body(grant)?)
        .bind(at.unix_micros())
        .bind(grant.id().to_string())
        .bind(from.as_str())
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM grants WHERE id = $1")
            .bind(grant.id().to_string())
            .fetch_optional(self.conn())
            .await?;
        match exists {
            Some(_) => Err(StoreError::Conflict(STALE_GRANT.to_owned())),
            None => Err(StoreError::NotFound),
        }
    }
}

impl Store {
    /// The grant with `id`, if any.
    pub async fn grant(&self, id: GrantId) -> Result<Option<Grant>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every grant, newest first.
    pub async fn grants(&self) -> Result<Vec<Grant>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants ORDER BY created_at DESC, id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The grants of one merchant organisation, newest first.
    pub async fn grants_of_merchant(&self, merchant: OrgId) -> Result<Vec<Grant>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE merchant_org = $1 ORDER BY created_at DESC, id DESC"
        )))
        .bind(merchant.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
