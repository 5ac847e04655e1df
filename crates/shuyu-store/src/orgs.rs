//! Organisations.

use shuyu_core::OrgId;
use shuyu_identity::Organisation;
use sqlx::any::AnyRow;

use crate::rows::{parsed, time};
use crate::{Store, StoreError, Tx};

const COLUMNS: &str = "id, name, org_type, credit_code, created_at";

fn from_row(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: parsed(row, "id")?,
        name: parsed_name(row, "name")?,
        org_type: parsed(row, "org_type")?,
        credit_code: shuyu_core::CreditCode::parse(&crate::rows::text(row, "credit_code")?)
            .map_err(|e| StoreError::Corrupt(format!("column credit_code: {e}")))?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) fn parsed_name(row: &AnyRow, column: &str) -> Result<shuyu_core::Name, StoreError> {
    shuyu_core::Name::parse(&crate::rows::text(row, column)?)
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

impl Tx {
    pub async fn insert_org(&mut self, org: &Organisation) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO orgs (id, name, org_type, credit_code, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org.id.to_string())
            .bind(org.name.as_str().to_owned())
            .bind(org.org_type.as_str())
            .bind(org.credit_code.as_str().to_owned())
            .bind(org.created_at.unix_micros())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    pub async fn org(&self, id: OrgId) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM orgs WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn orgs(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM orgs ORDER BY name"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn org_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orgs")
            .fetch_one(self.pool())
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
