//! The sandbox session end to end over an encrypted synthetic dataset: isolation, refusals,
//! pushdown through the encrypted store, limits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use common::{Fixture, ROWS, all_columns, data_key, encrypted, total_rows};
use shuyu_engine::PrefixKeys;
use shuyu_sandbox::{
    CancellationToken, Limits, QueryDomain, SandboxError, SandboxSession, StatementKind, TableSpec,
};

fn limits() -> Limits {
    Limits::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_aggregate_counts_match_the_csv() {
    let fx = Fixture::new().await;
    let session = fx
        .session("social", &["insurance_type", "contribution_base"], limits())
        .await;
    let out = session
        .query(
            "SELECT insurance_type, count(*) AS n FROM social GROUP BY insurance_type ORDER BY insurance_type",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let mut got = BTreeMap::new();
    for batch in &out.batches {
        let types = batch.column(0).as_string_view_opt().map_or_else(
            || {
                batch
                    .column(0)
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.unwrap().to_owned())
                    .collect::<Vec<_>>()
            },
            |a| a.iter().map(|v| v.unwrap().to_owned()).collect(),
        );
        let counts = batch.column(1).as_primitive::<Int64Type>();
        for (t, n) in types.into_iter().zip(counts.iter()) {
            got.insert(t, n.unwrap());
        }
    }
    let expected = fx.count_by("insurance_type");
    assert!(expected.len() > 1, "several insurance types");
    assert_eq!(got, expected);
    // Metering: the whole table was scanned, one row per group came out.
    assert_eq!(out.metering.rows_scanned, ROWS);
    assert_eq!(out.metering.output_rows, expected.len() as u64);
    assert!(out.metering.output_bytes > 0);
    assert!(out.metering.bytes_fetched > 0);
    assert!(out.metering.elapsed > Duration::ZERO);
    assert!(out.metering.compute > Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_one_column_query_fetches_far_fewer_bytes_than_the_file() {
    let fx = Fixture::with_rows(200_000, 20_000).await;
    let session = fx.session("social", &all_columns(), limits()).await;
    let counts = fx.count_by("insurance_type");
    let (value, expected) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let out = session
        .query(
            &format!("SELECT count(insurance_type) FROM social WHERE insurance_type = '{value}'"),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let got = out.batches[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    assert_eq!(got, *expected, "the filter is applied");
    let fetched = out.metering.bytes_fetched;
    // The column's chunks plus the footer, of a file of nine columns.
    assert!(
        fetched * 3 < fx.parquet_bytes,
        "fetched {fetched} of {} bytes: projection must reach the encrypted file",
        fx.parquet_bytes
    );
    // Reading every column fetches most of the file.
    let all = session
        .query(
            "SELECT count(*) FROM social WHERE resident_id <> '' AND name <> '' \
             AND employer_credit_code <> '' AND contribution_month <> '' \
             AND contribution_base > 0 AND personal_amount >= 0 AND employer_amount >= 0",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    eprintln!(
        "file {} bytes; one column {fetched}; seven columns {}",
        fx.parquet_bytes, all.metering.bytes_fetched
    );
    assert!(all.metering.bytes_fetched > fetched * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_not_exposed_does_not_exist() {
    let fx = Fixture::new().await;
    let session = fx.session("social", &["insurance_type"], limits()).await;
    for sql in [
        "SELECT resident_id FROM social",
        "SELECT count(*) FROM social WHERE name = 'x'",
        "SELECT insurance_type FROM social GROUP BY insurance_type HAVING max(contribution_base) > 0",
    ] {
        let err = session.plan(sql).unwrap_err();
        assert!(
            matches!(err, SandboxError::UnknownColumn { .. }),
            "{sql}: {err}"
        );
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
    // `SELECT *` gives exactly the exposed columns.
    let out = session
        .query("SELECT * FROM social LIMIT 3", &CancellationToken::new())
        .await
        .unwrap();
    let names: Vec<_> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["insurance_type"]);
    assert_eq!(total_rows(&out.batches), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_that_is_not_a_query_is_refused_with_its_kind() {
    let fx = Fixture::new().await;
    let session = fx.session("social", &all_columns(), limits()).await;
    let cases = [
        ("CREATE TABLE t (a INT)", StatementKind::Ddl),
        ("CREATE VIEW v AS SELECT * FROM social", StatementKind::Ddl),
        (
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc/'",
            StatementKind::Ddl,
        ),
        ("DROP TABLE social", StatementKind::Ddl),
        ("INSERT INTO social (name) VALUES ('x')", StatementKind::Dml),
        ("DELETE FROM social", StatementKind::Dml),
        ("UPDATE social SET name = 'x'", StatementKind::Dml),
        (
            "COPY social TO '/tmp/leak.parquet' STORED AS PARQUET",
            StatementKind::Dml,
        ),
        (
            "COPY (SELECT * FROM social) TO '/tmp/leak.csv'",
            StatementKind::Dml,
        ),
        (
            "SET datafusion.execution.batch_size = 1",
            StatementKind::Statement,
        ),
        (
            "RESET datafusion.execution.batch_size",
            StatementKind::Statement,
        ),
        (
            "PREPARE p AS SELECT * FROM social",
            StatementKind::Statement,
        ),
        ("SHOW TABLES", StatementKind::Statement),
        ("EXPLAIN SELECT * FROM social", StatementKind::Explain),
        (
            "EXPLAIN ANALYZE SELECT * FROM social",
            StatementKind::Explain,
        ),
    ];
    for (sql, kind) in cases {
        match session.plan(sql) {
            Err(SandboxError::NotAQuery { kind: got, .. }) => assert_eq!(got, kind, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    let err = session.plan("CREATE TABLE t (a INT)").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("DDL is not allowed in the secure domain"),
        "{err}"
    );
    assert!(
        session.plan("SELECT 1; SELECT 2").is_err(),
        "one statement only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_outside_the_allow_list_do_not_exist() {
    let fx = Fixture::new().await;
    let session = fx.session("social", &all_columns(), limits()).await;
    let cases = [
        ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet"),
        ("SELECT * FROM generate_series(1, 10)", "generate_series"),
        ("SELECT * FROM range(10)", "range"),
        ("SELECT md5(name) FROM social", "md5"),
        ("SELECT sha256(name) FROM social", "sha256"),
        ("SELECT regexp_like(name, 'x') FROM social", "regexp_like"),
        ("SELECT array_agg(name) FROM social", "array_agg"),
        ("SELECT first_value(name) FROM social", "first_value"),
        ("SELECT version()", "version"),
    ];
    for (sql, function) in cases {
        match session.plan(sql) {
            Err(SandboxError::FunctionNotAvailable { function: got, .. }) => {
                assert_eq!(got, function, "{sql}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    let err = session.plan("SELECT * FROM read_parquet('x')").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("function `read_parquet` is not available"),
        "{err}"
    );
    // Syntax planned into a function outside the list is refused by the plan check.
    let err = session
        .plan("SELECT position('a' IN name) FROM social")
        .unwrap_err();
    assert!(
        matches!(err, SandboxError::FunctionNotAvailable { .. }),
        "{err}"
    );
    // Window functions, even over allowed aggregates, are not run.
    let err = session
        .plan("SELECT count(*) OVER () FROM social")
        .unwrap_err();
    assert!(err.is_refusal(), "{err}");
    // Allowed functions and syntax plan and run.
    let out = session
        .query(
            "SELECT upper(insurance_type) AS t, round(avg(contribution_base), 2), \
             count(DISTINCT substr(contribution_month, 1, 4)), \
             CASE WHEN max(contribution_base) > 0 THEN 1 ELSE 0 END \
             FROM social WHERE coalesce(name, '') <> '' GROUP BY upper(insurance_type)",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        out.metering.output_rows as usize,
        fx.count_by("insurance_type").len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_schema_and_other_catalogs_do_not_exist() {
    let fx = Fixture::new().await;
    let session = fx.session("social", &all_columns(), limits()).await;
    for (sql, table) in [
        (
            "SELECT * FROM information_schema.tables",
            "information_schema.tables",
        ),
        (
            "SELECT * FROM information_schema.columns",
            "information_schema.columns",
        ),
        (
            "SELECT * FROM datafusion.public.social",
            "datafusion.public.social",
        ),
        ("SELECT * FROM other", "other"),
        (
            "SELECT * FROM 'datasets/social/v1/data.parquet'",
            "datasets/social/v1/data.parquet",
        ),
    ] {
        match session.plan(sql) {
            Err(SandboxError::UnknownTable { table: got }) => assert_eq!(got, table, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    let err = session.plan("SELECT * FROM foo").unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `foo` does not exist in this workspace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_cannot_see_each_others_tables_or_plans() {
    let fx = Fixture::new().await;
    let a = fx.session("tenant_a", &["insurance_type"], limits()).await;
    let b = fx.session("tenant_b", &["name"], limits()).await;
    assert_eq!(a.table_names().collect::<Vec<_>>(), ["tenant_a"]);
    assert!(matches!(
        a.plan("SELECT * FROM tenant_b"),
        Err(SandboxError::UnknownTable { .. })
    ));
    assert!(matches!(
        b.plan("SELECT * FROM tenant_a"),
        Err(SandboxError::UnknownTable { .. })
    ));
    // A plan of B handed to A is refused by A's plan check before anything runs.
    let plan_b = b.plan("SELECT name FROM tenant_b").unwrap();
    let err = a
        .execute(plan_b, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SandboxError::UnknownTable { ref table } if table == "tenant_b"),
        "{err}"
    );
    // Same name, other columns: A's plan check compares the table's schema too.
    let c = fx.session("tenant_a", &["name"], limits()).await;
    let plan_c = c.plan("SELECT name FROM tenant_a").unwrap();
    assert!(matches!(
        a.execute(plan_c, &CancellationToken::new()).await,
        Err(SandboxError::UnknownTable { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_limit_stops_a_big_sort_with_a_clear_error() {
    let fx = Fixture::new().await;
    let small = Limits {
        memory_bytes: 64 * 1024,
        ..limits()
    };
    let session = fx.session("social", &all_columns(), small).await;
    for sql in [
        "SELECT resident_id, name, employer_credit_code FROM social ORDER BY name, resident_id",
        "SELECT resident_id, name, count(*) FROM social GROUP BY resident_id, name",
    ] {
        let err = session
            .query(sql, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, SandboxError::MemoryLimit { limit_bytes, .. } if limit_bytes == 64 * 1024),
            "{sql}: {err}"
        );
        assert!(err.to_string().contains("memory limit"), "{err}");
        assert!(err.metering().unwrap().rows_scanned > 0, "metered");
    }
    // The same session still answers a small query afterwards.
    session
        .query("SELECT count(*) FROM social", &CancellationToken::new())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_together_stay_within_the_domains_memory_and_run_on_its_runtime() {
    let fx = Fixture::new().await;
    // A domain of 64 KiB under a per-query limit of 256 MiB: the domain's bound stops the query,
    // with an error saying it is momentary, and everything it held goes back.
    let domain = QueryDomain::dedicated(64 * 1024, 1).unwrap();
    let mut spec = fx.spec("social", &all_columns(), limits());
    spec.domain = std::sync::Arc::clone(&domain);
    let session = SandboxSession::new(spec).await.unwrap();
    let err = session
        .query(
            "SELECT resident_id, name, count(*) FROM social GROUP BY resident_id, name",
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SandboxError::DomainBusy { limit_bytes, .. } if limit_bytes == 64 * 1024),
        "{err}"
    );
    assert!(err.to_string().contains("run the query again"), "{err}");
    // The stopped query's operators release their memory as their tasks end (aborted tasks are
    // dropped by the runtime a moment later).
    let released = |domain: &QueryDomain| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while domain.used() != 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        domain.used()
    };
    assert_eq!(
        released(&domain),
        0,
        "the stopped query released its memory"
    );
    // A small query runs on the domain's own runtime and answers.
    let out = session
        .query(
            "SELECT count(*) AS n FROM social",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.metering.output_rows, 1);
    assert_eq!(released(&domain), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanned_rows_limit_stops_a_query() {
    let fx = Fixture::new().await;
    let limited = Limits {
        max_scanned_rows: 5_000,
        ..limits()
    };
    let session = fx.session("social", &all_columns(), limited).await;
    let err = session
        .query(
            "SELECT insurance_type, count(*) FROM social GROUP BY insurance_type",
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    let SandboxError::ScanLimit { limit, metering } = &err else {
        panic!("{err}");
    };
    assert_eq!(*limit, 5_000);
    assert!(metering.rows_scanned > 5_000);
    assert!(metering.rows_scanned < ROWS, "stopped before the end");
    // A query whose scan stops early stays under the limit.
    let ok = session
        .query(
            "SELECT name FROM social LIMIT 10",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(ok.metering.output_rows, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_output_limit_stops_a_large_result() {
    let fx = Fixture::new().await;
    let limited = Limits {
        max_output_rows: 100,
        ..limits()
    };
    let session = fx.session("social", &["name"], limited).await;
    let err = session
        .query("SELECT name FROM social", &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SandboxError::OutputLimit { limit: 100, .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_data_key_is_a_clear_error_never_garbage() {
    let fx = Fixture::new().await;
    // Wrong key: the session cannot even read the file's schema.
    let wrong = Arc::new(PrefixKeys::new());
    wrong.insert(&common::dataset(), data_key(2));
    let mut spec = fx.spec("social", &["name"], limits());
    spec.store = encrypted(&fx.local, &wrong);
    let err = SandboxSession::new(spec).await.unwrap_err();
    assert!(
        matches!(err, SandboxError::DatasetUnreadable { ref reason, .. } if reason.contains("wrong data key")),
        "{err}"
    );
    // Missing key.
    let none = Arc::new(PrefixKeys::new());
    let mut spec = fx.spec("social", &["name"], limits());
    spec.store = encrypted(&fx.local, &none);
    let err = SandboxSession::new(spec).await.unwrap_err();
    assert!(
        matches!(err, SandboxError::DatasetUnreadable { ref reason, .. } if reason.contains("missing")),
        "{err}"
    );
    assert!(!err.to_string().contains("datasets/"), "no paths: {err}");
    // The key disappears after the session opened: the query fails clearly.
    let session = fx.session("social", &["name"], limits()).await;
    fx.keys.remove(&common::dataset());
    let err = session
        .query("SELECT count(name) FROM social", &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SandboxError::DataUnreadable { ref reason, .. } if reason.contains("missing")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_specs_are_checked() {
    let fx = Fixture::new().await;
    let mut spec = fx.spec("Social", &["name"], limits());
    assert!(matches!(
        SandboxSession::new(spec.clone()).await,
        Err(SandboxError::InvalidTableName { .. })
    ));
    spec.tables[0].name = "social".into();
    spec.tables.push(spec.tables[0].clone());
    assert!(matches!(
        SandboxSession::new(spec.clone()).await,
        Err(SandboxError::DuplicateTable { .. })
    ));
    spec.tables.pop();
    spec.tables[0].columns = vec!["salary".into()];
    assert!(matches!(
        SandboxSession::new(spec.clone()).await,
        Err(SandboxError::ColumnNotInDataset { .. })
    ));
    spec.tables[0].columns.clear();
    assert!(matches!(
        SandboxSession::new(spec.clone()).await,
        Err(SandboxError::NoColumns { .. })
    ));
    spec.tables = vec![TableSpec {
        name: "missing".into(),
        path: object_store::path::Path::from("datasets/social/v9/data.parquet"),
        columns: vec!["name".into()],
        controls: BTreeMap::new(),
    }];
    assert!(matches!(
        SandboxSession::new(spec).await,
        Err(SandboxError::DatasetUnreadable { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_while_running_withhold_values() {
    let fx = Fixture::new().await;
    let session = fx.session("social", &["name"], limits()).await;
    let err = session
        .query(
            "SELECT CAST(name AS INT) FROM social",
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SandboxError::Execution { .. }), "{err}");
    let text = format!("{err} {err:?}");
    let first_name = fx.count_by("name").into_keys().next().unwrap();
    assert!(!text.contains(&first_name), "{text}");
    assert!(!text.contains("Cannot cast"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_queries_variables_and_parameters_are_refused() {
    let fx = Fixture::new().await;
    let session = fx.session("social", &["name"], limits()).await;
    for sql in [
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
        "SELECT @@version",
        "SELECT name FROM social WHERE name = $1",
    ] {
        let err = session.plan(sql).unwrap_err();
        assert!(
            err.is_refusal() || matches!(err, SandboxError::InvalidQuery { .. }),
            "{sql}: {err}"
        );
    }
    let err = session
        .plan("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r")
        .unwrap_err();
    assert!(matches!(err, SandboxError::PlanNotAllowed { .. }), "{err}");
    // Ordinary CTEs, subqueries, joins and set operations over the session's own table plan.
    for sql in [
        "WITH t AS (SELECT name FROM social) SELECT count(*) FROM t",
        "SELECT count(*) FROM social WHERE name IN (SELECT name FROM social WHERE name LIKE '张%')",
        "SELECT count(*) FROM social a JOIN social b ON a.name = b.name WHERE a.name = 'x'",
        "SELECT name FROM social WHERE name = 'a' UNION SELECT name FROM social WHERE name = 'b'",
    ] {
        session.plan(sql).unwrap();
    }
}
