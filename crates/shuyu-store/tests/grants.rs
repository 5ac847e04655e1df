//! Grants' storage, on SQLite and (when `SHUYU_TEST_DATABASE_URL` is set) on PostgreSQL: insert,
//! load, list all and per merchant, a move saved, a stale move refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use shuyu_audit::{AuditSigner, EventDraft, Outcome, change_digest};
use shuyu_catalog::{
    Coverage, FieldDraft, FieldFlags, FieldType, FormatKind, OpenCategory, Resource,
    ResourceCommand, ResourceDraft, ResourceId, ResourceVersionId, UpdateFrequency,
};
use shuyu_core::{CreditCode, Name, OrgId, OrgType, PersonId, Role, Timestamp, Username};
use shuyu_grant::{
    FieldRequest, Grant, GrantCommand, GrantId, GrantState, NewGrant, ResourceRequest, Scenario,
    ScenarioCategory, Term, UsageMethod, WorkspaceId,
};
use shuyu_identity::{Organisation, PasswordHash, Person, Personnel};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_store::{STALE_GRANT, Store, StoreError, StoreOptions};

const T0: i64 = 1_790_000_000_000_000;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(T0 + seconds * 1_000_000)
}

fn profile() -> Profile {
    Profile::builtin(Profile::DEFAULT).unwrap()
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
        object_type: "grant".into(),
        object_id: String::new(),
        digest: change_digest(b""),
        request_id: "req".into(),
        source: "test".into(),
        outcome: Outcome::Ok,
        detail: String::new(),
    }
}

async fn org(store: &Store, n: u8, org_type: OrgType) -> OrgId {
    let org = Organisation {
        id: OrgId::mint(at(0), [n; 10]),
        name: Name::parse(&format!("单位{n}")).unwrap(),
        org_type,
        credit_code: CreditCode::complete(&format!("1164050{n:02}MB76XQ2K")).unwrap(),
        created_at: at(0),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_org(&org).await.unwrap();
    tx.audit(event("org.create")).await.unwrap();
    tx.commit().await.unwrap();
    org.id
}

/// A member of `org`, stored (resource versions name who made them).
async fn staff(store: &Store, org: OrgId) -> PersonId {
    let person = Person {
        id: PersonId::mint(at(0), [0; 10]),
        org,
        username: Username::parse("staff0").unwrap(),
        display_name: Name::parse("工作人员").unwrap(),
        role: Role::SourceDepartment,
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
    tx.insert_person(&person).await.unwrap();
    tx.audit(event("person.create")).await.unwrap();
    tx.commit().await.unwrap();
    person.id
}

/// An approved resource of `provider`, stored.
async fn approved_resource(store: &Store, provider: OrgId) -> Resource {
    let profile = profile();
    let draft = ResourceDraft {
        name: "社会保险缴费".into(),
        summary: "摘要".into(),
        domain: "credit".into(),
        update_frequency: UpdateFrequency::Monthly,
        coverage: Coverage {
            time_from: None,
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: "依据".into(),
        open_category: OpenCategory::Conditional,
        grade: "L2".into(),
        fields: vec![FieldDraft {
            name: "district".into(),
            field_type: FieldType::String,
            description: "区县".into(),
            grade: "L1".into(),
            flags: FieldFlags::default(),
            format: FormatKind::None,
        }],
    };
    let by = staff(store, provider).await;
    let (mut r, _) = Resource::register(
        ResourceId::mint(at(1), [1; 10]),
        provider,
        ResourceVersionId::mint(at(1), [1; 10]),
        draft.validate(&profile).unwrap(),
        by,
        at(1),
    );
    for cmd in [
        ResourceCommand::Submit { by },
        ResourceCommand::Approve { by },
    ] {
        let events = r.handle(cmd, at(2), &profile).unwrap();
        r = events.iter().fold(r, Resource::apply);
    }
    let mut tx = store.begin().await.unwrap();
    tx.save_resource(&r).await.unwrap();
    tx.audit(event("resource.test")).await.unwrap();
    tx.commit().await.unwrap();
    r
}

fn grant(n: u8, merchant: OrgId, operator: OrgId, resource: &Resource) -> Grant {
    let version = resource.current().unwrap();
    let request = NewGrant {
        merchant,
        operator,
        scenario: Scenario {
            name: format!("场景{n}"),
            category: ScenarioCategory::PublicGovernance,
        },
        resources: vec![ResourceRequest {
            resource: resource.id(),
            version: version.id(),
            table: "districts".into(),
            fields: vec![FieldRequest::default_handling("district")],
        }],
        usage: UsageMethod::Aggregate,
        term: Term {
            from: at(10),
            to: at(10 + 86_400 * 30),
        },
        min_group_size: None,
        budget: None,
    };
    Grant::seed(
        GrantId::mint(at(3 + i64::from(n)), [n; 10]),
        WorkspaceId::mint(at(3), [n; 10]),
        request,
        &[version],
        &profile(),
        at(3),
    )
    .unwrap()
}

async fn insert(store: &Store, grant: &Grant) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_grant(grant).await.unwrap();
    tx.audit(event("grant.seed")).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn grants_round_trip_and_list_per_merchant() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let provider = org(&store, 1, OrgType::SourceDepartment).await;
        let merchant = org(&store, 2, OrgType::Merchant).await;
        let other_merchant = org(&store, 3, OrgType::Merchant).await;
        let operator = org(&store, 4, OrgType::Operator).await;
        let resource = approved_resource(&store, provider).await;
        let first = grant(1, merchant, operator, &resource);
        let second = grant(2, other_merchant, operator, &resource);
        insert(&store, &first).await;
        insert(&store, &second).await;

        assert_eq!(
            store.grant(first.id()).await.unwrap().as_ref(),
            Some(&first),
            "{}",
            db.label
        );
        let all: Vec<GrantId> = store
            .grants()
            .await
            .unwrap()
            .iter()
            .map(Grant::id)
            .collect();
        assert_eq!(all, vec![second.id(), first.id()], "newest first");
        let mine = store.grants_of_merchant(merchant).await.unwrap();
        assert_eq!(mine, vec![first.clone()]);
        assert!(store.grants_of_merchant(operator).await.unwrap().is_empty());
        let unknown = GrantId::mint(at(99), [9; 10]);
        assert_eq!(store.grant(unknown).await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_move_is_saved_and_a_stale_one_refused() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let provider = org(&store, 1, OrgType::SourceDepartment).await;
        let merchant = org(&store, 2, OrgType::Merchant).await;
        let operator = org(&store, 4, OrgType::Operator).await;
        let resource = approved_resource(&store, provider).await;
        let g = grant(1, merchant, operator, &resource);
        insert(&store, &g).await;

        let by = PersonId::mint(at(0), [7; 10]);
        let suspend = GrantCommand::Suspend {
            by,
            reason: "检查".into(),
        };
        let event_ = g.handle(suspend.clone(), at(20)).unwrap();
        let suspended = g.clone().apply(&event_);
        let mut tx = store.begin().await.unwrap();
        tx.update_grant(&suspended, GrantState::Active, at(20))
            .await
            .unwrap();
        tx.audit(event("grant.suspend")).await.unwrap();
        tx.commit().await.unwrap();
        let stored = store.grant(g.id()).await.unwrap().unwrap();
        assert_eq!(stored.state(), GrantState::Suspended, "{}", db.label);
        assert_eq!(stored.history().len(), 1);

        // A second writer that loaded the grant while it was still active loses.
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .update_grant(&suspended, GrantState::Active, at(21))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(what) if what == STALE_GRANT),
            "{err}"
        );
        drop(tx);
        assert_eq!(store.grant(g.id()).await.unwrap().unwrap(), stored);

        // An unknown grant is not found.
        let other = grant(5, merchant, operator, &resource);
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.update_grant(&other, GrantState::Active, at(22)).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn a_grant_on_a_missing_resource_version_is_refused() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let provider = org(&store, 1, OrgType::SourceDepartment).await;
        let merchant = org(&store, 2, OrgType::Merchant).await;
        let operator = org(&store, 4, OrgType::Operator).await;
        let resource = approved_resource(&store, provider).await;
        // A grant checked against a version that was never stored (another database's).
        let profile = profile();
        let (mut elsewhere, _) = Resource::register(
            ResourceId::mint(at(1), [8; 10]),
            provider,
            ResourceVersionId::mint(at(1), [8; 10]),
            resource.current().unwrap().content().clone(),
            PersonId::mint(at(0), [0; 10]),
            at(1),
        );
        let by = PersonId::mint(at(0), [0; 10]);
        for cmd in [
            ResourceCommand::Submit { by },
            ResourceCommand::Approve { by },
        ] {
            let events = elsewhere.handle(cmd, at(2), &profile).unwrap();
            elsewhere = events.iter().fold(elsewhere, Resource::apply);
        }
        let g = grant(1, merchant, operator, &elsewhere);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.insert_grant(&g).await.is_err(), "{}", db.label);
        drop(tx);
        assert!(store.grants().await.unwrap().is_empty());
    }
}
