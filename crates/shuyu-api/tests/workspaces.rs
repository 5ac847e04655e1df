//! Workspaces over HTTP, on the demo city with its data imported: the analyst's flow (prepare
//! development tables, develop, production refused before development and answered after it, the
//! ledger); every workspace route refused to other organisations' people without a table name,
//! SQL or result in the answer; bad input as problems naming the field; a production `SELECT *`
//! refused as a problem that quotes no value of the data; ε and clamping bounds reach a
//! differentially private run; the OpenAPI document describes the routes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::Router;
use axum::http::{StatusCode, header};
use common::{Reply, Session, assert_problem, call, login, raw};
use serde_json::{Value, json};
use shuyu_app::{Ctx, NewOrg, NewPerson};
use shuyu_core::{CreditCode, QueryId, RequestId, Role, WorkspaceId};
use shuyu_synth::CsvEncoding;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_PASSWORD;
use shuyu_testkit::demo::data::DemoDataset;

const GROUPED: &str = "SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type ORDER BY insurance_type";
const ROWS: u64 = 300;

const MEMBERS_QUERY: &str = "table=members&legal_basis=%E6%9C%AC%E4%BC%81%E4%B8%9A%E4%BC%9A%E5%91%98%E6%95%B0%E6%8D%AE&columns=member_id:string:join_key,tier:string:group_by&unit=member_id:resident_id";

/// Uploads a fusion import's CSV with its declarations (`query`) as `session`.
async fn upload_fusion(
    router: &Router,
    session: &Session,
    ws: &str,
    query: &str,
    csv: &str,
) -> Reply {
    let mut request = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/workspaces/{ws}/fusion?{query}"))
        .header("content-type", "text/csv");
    if let (Some(cookie), Some(csrf)) = (&session.cookie, &session.csrf) {
        request = request
            .header("cookie", format!("shuyu_session={cookie}"))
            .header("x-csrf-token", csrf);
    }
    raw(
        router,
        request
            .body(axum::body::Body::from(csv.to_owned()))
            .unwrap(),
    )
    .await
}

/// The merchant's member list over the first insured persons (resident IDs of the demo data).
fn members_csv() -> String {
    let csv = String::from_utf8(DemoDataset::SocialInsurance.csv(ROWS, CsvEncoding::Utf8)).unwrap();
    let ids: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let mut out = String::from("member_id,tier\n");
    for id in ids {
        out.push_str(&format!("{id},gold\n"));
    }
    out
}

#[tokio::test]
async fn a_fusion_import_is_uploaded_reviewed_by_the_authority_and_listed_over_http() {
    let t = TestApp::sqlite().await;
    let (router, analyst, ws) = setup(&t).await;
    let reply = upload_fusion(&router, &analyst, &ws, MEMBERS_QUERY, &members_csv()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let import = reply.json();
    assert_eq!(
        reply.headers[header::LOCATION].to_str().unwrap(),
        import["href"].as_str().unwrap()
    );
    assert_eq!(import["state"], "pending");
    assert_eq!(import["unit_column"], "member_id");
    assert_eq!(import["unit_format"], "resident_id");
    assert_eq!(import["quality"].as_array().unwrap().len(), 2);
    let href = import["href"].as_str().unwrap().to_owned();

    // Bad declarations are problems naming the field; nothing is stored.
    let cases = [
        (
            MEMBERS_QUERY.replace("table=members", "table=clinic_visits"),
            "table",
        ),
        (
            MEMBERS_QUERY
                .replace("table=members", "table=others")
                .replace(
                    "legal_basis=%E6%9C%AC%E4%BC%81%E4%B8%9A%E4%BC%9A%E5%91%98%E6%95%B0%E6%8D%AE",
                    "legal_basis=%20",
                ),
            "legal_basis",
        ),
        (
            MEMBERS_QUERY
                .replace("table=members", "table=others")
                .replace("tier:string:group_by", "tier:text"),
            "columns[1]",
        ),
    ];
    for (query, field) in cases {
        let reply = upload_fusion(&router, &analyst, &ws, &query, &members_csv()).await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(problem.to_string().contains(field), "{field}: {problem}");
    }
    let listed = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}/fusion"),
        &analyst,
        None,
    )
    .await
    .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // The analyst cannot approve its own data; the authority does.
    let approve = format!("{href}/approve");
    let reply = call(&router, "POST", &approve, &analyst, None).await;
    assert_problem(&reply, StatusCode::FORBIDDEN);
    let authority = login(&t, &router, "authority").await;
    let pending = call(
        &router,
        "GET",
        "/api/v1/fusion?state=pending",
        &authority,
        None,
    )
    .await
    .json();
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    let reply = call(&router, "POST", &approve, &authority, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["state"], "approved");
    let reply = call(&router, "POST", &approve, &authority, None).await;
    assert_problem(&reply, StatusCode::CONFLICT);
    let view = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}"),
        &analyst,
        None,
    )
    .await
    .json();
    assert_eq!(view["fusion"][0]["state"], "approved", "{view}");

    // The table is in the workspace: a development query counts its (hashed) members.
    let reply = query(
        &router,
        &analyst,
        &ws,
        "dev",
        "SELECT tier, COUNT(*) AS n FROM members GROUP BY tier",
    )
    .await;
    let run = created(&reply);
    assert_eq!(run["result"]["rows"][0][0], "gold", "{run}");

    // Revoking needs a reason; then the table is gone.
    let revoke = format!("{href}/revoke");
    let reply = call(
        &router,
        "POST",
        &revoke,
        &authority,
        Some(json!({"reason": " "})),
    )
    .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = call(
        &router,
        "POST",
        &revoke,
        &authority,
        Some(json!({"reason": "用户撤回授权"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["reason"], "用户撤回授权");
}

/// Imports the demo data and returns the API, the analyst's session and the demo workspace's id.
async fn setup(t: &TestApp) -> (Router, Session, String) {
    shuyu_testkit::demo::data::seed_datasets(&t.app, ROWS, |_, _| {})
        .await
        .unwrap();
    let router = t.api();
    let analyst = login(t, &router, "merchant").await;
    let list = call(&router, "GET", "/api/v1/workspaces", &analyst, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let workspace = list.json()[0]["id"].as_str().unwrap().to_owned();
    (router, analyst, workspace)
}

async fn query(router: &Router, session: &Session, workspace: &str, env: &str, sql: &str) -> Reply {
    call(
        router,
        "POST",
        &format!("/api/v1/workspaces/{workspace}/queries"),
        session,
        Some(json!({"env": env, "sql": sql})),
    )
    .await
}

async fn prepare(router: &Router, session: &Session, workspace: &str, mode: &str, rows: u32) {
    let reply = call(
        router,
        "POST",
        &format!("/api/v1/workspaces/{workspace}/dev-tables"),
        session,
        Some(json!({"mode": mode, "rows": rows})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// A 201 query answer: checks its `Location` and returns the stored query.
fn created(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let body = reply.json();
    assert_eq!(
        reply.headers[header::LOCATION].to_str().unwrap(),
        body["href"].as_str().unwrap()
    );
    body
}

/// A 422 refusal of a query: returns the problem (which names the stored query).
fn refusal(reply: &Reply) -> Value {
    let problem = assert_problem(reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["type"], "https://shuyu.example/problems/query-refused",
        "{problem}"
    );
    assert!(
        problem["query_id"]
            .as_str()
            .unwrap()
            .parse::<QueryId>()
            .is_ok()
    );
    problem
}

#[tokio::test]
async fn an_analyst_prepares_develops_and_runs_in_production_over_http() {
    for t in TestApp::all().await {
        let (router, analyst, ws) = setup(&t).await;

        // The list names the workspace's grant; the grant says the same.
        let list = call(&router, "GET", "/api/v1/workspaces", &analyst, None)
            .await
            .json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        let summary = &list[0];
        assert_eq!(summary["status"], "active");
        assert_eq!(summary["href"], format!("/api/v1/workspaces/{ws}"));
        let grant_id = summary["grant_id"].as_str().unwrap();
        let grant = call(
            &router,
            "GET",
            &format!("/api/v1/grants/{grant_id}"),
            &analyst,
            None,
        )
        .await
        .json();
        assert_eq!(grant["workspace_id"], ws.as_str());
        let usage = summary["usage"].as_str().unwrap().to_owned();
        assert!(usage == "aggregate" || usage == "dp_aggregate", "{usage}");

        // Tables with their fields and data, no development tables yet.
        let view = call(
            &router,
            "GET",
            &format!("/api/v1/workspaces/{ws}"),
            &analyst,
            None,
        )
        .await;
        assert_eq!(view.status, StatusCode::OK, "{}", view.text());
        let view = view.json();
        assert_eq!(view["grant"]["id"], grant_id);
        let tables = view["tables"].as_array().unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["social_insurance", "clinic_visits"]);
        for table in tables {
            assert_eq!(table["rows"], ROWS, "{table}");
            assert!(table["dataset_id"].is_string());
            assert!(table["dev"].is_null());
            let unit = table["privacy_unit"].as_str().unwrap();
            let fields = table["fields"].as_array().unwrap();
            let unit_fields: Vec<&Value> = fields
                .iter()
                .filter(|f| f["privacy_unit"] == true)
                .collect();
            assert_eq!(unit_fields.len(), 1, "{table}");
            assert_eq!(unit_fields[0]["name"], unit);
            for field in fields {
                assert!(field["field_type"].is_string() && field["grade"].is_string());
            }
            assert!(
                fields
                    .iter()
                    .any(|f| f["column_control"].is_string() && f["desensitization"].is_string())
            );
        }

        // Nothing runs in development before its tables exist: refused, stored, readable.
        let early = refusal(&query(&router, &analyst, &ws, "dev", GROUPED).await);
        assert!(
            early["detail"]
                .as_str()
                .unwrap()
                .contains("development tables")
        );
        let early_id = early["query_id"].as_str().unwrap().to_owned();
        // Queries are listed newest first: let the clock move between the first and the last.
        t.clock.advance_seconds(1);
        let stored = call(
            &router,
            "GET",
            &format!("/api/v1/workspaces/{ws}/queries/{early_id}"),
            &analyst,
            None,
        )
        .await;
        assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
        assert_eq!(stored.json()["outcome"], "refused");
        assert!(stored.json()["result"].is_null());

        let reply = call(
            &router,
            "POST",
            &format!("/api/v1/workspaces/{ws}/dev-tables"),
            &analyst,
            Some(json!({"mode": "sample", "rows": 40})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        for table in reply.json()["tables"].as_array().unwrap() {
            assert_eq!(table["dev"]["mode"], "sample");
            assert_eq!(table["dev"]["rows"], 40);
        }

        // Development rows are shown.
        let rows = created(
            &query(
                &router,
                &analyst,
                &ws,
                "dev",
                "SELECT resident_id FROM clinic_visits LIMIT 5",
            )
            .await,
        );
        assert_eq!(rows["env"], "dev");
        assert_eq!(rows["result"]["rows"].as_array().unwrap().len(), 5);
        assert_eq!(rows["production"]["accepted"], false);

        // Production refuses a plan that never ran in development.
        let before = refusal(&query(&router, &analyst, &ws, "prod", GROUPED).await);
        assert!(
            before["detail"].as_str().unwrap().contains("development"),
            "{before}"
        );

        let dev = created(&query(&router, &analyst, &ws, "dev", GROUPED).await);
        assert_eq!(dev["outcome"], "succeeded");
        assert_eq!(dev["production"]["accepted"], true, "{dev}");
        assert!(dev["fingerprint"].is_string());
        assert!(!dev["result"]["rows"].as_array().unwrap().is_empty());

        t.clock.advance_seconds(1);
        let prod = created(&query(&router, &analyst, &ws, "prod", GROUPED).await);
        assert_eq!(prod["env"], "prod");
        assert_eq!(prod["outcome"], "succeeded");
        assert_eq!(prod["dev_query_id"], dev["id"]);
        assert_eq!(prod["result"]["columns"][0]["name"], "insurance_type");
        assert_eq!(prod["result_sm3"].as_str().unwrap().len(), 64);

        // Stored, newest first; each readable with its result.
        let list = call(
            &router,
            "GET",
            &format!("/api/v1/workspaces/{ws}/queries"),
            &analyst,
            None,
        )
        .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        let list = list.json();
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 5, "{list}");
        assert_eq!(ids[0], prod["id"].as_str().unwrap());
        assert_eq!(ids[4], early_id);
        let again = call(
            &router,
            "GET",
            prod["href"].as_str().unwrap(),
            &analyst,
            None,
        )
        .await
        .json();
        assert_eq!(again["result"], prod["result"]);
        assert_eq!(again["result_sm3"], prod["result_sm3"]);

        // The ledger: the budget spent by production (dp_aggregate) or none (aggregate), and the
        // metering of every query.
        let ledger = call(
            &router,
            "GET",
            &format!("/api/v1/workspaces/{ws}/ledger"),
            &analyst,
            None,
        )
        .await;
        assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.text());
        let ledger = ledger.json();
        assert_eq!(ledger["workspace_id"], ws.as_str());
        assert_eq!(ledger["usage"], usage.as_str());
        assert_eq!(ledger["totals"]["queries"], 5);
        assert_eq!(ledger["totals"]["refused"], 2);
        assert!(
            ledger["totals"]["metering"]["rows_scanned"]
                .as_u64()
                .unwrap()
                > 0
        );
        let spends = ledger["spends"].as_array().unwrap();
        let spent = prod["budget_spent"]["epsilon"].as_f64().unwrap();
        if usage == "dp_aggregate" {
            assert!(spent > 0.0);
            assert_eq!(spends.len(), 1, "{ledger}");
            assert_eq!(spends[0]["query_id"], prod["id"]);
            let grant_spent = ledger["grant_spent"]["epsilon"].as_f64().unwrap();
            assert!((grant_spent - spent).abs() < 1e-9);
        } else {
            assert_eq!(spent, 0.0);
            assert!(spends.is_empty(), "{ledger}");
        }
    }
}

/// A merchant organisation other than the grant's, with a cleared analyst, made by the system:
/// signed in over the API.
async fn other_merchant(t: &TestApp, router: &Router) -> Session {
    let system = Ctx::system(RequestId::mint(t.app.now(), [9; 10]));
    let org = t
        .app
        .create_org(
            &system,
            NewOrg {
                name: "另一数据科技有限公司".into(),
                org_type: "merchant".into(),
                credit_code: CreditCode::complete("91640500MA0000099")
                    .unwrap()
                    .to_string(),
            },
        )
        .await
        .unwrap();
    let (person, totp) = t
        .app
        .create_person(
            &system,
            NewPerson {
                org: org.id,
                username: "other.merchant".into(),
                display_name: "另一数据商 分析员".into(),
                role: "merchant".into(),
                password: Some(DEMO_PASSWORD.into()),
                with_totp: t.app.profile().requires_second_factor(Role::Merchant),
                verified: true,
            },
        )
        .await
        .unwrap();
    t.app.seed_agreement(&system, person.id).await.unwrap();
    t.clock.advance_seconds(30);
    let code = totp.map(|secret| {
        let unix = u64::try_from(t.app.now().unix_micros() / 1_000_000).unwrap();
        secret.code_at(unix).unwrap()
    });
    let reply = call(
        router,
        "POST",
        "/api/v1/auth/login",
        &Session::default(),
        Some(json!({"username": "other.merchant", "password": DEMO_PASSWORD, "code": code})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let session = Session {
        cookie: Some(cookie),
        csrf: reply.json()["csrf_token"].as_str().map(str::to_owned),
        bearer: None,
    };
    let me = call(router, "GET", "/api/v1/me", &session, None)
        .await
        .json();
    assert_eq!(me["cleared"], true, "{me}");
    session
}

/// The strings of `value` (recursively).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn other_organisations_get_403_or_404_on_every_workspace_route_and_learn_nothing() {
    let t = TestApp::sqlite().await;
    let (router, analyst, ws) = setup(&t).await;
    prepare(&router, &analyst, &ws, "sample", 30).await;
    let dev = created(&query(&router, &analyst, &ws, "dev", GROUPED).await);
    let prod = created(&query(&router, &analyst, &ws, "prod", GROUPED).await);
    let refused_id = refusal(
        &query(
            &router,
            &analyst,
            &ws,
            "prod",
            "SELECT name FROM social_insurance",
        )
        .await,
    )["query_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query_ids = [
        dev["id"].as_str().unwrap().to_owned(),
        prod["id"].as_str().unwrap().to_owned(),
        refused_id,
    ];
    let fusion = upload_fusion(&router, &analyst, &ws, MEMBERS_QUERY, &members_csv()).await;
    assert_eq!(fusion.status, StatusCode::CREATED, "{}", fusion.text());
    let fusion_href = fusion.json()["href"].as_str().unwrap().to_owned();
    let stored_before = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}/queries"),
        &analyst,
        None,
    )
    .await
    .json()
    .as_array()
    .unwrap()
    .len();

    // What must not leak: table and column names, the SQL, and the results' values.
    let mut secrets: Vec<String> = vec![
        "social_insurance".into(),
        "clinic_visits".into(),
        "insurance_type".into(),
        "members".into(),
        "member_id".into(),
        "SELECT".into(),
        "select".into(),
    ];
    for q in [&dev, &prod] {
        let mut values = Vec::new();
        strings(&q["result"]["rows"], &mut values);
        secrets.extend(values.into_iter().filter(|v| v.len() >= 3));
    }
    assert!(
        secrets.len() > 5,
        "the results have text values to look for"
    );

    let mut others = Vec::new();
    for username in ["consumer", "source", "source2", "agency"] {
        others.push((username, login(&t, &router, username).await));
    }
    others.push(("other.merchant", other_merchant(&t, &router).await));

    for (who, session) in &others {
        // The list shows none of it.
        let list = call(&router, "GET", "/api/v1/workspaces", session, None).await;
        assert_eq!(list.status, StatusCode::OK, "{who}: {}", list.text());
        assert!(!list.text().contains(&ws), "{who}: {}", list.text());
        let list = call(&router, "GET", "/api/v1/fusion", session, None).await;
        assert_eq!(list.status, StatusCode::OK, "{who}: {}", list.text());
        assert_eq!(list.text(), "[]", "{who}");
        let reply = upload_fusion(&router, session, &ws, MEMBERS_QUERY, &members_csv()).await;
        assert_problem(&reply, StatusCode::FORBIDDEN);

        let mut attempts: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("/api/v1/workspaces/{ws}"), None),
            (
                "POST",
                format!("/api/v1/workspaces/{ws}/dev-tables"),
                Some(json!({"mode": "sample", "rows": 10})),
            ),
            (
                "POST",
                format!("/api/v1/workspaces/{ws}/queries"),
                Some(json!({"env": "dev", "sql": GROUPED})),
            ),
            (
                "POST",
                format!("/api/v1/workspaces/{ws}/queries"),
                Some(json!({"env": "prod", "sql": GROUPED})),
            ),
            ("GET", format!("/api/v1/workspaces/{ws}/queries"), None),
            ("GET", format!("/api/v1/workspaces/{ws}/ledger"), None),
            ("GET", format!("/api/v1/workspaces/{ws}/fusion"), None),
            ("GET", fusion_href.clone(), None),
            ("POST", format!("{fusion_href}/approve"), None),
            (
                "POST",
                format!("{fusion_href}/reject"),
                Some(json!({"reason": "x"})),
            ),
            ("POST", format!("{fusion_href}/withdraw"), None),
            (
                "POST",
                format!("{fusion_href}/revoke"),
                Some(json!({"reason": "x"})),
            ),
        ];
        for id in &query_ids {
            attempts.push(("GET", format!("/api/v1/workspaces/{ws}/queries/{id}"), None));
        }
        for (method, path, body) in attempts {
            let reply = call(&router, method, &path, session, body).await;
            assert!(
                reply.status == StatusCode::FORBIDDEN || reply.status == StatusCode::NOT_FOUND,
                "{who} {method} {path}: {} {}",
                reply.status,
                reply.text()
            );
            assert_problem(&reply, reply.status);
            let text = reply.text();
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{who} {method} {path} shows {secret:?}: {text}"
                );
            }
        }
    }

    // Nothing they sent was run or stored.
    let stored_after = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}/queries"),
        &analyst,
        None,
    )
    .await
    .json()
    .as_array()
    .unwrap()
    .len();
    assert_eq!(stored_after, stored_before);
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field_and_runs_nothing() {
    let t = TestApp::sqlite().await;
    let (router, analyst, ws) = setup(&t).await;
    let queries = format!("/api/v1/workspaces/{ws}/queries");
    let dev_tables = format!("/api/v1/workspaces/{ws}/dev-tables");
    // (path, body, the field named, a word the detail must contain)
    let cases: [(&str, Value, &str, &str); 9] = [
        (&queries, json!({"env": "dev", "sql": "   "}), "sql", "SQL"),
        (
            &queries,
            json!({"env": "staging", "sql": GROUPED}),
            "env",
            "dev",
        ),
        (
            &queries,
            json!({"env": "dev", "sql": GROUPED, "limit": 5}),
            "body",
            "limit",
        ),
        (&queries, json!({"env": "dev"}), "body", "sql"),
        (
            &queries,
            json!({"env": "dev", "sql": GROUPED, "epsilon": "much"}),
            "body",
            "epsilon",
        ),
        (
            &dev_tables,
            json!({"mode": "sample", "rows": 0}),
            "rows",
            "rows",
        ),
        (
            &dev_tables,
            json!({"mode": "everything", "rows": 10}),
            "mode",
            "sample",
        ),
        (
            &dev_tables,
            json!({"mode": "sample", "rows": 10, "seed": 3}),
            "body",
            "seed",
        ),
        (
            &dev_tables,
            json!({"mode": "sample", "rows": shuyu_app::MAX_DEV_ROWS + 1}),
            "rows",
            "rows",
        ),
    ];
    for (path, body, field, word) in cases {
        let reply = call(&router, "POST", path, &analyst, Some(body.clone())).await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], field, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(word),
            "{body}: {problem}"
        );
        assert!(problem.get("query_id").is_none(), "{body}: {problem}");
    }

    // Ids: malformed is a 422 naming the path, unknown a 404.
    for path in [
        "/api/v1/workspaces/not-a-workspace".to_owned(),
        format!("/api/v1/workspaces/{ws}/queries/not-a-query"),
        "/api/v1/workspaces/not-a-workspace/ledger".to_owned(),
    ] {
        let reply = call(&router, "GET", &path, &analyst, None).await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "path", "{path}: {problem}");
    }
    let unknown_ws = WorkspaceId::mint(t.app.now(), [7; 10]);
    let unknown_query = QueryId::mint(t.app.now(), [7; 10]);
    for path in [
        format!("/api/v1/workspaces/{unknown_ws}"),
        format!("/api/v1/workspaces/{unknown_ws}/queries"),
        format!("/api/v1/workspaces/{unknown_ws}/ledger"),
        format!("/api/v1/workspaces/{ws}/queries/{unknown_query}"),
    ] {
        let reply = call(&router, "GET", &path, &analyst, None).await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }
    let reply = query(&router, &analyst, &unknown_ws.to_string(), "dev", GROUPED).await;
    assert_problem(&reply, StatusCode::NOT_FOUND);

    // Nothing was stored or built.
    let list = call(&router, "GET", &queries, &analyst, None).await.json();
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    let view = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}"),
        &analyst,
        None,
    )
    .await
    .json();
    assert!(
        view["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["dev"].is_null())
    );
}

#[tokio::test]
async fn a_production_select_star_is_a_problem_that_quotes_no_data() {
    let t = TestApp::sqlite().await;
    let (router, analyst, ws) = setup(&t).await;
    prepare(&router, &analyst, &ws, "simulated", 50).await;
    const STAR: &str = "SELECT * FROM social_insurance";
    // Development shows its (simulated) rows; production refuses.
    let dev = created(&query(&router, &analyst, &ws, "dev", STAR).await);
    assert_eq!(dev["result"]["rows"].as_array().unwrap().len(), 50);
    let reply = query(&router, &analyst, &ws, "prod", STAR).await;
    let problem = refusal(&reply);
    let query_id = problem["query_id"].as_str().unwrap().to_owned();

    // The real rows, as imported (the demo data is generated from a fixed seed).
    let csv = DemoDataset::SocialInsurance.csv(ROWS, CsvEncoding::Utf8);
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let header = reader.headers().unwrap().clone();
    let mut values = std::collections::BTreeSet::new();
    let mut residents = std::collections::BTreeSet::new();
    for record in reader.records() {
        for (column, value) in header.iter().zip(&record.unwrap()) {
            if column == "resident_id" {
                residents.insert(value.to_owned());
            }
            // Short values (a digit, a code) and months (`2026-01`, also the start of any
            // timestamp) could match anywhere; every other value must not appear.
            if value.len() >= 6 && column != "contribution_month" {
                values.insert(value.to_owned());
            }
        }
    }
    assert!(
        residents.len() >= 5 && residents.iter().all(|r| values.contains(r)),
        "the data has people to look for: {residents:?}"
    );
    let stored = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}/queries/{query_id}"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    let stored_json = stored.json();
    assert_eq!(stored_json["outcome"], "refused");
    assert_eq!(stored_json["env"], "prod");
    assert!(stored_json["result"].is_null());
    assert_eq!(stored_json["result_rows"], 0);
    for text in [reply.text(), stored.text()] {
        for value in &values {
            assert!(!text.contains(value.as_str()), "{value:?} leaks: {text}");
        }
    }
}

#[tokio::test]
async fn epsilon_and_bounds_reach_a_differentially_private_run() {
    let t = TestApp::sqlite().await;
    let (router, analyst, ws) = setup(&t).await;
    let list = call(&router, "GET", "/api/v1/workspaces", &analyst, None)
        .await
        .json();
    assert_eq!(
        list[0]["usage"], "dp_aggregate",
        "the demo grant of the default profile answers with noise"
    );
    prepare(&router, &analyst, &ws, "sample", 40).await;
    // Bounds are accepted for any column the query may clamp (a count clamps nothing).
    let body = |env: &str, epsilon: Value, bounds: Value| {
        Some(json!({"env": env, "sql": GROUPED, "epsilon": epsilon, "bounds": bounds}))
    };
    let path = format!("/api/v1/workspaces/{ws}/queries");
    let bounds = json!({"social_insurance.contribution_base": [0, 20000]});

    // A bound that is not a pair, or an ε the grant cannot give, is refused naming it.
    let reply = call(
        &router,
        "POST",
        &path,
        &analyst,
        body(
            "dev",
            json!(0.05),
            json!({"social_insurance.contribution_base": [5]}),
        ),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"].as_str().unwrap().contains("bounds"),
        "{problem}"
    );
    // In development an ε the grant cannot give is the verdict on production, naming it.
    let verdict = created(
        &call(
            &router,
            "POST",
            &path,
            &analyst,
            body("dev", json!(-1.0), bounds.clone()),
        )
        .await,
    );
    assert_eq!(verdict["production"]["accepted"], false, "{verdict}");
    assert!(
        verdict["production"]["reason"]
            .as_str()
            .unwrap()
            .contains("epsilon"),
        "{verdict}"
    );

    // Development estimates what production would spend; production spends exactly that.
    let dev = created(
        &call(
            &router,
            "POST",
            &path,
            &analyst,
            body("dev", json!(0.05), bounds.clone()),
        )
        .await,
    );
    assert_eq!(dev["production"]["accepted"], true, "{dev}");
    let estimate = &dev["production"]["estimate"];
    assert!(
        (estimate["cost"]["epsilon"].as_f64().unwrap() - 0.05).abs() < 1e-9,
        "{dev}"
    );
    assert!(!estimate["columns"].as_array().unwrap().is_empty(), "{dev}");
    let prod = created(
        &call(
            &router,
            "POST",
            &path,
            &analyst,
            body("prod", json!(0.05), bounds.clone()),
        )
        .await,
    );
    assert!(
        (prod["budget_spent"]["epsilon"].as_f64().unwrap() - 0.05).abs() < 1e-9,
        "{prod}"
    );
    let ledger = call(
        &router,
        "GET",
        &format!("/api/v1/workspaces/{ws}/ledger"),
        &analyst,
        None,
    )
    .await
    .json();
    assert!(
        (ledger["grant_spent"]["epsilon"].as_f64().unwrap() - 0.05).abs() < 1e-9,
        "{ledger}"
    );
    assert_eq!(ledger["spends"][0]["query_id"], prod["id"]);

    // The bounds given clamp a sum: wider bounds, wider expected error.
    let mut ci95 = Vec::new();
    for upper in [100, 200] {
        let dev = created(
            &call(
                &router,
                "POST",
                &path,
                &analyst,
                Some(json!({
                    "env": "dev",
                    "sql": "SELECT insurance_type, SUM(contribution_base) AS total FROM social_insurance GROUP BY insurance_type",
                    "epsilon": 1.0,
                    "bounds": {"social_insurance.contribution_base": [0, upper]},
                })),
            )
            .await,
        );
        let column = &dev["production"]["estimate"]["columns"][0];
        // Named as the query names the result column.
        assert_eq!(column["column"], "total", "{dev}");
        assert_eq!(column["aggregate"], "sum", "{dev}");
        ci95.push(column["ci95"].as_f64().unwrap());
    }
    assert!(ci95[1] > ci95[0] * 1.5, "{ci95:?}");

    // Contribution bounds: within the cap they are in the estimate; beyond it, a 422 naming
    // the field and the cap, before anything is stored.
    let grouped =
        "SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type";
    let dev = created(
        &call(
            &router,
            "POST",
            &path,
            &analyst,
            Some(json!({"env": "dev", "sql": grouped, "max_groups_per_unit": 3, "max_rows_per_unit": 2})),
        )
        .await,
    );
    assert_eq!(
        dev["production"]["estimate"]["contribution"],
        json!({"groups_per_unit": 3, "rows_per_unit": 2}),
        "{dev}"
    );
    assert_eq!(
        dev["contribution"],
        json!({"groups_per_unit": 3, "rows_per_unit": 2}),
        "{dev}"
    );
    for (field, value, cap) in [
        ("max_groups_per_unit", 11, "1 to 10"),
        ("max_rows_per_unit", 500, "1 to 100"),
    ] {
        let reply = call(
            &router,
            "POST",
            &path,
            &analyst,
            Some(json!({"env": "prod", "sql": grouped, field: value})),
        )
        .await;
        let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], field, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(cap),
            "{problem}"
        );
        assert!(
            problem.get("query_id").is_none(),
            "nothing stored: {problem}"
        );
    }
}

#[test]
fn openapi_describes_the_workspace_routes_and_their_bodies() {
    let doc = serde_json::to_value(shuyu_api::openapi()).unwrap();
    let paths = &doc["paths"];
    for path in [
        "/api/v1/workspaces",
        "/api/v1/workspaces/{id}",
        "/api/v1/workspaces/{id}/dev-tables",
        "/api/v1/workspaces/{id}/queries",
        "/api/v1/workspaces/{id}/queries/{query_id}",
        "/api/v1/workspaces/{id}/ledger",
    ] {
        assert!(paths[path].is_object(), "{path} is not described");
    }
    let run = &paths["/api/v1/workspaces/{id}/queries"]["post"];
    assert!(
        run["responses"]["201"]["headers"]["location"].is_object(),
        "{run}"
    );
    assert!(run["responses"]["422"].is_object(), "{run}");
    let schemas = &doc["components"]["schemas"];
    for field in ["env", "sql", "epsilon", "bounds"] {
        assert!(
            schemas["QueryRequestIn"]["properties"][field].is_object(),
            "QueryRequestIn.{field}"
        );
    }
    for field in ["mode", "rows"] {
        assert!(
            schemas["PrepareDevRequest"]["properties"][field].is_object(),
            "PrepareDevRequest.{field}"
        );
    }
}
