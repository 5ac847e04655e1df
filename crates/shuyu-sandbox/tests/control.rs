//! Column controls derived through the logical plan: a table with one column of each control,
//! and queries that use each of them every way SQL allows (select, aggregate, group, join, filter,
//! order, limit, subqueries, CTEs, unions, casts, functions). Allowed queries assert the derived
//! controls of their result; refused ones assert that the refusal names the column and the reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use common::{Fixture, file};
use shuyu_sandbox::{
    CancellationToken, ColumnControl, ControlError, Controls, Limits, Reason, SandboxError,
    SandboxSession, SessionSpec, TableSpec, derive,
};

use ColumnControl::{AggregateOnly as A, GroupBy as G, Visible as V};

/// `social`: one column of each control (`name` is exposed but has none: denied). `people`: the
/// same file with `resident_id` as its join key and `insurance_type` visible.
fn spec(fx: &Fixture) -> SessionSpec {
    let social = [
        ("insurance_type", ColumnControl::Visible),
        ("contribution_base", ColumnControl::AggregateOnly),
        ("contribution_month", ColumnControl::GroupBy),
        ("resident_id", ColumnControl::JoinKey),
        ("personal_amount", ColumnControl::CompareOnly),
    ];
    let people = [
        ("resident_id", ColumnControl::JoinKey),
        ("insurance_type", ColumnControl::Visible),
        ("employer_amount", ColumnControl::AggregateOnly),
    ];
    let table = |name: &str, columns: &[(&str, ColumnControl)], extra: &[&str]| TableSpec {
        name: name.to_owned(),
        path: file(),
        columns: columns
            .iter()
            .map(|(c, _)| (*c).to_owned())
            .chain(extra.iter().map(|c| (*c).to_owned()))
            .collect(),
        controls: columns
            .iter()
            .map(|(c, k)| ((*c).to_owned(), *k))
            .collect::<BTreeMap<_, _>>(),
    };
    SessionSpec {
        tables: vec![
            table("social", &social, &["name"]),
            table("people", &people, &[]),
        ],
        store: Arc::clone(&fx.store),
        limits: Limits::default(),
        domain: shuyu_sandbox::QueryDomain::shared(usize::MAX),
    }
}

async fn session() -> (Fixture, SandboxSession) {
    let fx = Fixture::with_rows(300, 100).await;
    let session = SandboxSession::new(spec(&fx)).await.unwrap();
    (fx, session)
}

enum Expect {
    /// Allowed, with these derived controls of the result columns.
    Allowed(&'static [ColumnControl]),
    /// Refused, naming this column, with a message containing this fragment.
    Refused(&'static str, &'static str),
}
use Expect::{Allowed, Refused};

const CASES: &[(&str, Expect)] = &[
    // ---- plain select of each ----
    ("SELECT insurance_type FROM social", Allowed(&[V])),
    (
        "SELECT contribution_base FROM social",
        Refused("contribution_base", "appears outside an aggregate"),
    ),
    (
        "SELECT contribution_month FROM social",
        Refused("contribution_month", "other than as a GROUP BY key"),
    ),
    (
        "SELECT resident_id FROM social",
        Refused("resident_id", "(join key only) cannot be output"),
    ),
    (
        "SELECT personal_amount FROM social",
        Refused("personal_amount", "(compare only) cannot be output"),
    ),
    (
        "SELECT name FROM social",
        Refused("name", "(denied) is not usable"),
    ),
    ("SELECT * FROM social", Refused("name", "(denied)")),
    (
        "SELECT * FROM people",
        Refused("resident_id", "cannot be output"),
    ),
    ("SELECT count(*) FROM social", Allowed(&[V])),
    // ---- aggregates of each ----
    (
        "SELECT sum(contribution_base), avg(contribution_base), count(contribution_base) FROM social",
        Allowed(&[A, A, A]),
    ),
    (
        "SELECT max(contribution_base) FROM social",
        Refused(
            "contribution_base",
            "cannot be aggregated with max: it would output one row's value",
        ),
    ),
    (
        "SELECT min(contribution_base) FROM social",
        Refused("contribution_base", "aggregated with min"),
    ),
    (
        "SELECT max(contribution_month), count(DISTINCT contribution_month) FROM social",
        Allowed(&[A, A]),
    ),
    (
        "SELECT count(resident_id), count(DISTINCT resident_id) FROM social",
        Allowed(&[A, A]),
    ),
    (
        "SELECT sum(character_length(resident_id)) FROM social",
        Refused("resident_id", "only count may summarize it"),
    ),
    ("SELECT count(personal_amount) FROM social", Allowed(&[A])),
    (
        "SELECT sum(personal_amount) FROM social",
        Refused("personal_amount", "cannot be aggregated with sum"),
    ),
    ("SELECT count(name) FROM social", Refused("name", "denied")),
    ("SELECT max(insurance_type) FROM social", Allowed(&[V])),
    // ---- group by each ----
    (
        "SELECT insurance_type, count(*) FROM social GROUP BY insurance_type",
        Allowed(&[V, V]),
    ),
    (
        "SELECT contribution_month, sum(contribution_base) FROM social GROUP BY contribution_month",
        Allowed(&[G, A]),
    ),
    (
        "SELECT contribution_base, count(*) FROM social GROUP BY contribution_base",
        Refused("contribution_base", "cannot be a GROUP BY key"),
    ),
    (
        "SELECT resident_id, count(*) FROM social GROUP BY resident_id",
        Refused("resident_id", "one group per identifier"),
    ),
    (
        "SELECT count(*) FROM social GROUP BY personal_amount",
        Refused("personal_amount", "group by a comparison of it"),
    ),
    (
        "SELECT substr(contribution_month, 1, 4) AS y, count(*) FROM social GROUP BY substr(contribution_month, 1, 4)",
        Allowed(&[G, V]),
    ),
    (
        "SELECT CASE WHEN personal_amount > 500 THEN 'high' ELSE 'low' END AS band, count(*) FROM social GROUP BY 1",
        Allowed(&[G, V]),
    ),
    // ---- where on each ----
    (
        "SELECT insurance_type FROM social WHERE personal_amount > 500",
        Allowed(&[V]),
    ),
    (
        "SELECT insurance_type FROM social WHERE contribution_base > 5000",
        Refused("contribution_base", "selects the result's rows"),
    ),
    (
        "SELECT count(*) FROM social WHERE contribution_base > 5000",
        Allowed(&[A]),
    ),
    (
        "SELECT insurance_type FROM social WHERE contribution_month = '2024-01'",
        Refused("contribution_month", "selects the result's rows"),
    ),
    (
        "SELECT insurance_type, count(*) FROM social WHERE contribution_month = '2024-01' GROUP BY insurance_type",
        Allowed(&[V, A]),
    ),
    (
        "SELECT count(*) FROM social WHERE resident_id = '110101199001011234'",
        Refused("resident_id", "never with a literal"),
    ),
    (
        "SELECT count(*) FROM social WHERE substr(resident_id, 1, 6) = '110101'",
        Refused("resident_id", "join key only"),
    ),
    (
        "SELECT count(*) FROM social WHERE name LIKE '张%'",
        Refused("name", "denied"),
    ),
    (
        "SELECT sum(contribution_base) FROM social HAVING sum(contribution_base) > 10",
        Allowed(&[A]),
    ),
    // ---- join on each ----
    (
        "SELECT s.insurance_type, count(*) FROM social s JOIN people p ON s.resident_id = p.resident_id GROUP BY s.insurance_type",
        Allowed(&[V, V]),
    ),
    (
        "SELECT p.insurance_type FROM social s JOIN people p ON s.resident_id = p.resident_id",
        Allowed(&[V]),
    ),
    (
        "SELECT s.insurance_type FROM social s, people p WHERE s.resident_id = p.resident_id",
        Allowed(&[V]),
    ),
    (
        "SELECT s.resident_id FROM social s JOIN people p ON s.resident_id = p.resident_id",
        Refused("resident_id", "join key only"),
    ),
    (
        "SELECT count(*) FROM social s JOIN people p ON substr(s.resident_id, 1, 6) = substr(p.resident_id, 1, 6)",
        Refused("resident_id", "never with a literal or inside a function"),
    ),
    (
        "SELECT p.insurance_type FROM social s JOIN people p ON s.contribution_base = p.employer_amount",
        Refused("employer_amount", "selects the result's rows"),
    ),
    (
        "SELECT count(*) FROM social s JOIN people p ON s.contribution_base = p.employer_amount",
        Allowed(&[A]),
    ),
    (
        "SELECT p.insurance_type FROM social s JOIN people p ON s.personal_amount > p.employer_amount",
        Refused("employer_amount", "selects the result's rows"),
    ),
    // ---- order by and limit ----
    (
        "SELECT insurance_type FROM social ORDER BY insurance_type LIMIT 5",
        Allowed(&[V]),
    ),
    (
        "SELECT insurance_type FROM social ORDER BY personal_amount",
        Refused("personal_amount", "ORDER BY would reveal its order"),
    ),
    (
        "SELECT insurance_type FROM social ORDER BY contribution_base",
        Refused("contribution_base", "ORDER BY"),
    ),
    (
        "SELECT insurance_type, sum(contribution_base) AS s FROM social GROUP BY insurance_type ORDER BY s DESC LIMIT 3",
        Allowed(&[V, A]),
    ),
    (
        "SELECT sum(b) FROM (SELECT contribution_base AS b FROM social LIMIT 1) t",
        Refused("contribution_base", "could pick single rows"),
    ),
    (
        "SELECT sum(b) FROM (SELECT contribution_base AS b FROM social ORDER BY personal_amount DESC LIMIT 1) t",
        Refused("personal_amount", "ORDER BY"),
    ),
    // ---- arithmetic, casts, functions, CASE ----
    (
        "SELECT insurance_type || contribution_base FROM social",
        Refused("contribution_base", "outside an aggregate"),
    ),
    (
        "SELECT sum(contribution_base + 1) / count(*) FROM social",
        Allowed(&[A]),
    ),
    (
        "SELECT CAST(contribution_base AS VARCHAR) FROM social",
        Refused("contribution_base", "outside an aggregate"),
    ),
    (
        "SELECT CAST(resident_id AS VARCHAR) FROM social",
        Refused("resident_id", "cannot be output"),
    ),
    (
        "SELECT substr(resident_id, 1, 6) FROM social",
        Refused("resident_id", "cannot be output"),
    ),
    (
        "SELECT personal_amount > 500 FROM social",
        Refused("personal_amount", "through a comparison row by row"),
    ),
    (
        "SELECT CASE WHEN personal_amount > 500 THEN 1 ELSE 0 END FROM social",
        Refused("personal_amount", "through a comparison row by row"),
    ),
    (
        "SELECT sum(CASE WHEN personal_amount > 500 THEN 1 ELSE 0 END) FROM social",
        Allowed(&[A]),
    ),
    (
        "SELECT max(CASE WHEN personal_amount > 500 THEN 1 ELSE 0 END) FROM social",
        Refused("personal_amount", "aggregated with max"),
    ),
    (
        "SELECT CASE WHEN insurance_type = 'x' THEN contribution_base END FROM social",
        Refused("contribution_base", "outside an aggregate"),
    ),
    (
        "SELECT coalesce(contribution_month, insurance_type) FROM social",
        Refused("contribution_month", "other than as a GROUP BY key"),
    ),
    // ---- subqueries, CTEs, unions, self-joins ----
    (
        "SELECT insurance_type FROM social WHERE resident_id IN (SELECT resident_id FROM people)",
        Allowed(&[V]),
    ),
    (
        "SELECT insurance_type FROM social WHERE resident_id IN (SELECT substr(resident_id, 1, 18) FROM people)",
        Refused("resident_id", "join key only"),
    ),
    (
        "SELECT insurance_type FROM social s WHERE EXISTS (SELECT 1 FROM people p WHERE p.resident_id = s.resident_id)",
        Allowed(&[V]),
    ),
    (
        "SELECT insurance_type FROM social s WHERE EXISTS (SELECT 1 FROM people p WHERE p.employer_amount > 9000 AND p.resident_id = s.resident_id)",
        Refused("employer_amount", "selects the result's rows"),
    ),
    (
        "SELECT insurance_type FROM social WHERE personal_amount > (SELECT avg(contribution_base) FROM social)",
        Allowed(&[V]),
    ),
    (
        "SELECT (SELECT max(contribution_base) FROM social) AS m",
        Refused("contribution_base", "aggregated with max"),
    ),
    (
        "SELECT insurance_type, (SELECT sum(employer_amount) FROM people) FROM social",
        Allowed(&[V, A]),
    ),
    (
        "WITH t AS (SELECT contribution_base AS b, insurance_type FROM social) SELECT b FROM t",
        Refused("contribution_base", "outside an aggregate"),
    ),
    (
        "WITH t AS (SELECT contribution_base AS b, insurance_type FROM social) SELECT insurance_type, avg(b) FROM t GROUP BY insurance_type",
        Allowed(&[V, A]),
    ),
    (
        "WITH t AS (SELECT contribution_month AS m, sum(contribution_base) AS s FROM social GROUP BY contribution_month) SELECT m, s FROM t ORDER BY s",
        Allowed(&[G, A]),
    ),
    (
        "SELECT insurance_type FROM social UNION SELECT resident_id FROM people",
        Refused("resident_id", "cannot be output"),
    ),
    (
        "SELECT insurance_type FROM social UNION ALL SELECT insurance_type FROM people",
        Allowed(&[V]),
    ),
    (
        "SELECT a.insurance_type FROM social a JOIN social b ON a.resident_id = b.resident_id WHERE b.personal_amount > 100",
        Allowed(&[V]),
    ),
    (
        "SELECT b.contribution_base FROM social a JOIN social b ON a.resident_id = b.resident_id",
        Refused("contribution_base", "outside an aggregate"),
    ),
    (
        "SELECT DISTINCT contribution_month FROM social",
        Refused("contribution_month", "other than as a GROUP BY key"),
    ),
    ("SELECT DISTINCT insurance_type FROM social", Allowed(&[V])),
    (
        "SELECT count(DISTINCT resident_id) FROM social WHERE personal_amount > 0",
        Allowed(&[A]),
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_used_every_way() {
    let (_fx, session) = session().await;
    let mut failures = Vec::new();
    for (sql, expect) in CASES {
        match (session.plan(sql), expect) {
            (Ok(plan), Allowed(controls)) => {
                let derived: Vec<ColumnControl> = session
                    .check_controls(&plan)
                    .unwrap()
                    .into_iter()
                    .map(|c| c.control)
                    .collect();
                if derived != *controls {
                    failures.push(format!("{sql}: derived {derived:?}, expected {controls:?}"));
                }
            }
            (Err(SandboxError::ColumnControl(e)), Refused(column, fragment)) => {
                let message = e.to_string();
                if e.column() != Some(*column)
                    || !message.contains(&format!("`{column}`"))
                    || !message.contains(fragment)
                {
                    failures.push(format!(
                        "{sql}: refused with «{message}», expected `{column}` and «{fragment}»"
                    ));
                }
            }
            (Ok(_), Refused(column, _)) => {
                failures.push(format!("{sql}: allowed, expected a refusal on `{column}`"))
            }
            (Err(e), _) => failures.push(format!("{sql}: {e}")),
        }
    }
    assert!(CASES.len() >= 30);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_refusals_and_execute_checks_again() {
    let (_fx, session) = session().await;
    let err = session.plan("SELECT resident_id FROM social").unwrap_err();
    assert!(err.is_refusal());
    assert!(matches!(
        err,
        SandboxError::ColumnControl(ControlError::Refused { ref table, control: ColumnControl::JoinKey, reason: Reason::Output, .. }) if table == "social"
    ));
    // A plan made by a session without controls is refused by one with them.
    let fx = Fixture::with_rows(300, 100).await;
    let mut open = spec(&fx);
    for table in &mut open.tables {
        let all: Vec<String> = table.columns.clone();
        table.controls = all
            .into_iter()
            .map(|c| (c, ColumnControl::Visible))
            .collect();
    }
    let permissive = SandboxSession::new(open).await.unwrap();
    let plan = permissive
        .plan("SELECT contribution_base FROM social")
        .unwrap();
    let err = session
        .execute(plan, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert_eq!(
        err.to_string(),
        "column `contribution_base` (aggregate only) appears outside an aggregate in the result: use it inside count, sum or avg"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_aggregate_runs_and_a_refusal_quotes_no_value() {
    let (_fx, session) = session().await;
    let out = session
        .query(
            "SELECT count(*) AS n FROM social s JOIN people p ON s.resident_id = p.resident_id WHERE s.personal_amount > 0",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let n = out.batches[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    assert!(n >= 300, "every row joins itself at least: {n}");
    let err = session
        .plan("SELECT insurance_type FROM social WHERE resident_id = '110101199001011234'")
        .unwrap_err();
    assert!(!err.to_string().contains("110101199001011234"), "{err}");
}

/// Deny by default: a column without a control is denied, and so is every use of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derive_denies_columns_without_controls() {
    let (_fx, session) = session().await;
    let plan = session.plan("SELECT insurance_type FROM social").unwrap();
    let none = Controls::new();
    let err = derive(&plan, &none).unwrap_err();
    assert_eq!(err.column(), Some("insurance_type"));
    assert!(err.to_string().contains("(denied)"));
    let visible = Controls::new().with("social", "insurance_type", ColumnControl::Visible);
    assert_eq!(
        derive(&plan, &visible).unwrap()[0].control,
        ColumnControl::Visible
    );
    assert_eq!(visible.control("social", "other"), ColumnControl::Denied);
}

/// Small generated queries: every control through every clause shape. Whatever is allowed never
/// outputs a raw protected value: its result columns are visible, group labels or aggregates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_queries_never_output_a_raw_protected_column() {
    let (_fx, session) = session().await;
    let columns = [
        ("insurance_type", ColumnControl::Visible),
        ("contribution_base", ColumnControl::AggregateOnly),
        ("contribution_month", ColumnControl::GroupBy),
        ("resident_id", ColumnControl::JoinKey),
        ("personal_amount", ColumnControl::CompareOnly),
        ("name", ColumnControl::Denied),
    ];
    let mut allowed = 0;
    let mut refused = 0;
    for (x, cx) in columns {
        for (y, cy) in columns {
            let shapes = [
                (
                    format!("SELECT {x} FROM social WHERE {y} > '0'"),
                    cx == V && matches!(cy, V | ColumnControl::CompareOnly),
                ),
                (
                    format!("SELECT {x}, count({y}) FROM social GROUP BY {x}"),
                    false,
                ),
                (
                    format!("SELECT {x} FROM social ORDER BY {y}"),
                    cx == V && cy == V,
                ),
                (
                    format!("SELECT concat({x}, {y}) FROM social"),
                    cx == V && cy == V,
                ),
                (
                    format!("SELECT count(*) FROM social WHERE {x} = {y}"),
                    false,
                ),
            ];
            for (sql, must_allow) in shapes {
                match session.plan(&sql) {
                    Ok(plan) => {
                        allowed += 1;
                        for out in session.check_controls(&plan).unwrap() {
                            assert!(matches!(out.control, V | A | G), "{sql}");
                        }
                        // A protected raw column never survives in the SELECT list unaggregated.
                        if !sql.contains("count(") && !sql.contains("GROUP BY") {
                            assert_eq!(cx, V, "{sql}");
                        }
                    }
                    Err(e) => {
                        refused += 1;
                        assert!(!must_allow, "{sql}: {e}");
                        assert!(
                            e.is_refusal() || matches!(e, SandboxError::InvalidQuery { .. }),
                            "{sql}: {e}"
                        );
                    }
                }
            }
        }
    }
    assert!(
        allowed > 10 && refused > 50,
        "allowed {allowed}, refused {refused}"
    );
}
