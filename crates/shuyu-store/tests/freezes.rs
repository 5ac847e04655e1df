//! Freezes' storage (SBX-9), on SQLite and (when `SHUYU_TEST_DATABASE_URL` is set) on PostgreSQL:
//! a freeze round-trips, one target has at most one active freeze, a lift keeps the row and frees
//! the target for a new freeze, and lifting what is not frozen is `NotFound`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use shuyu_audit::{AuditSigner, EventDraft, Outcome, change_digest};
use shuyu_core::{
    CreditCode, Name, OrgId, OrgType, PersonId, ResourceId, Role, Timestamp, Username,
};
use shuyu_identity::{Organisation, PasswordHash, Person, Personnel};
use shuyu_store::testing::TestDb;
use shuyu_store::{
    ALREADY_FROZEN, FreezeLift, FreezeTarget, Store, StoreError, StoreOptions, StoredFreeze,
};
use uuid::Uuid;

const T0: i64 = 1_790_000_000_000_000;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(T0 + seconds * 1_000_000)
}

async fn open(db: &TestDb) -> Store {
    let signer = AuditSigner::generate(&mut rand::rngs::StdRng::seed_from_u64(42));
    let store = Store::open(&db.url, signer, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn event(action: &str) -> EventDraft {
    EventDraft {
        at_micros: T0,
        actor_person: None,
        actor_org: None,
        role: "system".into(),
        action: action.into(),
        object_type: "freeze".into(),
        object_id: String::new(),
        digest: change_digest(b""),
        request_id: "req".into(),
        source: "test".into(),
        outcome: Outcome::Ok,
        detail: String::new(),
    }
}

/// An authority organisation and one of its people, stored.
async fn authority(store: &Store) -> (OrgId, PersonId) {
    let org = Organisation {
        id: OrgId::mint(at(0), [1; 10]),
        name: Name::parse("数据局").unwrap(),
        org_type: OrgType::Authority,
        credit_code: CreditCode::complete("11640500MB1234567").unwrap(),
        created_at: at(0),
    };
    let person = Person {
        id: PersonId::mint(at(0), [2; 10]),
        org: org.id,
        username: Username::parse("authority0").unwrap(),
        display_name: Name::parse("工作人员").unwrap(),
        role: Role::Authority,
        password: Some(PasswordHash::from_stored("$argon2id$v=19$stub".into())),
        totp: None,
        totp_last_step: 0,
        failed_logins: 0,
        locked_until: None,
        active: true,
        personnel: Personnel::default(),
        sso_subject: None,
        created_at: at(0),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_org(&org).await.unwrap();
    tx.insert_person(&person).await.unwrap();
    tx.audit(event("org.create")).await.unwrap();
    tx.commit().await.unwrap();
    (org.id, person.id)
}

fn freeze(n: u8, target: FreezeTarget, org: OrgId, by: PersonId, t: i64) -> StoredFreeze {
    StoredFreeze {
        id: Uuid::from_bytes([n; 16]),
        target,
        frozen_at: at(t),
        frozen_by: by,
        frozen_by_org: org,
        reason: format!("理由 {n}"),
        lifted: None,
    }
}

async fn insert(store: &Store, freeze: &StoredFreeze) -> Result<(), StoreError> {
    let mut tx = store.begin().await.unwrap();
    tx.insert_freeze(freeze).await?;
    tx.audit(event("org.freeze")).await.unwrap();
    tx.commit().await.unwrap();
    Ok(())
}

async fn lift(
    store: &Store,
    target: FreezeTarget,
    by: PersonId,
) -> Result<StoredFreeze, StoreError> {
    let mut tx = store.begin().await.unwrap();
    let lifted = tx
        .lift_freeze(
            target,
            &FreezeLift {
                at: at(10),
                by,
                reason: "已整改".into(),
            },
        )
        .await?;
    tx.audit(event("org.unfreeze")).await.unwrap();
    tx.commit().await.unwrap();
    Ok(lifted)
}

#[tokio::test]
async fn one_active_freeze_per_target_and_a_lift_keeps_the_row() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let (org, person) = authority(&store).await;
        let merchant = FreezeTarget::Merchant(OrgId::mint(at(0), [7; 10]));
        let supply = FreezeTarget::ResourceSupply(ResourceId::mint(at(0), [8; 10]));
        let first = freeze(1, merchant, org, person, 1);
        insert(&store, &first).await.unwrap();
        insert(&store, &freeze(2, supply, org, person, 2))
            .await
            .unwrap();
        assert_eq!(
            store.active_freeze(merchant).await.unwrap(),
            Some(first.clone()),
            "{}",
            db.label
        );
        assert_eq!(store.active_freezes().await.unwrap().len(), 2);

        // A second freeze of a frozen target is refused and leaves nothing.
        let err = insert(&store, &freeze(3, merchant, org, person, 3))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(what) if what == ALREADY_FROZEN),
            "{err:?}"
        );
        assert_eq!(
            store.freeze_history(merchant).await.unwrap(),
            vec![first.clone()]
        );

        // The same id as an operator is a different target.
        let as_operator = FreezeTarget::Operator(OrgId::mint(at(0), [7; 10]));
        insert(&store, &freeze(4, as_operator, org, person, 4))
            .await
            .unwrap();

        let lifted = lift(&store, merchant, person).await.unwrap();
        assert_eq!(lifted.id, first.id);
        assert_eq!(lifted.lifted.as_ref().unwrap().reason, "已整改");
        assert_eq!(store.active_freeze(merchant).await.unwrap(), None);
        assert!(matches!(
            lift(&store, merchant, person).await,
            Err(StoreError::NotFound)
        ));

        // Frozen again at the same instant: a new row, the lifted one kept.
        insert(&store, &freeze(5, merchant, org, person, 1))
            .await
            .unwrap();
        let history = store.freeze_history(merchant).await.unwrap();
        assert_eq!(history.len(), 2);
        assert!(
            history
                .iter()
                .any(|f| f.lifted.is_some() && f.id == first.id)
        );
        assert!(history.iter().any(|f| f.lifted.is_none()));
        assert_eq!(store.active_freezes().await.unwrap().len(), 3);
    }
}

#[test]
fn targets_round_trip_through_their_stored_parts() {
    let org = OrgId::mint(at(0), [7; 10]);
    let resource = ResourceId::mint(at(0), [8; 10]);
    for target in [
        FreezeTarget::Merchant(org),
        FreezeTarget::Operator(org),
        FreezeTarget::ResourceSupply(resource),
    ] {
        assert_eq!(
            FreezeTarget::from_parts(target.kind(), &target.id_string()),
            Some(target)
        );
    }
    assert_eq!(
        FreezeTarget::from_parts("workspace", &org.to_string()),
        None
    );
    assert_eq!(FreezeTarget::from_parts("merchant", "not-an-id"), None);
}

#[tokio::test]
async fn a_freeze_without_its_audit_event_is_not_stored() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let (org, person) = authority(&store).await;
        let target = FreezeTarget::Operator(OrgId::mint(at(0), [9; 10]));
        let mut tx = store.begin().await.unwrap();
        tx.insert_freeze(&freeze(1, target, org, person, 1))
            .await
            .unwrap();
        assert!(matches!(tx.commit().await, Err(StoreError::NoAuditEvent)));
        assert_eq!(
            store.active_freeze(target).await.unwrap(),
            None,
            "{}",
            db.label
        );

        // A lift whose transaction is abandoned leaves the freeze active.
        insert(&store, &freeze(2, target, org, person, 2))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.lift_freeze(
            target,
            &FreezeLift {
                at: at(3),
                by: person,
                reason: "解冻".into(),
            },
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        let active = store.active_freeze(target).await.unwrap().unwrap();
        assert!(active.lifted.is_none());
    }
}
