//! Pending single sign-on logins (OpenID Connect state, PKCE verifier and nonce), kept in the
//! database so the callback may reach any server process.

use shuyu_core::Timestamp;

use crate::rows::{text, time};
use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSsoLogin {
    pub state: String,
    pub verifier: String,
    pub nonce: String,
    pub return_to: String,
    pub created_at: Timestamp,
}

impl Tx {
    pub async fn insert_sso_login(&mut self, p: &PendingSsoLogin) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sso_logins (state, verifier, nonce, return_to, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(p.state.clone())
            .bind(p.verifier.clone())
            .bind(p.nonce.clone())
            .bind(p.return_to.clone())
            .bind(p.created_at.unix_micros())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Takes (reads and deletes) a pending login, so a state value works once.
    pub async fn take_sso_login(
        &mut self,
        state: &str,
    ) -> Result<Option<PendingSsoLogin>, StoreError> {
        let row = sqlx::query("DELETE FROM sso_logins WHERE state = $1 RETURNING state, verifier, nonce, return_to, created_at")
            .bind(state.to_owned())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<PendingSsoLogin, StoreError> {
    Ok(PendingSsoLogin {
        state: text(row, "state")?,
        verifier: text(row, "verifier")?,
        nonce: text(row, "nonce")?,
        return_to: text(row, "return_to")?,
        created_at: time(row, "created_at")?,
    })
}

impl Store {
    /// Reads a pending login without taking it (the app takes it in the transaction that records
    /// the outcome, after talking to the identity provider outside any lock).
    pub async fn sso_login(&self, state: &str) -> Result<Option<PendingSsoLogin>, StoreError> {
        let row = sqlx::query(
            "SELECT state, verifier, nonce, return_to, created_at FROM sso_logins WHERE state = $1",
        )
        .bind(state.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn purge_sso_logins(&self, older_than: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sso_logins WHERE created_at < $1")
            .bind(older_than.unix_micros())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
