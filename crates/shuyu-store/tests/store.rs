//! The store suite, run on SQLite and (when `SHUYU_TEST_DATABASE_URL` is set) on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use shuyu_audit::{AuditSigner, EventDraft, Outcome, change_digest};
use shuyu_core::{CreditCode, Name, OrgId, OrgType, PersonId, Role, Timestamp, Username};
use shuyu_identity::{Organisation, PasswordHash, Person, Personnel};
use shuyu_store::testing::TestDb;
use shuyu_store::{AuditFilter, Store, StoreError, StoreOptions, VerifyOutcome};
use sqlx::AssertSqlSafe;

const T0: i64 = 1_790_000_000_000_000;

fn signer() -> AuditSigner {
    AuditSigner::generate(&mut rand::rngs::StdRng::seed_from_u64(42))
}

async fn open(db: &TestDb, checkpoint_every: u64) -> Store {
    let store = Store::open(
        &db.url,
        signer(),
        StoreOptions {
            checkpoint_every,
            max_connections: 4,
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}

fn draft(action: &str, i: i64) -> EventDraft {
    EventDraft {
        at_micros: T0 + i,
        actor_person: Some(format!("person-{i}")),
        actor_org: Some("org-1".into()),
        role: "admin".into(),
        action: action.into(),
        object_type: "thing".into(),
        object_id: format!("thing-{i}"),
        digest: change_digest(format!("change {i}").as_bytes()),
        request_id: format!("req-{i}"),
        source: "127.0.0.1".into(),
        outcome: Outcome::Ok,
        detail: String::new(),
    }
}

fn org(n: u8) -> Organisation {
    Organisation {
        id: OrgId::mint(Timestamp::from_unix_micros(T0), [n; 10]),
        name: Name::parse(&format!("机构{n}")).unwrap(),
        org_type: OrgType::Merchant,
        credit_code: CreditCode::complete(&format!("9164050{n:02}MA76XQ2K")).unwrap(),
        created_at: Timestamp::from_unix_micros(T0),
    }
}

fn person(org: &Organisation, name: &str, n: u8) -> Person {
    Person {
        id: PersonId::mint(Timestamp::from_unix_micros(T0), [n; 10]),
        org: org.id,
        username: Username::parse(name).unwrap(),
        display_name: Name::parse(name).unwrap(),
        role: Role::Merchant,
        password: Some(PasswordHash::from_stored("$argon2id$v=19$stub".into())),
        totp: None,
        totp_last_step: 0,
        failed_logins: 0,
        locked_until: None,
        active: true,
        personnel: Personnel::default(),
        sso_subject: None,
        created_at: Timestamp::from_unix_micros(T0),
    }
}

async fn append_events(store: &Store, n: i64) {
    for i in 1..=n {
        let mut tx = store.begin().await.unwrap();
        tx.audit(draft("thing.touch", i)).await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn verify(store: &Store) -> VerifyOutcome {
    store.verify_audit(signer().verifier()).await.unwrap()
}

#[tokio::test]
async fn a_change_and_its_event_commit_together() {
    for db in TestDb::all().await {
        let store = open(&db, 64).await;
        let o = org(1);
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&o).await.unwrap();
        tx.audit(draft("org.create", 1)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.org(o.id).await.unwrap().as_ref(),
            Some(&o),
            "{}",
            db.label
        );
        assert_eq!(store.audit_head().await.unwrap().seq, 1, "{}", db.label);
    }
}

#[tokio::test]
async fn a_change_without_an_audit_event_cannot_commit_and_leaves_nothing() {
    for db in TestDb::all().await {
        let store = open(&db, 64).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&org(1)).await.unwrap();
        assert!(
            matches!(tx.commit().await, Err(StoreError::NoAuditEvent)),
            "{}",
            db.label
        );
        assert_eq!(store.org_count().await.unwrap(), 0, "{}", db.label);
        assert_eq!(store.audit_head().await.unwrap().seq, 0, "{}", db.label);
    }
}

#[tokio::test]
async fn a_failed_step_rolls_back_the_change_and_its_event() {
    for db in TestDb::all().await {
        let store = open(&db, 64).await;
        let o = org(1);
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&o).await.unwrap();
        tx.audit(draft("org.create", 1)).await.unwrap();
        tx.commit().await.unwrap();

        // The same credit code again: the second insert fails, and the first half of the step with it.
        let mut tx = store.begin().await.unwrap();
        let mut twin = org(2);
        twin.credit_code = o.credit_code.clone();
        tx.audit(draft("org.create", 2)).await.unwrap();
        let err = tx.insert_org(&twin).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(what) if what.contains("credit_code")),
            "{}: {err:?}",
            db.label
        );
        drop(tx);
        assert_eq!(store.org_count().await.unwrap(), 1, "{}", db.label);
        assert_eq!(store.audit_head().await.unwrap().seq, 1, "{}", db.label);
        assert!(
            matches!(verify(&store).await, VerifyOutcome::Intact(_)),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn people_round_trip_with_their_personnel_record() {
    for db in TestDb::all().await {
        let store = open(&db, 64).await;
        let o = org(1);
        let p = person(&o, "zhang.san", 1);
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&o).await.unwrap();
        tx.insert_person(&p).await.unwrap();
        tx.record_verification(p.id, p.id, Timestamp::from_unix_micros(T0 + 5))
            .await
            .unwrap();
        tx.accept_agreement(p.id, "2026-01", Timestamp::from_unix_micros(T0 + 6))
            .await
            .unwrap();
        tx.set_login_state(p.id, 2, Some(Timestamp::from_unix_micros(T0 + 7)), 99)
            .await
            .unwrap();
        tx.audit(draft("person.create", 1)).await.unwrap();
        tx.commit().await.unwrap();
        let back = store
            .person_by_username("zhang.san")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            back.personnel.real_name_verified_by,
            Some(p.id),
            "{}",
            db.label
        );
        assert!(back.personnel.has_accepted("2026-01"));
        assert_eq!((back.failed_logins, back.totp_last_step), (2, 99));
        assert_eq!(store.people(Some(o.id)).await.unwrap().len(), 1);
        assert_eq!(store.people(Some(org(9).id)).await.unwrap().len(), 0);
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .insert_person(&person(&o, "zhang.san", 2))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(what) if what.contains("username")),
            "{}: {err:?}",
            db.label
        );
    }
}

#[tokio::test]
async fn an_intact_chain_verifies_with_its_checkpoints() {
    for db in TestDb::all().await {
        let store = open(&db, 10).await;
        append_events(&store, 35).await;
        assert_eq!(
            store
                .checkpoint_now(Timestamp::from_unix_micros(T0 + 100))
                .await
                .unwrap(),
            Some(35)
        );
        assert_eq!(
            store
                .checkpoint_now(Timestamp::from_unix_micros(T0 + 101))
                .await
                .unwrap(),
            None
        );
        let VerifyOutcome::Intact(report) = verify(&store).await else {
            panic!("{}: chain broken", db.label)
        };
        assert_eq!(
            (
                report.events,
                report.checkpoints,
                report.last_checkpoint_seq
            ),
            (35, 4, 35),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn concurrent_writers_on_separate_pools_keep_one_chain() {
    for db in TestDb::all().await {
        let stores = [
            open(&db, 16).await,
            open(&db, 16).await,
            open(&db, 16).await,
        ];
        let mut tasks = Vec::new();
        for (w, store) in stores.iter().enumerate() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20 {
                    let mut tx = store.begin().await.unwrap();
                    tx.audit(draft("thing.touch", (w * 100 + i) as i64))
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let VerifyOutcome::Intact(report) = verify(&stores[0]).await else {
            panic!("{}: chain broken", db.label)
        };
        assert_eq!(report.events, 60, "{}", db.label);
    }
}

/// Runs `tamper` (SQL) against a 30-event chain with checkpoints every 10 and asserts that verify
/// reports a break naming `expected_seq` (when given).
async fn assert_detected(db: &TestDb, what: &str, sql: &str, expected_seq: Option<u64>) {
    let store = open(db, 10).await;
    append_events(&store, 30).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    // One statement at a time: PostgreSQL prepares each separately.
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    pool.close().await;
    match verify(&store).await {
        VerifyOutcome::Intact(_) => panic!("{}: {what} was not detected", db.label),
        VerifyOutcome::Broken(broken) => {
            if let Some(seq) = expected_seq {
                assert_eq!(broken.seq(), seq, "{}: {what}: {broken}", db.label);
            }
            assert!(!broken.to_string().is_empty());
        }
    }
    // Clean slate for the next case.
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for table in ["audit_events", "audit_checkpoints"] {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE audit_head SET seq = 0, hash = $1")
        .bind(vec![0u8; 32])
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn tampering_with_any_stored_column_is_detected_and_named() {
    for db in TestDb::all().await {
        let blob = if db.label == "postgres" {
            "'\\x00'::bytea"
        } else {
            "X'00'"
        };
        let blob32 = if db.label == "postgres" {
            format!("'\\x{}'::bytea", "11".repeat(32))
        } else {
            format!("X'{}'", "11".repeat(32))
        };
        let cases: Vec<(&str, String)> = vec![
            (
                "at",
                "UPDATE audit_events SET at = at + 1 WHERE seq = 7".into(),
            ),
            (
                "actor_person",
                "UPDATE audit_events SET actor_person = 'someone-else' WHERE seq = 7".into(),
            ),
            (
                "actor_person to NULL",
                "UPDATE audit_events SET actor_person = NULL WHERE seq = 7".into(),
            ),
            (
                "actor_org",
                "UPDATE audit_events SET actor_org = 'org-2' WHERE seq = 7".into(),
            ),
            (
                "role",
                "UPDATE audit_events SET role = 'supervisor' WHERE seq = 7".into(),
            ),
            (
                "action",
                "UPDATE audit_events SET action = 'thing.read' WHERE seq = 7".into(),
            ),
            (
                "object_type",
                "UPDATE audit_events SET object_type = 'other' WHERE seq = 7".into(),
            ),
            (
                "object_id",
                "UPDATE audit_events SET object_id = 'thing-99' WHERE seq = 7".into(),
            ),
            (
                "digest",
                format!("UPDATE audit_events SET digest = {blob32} WHERE seq = 7"),
            ),
            (
                "digest length",
                format!("UPDATE audit_events SET digest = {blob} WHERE seq = 7"),
            ),
            (
                "request_id",
                "UPDATE audit_events SET request_id = 'req-x' WHERE seq = 7".into(),
            ),
            (
                "source",
                "UPDATE audit_events SET source = '10.0.0.1' WHERE seq = 7".into(),
            ),
            (
                "outcome",
                "UPDATE audit_events SET outcome = 'denied' WHERE seq = 7".into(),
            ),
            (
                "outcome unreadable",
                "UPDATE audit_events SET outcome = 'maybe' WHERE seq = 7".into(),
            ),
            (
                "detail",
                "UPDATE audit_events SET detail = 'nothing to see' WHERE seq = 7".into(),
            ),
            (
                "prev_hash",
                format!("UPDATE audit_events SET prev_hash = {blob32} WHERE seq = 7"),
            ),
            (
                "hash",
                format!("UPDATE audit_events SET hash = {blob32} WHERE seq = 7"),
            ),
        ];
        for (what, sql) in &cases {
            assert_detected(&db, what, sql, Some(7)).await;
        }
        // The sequence number itself: moving event 7 to 31 leaves a gap at 7.
        assert_detected(
            &db,
            "seq",
            "UPDATE audit_events SET seq = 31 WHERE seq = 7",
            Some(7),
        )
        .await;
    }
}

#[tokio::test]
async fn deleting_inserting_swapping_and_truncating_are_detected() {
    for db in TestDb::all().await {
        assert_detected(
            &db,
            "delete one",
            "DELETE FROM audit_events WHERE seq = 12",
            Some(12),
        )
        .await;
        // Insert: shift events 15.. up by one and put a forged copy of 14 at 15.
        assert_detected(
            &db,
            "insert one",
            "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 15; \
             UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1015; \
             INSERT INTO audit_events SELECT 15, at, actor_person, actor_org, role, 'forged', object_type, \
             object_id, digest, request_id, source, outcome, detail, hash, hash FROM audit_events WHERE seq = 14",
            Some(15),
        )
        .await;
        assert_detected(
            &db,
            "swap two",
            "UPDATE audit_events SET seq = -1 WHERE seq = 20; UPDATE audit_events SET seq = 20 WHERE seq = 21; \
             UPDATE audit_events SET seq = 21 WHERE seq = -1",
            Some(20),
        )
        .await;
        // Cutting the tail past a checkpoint, even with the head rewritten to match.
        assert_detected(
            &db,
            "truncate the tail",
            "DELETE FROM audit_events WHERE seq > 25; \
             UPDATE audit_head SET seq = 25, hash = (SELECT hash FROM audit_events WHERE seq = 25)",
            None,
        )
        .await;
        assert_detected(
            &db,
            "truncate without fixing the head",
            "DELETE FROM audit_events WHERE seq > 28",
            None,
        )
        .await;
        assert_detected(
            &db,
            "delete a checkpoint's signature",
            "UPDATE audit_checkpoints SET signature = X'00' WHERE seq = 20"
                .replace(
                    "X'00'",
                    if db.label == "postgres" {
                        "'\\x00'::bytea"
                    } else {
                        "X'00'"
                    },
                )
                .as_str(),
            Some(20),
        )
        .await;
    }
}

#[tokio::test]
async fn audit_search_filters_by_actor_object_action_and_time() {
    for db in TestDb::all().await {
        let store = open(&db, 64).await;
        append_events(&store, 12).await;
        let all = store
            .search_audit(&AuditFilter::default(), None, 100)
            .await
            .unwrap();
        assert_eq!(all.len(), 12);
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
        let by_actor = AuditFilter {
            actor_person: Some("person-3".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .search_audit(&by_actor, None, 100)
                .await
                .unwrap()
                .len(),
            1
        );
        let by_prefix = AuditFilter {
            action: Some("thing.*".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .search_audit(&by_prefix, None, 100)
                .await
                .unwrap()
                .len(),
            12
        );
        let underscore = AuditFilter {
            action: Some("thing_*".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .search_audit(&underscore, None, 100)
                .await
                .unwrap()
                .len(),
            0,
            "LIKE wildcards are escaped"
        );
        let window = AuditFilter {
            from: Some(Timestamp::from_unix_micros(T0 + 3)),
            to: Some(Timestamp::from_unix_micros(T0 + 6)),
            ..Default::default()
        };
        let found = store.search_audit(&window, None, 100).await.unwrap();
        assert_eq!(
            found.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![5, 4, 3],
            "{}",
            db.label
        );
        let paged = store
            .search_audit(&AuditFilter::default(), Some(5), 2)
            .await
            .unwrap();
        assert_eq!(paged.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3]);
        let object = AuditFilter {
            object_type: Some("thing".into()),
            object_id: Some("thing-9".into()),
            ..Default::default()
        };
        assert_eq!(
            store.search_audit(&object, None, 100).await.unwrap()[0].seq,
            9
        );
    }
}

#[tokio::test]
async fn export_streams_every_matching_event_oldest_first() {
    use futures_util::TryStreamExt;
    for db in TestDb::all().await {
        let store = open(&db, 1000).await;
        append_events(&store, 4100).await;
        let seqs: Vec<u64> = store
            .stream_audit(AuditFilter::default())
            .map_ok(|e| e.seq)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(seqs.len(), 4100, "{}", db.label);
        assert!(seqs.windows(2).all(|w| w[0] + 1 == w[1]));
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_enforced() {
    let db = TestDb::sqlite();
    let store = open(&db, 64).await;
    let mut tx = store.begin().await.unwrap();
    let stray = person(&org(5), "nobody.home", 5);
    let err = tx.insert_person(&stray).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Database(_)),
        "a person of a missing organisation is refused: {err:?}"
    );
    drop(tx);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}
