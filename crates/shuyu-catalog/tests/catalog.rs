//! The catalog's behaviour through its public API, with the default profile.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_catalog::*;
use shuyu_core::{OrgId, PersonId, Timestamp};
use shuyu_profile::{ColumnControl, Desensitization, Profile};
use uuid::Uuid;

fn profile() -> Profile {
    Profile::builtin(Profile::DEFAULT).unwrap()
}
fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn person(n: u128) -> PersonId {
    PersonId::from_uuid(Uuid::from_u128(n))
}
fn org(n: u128) -> OrgId {
    OrgId::from_uuid(Uuid::from_u128(n))
}
fn vid(n: u128) -> ResourceVersionId {
    ResourceVersionId::from_uuid(Uuid::from_u128(1000 + n))
}

fn field(name: &str, grade: &str, flags: FieldFlags) -> FieldDraft {
    FieldDraft {
        name: name.into(),
        field_type: FieldType::String,
        description: format!("{name} 说明"),
        grade: grade.into(),
        flags,
        format: FormatKind::None,
    }
}

fn pi() -> FieldFlags {
    FieldFlags {
        personal_information: true,
        ..FieldFlags::default()
    }
}

fn draft() -> ResourceDraft {
    ResourceDraft {
        name: "企业信用评价结果".into(),
        summary: "全市企业年度信用评价等级".into(),
        domain: "credit".into(),
        update_frequency: UpdateFrequency::Yearly,
        coverage: Coverage {
            time_from: Some("2020-01-01".parse().unwrap()),
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: "《企业信息公示暂行条例》".into(),
        open_category: OpenCategory::Conditional,
        grade: "L3".into(),
        fields: vec![
            field(
                "credit_code",
                "L2",
                FieldFlags {
                    privacy_unit: true,
                    ..FieldFlags::default()
                },
            ),
            field("rating", "L1", FieldFlags::default()),
            field(
                "legal_person_id",
                "L3",
                FieldFlags {
                    personal_information: true,
                    direct_identifier: true,
                    ..FieldFlags::default()
                },
            ),
        ],
    }
}

fn validated(d: &ResourceDraft) -> ValidatedResource {
    d.validate(&profile()).unwrap()
}

fn problems(d: &ResourceDraft) -> Vec<DraftProblem> {
    match d.validate(&profile()) {
        Err(CatalogError::InvalidDraft(p)) => p,
        other => panic!("expected an invalid draft, got {other:?}"),
    }
}

/// A resource whose first version is approved.
fn approved(d: &ResourceDraft) -> Resource {
    let p = profile();
    let (mut r, _) = Resource::register(
        ResourceId::from_uuid(Uuid::from_u128(1)),
        org(1),
        vid(1),
        validated(d),
        person(1),
        t("2026-01-05"),
    );
    for cmd in [
        ResourceCommand::Submit { by: person(1) },
        ResourceCommand::Approve { by: person(2) },
    ] {
        let events = r.handle(cmd, t("2026-01-06"), &p).unwrap();
        r = events.iter().fold(r, Resource::apply);
    }
    r
}

fn run(r: Resource, cmd: ResourceCommand) -> Resource {
    let events = r.handle(cmd, t("2026-02-01"), &profile()).unwrap();
    events.iter().fold(r, Resource::apply)
}

// ---- validation ----

#[test]
fn a_complete_draft_is_accepted() {
    let v = validated(&draft());
    assert_eq!(v.fields().len(), 3);
    assert_eq!(v.privacy_unit().unwrap().name().as_str(), "credit_code");
    assert_eq!(v.to_draft(), draft());
}

#[test]
fn unknown_grade_is_named_with_its_field_and_the_scale() {
    let mut d = draft();
    d.fields[2].grade = "L9".into();
    let p = problems(&d);
    assert_eq!(p[0].path, "fields[2].grade");
    assert!(
        p[0].reason.contains("unknown grade `L9`"),
        "{}",
        p[0].reason
    );
    assert!(
        p[0].reason.contains("L1, L2, L3, L4, important, core"),
        "{}",
        p[0].reason
    );
    let message = CatalogError::InvalidDraft(p).to_string();
    assert!(message.contains("`fields[2].grade`"), "{message}");
}

#[test]
fn every_problem_of_a_draft_is_reported_with_its_path() {
    type Edit = Box<dyn Fn(&mut ResourceDraft)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("name", Box::new(|d| d.name = " ".into())),
        ("summary", Box::new(|d| d.summary = String::new())),
        ("legal_basis", Box::new(|d| d.legal_basis = "\t".into())),
        ("domain", Box::new(|d| d.domain = "astrology".into())),
        ("grade", Box::new(|d| d.grade = "top".into())),
        (
            "coverage.spatial",
            Box::new(|d| d.coverage.spatial = String::new()),
        ),
        (
            "coverage.time_to",
            Box::new(|d| d.coverage.time_to = Some("2019-01-01".parse().unwrap())),
        ),
        ("fields", Box::new(|d| d.fields.clear())),
        (
            "fields[1].name",
            Box::new(|d| d.fields[1].name = "Rating Value".into()),
        ),
        (
            "fields[1].name",
            Box::new(|d| d.fields[1].name = "credit_code".into()),
        ),
        (
            "fields[0].description",
            Box::new(|d| d.fields[0].description = " ".into()),
        ),
        (
            "fields[2].grade",
            Box::new(|d| d.fields[2].grade = "L4".into()),
        ),
        (
            "fields[1].flags.personal_information",
            Box::new(|d| d.fields[1].flags.direct_identifier = true),
        ),
        (
            "fields[2].flags.privacy_unit",
            Box::new(|d| d.fields[2].flags.privacy_unit = true),
        ),
    ];
    for (path, change) in cases {
        let mut d = draft();
        change(&mut d);
        let p = problems(&d);
        assert!(p.iter().any(|x| x.path == path), "{path}: {p:?}");
    }
}

#[test]
fn a_field_grade_above_the_resource_grade_is_refused() {
    let mut d = draft();
    d.fields[1].grade = "important".into();
    let p = problems(&d);
    assert!(p[0].reason.contains("raise the resource's grade"), "{p:?}");
}

#[test]
fn a_second_privacy_unit_is_refused() {
    let mut d = draft();
    d.fields[1].flags.privacy_unit = true;
    let p = problems(&d);
    assert_eq!(p[0].path, "fields[1].flags.privacy_unit");
    assert!(p[0].reason.contains("fields[0]"), "{p:?}");
}

#[test]
fn column_names_are_plain_identifiers() {
    for good in ["a", "credit_code", "x1"] {
        assert!(ColumnName::parse(good).is_ok(), "{good}");
    }
    for bad in ["", "1a", "Name", "a-b", "名称", &"a".repeat(64)] {
        assert!(ColumnName::parse(bad).is_err(), "{bad}");
    }
}

// ---- default handling ----

#[test]
fn a_field_gets_the_strictest_control_of_its_grade_and_flags() {
    let p = profile();
    let v = validated(&draft());
    let h = |name: &str| v.field(name).unwrap().default_handling(&p);
    assert_eq!(h("rating").column_control, ColumnControl::Visible);
    assert_eq!(h("rating").desensitization, Desensitization::None);
    let id = h("legal_person_id");
    assert_eq!(id.column_control, ColumnControl::JoinKey);
    assert_eq!(id.desensitization, Desensitization::Hash);
    assert_ne!(h("credit_code").column_control, ColumnControl::Visible);
}

#[test]
fn personal_information_is_at_most_aggregated_by_default() {
    let p = profile();
    let mut d = draft();
    d.fields.push(field("home_district", "L1", pi()));
    let v = validated(&d);
    let h = v.field("home_district").unwrap().default_handling(&p);
    assert_eq!(h.column_control, ColumnControl::AggregateOnly);
    assert_eq!(h.desensitization, Desensitization::Mask);
}

// ---- approval and authorization ----

#[test]
fn a_new_version_is_not_authorizable_until_approved() {
    let p = profile();
    let (r, events) = Resource::register(
        ResourceId::from_uuid(Uuid::from_u128(1)),
        org(1),
        vid(1),
        validated(&draft()),
        person(1),
        t("2026-01-05"),
    );
    assert_eq!(events.len(), 2);
    let err = authorizable(r.latest().unwrap(), &p).unwrap_err();
    assert!(matches!(
        err,
        NotAuthorizable::NotApproved {
            number: 1,
            state: "draft"
        }
    ));
    let r = approved(&draft());
    let conditions = authorizable(r.current().unwrap(), &p).unwrap();
    assert!(conditions.conditional);
    assert!(!conditions.authority_review);
}

#[test]
fn refusal_must_state_reasons() {
    let r = run(
        approved(&draft()),
        ResourceCommand::Edit {
            version: vid(2),
            content: validated(&draft()),
            by: person(1),
        },
    );
    let r = run(r, ResourceCommand::Submit { by: person(1) });
    for reasons in [vec![], vec!["  ".to_owned()]] {
        let err = r
            .handle(
                ResourceCommand::Refuse {
                    by: person(2),
                    reasons,
                },
                t("2026-02-02"),
                &profile(),
            )
            .unwrap_err();
        assert_eq!(err, CatalogError::RefusalNeedsReasons);
    }
    let r = run(
        r,
        ResourceCommand::Refuse {
            by: person(2),
            reasons: vec!["字段说明不完整".into()],
        },
    );
    match r.version(vid(2)).unwrap().state() {
        VersionState::Refused { reasons, .. } => {
            assert_eq!(reasons, &vec!["字段说明不完整".to_owned()])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.current().unwrap().id(), vid(1));
    assert!(r.pending().is_none());
}

#[test]
fn editing_an_approved_resource_keeps_the_old_version_authorizable() {
    let p = profile();
    let mut changed = draft();
    changed.summary = "全市企业年度信用评价等级（含分项）".into();
    let r = run(
        approved(&draft()),
        ResourceCommand::Edit {
            version: vid(2),
            content: validated(&changed),
            by: person(1),
        },
    );
    assert_eq!(r.latest().unwrap().number(), 2);
    assert_eq!(r.current().unwrap().id(), vid(1));
    assert!(authorizable(r.current().unwrap(), &p).is_ok());
    let r = run(r, ResourceCommand::Submit { by: person(1) });
    assert_eq!(r.current().unwrap().id(), vid(1));
    let r = run(r, ResourceCommand::Approve { by: person(2) });
    assert_eq!(r.current().unwrap().id(), vid(2));
    let old = r.version(vid(1)).unwrap();
    assert!(matches!(
        old.state(),
        VersionState::Superseded { by_number: 2, .. }
    ));
    assert!(authorizable(old, &p).is_err());
}

#[test]
fn only_one_version_is_pending_at_a_time() {
    let r = run(
        approved(&draft()),
        ResourceCommand::Edit {
            version: vid(2),
            content: validated(&draft()),
            by: person(1),
        },
    );
    let err = r
        .handle(
            ResourceCommand::Edit {
                version: vid(3),
                content: validated(&draft()),
                by: person(1),
            },
            t("2026-02-02"),
            &profile(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        CatalogError::VersionPending {
            number: 2,
            state: "draft"
        }
    );
}

#[test]
fn only_legal_approval_moves_are_accepted() {
    let r = approved(&draft());
    for cmd in [
        ResourceCommand::Submit { by: person(1) },
        ResourceCommand::Approve { by: person(2) },
        ResourceCommand::Refuse {
            by: person(2),
            reasons: vec!["x".into()],
        },
    ] {
        let name = cmd.name();
        let err = r.handle(cmd, t("2026-02-02"), &profile()).unwrap_err();
        assert!(
            matches!(err, CatalogError::IllegalTransition { command, .. } if command == name),
            "{err}"
        );
    }
    // A draft cannot be approved without being submitted.
    let r = run(
        r,
        ResourceCommand::Edit {
            version: vid(2),
            content: validated(&draft()),
            by: person(1),
        },
    );
    let err = r
        .handle(
            ResourceCommand::Approve { by: person(2) },
            t("2026-02-02"),
            &profile(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a resource version in state `draft` does not accept `approve`"
    );
}

#[test]
fn not_open_resources_are_never_authorizable() {
    let mut d = draft();
    d.open_category = OpenCategory::NotOpen;
    let r = approved(&d);
    assert_eq!(
        authorizable(r.current().unwrap(), &profile()),
        Err(NotAuthorizable::NotOpenCannotBeAuthorized)
    );
}

#[test]
fn core_grade_is_never_authorizable() {
    for (resource_grade, field_grade) in [("core", "L1"), ("core", "core"), ("state_secret", "L1")]
    {
        let mut d = draft();
        d.grade = resource_grade.into();
        d.fields[1].grade = field_grade.into();
        let r = approved(&d);
        let err = authorizable(r.current().unwrap(), &profile()).unwrap_err();
        assert!(
            matches!(&err, NotAuthorizable::GradeNeverAuthorizable { grade, .. } if grade == resource_grade),
            "{resource_grade}/{field_grade}: {err}"
        );
        assert!(err.to_string().contains("never authorized"), "{err}");
    }
}

#[test]
fn important_data_needs_the_authoritys_review() {
    let mut d = draft();
    d.grade = "important".into();
    let r = approved(&d);
    assert!(
        authorizable(r.current().unwrap(), &profile())
            .unwrap()
            .authority_review
    );
}

// ---- diff ----

#[test]
fn diff_names_changed_field_attributes() {
    let mut changed = draft();
    changed.fields[1].grade = "L2".into();
    changed.fields[1].description = "评价等级 A-D".into();
    changed.fields.remove(2);
    changed
        .fields
        .push(field("rating_year", "L1", FieldFlags::default()));
    changed.update_frequency = UpdateFrequency::Quarterly;
    let r = run(
        approved(&draft()),
        ResourceCommand::Edit {
            version: vid(2),
            content: validated(&changed),
            by: person(1),
        },
    );
    let changes = diff(r.version(vid(1)).unwrap(), r.version(vid(2)).unwrap());
    assert_eq!(
        changes,
        vec![
            Change::Metadata {
                attribute: "update_frequency",
                old: "yearly".into(),
                new: "quarterly".into()
            },
            Change::FieldChanged {
                field: "rating".into(),
                attribute: "description",
                old: "rating 说明".into(),
                new: "评价等级 A-D".into()
            },
            Change::FieldChanged {
                field: "rating".into(),
                attribute: "grade",
                old: "L1".into(),
                new: "L2".into()
            },
            Change::FieldRemoved {
                field: "legal_person_id".into()
            },
            Change::FieldAdded {
                field: "rating_year".into()
            },
        ]
    );
    assert!(diff(r.version(vid(1)).unwrap(), r.version(vid(1)).unwrap()).is_empty());
}

// ---- registration ----

fn details() -> RegistrationDetails {
    RegistrationDetails {
        agent: Agent {
            person: person(1),
            name: "李伟".into(),
            phone: "0955-1234567".into(),
        },
        storage_location: "市政务云 授权运营域".into(),
        storage_method: "SM4 加密的 Parquet 文件".into(),
        documents: vec![Document {
            title: "数据资源目录".into(),
            reference: "docs/catalog.pdf".into(),
        }],
        commitment_letter: Document {
            title: "承诺书".into(),
            reference: "docs/commitment.pdf".into(),
        },
    }
}

fn registration_steps() -> Vec<RegistrationCommand> {
    vec![
        RegistrationCommand::Submit,
        RegistrationCommand::StartReview,
        RegistrationCommand::PublishNotice {
            until: t("2026-03-20"),
        },
        RegistrationCommand::Register {
            result_code: ResultCode::parse("GJDJ-2026-000123").unwrap(),
        },
        RegistrationCommand::RecordChange {
            version: vid(2),
            summary: "新增字段".into(),
        },
        RegistrationCommand::Cancel {
            reason: "资源停止采集".into(),
        },
    ]
}

#[test]
fn a_registration_runs_from_draft_to_cancelled() {
    let p = profile();
    let mut rec =
        RegistrationRecord::draft(ResourceId::from_uuid(Uuid::from_u128(1)), vid(1), details());
    let mut seen = vec![rec.state().name()];
    for cmd in registration_steps() {
        let events = rec.handle(cmd, t("2026-03-01"), &p).unwrap();
        rec = events.iter().fold(rec, RegistrationRecord::apply);
        seen.push(rec.state().name());
    }
    assert_eq!(
        seen,
        [
            "draft",
            "submitted",
            "under_review",
            "public_notice",
            "registered",
            "changed",
            "cancelled"
        ]
    );
}

#[test]
fn only_legal_registration_moves_are_accepted() {
    let p = profile();
    let commands = || {
        let mut all = registration_steps();
        all.push(RegistrationCommand::Return {
            reasons: vec!["补充承诺书".into()],
        });
        all.push(RegistrationCommand::UpdateDetails(details()));
        all
    };
    let legal: &[(&str, &[&str])] = &[
        ("draft", &["submit", "update_details", "cancel"]),
        ("submitted", &["start_review"]),
        ("under_review", &["publish_notice", "return"]),
        ("public_notice", &["register", "return"]),
        ("registered", &["record_change", "cancel"]),
        ("changed", &["record_change", "cancel"]),
        ("cancelled", &[]),
    ];
    // Reach each state along the happy path, then try every command there.
    let mut rec =
        RegistrationRecord::draft(ResourceId::from_uuid(Uuid::from_u128(1)), vid(1), details());
    let mut path = registration_steps().into_iter();
    for (state, allowed) in legal {
        assert_eq!(rec.state().name(), *state);
        for cmd in commands() {
            let name = cmd.name();
            let result = rec.handle(cmd, t("2026-03-01"), &p);
            assert_eq!(
                result.is_ok(),
                allowed.contains(&name),
                "{state} + {name}: {result:?}"
            );
            if let Err(e) = result {
                assert!(matches!(e, CatalogError::IllegalTransition { .. }), "{e}");
            }
        }
        if let Some(next) = path.next() {
            let events = rec.handle(next, t("2026-03-01"), &p).unwrap();
            rec = events.iter().fold(rec, RegistrationRecord::apply);
        }
    }
}

#[test]
fn a_registration_return_states_what_to_correct() {
    let p = profile();
    let mut rec =
        RegistrationRecord::draft(ResourceId::from_uuid(Uuid::from_u128(1)), vid(1), details());
    for cmd in [
        RegistrationCommand::Submit,
        RegistrationCommand::StartReview,
    ] {
        let events = rec.handle(cmd, t("2026-03-01"), &p).unwrap();
        rec = events.iter().fold(rec, RegistrationRecord::apply);
    }
    let err = rec
        .handle(
            RegistrationCommand::Return { reasons: vec![] },
            t("2026-03-02"),
            &p,
        )
        .unwrap_err();
    assert_eq!(err, CatalogError::ReturnNeedsReasons);
    let events = rec
        .handle(
            RegistrationCommand::Return {
                reasons: vec!["承诺书未签章".into()],
            },
            t("2026-03-02"),
            &p,
        )
        .unwrap();
    let rec = events.iter().fold(rec, RegistrationRecord::apply);
    assert_eq!(rec.state(), &RegistrationState::Draft);
}

#[test]
fn a_registration_without_a_commitment_letter_cannot_be_submitted() {
    let mut d = details();
    d.commitment_letter.reference = " ".into();
    let rec = RegistrationRecord::draft(ResourceId::from_uuid(Uuid::from_u128(1)), vid(1), d);
    let err = rec
        .handle(RegistrationCommand::Submit, t("2026-03-01"), &profile())
        .unwrap_err();
    assert!(err.to_string().contains("承诺书"), "{err}");
}

#[test]
fn result_codes_are_plain_codes() {
    assert!(ResultCode::parse("GJDJ-2026-000123").is_ok());
    assert!(ResultCode::parse("").is_err());
    assert!(ResultCode::parse("码 1").is_err());
}

#[test]
fn the_registration_package_carries_every_part_in_json_and_chinese_markdown() {
    let r = approved(&draft());
    let v = r.current().unwrap();
    let rec = RegistrationRecord::draft(r.id(), v.id(), details());
    let (json, md) = registration_package(&r, v, &rec);
    assert_eq!(json["basic_information"]["name"], "企业信用评价结果");
    assert_eq!(json["agent"]["name"], "李伟");
    assert_eq!(json["storage"]["method"], "SM4 加密的 Parquet 文件");
    assert_eq!(json["fields"].as_array().unwrap().len(), 3);
    assert_eq!(json["commitment_letter"]["title"], "承诺书");
    assert_eq!(json["status"], "draft");
    assert!(json["result_code"].is_null());
    for heading in [
        "## 基本信息",
        "## 经办人",
        "## 存储位置与方式",
        "## 证明材料",
        "## 承诺书",
        "## 数据项",
    ] {
        assert!(md.contains(heading), "{heading}\n{md}");
    }
    assert!(md.contains("| legal_person_id | 字符串 |"), "{md}");
    assert!(md.contains("（尚未取得）"), "{md}");
}

// ---- quality ----

fn issue(field: Option<&str>) -> QualityIssue {
    let r = approved(&draft());
    QualityIssue::raise(
        QualityIssueId::from_uuid(Uuid::from_u128(7)),
        r.current().unwrap(),
        field,
        org(3),
        "评价等级缺失",
        t("2026-04-01T09:00:00Z"),
        &profile(),
    )
    .unwrap()
    .0
}

#[test]
fn quality_issue_is_overdue_after_the_profile_deadline() {
    let p = profile();
    let days = i64::from(p.catalog().quality_answer_days.value);
    let i = issue(Some("rating"));
    assert_eq!(
        i.due(),
        t("2026-04-01T09:00:00Z").plus_seconds(days * 86_400)
    );
    assert_eq!(i.due(), due_date(i.raised_at(), &p));
    assert_eq!(i.status(i.due()), IssueStatus::Open);
    assert_eq!(i.status(i.due().plus_seconds(1)), IssueStatus::Overdue);
}

#[test]
fn an_answer_closes_an_issue_once_and_late_answers_are_counted() {
    let p = profile();
    let i = issue(None);
    let late = i.due().plus_seconds(3600);
    let events = i
        .handle(
            QualityCommand::Answer {
                by: org(1),
                answer: "已补录".into(),
            },
            late,
            &p,
        )
        .unwrap();
    let answered = events.iter().fold(i.clone(), QualityIssue::apply);
    assert_eq!(answered.status(late), IssueStatus::Answered { late: true });
    let again = answered.handle(
        QualityCommand::Answer {
            by: org(1),
            answer: "x".into(),
        },
        late,
        &p,
    );
    assert!(matches!(again, Err(CatalogError::IllegalTransition { .. })));
    let empty = i.handle(
        QualityCommand::Answer {
            by: org(1),
            answer: " ".into(),
        },
        late,
        &p,
    );
    assert!(matches!(empty, Err(CatalogError::EmptyText { .. })));

    let on_time = i
        .handle(
            QualityCommand::Answer {
                by: org(1),
                answer: "已补录".into(),
            },
            i.raised_at(),
            &p,
        )
        .unwrap()
        .iter()
        .fold(i.clone(), QualityIssue::apply);
    let c = counts([&i, &answered, &on_time], late);
    assert_eq!(
        c,
        QualityCounts {
            raised: 3,
            open: 0,
            overdue: 1,
            answered_on_time: 1,
            answered_late: 1
        }
    );
}

#[test]
fn a_quality_issue_on_an_unknown_field_names_the_fields() {
    let r = approved(&draft());
    let err = QualityIssue::raise(
        QualityIssueId::from_uuid(Uuid::from_u128(7)),
        r.current().unwrap(),
        Some("colour"),
        org(3),
        "x",
        t("2026-04-01"),
        &profile(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("credit_code, rating, legal_person_id"),
        "{err}"
    );
    assert_eq!(
        issue(Some("rating")).target(),
        &IssueTarget::Field {
            name: ColumnName::parse("rating").unwrap()
        }
    );
}

#[test]
fn an_identifier_format_is_kept_on_text_fields_and_refused_on_numbers() {
    let mut d = draft();
    d.fields[0].format = FormatKind::ResidentId;
    let ok = validated(&d);
    assert_eq!(ok.to_draft().fields[0].format, FormatKind::ResidentId);
    d.fields[0].field_type = FieldType::Integer;
    let found = problems(&d);
    assert!(
        found
            .iter()
            .any(|p| format!("{p:?}").contains("fields[0].format")),
        "{found:?}"
    );
}
