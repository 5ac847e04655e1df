//! The catalog's storage, on SQLite and (when `SHUYU_TEST_DATABASE_URL` is set) on PostgreSQL:
//! resources with their versions, the public catalog's search, registration records, quality issues.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use shuyu_audit::{AuditSigner, EventDraft, Outcome, change_digest};
use shuyu_catalog::{
    Agent, Coverage, Document, FieldDraft, FieldFlags, FieldType, OpenCategory, QualityCommand,
    QualityIssue, QualityIssueId, RegistrationCommand, RegistrationDetails, RegistrationRecord,
    Resource, ResourceCommand, ResourceDraft, ResourceId, ResourceVersionId, ResultCode,
    UpdateFrequency,
};
use shuyu_core::{CreditCode, Name, OrgId, OrgType, PersonId, Role, Timestamp, Username};
use shuyu_identity::{Organisation, PasswordHash, Person, Personnel};
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_store::{CatalogSearch, Store, StoreOptions};

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
        object_type: "resource".into(),
        object_id: String::new(),
        digest: change_digest(b""),
        request_id: "req".into(),
        source: "test".into(),
        outcome: Outcome::Ok,
        detail: String::new(),
    }
}

/// A source department and one of its staff, stored.
async fn provider(store: &Store, n: u8) -> (OrgId, PersonId) {
    let org = Organisation {
        id: OrgId::mint(at(0), [n; 10]),
        name: Name::parse(&format!("数源部门{n}")).unwrap(),
        org_type: OrgType::SourceDepartment,
        credit_code: CreditCode::complete(&format!("1164050{n:02}MB76XQ2K")).unwrap(),
        created_at: at(0),
    };
    let person = Person {
        id: PersonId::mint(at(0), [n; 10]),
        org: org.id,
        username: Username::parse(&format!("staff{n}")).unwrap(),
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
    tx.insert_org(&org).await.unwrap();
    tx.insert_person(&person).await.unwrap();
    tx.audit(event("org.create")).await.unwrap();
    tx.commit().await.unwrap();
    (org.id, person.id)
}

fn draft(name: &str, domain: &str, open_category: OpenCategory) -> ResourceDraft {
    ResourceDraft {
        name: name.into(),
        summary: "摘要".into(),
        domain: domain.into(),
        update_frequency: UpdateFrequency::Monthly,
        coverage: Coverage {
            time_from: None,
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: "依据".into(),
        open_category,
        grade: "L2".into(),
        fields: vec![FieldDraft {
            name: "credit_code".into(),
            field_type: FieldType::String,
            description: "统一社会信用代码".into(),
            grade: "L2".into(),
            flags: FieldFlags {
                privacy_unit: true,
                ..FieldFlags::default()
            },
            format: shuyu_catalog::FormatKind::CreditCode,
        }],
    }
}

async fn save(store: &Store, resource: &Resource) {
    let mut tx = store.begin().await.unwrap();
    tx.save_resource(resource).await.unwrap();
    tx.audit(event("resource.test")).await.unwrap();
    tx.commit().await.unwrap();
}

/// Registers, optionally submits and approves (and refuses, or re-drafts) a resource.
fn resource(
    n: u8,
    provider: OrgId,
    by: PersonId,
    draft: &ResourceDraft,
    steps: &[ResourceCommand],
) -> Resource {
    let profile = profile();
    let content = draft.validate(&profile).unwrap();
    let (mut r, _) = Resource::register(
        ResourceId::mint(at(1), [n; 10]),
        provider,
        ResourceVersionId::mint(at(1), [n; 10]),
        content,
        by,
        at(1),
    );
    for (i, cmd) in steps.iter().enumerate() {
        let events = r
            .handle(cmd.clone(), at(2 + i64::try_from(i).unwrap()), &profile)
            .unwrap();
        r = events.iter().fold(r, Resource::apply);
    }
    r
}

#[tokio::test]
async fn resources_round_trip_with_every_version_state() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let (org, by) = provider(&store, 1).await;
        let profile = profile();
        let d = draft("企业登记信息", "credit", OpenCategory::Conditional);
        let mut second = d.clone();
        second.summary = "新摘要".into();
        let r = resource(
            1,
            org,
            by,
            &d,
            &[
                ResourceCommand::Submit { by },
                ResourceCommand::Refuse {
                    by,
                    reasons: vec!["理由一".into(), "理由二".into()],
                },
                ResourceCommand::Edit {
                    version: ResourceVersionId::mint(at(9), [2; 10]),
                    content: d.validate(&profile).unwrap(),
                    by,
                },
                ResourceCommand::Submit { by },
                ResourceCommand::Approve { by },
                ResourceCommand::Edit {
                    version: ResourceVersionId::mint(at(9), [3; 10]),
                    content: second.validate(&profile).unwrap(),
                    by,
                },
                ResourceCommand::Submit { by },
                ResourceCommand::Approve { by },
            ],
        );
        // Saved once at the start and once at the end: inserts, then updates.
        let (first, _) = Resource::register(
            r.id(),
            org,
            r.versions()[0].id(),
            d.validate(&profile).unwrap(),
            by,
            at(1),
        );
        save(&store, &first).await;
        save(&store, &r).await;

        let stored = store.resource(r.id()).await.unwrap().unwrap();
        assert_eq!(stored.provider, org, "{}", db.label);
        assert_eq!(stored.versions.len(), 3, "{}", db.label);
        for (s, v) in stored.versions.iter().zip(r.versions()) {
            assert_eq!(&s.state, v.state(), "{}", db.label);
            assert_eq!(s.number, v.number());
            assert_eq!(s.id, v.id());
            assert_eq!(s.created_by, by);
            // The stored draft validates to the same content.
            assert_eq!(&s.draft.validate(&profile).unwrap(), v.content());
        }
        assert_eq!(store.resources().await.unwrap().len(), 1);
        assert!(
            store
                .resource(ResourceId::mint(at(0), [9; 10]))
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn the_public_catalog_search_filters_approved_versions() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let (org1, by1) = provider(&store, 1).await;
        let (org2, by2) = provider(&store, 2).await;
        let approve = |by| {
            [
                ResourceCommand::Submit { by },
                ResourceCommand::Approve { by },
            ]
        };
        for r in [
            resource(
                1,
                org1,
                by1,
                &draft("企业登记信息", "credit", OpenCategory::Conditional),
                &approve(by1),
            ),
            resource(
                2,
                org1,
                by1,
                &draft("企业年报_100%", "credit", OpenCategory::Unconditional),
                &approve(by1),
            ),
            resource(
                3,
                org2,
                by2,
                &draft("公交刷卡记录", "transport", OpenCategory::Conditional),
                &approve(by2),
            ),
            resource(
                4,
                org2,
                by2,
                &draft("公交线路草稿", "transport", OpenCategory::Conditional),
                &[],
            ),
        ] {
            save(&store, &r).await;
        }
        let names = |search: CatalogSearch| {
            let store = store.clone();
            async move {
                store
                    .catalog_entries(&search)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.draft.name)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            names(CatalogSearch::default()).await.len(),
            3,
            "drafts are not listed ({})",
            db.label
        );
        assert_eq!(
            names(CatalogSearch {
                name: Some("公交".into()),
                ..CatalogSearch::default()
            })
            .await,
            vec!["公交刷卡记录"],
            "{}",
            db.label
        );
        // `%` and `_` are matched literally.
        assert_eq!(
            names(CatalogSearch {
                name: Some("_100%".into()),
                ..CatalogSearch::default()
            })
            .await,
            vec!["企业年报_100%"]
        );
        assert!(
            names(CatalogSearch {
                name: Some("%".into()),
                domain: Some("transport".into()),
                ..CatalogSearch::default()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            names(CatalogSearch {
                provider: Some(org1),
                open_category: Some(OpenCategory::Unconditional),
                ..CatalogSearch::default()
            })
            .await,
            vec!["企业年报_100%"]
        );
        assert_eq!(
            names(CatalogSearch {
                domain: Some("transport".into()),
                ..CatalogSearch::default()
            })
            .await
            .len(),
            1
        );
    }
}

#[tokio::test]
async fn registration_records_and_quality_issues_round_trip() {
    for db in TestDb::all().await {
        let store = open(&db).await;
        let profile = profile();
        let (org, by) = provider(&store, 1).await;
        let r = resource(
            1,
            org,
            by,
            &draft("企业登记信息", "credit", OpenCategory::Conditional),
            &[
                ResourceCommand::Submit { by },
                ResourceCommand::Approve { by },
            ],
        );
        save(&store, &r).await;
        let version = r.current().unwrap();
        let details = RegistrationDetails {
            agent: Agent {
                person: by,
                name: "周伟".into(),
                phone: "0955-1234567".into(),
            },
            storage_location: "政务云".into(),
            storage_method: "数据库".into(),
            documents: vec![Document {
                title: "目录".into(),
                reference: "ML-1".into(),
            }],
            commitment_letter: Document {
                title: "承诺书".into(),
                reference: "CN-1".into(),
            },
        };
        let mut record = RegistrationRecord::draft(r.id(), version.id(), details.clone());
        for (i, cmd) in [
            RegistrationCommand::Submit,
            RegistrationCommand::StartReview,
            RegistrationCommand::PublishNotice { until: at(1000) },
            RegistrationCommand::Register {
                result_code: ResultCode::parse("NAT-1").unwrap(),
            },
            RegistrationCommand::RecordChange {
                version: version.id(),
                summary: "变更".into(),
            },
        ]
        .into_iter()
        .enumerate()
        {
            let events = record
                .handle(cmd, at(10 + i64::try_from(i).unwrap()), &profile)
                .unwrap();
            record = events.iter().fold(record, RegistrationRecord::apply);
            let mut tx = store.begin().await.unwrap();
            tx.save_registration(&record, at(20)).await.unwrap();
            tx.audit(event("registration.test")).await.unwrap();
            tx.commit().await.unwrap();
            let stored = store.registration(r.id()).await.unwrap().unwrap();
            assert_eq!(&stored.state, record.state(), "{}", db.label);
            assert_eq!(stored.details, details);
            assert_eq!(stored.version, version.id());
        }

        let (issue, _) = QualityIssue::raise(
            QualityIssueId::mint(at(30), [1; 10]),
            version,
            Some("credit_code"),
            org,
            "有空值",
            at(30),
            &profile,
        )
        .unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.save_quality_issue(&issue).await.unwrap();
        tx.audit(event("quality_issue.raise")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.quality_issue(issue.id()).await.unwrap().as_ref(),
            Some(&issue)
        );
        let events = issue
            .handle(
                QualityCommand::Answer {
                    by: org,
                    answer: "已补全".into(),
                },
                at(40),
                &profile,
            )
            .unwrap();
        let answered = events.iter().fold(issue, QualityIssue::apply);
        let mut tx = store.begin().await.unwrap();
        tx.save_quality_issue(&answered).await.unwrap();
        tx.audit(event("quality_issue.answer")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.quality_issues(r.id()).await.unwrap(),
            vec![answered],
            "{}",
            db.label
        );
    }
}
