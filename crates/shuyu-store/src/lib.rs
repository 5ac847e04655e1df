//! Persistence for shuyu: one schema on SQLite (embedded, the default) or PostgreSQL, through sqlx's
//! `Any` driver so that every query is written once.
//!
//! The central type is [`Tx`], a writing transaction that holds the audit chain's head. Every write
//! goes through a `Tx`, and a `Tx` refuses to commit unless it appended at least one audit event, so
//! no state change can be stored without its event, and a change whose event cannot be written is
//! rolled back with it. Reads go through [`Store`] directly.
//!
//! Portability rules for the SQL in this crate: `$1` placeholders, times as BIGINT unix microseconds,
//! flags as 0/1 BIGINT, ids as UUID text, no dialect-specific functions.
//!
//! This crate must never decide access (that is `shuyu-policy`) nor log data values.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod audit;
mod catalog;
mod datasets;
mod error;
mod freezes;
mod fusion;
mod grants;
mod orgs;
mod people;
mod rows;
mod sessions;
mod sso;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod tx;
mod workspaces;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use shuyu_audit::AuditSigner;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

pub use audit::{AuditFilter, AuditRow, VerifyOutcome};
pub use catalog::{
    CatalogEntryRow, CatalogSearch, StoredRegistration, StoredResource, StoredVersion,
};
pub use datasets::StoredDataset;
pub use error::StoreError;
pub use freezes::{ALREADY_FROZEN, FreezeLift, FreezeTarget, StoredFreeze};
pub use fusion::{FUSION_TABLE_TAKEN, STALE_FUSION, StoredFusion};
pub use grants::STALE_GRANT;
pub use sso::PendingSsoLogin;
pub use tx::Tx;
pub use workspaces::{
    PreparationTotals, StoredDevTable, StoredMetering, StoredPreparation, StoredQuery, StoredSpend,
    StoredWorkspaceKey, WorkspaceTotals,
};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::BadUrl(
                "database_url must start with sqlite: or postgres:// (for example postgres://user@host/db)".into(),
            ))
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Sign a checkpoint of the chain after this many events.
    pub checkpoint_every: u64,
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            checkpoint_every: 64,
            max_connections: 8,
        }
    }
}

pub(crate) struct Chain {
    pub(crate) signer: AuditSigner,
    pub(crate) checkpoint_every: u64,
}

/// A connection pool to the database, with the platform's audit signing key.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    chain: Arc<Chain>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects. SQLite runs in WAL mode with foreign keys on and a busy timeout, so that several
    /// connections (and the CLI beside a server) share it safely.
    pub async fn open(
        url: &str,
        signer: AuditSigner,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let connect = sqlx::any::AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(e.to_string()))?;
        let pool = pool
            .connect_with(connect)
            .await
            .map_err(StoreError::connect)?;
        let chain = Arc::new(Chain {
            signer,
            checkpoint_every: options.checkpoint_every.max(1),
        });
        Ok(Self {
            pool,
            backend,
            chain,
        })
    }

    /// Applies the embedded migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers whether the database can be reached (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}
