//! Durable state transitions with their audit event, per second, on SQLite and (when
//! `SHUYU_TEST_DATABASE_URL` is set) PostgreSQL, beside plain inserts of rows of the same size in
//! the same run.
//!
//! `SHUYU_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p shuyu-store --bench transitions`
//!
//! One criterion group per backend, each with `Throughput::Elements(1)`:
//! - `audited_transition`: the real write path, as `shuyu-app` creates an organisation:
//!   `Store::begin` (locks the chain head), `Tx::insert_org` with a valid credit code, `Tx::audit`
//!   (SM3-chained event; an SM2-signed checkpoint every 64 events, the default), `Tx::commit` (writes
//!   the new head). The store is opened with `StoreOptions::default()`.
//! - `plain_insert`: one row of the same number of bytes as the org row and the event row together,
//!   inserted in its own transaction into a table made by this bench (`bench_plain`), through a second
//!   pool to the same database with the store's settings (8 connections; SQLite in WAL with
//!   `synchronous = NORMAL`, foreign keys on, busy timeout, exactly as `Store::open` sets it).
//!
//! Both run one transaction after another on a tokio runtime (`iter_custom` + `block_on`), so the
//! figures are the latency-bound rate of a single writer, which is what the chain allows anyway:
//! every writing transaction holds the chain head's lock.
//!
//! After criterion, each backend is timed once more outside criterion: 3 rounds of 500 transitions
//! then 500 plain inserts; the summary line gives the median round of each and their ratio.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shuyu_audit::{AuditSigner, EventDraft, Outcome, change_digest};
use shuyu_core::{CreditCode, Name, OrgId, OrgType, RequestId, Role, Timestamp};
use shuyu_identity::Organisation;
use shuyu_store::testing::TestDb;
use shuyu_store::{Backend, Store, StoreOptions};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::runtime::Runtime;

/// Timed loop after criterion: this many rounds of this many of each.
const ROUNDS: usize = 3;
const PER_ROUND: u64 = 500;

/// The acting administrator, as a request through `shuyu-app` would carry it.
const ACTOR_PERSON: &str = "01952d1c-7a40-7c3e-9b1f-3e5a2c4d6e80";
const ACTOR_ORG: &str = "01952d1c-7a40-7f00-8a11-0123456789ab";

fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_micros(micros)
}

/// Ten "random" bytes that make the n-th id unique.
fn unique(n: u64) -> [u8; 10] {
    let mut out = [0u8; 10];
    for (slot, byte) in out.iter_mut().skip(2).zip(n.to_be_bytes()) {
        *slot = byte;
    }
    out
}

/// The n-th organisation and its `org.create` event, built the way `App::create_org` builds them.
fn org_and_event(n: u64) -> (Organisation, EventDraft) {
    let at = now();
    let org = Organisation {
        id: OrgId::mint(at, unique(n)),
        name: Name::parse(&format!("基准数据商第{n}号有限公司")).expect("name"),
        org_type: OrgType::Merchant,
        // 2 + 6 + 9 characters, completed with the check character.
        credit_code: CreditCode::complete(&format!("91640500{n:09}")).expect("credit code"),
        created_at: at,
    };
    // `App::event` digests the change's JSON; the JSON is never stored.
    let change = format!(
        r#"{{"name":"{}","org_type":"{}","credit_code":"{}"}}"#,
        org.name.as_str(),
        org.org_type.as_str(),
        org.credit_code.as_str()
    );
    let draft = EventDraft {
        at_micros: at.unix_micros(),
        actor_person: Some(ACTOR_PERSON.to_owned()),
        actor_org: Some(ACTOR_ORG.to_owned()),
        role: Role::Admin.as_str().to_owned(),
        action: "org.create".to_owned(),
        object_type: "org".to_owned(),
        object_id: org.id.to_string(),
        digest: change_digest(change.as_bytes()),
        request_id: RequestId::mint(at, unique(n)).to_string(),
        source: "10.20.30.40".to_owned(),
        outcome: Outcome::Ok,
        detail: org.org_type.as_str().to_owned(),
    };
    (org, draft)
}

/// Bytes of the values the org row and the event row store (integers as 8 bytes, hashes as 32).
fn row_bytes(org: &Organisation, draft: &EventDraft) -> (usize, usize) {
    let org_row = org.id.to_string().len()
        + org.name.as_str().len()
        + org.org_type.as_str().len()
        + org.credit_code.as_str().len()
        + 8;
    let event_row = 8 // seq
        + 8 // at
        + draft.actor_person.as_ref().map_or(0, String::len)
        + draft.actor_org.as_ref().map_or(0, String::len)
        + draft.role.len()
        + draft.action.len()
        + draft.object_type.len()
        + draft.object_id.len()
        + 32 // digest
        + draft.request_id.len()
        + draft.source.len()
        + draft.outcome.as_str().len()
        + draft.detail.len()
        + 32 // prev_hash
        + 32; // hash
    (org_row, event_row)
}

struct Rig {
    label: &'static str,
    store: Store,
    plain: AnyPool,
    payload: Vec<u8>,
    next_org: AtomicU64,
    next_plain: AtomicU64,
}

impl Rig {
    async fn transition(&self) {
        let n = self.next_org.fetch_add(1, Ordering::Relaxed);
        let (org, draft) = org_and_event(n);
        let mut tx = self.store.begin().await.expect("begin");
        tx.insert_org(&org).await.expect("insert org");
        tx.audit(draft).await.expect("audit");
        tx.commit().await.expect("commit");
    }

    async fn plain_insert(&self) {
        let id = i64::try_from(self.next_plain.fetch_add(1, Ordering::Relaxed)).expect("id");
        let mut tx = self.plain.begin().await.expect("begin");
        sqlx::query("INSERT INTO bench_plain (id, payload) VALUES ($1, $2)")
            .bind(id)
            .bind(self.payload.clone())
            .execute(&mut *tx)
            .await
            .expect("plain insert");
        tx.commit().await.expect("commit");
    }

    async fn transitions(&self, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            self.transition().await;
        }
        start.elapsed()
    }

    async fn plain_inserts(&self, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            self.plain_insert().await;
        }
        start.elapsed()
    }
}

/// A second pool to the store's database with the settings `Store::open` uses.
async fn plain_pool(url: &str, backend: Backend) -> AnyPool {
    let defaults = StoreOptions::default();
    let mut pool = AnyPoolOptions::new()
        .max_connections(defaults.max_connections.max(1))
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
    let pool = pool
        .connect_with(AnyConnectOptions::from_str(url).expect("url"))
        .await
        .expect("plain pool");
    let blob = match backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    pool.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE bench_plain (id BIGINT PRIMARY KEY, payload {blob} NOT NULL)"
    )))
    .await
    .expect("create bench_plain");
    pool
}

async fn rig(db: &TestDb) -> Rig {
    let signer = AuditSigner::generate(&mut StdRng::seed_from_u64(7));
    let store = Store::open(&db.url, signer, StoreOptions::default())
        .await
        .expect("open store");
    store.migrate().await.expect("migrate");
    let plain = plain_pool(&db.url, store.backend()).await;
    let (org_row, event_row) = {
        let (org, draft) = org_and_event(0);
        row_bytes(&org, &draft)
    };
    // The plain row's id (8 bytes) plus its payload carry as many bytes as the two rows.
    let mut payload = vec![0u8; org_row + event_row - 8];
    StdRng::seed_from_u64(11).fill(payload.as_mut_slice());
    println!(
        "\n[{}] org row {org_row} B + event row {event_row} B = {} B; plain row = 8 B id + {} B payload",
        db.label,
        org_row + event_row,
        payload.len()
    );
    Rig {
        label: db.label,
        store,
        plain,
        payload,
        next_org: AtomicU64::new(1),
        next_plain: AtomicU64::new(1),
    }
}

fn bench(group: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, rig: &Rig) {
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("audited_transition", |b| {
        b.iter_custom(|iters| rt.block_on(rig.transitions(iters)));
    });
    group.bench_function("plain_insert", |b| {
        b.iter_custom(|iters| rt.block_on(rig.plain_inserts(iters)));
    });
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied().unwrap_or(0.0)
}

struct Summary {
    label: &'static str,
    transitions: f64,
    plain: f64,
}

fn timed_loop(rt: &Runtime, rig: &Rig) -> Summary {
    let rate = |d: Duration| PER_ROUND as f64 / d.as_secs_f64();
    let mut transitions = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..ROUNDS {
        transitions.push(rate(rt.block_on(rig.transitions(PER_ROUND))));
        plain.push(rate(rt.block_on(rig.plain_inserts(PER_ROUND))));
    }
    Summary {
        label: rig.label,
        transitions: median(transitions),
        plain: median(plain),
    }
}

/// Checks that the measured path really stored every change with its event.
fn check(rt: &Runtime, rig: &Rig) {
    let made = rig.next_org.load(Ordering::Relaxed) - 1;
    let orgs = rt.block_on(rig.store.org_count()).expect("org count");
    let head = rt.block_on(rig.store.audit_head()).expect("audit head");
    assert_eq!(orgs, made, "{}: every transition stored its org", rig.label);
    assert_eq!(
        head.seq, made,
        "{}: every transition chained its event",
        rig.label
    );
    let checkpoints = rt.block_on(rig.store.checkpoints()).expect("checkpoints");
    assert_eq!(
        checkpoints.len() as u64,
        made / StoreOptions::default().checkpoint_every,
        "{}: a checkpoint every 64 events",
        rig.label
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut c = Criterion::default().configure_from_args();
    let mut summaries = Vec::new();

    let mut dbs = vec![TestDb::sqlite()];
    match rt.block_on(TestDb::postgres()) {
        Some(db) => dbs.push(db),
        None => println!(
            "\n==> SKIPPED the PostgreSQL half of this benchmark: SHUYU_TEST_DATABASE_URL is not set \
             (for example SHUYU_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)\n"
        ),
    }

    for db in &dbs {
        let rig = rt.block_on(rig(db));
        let mut group = c.benchmark_group(format!("transitions_{}", db.label));
        bench(&mut group, &rt, &rig);
        group.finish();
        summaries.push(timed_loop(&rt, &rig));
        check(&rt, &rig);
        rt.block_on(rig.store.close());
        rt.block_on(rig.plain.close());
    }
    c.final_summary();

    println!(
        "\nSummary (timed loop after criterion: {ROUNDS} rounds of {PER_ROUND} sequential \
         transactions each, median round; one writer):"
    );
    for s in &summaries {
        println!(
            "{:<9} audited transitions {:>8.0}/s   plain inserts {:>8.0}/s   ratio transition/plain {:.2} \
             (each transition costs {:.2}x a plain insert)",
            s.label,
            s.transitions,
            s.plain,
            s.transitions / s.plain,
            s.plain / s.transitions
        );
    }
    drop(dbs);
}
