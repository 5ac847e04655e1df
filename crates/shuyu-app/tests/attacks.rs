//! The attack suite of the secure domain, through the app's one query path (`App::run_query`), on
//! the demo city: each attack is refused, or its answer is protected (noise, suppression, the
//! recorded answer of a repeat). Nothing here may see a real row.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_app::{
    AppError, Ctx, DevMode, Env, FieldRequest, NewGrant, QueryRequest, QueryView, ResourceRequest,
    Term,
};
use shuyu_core::{RequestId, WorkspaceId};
use shuyu_profile::UsageMethod;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::person_ctx;

async fn ctx(t: &TestApp, username: &str) -> Ctx {
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, username).await.unwrap();
    person_ctx(&t.app, &person)
}

fn request(env: Env, sql: &str) -> QueryRequest {
    QueryRequest {
        env,
        sql: sql.into(),
        epsilon: None,
        bounds: Default::default(),
        max_groups_per_unit: None,
        max_rows_per_unit: None,
    }
}

/// The demo city with data, its workspace's development tables, and a second workspace of the same
/// merchant granting only two fields of the social insurance contributions (table `si`).
async fn world() -> (TestApp, Ctx, WorkspaceId, WorkspaceId) {
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 2_000, |_, _| {})
        .await
        .unwrap();
    let analyst = ctx(&t, "merchant").await;
    let demo = t.app.grants(&analyst).await.unwrap()[0].grant.clone();
    let social = &demo.resources()[0];
    let system = Ctx::system(RequestId::mint(t.app.now(), [2; 10]));
    let now = t.app.now();
    let narrow = t
        .app
        .seed_grant(
            &system,
            NewGrant {
                merchant: demo.merchant(),
                operator: demo.operator(),
                scenario: demo.scenario().clone(),
                resources: vec![ResourceRequest {
                    resource: social.resource,
                    version: social.version,
                    table: "si".into(),
                    fields: vec![
                        FieldRequest::default_handling("insurance_type"),
                        FieldRequest::default_handling("personal_amount"),
                    ],
                }],
                usage: demo.usage(),
                term: Term {
                    from: now,
                    to: now.plus_seconds(30 * 86_400),
                },
                min_group_size: None,
                budget: None,
            },
        )
        .await
        .unwrap();
    for workspace in [demo.workspace(), narrow.grant.workspace()] {
        t.app
            .prepare_dev(&analyst, workspace, DevMode::Sample, 200)
            .await
            .unwrap();
    }
    (t, analyst, demo.workspace(), narrow.grant.workspace())
}

fn refusal(result: Result<QueryView, AppError>) -> String {
    match result {
        Err(AppError::Query { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Runs `sql` in development (whatever it says), then in production.
async fn attack(
    t: &TestApp,
    analyst: &Ctx,
    workspace: WorkspaceId,
    sql: &str,
) -> Result<QueryView, AppError> {
    let _ = t
        .app
        .run_query(analyst, workspace, request(Env::Dev, sql))
        .await;
    t.app
        .run_query(analyst, workspace, request(Env::Prod, sql))
        .await
}

#[tokio::test]
async fn row_level_output_and_unique_groups_release_nothing() {
    let (t, analyst, workspace, _) = world().await;
    for sql in [
        "SELECT * FROM social_insurance",
        "SELECT insurance_type FROM social_insurance",
        "SELECT insurance_type, personal_amount FROM social_insurance LIMIT 1",
        "SELECT resident_id FROM clinic_visits",
        "SELECT DISTINCT hospital FROM clinic_visits",
        "SELECT (SELECT COUNT(*) FROM clinic_visits) AS n, insurance_type FROM social_insurance",
    ] {
        let reason = refusal(attack(&t, &analyst, workspace, sql).await);
        assert!(!reason.is_empty(), "{sql}");
    }
    // A GROUP BY on a unique identifier: every group has one person, so none is released.
    let grant = t
        .app
        .workspace(&analyst, workspace)
        .await
        .unwrap()
        .grant
        .grant;
    let per_visit = "SELECT visit_id, COUNT(*) AS n FROM clinic_visits GROUP BY visit_id";
    match attack(&t, &analyst, workspace, per_visit).await {
        Ok(view) => {
            assert_eq!(grant.usage(), UsageMethod::DpAggregate);
            assert_eq!(view.result.unwrap().rows.len(), 0, "no single-person group");
        }
        Err(e) => assert!(matches!(e, AppError::Query { refused: true, .. }), "{e:?}"),
    }
}

#[tokio::test]
async fn differencing_and_averaging_gain_nothing() {
    let (t, analyst, workspace, _) = world().await;
    // Excluding one person by their identifier is refused: identifiers are join keys only.
    let reason = refusal(
        attack(
            &t,
            &analyst,
            workspace,
            "SELECT COUNT(*) AS n FROM social_insurance WHERE resident_id <> '110101199001011234'",
        )
        .await,
    );
    assert!(reason.contains("resident_id"), "{reason}");
    // Averaging: the same question asked again, or rewritten, returns the recorded answer and
    // spends nothing.
    let first = attack(
        &t,
        &analyst,
        workspace,
        "SELECT COUNT(*) AS n FROM social_insurance WHERE insurance_type = '工伤保险'",
    )
    .await
    .unwrap();
    let spent = t
        .app
        .workspace_ledger(&analyst, workspace)
        .await
        .unwrap()
        .grant_spent;
    for rewrite in [
        "SELECT COUNT(*) AS n FROM social_insurance WHERE insurance_type = '工伤保险'",
        "select count(*) as total from social_insurance s where '工伤保险' = s.insurance_type",
    ] {
        let again = t
            .app
            .run_query(&analyst, workspace, request(Env::Prod, rewrite))
            .await
            .unwrap();
        assert_eq!(again.repeat_of, Some(first.id), "{rewrite}");
        assert_eq!(
            again.result.unwrap().rows,
            first.result.clone().unwrap().rows
        );
    }
    let after = t
        .app
        .workspace_ledger(&analyst, workspace)
        .await
        .unwrap()
        .grant_spent;
    assert_eq!(after, spent);
}

#[tokio::test]
async fn ungranted_fields_and_other_tables_cannot_be_reached() {
    let (t, analyst, _, narrow) = world().await;
    for sql in [
        // An ungranted field, directly and through every construct.
        "SELECT COUNT(name) FROM si",
        "SELECT COUNT(*) FROM si WHERE name = 'x'",
        "WITH t AS (SELECT name FROM si) SELECT COUNT(*) FROM t",
        "SELECT COUNT(*) FROM (SELECT name AS n FROM si) x",
        "SELECT insurance_type FROM si UNION SELECT name FROM si",
        "SELECT COUNT(*) FROM si a JOIN si b ON a.name = b.name",
        // Another grant's table of the same merchant.
        "SELECT COUNT(*) FROM social_insurance",
        "SELECT COUNT(*) FROM si WHERE EXISTS (SELECT 1 FROM clinic_visits)",
        // Window functions, the catalog, files.
        "SELECT ROW_NUMBER() OVER () FROM si",
        "SELECT COUNT(*) FROM information_schema.columns",
        "SELECT * FROM read_parquet('datasets')",
        "COPY si TO '/tmp/x.parquet'",
        "CREATE VIEW v AS SELECT * FROM si",
    ] {
        for env in [Env::Dev, Env::Prod] {
            let reason = refusal(t.app.run_query(&analyst, narrow, request(env, sql)).await);
            assert!(!reason.is_empty(), "{sql}");
        }
    }
}

#[tokio::test]
async fn a_failed_cast_does_not_echo_a_value() {
    let (t, analyst, workspace, _) = world().await;
    let result = t
        .app
        .run_query(
            &analyst,
            workspace,
            request(
                Env::Dev,
                "SELECT CAST(insurance_type AS INT) AS n FROM social_insurance",
            ),
        )
        .await;
    let reason = refusal(result);
    assert!(!reason.contains("保险"), "{reason}");
}

#[tokio::test]
async fn a_dp_join_of_persons_with_enterprises_is_refused() {
    let (t, analyst, workspace, _) = world().await;
    let demo = t
        .app
        .workspace(&analyst, workspace)
        .await
        .unwrap()
        .grant
        .grant;
    if demo.usage() != UsageMethod::DpAggregate {
        return;
    }
    let system = Ctx::system(RequestId::mint(t.app.now(), [3; 10]));
    let registry = shuyu_testkit::demo::data::resource_titled(
        &t.app,
        shuyu_testkit::demo::data::DemoDataset::EnterpriseRegistry.title(),
    )
    .await
    .unwrap();
    let source = ctx(&t, "source").await;
    let registry = t.app.resource(&source, registry).await.unwrap().resource;
    let version = registry.current().unwrap();
    let social = &demo.resources()[0];
    let now = t.app.now();
    let mixed = t
        .app
        .seed_grant(
            &system,
            NewGrant {
                merchant: demo.merchant(),
                operator: demo.operator(),
                scenario: demo.scenario().clone(),
                resources: vec![
                    ResourceRequest {
                        resource: social.resource,
                        version: social.version,
                        table: "si".into(),
                        fields: vec![FieldRequest::default_handling("resident_id")],
                    },
                    ResourceRequest {
                        resource: registry.id(),
                        version: version.id(),
                        table: "firms".into(),
                        fields: vec![FieldRequest::default_handling("credit_code")],
                    },
                ],
                usage: UsageMethod::DpAggregate,
                term: Term {
                    from: now,
                    to: now.plus_seconds(30 * 86_400),
                },
                min_group_size: None,
                budget: None,
            },
        )
        .await
        .unwrap()
        .grant
        .workspace();
    t.app
        .prepare_dev(&analyst, mixed, DevMode::Simulated, 100)
        .await
        .unwrap();
    let sql = "SELECT COUNT(*) AS n FROM si JOIN firms ON si.resident_id = firms.credit_code";
    let reason = refusal(attack(&t, &analyst, mixed, sql).await);
    assert!(reason.contains("different kinds"), "{reason}");
    // Nothing was charged for it.
    let ledger = t.app.workspace_ledger(&analyst, mixed).await.unwrap();
    assert!(ledger.spends.is_empty());
}
