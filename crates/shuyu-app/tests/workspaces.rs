//! Workspaces end to end through the app, on the demo city: the analyst prepares development
//! tables, develops a query on them, runs it in production under the grant's output control, and
//! the stored query, its audit event, the ledger and the metering agree; refusals are stored and
//! audited too; other organisations cannot reach the workspace.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_app::{AppError, Ctx, DevMode, Env, QueryRequest, QueryView};
use shuyu_core::{RequestId, WorkspaceId};
use shuyu_profile::UsageMethod;
use shuyu_store::AuditFilter;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::person_ctx;

const GROUPED: &str = "SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type ORDER BY insurance_type";

async fn ctx(t: &TestApp, username: &str) -> Ctx {
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, username).await.unwrap();
    person_ctx(&t.app, &person)
}

async fn setup(t: &TestApp) -> (Ctx, WorkspaceId) {
    shuyu_testkit::demo::data::seed_datasets(&t.app, 400, |_, _| {})
        .await
        .unwrap();
    let analyst = ctx(t, "merchant").await;
    let grants = t.app.grants(&analyst).await.unwrap();
    (analyst, grants[0].grant.workspace())
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

fn refused(result: Result<QueryView, AppError>) -> String {
    match result {
        Err(AppError::Query {
            refused: true,
            reason,
            ..
        }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn query_events(t: &TestApp) -> Vec<shuyu_store::AuditRow> {
    t.app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some("workspace.query".into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn an_analyst_develops_on_desensitized_rows_and_runs_the_same_plan_in_production() {
    for t in TestApp::all().await {
        let (analyst, workspace) = setup(&t).await;
        let view = t.app.workspace(&analyst, workspace).await.unwrap();
        let names: Vec<&str> = view.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["social_insurance", "clinic_visits"]);
        assert!(
            view.tables
                .iter()
                .all(|t| t.dataset.is_some() && t.dev.is_none())
        );

        // Nothing runs in development before its tables exist.
        let reason = refused(
            t.app
                .run_query(&analyst, workspace, request(Env::Dev, GROUPED))
                .await,
        );
        assert!(reason.contains("development tables"), "{reason}");

        let view = t
            .app
            .prepare_dev(&analyst, workspace, DevMode::Sample, 50)
            .await
            .unwrap();
        assert!(
            view.tables
                .iter()
                .all(|t| t.dev.as_ref().unwrap().rows == 50)
        );

        // Development rows are visible, desensitized: no resident ID survives (hashed by default).
        let rows = t
            .app
            .run_query(
                &analyst,
                workspace,
                request(Env::Dev, "SELECT resident_id FROM clinic_visits LIMIT 5"),
            )
            .await
            .unwrap();
        let result = rows.result.unwrap();
        assert_eq!(result.rows.len(), 5);
        for row in &result.rows {
            let id = row[0].as_str().unwrap();
            assert!(
                !shuyu_quality::resident_id_valid(id),
                "a development resident ID is desensitized: {id}"
            );
        }
        // …and production refuses that row-level query.
        assert!(!rows.production.unwrap().accepted);

        // Production refuses a plan that never ran in development.
        let reason = refused(
            t.app
                .run_query(&analyst, workspace, request(Env::Prod, GROUPED))
                .await,
        );
        assert!(reason.contains("development"), "{reason}");

        let dev = t
            .app
            .run_query(&analyst, workspace, request(Env::Dev, GROUPED))
            .await
            .unwrap();
        let production = dev.production.clone().unwrap();
        assert!(production.accepted, "{production:?}");
        // The verdict is stored with the development run.
        let read = t
            .app
            .workspace_query(&analyst, workspace, dev.id)
            .await
            .unwrap();
        assert_eq!(read.production, Some(production.clone()));
        assert!(dev.fingerprint.is_some());

        // The same plan, written differently (alias, spacing), runs in production.
        let prod = t
            .app
            .run_query(
                &analyst,
                workspace,
                request(
                    Env::Prod,
                    "select s.insurance_type, count(*) as n from social_insurance s group by s.insurance_type order by s.insurance_type",
                ),
            )
            .await
            .unwrap();
        assert_eq!(prod.dev_query, Some(dev.id));
        assert_eq!(prod.outcome, "succeeded");
        let result = prod.result.clone().unwrap();
        assert_eq!(result.columns[0].name, "insurance_type");
        let sm3 = prod.result_sm3.clone().unwrap();
        assert_eq!(sm3.len(), 64);

        let grant = &view.grant.grant;
        let ledger = t.app.workspace_ledger(&analyst, workspace).await.unwrap();
        match grant.usage() {
            UsageMethod::DpAggregate => {
                assert!(prod.budget_spent.epsilon > 0.0);
                assert_eq!(ledger.spends.len(), 1);
                assert!((ledger.grant_spent.epsilon - prod.budget_spent.epsilon).abs() < 1e-9);
                // A repeat is answered from the record and spends nothing.
                let again = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Prod, GROUPED))
                    .await
                    .unwrap();
                assert_eq!(again.repeat_of, Some(prod.id));
                assert_eq!(again.result, prod.result);
                assert_eq!(again.budget_spent.epsilon, 0.0);
                let after = t.app.workspace_ledger(&analyst, workspace).await.unwrap();
                assert_eq!(after.spends.len(), 1);
                // A global mean over a money field: pure ε (no δ), clamped to the grant's bounds.
                let mean = "SELECT COUNT(*) AS n, AVG(personal_amount) AS a FROM social_insurance";
                let dev = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Dev, mean))
                    .await
                    .unwrap();
                let estimate = dev.production.unwrap().estimate.unwrap();
                assert_eq!(estimate.cost.delta, 0.0);
                assert_eq!(estimate.columns.len(), 2);
                let prod = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Prod, mean))
                    .await
                    .unwrap();
                let row = &prod.result.unwrap().rows[0];
                // A decimal mean is its exact decimal text.
                let a: f64 = row[1]
                    .as_f64()
                    .or_else(|| row[1].as_str().and_then(|t| t.parse().ok()))
                    .unwrap();
                assert!(
                    (0.0..=3000.0).contains(&a),
                    "the mean stays within the bounds: {a}"
                );
                assert_eq!(prod.budget_spent.delta, 0.0);
            }
            UsageMethod::Aggregate => {
                assert_eq!(prod.budget_spent.epsilon, 0.0);
                assert!(ledger.spends.is_empty());
            }
        }
        assert!(ledger.totals.queries >= 5);
        assert!(ledger.totals.metering.rows_scanned > 0);

        // Every query, refused or run, is one event on the chain with its result digest.
        let events = query_events(&t).await;
        assert!(events.len() >= 5);
        assert!(events.iter().any(|e| e.draft.detail.contains(&sm3)));
        assert!(
            events
                .iter()
                .any(|e| e.draft.outcome == shuyu_audit::Outcome::Denied)
        );
        let stored = t.app.workspace_queries(&analyst, workspace).await.unwrap();
        assert!(stored.iter().any(|q| q.outcome == "refused"));
    }
}

#[tokio::test]
async fn production_never_returns_rows_whatever_the_query() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Simulated, 100)
        .await
        .unwrap();
    for sql in [
        "SELECT * FROM social_insurance",
        "SELECT resident_id, COUNT(*) FROM social_insurance GROUP BY resident_id",
        "SELECT name FROM social_insurance WHERE insurance_type = 'x'",
        "SELECT COUNT(*) FROM information_schema.tables",
        "SELECT * FROM read_parquet('/etc/passwd')",
    ] {
        // Whatever development says, production refuses: by the column controls, the output
        // control, or because it never accepted the plan in development.
        let _ = t
            .app
            .run_query(&analyst, workspace, request(Env::Dev, sql))
            .await;
        let reason = refused(
            t.app
                .run_query(&analyst, workspace, request(Env::Prod, sql))
                .await,
        );
        assert!(!reason.is_empty(), "{sql}");
    }
}

#[tokio::test]
async fn other_organisations_cannot_reach_a_workspace() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 20)
        .await
        .unwrap();
    let dev = t
        .app
        .run_query(&analyst, workspace, request(Env::Dev, GROUPED))
        .await
        .unwrap();
    for username in ["consumer", "source", "agency"] {
        let other = ctx(&t, username).await;
        assert!(matches!(
            t.app.workspace(&other, workspace).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            t.app.workspace_query(&other, workspace, dev.id).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            t.app
                .run_query(&other, workspace, request(Env::Dev, GROUPED))
                .await,
            Err(AppError::Forbidden(_))
        ));
    }
    // The operator running the grant and the authority read it; neither queries.
    for username in ["operator", "authority"] {
        let overseer = ctx(&t, username).await;
        assert!(t.app.workspace(&overseer, workspace).await.is_ok());
        assert!(matches!(
            t.app
                .run_query(&overseer, workspace, request(Env::Dev, GROUPED))
                .await,
            Err(AppError::Forbidden(_))
        ));
    }
    // An unknown workspace is "not found".
    let unknown = WorkspaceId::mint(t.app.now(), [7; 10]);
    assert!(matches!(
        t.app.workspace(&analyst, unknown).await,
        Err(AppError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_suspended_grant_runs_nothing_and_says_why() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 20)
        .await
        .unwrap();
    let operator = ctx(&t, "operator").await;
    let grant = t
        .app
        .workspace(&analyst, workspace)
        .await
        .unwrap()
        .grant
        .grant;
    t.app
        .suspend_grant(&operator, grant.id(), "audit of the scenario".into())
        .await
        .unwrap();
    let reason = refused(
        t.app
            .run_query(&analyst, workspace, request(Env::Dev, GROUPED))
            .await,
    );
    assert!(reason.contains("suspended"), "{reason}");
}

#[tokio::test]
async fn a_frozen_merchant_or_supply_runs_nothing_until_lifted() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 20)
        .await
        .unwrap();
    let authority = ctx(&t, "authority").await;
    let grant = t
        .app
        .workspace(&analyst, workspace)
        .await
        .unwrap()
        .grant
        .grant;
    let targets = [
        shuyu_app::FreezeTarget::Merchant(grant.merchant()),
        shuyu_app::FreezeTarget::ResourceSupply(grant.resources()[0].resource),
    ];
    for target in targets {
        t.app
            .freeze(&authority, target, "supervision")
            .await
            .unwrap();
        let reason = refused(
            t.app
                .run_query(&analyst, workspace, request(Env::Dev, GROUPED))
                .await,
        );
        assert!(reason.contains("frozen"), "{reason}");
        t.app
            .unfreeze(&authority, target, "rectified")
            .await
            .unwrap();
        t.app
            .run_query(&analyst, workspace, request(Env::Dev, GROUPED))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn desensitization_work_is_metered_per_workspace() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    let before = t.app.workspace_ledger(&analyst, workspace).await.unwrap();
    assert_eq!(before.totals.preparation.preparations, 0);
    let view = t
        .app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 50)
        .await
        .unwrap();
    let real_rows: u64 = view.tables.iter().filter_map(|t| t.rows).sum();
    let tables = view.tables.iter().filter(|t| t.dev.is_some()).count() as u64;
    assert!(
        real_rows > 100 && tables == 2,
        "{real_rows} rows, {tables} tables"
    );
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Simulated, 20)
        .await
        .unwrap();
    // Both preparations add up: every real row read each time, the rows written as asked.
    let totals = t
        .app
        .workspace_ledger(&analyst, workspace)
        .await
        .unwrap()
        .totals
        .preparation;
    assert_eq!(totals.preparations, 2);
    assert_eq!(totals.rows_read, 2 * real_rows);
    assert_eq!(totals.rows_written, tables * (50 + 20));
    assert!(totals.elapsed_ms > 0.0);
    // A refused preparation meters nothing.
    assert!(
        t.app
            .prepare_dev(&analyst, workspace, DevMode::Sample, 0)
            .await
            .is_err()
    );
    let again = t.app.workspace_ledger(&analyst, workspace).await.unwrap();
    assert_eq!(again.totals.preparation.preparations, 2);
}
