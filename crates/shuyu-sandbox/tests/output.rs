//! Output control for `aggregate` grants over the encrypted synthetic dataset: minimum group size
//! in distinct persons (not rows), suppression counts, refusals of row-level output and of
//! aggregates whose persons cannot be counted, joins, HAVING / ORDER BY / LIMIT.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_array::RecordBatch;
use common::{Fixture, file};
use datafusion::arrow::util::display::array_value_to_string;
use shuyu_sandbox::{
    AggregateControl, AggregateOutput, CancellationToken, ColumnControl, Limits, SandboxError,
    SandboxSession, SessionSpec, TableSpec, apply_aggregate_control,
};

const COLUMNS: &[&str] = &[
    "resident_id",
    "employer_credit_code",
    "insurance_type",
    "contribution_month",
];

/// One row of the CSV: its person and employer.
struct Row {
    person: String,
    employer: String,
}

fn rows(fx: &Fixture) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(fx.csv.as_slice());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (person, employer) = (at("resident_id"), at("employer_credit_code"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            Row {
                person: r[person].to_owned(),
                employer: r[employer].to_owned(),
            }
        })
        .collect()
}

/// Per employer: (distinct persons, rows).
fn by_employer(rows: &[Row]) -> BTreeMap<String, (usize, i64)> {
    let mut persons: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows {
        persons
            .entry(&row.employer)
            .or_default()
            .insert(&row.person);
        *counts.entry(&row.employer).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(e, n)| (e.to_owned(), (persons[e].len(), n)))
        .collect()
}

fn controls(k: u64, tables: &[&str]) -> AggregateControl {
    AggregateControl {
        k,
        units: tables
            .iter()
            .map(|t| ((*t).to_owned(), "resident_id".to_owned()))
            .collect(),
        rows_per_unit: BTreeMap::new(),
    }
}

fn table(name: &str) -> TableSpec {
    TableSpec {
        name: name.to_owned(),
        path: file(),
        columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        // Every column visible: these tests are about the output control alone (the column
        // controls have their own tests in control.rs).
        controls: COLUMNS
            .iter()
            .map(|c| ((*c).to_owned(), ColumnControl::Visible))
            .collect(),
    }
}

async fn session(fx: &Fixture, tables: &[&str]) -> SandboxSession {
    SandboxSession::new(SessionSpec {
        tables: tables.iter().map(|t| table(t)).collect(),
        store: Arc::clone(&fx.store),
        limits: Limits::default(),
        domain: shuyu_sandbox::QueryDomain::shared(usize::MAX),
    })
    .await
    .unwrap()
}

async fn run(
    session: &SandboxSession,
    sql: &str,
    controls: &AggregateControl,
) -> Result<AggregateOutput, SandboxError> {
    let plan = session.plan(sql)?;
    session
        .execute_aggregate(plan, controls, &CancellationToken::new())
        .await
}

/// The result as (first column as text, second column as i64) pairs, in order.
fn pairs(batches: &[RecordBatch]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for batch in batches {
        for i in 0..batch.num_rows() {
            let key = array_value_to_string(batch.column(0), i).unwrap();
            let n = array_value_to_string(batch.column(1), i).unwrap();
            out.push((key, n.parse().unwrap()));
        }
    }
    out
}

fn assert_no_hidden_columns(out: &AggregateOutput, expected: &[&str]) {
    let names: Vec<&str> = out
        .output
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, expected);
    for batch in &out.output.batches {
        assert_eq!(batch.schema(), out.output.schema);
    }
}

fn refusal(result: Result<AggregateOutput, SandboxError>) -> String {
    match result {
        Err(e @ SandboxError::OutputNotAllowed { .. }) => {
            assert!(e.is_refusal());
            e.to_string()
        }
        Err(other) => panic!("expected an output refusal, got {other}"),
        Ok(_) => panic!("expected an output refusal, the query ran"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_below_k_distinct_persons_are_suppressed_and_counted_exactly() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    // The synthetic city's employers are small: most have one contributor among 20 000 rows.
    let k = 2;
    let expected = by_employer(&rows(&fx));
    let kept: BTreeMap<String, i64> = expected
        .iter()
        .filter(|(_, (persons, _))| *persons >= k)
        .map(|(e, (_, n))| (e.clone(), *n))
        .collect();
    let below: Vec<_> = expected
        .values()
        .filter(|(persons, _)| *persons < k)
        .collect();
    // The dataset has both kinds, and groups with many rows but few persons.
    assert!(!kept.is_empty() && !below.is_empty());
    assert!(
        below.iter().any(|(_, n)| *n >= k as i64),
        "some small employer has at least k rows"
    );

    let out = run(
        &session,
        "SELECT employer_credit_code, count(*) AS n FROM social GROUP BY employer_credit_code",
        &controls(k as u64, &["social"]),
    )
    .await
    .unwrap();
    assert_no_hidden_columns(&out, &["employer_credit_code", "n"]);
    let got: BTreeMap<String, i64> = pairs(&out.output.batches).into_iter().collect();
    assert_eq!(got, kept);
    assert_eq!(out.suppression.groups, below.len() as u64);
    assert_eq!(
        out.suppression.rows,
        below.iter().map(|(_, n)| *n as u64).sum::<u64>()
    );
    assert_eq!(out.output.metering.output_rows, kept.len() as u64);
    // One pass: the table is scanned once.
    assert_eq!(out.output.metering.rows_scanned, common::ROWS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_with_many_rows_does_not_make_a_group() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let rows = rows(&fx);
    let mut per_person: BTreeMap<&str, i64> = BTreeMap::new();
    for row in &rows {
        *per_person.entry(&row.person).or_default() += 1;
    }
    let (person, n) = per_person.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(*n >= 10, "a person with many rows");
    let sql = format!(
        "SELECT insurance_type, count(*) AS n FROM social WHERE resident_id = '{person}' \
         GROUP BY insurance_type"
    );
    let out = run(&session, &sql, &controls(10, &["social"]))
        .await
        .unwrap();
    assert_eq!(out.output.metering.output_rows, 0);
    assert!(out.suppression.groups >= 1);
    assert_eq!(out.suppression.rows, *n as u64);
    // With k = 1 the same person's groups pass: the count is of persons, not rows.
    let out = run(&session, &sql, &controls(1, &["social"]))
        .await
        .unwrap();
    let total: i64 = pairs(&out.output.batches).iter().map(|(_, n)| n).sum();
    assert_eq!(total, *n);
    assert_eq!(out.suppression.groups, 0);
    assert_eq!(out.suppression.rows, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_by_on_the_person_identifier_shows_nothing() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let persons = rows(&fx)
        .iter()
        .map(|r| r.person.clone())
        .collect::<BTreeSet<_>>()
        .len() as u64;
    let out = run(
        &session,
        "SELECT resident_id, sum(1) AS n FROM social GROUP BY resident_id",
        &controls(2, &["social"]),
    )
    .await
    .unwrap();
    assert_no_hidden_columns(&out, &["resident_id", "n"]);
    assert_eq!(out.output.metering.output_rows, 0);
    assert_eq!(out.suppression.groups, persons);
    assert_eq!(out.suppression.rows, common::ROWS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_aggregate_below_k_is_suppressed() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let rows = rows(&fx);
    let persons: Vec<&str> = rows
        .iter()
        .map(|r| r.person.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(3)
        .collect();
    let n = rows
        .iter()
        .filter(|r| persons.contains(&r.person.as_str()))
        .count() as u64;
    let list = persons
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT count(*) AS n FROM social WHERE resident_id IN ({list})");
    let out = run(&session, &sql, &controls(5, &["social"]))
        .await
        .unwrap();
    assert_no_hidden_columns(&out, &["n"]);
    assert_eq!(out.output.metering.output_rows, 0);
    assert_eq!(out.suppression.groups, 1);
    assert_eq!(out.suppression.rows, n);
    // Three persons reach k = 3.
    let out = run(&session, &sql, &controls(3, &["social"]))
        .await
        .unwrap();
    assert_eq!(pairs_single(&out.output.batches), n as i64);
    assert_eq!(out.suppression.groups, 0);
}

fn pairs_single(batches: &[RecordBatch]) -> i64 {
    let batch = batches.iter().find(|b| b.num_rows() > 0).unwrap();
    array_value_to_string(batch.column(0), 0)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn having_order_by_and_limit_apply_to_the_groups_that_passed() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let k = 2;
    let mut expected: Vec<(String, i64)> = by_employer(&rows(&fx))
        .into_iter()
        .filter(|(_, (persons, n))| *persons >= k && *n > 30)
        .map(|(e, (_, n))| (e, n))
        .collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    expected.truncate(7);
    assert_eq!(expected.len(), 7);
    let out = run(
        &session,
        "SELECT employer_credit_code AS employer, count(*) AS n FROM social \
         GROUP BY employer_credit_code HAVING count(*) > 30 \
         ORDER BY n DESC, employer LIMIT 7",
        &controls(k as u64, &["social"]),
    )
    .await
    .unwrap();
    assert_no_hidden_columns(&out, &["employer", "n"]);
    assert_eq!(pairs(&out.output.batches), expected);

    // A HAVING that keeps only small groups keeps nothing: suppression came first.
    let out = run(
        &session,
        "SELECT employer_credit_code, count(DISTINCT resident_id) AS persons FROM social \
         GROUP BY employer_credit_code HAVING count(DISTINCT resident_id) < 2",
        &controls(k as u64, &["social"]),
    )
    .await
    .unwrap();
    assert_eq!(out.output.metering.output_rows, 0);
    assert!(out.suppression.groups > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_passes_only_if_each_tables_persons_reach_k() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social", "again"]).await;
    let rows = rows(&fx);
    let k = 2;
    let employers = by_employer(&rows);
    // Every employer's rows joined with themselves: n² rows, the same persons on both sides.
    let kept: BTreeMap<String, i64> = employers
        .iter()
        .filter(|(_, (persons, _))| *persons >= k)
        .map(|(e, (_, n))| (e.clone(), n * n))
        .collect();
    let below: Vec<_> = employers.values().filter(|(p, _)| *p < k).collect();
    let out = run(
        &session,
        "SELECT a.employer_credit_code, count(*) AS n FROM social a \
         JOIN again b ON a.employer_credit_code = b.employer_credit_code \
         GROUP BY a.employer_credit_code",
        &controls(k as u64, &["social", "again"]),
    )
    .await
    .unwrap();
    assert_no_hidden_columns(&out, &["employer_credit_code", "n"]);
    let got: BTreeMap<String, i64> = pairs(&out.output.batches).into_iter().collect();
    assert_eq!(got, kept);
    assert_eq!(out.suppression.groups, below.len() as u64);
    assert_eq!(
        out.suppression.rows,
        below.iter().map(|(_, n)| (n * n) as u64).sum::<u64>()
    );

    // One person on one side, many on the other: the pairs are many, the persons of `again`
    // are one, so the group is suppressed.
    let (employer, (_, _)) = employers
        .iter()
        .max_by_key(|(_, (persons, _))| *persons)
        .unwrap();
    let person = &rows
        .iter()
        .find(|r| &r.employer == employer)
        .unwrap()
        .person;
    let out = run(
        &session,
        &format!(
            "SELECT a.employer_credit_code, count(*) AS n FROM social a \
             JOIN again b ON a.employer_credit_code = b.employer_credit_code \
             WHERE b.resident_id = '{person}' GROUP BY a.employer_credit_code"
        ),
        &controls(k as u64, &["social", "again"]),
    )
    .await
    .unwrap();
    assert_eq!(out.output.metering.output_rows, 0);
    assert_eq!(out.suppression.groups, 1);

    // A joined table without a declared privacy unit is refused.
    let message = refusal(
        run(
            &session,
            "SELECT a.insurance_type, count(*) FROM social a JOIN again b \
             ON a.resident_id = b.resident_id GROUP BY a.insurance_type",
            &controls(k as u64, &["social"]),
        )
        .await,
    );
    assert!(message.contains("`again` has no privacy unit"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_output_is_refused() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let c = controls(5, &["social"]);
    for sql in [
        "SELECT * FROM social",
        "SELECT insurance_type FROM social",
        "SELECT DISTINCT employer_credit_code FROM social",
        "SELECT insurance_type FROM social ORDER BY insurance_type LIMIT 3",
        "SELECT insurance_type FROM social UNION ALL SELECT insurance_type FROM social",
        "SELECT n FROM (SELECT count(*) AS n FROM social) s CROSS JOIN social",
    ] {
        let message = refusal(run(&session, sql, &c).await);
        assert!(
            message.contains("only aggregated results: use GROUP BY with COUNT/SUM/AVG"),
            "{sql}: {message}"
        );
    }
    for sql in [
        "SELECT insurance_type, min(contribution_month) FROM social GROUP BY insurance_type",
        "SELECT insurance_type, max(resident_id) FROM social GROUP BY insurance_type",
    ] {
        let message = refusal(run(&session, sql, &c).await);
        assert!(message.contains("COUNT, SUM and AVG"), "{sql}: {message}");
    }
    // A scalar subquery beside the aggregate would bring a row past the control.
    let message = refusal(
        run(
            &session,
            "SELECT insurance_type, count(*), (SELECT max(resident_id) FROM social) \
             FROM social GROUP BY insurance_type",
            &c,
        )
        .await,
    );
    assert!(message.contains("subquery"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_over_a_subquery_that_drops_the_unit_is_refused() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let c = controls(5, &["social"]);
    for sql in [
        "SELECT insurance_type, count(*) FROM (SELECT insurance_type FROM social) s \
         GROUP BY insurance_type",
        "WITH t AS (SELECT insurance_type FROM social) \
         SELECT insurance_type, count(*) FROM t GROUP BY insurance_type",
        // Keeping the column through a derived table is refused too in v1.
        "SELECT insurance_type, count(*) FROM (SELECT * FROM social) s GROUP BY insurance_type",
        // An aggregate over an aggregate: the outer groups are groups of groups.
        "SELECT count(*) FROM (SELECT employer_credit_code, count(*) AS n FROM social \
         GROUP BY employer_credit_code) g",
    ] {
        let message = refusal(run(&session, sql, &c).await);
        assert!(
            message.contains("cannot count the persons behind each group: keep")
                && message.contains("`resident_id`"),
            "{sql}: {message}"
        );
    }
    // Aliases and filters over the table itself are fine.
    let out = run(
        &session,
        "SELECT s.insurance_type, count(*) FROM social AS s WHERE s.contribution_month >= '' \
         GROUP BY s.insurance_type",
        &c,
    )
    .await
    .unwrap();
    assert!(out.output.metering.output_rows > 0);
}

/// The rewrite on its own: the controlled plan keeps the original schema, the suppression plan
/// has its two documented columns, and a session table whose unit is not exposed is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rewrite_keeps_the_schema_and_needs_the_unit_column() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let plan = session
        .plan("SELECT insurance_type, sum(1) AS s, avg(2) FROM social GROUP BY insurance_type")
        .unwrap();
    let controlled = apply_aggregate_control(&plan, &controls(5, &["social"])).unwrap();
    assert_eq!(controlled.plan.schema(), plan.schema());
    let names: Vec<_> = controlled
        .suppressed
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["groups", "rows"]);

    let mut c = controls(5, &["social"]);
    c.units
        .insert("social".to_owned(), "not_exposed".to_owned());
    let e = apply_aggregate_control(&plan, &c).unwrap_err();
    assert!(
        e.to_string()
            .contains("keep the privacy-unit column `not_exposed`"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rows_per_person_bound_is_the_largest_persons_row_count() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let mut per_person: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows(&fx) {
        *per_person.entry(row.person).or_default() += 1;
    }
    let most = per_person.values().copied().max().unwrap();
    assert!(most > 1, "the fixture has persons with several rows");
    let cancel = CancellationToken::new();
    assert_eq!(
        session
            .rows_per_unit("social", "resident_id", &cancel)
            .await
            .unwrap(),
        Some(most)
    );
    // No bound for a table the session does not hold.
    assert_eq!(
        session
            .rows_per_unit("clinic", "resident_id", &cancel)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_bound_proves_large_groups_without_reading_the_persons() {
    let fx = Fixture::new().await;
    let session = session(&fx, &["social"]).await;
    let cancel = CancellationToken::new();
    let most = session
        .rows_per_unit("social", "resident_id", &cancel)
        .await
        .unwrap()
        .unwrap();
    let exact = controls(5, &["social"]);
    let mut bounded = exact.clone();
    bounded.rows_per_unit.insert("social".into(), most);

    // Few large groups: every one holds k·m rows, so the bound decides alone — the same answer,
    // one pass, and the person column never fetched.
    let sql = "SELECT insurance_type, count(*) AS n FROM social GROUP BY insurance_type \
               ORDER BY insurance_type";
    let counted = run(&session, sql, &exact).await.unwrap();
    let proved = run(&session, sql, &bounded).await.unwrap();
    assert_eq!(
        pairs(&proved.output.batches),
        pairs(&counted.output.batches)
    );
    assert_eq!(proved.suppression, counted.suppression);
    assert!(!pairs(&proved.output.batches).is_empty());
    assert_eq!(proved.output.metering.rows_scanned, common::ROWS);
    assert!(
        proved.output.metering.bytes_fetched < counted.output.metering.bytes_fetched,
        "the bound reads less: {} vs {} bytes",
        proved.output.metering.bytes_fetched,
        counted.output.metering.bytes_fetched
    );

    // Small groups: their rows prove too few persons, so the persons are counted — the answer is
    // exactly the counted one (suppression included), at the price of a second pass.
    let sql =
        "SELECT employer_credit_code, count(*) AS n FROM social GROUP BY employer_credit_code";
    let counted = run(&session, sql, &exact).await.unwrap();
    let proved = run(&session, sql, &bounded).await.unwrap();
    let sorted = |out: &AggregateOutput| {
        let mut p = pairs(&out.output.batches);
        p.sort();
        p
    };
    assert_eq!(sorted(&proved), sorted(&counted));
    assert_eq!(proved.suppression, counted.suppression);
    assert!(counted.suppression.groups > 0);
    assert_eq!(proved.output.metering.rows_scanned, 2 * common::ROWS);

    // A join is never decided by one table's bound: each table's persons are counted.
    let mut joined = controls(5, &["social", "again"]);
    joined.rows_per_unit.insert("social".into(), most);
    joined.rows_per_unit.insert("again".into(), most);
    let session = self::session(&fx, &["social", "again"]).await;
    let sql = "SELECT s.insurance_type, count(*) AS n FROM social s \
               JOIN again o ON s.employer_credit_code = o.employer_credit_code \
               GROUP BY s.insurance_type";
    let out = run(&session, sql, &joined).await.unwrap();
    let plain = run(&session, sql, &controls(5, &["social", "again"]))
        .await
        .unwrap();
    assert_eq!(sorted(&out), sorted(&plain));
    assert_eq!(out.suppression, plain.suppression);
    // (Bytes fetched are not compared here: the join's dynamic filters prune the probe side
    // depending on when the build side finishes.)
}
