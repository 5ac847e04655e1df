//! Differentially private aggregates (`dp_aggregate`) over small Parquet tables in an in-memory
//! store: refused shapes with their reasons, contribution bounding (`C` rows, `L` groups),
//! partition selection, the noise's statistics, the output schema, preview without data, and
//! the plan fingerprint's collisions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::parquet::arrow::ArrowWriter;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use shuyu_dp::{Mechanism, PrivacyBudget};
use shuyu_sandbox::{
    CancellationToken, ColumnControl, DpAggregate, DpControl, Limits, SandboxError, SandboxSession,
    SessionSpec, TableSpec,
};

/// One row of `people`: (pid, region, income, score).
type Person = (String, String, i64, f64);

fn parquet(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

fn people_batch(rows: &[Person]) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "pid",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
        ),
        (
            "region",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
        ),
        (
            "income",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
        ),
        (
            "score",
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.3))),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn jobs_batch(rows: &[(String, String)]) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "pid",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
        ),
        (
            "employer",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

struct World {
    store: Arc<InMemory>,
    session: SandboxSession,
}

fn visible(columns: &[&str]) -> BTreeMap<String, ColumnControl> {
    columns
        .iter()
        .map(|c| ((*c).to_owned(), ColumnControl::Visible))
        .collect()
}

async fn world(people: &[Person], jobs: &[(String, String)]) -> World {
    let store = Arc::new(InMemory::new());
    store
        .put(
            &Path::from("people.parquet"),
            parquet(&people_batch(people)).into(),
        )
        .await
        .unwrap();
    store
        .put(
            &Path::from("jobs.parquet"),
            parquet(&jobs_batch(jobs)).into(),
        )
        .await
        .unwrap();
    let people_columns = ["pid", "region", "income", "score"];
    let session = SandboxSession::new(SessionSpec {
        tables: vec![
            TableSpec {
                name: "people".into(),
                path: Path::from("people.parquet"),
                columns: people_columns.iter().map(|c| (*c).to_owned()).collect(),
                controls: visible(&people_columns),
            },
            TableSpec {
                name: "jobs".into(),
                path: Path::from("jobs.parquet"),
                columns: vec!["pid".into(), "employer".into()],
                controls: visible(&["pid", "employer"]),
            },
        ],
        store: Arc::clone(&store) as Arc<dyn ObjectStore>,
        limits: Limits::default(),
        domain: shuyu_sandbox::QueryDomain::shared(usize::MAX),
    })
    .await
    .unwrap();
    World { store, session }
}

/// `n` persons `p{offset+i}` in `region`, one row each.
fn persons(region: &str, n: usize, offset: usize) -> Vec<Person> {
    (0..n)
        .map(|i| {
            (
                format!("p{}", offset + i),
                region.to_owned(),
                1000 + i as i64,
                0.5,
            )
        })
        .collect()
}

fn jobs_of(people: &[Person]) -> Vec<(String, String)> {
    people
        .iter()
        .map(|p| (p.0.clone(), format!("e{}", p.0.len() % 3)))
        .collect()
}

fn control(epsilon: f64, delta: f64) -> DpControl {
    DpControl {
        units: [("people", "pid"), ("jobs", "pid")]
            .into_iter()
            .map(|(t, u)| (t.to_owned(), u.to_owned()))
            .collect(),
        budget: PrivacyBudget::new(epsilon, delta),
        max_groups_per_unit: 1,
        max_rows_per_unit: 1,
        bounds: [
            ("income".to_owned(), (0.0, 5000.0)),
            ("score".to_owned(), (0.0, 1.0)),
        ]
        .into_iter()
        .collect(),
        min_group_size: 1,
        selection_key: [7; 32],
    }
}

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

async fn run(
    w: &World,
    sql: &str,
    control: &DpControl,
    seed: u8,
) -> Result<shuyu_sandbox::DpOutput, SandboxError> {
    let plan = w.session.plan(sql)?;
    w.session
        .execute_dp(plan, control, &mut rng(seed), &CancellationToken::new())
        .await
}

fn refusal(result: Result<shuyu_sandbox::DpOutput, SandboxError>) -> String {
    match result {
        Err(e @ SandboxError::OutputNotAllowed { .. }) => e.to_string(),
        Err(e) => panic!("expected an output refusal, got {e}"),
        Ok(_) => panic!("expected a refusal"),
    }
}

fn i64_column(out: &shuyu_sandbox::DpOutput, name: &str) -> Vec<i64> {
    out.output
        .batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap()
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn single_i64(out: &shuyu_sandbox::DpOutput, name: &str) -> i64 {
    let values = i64_column(out, name);
    assert_eq!(values.len(), 1);
    values[0]
}

/// A large ε: the noise is (almost always exactly) zero, so the bounding is visible.
const SHARP: f64 = 1.0e6;

#[tokio::test]
async fn refused_shapes_say_why() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let c = control(1.0, 1e-6);
    let cases = [
        ("SELECT pid FROM people", "only aggregated results"),
        ("SELECT max(income) FROM people", "COUNT, SUM and AVG"),
        (
            "SELECT count(DISTINCT region) FROM people",
            "COUNT(DISTINCT …) is not supported",
        ),
        (
            "SELECT sum(income + 1) FROM people",
            "sums or averages a plain column only",
        ),
        (
            "SELECT count(*) FROM (SELECT region FROM people) s",
            "not over a subquery",
        ),
        (
            "SELECT region, count(*) FROM people p LEFT JOIN jobs j ON p.pid = j.pid GROUP BY region",
            "inner JOIN",
        ),
        ("SELECT count(*) + 1 FROM people", ""),
    ];
    for (sql, reason) in cases {
        let result = run(&w, sql, &c, 1).await;
        if reason.is_empty() {
            // Arithmetic over the aggregate's output is post-processing: allowed.
            assert!(result.is_ok(), "{sql}: {:?}", result.err());
            continue;
        }
        let message = refusal(result);
        assert!(message.contains(reason), "{sql}: {message}");
    }
}

#[tokio::test]
async fn a_join_not_on_the_units_is_refused_and_one_on_the_units_accepted() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let c = control(1.0, 1e-6);
    let message = refusal(
        run(
            &w,
            "SELECT count(*) FROM people p JOIN jobs j ON p.region = j.employer",
            &c,
            1,
        )
        .await,
    );
    assert!(message.contains("only on their privacy units"), "{message}");
    assert!(message.contains("`jobs`"), "{message}");
    let joined = [
        "SELECT count(*) FROM people p JOIN jobs j ON p.pid = j.pid",
        "SELECT count(*) FROM people, jobs WHERE jobs.pid = people.pid AND region = 'north'",
    ];
    for sql in joined {
        let out = run(&w, sql, &control(SHARP, 0.0), 1).await.unwrap();
        assert_eq!(single_i64(&out, "count(*)"), 10, "{sql}");
    }
}

#[tokio::test]
async fn sums_without_bounds_are_refused_naming_the_column() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let mut c = control(1.0, 0.0);
    c.bounds.clear();
    let message = refusal(run(&w, "SELECT avg(income) FROM people", &c, 1).await);
    assert!(message.contains("`income`"), "{message}");
    assert!(
        message.contains("declare its lower and upper bound"),
        "{message}"
    );
    // Keyed by table name through an alias too.
    c.bounds.insert("people.income".into(), (0.0, 10.0));
    assert!(
        run(&w, "SELECT sum(x.income) FROM people x", &c, 1)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn group_keys_need_delta_and_parameters_are_checked() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let message = refusal(
        run(
            &w,
            "SELECT region, count(*) FROM people GROUP BY region",
            &control(1.0, 0.0),
            1,
        )
        .await,
    );
    assert!(message.contains("needs delta > 0"), "{message}");
    let mut c = control(1.0, 1e-6);
    c.max_rows_per_unit = 0;
    assert!(matches!(
        run(&w, "SELECT count(*) FROM people", &c, 1).await,
        Err(SandboxError::DpParameters { .. })
    ));
    assert!(matches!(
        run(&w, "SELECT count(*) FROM people", &control(-1.0, 0.0), 1).await,
        Err(SandboxError::DpParameters { .. })
    ));
}

/// The global noisy count over many seeded runs: unbiased, with the variance the preview states.
#[tokio::test]
async fn the_noisy_count_has_the_stated_mean_and_variance() {
    let people = persons("north", 40, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let c = control(0.5, 0.0);
    let plan = w.session.plan("SELECT count(*) AS n FROM people").unwrap();
    let preview = w.session.preview_dp(&plan, &c).unwrap();
    assert_eq!(preview.mechanism, Mechanism::Laplace);
    let stated = preview.columns[0].error.std_dev;
    let runs = 300;
    let mut rng = rng(42);
    let mut values = Vec::with_capacity(runs);
    for _ in 0..runs {
        let out = w
            .session
            .execute_dp(plan.clone(), &c, &mut rng, &CancellationToken::new())
            .await
            .unwrap();
        values.push(single_i64(&out, "n") as f64);
    }
    let mean = values.iter().sum::<f64>() / runs as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (runs - 1) as f64;
    let se = stated / (runs as f64).sqrt();
    assert!((mean - 40.0).abs() < 4.0 * se, "mean {mean}, se {se}");
    let ratio = var / stated.powi(2);
    assert!((0.6..1.5).contains(&ratio), "variance ratio {ratio}");
    // Not the true value every time: there is noise.
    assert!(values.iter().any(|v| (*v - 40.0).abs() >= 1.0));
}

#[tokio::test]
async fn a_unit_with_many_rows_contributes_at_most_c() {
    let mut people = persons("north", 50, 0);
    for i in 0..1000 {
        people.push(("heavy".into(), "north".into(), 4000 + i, 1.0));
    }
    let w = world(&people, &jobs_of(&people)).await;
    let sql = "SELECT count(*) AS n, sum(income) AS s FROM people";
    let mut c = control(SHARP, 0.0);
    let out = run(&w, sql, &c, 3).await.unwrap();
    assert_eq!(single_i64(&out, "n"), 51);
    // Metered once over the table (the noisy relation's row is not a scanned row).
    assert_eq!(out.output.metering.rows_scanned, 1050);
    assert_eq!(out.output.metering.output_rows, 1);
    let base: i64 = (0..50).map(|i| 1000 + i).sum();
    // The heavy unit contributes its mean times C (its rows are 4000..=4999, mean 4499.5; the sum
    // of its 1000 rows would be millions), within C·hi = 5000.
    let heavy: i64 = (4000..5000).sum();
    assert_eq!(single_i64(&out, "s"), base + heavy / 1000);
    c.max_rows_per_unit = 3;
    let out = run(&w, sql, &c, 3).await.unwrap();
    assert_eq!(single_i64(&out, "n"), 53);
    assert_eq!(single_i64(&out, "s"), base + heavy * 3 / 1000);
}

#[tokio::test]
async fn a_unit_in_many_groups_contributes_to_at_most_l() {
    let mut people = Vec::new();
    for r in 0..10 {
        people.extend(persons(&format!("r{r}"), 20, r * 100));
        people.push(("wanderer".into(), format!("r{r}"), 10, 0.0));
    }
    let w = world(&people, &jobs_of(&people)).await;
    let sql = "SELECT region, count(*) AS n FROM people GROUP BY region";
    let mut c = control(SHARP, 1e-6);
    for (l, expected) in [(1, 201), (3, 203), (10, 210)] {
        c.max_groups_per_unit = l;
        let out = run(&w, sql, &c, 5).await.unwrap();
        assert_eq!(out.released_groups, 10);
        assert_eq!(
            i64_column(&out, "n").iter().sum::<i64>(),
            expected,
            "L = {l}"
        );
    }
    // The choice is keyed: another key may pick another group, the same key the same one.
    c.max_groups_per_unit = 1;
    let pick = |out: &shuyu_sandbox::DpOutput| {
        let b = &out.output.batches;
        let mut picked = Vec::new();
        for batch in b {
            let regions = batch.column_by_name("region").unwrap().as_string_view();
            let n = batch
                .column_by_name("n")
                .unwrap()
                .as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                if n.value(i) == 21 {
                    picked.push(regions.value(i).to_owned());
                }
            }
        }
        picked
    };
    let first = pick(&run(&w, sql, &c, 5).await.unwrap());
    assert_eq!(first.len(), 1);
    assert_eq!(pick(&run(&w, sql, &c, 6).await.unwrap()), first);
    let mut seen = std::collections::BTreeSet::new();
    for key in 0..8 {
        c.selection_key = [key; 32];
        seen.extend(pick(&run(&w, sql, &c, 5).await.unwrap()));
    }
    assert!(seen.len() > 1, "the keyed choice varies with the key");
}

#[tokio::test]
async fn groups_below_the_threshold_are_not_released() {
    let mut people = persons("big", 30, 0);
    people.extend(persons("tiny", 1, 100));
    people.extend(persons("small", 4, 200));
    let w = world(&people, &jobs_of(&people)).await;
    let sql = "SELECT region, count(*) AS n FROM people GROUP BY region ORDER BY region";
    let mut c = control(SHARP, 1e-6);
    c.min_group_size = 5;
    let plan = w.session.plan(sql).unwrap();
    assert_eq!(w.session.preview_dp(&plan, &c).unwrap().threshold, Some(5));
    let out = run(&w, sql, &c, 9).await.unwrap();
    assert_eq!(out.released_groups, 1);
    let regions: Vec<String> = out
        .output
        .batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("region")
                .unwrap()
                .as_string_view()
                .iter()
                .map(|v| v.unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(regions, ["big"]);
    // A realistic ε: the threshold τ itself withholds the single-person group.
    let c = control(1.0, 1e-6);
    let threshold = w.session.preview_dp(&plan, &c).unwrap().threshold.unwrap();
    // Two ε shares (the count and partition selection): ε_p = 0.5, and all of δ goes to the
    // selection, L = 1, so the discrete Laplace has scale b = 2 and T = ⌈1 + 2·ln(1/1e-6)⌉.
    let expected = (1.0 + 2.0 * (1.0 / 1e-6_f64).ln()).ceil() as u64;
    assert_eq!(threshold, expected);
    for seed in 0..20 {
        let out = run(&w, sql, &c, seed).await.unwrap();
        assert!(out.released_groups <= 1);
        for b in &out.output.batches {
            let r = b.column_by_name("region").unwrap().as_string_view();
            assert!(r.iter().all(|v| v == Some("big")));
        }
    }
    // Nothing released: an empty result with the query's schema.
    let mut c = control(SHARP, 1e-6);
    c.min_group_size = 1000;
    let out = run(&w, sql, &c, 9).await.unwrap();
    assert_eq!(out.released_groups, 0);
    assert_eq!(out.output.metering.output_rows, 0);
    assert_eq!(out.output.schema.as_ref(), plan.schema().as_arrow());
}

#[tokio::test]
async fn the_output_schema_is_the_original_and_having_sees_noisy_values() {
    let mut people = persons("north", 30, 0);
    people.extend(persons("south", 40, 100));
    let w = world(&people, &jobs_of(&people)).await;
    let sql = "SELECT region AS r, count(*) AS n, sum(income) AS s, avg(score), count(score) \
               FROM people p WHERE income > 0 GROUP BY region HAVING count(*) > 35 ORDER BY n DESC";
    let plan = w.session.plan(sql).unwrap();
    let out = run(&w, sql, &control(SHARP, 1e-6), 2).await.unwrap();
    assert_eq!(out.output.schema.as_ref(), plan.schema().as_arrow());
    assert_eq!(out.released_groups, 2);
    assert_eq!(out.output.metering.output_rows, 1);
    assert_eq!(i64_column(&out, "n"), [40]);
    let avg = out.output.batches[0]
        .column(3)
        .as_primitive::<Float64Type>()
        .value(0);
    assert!((avg - 0.5).abs() < 1e-3, "{avg}");
    assert_eq!(out.preview.columns.len(), 4);
    assert_eq!(out.preview.columns[2].aggregate, DpAggregate::Avg);
    assert!(out.preview.columns[2].count_error.is_some());
}

#[tokio::test]
async fn preview_reads_no_data_and_the_control_hides_its_key() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let c = control(1.0, 1e-6);
    let plan = w
        .session
        .plan("SELECT region, count(*), sum(income) FROM people GROUP BY region")
        .unwrap();
    // The file becomes unreadable: a preview that read data would fail.
    w.store
        .put(
            &Path::from("people.parquet"),
            b"not parquet".to_vec().into(),
        )
        .await
        .unwrap();
    let preview = w.session.preview_dp(&plan, &c).unwrap();
    assert_eq!(preview.cost, c.budget);
    // Grouped: the values are pure ε (δ goes to partition selection only).
    assert_eq!(preview.mechanism, Mechanism::Laplace);
    assert_eq!(preview.columns.len(), 2);
    // Three ε shares (two columns and partition selection): each column's error is that of a
    // third of ε, and the sum's is the count's times the bound 5000.
    let count = preview.columns[0].error.std_dev;
    let sum = preview.columns[1].error.std_dev;
    assert!(count > 1.0, "{count}");
    assert!(
        (sum / count - 5000.0).abs() / 5000.0 < 0.01,
        "{sum} / {count}"
    );
    assert!(preview.threshold.unwrap() > 1);
    // Only execution notices.
    assert!(
        w.session
            .execute_dp(plan, &c, &mut rng(1), &CancellationToken::new())
            .await
            .is_err()
    );
    let debug = format!("{c:?}");
    assert!(
        debug.contains("<redacted>") && !debug.contains("7, 7"),
        "{debug}"
    );
}

#[tokio::test]
async fn fingerprints_collide_exactly_on_the_documented_rewrites() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let fp = |sql: &str, extra: &[u8]| {
        let plan = w.session.plan(sql).unwrap();
        w.session.fingerprint(&plan, extra).unwrap()
    };
    let base = "SELECT region, count(*) FROM people WHERE income > 5 AND score = 1 GROUP BY region";
    let same = [
        "SELECT region, count(*) FROM people WHERE score = 1 AND income > 5 GROUP BY region",
        "SELECT x.region, count(*) FROM people x WHERE x.income > 5 AND x.score = 1 GROUP BY x.region",
        "SELECT region AS r, count(*) AS n FROM people WHERE income > 5 AND score = 1 GROUP BY region",
        "SELECT region, count(*) FROM people WHERE 5 < income AND 1 = score GROUP BY region",
        "SELECT region, count(*) FROM people WHERE (income > 5) AND (score = 1) GROUP BY region",
    ];
    let different = [
        "SELECT region, count(*) FROM people WHERE income > 6 AND score = 1 GROUP BY region",
        "SELECT region, count(*) FROM people WHERE income >= 5 AND score = 1 GROUP BY region",
        "SELECT region, sum(income) FROM people WHERE income > 5 AND score = 1 GROUP BY region",
        "SELECT region, count(*) FROM people WHERE income > 5 OR score = 1 GROUP BY region",
        "SELECT region, count(*) FROM people WHERE income > 5 AND score = 1 GROUP BY region LIMIT 1",
        "SELECT count(*) FROM people WHERE income > 5 AND score = 1",
        "SELECT count(*), region FROM people WHERE income > 5 AND score = 1 GROUP BY region",
    ];
    let reference = fp(base, b"eps=1");
    assert_eq!(reference.len(), 64);
    for sql in same {
        assert_eq!(fp(sql, b"eps=1"), reference, "should collide: {sql}");
    }
    for sql in different {
        assert_ne!(fp(sql, b"eps=1"), reference, "should differ: {sql}");
    }
    assert_ne!(
        fp(base, b"eps=2"),
        reference,
        "the control parameters count"
    );
    // The DP control's parameters as `extra`: each one counts, the selection key does not.
    let plan = w.session.plan(base).unwrap();
    let with = |c: &DpControl| w.session.fingerprint(&plan, &c.parameters()).unwrap();
    let c = control(1.0, 1e-6);
    let reference = with(&c);
    let mut changed = Vec::new();
    for change in 0..7 {
        let mut d = c.clone();
        match change {
            0 => d.budget.epsilon = 2.0,
            1 => d.budget.delta = 1e-7,
            2 => d.max_groups_per_unit = 2,
            3 => d.max_rows_per_unit = 2,
            4 => d.min_group_size = 2,
            5 => {
                d.bounds.insert("income".into(), (0.0, 5001.0));
            }
            _ => {
                d.units.insert("people".into(), "region".into());
            }
        }
        changed.push(with(&d));
    }
    assert!(changed.iter().all(|f| *f != reference));
    let mut d = c.clone();
    d.selection_key = [9; 32];
    assert_eq!(with(&d), reference);
}

/// With δ > 0 the Gaussian mechanism answers; the noisy sum is unbiased with the stated spread.
#[tokio::test]
async fn the_gaussian_noisy_sum_has_the_stated_mean_and_variance() {
    let people = persons("north", 30, 0);
    let truth: i64 = people.iter().map(|p| p.2).sum();
    let w = world(&people, &jobs_of(&people)).await;
    let c = control(1.0, 1e-5);
    let plan = w
        .session
        .plan("SELECT sum(income) AS s FROM people")
        .unwrap();
    let preview = w.session.preview_dp(&plan, &c).unwrap();
    assert_eq!(preview.mechanism, Mechanism::Gaussian);
    assert_eq!(preview.threshold, None);
    let stated = preview.columns[0].error.std_dev;
    let runs = 200;
    let mut rng = rng(17);
    let mut values = Vec::with_capacity(runs);
    for _ in 0..runs {
        let out = w
            .session
            .execute_dp(plan.clone(), &c, &mut rng, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(out.released_groups, 1);
        values.push(single_i64(&out, "s") as f64);
    }
    let mean = values.iter().sum::<f64>() / runs as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (runs - 1) as f64;
    let se = stated / (runs as f64).sqrt();
    assert!(
        (mean - truth as f64).abs() < 4.0 * se,
        "mean {mean}, se {se}"
    );
    let ratio = var / stated.powi(2);
    assert!((0.6..1.5).contains(&ratio), "variance ratio {ratio}");
}

#[tokio::test]
async fn a_cancelled_dp_query_stops_and_is_metered() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let plan = w.session.plan("SELECT count(*) FROM people").unwrap();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let result = w
        .session
        .execute_dp(plan, &control(1.0, 0.0), &mut rng(1), &cancel)
        .await;
    assert!(
        matches!(result, Err(SandboxError::Cancelled { .. })),
        "{:?}",
        result.err()
    );
}

/// Grouped values get the discrete Laplace of scale `L·C/ε_share`, whatever δ: its variance
/// `2q/(1−q)²` (q = e^(−1/b)) is what the preview states and what the draws show.
#[tokio::test]
async fn grouped_values_are_laplace_with_the_stated_variance() {
    let mut people = persons("north", 40, 0);
    people.extend(persons("south", 60, 100));
    let w = world(&people, &jobs_of(&people)).await;
    let sql = "SELECT region, count(*) AS n FROM people GROUP BY region ORDER BY region";
    let plan = w.session.plan(sql).unwrap();
    let c = control(1.0, 1e-6);
    let preview = w.session.preview_dp(&plan, &c).unwrap();
    assert_eq!(preview.mechanism, Mechanism::Laplace);
    // Two ε shares: the count's noise has scale b = 1 / 0.5 = 2.
    let q = (-0.5_f64).exp();
    let variance = 2.0 * q / (1.0 - q).powi(2);
    let stated = preview.columns[0].error.std_dev;
    assert!((stated / variance.sqrt() - 1.0).abs() < 0.01, "{stated}");
    let runs = 300;
    let mut rng = rng(23);
    let mut north = Vec::with_capacity(runs);
    for _ in 0..runs {
        let out = w
            .session
            .execute_dp(plan.clone(), &c, &mut rng, &CancellationToken::new())
            .await
            .unwrap();
        let n = i64_column(&out, "n");
        if out.released_groups == 2 {
            north.push(n[0] as f64);
        }
    }
    assert!(north.len() > runs * 9 / 10, "both groups are far above T");
    let mean = north.iter().sum::<f64>() / north.len() as f64;
    let var = north.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (north.len() - 1) as f64;
    let se = stated / (north.len() as f64).sqrt();
    assert!((mean - 40.0).abs() < 4.0 * se, "mean {mean}, se {se}");
    let ratio = var / stated.powi(2);
    assert!((0.6..1.5).contains(&ratio), "variance ratio {ratio}");
}

/// The expected error grows with `L` and `C` as the sensitivity `L·C` does; the cost does not.
#[tokio::test]
async fn the_stated_error_scales_with_the_contribution_bounds() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let grouped = w
        .session
        .plan("SELECT region, count(*) AS n, sum(income) AS s FROM people GROUP BY region")
        .unwrap();
    let error = |l: u32, c: u32| {
        let mut control = control(1.0, 1e-6);
        control.max_groups_per_unit = l;
        control.max_rows_per_unit = c;
        let p = w.session.preview_dp(&grouped, &control).unwrap();
        assert_eq!(p.cost, control.budget);
        assert_eq!(
            (p.groups_per_unit, p.rows_per_unit),
            (u64::from(l), u64::from(c))
        );
        (
            p.columns[0].error.std_dev,
            p.columns[1].error.std_dev,
            p.threshold.unwrap(),
        )
    };
    let (n1, s1, t1) = error(1, 1);
    for (l, c) in [(2, 1), (1, 3), (2, 3)] {
        let (n, s, t) = error(l, c);
        let factor = f64::from(l * c);
        // Laplace of scale Δ/ε: the standard deviation is nearly linear in Δ for large scales.
        assert!(
            (n / n1 / factor - 1.0).abs() < 0.05,
            "L {l} C {c}: {n} vs {n1}"
        );
        assert!(
            (s / s1 / factor - 1.0).abs() < 0.05,
            "L {l} C {c}: {s} vs {s1}"
        );
        // Partition selection counts units: its threshold grows with L only.
        if l == 1 {
            assert_eq!(t, t1);
        } else {
            assert!(t > t1, "{t} vs {t1}");
        }
    }
    // A global aggregate has one group: L does not matter to it.
    let global = w.session.plan("SELECT count(*) AS n FROM people").unwrap();
    let mut c = control(1.0, 0.0);
    let one = w.session.preview_dp(&global, &c).unwrap().columns[0].error;
    c.max_groups_per_unit = 5;
    let p = w.session.preview_dp(&global, &c).unwrap();
    assert_eq!(p.groups_per_unit, 1);
    assert_eq!(p.columns[0].error, one);
}

/// The preview names columns as the result does, and states a mean's own error.
#[tokio::test]
async fn the_preview_names_columns_by_their_alias_and_states_the_mean_error() {
    let people = persons("north", 10, 0);
    let w = world(&people, &jobs_of(&people)).await;
    let plan = w
        .session
        .plan(
            "SELECT count(*) AS people, avg(score) AS mean_score, sum(income) \
             FROM people p ORDER BY people",
        )
        .unwrap();
    let p = w.session.preview_dp(&plan, &control(1.0, 0.0)).unwrap();
    let names: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["people", "mean_score", "sum(p.income)"]);
    let avg = &p.columns[1];
    assert_eq!(avg.aggregate, DpAggregate::Avg);
    let (sum, count) = (avg.error, avg.count_error.unwrap());
    let mean = avg.mean_error.unwrap();
    // Bounds [0, 1]: B = 1, so n·error = √(e_sum² + e_count²).
    let want = sum.ci95_half_width.hypot(count.ci95_half_width);
    assert!((mean.ci95_half_width - want).abs() < 1e-9, "{mean:?}");
    assert!(mean.ci95_half_width > sum.ci95_half_width);
    assert!(p.columns[0].mean_error.is_none() && p.columns[2].mean_error.is_none());
}
