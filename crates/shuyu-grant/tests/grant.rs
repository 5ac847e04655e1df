//! Grants through their public API, against the default profile and real catalog versions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use shuyu_catalog::{
    Coverage, FieldDraft, FieldFlags, FieldType, FormatKind, OpenCategory, Resource,
    ResourceCommand, ResourceDraft, ResourceId, ResourceVersionId, UpdateFrequency,
};
use shuyu_core::{OrgId, PersonId, Timestamp};
use shuyu_grant::*;
use shuyu_profile::{ColumnControl, Desensitization, Profile};
use uuid::Uuid;

fn profile() -> Profile {
    Profile::builtin(Profile::DEFAULT).unwrap()
}
fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn now() -> Timestamp {
    t("2026-03-01")
}
fn person(n: u128) -> PersonId {
    PersonId::from_uuid(Uuid::from_u128(n))
}
fn org(n: u128) -> OrgId {
    OrgId::from_uuid(Uuid::from_u128(n))
}
fn rid(n: u128) -> ResourceId {
    ResourceId::from_uuid(Uuid::from_u128(100 + n))
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

/// A resource with fields of several grades and flags:
/// `unit_id` (L2, privacy unit: hash / join_key), `district` (L1: none / visible),
/// `amount` (L3: mask / aggregate_only), `diagnosis` (L4, personal information: mask / group_by).
fn draft() -> ResourceDraft {
    ResourceDraft {
        name: "门诊就诊记录".into(),
        summary: "全市门诊就诊记录".into(),
        domain: "health".into(),
        update_frequency: UpdateFrequency::Monthly,
        coverage: Coverage {
            time_from: None,
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: "《医疗机构管理条例》".into(),
        open_category: OpenCategory::Conditional,
        grade: "L4".into(),
        fields: vec![
            field(
                "unit_id",
                "L2",
                FieldFlags {
                    privacy_unit: true,
                    ..FieldFlags::default()
                },
            ),
            field("district", "L1", FieldFlags::default()),
            field("amount", "L3", FieldFlags::default()),
            field(
                "diagnosis",
                "L4",
                FieldFlags {
                    personal_information: true,
                    ..FieldFlags::default()
                },
            ),
        ],
    }
}

/// Resource `n` with its first version, approved when `approve`.
fn resource(n: u128, approve: bool) -> Resource {
    let p = profile();
    let (mut r, _) = Resource::register(
        rid(n),
        org(9),
        vid(n),
        draft().validate(&p).unwrap(),
        person(1),
        t("2026-01-05"),
    );
    if approve {
        for cmd in [
            ResourceCommand::Submit { by: person(1) },
            ResourceCommand::Approve { by: person(2) },
        ] {
            let events = r.handle(cmd, t("2026-01-06"), &p).unwrap();
            r = events.iter().fold(r, Resource::apply);
        }
    }
    r
}

fn fields(names: &[&str]) -> Vec<FieldRequest> {
    names
        .iter()
        .map(|n| FieldRequest::default_handling(n))
        .collect()
}

fn request() -> NewGrant {
    NewGrant {
        merchant: org(1),
        operator: org(2),
        scenario: Scenario {
            name: "区域就医与参保情况统计分析".into(),
            category: ScenarioCategory::PublicInterest,
        },
        resources: vec![ResourceRequest {
            resource: rid(1),
            version: vid(1),
            table: "visits".into(),
            fields: fields(&["unit_id", "district", "amount", "diagnosis"]),
        }],
        usage: UsageMethod::DpAggregate,
        term: Term {
            from: t("2026-03-01"),
            to: t("2026-09-01"),
        },
        min_group_size: None,
        budget: None,
    }
}

fn seed_with(request: NewGrant, resources: &[Resource]) -> Result<Grant, GrantError> {
    let versions: Vec<_> = resources.iter().flat_map(|r| r.versions()).collect();
    Grant::seed(
        GrantId::from_uuid(Uuid::from_u128(7)),
        WorkspaceId::from_uuid(Uuid::from_u128(8)),
        request,
        &versions,
        &profile(),
        now(),
    )
}

fn seed(request: NewGrant) -> Result<Grant, GrantError> {
    seed_with(request, &[resource(1, true), resource(2, true)])
}

fn refused(request: NewGrant, path: &str) -> GrantError {
    let err = seed(request).expect_err("the grant should be refused");
    assert_eq!(err.path(), path, "{err}");
    err
}

fn grant() -> Grant {
    seed(request()).unwrap()
}

fn suspend(by: u128, reason: &str) -> GrantCommand {
    GrantCommand::Suspend {
        by: person(by),
        reason: reason.into(),
    }
}
fn resume(reason: &str) -> GrantCommand {
    GrantCommand::Resume {
        by: person(3),
        reason: reason.into(),
    }
}
fn revoke(reason: &str) -> GrantCommand {
    GrantCommand::Revoke {
        by: person(3),
        reason: reason.into(),
    }
}

fn run(g: Grant, cmd: GrantCommand, at: Timestamp) -> Grant {
    let event = g.handle(cmd, at).unwrap();
    g.apply(&event)
}

// ---- a new grant ----

#[test]
fn a_grant_with_defaults_is_active_seeded_and_takes_the_profile_defaults() {
    let g = grant();
    let p = profile();
    assert!(g.seeded());
    assert_eq!(g.state(), GrantState::Active);
    assert_eq!(g.status(now()), GrantStatus::Active);
    assert_eq!(g.min_group_size(), p.sandbox().min_group_size.value);
    assert_eq!(g.budget(), p.sandbox().default_budget.value);
    let unit = g.field(rid(1), "unit_id").unwrap();
    assert_eq!(unit.column_control, ColumnControl::JoinKey);
    assert_eq!(unit.desensitization, Desensitization::Hash);
    let diagnosis = g.field(rid(1), "diagnosis").unwrap();
    assert_eq!(diagnosis.grade, "L4");
    assert_eq!(diagnosis.column_control, ColumnControl::GroupBy);
    assert_eq!(g.scenario().category, ScenarioCategory::PublicInterest);
    assert!(g.history().is_empty());
}

#[test]
fn a_grant_survives_its_json() {
    let g = grant();
    let text = serde_json::to_string(&g).unwrap();
    assert_eq!(serde_json::from_str::<Grant>(&text).unwrap(), g);
}

#[test]
fn an_unapproved_version_is_refused() {
    let err = seed_with(request(), &[resource(1, false)]).unwrap_err();
    assert_eq!(err.path(), "resources[0].version");
    assert!(matches!(err, GrantError::NotAuthorizable { .. }), "{err}");
    assert!(err.to_string().contains("approved"), "{err}");
}

#[test]
fn a_version_of_another_resource_is_refused() {
    let mut r = request();
    r.resources[0].version = vid(2);
    let err = refused(r, "resources[0].version");
    assert!(matches!(err, GrantError::UnknownVersion { .. }), "{err}");
}

#[test]
fn an_unknown_field_is_refused_naming_the_fields() {
    let mut r = request();
    r.resources[0].fields = fields(&["district", "salary"]);
    let err = refused(r, "resources[0].fields[1].name");
    assert!(err.to_string().contains("unit_id, district"), "{err}");
}

#[test]
fn a_field_listed_twice_is_refused() {
    let mut r = request();
    r.resources[0].fields = fields(&["district", "district"]);
    refused(r, "resources[0].fields[1].name");
}

#[test]
fn a_resource_listed_twice_is_refused() {
    let mut r = request();
    r.resources.push(r.resources[0].clone());
    refused(r, "resources[1].resource");
}

#[test]
fn a_grant_without_resources_or_fields_is_refused() {
    let mut r = request();
    r.resources.clear();
    refused(r, "resources");
    let mut r = request();
    r.resources[0].fields.clear();
    refused(r, "resources[0].fields");
}

#[test]
fn two_resources_may_be_granted_together() {
    let mut r = request();
    r.resources.push(ResourceRequest {
        resource: rid(2),
        version: vid(2),
        table: "regions".into(),
        fields: fields(&["district"]),
    });
    assert_eq!(seed(r).unwrap().resources().len(), 2);
}

#[test]
fn a_column_control_may_be_tightened_but_not_loosened() {
    let mut r = request();
    r.resources[0].fields[2].column_control = Some(ColumnControl::CompareOnly);
    let g = seed(r).unwrap();
    assert_eq!(
        g.field(rid(1), "amount").unwrap().column_control,
        ColumnControl::CompareOnly
    );
    let mut r = request();
    r.resources[0].fields[2].column_control = Some(ColumnControl::Visible);
    let err = refused(r, "resources[0].fields[2].column_control");
    assert!(err.to_string().contains("aggregate_only"), "{err}");
}

#[test]
fn a_field_tightened_to_denied_is_refused_as_pointless() {
    let mut r = request();
    r.resources[0].fields[1].column_control = Some(ColumnControl::Denied);
    let err = refused(r, "resources[0].fields[1].column_control");
    assert!(matches!(err, GrantError::DeniedField { .. }), "{err}");
}

#[test]
fn a_desensitization_may_be_tightened_but_not_loosened() {
    let mut r = request();
    r.resources[0].fields[1].desensitization = Some(Desensitization::Generalize);
    r.resources[0].fields[2].desensitization = Some(Desensitization::Null);
    let g = seed(r).unwrap();
    assert_eq!(
        g.field(rid(1), "district").unwrap().desensitization,
        Desensitization::Generalize
    );
    for loosened in [Desensitization::None, Desensitization::Mask] {
        let mut r = request();
        r.resources[0].fields[0].desensitization = Some(loosened);
        let err = refused(r, "resources[0].fields[0].desensitization");
        assert!(err.to_string().contains("hash"), "{err}");
    }
}

#[test]
fn desensitization_strictness_is_a_partial_order_with_null_at_the_top() {
    for &a in Desensitization::ALL {
        assert!(desensitization_at_least_as_strict(a, a));
        assert!(desensitization_at_least_as_strict(Desensitization::Null, a));
        assert!(desensitization_at_least_as_strict(a, Desensitization::None));
        for &b in Desensitization::ALL {
            if a != b {
                assert!(
                    !(desensitization_at_least_as_strict(a, b)
                        && desensitization_at_least_as_strict(b, a)),
                    "{a} and {b}"
                );
            }
        }
    }
    assert!(!desensitization_at_least_as_strict(
        Desensitization::Hash,
        Desensitization::Mask
    ));
}

#[test]
fn the_usage_method_must_be_allowed_for_every_granted_fields_grade() {
    let mut r = request();
    r.usage = UsageMethod::Aggregate;
    let err = refused(r, "usage");
    assert!(err.to_string().contains("diagnosis"), "{err}");
    assert!(err.to_string().contains("`L4`"), "{err}");
    let mut r = request();
    r.usage = UsageMethod::Aggregate;
    r.resources[0].fields = fields(&["unit_id", "district", "amount"]);
    assert_eq!(seed(r).unwrap().usage(), UsageMethod::Aggregate);
}

#[test]
fn the_term_is_bounded_by_the_profile_and_must_lie_ahead() {
    let max = profile().sandbox().max_term_days.value;
    let mut r = request();
    r.term.to = r.term.from.plus_seconds(i64::from(max) * 86_400);
    assert!(seed(r).is_ok());
    let mut r = request();
    r.term.to = r.term.from.plus_seconds(i64::from(max) * 86_400 + 1);
    let err = refused(r, "term.to");
    assert!(matches!(err, GrantError::TermTooLong { .. }), "{err}");
    let mut r = request();
    r.term.to = r.term.from;
    assert!(matches!(
        refused(r, "term.to"),
        GrantError::TermInverted { .. }
    ));
    let mut r = request();
    r.term = Term {
        from: t("2025-01-01"),
        to: t("2026-02-01"),
    };
    assert!(matches!(
        refused(r, "term.to"),
        GrantError::TermEnded { .. }
    ));
}

#[test]
fn the_minimum_group_size_respects_the_floor() {
    let floor = profile().sandbox().min_group_size_floor.value;
    let mut r = request();
    r.min_group_size = Some(floor);
    assert_eq!(seed(r).unwrap().min_group_size(), floor);
    let mut r = request();
    r.min_group_size = Some(floor - 1);
    refused(r, "min_group_size");
}

#[test]
fn the_budget_is_at_most_the_profiles_maximum_and_well_formed() {
    let max = profile().sandbox().max_grant_budget.value;
    let mut r = request();
    r.budget = Some(max);
    assert_eq!(seed(r).unwrap().budget(), max);
    let mut r = request();
    r.budget = Some(PrivacyBudget::new(max.epsilon * 2.0, max.delta));
    assert!(matches!(
        refused(r, "budget"),
        GrantError::BudgetTooLarge { .. }
    ));
    for bad in [
        PrivacyBudget::new(0.0, 0.0),
        PrivacyBudget::new(f64::NAN, 0.0),
        PrivacyBudget::new(1.0, -1e-9),
    ] {
        let mut r = request();
        r.budget = Some(bad);
        assert!(matches!(
            refused(r, "budget"),
            GrantError::BudgetMalformed { .. }
        ));
    }
}

#[test]
fn a_scenario_needs_a_name() {
    let mut r = request();
    r.scenario.name = "   ".into();
    refused(r, "scenario.name");
}

// ---- lifecycle ----

#[test]
fn suspend_resume_revoke() {
    let g = grant();
    let g = run(g, suspend(3, "安全检查发现异常访问"), t("2026-04-01"));
    assert_eq!(g.status(t("2026-04-01")), GrantStatus::Suspended);
    let g = run(g, resume("整改完成"), t("2026-04-02"));
    assert_eq!(g.status(t("2026-04-02")), GrantStatus::Active);
    let g = run(g, revoke("协议终止"), t("2026-04-03"));
    assert_eq!(g.status(t("2026-04-03")), GrantStatus::Revoked);
    assert_eq!(g.history().len(), 3);
    assert!(matches!(
        &g.history()[0],
        GrantEvent::Suspended { reason, .. } if reason == "安全检查发现异常访问"
    ));
}

#[test]
fn revoked_is_terminal() {
    let g = run(grant(), revoke("协议终止"), t("2026-04-01"));
    for cmd in [suspend(3, "x"), resume("x"), revoke("x")] {
        let err = g.handle(cmd, t("2026-04-02")).unwrap_err();
        assert!(err.is_conflict(), "{err}");
        assert!(matches!(
            err,
            GrantError::IllegalTransition {
                from: "revoked",
                ..
            }
        ));
    }
}

#[test]
fn only_a_suspended_grant_resumes_and_only_an_active_one_suspends() {
    let g = grant();
    assert!(matches!(
        g.handle(resume("x"), t("2026-04-01")),
        Err(GrantError::IllegalTransition { from: "active", .. })
    ));
    let g = run(g, suspend(3, "x"), t("2026-04-01"));
    assert!(matches!(
        g.handle(suspend(3, "x"), t("2026-04-01")),
        Err(GrantError::IllegalTransition {
            from: "suspended",
            ..
        })
    ));
}

#[test]
fn a_suspended_grant_cannot_be_resumed_after_its_term() {
    let g = run(grant(), suspend(3, "x"), t("2026-04-01"));
    let err = g.handle(resume("x"), t("2026-09-01")).unwrap_err();
    assert!(matches!(err, GrantError::ResumeAfterTerm { .. }), "{err}");
    assert!(err.is_conflict());
}

#[test]
fn an_expired_grant_cannot_be_suspended_but_can_be_revoked() {
    let g = grant();
    let after = t("2026-09-02");
    assert_eq!(g.status(after), GrantStatus::Expired);
    assert!(matches!(
        g.handle(suspend(3, "x"), after),
        Err(GrantError::IllegalTransition {
            from: "expired",
            ..
        })
    ));
    let g = run(g, revoke("清理"), after);
    assert_eq!(g.status(after), GrantStatus::Revoked);
}

#[test]
fn every_move_needs_a_reason() {
    let g = grant();
    for cmd in [suspend(3, "  "), revoke(""), suspend(3, &"长".repeat(1001))] {
        let err = g.handle(cmd, t("2026-04-01")).unwrap_err();
        assert_eq!(err.path(), "reason");
    }
}

#[test]
fn a_grant_dies_with_its_merchant_or_operator_and_lives_only_within_its_term() {
    let g = grant();
    let inside = t("2026-05-01");
    assert!(g.is_live(inside, true, true));
    assert!(!g.is_live(inside, false, true));
    assert!(!g.is_live(inside, true, false));
    assert!(!g.is_live(t("2026-02-28"), true, true), "before the term");
    assert!(
        !g.is_live(t("2026-09-01"), true, true),
        "the end is exclusive"
    );
    let suspended = run(g, suspend(3, "x"), inside);
    assert!(!suspended.is_live(inside, true, true));
}

fn command(kind: u8) -> GrantCommand {
    match kind % 3 {
        0 => suspend(3, "检查"),
        1 => resume("恢复"),
        _ => revoke("撤销"),
    }
}

proptest! {
    /// Whatever sequence of moves is asked, at whatever times: a revoked grant stays revoked, only
    /// accepted moves enter the history, and nothing is live outside the term or once revoked.
    #[test]
    fn any_sequence_of_moves_keeps_the_invariants(
        moves in proptest::collection::vec((any::<u8>(), 0i64..400), 0..20)
    ) {
        let mut g = grant();
        let mut at = now();
        let mut accepted = 0;
        let mut revoked = false;
        for (kind, days) in moves {
            at = at.plus_seconds(days * 3_600);
            match g.handle(command(kind), at) {
                Ok(event) => {
                    prop_assert!(!revoked);
                    g = g.apply(&event);
                    accepted += 1;
                    revoked |= matches!(event, GrantEvent::Revoked { .. });
                }
                Err(err) => prop_assert!(err.is_conflict(), "{err}"),
            }
            prop_assert_eq!(g.history().len(), accepted);
            prop_assert_eq!(g.status(at) == GrantStatus::Revoked, revoked);
            if revoked || at >= g.term().to {
                prop_assert!(!g.is_live(at, true, true));
            }
        }
    }
}
