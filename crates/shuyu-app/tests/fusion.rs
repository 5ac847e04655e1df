//! Fusion imports (CC18(3), ZW26) end to end through the app, on the demo city: the merchant
//! brings its own member list into its workspace; only the authority approves it; once approved
//! it joins the granted social insurance table in both environments under the same output
//! control; rejecting, withdrawing and revoking remove it; every step is on the audit chain; bad
//! input is refused with a clear message and leaves nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use shuyu_app::{
    AppError, Ctx, DevMode, Env, FusionColumn, FusionCommand, FusionDeclaration, FusionState,
    FusionUnit, FusionView, ImportSource, QueryRequest, QueryView,
};
use shuyu_catalog::{FieldType, FormatKind};
use shuyu_core::{RequestId, WorkspaceId};
use shuyu_profile::{ColumnControl, UsageMethod};
use shuyu_store::AuditFilter;
use shuyu_synth::CsvEncoding;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::DemoDataset;
use shuyu_testkit::demo::person_ctx;

/// Social insurance rows: about one person per 40 rows (months × insurance types).
const ROWS: u64 = 2_000;
/// Members of the small tier: fewer than any minimum group size.
const RARE: usize = 2;

async fn ctx(t: &TestApp, username: &str) -> Ctx {
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, username).await.unwrap();
    person_ctx(&t.app, &person)
}

async fn setup(t: &TestApp) -> (Ctx, WorkspaceId) {
    shuyu_testkit::demo::data::seed_datasets(&t.app, ROWS, |_, _| {})
        .await
        .unwrap();
    let analyst = ctx(t, "merchant").await;
    let grants = t.app.grants(&analyst).await.unwrap();
    (analyst, grants[0].grant.workspace())
}

/// The distinct resident ID numbers of the seeded social insurance rows.
fn insured() -> Vec<String> {
    let csv = DemoDataset::SocialInsurance.csv(ROWS, CsvEncoding::Utf8);
    let text = String::from_utf8(csv).unwrap();
    let ids: BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    ids.into_iter().collect()
}

/// The merchant's member list: every insured person, the first `RARE` in the `rare` tier, the
/// others `gold`; plus a note column it does not expose.
fn members_csv(ids: &[String]) -> Vec<u8> {
    let mut out = String::from("member_id,tier,spend,note\n");
    for (i, id) in ids.iter().enumerate() {
        let tier = if i < RARE { "rare" } else { "gold" };
        out.push_str(&format!("{id},{tier},{}.50,n{i}\n", 100 + i));
    }
    out.into_bytes()
}

fn declaration(table: &str) -> FusionDeclaration {
    let column = |name: &str, field_type, control| FusionColumn {
        name: name.into(),
        field_type,
        control,
    };
    FusionDeclaration {
        table: table.into(),
        legal_basis: "本企业会员数据，经用户授权".into(),
        columns: vec![
            column("member_id", FieldType::String, Some(ColumnControl::JoinKey)),
            column("tier", FieldType::String, Some(ColumnControl::GroupBy)),
            column(
                "spend",
                FieldType::Decimal,
                Some(ColumnControl::AggregateOnly),
            ),
            column("note", FieldType::String, None),
        ],
        unit: Some(FusionUnit {
            column: "member_id".into(),
            format: FormatKind::ResidentId,
        }),
    }
}

fn csv(bytes: Vec<u8>) -> ImportSource {
    ImportSource::Csv(Box::new(std::io::Cursor::new(bytes)))
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

fn object_exists(t: &TestApp, path: &str) -> bool {
    t.data_dir.path().join("objects").join(path).exists()
}

/// Every object under the workspace's fusion folder.
fn fusion_objects(t: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .map(|e| {
                let path = e.unwrap().path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    usize::from(path.to_string_lossy().contains("/fusion/"))
                }
            })
            .sum()
    }
    walk(&t.data_dir.path().join("objects"))
}

async fn events(t: &TestApp, action: &str) -> Vec<shuyu_store::AuditRow> {
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

async fn requested(t: &TestApp, analyst: &Ctx, workspace: WorkspaceId, table: &str) -> FusionView {
    t.app
        .request_fusion(
            analyst,
            workspace,
            declaration(table),
            csv(members_csv(&insured())),
        )
        .await
        .unwrap()
}

const JOINED: &str = "SELECT m.tier, COUNT(*) AS n FROM social_insurance s JOIN members m ON s.resident_id = m.member_id GROUP BY m.tier ORDER BY m.tier";
const JOINED_TOTAL: &str =
    "SELECT COUNT(*) AS n FROM social_insurance s JOIN members m ON s.resident_id = m.member_id";

#[tokio::test]
async fn an_approved_import_joins_the_granted_table_under_the_same_output_control() {
    for t in TestApp::all().await {
        let (analyst, workspace) = setup(&t).await;
        t.app
            .prepare_dev(&analyst, workspace, DevMode::Sample, 50)
            .await
            .unwrap();
        let ids = insured();

        let pending = requested(&t, &analyst, workspace, "members").await;
        assert_eq!(pending.state, FusionState::Pending);
        assert_eq!(pending.rows, ids.len() as u64);
        assert_eq!(pending.dev_rows, ids.len() as u64);
        assert_eq!(pending.legal_basis, "本企业会员数据，经用户授权");
        // The reviewer sees the quality of every column (counts and rates, no values).
        assert_eq!(pending.quality.len(), 4);
        let profiles = serde_json::to_string(&pending.quality).unwrap();
        assert!(!profiles.contains(&ids[0]), "{profiles}");
        let stored = t.app.store().fusion(pending.id).await.unwrap().unwrap();
        assert!(stored.object_path.starts_with(&format!(
            "workspaces/{}/fusion/{}-",
            pending.grant, pending.id
        )));
        assert!(object_exists(&t, &stored.object_path));
        assert!(object_exists(&t, &stored.dev_object_path));
        // Encrypted under the workspace key: no member's ID is in the object's bytes.
        let bytes =
            std::fs::read(t.data_dir.path().join("objects").join(&stored.object_path)).unwrap();
        assert!(!bytes.windows(ids[0].len()).any(|w| w == ids[0].as_bytes()));

        // Before approval the table is in no session: a query naming it is refused as unknown.
        let reason = refused(
            t.app
                .run_query(&analyst, workspace, request(Env::Dev, JOINED_TOTAL))
                .await,
        );
        assert!(reason.contains("members"), "{reason}");

        // The merchant and the operator cannot approve; the refusals are audited.
        for who in ["merchant", "operator"] {
            let person = ctx(&t, who).await;
            let got = t
                .app
                .move_fusion(&person, pending.id, FusionCommand::Approve)
                .await;
            assert!(matches!(got, Err(AppError::Forbidden(_))), "{who}: {got:?}");
        }
        let denied = events(&t, "fusion.review").await;
        assert_eq!(denied.len(), 2, "{denied:?}");
        assert!(
            denied
                .iter()
                .all(|e| e.draft.outcome == shuyu_audit::Outcome::Denied)
        );

        let authority = ctx(&t, "authority").await;
        let approved = t
            .app
            .move_fusion(&authority, pending.id, FusionCommand::Approve)
            .await
            .unwrap();
        assert_eq!(approved.state, FusionState::Approved);
        assert!(approved.decided_by.is_some());
        // Approving twice is a conflict, not a second move.
        assert!(matches!(
            t.app
                .move_fusion(&authority, pending.id, FusionCommand::Approve)
                .await,
            Err(AppError::Conflict(_))
        ));
        let view = t.app.workspace(&analyst, workspace).await.unwrap();
        assert_eq!(view.fusion.len(), 1);
        assert_eq!(view.fusion[0].state, FusionState::Approved);

        // Development: the member IDs are hashed (no raw ID, no valid ID)…
        let rows = t
            .app
            .run_query(
                &analyst,
                workspace,
                request(Env::Dev, "SELECT member_id, tier FROM members LIMIT 20"),
            )
            .await
            .unwrap();
        let result = rows.result.unwrap();
        assert_eq!(result.rows.len(), 20);
        for row in &result.rows {
            let id = row[0].as_str().unwrap();
            assert!(!ids.iter().any(|raw| raw == id), "a raw ID in development");
            assert!(!shuyu_quality::resident_id_valid(id), "{id}");
        }
        // …with the same keyed hash as the granted unit: every development row of the granted
        // table finds its member.
        let dev = t
            .app
            .run_query(&analyst, workspace, request(Env::Dev, JOINED_TOTAL))
            .await
            .unwrap();
        assert_eq!(dev.result.unwrap().rows[0][0], serde_json::json!(50));
        // The join key cannot be output in production.
        let keyed = t
            .app
            .run_query(
                &analyst,
                workspace,
                request(
                    Env::Dev,
                    "SELECT member_id, COUNT(*) AS n FROM members GROUP BY member_id",
                ),
            )
            .await
            .unwrap();
        let verdict = keyed.production.unwrap();
        assert!(!verdict.accepted);
        assert!(
            verdict.reason.as_deref().unwrap().contains("member_id"),
            "{verdict:?}"
        );
        // The undeclared column is not exposed at all.
        let reason = refused(
            t.app
                .run_query(
                    &analyst,
                    workspace,
                    request(Env::Dev, "SELECT note FROM members"),
                )
                .await,
        );
        assert!(reason.contains("note"), "{reason}");

        // Production: the join runs under the grant's output control.
        let grant = view.grant.grant;
        match grant.usage() {
            UsageMethod::Aggregate => {
                let dev = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Dev, JOINED))
                    .await
                    .unwrap();
                assert!(dev.production.unwrap().accepted);
                let prod = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Prod, JOINED))
                    .await
                    .unwrap();
                let result = prod.result.unwrap();
                // The rare tier (2 persons) is below k and suppressed; gold passes.
                assert_eq!(result.rows.len(), 1, "{:?}", result.rows);
                assert_eq!(result.rows[0][0], serde_json::json!("gold"));
                assert_eq!(prod.suppressed_groups, 1);
                assert!(prod.suppressed_rows >= RARE as u64);
            }
            UsageMethod::DpAggregate => {
                let dev = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Dev, JOINED_TOTAL))
                    .await
                    .unwrap();
                let verdict = dev.production.unwrap();
                assert!(verdict.accepted, "{verdict:?}");
                let prod = t
                    .app
                    .run_query(&analyst, workspace, request(Env::Prod, JOINED_TOTAL))
                    .await
                    .unwrap();
                assert!(prod.budget_spent.epsilon > 0.0);
                assert_eq!(prod.result.unwrap().rows.len(), 1);
                let ledger = t.app.workspace_ledger(&analyst, workspace).await.unwrap();
                assert!(
                    ledger
                        .populations
                        .iter()
                        .any(|p| p.population == "resident")
                );
            }
        }

        // Revoke: the table leaves the workspace, its objects are deleted.
        let revoked = t
            .app
            .move_fusion(
                &authority,
                pending.id,
                FusionCommand::Revoke {
                    reason: "授权期满".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(revoked.state, FusionState::Revoked);
        assert_eq!(revoked.reason.as_deref(), Some("授权期满"));
        assert!(!object_exists(&t, &stored.object_path));
        assert!(!object_exists(&t, &stored.dev_object_path));
        let reason = refused(
            t.app
                .run_query(&analyst, workspace, request(Env::Dev, JOINED_TOTAL))
                .await,
        );
        assert!(reason.contains("members"), "{reason}");

        // Every step is on the chain.
        for action in ["fusion.request", "fusion.approve", "fusion.revoke"] {
            let found = events(&t, action).await;
            assert_eq!(found.len(), 1, "{action}");
            assert_eq!(found[0].draft.outcome, shuyu_audit::Outcome::Ok);
        }
    }
}

#[tokio::test]
async fn rejected_and_withdrawn_imports_delete_their_objects_and_free_the_name() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    let authority = ctx(&t, "authority").await;

    let first = requested(&t, &analyst, workspace, "members").await;
    assert_eq!(fusion_objects(&t), 2);
    // The name is held while pending.
    let clash = t
        .app
        .request_fusion(
            &analyst,
            workspace,
            declaration("members"),
            csv(members_csv(&insured())),
        )
        .await;
    assert!(
        matches!(&clash, Err(AppError::InvalidFields(f)) if f[0].0 == "table"),
        "{clash:?}"
    );
    // A reason is required to reject.
    let got = t
        .app
        .move_fusion(
            &authority,
            first.id,
            FusionCommand::Reject { reason: " ".into() },
        )
        .await;
    assert!(
        matches!(&got, Err(AppError::InvalidFields(f)) if f[0].0 == "reason"),
        "{got:?}"
    );
    let rejected = t
        .app
        .move_fusion(
            &authority,
            first.id,
            FusionCommand::Reject {
                reason: "未提供用户授权证明".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rejected.state, FusionState::Rejected);
    assert_eq!(fusion_objects(&t), 0);

    // The name is free again; the merchant withdraws its second request itself.
    t.clock.advance_seconds(1);
    let second = requested(&t, &analyst, workspace, "members").await;
    assert_eq!(fusion_objects(&t), 2);
    // The authority does not withdraw for the merchant.
    assert!(matches!(
        t.app
            .move_fusion(&authority, second.id, FusionCommand::Withdraw)
            .await,
        Err(AppError::Forbidden(_))
    ));
    let withdrawn = t
        .app
        .move_fusion(&analyst, second.id, FusionCommand::Withdraw)
        .await
        .unwrap();
    assert_eq!(withdrawn.state, FusionState::Withdrawn);
    assert_eq!(fusion_objects(&t), 0);
    // A withdrawn import cannot be approved.
    assert!(matches!(
        t.app
            .move_fusion(&authority, second.id, FusionCommand::Approve)
            .await,
        Err(AppError::Conflict(_))
    ));

    let listed = t.app.workspace_fusions(&analyst, workspace).await.unwrap();
    let states: Vec<FusionState> = listed.iter().map(|f| f.state).collect();
    assert_eq!(states, [FusionState::Rejected, FusionState::Withdrawn]);
    // The authority lists every import; filtered by state.
    let all = t.app.fusions(&authority, None).await.unwrap();
    assert_eq!(all.len(), 2);
    let pending = t
        .app
        .fusions(&authority, Some(FusionState::Pending))
        .await
        .unwrap();
    assert!(pending.is_empty());
    // Another organisation's people see none of them.
    let consumer = ctx(&t, "consumer").await;
    assert!(t.app.fusions(&consumer, None).await.unwrap().is_empty());
    assert!(matches!(
        t.app.fusion(&consumer, first.id).await,
        Err(AppError::Forbidden(_))
    ));

    for action in ["fusion.reject", "fusion.withdraw"] {
        let ok: Vec<_> = events(&t, action)
            .await
            .into_iter()
            .filter(|e| e.draft.outcome == shuyu_audit::Outcome::Ok)
            .collect();
        assert_eq!(ok.len(), 1, "{action}");
    }
    assert_eq!(events(&t, "fusion.request").await.len(), 3);
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_nothing_is_stored() {
    let t = TestApp::sqlite().await;
    let (analyst, workspace) = setup(&t).await;
    let ids = insured();
    let check = |mutate: &dyn Fn(&mut FusionDeclaration), file: Vec<u8>| {
        let mut d = declaration("members");
        mutate(&mut d);
        (d, file)
    };
    let cases: Vec<(&str, FusionDeclaration, Vec<u8>)> = vec![
        {
            let (d, f) = check(&|d| d.legal_basis = "  ".into(), members_csv(&ids));
            ("legal_basis", d, f)
        },
        {
            let (d, f) = check(&|d| d.table = "clinic_visits".into(), members_csv(&ids));
            ("table", d, f)
        },
        {
            let (d, f) = check(
                &|d| {
                    d.columns.push(FusionColumn {
                        name: "ghost".into(),
                        field_type: FieldType::String,
                        control: Some(ColumnControl::Visible),
                    });
                },
                members_csv(&ids),
            );
            ("columns.missing", d, f)
        },
        {
            let (d, f) = check(
                &|_| {},
                b"member_id,tier,spend,note\nx,gold,abc,n\n".to_vec(),
            );
            ("file.line", d, f)
        },
        {
            let (d, f) = check(&|_| {}, Vec::new());
            ("file", d, f)
        },
    ];
    for (path, declaration, file) in cases {
        let got = t
            .app
            .request_fusion(&analyst, workspace, declaration, csv(file))
            .await;
        let message = match got {
            Err(AppError::InvalidFields(fields)) => {
                assert!(fields[0].0.starts_with(path), "{path}: {fields:?}");
                fields[0].1.clone()
            }
            Err(AppError::Invalid { field, message }) => {
                assert!(field.starts_with(path), "{path}: {field}");
                message
            }
            other => panic!("{path}: expected bad input, got {other:?}"),
        };
        assert!(!message.contains(&ids[0]), "{message}");
    }
    assert!(
        t.app
            .workspace_fusions(&analyst, workspace)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(fusion_objects(&t), 0);
    // Each refusal after the policy's decision is a failed `fusion.request` on the chain.
    let failed = events(&t, "fusion.request").await;
    assert_eq!(failed.len(), 5);
    assert!(
        failed
            .iter()
            .all(|e| e.draft.outcome == shuyu_audit::Outcome::Failed)
    );
}

/// The usage method the demo grant does not have, on a second grant of the same merchant over the
/// same social-insurance version: with the first test, both output controls run over an import.
#[tokio::test]
async fn an_import_joins_under_the_other_usage_method_too() {
    let t = TestApp::sqlite().await;
    let (analyst, demo_workspace) = setup(&t).await;
    let demo = t
        .app
        .workspace(&analyst, demo_workspace)
        .await
        .unwrap()
        .grant
        .grant;
    let other = match demo.usage() {
        UsageMethod::Aggregate => UsageMethod::DpAggregate,
        UsageMethod::DpAggregate => UsageMethod::Aggregate,
    };
    let system = Ctx::system(RequestId::mint(t.app.now(), [3; 10]));
    let social = demo
        .resources()
        .iter()
        .find(|r| r.table == "social_insurance")
        .unwrap()
        .clone();
    let now = t.app.now();
    let grant = t
        .app
        .seed_grant(
            &system,
            shuyu_app::NewGrant {
                merchant: demo.merchant(),
                operator: demo.operator(),
                scenario: demo.scenario().clone(),
                resources: vec![shuyu_app::ResourceRequest {
                    resource: social.resource,
                    version: social.version,
                    table: "social_insurance".into(),
                    fields: social
                        .fields
                        .iter()
                        .map(|f| shuyu_app::FieldRequest::default_handling(&f.name))
                        .collect(),
                }],
                usage: other,
                term: shuyu_app::Term {
                    from: now,
                    to: now.plus_seconds(30 * 86_400),
                },
                min_group_size: None,
                budget: None,
            },
        )
        .await
        .unwrap();
    let workspace = grant.grant.workspace();
    t.app
        .prepare_dev(&analyst, workspace, DevMode::Sample, 50)
        .await
        .unwrap();
    let pending = requested(&t, &analyst, workspace, "members").await;
    let authority = ctx(&t, "authority").await;
    t.app
        .move_fusion(&authority, pending.id, FusionCommand::Approve)
        .await
        .unwrap();
    let sql = match other {
        UsageMethod::Aggregate => JOINED,
        UsageMethod::DpAggregate => JOINED_TOTAL,
    };
    let dev = t
        .app
        .run_query(&analyst, workspace, request(Env::Dev, sql))
        .await
        .unwrap();
    let verdict = dev.production.unwrap();
    assert!(verdict.accepted, "{verdict:?}");
    let prod = t
        .app
        .run_query(&analyst, workspace, request(Env::Prod, sql))
        .await
        .unwrap();
    let rows = prod.result.unwrap().rows;
    match other {
        UsageMethod::Aggregate => {
            // The rare tier (2 persons) is below k and suppressed; gold passes.
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert_eq!(rows[0][0], serde_json::json!("gold"));
            assert_eq!(prod.suppressed_groups, 1);
        }
        UsageMethod::DpAggregate => {
            // One noisy total, charged to the grant and to the residents' population ledger.
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert!(prod.budget_spent.epsilon > 0.0);
            let ledger = t.app.workspace_ledger(&analyst, workspace).await.unwrap();
            assert!(ledger.grant_spent.epsilon > 0.0);
            assert!(
                ledger
                    .populations
                    .iter()
                    .any(|p| p.population == "resident" && p.spent.epsilon > 0.0),
                "{:?}",
                ledger.populations
            );
        }
    }
}
