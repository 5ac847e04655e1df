//! The workspace pages: the analyst prepares development tables, develops a query, runs it in
//! production and reads the refusals; other organisations are refused; every post needs the
//! session's CSRF token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::http::StatusCode;
use shuyu_app::Ctx;
use shuyu_core::RequestId;
use shuyu_profile::UsageMethod;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::{DEMO_SCENARIO, person_ctx};

mod common;
use common::*;

const GROUPED: &str =
    "SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type";
const ROWS: &str = "SELECT resident_id FROM clinic_visits LIMIT 5";

async fn ctx(t: &TestApp, username: &str) -> Ctx {
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, username).await.unwrap();
    person_ctx(&t.app, &person)
}

/// The first `href` on `page` starting with `prefix` (maud escapes `&` as `&amp;`).
fn link(page: &Reply, prefix: &str) -> String {
    let marker = format!("href=\"{prefix}");
    let at = page.body.find(&marker).expect("a link") + "href=\"".len();
    let end = page.body[at..].find('"').unwrap() + at;
    page.body[at..end].replace("&amp;", "&")
}

/// The demo workspace's page, found through the list.
async fn demo_workspace(browser: &mut Browser) -> String {
    let list = browser.get("/workspaces").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.has(DEMO_SCENARIO), "{}", list.body);
    link(&list, "/workspaces/")
}

/// Posts a query from the workspace page; the answer is a 303 to the query's page, which is read.
async fn run(browser: &mut Browser, workspace: &str, env: &str, sql: &str) -> Reply {
    let csrf = browser.get(workspace).await.csrf();
    let posted = browser
        .post(
            &format!("{workspace}/queries"),
            &[
                ("_csrf", &csrf),
                ("sql", sql),
                ("env", env),
                ("epsilon", ""),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let to = posted.location().to_owned();
    assert!(
        to.starts_with(&format!("{workspace}/queries/")),
        "redirected to {to}"
    );
    let page = browser.get(&to).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// The number of rows of the result table on a query page.
fn result_rows(page: &Reply) -> usize {
    let start = page
        .body
        .find("<table class=\"data result\">")
        .expect("a result table");
    let table = &page.body[start..];
    let end = table.find("</table>").unwrap();
    let body_at = table.find("<tbody>").unwrap();
    table[body_at..end].matches("<tr>").count()
}

#[tokio::test]
async fn the_analyst_prepares_development_tables_develops_a_query_and_runs_it_in_production() {
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 300, |_, _| {})
        .await
        .unwrap();
    let usage = t.app.grants(&ctx(&t, "merchant").await).await.unwrap()[0]
        .grant
        .usage();
    let mut analyst = signed_in(&t, "merchant").await;
    let home = analyst.get("/").await;
    assert!(home.has(r#"href="/workspaces""#), "the menu has workspaces");
    assert!(home.has("工作空间"));

    let workspace = demo_workspace(&mut analyst).await;
    let page = analyst.get(&workspace).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The table browser, the budget meter, the forms.
    for text in [
        "social_insurance",
        "clinic_visits",
        "数据表",
        "隐私预算",
        "SQL 编辑器",
    ] {
        assert!(page.has(text), "{text}: {}", page.body);
    }
    assert!(page.has("尚未准备"), "no development table yet");
    assert!(page.has("尚无查询"));
    match usage {
        UsageMethod::DpAggregate => {
            assert!(page.has("<meter"), "a budget meter");
            assert!(page.has(r#"name="epsilon""#));
        }
        UsageMethod::Aggregate => {
            assert!(page.has("不消耗隐私预算"), "{}", page.body);
            assert!(!page.has(r#"name="epsilon""#));
        }
    }

    // Development tables: a desensitized sample of 50 rows per table.
    let csrf = page.csrf();
    let prepared = analyst
        .post(
            &format!("{workspace}/dev"),
            &[("_csrf", &csrf), ("mode", "sample"), ("rows", "50")],
        )
        .await;
    assert_eq!(prepared.status, StatusCode::SEE_OTHER, "{}", prepared.body);
    assert!(prepared.location().ends_with("?done=dev_prepared"));
    let page = analyst.get(prepared.location()).await;
    assert!(page.has("开发表已准备"), "{}", page.body);
    assert!(page.has("脱敏样本"));
    assert_eq!(page.body.matches("50 行").count(), 2, "{}", page.body);
    // Too many rows: refused, what was typed kept.
    let over = analyst
        .post(
            &format!("{workspace}/dev"),
            &[("_csrf", &csrf), ("mode", "simulated"), ("rows", "9999999")],
        )
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(over.has(r#"value="9999999""#), "{}", over.body);
    assert!(over.has(r#"value="simulated" checked"#), "{}", over.body);

    // A development run shows its rows, and production's verdict on the row-level query.
    let dev_rows = run(&mut analyst, &workspace, "dev", ROWS).await;
    assert!(dev_rows.has("成功"), "{}", dev_rows.body);
    assert!(dev_rows.has("resident_id"));
    assert_eq!(result_rows(&dev_rows), 5);
    assert!(dev_rows.has("生产环境不接受"), "{}", dev_rows.body);

    // The grouped query: development, then production through the "run in production" link.
    let dev = run(&mut analyst, &workspace, "dev", GROUPED).await;
    assert!(dev.has("insurance_type"));
    assert!(result_rows(&dev) > 0);
    assert!(dev.has("生产环境可接受"), "{}", dev.body);
    let again = link(&dev, &format!("{workspace}?"));
    assert!(again.contains("env=prod"), "{again}");
    let editor = analyst.get(&again).await;
    assert!(
        editor.has(GROUPED),
        "the editor holds the query: {}",
        editor.body
    );
    assert!(editor.has(r#"value="prod" checked"#), "{}", editor.body);

    let prod = run(&mut analyst, &workspace, "prod", GROUPED).await;
    assert!(prod.has("成功"), "{}", prod.body);
    assert!(prod.has("结果 SM3 摘要"), "{}", prod.body);
    assert!(prod.has("对应的开发运行"));
    assert!(prod.has("insurance_type"));
    assert!(
        !prod.has("在生产环境运行"),
        "no production link on a production run"
    );
    let stored = t
        .app
        .workspace_queries(&ctx(&t, "merchant").await, workspace_id(&workspace))
        .await
        .unwrap();
    let sm3 = stored[0].result_sm3.clone().unwrap();
    assert!(prod.has(&sm3), "the page shows the stored digest");

    // A row-level query is refused in production; its page says why.
    let refused = run(&mut analyst, &workspace, "prod", ROWS).await;
    assert!(refused.has("已拒绝"), "{}", refused.body);
    assert!(refused.has("拒绝理由"), "{}", refused.body);
    assert!(!refused.has("<table class=\"data result\">"));

    // The workspace lists the queries, newest first, and the budget shows what was spent.
    let page = analyst.get(&workspace).await;
    assert_eq!(
        page.body
            .matches(&format!("href=\"{workspace}/queries/"))
            .count(),
        4
    );
    let ledger = t
        .app
        .workspace_ledger(&ctx(&t, "merchant").await, workspace_id(&workspace))
        .await
        .unwrap();
    match usage {
        UsageMethod::DpAggregate => {
            assert!(ledger.grant_spent.epsilon > 0.0);
            let meter = format!(
                r#"max="{}" value="{}""#,
                ledger.grant_budget.epsilon, ledger.grant_spent.epsilon
            );
            assert!(page.has(&meter), "{meter}: {}", page.body);
        }
        UsageMethod::Aggregate => {
            assert!(ledger.spends.is_empty());
            assert!(page.has("不消耗隐私预算"));
        }
    }

    // The app refuses an empty query before storing anything: the page comes back with what was
    // typed (the environment and ε), in the person's language.
    let csrf = page.csrf();
    let empty = analyst
        .post(
            &format!("{workspace}/queries"),
            &[
                ("_csrf", &csrf),
                ("sql", "  "),
                ("env", "prod"),
                ("epsilon", ""),
            ],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert!(empty.has(r#"value="prod" checked"#), "{}", empty.body);
    let bad_epsilon = analyst
        .post(
            &format!("{workspace}/queries"),
            &[
                ("_csrf", &csrf),
                ("sql", GROUPED),
                ("env", "prod"),
                ("epsilon", "-1"),
            ],
        )
        .await;
    assert_eq!(bad_epsilon.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_epsilon.has("ε 须为正数"), "{}", bad_epsilon.body);
    assert!(
        bad_epsilon.has(GROUPED),
        "the query is kept: {}",
        bad_epsilon.body
    );

    // In English too.
    let switched = analyst
        .post(
            "/lang",
            &[("_csrf", &csrf), ("lang", "en"), ("next", &workspace)],
        )
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let page = analyst.get(&workspace).await;
    assert!(
        page.has("SQL editor") && page.has("Recent queries"),
        "{}",
        page.body
    );
    assert!(page.has("Workspaces"));
}

fn workspace_id(uri: &str) -> shuyu_core::WorkspaceId {
    uri.trim_start_matches("/workspaces/").parse().unwrap()
}

#[tokio::test]
async fn other_organisations_get_a_refusal_and_overseers_read_without_forms() {
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 300, |_, _| {})
        .await
        .unwrap();
    let mut analyst = signed_in(&t, "merchant").await;
    let workspace = demo_workspace(&mut analyst).await;
    let csrf = analyst.get(&workspace).await.csrf();
    let prepared = analyst
        .post(
            &format!("{workspace}/dev"),
            &[("_csrf", &csrf), ("mode", "simulated"), ("rows", "30")],
        )
        .await;
    assert_eq!(prepared.status, StatusCode::SEE_OTHER, "{}", prepared.body);
    let dev = run(&mut analyst, &workspace, "dev", GROUPED).await;
    assert!(dev.has("模拟数据") || dev.has("成功"));
    let query = link(
        &analyst.get(&workspace).await,
        &format!("{workspace}/queries/"),
    );

    let mut consumer = signed_in(&t, "consumer").await;
    let list = consumer.get("/workspaces").await;
    assert!(!list.has(DEMO_SCENARIO), "{}", list.body);
    for uri in [&workspace, &query] {
        let page = consumer.get(uri).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri}: {}", page.body);
        assert!(
            !page.has("insurance_type"),
            "nothing of the workspace shows"
        );
    }
    let csrf = consumer.get("/me").await.csrf();
    let posted = consumer
        .post(
            &format!("{workspace}/queries"),
            &[
                ("_csrf", &csrf),
                ("sql", GROUPED),
                ("env", "dev"),
                ("epsilon", ""),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
    let prepared = consumer
        .post(
            &format!("{workspace}/dev"),
            &[("_csrf", &csrf), ("mode", "sample"), ("rows", "10")],
        )
        .await;
    assert_eq!(prepared.status, StatusCode::FORBIDDEN, "{}", prepared.body);

    // The operator running the grant reads the workspace and its queries, with no form to run one.
    let mut operator = signed_in(&t, "operator").await;
    let page = operator.get(&workspace).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("social_insurance"));
    assert!(!page.has(r#"name="sql""#), "no editor for an overseer");
    assert!(
        !page.has(r#"name="mode""#),
        "no development form for an overseer"
    );
    let read = operator.get(&query).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);

    // An unknown query of the workspace is "not found".
    let unknown = format!(
        "{workspace}/queries/{}",
        shuyu_core::QueryId::mint(t.app.now(), [9; 10])
    );
    assert_eq!(analyst.get(&unknown).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        analyst.get("/workspaces/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn workspace_forms_need_the_sessions_csrf_token() {
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 300, |_, _| {})
        .await
        .unwrap();
    let mut analyst = signed_in(&t, "merchant").await;
    let workspace = demo_workspace(&mut analyst).await;
    let refusals = events(&t, "auth.csrf", "denied").await;
    for (path, form) in [
        ("/dev", vec![("mode", "sample"), ("rows", "20")]),
        ("/queries", vec![("sql", GROUPED), ("env", "dev")]),
    ] {
        let uri = format!("{workspace}{path}");
        let missing = analyst.post(&uri, &form).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
        let mut wrong = vec![("_csrf", "0".repeat(64))];
        wrong.extend(form.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let forged = analyst.post(&uri, &wrong).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    }
    assert_eq!(events(&t, "auth.csrf", "denied").await, refusals + 4);
    // Nothing was prepared or run.
    assert_eq!(events(&t, "workspace.query", "ok").await, 0);
    assert_eq!(events(&t, "workspace.query", "denied").await, 0);
    let page = analyst.get(&workspace).await;
    assert!(
        page.has("尚未准备") && page.has("尚无查询"),
        "{}",
        page.body
    );
}

/// Posts the editor with extra fields; the answer as it comes (no redirect followed).
async fn post_editor(browser: &mut Browser, workspace: &str, fields: &[(&str, &str)]) -> Reply {
    let csrf = browser.get(workspace).await.csrf();
    let mut all = vec![("_csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post(&format!("{workspace}/queries"), &all).await
}

#[tokio::test]
async fn the_dp_editor_takes_clamping_and_contribution_bounds_and_home_lists_the_workspaces() {
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 300, |_, _| {})
        .await
        .unwrap();
    let merchant = ctx(&t, "merchant").await;
    let grant = t.app.grants(&merchant).await.unwrap()[0].grant.clone();
    assert_eq!(grant.usage(), UsageMethod::DpAggregate);
    t.app
        .prepare_dev(&merchant, grant.workspace(), shuyu_app::DevMode::Sample, 50)
        .await
        .unwrap();
    let mut analyst = signed_in(&t, "merchant").await;

    // Home: a card with the analyst's workspaces, each linked, with the budget left.
    let home = analyst.get("/").await;
    assert!(home.has("我的工作空间"), "{}", home.body);
    let href = format!("/workspaces/{}", grant.workspace());
    assert!(home.has(&format!(r#"href="{href}""#)), "{}", home.body);
    assert!(home.has(DEMO_SCENARIO));
    let budget = grant.budget().epsilon;
    assert!(
        home.has(&format!("剩余 ε {budget} / {budget}")),
        "{}",
        home.body
    );

    // The editor: L and C with the profile's caps, and lower/upper per numeric column.
    let workspace = demo_workspace(&mut analyst).await;
    let page = analyst.get(&workspace).await;
    for input in [
        r#"name="groups_per_unit""#,
        r#"name="rows_per_unit""#,
        r#"max="10""#,
        r#"max="100""#,
        r#"name="lower.social_insurance.contribution_base""#,
        r#"name="upper.social_insurance.contribution_base""#,
        "截断区间",
        "贡献上限",
    ] {
        assert!(page.has(input), "{input}: {}", page.body);
    }

    // A grouped sum with both kinds of bounds: they reach the app, the verdict shows them, the
    // column is named by its alias.
    let sql = "SELECT insurance_type, SUM(contribution_base) AS total FROM social_insurance GROUP BY insurance_type";
    let posted = post_editor(
        &mut analyst,
        &workspace,
        &[
            ("sql", sql),
            ("env", "dev"),
            ("epsilon", ""),
            ("groups_per_unit", "2"),
            ("rows_per_unit", "3"),
            ("lower.social_insurance.contribution_base", "0"),
            ("upper.social_insurance.contribution_base", "100"),
        ],
    )
    .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let query = analyst.get(posted.location()).await;
    assert!(query.has("L = 2 · C = 3"), "{}", query.body);
    assert!(query.has("<code>total</code>"), "{}", query.body);
    let queries = t
        .app
        .workspace_queries(&merchant, grant.workspace())
        .await
        .unwrap();
    let estimate = queries[0].production.clone().unwrap().estimate.unwrap();
    // Bounds [0, 100] over L·C = 6: the sum's error is 100 × 6 times the count's unit error.
    assert!(estimate.columns[0].ci95 > 100.0, "{estimate:?}");

    // Beyond the cap: 422, the app's reason naming the field and the cap, the typed values kept.
    let refused = post_editor(
        &mut analyst,
        &workspace,
        &[
            ("sql", sql),
            ("env", "dev"),
            ("epsilon", ""),
            ("groups_per_unit", "11"),
            ("rows_per_unit", ""),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has("max_groups_per_unit"), "{}", refused.body);
    assert!(refused.has("1 to 10"), "{}", refused.body);
    assert!(refused.has(r#"value="11""#), "{}", refused.body);
    // Half a bound is refused by the form, naming the column.
    let half = post_editor(
        &mut analyst,
        &workspace,
        &[
            ("sql", sql),
            ("env", "dev"),
            ("lower.social_insurance.contribution_base", "0"),
        ],
    )
    .await;
    assert_eq!(half.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        half.has("social_insurance.contribution_base 的截断区间"),
        "{}",
        half.body
    );
    // Nothing was stored for either.
    assert_eq!(
        t.app
            .workspace_queries(&merchant, grant.workspace())
            .await
            .unwrap()
            .len(),
        queries.len()
    );
}
