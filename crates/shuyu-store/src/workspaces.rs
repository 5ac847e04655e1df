//! Workspaces of the secure domain: each grant's data key for its development tables, the
//! development tables themselves, every query submitted (run or refused) with its released result,
//! and the differential-privacy ledgers.
//!
//! Must never: decide anything (who may query, what a result may show, whether a budget suffices
//! is the app's and `shuyu-dp`'s business), except the one atomic guard a ledger needs — a charge
//! is written only while the ledger's running total stays within the budget the caller passes, so
//! two queries charged at once cannot together overspend ([`Tx::charge_ledger`]).

use shuyu_catalog::ResourceId;
use shuyu_core::{DatasetId, GrantId, PersonId, QueryId, Timestamp, WorkspaceId};
use shuyu_grant::Grant;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{int, opt_parsed, opt_text, parsed, text, time};
use crate::{Store, StoreError, Tx};

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {e}"))
}

fn u64_of(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    u64::try_from(int(row, column)?).map_err(|e| corrupt(column, e))
}

fn i64_of(value: u64, column: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|e| corrupt(column, e))
}

/// A workspace's own data key (it encrypts the development tables), wrapped by the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWorkspaceKey {
    pub grant: GrantId,
    pub wrapped_key: String,
    pub master_key_id: String,
    pub created_at: Timestamp,
}

/// One development table: a desensitized sample or simulated copy of a dataset version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDevTable {
    pub grant: GrantId,
    pub table: String,
    pub resource: ResourceId,
    pub dataset: DatasetId,
    /// `sample` or `simulated`.
    pub mode: String,
    pub object_path: String,
    pub rows: u64,
    pub created_at: Timestamp,
    pub created_by: PersonId,
}

/// One query submitted in a workspace, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQuery {
    pub id: QueryId,
    pub grant: GrantId,
    /// `dev` or `prod`.
    pub env: String,
    pub sql: String,
    /// The plan's fingerprint, when it got as far as a plan.
    pub fingerprint: Option<String>,
    /// `succeeded`, `refused` or `failed`.
    pub outcome: String,
    /// Why it was refused or failed (no data value).
    pub reason: Option<String>,
    /// A development run: production's verdict on the same query, JSON.
    pub production: Option<String>,
    /// A production query: the development run of the same plan.
    pub dev_query: Option<QueryId>,
    /// A repeated differentially private query: the query whose recorded answer was returned.
    pub repeat_of: Option<QueryId>,
    /// The released result as JSON text (only what passed the output control).
    pub result: Option<String>,
    /// SM3 of `result`, hex.
    pub result_sm3: Option<String>,
    pub result_rows: u64,
    pub epsilon_nano: u64,
    pub delta_atto: u64,
    pub suppressed_groups: u64,
    pub suppressed_rows: u64,
    /// A differentially private query: its contribution bounds `L` and `C`, JSON.
    pub dp_contribution: Option<String>,
    pub metering: StoredMetering,
    pub created_at: Timestamp,
    pub created_by: PersonId,
}

/// The work a query did (or the sum over many).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredMetering {
    pub elapsed_us: u64,
    pub compute_us: u64,
    pub rows_scanned: u64,
    pub bytes_fetched: u64,
    pub output_bytes: u64,
}

/// Metering summed over a workspace's queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkspaceTotals {
    pub queries: u64,
    pub refused: u64,
    pub metering: StoredMetering,
    pub epsilon_nano: u64,
    pub delta_atto: u64,
    pub preparation: PreparationTotals,
}

/// The development-table preparations of a workspace, summed (desensitization work, SBX-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PreparationTotals {
    pub preparations: u64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub elapsed_us: u64,
}

/// One preparation of a workspace's development tables, metered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreparation {
    pub grant: GrantId,
    pub mode: String,
    pub rows_read: u64,
    pub rows_written: u64,
    pub elapsed_us: u64,
    pub created_at: Timestamp,
    pub created_by: PersonId,
}

/// One charge of a differentially private query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSpend {
    pub query: QueryId,
    pub grant: GrantId,
    pub legal_entity: String,
    pub population: String,
    pub fingerprint: String,
    pub epsilon_nano: u64,
    pub delta_atto: u64,
    pub created_at: Timestamp,
}

const QUERY_COLUMNS: &str = "id, grant_id, env, sql_text, fingerprint, outcome, reason, \
     production, dev_query_id, repeat_of, result, result_sm3, result_rows, epsilon_nano, delta_atto, \
     suppressed_groups, suppressed_rows, elapsed_us, compute_us, rows_scanned, bytes_fetched, \
     output_bytes, created_at, created_by, dp_contribution";

fn query_from_row(row: &AnyRow) -> Result<StoredQuery, StoreError> {
    Ok(StoredQuery {
        id: parsed(row, "id")?,
        grant: parsed(row, "grant_id")?,
        env: text(row, "env")?,
        sql: text(row, "sql_text")?,
        fingerprint: opt_text(row, "fingerprint")?,
        outcome: text(row, "outcome")?,
        reason: opt_text(row, "reason")?,
        production: opt_text(row, "production")?,
        dev_query: opt_parsed(row, "dev_query_id")?,
        repeat_of: opt_parsed(row, "repeat_of")?,
        result: opt_text(row, "result")?,
        result_sm3: opt_text(row, "result_sm3")?,
        result_rows: u64_of(row, "result_rows")?,
        epsilon_nano: u64_of(row, "epsilon_nano")?,
        delta_atto: u64_of(row, "delta_atto")?,
        suppressed_groups: u64_of(row, "suppressed_groups")?,
        suppressed_rows: u64_of(row, "suppressed_rows")?,
        dp_contribution: opt_text(row, "dp_contribution")?,
        metering: StoredMetering {
            elapsed_us: u64_of(row, "elapsed_us")?,
            compute_us: u64_of(row, "compute_us")?,
            rows_scanned: u64_of(row, "rows_scanned")?,
            bytes_fetched: u64_of(row, "bytes_fetched")?,
            output_bytes: u64_of(row, "output_bytes")?,
        },
        created_at: time(row, "created_at")?,
        created_by: parsed(row, "created_by")?,
    })
}

const DEV_COLUMNS: &str = "grant_id, table_name, resource_id, dataset_id, mode, object_path, \
     rows_count, created_at, created_by";

fn dev_from_row(row: &AnyRow) -> Result<StoredDevTable, StoreError> {
    Ok(StoredDevTable {
        grant: parsed(row, "grant_id")?,
        table: text(row, "table_name")?,
        resource: parsed(row, "resource_id")?,
        dataset: parsed(row, "dataset_id")?,
        mode: text(row, "mode")?,
        object_path: text(row, "object_path")?,
        rows: u64_of(row, "rows_count")?,
        created_at: time(row, "created_at")?,
        created_by: parsed(row, "created_by")?,
    })
}

impl Tx {
    /// Stores a workspace's data key (once per grant).
    pub async fn insert_workspace_key(
        &mut self,
        key: &StoredWorkspaceKey,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workspace_keys (grant_id, wrapped_key, master_key_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key.grant.to_string())
        .bind(key.wrapped_key.clone())
        .bind(key.master_key_id.clone())
        .bind(key.created_at.unix_micros())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces the development table `table.table` of its grant; returns the object path of the
    /// table it replaced, if any (to delete once committed).
    pub async fn replace_dev_table(
        &mut self,
        table: &StoredDevTable,
    ) -> Result<Option<String>, StoreError> {
        let old = sqlx::query(
            "SELECT object_path FROM workspace_dev_tables WHERE grant_id = $1 AND table_name = $2",
        )
        .bind(table.grant.to_string())
        .bind(table.table.clone())
        .fetch_optional(self.conn())
        .await?
        .map(|row| text(&row, "object_path"))
        .transpose()?;
        sqlx::query("DELETE FROM workspace_dev_tables WHERE grant_id = $1 AND table_name = $2")
            .bind(table.grant.to_string())
            .bind(table.table.clone())
            .execute(self.conn())
            .await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO workspace_dev_tables ({DEV_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(table.grant.to_string())
        .bind(table.table.clone())
        .bind(table.resource.to_string())
        .bind(table.dataset.to_string())
        .bind(table.mode.clone())
        .bind(table.object_path.clone())
        .bind(i64_of(table.rows, "rows_count")?)
        .bind(table.created_at.unix_micros())
        .bind(table.created_by.to_string())
        .execute(self.conn())
        .await?;
        Ok(old)
    }

    /// Records a preparation of development tables (in the `Tx` that stores them).
    pub async fn insert_preparation(&mut self, p: &StoredPreparation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workspace_preparations (grant_id, mode, rows_read, rows_written, \
             elapsed_us, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.grant.to_string())
        .bind(p.mode.clone())
        .bind(i64_of(p.rows_read, "rows_read")?)
        .bind(i64_of(p.rows_written, "rows_written")?)
        .bind(i64_of(p.elapsed_us, "elapsed_us")?)
        .bind(p.created_at.unix_micros())
        .bind(p.created_by.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores a query and its released result.
    pub async fn insert_query(&mut self, q: &StoredQuery) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO workspace_queries ({QUERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        )))
        .bind(q.id.to_string())
        .bind(q.grant.to_string())
        .bind(q.env.clone())
        .bind(q.sql.clone())
        .bind(q.fingerprint.clone())
        .bind(q.outcome.clone())
        .bind(q.reason.clone())
        .bind(q.production.clone())
        .bind(q.dev_query.map(|id| id.to_string()))
        .bind(q.repeat_of.map(|id| id.to_string()))
        .bind(q.result.clone())
        .bind(q.result_sm3.clone())
        .bind(i64_of(q.result_rows, "result_rows")?)
        .bind(i64_of(q.epsilon_nano, "epsilon_nano")?)
        .bind(i64_of(q.delta_atto, "delta_atto")?)
        .bind(i64_of(q.suppressed_groups, "suppressed_groups")?)
        .bind(i64_of(q.suppressed_rows, "suppressed_rows")?)
        .bind(i64_of(q.metering.elapsed_us, "elapsed_us")?)
        .bind(i64_of(q.metering.compute_us, "compute_us")?)
        .bind(i64_of(q.metering.rows_scanned, "rows_scanned")?)
        .bind(i64_of(q.metering.bytes_fetched, "bytes_fetched")?)
        .bind(i64_of(q.metering.output_bytes, "output_bytes")?)
        .bind(q.created_at.unix_micros())
        .bind(q.created_by.to_string())
        .bind(q.dp_contribution.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Adds `(epsilon_nano, delta_atto)` to the ledger `(level, key)` only if its total stays within
    /// `(budget_epsilon_nano, budget_delta_atto)`; `false` (and nothing written) when it would not.
    /// The check and the write are one statement, so concurrent charges cannot overspend.
    pub async fn charge_ledger(
        &mut self,
        (level, key): (&str, &str),
        (epsilon_nano, delta_atto): (u64, u64),
        (budget_epsilon_nano, budget_delta_atto): (u64, u64),
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "INSERT INTO dp_ledgers (level, ledger_key, epsilon_nano, delta_atto) \
             VALUES ($1, $2, 0, 0) ON CONFLICT (level, ledger_key) DO NOTHING",
        )
        .bind(level.to_owned())
        .bind(key.to_owned())
        .execute(self.conn())
        .await?;
        let done = sqlx::query(
            "UPDATE dp_ledgers SET epsilon_nano = epsilon_nano + $3, delta_atto = delta_atto + $4 \
             WHERE level = $1 AND ledger_key = $2 \
             AND epsilon_nano + $3 <= $5 AND delta_atto + $4 <= $6",
        )
        .bind(level.to_owned())
        .bind(key.to_owned())
        .bind(i64_of(epsilon_nano, "epsilon_nano")?)
        .bind(i64_of(delta_atto, "delta_atto")?)
        .bind(i64_of(budget_epsilon_nano, "budget")?)
        .bind(i64_of(budget_delta_atto, "budget")?)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records one charge.
    pub async fn insert_spend(&mut self, s: &StoredSpend) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dp_spends (query_id, grant_id, legal_entity, population, fingerprint, \
             epsilon_nano, delta_atto, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.query.to_string())
        .bind(s.grant.to_string())
        .bind(s.legal_entity.clone())
        .bind(s.population.clone())
        .bind(s.fingerprint.clone())
        .bind(i64_of(s.epsilon_nano, "epsilon_nano")?)
        .bind(i64_of(s.delta_atto, "delta_atto")?)
        .bind(s.created_at.unix_micros())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

const SPEND_COLUMNS: &str = "query_id, grant_id, legal_entity, population, fingerprint, \
     epsilon_nano, delta_atto, created_at";

fn spend_from_row(row: &AnyRow) -> Result<StoredSpend, StoreError> {
    Ok(StoredSpend {
        query: parsed(row, "query_id")?,
        grant: parsed(row, "grant_id")?,
        legal_entity: text(row, "legal_entity")?,
        population: text(row, "population")?,
        fingerprint: text(row, "fingerprint")?,
        epsilon_nano: u64_of(row, "epsilon_nano")?,
        delta_atto: u64_of(row, "delta_atto")?,
        created_at: time(row, "created_at")?,
    })
}

impl Store {
    /// The grant whose workspace is `workspace`, if any.
    pub async fn grant_of_workspace(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<Grant>, StoreError> {
        let id = sqlx::query("SELECT id FROM grants WHERE workspace_id = $1")
            .bind(workspace.to_string())
            .fetch_optional(self.pool())
            .await?
            .map(|row| parsed::<GrantId>(&row, "id"))
            .transpose()?;
        match id {
            Some(id) => self.grant(id).await,
            None => Ok(None),
        }
    }

    /// The workspace key of `grant`, if one was made.
    pub async fn workspace_key(
        &self,
        grant: GrantId,
    ) -> Result<Option<StoredWorkspaceKey>, StoreError> {
        sqlx::query(
            "SELECT grant_id, wrapped_key, master_key_id, created_at FROM workspace_keys \
             WHERE grant_id = $1",
        )
        .bind(grant.to_string())
        .fetch_optional(self.pool())
        .await?
        .map(|row| {
            Ok(StoredWorkspaceKey {
                grant: parsed(&row, "grant_id")?,
                wrapped_key: text(&row, "wrapped_key")?,
                master_key_id: text(&row, "master_key_id")?,
                created_at: time(&row, "created_at")?,
            })
        })
        .transpose()
    }

    /// The development tables of `grant`, by name.
    pub async fn dev_tables(&self, grant: GrantId) -> Result<Vec<StoredDevTable>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEV_COLUMNS} FROM workspace_dev_tables WHERE grant_id = $1 ORDER BY table_name"
        )))
        .bind(grant.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(dev_from_row).collect()
    }

    /// The query `id`, if any.
    pub async fn workspace_query(&self, id: QueryId) -> Result<Option<StoredQuery>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {QUERY_COLUMNS} FROM workspace_queries WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(query_from_row).transpose()
    }

    /// The latest `limit` queries of `grant`, newest first.
    pub async fn workspace_queries(
        &self,
        grant: GrantId,
        limit: u32,
    ) -> Result<Vec<StoredQuery>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {QUERY_COLUMNS} FROM workspace_queries WHERE grant_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(grant.to_string())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(query_from_row).collect()
    }

    /// The latest succeeded query of `grant` in `env` with `fingerprint`, if any.
    pub async fn succeeded_query_with(
        &self,
        grant: GrantId,
        env: &str,
        fingerprint: &str,
    ) -> Result<Option<QueryId>, StoreError> {
        sqlx::query(
            "SELECT id FROM workspace_queries WHERE grant_id = $1 AND env = $2 \
             AND fingerprint = $3 AND outcome = 'succeeded' ORDER BY created_at DESC, id DESC",
        )
        .bind(grant.to_string())
        .bind(env.to_owned())
        .bind(fingerprint.to_owned())
        .fetch_optional(self.pool())
        .await?
        .map(|row| parsed(&row, "id"))
        .transpose()
    }

    /// The charge recorded for `fingerprint` by `grant`, or by any grant of `legal_entity` over
    /// `population` — the answer a repeat returns.
    pub async fn spend_for(
        &self,
        grant: GrantId,
        (legal_entity, population): (&str, &str),
        fingerprint: &str,
    ) -> Result<Option<StoredSpend>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SPEND_COLUMNS} FROM dp_spends WHERE fingerprint = $1 \
             AND (grant_id = $2 OR (legal_entity = $3 AND population = $4)) \
             ORDER BY created_at, query_id"
        )))
        .bind(fingerprint.to_owned())
        .bind(grant.to_string())
        .bind(legal_entity.to_owned())
        .bind(population.to_owned())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(spend_from_row)
        .transpose()
    }

    /// The charges of `grant`, oldest first.
    pub async fn spends_of_grant(&self, grant: GrantId) -> Result<Vec<StoredSpend>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SPEND_COLUMNS} FROM dp_spends WHERE grant_id = $1 ORDER BY created_at, query_id"
        )))
        .bind(grant.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(spend_from_row).collect()
    }

    /// The running total of the ledger `(level, key)`: `(epsilon_nano, delta_atto)`.
    pub async fn ledger_total(&self, level: &str, key: &str) -> Result<(u64, u64), StoreError> {
        let row = sqlx::query(
            "SELECT epsilon_nano, delta_atto FROM dp_ledgers WHERE level = $1 AND ledger_key = $2",
        )
        .bind(level.to_owned())
        .bind(key.to_owned())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok((u64_of(&row, "epsilon_nano")?, u64_of(&row, "delta_atto")?)),
            None => Ok((0, 0)),
        }
    }

    /// Metering and spending summed over the queries of `grant`.
    pub async fn workspace_totals(&self, grant: GrantId) -> Result<WorkspaceTotals, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS queries, \
             CAST(COALESCE(SUM(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END), 0) AS BIGINT) AS refused, \
             CAST(COALESCE(SUM(elapsed_us), 0) AS BIGINT) AS elapsed_us, CAST(COALESCE(SUM(compute_us), 0) AS BIGINT) AS compute_us, \
             CAST(COALESCE(SUM(rows_scanned), 0) AS BIGINT) AS rows_scanned, \
             CAST(COALESCE(SUM(bytes_fetched), 0) AS BIGINT) AS bytes_fetched, \
             CAST(COALESCE(SUM(output_bytes), 0) AS BIGINT) AS output_bytes, \
             CAST(COALESCE(SUM(epsilon_nano), 0) AS BIGINT) AS epsilon_nano, \
             CAST(COALESCE(SUM(delta_atto), 0) AS BIGINT) AS delta_atto \
             FROM workspace_queries WHERE grant_id = $1",
        )
        .bind(grant.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(WorkspaceTotals {
            queries: u64_of(&row, "queries")?,
            refused: u64_of(&row, "refused")?,
            metering: StoredMetering {
                elapsed_us: u64_of(&row, "elapsed_us")?,
                compute_us: u64_of(&row, "compute_us")?,
                rows_scanned: u64_of(&row, "rows_scanned")?,
                bytes_fetched: u64_of(&row, "bytes_fetched")?,
                output_bytes: u64_of(&row, "output_bytes")?,
            },
            epsilon_nano: u64_of(&row, "epsilon_nano")?,
            delta_atto: u64_of(&row, "delta_atto")?,
            preparation: self.preparation_totals(grant).await?,
        })
    }

    async fn preparation_totals(&self, grant: GrantId) -> Result<PreparationTotals, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS preparations, \
             CAST(COALESCE(SUM(rows_read), 0) AS BIGINT) AS rows_read, \
             CAST(COALESCE(SUM(rows_written), 0) AS BIGINT) AS rows_written, \
             CAST(COALESCE(SUM(elapsed_us), 0) AS BIGINT) AS elapsed_us \
             FROM workspace_preparations WHERE grant_id = $1",
        )
        .bind(grant.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(PreparationTotals {
            preparations: u64_of(&row, "preparations")?,
            rows_read: u64_of(&row, "rows_read")?,
            rows_written: u64_of(&row, "rows_written")?,
            elapsed_us: u64_of(&row, "elapsed_us")?,
        })
    }
}
