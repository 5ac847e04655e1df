//! Sessions live in the database, so any server process can serve any request.

use shuyu_core::{PersonId, Timestamp};
use shuyu_identity::{SecretDigest, SessionRecord};
use sqlx::any::AnyRow;

use crate::rows::{flag, flag_value, parsed, text, time};
use crate::{Store, StoreError, Tx};

fn from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        digest: SecretDigest::from_stored(text(row, "digest")?),
        person: parsed(row, "person_id")?,
        csrf: text(row, "csrf")?,
        second_factor: flag(row, "second_factor")?,
        created_at: time(row, "created_at")?,
        last_seen_at: time(row, "last_seen_at")?,
        expires_at: time(row, "expires_at")?,
    })
}

impl Tx {
    pub async fn insert_session(&mut self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (digest, person_id, csrf, second_factor, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.digest.as_str().to_owned())
        .bind(s.person.to_string())
        .bind(s.csrf.clone())
        .bind(flag_value(s.second_factor))
        .bind(s.created_at.unix_micros())
        .bind(s.last_seen_at.unix_micros())
        .bind(s.expires_at.unix_micros())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Ends a session; returns whether it existed.
    pub async fn delete_session(&mut self, digest: &SecretDigest) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE digest = $1")
            .bind(digest.as_str().to_owned())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of a person (password change, disabling); returns how many.
    pub async fn delete_sessions_of(&mut self, person: PersonId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE person_id = $1")
            .bind(person.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    pub async fn session(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT digest, person_id, csrf, second_factor, created_at, last_seen_at, expires_at \
             FROM sessions WHERE digest = $1",
        )
        .bind(digest.as_str().to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records activity on a session for the idle timeout. This is session bookkeeping, not a state
    /// change of the platform, so it is the one write that is not chained (sign-in and sign-out are).
    pub async fn touch_session(
        &self,
        digest: &SecretDigest,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE digest = $2")
            .bind(now.unix_micros())
            .bind(digest.as_str().to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes sessions that can no longer be used (housekeeping).
    pub async fn purge_sessions(
        &self,
        now: Timestamp,
        idle_seconds: i64,
    ) -> Result<u64, StoreError> {
        let idle_cutoff = now.plus_seconds(-idle_seconds).unix_micros();
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now.unix_micros())
            .bind(idle_cutoff)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
