//! Contribution bounds of differentially private queries, chosen per query within the profile's
//! `[sandbox] dp_contribution`: a larger `L` costs the same ε and states a larger error, a repeat
//! under other bounds is another release (charged), and out-of-range values are refused before
//! anything is stored, naming the field and the cap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_app::{AppError, Contribution, Ctx, DevMode, DpEstimate, Env, QueryRequest, QueryView};
use shuyu_core::{RequestId, WorkspaceId};
use shuyu_profile::UsageMethod;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::person_ctx;

const GROUPED: &str = "SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type ORDER BY insurance_type";

async fn setup(t: &TestApp) -> (Ctx, WorkspaceId) {
    shuyu_testkit::demo::data::seed_datasets(&t.app, 400, |_, _| {})
        .await
        .unwrap();
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, "merchant").await.unwrap();
    let analyst = person_ctx(&t.app, &person);
    let grants = t.app.grants(&analyst).await.unwrap();
    let grant = &grants[0].grant;
    assert_eq!(
        grant.usage(),
        UsageMethod::DpAggregate,
        "the demo grant is DP"
    );
    let workspace = grant.workspace();
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 50)
        .await
        .unwrap();
    (analyst, workspace)
}

fn request(env: Env, sql: &str, l: Option<u32>, c: Option<u32>) -> QueryRequest {
    QueryRequest {
        env,
        sql: sql.into(),
        epsilon: None,
        bounds: Default::default(),
        max_groups_per_unit: l,
        max_rows_per_unit: c,
    }
}

async fn run(t: &TestApp, who: &Ctx, ws: WorkspaceId, r: QueryRequest) -> QueryView {
    t.app.run_query(who, ws, r).await.unwrap()
}

fn estimate(view: &QueryView) -> DpEstimate {
    view.production.clone().unwrap().estimate.unwrap()
}

#[tokio::test]
async fn a_larger_l_costs_the_same_epsilon_but_states_a_larger_error() {
    let t = TestApp::sqlite().await;
    let (analyst, ws) = setup(&t).await;
    let one = estimate(&run(&t, &analyst, ws, request(Env::Dev, GROUPED, None, None)).await);
    let two = estimate(&run(&t, &analyst, ws, request(Env::Dev, GROUPED, Some(2), None)).await);
    assert_eq!(one.cost, two.cost, "L changes the noise, not the cost");
    assert_eq!(one.mechanism, "laplace", "grouped values are pure ε");
    assert_eq!(
        one.contribution,
        Some(Contribution {
            groups_per_unit: 1,
            rows_per_unit: 1
        })
    );
    assert_eq!(two.contribution.unwrap().groups_per_unit, 2);
    // The column is named as the query names it, and its error doubles with L.
    assert_eq!(one.columns[0].column, "n");
    let ratio = two.columns[0].ci95 / one.columns[0].ci95;
    assert!((1.8..2.2).contains(&ratio), "ratio {ratio}");
    // Partition selection counts units, each in up to L groups: a higher threshold.
    assert!(two.threshold.unwrap() > one.threshold.unwrap());
    // C scales the count's error too.
    let three = estimate(&run(&t, &analyst, ws, request(Env::Dev, GROUPED, None, Some(3))).await);
    let ratio = three.columns[0].ci95 / one.columns[0].ci95;
    assert!((2.7..3.3).contains(&ratio), "ratio {ratio}");
}

#[tokio::test]
async fn a_repeat_with_other_contribution_bounds_is_charged() {
    for t in TestApp::all().await {
        let (analyst, ws) = setup(&t).await;
        run(&t, &analyst, ws, request(Env::Dev, GROUPED, None, None)).await;
        let first = run(&t, &analyst, ws, request(Env::Prod, GROUPED, None, None)).await;
        assert!(first.budget_spent.epsilon > 0.0);
        assert_eq!(first.contribution.unwrap().groups_per_unit, 1);
        // The same bounds written out: the same release, answered from the record.
        let again = run(
            &t,
            &analyst,
            ws,
            request(Env::Prod, GROUPED, Some(1), Some(1)),
        )
        .await;
        assert_eq!(again.repeat_of, Some(first.id));
        assert_eq!(again.budget_spent.epsilon, 0.0);
        // Another L is another release: charged, not served as a repeat.
        let other = run(&t, &analyst, ws, request(Env::Prod, GROUPED, Some(2), None)).await;
        assert_eq!(other.repeat_of, None);
        assert_eq!(other.budget_spent, first.budget_spent);
        assert_ne!(other.fingerprint, None);
        let ledger = t.app.workspace_ledger(&analyst, ws).await.unwrap();
        assert_eq!(ledger.spends.len(), 2);
        assert!(
            (ledger.grant_spent.epsilon - 2.0 * first.budget_spent.epsilon).abs() < 1e-9,
            "{ledger:?}"
        );
        // Stored with the query, and read back.
        let read = t.app.workspace_query(&analyst, ws, other.id).await.unwrap();
        assert_eq!(
            read.contribution,
            Some(Contribution {
                groups_per_unit: 2,
                rows_per_unit: 1
            })
        );
        // …and another C too.
        let c = run(
            &t,
            &analyst,
            ws,
            request(Env::Prod, GROUPED, Some(2), Some(2)),
        )
        .await;
        assert_eq!(c.repeat_of, None);
        assert!(c.budget_spent.epsilon > 0.0);
    }
}

#[tokio::test]
async fn contribution_bounds_beyond_the_cap_are_refused_naming_the_field_and_cap() {
    let t = TestApp::sqlite().await;
    let (analyst, ws) = setup(&t).await;
    let before = t.app.workspace_queries(&analyst, ws).await.unwrap().len();
    let head = t.app.store().audit_head().await.unwrap();
    let cases = [
        (Some(11), None, "max_groups_per_unit", "1 to 10"),
        (Some(0), None, "max_groups_per_unit", "1 to 10"),
        (None, Some(101), "max_rows_per_unit", "1 to 100"),
    ];
    for (l, c, field, cap) in cases {
        for env in [Env::Dev, Env::Prod] {
            let err = t
                .app
                .run_query(&analyst, ws, request(env, GROUPED, l, c))
                .await
                .unwrap_err();
            match &err {
                AppError::Invalid { field: f, message } => {
                    assert_eq!(*f, field);
                    assert!(message.contains(cap), "{message}");
                    assert!(message.contains("dp_contribution"), "{message}");
                }
                other => panic!("expected bad input, got {other:?}"),
            }
        }
    }
    // Nothing was stored or audited.
    assert_eq!(
        t.app.workspace_queries(&analyst, ws).await.unwrap().len(),
        before
    );
    assert_eq!(t.app.store().audit_head().await.unwrap(), head);
}
