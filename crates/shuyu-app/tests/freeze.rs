//! Freezes (SBX-9) on the demo city: who may freeze and unfreeze what, a second freeze is a
//! conflict, each change is on the audit chain with its event, refusals and bad input leave the
//! state as it was, a freeze (and a grant's suspension) cancels the running queries it stops, and
//! `grant_liveness` names each reason a grant may not run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_app::{AppError, Ctx, DevMode, Env, FreezeTarget, NewOrg, QueryRequest, QueryScope};
use shuyu_audit::Outcome;
use shuyu_core::{CreditCode, OrgId, RequestId, ResourceId};
use shuyu_grant::Grant;
use shuyu_policy::Action;
use shuyu_store::{AuditFilter, AuditRow};
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};
use shuyu_testkit::demo::person_ctx;

async fn ctx(t: &TestApp, username: &str) -> Ctx {
    let person = t
        .app
        .store()
        .person_by_username(username)
        .await
        .unwrap()
        .unwrap();
    person_ctx(&t.app, &person)
}

fn system(t: &TestApp) -> Ctx {
    Ctx::system(RequestId::mint(t.app.now(), [9; 10]))
}

/// The demo grant (merchant 示范数据科技有限公司, run by the demo operator).
async fn demo_grant(t: &TestApp) -> Grant {
    t.app.store().grants().await.unwrap().remove(0)
}

async fn events(t: &TestApp, action: &str) -> Vec<AuditRow> {
    t.app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some(action.into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap()
}

async fn ok_events(t: &TestApp, action: &str) -> usize {
    events(t, action)
        .await
        .iter()
        .filter(|e| e.draft.outcome == Outcome::Ok)
        .count()
}

fn code(err: &AppError) -> &'static str {
    match err {
        AppError::Forbidden(denial) => denial.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn social_resource(t: &TestApp) -> ResourceId {
    resource_titled(&t.app, DemoDataset::SocialInsurance.title())
        .await
        .unwrap()
}

/// A second merchant, whose grants the demo operator does not run.
async fn other_merchant(t: &TestApp) -> OrgId {
    t.app
        .create_org(
            &system(t),
            NewOrg {
                name: "另一数据商有限公司".into(),
                org_type: "merchant".into(),
                credit_code: CreditCode::complete("91640500MA0000099")
                    .unwrap()
                    .to_string(),
            },
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn the_authority_freezes_and_unfreezes_a_merchant_each_with_its_event() {
    for t in TestApp::all().await {
        let authority = ctx(&t, "authority").await;
        let merchant = demo_grant(&t).await.merchant();
        let target = FreezeTarget::Merchant(merchant);

        let view = t
            .app
            .freeze(&authority, target, "  逾期未整改  ")
            .await
            .unwrap();
        assert_eq!(view.target, target);
        assert_eq!(view.reason, "逾期未整改", "the reason is trimmed");
        assert!(view.lifted.is_none());
        let stored = t.app.store().active_freeze(target).await.unwrap().unwrap();
        assert_eq!(stored.reason, "逾期未整改");
        let frozen = events(&t, "org.freeze").await;
        assert_eq!(frozen.len(), 1, "{}", t.db.label);
        assert_eq!(frozen[0].draft.outcome, Outcome::Ok);
        assert_eq!(frozen[0].draft.object_id, merchant.to_string());
        assert!(
            !frozen[0].draft.detail.contains("逾期"),
            "the reason is digested, not written out"
        );

        // A second freeze is a conflict that says what to do, and changes nothing.
        let err = t
            .app
            .freeze(&authority, target, "再次冻结")
            .await
            .unwrap_err();
        match &err {
            AppError::Conflict(message) => assert!(message.contains("frozen already"), "{message}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(t.app.store().freeze_history(target).await.unwrap().len(), 1);
        assert_eq!(ok_events(&t, "org.freeze").await, 1);

        let lifted = t.app.unfreeze(&authority, target, "已整改").await.unwrap();
        assert_eq!(lifted.lifted.as_ref().unwrap().reason, "已整改");
        assert_eq!(t.app.store().active_freeze(target).await.unwrap(), None);
        assert_eq!(ok_events(&t, "org.unfreeze").await, 1);

        // Unfreezing what is not frozen is a conflict; freezing again works.
        let err = t
            .app
            .unfreeze(&authority, target, "再次解冻")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AppError::Conflict(m) if m.contains("not frozen")),
            "{err:?}"
        );
        t.app.freeze(&authority, target, "再次冻结").await.unwrap();
        assert_eq!(t.app.store().freeze_history(target).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn who_may_freeze_what() {
    let t = TestApp::sqlite().await;
    let authority = ctx(&t, "authority").await;
    let operator = ctx(&t, "operator").await;
    let grant = demo_grant(&t).await;
    let ours = FreezeTarget::Merchant(grant.merchant());
    let theirs = FreezeTarget::Merchant(other_merchant(&t).await);
    let operator_org = FreezeTarget::Operator(grant.operator());
    let supply = FreezeTarget::ResourceSupply(social_resource(&t).await);

    // Nobody but the authority and the serving operator freezes; refusals are audited.
    for username in [
        "merchant",
        "supervisor",
        "source2",
        "admin",
        "agency",
        "consumer",
    ] {
        let person = ctx(&t, username).await;
        for target in [ours, operator_org, supply] {
            let err = t.app.freeze(&person, target, "理由").await.unwrap_err();
            assert_eq!(code(&err), "forbidden", "{username} {target}");
        }
    }
    assert!(
        events(&t, "org.freeze")
            .await
            .iter()
            .all(|e| e.draft.outcome == Outcome::Denied)
    );
    assert!(t.app.store().active_freezes().await.unwrap().is_empty());
    // The command line does not freeze either.
    assert_eq!(
        code(&t.app.freeze(&system(&t), ours, "理由").await.unwrap_err()),
        "forbidden"
    );

    // The operator freezes the merchant whose grant it runs, not another, not itself, not a supply.
    for target in [theirs, operator_org, supply] {
        let err = t.app.freeze(&operator, target, "理由").await.unwrap_err();
        assert_eq!(code(&err), "forbidden", "{target}");
    }
    t.app.freeze(&operator, ours, "商户违规").await.unwrap();
    // It lifts its own freeze, but not one the authority set.
    t.app.unfreeze(&operator, ours, "已核实").await.unwrap();
    t.app.freeze(&authority, ours, "监管冻结").await.unwrap();
    let err = t.app.unfreeze(&operator, ours, "解冻").await.unwrap_err();
    assert_eq!(code(&err), "forbidden");
    assert!(t.app.store().active_freeze(ours).await.unwrap().is_some());

    // The authority freezes the rest.
    for target in [theirs, operator_org, supply] {
        t.app.freeze(&authority, target, "监管冻结").await.unwrap();
    }
    assert_eq!(t.app.store().active_freezes().await.unwrap().len(), 4);
    assert_eq!(ok_events(&t, "resource.supply_freeze").await, 1);
    t.app
        .unfreeze(&authority, supply, "恢复供给")
        .await
        .unwrap();
    assert_eq!(ok_events(&t, "resource.supply_unfreeze").await, 1);
}

#[tokio::test]
async fn a_refused_or_bad_request_leaves_everything_as_it_was() {
    let t = TestApp::sqlite().await;
    let authority = ctx(&t, "authority").await;
    let merchant = ctx(&t, "merchant").await;
    let grant = demo_grant(&t).await;
    let target = FreezeTarget::Merchant(grant.merchant());
    let head = t.app.store().audit_head().await.unwrap();

    for reason in ["", "   ", &"长".repeat(1001)] {
        let err = t.app.freeze(&authority, target, reason).await.unwrap_err();
        assert!(
            matches!(
                &err,
                AppError::Invalid {
                    field: "reason",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(t.app.store().active_freeze(target).await.unwrap(), None);
    assert_eq!(
        t.app.store().audit_head().await.unwrap(),
        head,
        "nothing was written"
    );

    // A refusal writes its denied event and nothing else.
    t.app.freeze(&merchant, target, "理由").await.unwrap_err();
    assert_eq!(t.app.store().active_freeze(target).await.unwrap(), None);
    assert_eq!(t.app.store().audit_head().await.unwrap().seq, head.seq + 1);

    // Unknown or unfreezable targets name the problem.
    let unknown = FreezeTarget::Operator(OrgId::mint(t.app.now(), [0x77; 10]));
    assert!(matches!(
        t.app.freeze(&authority, unknown, "理由").await.unwrap_err(),
        AppError::NotFound {
            kind: "organisation"
        }
    ));
    let operator_as_merchant = FreezeTarget::Merchant(grant.operator());
    assert!(matches!(
        t.app
            .freeze(&authority, operator_as_merchant, "理由")
            .await
            .unwrap_err(),
        AppError::Invalid {
            field: "target",
            ..
        }
    ));
    let authority_org = t
        .app
        .store()
        .person_by_username("authority")
        .await
        .unwrap()
        .unwrap()
        .org;
    assert!(matches!(
        t.app
            .org_freeze_target(&authority, authority_org)
            .await
            .unwrap_err(),
        AppError::Invalid { field: "id", .. }
    ));
    // Someone who may not read the organisation does not learn its type; the public is refused.
    assert!(matches!(
        t.app
            .org_freeze_target(&merchant, authority_org)
            .await
            .unwrap_err(),
        AppError::NotFound {
            kind: "organisation"
        }
    ));
    let anonymous = Ctx {
        principal: shuyu_policy::Principal::Anonymous,
        request_id: RequestId::mint(t.app.now(), [1; 10]),
        source: "test".into(),
    };
    assert_eq!(
        code(
            &t.app
                .org_freeze_target(&anonymous, grant.merchant())
                .await
                .unwrap_err()
        ),
        "not_signed_in"
    );
    assert_eq!(
        t.app
            .org_freeze_target(&authority, grant.operator())
            .await
            .unwrap(),
        FreezeTarget::Operator(grant.operator())
    );
    assert_eq!(t.app.store().active_freezes().await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_freeze_cancels_the_running_queries_it_stops() {
    let t = TestApp::sqlite().await;
    let authority = ctx(&t, "authority").await;
    let grant = demo_grant(&t).await;
    let scope = QueryScope::of_grant(&grant);
    let inflight = t.app.inflight();
    let unrelated = inflight.register(QueryScope {
        grant: shuyu_core::GrantId::mint(t.app.now(), [0x42; 10]),
        merchant: OrgId::mint(t.app.now(), [0x43; 10]),
        operator: OrgId::mint(t.app.now(), [0x44; 10]),
        resources: vec![ResourceId::mint(t.app.now(), [0x45; 10])],
    });

    let supply = FreezeTarget::ResourceSupply(social_resource(&t).await);
    let query = inflight.register(scope.clone());
    t.app
        .freeze(&authority, supply, "数据源异常")
        .await
        .unwrap();
    assert!(
        query.token().is_cancelled(),
        "a supply freeze stops queries over the resource"
    );
    drop(query);
    t.app.unfreeze(&authority, supply, "已恢复").await.unwrap();

    let query = inflight.register(scope.clone());
    let operator = FreezeTarget::Operator(grant.operator());
    t.app
        .freeze(&authority, operator, "运营机构违规")
        .await
        .unwrap();
    assert!(
        query.token().is_cancelled(),
        "an operator freeze stops its grants' queries"
    );
    drop(query);
    t.app
        .unfreeze(&authority, operator, "已整改")
        .await
        .unwrap();

    let query = inflight.register(scope.clone());
    t.app
        .freeze(
            &authority,
            FreezeTarget::Merchant(grant.merchant()),
            "商户违规",
        )
        .await
        .unwrap();
    assert!(
        query.token().is_cancelled(),
        "a merchant freeze stops its workspaces' queries"
    );
    drop(query);

    // A refused freeze cancels nothing.
    let query = inflight.register(scope.clone());
    let merchant = ctx(&t, "merchant").await;
    t.app.freeze(&merchant, operator, "理由").await.unwrap_err();
    assert!(!query.token().is_cancelled());

    // Suspending (or revoking) the grant stops its queries too.
    t.app
        .suspend_grant(&authority, grant.id(), "暂停核查".into())
        .await
        .unwrap();
    assert!(
        query.token().is_cancelled(),
        "a suspension stops the grant's queries"
    );
    assert!(!unrelated.token().is_cancelled());
    drop(query);
    t.app
        .resume_grant(&authority, grant.id(), "核查完毕".into())
        .await
        .unwrap();
    let query = inflight.register(scope);
    t.app
        .revoke_grant(&authority, grant.id(), "撤销".into())
        .await
        .unwrap();
    assert!(
        query.token().is_cancelled(),
        "a revocation stops the grant's queries"
    );
    drop(query);
    assert!(!unrelated.token().is_cancelled());
    drop(unrelated);
    assert!(inflight.is_empty());
}

#[tokio::test]
async fn grant_liveness_names_each_reason_a_grant_may_not_run() {
    let t = TestApp::sqlite().await;
    let authority = ctx(&t, "authority").await;
    let grant = demo_grant(&t).await;
    let reload = || async { t.app.store().grant(grant.id()).await.unwrap().unwrap() };
    t.app
        .grant_liveness(&grant, Action::WorkspaceQuery)
        .await
        .unwrap();

    let cases = [
        (FreezeTarget::Merchant(grant.merchant()), "merchant_frozen"),
        (FreezeTarget::Operator(grant.operator()), "operator_frozen"),
        (
            FreezeTarget::ResourceSupply(grant.resources()[1].resource),
            "supply_frozen",
        ),
    ];
    for (target, expected) in cases {
        t.app.freeze(&authority, target, "冻结").await.unwrap();
        let err = t
            .app
            .grant_liveness(&grant, Action::WorkspaceQuery)
            .await
            .unwrap_err();
        assert_eq!(code(&err), expected);
        assert!(err.to_string().contains("lifted"), "{err}");
        t.app.unfreeze(&authority, target, "解冻").await.unwrap();
        t.app
            .grant_liveness(&grant, Action::WorkspaceQuery)
            .await
            .unwrap();
    }
    // A supply freeze of a resource the grant does not name does not stop it.
    let other = resource_titled(&t.app, DemoDataset::EnterpriseRegistry.title())
        .await
        .unwrap();
    assert!(!grant.resources().iter().any(|r| r.resource == other));
    t.app
        .freeze(&authority, FreezeTarget::ResourceSupply(other), "冻结")
        .await
        .unwrap();
    t.app
        .grant_liveness(&grant, Action::WorkspaceQuery)
        .await
        .unwrap();

    t.app
        .suspend_grant(&authority, grant.id(), "暂停".into())
        .await
        .unwrap();
    assert_eq!(
        code(
            &t.app
                .grant_liveness(&reload().await, Action::WorkspaceQuery)
                .await
                .unwrap_err()
        ),
        "grant_suspended"
    );
    t.app
        .resume_grant(&authority, grant.id(), "恢复".into())
        .await
        .unwrap();
    t.app
        .grant_liveness(&reload().await, Action::WorkspaceQuery)
        .await
        .unwrap();

    // The term is over: expired, even without any freeze.
    let end = grant.term().to;
    t.clock.set(end);
    assert_eq!(
        code(
            &t.app
                .grant_liveness(&reload().await, Action::WorkspaceQuery)
                .await
                .unwrap_err()
        ),
        "grant_expired"
    );
    t.clock.set(end.plus_seconds(-1));
    t.app
        .grant_liveness(&reload().await, Action::WorkspaceQuery)
        .await
        .unwrap();

    t.app
        .revoke_grant(&authority, grant.id(), "撤销".into())
        .await
        .unwrap();
    assert_eq!(
        code(
            &t.app
                .grant_liveness(&reload().await, Action::WorkspaceQuery)
                .await
                .unwrap_err()
        ),
        "grant_revoked"
    );
}

/// The action a freeze refuses is the one attempted, in the answer and on the chain.
#[tokio::test]
async fn a_frozen_grant_refuses_each_action_under_its_own_name() {
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 100, |_, _| {})
        .await
        .unwrap();
    let authority = ctx(&t, "authority").await;
    let analyst = ctx(&t, "merchant").await;
    let grant = demo_grant(&t).await;
    let workspace = grant.workspace();
    t.app
        .freeze(&authority, FreezeTarget::Merchant(grant.merchant()), "冻结")
        .await
        .unwrap();

    let err = t
        .app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 10)
        .await
        .unwrap_err();
    let AppError::Forbidden(denial) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(
        (denial.code, denial.action),
        ("merchant_frozen", "workspace.prepare")
    );
    let prepares = events(&t, "workspace.prepare").await;
    assert_eq!(prepares.len(), 1, "the refusal is on the chain");
    assert_eq!(prepares[0].draft.outcome, Outcome::Denied);
    assert!(prepares[0].draft.detail.contains("merchant_frozen"));
    assert!(events(&t, "workspace.query").await.is_empty());

    let err = t
        .app
        .run_query(
            &analyst,
            workspace,
            QueryRequest {
                env: Env::Dev,
                sql: "SELECT COUNT(*) FROM social_insurance".into(),
                epsilon: None,
                bounds: Default::default(),
                max_groups_per_unit: None,
                max_rows_per_unit: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Query { refused: true, .. }),
        "{err:?}"
    );
    let queries = events(&t, "workspace.query").await;
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].draft.outcome, Outcome::Denied);
    assert_eq!(events(&t, "workspace.prepare").await.len(), 1);
}

#[tokio::test]
async fn each_organisation_reads_the_freezes_that_concern_it() {
    let t = TestApp::sqlite().await;
    let authority = ctx(&t, "authority").await;
    let grant = demo_grant(&t).await;
    let merchant = FreezeTarget::Merchant(grant.merchant());
    let theirs = FreezeTarget::Merchant(other_merchant(&t).await);
    let supply = FreezeTarget::ResourceSupply(social_resource(&t).await);
    for target in [merchant, theirs, supply] {
        t.app.freeze(&authority, target, "冻结").await.unwrap();
    }
    let seen = |views: Vec<shuyu_app::FreezeView>| {
        let mut targets: Vec<String> = views.iter().map(|v| v.target.to_string()).collect();
        targets.sort();
        targets
    };
    let sorted = |mut targets: Vec<FreezeTarget>| {
        let mut out: Vec<String> = targets.drain(..).map(|t| t.to_string()).collect();
        out.sort();
        out
    };
    for (username, expected) in [
        ("authority", vec![merchant, theirs, supply]),
        ("supervisor", vec![merchant, theirs, supply]),
        ("operator", vec![merchant]),
        ("merchant", vec![merchant]),
        ("source2", vec![supply]),
        ("consumer", vec![]),
    ] {
        let person = ctx(&t, username).await;
        assert_eq!(
            seen(t.app.freezes(&person).await.unwrap()),
            sorted(expected),
            "{username}"
        );
    }
    let anonymous = Ctx {
        principal: shuyu_policy::Principal::Anonymous,
        request_id: RequestId::mint(t.app.now(), [1; 10]),
        source: "test".into(),
    };
    assert!(matches!(
        t.app.freezes(&anonymous).await.unwrap_err(),
        AppError::Forbidden(_)
    ));

    // The freeze state a page shows: the authority may lift, the operator may not lift the
    // authority's freeze but sees it.
    let state = t.app.freeze_state(&authority, merchant).await.unwrap();
    assert!(state.frozen && state.may_unfreeze && !state.may_freeze);
    let state = t
        .app
        .freeze_state(&ctx(&t, "operator").await, merchant)
        .await
        .unwrap();
    assert!(state.frozen && !state.may_unfreeze && !state.may_freeze);
    assert!(state.active.is_some());
    let operator_target = FreezeTarget::Operator(grant.operator());
    let state = t
        .app
        .freeze_state(&authority, operator_target)
        .await
        .unwrap();
    assert!(!state.frozen && state.may_freeze && !state.may_unfreeze);
    let state = t
        .app
        .freeze_state(&ctx(&t, "consumer").await, merchant)
        .await
        .unwrap();
    assert_eq!(
        state,
        shuyu_app::FreezeState {
            active: None,
            frozen: false,
            may_freeze: false,
            may_unfreeze: false
        }
    );
}
