//! The audit chain's storage: appending checkpoints, searching and streaming events, and verifying
//! the stored chain with `shuyu-audit`'s verifier.

use futures_util::TryStreamExt;
use futures_util::stream::{self, Stream};
use shuyu_audit::{
    AuditVerifier, Break, ChainHead, ChainVerifier, Checkpoint, EventDraft, EventRecord, Outcome,
    Report,
};
use shuyu_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::rows::{bytes32, int, opt_text, text};
use crate::{Store, StoreError};

/// What a supervisor searches by. Every field narrows the search; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_person: Option<String>,
    pub actor_org: Option<String>,
    /// Exact action name, or a prefix ending in `*` (`person.*`).
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub from: Option<Timestamp>,
    /// Exclusive upper bound.
    pub to: Option<Timestamp>,
}

pub type AuditRow = EventRecord;

/// The result of verifying the stored chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    Intact(Report),
    Broken(Break),
}

const COLUMNS: &str = "seq, at, actor_person, actor_org, role, action, object_type, object_id, digest, \
                       request_id, source, outcome, detail, prev_hash, hash";

enum Bind {
    Text(String),
    Int(i64),
}

impl AuditFilter {
    /// The WHERE clause (starting with " WHERE" or empty) and its values, numbered from `$1`.
    fn to_sql(&self) -> (String, Vec<Bind>) {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        let mut push = |clause: &str, bind: Bind| {
            binds.push(bind);
            clauses.push(clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(v) = &self.actor_person {
            push("actor_person = ?", Bind::Text(v.clone()));
        }
        if let Some(v) = &self.actor_org {
            push("actor_org = ?", Bind::Text(v.clone()));
        }
        if let Some(v) = &self.action {
            match v.strip_suffix('*') {
                Some(prefix) => {
                    let escaped = prefix
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    push(
                        "action LIKE ? ESCAPE '\\'",
                        Bind::Text(format!("{escaped}%")),
                    );
                }
                None => push("action = ?", Bind::Text(v.clone())),
            }
        }
        if let Some(v) = &self.object_type {
            push("object_type = ?", Bind::Text(v.clone()));
        }
        if let Some(v) = &self.object_id {
            push("object_id = ?", Bind::Text(v.clone()));
        }
        if let Some(v) = self.outcome {
            push("outcome = ?", Bind::Text(v.as_str().to_owned()));
        }
        if let Some(v) = self.from {
            push("at >= ?", Bind::Int(v.unix_micros()));
        }
        if let Some(v) = self.to {
            push("at < ?", Bind::Int(v.unix_micros()));
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        (sql, binds)
    }
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for bind in binds {
        query = match bind {
            Bind::Text(v) => query.bind(v),
            Bind::Int(v) => query.bind(v),
        };
    }
    query
}

impl Store {
    /// The newest events matching `filter`, newest first, at most `limit`, older than `before_seq`
    /// when given (for paging).
    pub async fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let (mut sql_where, mut binds) = filter.to_sql();
        if let Some(before) = before_seq {
            binds.push(Bind::Int(i64::try_from(before).unwrap_or(i64::MAX)));
            let joiner = if sql_where.is_empty() {
                " WHERE"
            } else {
                " AND"
            };
            sql_where.push_str(&format!("{joiner} seq < ${}", binds.len()));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events{sql_where} ORDER BY seq DESC LIMIT {}",
            limit.clamp(1, 1000)
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// All events matching `filter`, oldest first, fetched in pages so memory stays bounded however
    /// long the trail is.
    pub fn stream_audit(
        &self,
        filter: AuditFilter,
    ) -> impl Stream<Item = Result<EventRecord, StoreError>> + Send + 'static {
        let store = self.clone();
        let pages = stream::try_unfold(
            (store, filter, 0u64, false),
            |(store, filter, after, done)| async move {
                if done {
                    return Ok(None);
                }
                let page = store.audit_page(&filter, after, 2000).await?;
                let last = page.last().map(|e| e.seq);
                let done = page.len() < 2000;
                Ok::<_, StoreError>(last.map(|last| (page, (store, filter, last, done))))
            },
        );
        pages
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    async fn audit_page(
        &self,
        filter: &AuditFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let (mut sql_where, mut binds) = filter.to_sql();
        binds.push(Bind::Int(i64::try_from(after).unwrap_or(i64::MAX)));
        let joiner = if sql_where.is_empty() {
            " WHERE"
        } else {
            " AND"
        };
        sql_where.push_str(&format!("{joiner} seq > ${}", binds.len()));
        let sql =
            format!("SELECT {COLUMNS} FROM audit_events{sql_where} ORDER BY seq LIMIT {limit}");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Recomputes the whole chain and checks every checkpoint signature and the stored head.
    ///
    /// Each page of 5000 events goes through `ChainVerifier::push_batch`, which hashes it on all
    /// cores (and checks the signatures of the checkpoints it covers on the same threads) and
    /// reports the same first break as checking the events one by one. The page is verified on
    /// the calling task, blocking it for a few milliseconds, as the per-event loop did.
    pub async fn verify_audit(&self, verifier: AuditVerifier) -> Result<VerifyOutcome, StoreError> {
        let checkpoints = self.checkpoints().await?;
        let head = self.audit_head().await?;
        let mut chain = ChainVerifier::with_checkpoints(verifier, &checkpoints);
        let mut after = 0u64;
        loop {
            let page = self
                .audit_page(&AuditFilter::default(), after, 5000)
                .await?;
            if let Err(broken) = chain.push_batch(&page) {
                return Ok(VerifyOutcome::Broken(broken));
            }
            match page.last() {
                Some(last) if page.len() == 5000 => after = last.seq,
                _ => break,
            }
        }
        Ok(match chain.finish(&checkpoints, Some(&head)) {
            Ok(report) => VerifyOutcome::Intact(report),
            Err(broken) => VerifyOutcome::Broken(broken),
        })
    }

    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Checkpoint {
                    seq: seq_of(row)?,
                    hash: bytes32(row, "hash")?,
                    at_micros: int(row, "at")?,
                    key_id: text(row, "key_id")?,
                    signature: row.try_get("signature")?,
                })
            })
            .collect()
    }

    pub async fn audit_head(&self) -> Result<ChainHead, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok(ChainHead {
            seq: seq_of(&row)?,
            hash: bytes32(&row, "hash")?,
        })
    }

    /// Signs a checkpoint at the current head if events were appended since the last one (called
    /// periodically and at shutdown, so the unsigned tail stays short). Returns its sequence number.
    pub async fn checkpoint_now(&self, now: Timestamp) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin().await?;
        let head = tx.head();
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
            .fetch_one(tx.conn())
            .await?;
        let last = last.and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
        if head.seq == 0 || head.seq <= last {
            tx.rollback().await?;
            return Ok(None);
        }
        let checkpoint = tx.chain().signer.sign_checkpoint(&head, now.unix_micros());
        insert_checkpoint(tx.conn(), &checkpoint).await?;
        tx.commit_checkpoint_only().await?;
        Ok(Some(head.seq))
    }
}

pub(crate) async fn insert_checkpoint(
    conn: &mut AnyConnection,
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    let seq = i64::try_from(checkpoint.seq)
        .map_err(|_| StoreError::Corrupt("audit sequence overflow".into()))?;
    sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)")
        .bind(seq)
        .bind(checkpoint.hash.to_vec())
        .bind(checkpoint.at_micros)
        .bind(checkpoint.key_id.clone())
        .bind(checkpoint.signature.clone())
        .execute(conn)
        .await?;
    Ok(())
}

fn seq_of(row: &AnyRow) -> Result<u64, StoreError> {
    u64::try_from(int(row, "seq")?)
        .map_err(|_| StoreError::Corrupt("negative audit sequence".into()))
}

/// Reads a 32-byte column; a value of the wrong length (the row was edited) is reported through
/// `damaged` instead of failing the whole read, so the verifier can name the event.
fn hash_column(
    row: &AnyRow,
    column: &str,
    damaged: &mut Vec<String>,
) -> Result<[u8; 32], StoreError> {
    let raw: Vec<u8> = row.try_get(column)?;
    Ok(raw.as_slice().try_into().unwrap_or_else(|_| {
        damaged.push(format!("{column} has {} bytes", raw.len()));
        [0xff; 32]
    }))
}

fn event_from_row(row: &AnyRow) -> Result<EventRecord, StoreError> {
    let mut damaged = Vec::new();
    let outcome_text = text(row, "outcome")?;
    // Unreadable values must not stop verification: they are recorded in `damaged`, which is folded
    // into the detail so the recomputed hash cannot match and the verifier names this event.
    let outcome = outcome_text.parse::<Outcome>().ok();
    if outcome.is_none() {
        damaged.push(format!("unreadable outcome {outcome_text}"));
    }
    let mut draft = EventDraft {
        at_micros: int(row, "at")?,
        actor_person: opt_text(row, "actor_person")?,
        actor_org: opt_text(row, "actor_org")?,
        role: text(row, "role")?,
        action: text(row, "action")?,
        object_type: text(row, "object_type")?,
        object_id: text(row, "object_id")?,
        digest: hash_column(row, "digest", &mut damaged)?,
        request_id: text(row, "request_id")?,
        source: text(row, "source")?,
        outcome: outcome.unwrap_or(Outcome::Failed),
        detail: text(row, "detail")?,
    };
    let prev_hash = hash_column(row, "prev_hash", &mut damaged)?;
    let hash = hash_column(row, "hash", &mut damaged)?;
    if !damaged.is_empty() {
        draft.detail = format!("{}\u{0}{}", draft.detail, damaged.join("; "));
    }
    Ok(EventRecord {
        seq: seq_of(row)?,
        draft,
        prev_hash,
        hash,
    })
}
