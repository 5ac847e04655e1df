//! People, their sign-in state and their personnel records.

use shuyu_core::{OrgId, PersonId, Timestamp, Username};
use shuyu_identity::{PasswordHash, Person, Personnel, TotpSecret, TrainingRecord};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::orgs::parsed_name;
use crate::rows::{flag, flag_value, int, opt_parsed, opt_text, opt_time, parsed, text, time};
use crate::{Store, StoreError, Tx};

const COLUMNS: &str = "id, org_id, username, display_name, role, password_hash, totp_secret, totp_last_step, \
                       failed_logins, locked_until, active, real_name_verified_at, real_name_verified_by, \
                       agreement_version, agreement_accepted_at, sso_subject, created_at";

fn from_row(row: &AnyRow) -> Result<Person, StoreError> {
    let totp = opt_text(row, "totp_secret")?
        .map(|s| {
            TotpSecret::from_base32(&s)
                .map_err(|e| StoreError::Corrupt(format!("column totp_secret: {e}")))
        })
        .transpose()?;
    Ok(Person {
        id: parsed(row, "id")?,
        org: parsed(row, "org_id")?,
        username: Username::parse(&text(row, "username")?)
            .map_err(|e| StoreError::Corrupt(format!("column username: {e}")))?,
        display_name: parsed_name(row, "display_name")?,
        role: parsed(row, "role")?,
        password: opt_text(row, "password_hash")?.map(PasswordHash::from_stored),
        totp,
        totp_last_step: u64::try_from(int(row, "totp_last_step")?).unwrap_or(0),
        failed_logins: u32::try_from(int(row, "failed_logins")?).unwrap_or(u32::MAX),
        locked_until: opt_time(row, "locked_until")?,
        active: flag(row, "active")?,
        personnel: Personnel {
            real_name_verified_at: opt_time(row, "real_name_verified_at")?,
            real_name_verified_by: opt_parsed(row, "real_name_verified_by")?,
            agreement_version: opt_text(row, "agreement_version")?,
            agreement_accepted_at: opt_time(row, "agreement_accepted_at")?,
        },
        sso_subject: opt_text(row, "sso_subject")?,
        created_at: time(row, "created_at")?,
    })
}

fn training_from_row(row: &AnyRow) -> Result<TrainingRecord, StoreError> {
    let completed = text(row, "completed_on")?;
    Ok(TrainingRecord {
        id: parsed(row, "id")?,
        person: parsed(row, "person_id")?,
        topic: text(row, "topic")?,
        completed_on: chrono::NaiveDate::parse_from_str(&completed, "%Y-%m-%d")
            .map_err(|e| StoreError::Corrupt(format!("column completed_on: {e}")))?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: time(row, "recorded_at")?,
    })
}

impl Tx {
    pub async fn insert_person(&mut self, p: &Person) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO people ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        )))
        .bind(p.id.to_string())
        .bind(p.org.to_string())
        .bind(p.username.as_str().to_owned())
        .bind(p.display_name.as_str().to_owned())
        .bind(p.role.as_str())
        .bind(p.password.as_ref().map(|h| h.as_str().to_owned()))
        .bind(p.totp.as_ref().map(|t| t.base32().to_owned()))
        .bind(i64::try_from(p.totp_last_step).unwrap_or(i64::MAX))
        .bind(i64::from(p.failed_logins))
        .bind(p.locked_until.map(Timestamp::unix_micros))
        .bind(flag_value(p.active))
        .bind(p.personnel.real_name_verified_at.map(Timestamp::unix_micros))
        .bind(p.personnel.real_name_verified_by.map(|id| id.to_string()))
        .bind(p.personnel.agreement_version.clone())
        .bind(p.personnel.agreement_accepted_at.map(Timestamp::unix_micros))
        .bind(p.sso_subject.clone())
        .bind(p.created_at.unix_micros())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores the outcome of a sign-in attempt: failure count, lock, last accepted TOTP step.
    pub async fn set_login_state(
        &mut self,
        id: PersonId,
        failed_logins: u32,
        locked_until: Option<Timestamp>,
        totp_last_step: u64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE people SET failed_logins = $1, locked_until = $2, totp_last_step = $3 WHERE id = $4")
            .bind(i64::from(failed_logins))
            .bind(locked_until.map(Timestamp::unix_micros))
            .bind(i64::try_from(totp_last_step).unwrap_or(i64::MAX))
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        expect_one(done.rows_affected())
    }

    pub async fn set_password(
        &mut self,
        id: PersonId,
        hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE people SET password_hash = $1 WHERE id = $2")
            .bind(hash.as_str().to_owned())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        expect_one(done.rows_affected())
    }

    pub async fn set_totp(
        &mut self,
        id: PersonId,
        secret: Option<&TotpSecret>,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE people SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
                .bind(secret.map(|s| s.base32().to_owned()))
                .bind(id.to_string())
                .execute(self.conn())
                .await?;
        expect_one(done.rows_affected())
    }

    pub async fn set_active(&mut self, id: PersonId, active: bool) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE people SET active = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
        )
        .bind(flag_value(active))
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        expect_one(done.rows_affected())
    }

    pub async fn record_verification(
        &mut self,
        id: PersonId,
        by: PersonId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE people SET real_name_verified_at = $1, real_name_verified_by = $2 WHERE id = $3")
            .bind(at.unix_micros())
            .bind(by.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        expect_one(done.rows_affected())
    }

    pub async fn accept_agreement(
        &mut self,
        id: PersonId,
        version: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE people SET agreement_version = $1, agreement_accepted_at = $2 WHERE id = $3",
        )
        .bind(version.to_owned())
        .bind(at.unix_micros())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        expect_one(done.rows_affected())
    }

    /// Links a person to `issuer|subject` (unique: one identity opens one account), or unlinks.
    pub async fn link_sso(
        &mut self,
        id: PersonId,
        subject: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE people SET sso_subject = $1 WHERE id = $2")
            .bind(subject.map(str::to_owned))
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        expect_one(done.rows_affected())
    }

    pub async fn insert_training(&mut self, t: &TrainingRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO training_records (id, person_id, topic, completed_on, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(t.id.to_string())
        .bind(t.person.to_string())
        .bind(t.topic.clone())
        .bind(t.completed_on.format("%Y-%m-%d").to_string())
        .bind(t.recorded_by.to_string())
        .bind(t.recorded_at.unix_micros())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Re-reads a person inside the transaction (after the head lock, so the state is current).
    pub async fn person(&mut self, id: PersonId) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM people WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(from_row).transpose()
    }
}

fn expect_one(rows: u64) -> Result<(), StoreError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

impl Store {
    pub async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM people WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn person_by_username(&self, username: &str) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM people WHERE username = $1"
        )))
        .bind(username.trim().to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn person_by_sso(&self, subject: &str) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM people WHERE sso_subject = $1"
        )))
        .bind(subject.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// People of one organisation, or of all when `org` is `None`, by username.
    pub async fn people(&self, org: Option<OrgId>) -> Result<Vec<Person>, StoreError> {
        let rows = match org {
            Some(org) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM people WHERE org_id = $1 ORDER BY username"
                )))
                .bind(org.to_string())
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM people ORDER BY username"
                )))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    pub async fn training(&self, person: PersonId) -> Result<Vec<TrainingRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, person_id, topic, completed_on, recorded_by, recorded_at FROM training_records \
             WHERE person_id = $1 ORDER BY completed_on DESC",
        )
        .bind(person.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(training_from_row).collect()
    }
}
