//! The writing transaction. Opening one locks the audit chain's head row, which serialises writers
//! across connections and server processes (a row lock on PostgreSQL, the write lock on SQLite); the
//! head is read under that lock, events are chained onto it, and the new head is written back at
//! commit. A `Tx` without an audit event cannot commit.

use std::sync::Arc;

use shuyu_audit::{ChainHead, EventDraft, EventRecord};
use sqlx::{Any, AnyConnection, Transaction};

use crate::rows::bytes32;
use crate::{Chain, Store, StoreError};

pub struct Tx {
    inner: Transaction<'static, Any>,
    head: ChainHead,
    appended: u32,
    chain: Arc<Chain>,
}

impl Store {
    /// Begins a writing transaction and takes the chain head's lock.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let mut inner = self.pool().begin().await?;
        let row = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *inner)
            .await?;
        let seq: i64 = sqlx::Row::try_get(&row, "seq")?;
        let head = ChainHead {
            seq: u64::try_from(seq)
                .map_err(|_| StoreError::Corrupt("audit_head.seq is negative".into()))?,
            hash: bytes32(&row, "hash")?,
        };
        Ok(Tx {
            inner,
            head,
            appended: 0,
            chain: Arc::clone(&self.chain),
        })
    }
}

impl Tx {
    /// Chains and stores an audit event in this transaction; signs a checkpoint when one is due.
    pub async fn audit(&mut self, draft: EventDraft) -> Result<EventRecord, StoreError> {
        let record = self.head.advance(draft);
        insert_event(&mut self.inner, &record).await?;
        if record.seq.is_multiple_of(self.chain.checkpoint_every) {
            let checkpoint = self
                .chain
                .signer
                .sign_checkpoint(&self.head, record.draft.at_micros);
            crate::audit::insert_checkpoint(&mut self.inner, &checkpoint).await?;
        }
        self.appended += 1;
        Ok(record)
    }

    /// The connection, for the repository functions of this crate.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    /// Commits the change together with its events and the new chain head.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if self.appended == 0 {
            return Err(StoreError::NoAuditEvent);
        }
        write_head(&mut self.inner, &self.head).await?;
        self.inner.commit().await?;
        Ok(())
    }

    /// Commits a transaction that only signs a checkpoint (no state change, so no event).
    pub(crate) async fn commit_checkpoint_only(mut self) -> Result<(), StoreError> {
        write_head(&mut self.inner, &self.head).await?;
        self.inner.commit().await?;
        Ok(())
    }

    pub(crate) fn head(&self) -> ChainHead {
        self.head
    }

    pub(crate) fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Abandons the transaction: nothing of it is stored.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.inner.rollback().await?;
        Ok(())
    }
}

async fn write_head(conn: &mut AnyConnection, head: &ChainHead) -> Result<(), StoreError> {
    let seq = i64::try_from(head.seq)
        .map_err(|_| StoreError::Corrupt("audit sequence overflow".into()))?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(head.hash.to_vec())
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_event(conn: &mut AnyConnection, record: &EventRecord) -> Result<(), StoreError> {
    let d = &record.draft;
    let seq = i64::try_from(record.seq)
        .map_err(|_| StoreError::Corrupt("audit sequence overflow".into()))?;
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_person, actor_org, role, action, object_type, object_id, \
         digest, request_id, source, outcome, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(seq)
    .bind(d.at_micros)
    .bind(d.actor_person.clone())
    .bind(d.actor_org.clone())
    .bind(d.role.clone())
    .bind(d.action.clone())
    .bind(d.object_type.clone())
    .bind(d.object_id.clone())
    .bind(d.digest.to_vec())
    .bind(d.request_id.clone())
    .bind(d.source.clone())
    .bind(d.outcome.as_str())
    .bind(d.detail.clone())
    .bind(record.prev_hash.to_vec())
    .bind(record.hash.to_vec())
    .execute(conn)
    .await?;
    Ok(())
}
