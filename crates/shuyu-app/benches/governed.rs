//! The governed query path beside plain DataFusion, in the same run (issue 5's benchmark).
//!
//! One synthetic social-insurance table of `SHUYU_BENCH_ROWS` rows (default 1 000 000) is imported
//! twice from the same CSV: into the app (SM4-encrypted Parquet behind a grant) and into plain
//! Parquet on local disk. The same aggregate query then runs
//!
//! - **plain**: a fresh DataFusion `SessionContext` over the plain Parquet file;
//! - **governed, aggregate**: `App::run_query` in production under an `aggregate` grant (policy,
//!   liveness, session over the encrypted file, plan check, column controls, fingerprint and the
//!   development link, k-suppression, result digest, query row and audit event in one transaction);
//! - **governed, dp_aggregate**: the same under the demo's differentially private grant (per-person
//!   contribution bounding, noise, ledger charge); each run asks a different ε so none is a free
//!   repeat.
//!
//! "Cold" is the first run of each: the file read and decrypted for the first time in this
//! process, and for `aggregate` the one-time bound on rows per person computed; "warm" is the
//! median of the next runs, which read the decrypted ranges from the domain's in-memory cache
//! (`shuyu_engine::cache`) — as plain DataFusion's warm runs read the operating system's page
//! cache. Also reported: where the time goes (the plain query plus what each output control
//! adds), and desensitization throughput (the grant's default rules over every row, one thread). Run: `SHUYU_BENCH_ROWS=10000000 cargo bench -p shuyu-app --bench governed`
//! (`SHUYU_BENCH_CSV=FILE` keeps the CSV for `scripts/smartnoise_compare.py`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use shuyu_app::{
    Ctx, DevMode, Env, FieldRequest, ImportOptions, ImportSource, NewGrant, QueryRequest,
    ResourceRequest, Term,
};
use shuyu_core::{RequestId, WorkspaceId};
use shuyu_desensitize::{Context, HashKey, TableRules, apply_batch, default_rule};
use shuyu_engine::{ImportField, import_csv};
use shuyu_profile::UsageMethod;
use shuyu_synth::CsvEncoding;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};
use shuyu_testkit::demo::person_ctx;

const QUERY: &str = "SELECT insurance_type, COUNT(*) AS n, SUM(personal_amount) AS total \
                     FROM social_insurance GROUP BY insurance_type ORDER BY insurance_type";
/// The plain query with the `aggregate` output control's hidden count of persons per group.
const QUERY_DISTINCT: &str = "SELECT insurance_type, COUNT(*) AS n, SUM(personal_amount) AS total, \
     COUNT(DISTINCT resident_id) AS persons FROM social_insurance GROUP BY insurance_type \
     ORDER BY insurance_type";
/// The plain query over one row per person and group, as differential privacy's bounding does.
const QUERY_PER_UNIT: &str = "SELECT insurance_type, SUM(n) AS n, SUM(total) AS total FROM \
     (SELECT insurance_type, resident_id, COUNT(*) AS n, SUM(personal_amount) AS total \
      FROM social_insurance GROUP BY insurance_type, resident_id) GROUP BY insurance_type \
     ORDER BY insurance_type";
const WARM_RUNS: usize = 5;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn ctx(t: &TestApp, username: &str) -> Ctx {
    let system = Ctx::system(RequestId::mint(t.app.now(), [1; 10]));
    let person = t.app.person_by_username(&system, username).await.unwrap();
    person_ctx(&t.app, &person)
}

/// Cold and warm times of `run` (called 1 + WARM_RUNS times with the run's index).
async fn time<F, Fut>(mut run: F) -> (Duration, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    run(0).await;
    let cold = started.elapsed();
    let mut warm = Vec::new();
    for i in 1..=WARM_RUNS {
        let started = Instant::now();
        run(i).await;
        warm.push(started.elapsed());
    }
    (cold, median(warm))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: u64 = std::env::var("SHUYU_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    // `SHUYU_BENCH_CSV=FILE` keeps the generated CSV there (for `scripts/smartnoise_compare.py`).
    let csv = std::env::var_os("SHUYU_BENCH_CSV")
        .map_or_else(|| dir.path().join("social_insurance.csv"), Into::into);
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        DemoDataset::SocialInsurance.write_csv(rows, &mut out, CsvEncoding::Utf8);
    }
    let t = TestApp::sqlite().await;
    let app = &t.app;

    // The same CSV into the domain (encrypted) and into plain Parquet.
    let resource = resource_titled(app, DemoDataset::SocialInsurance.title())
        .await
        .unwrap();
    let system = Ctx::system(RequestId::mint(app.now(), [2; 10]));
    let source = ctx(&t, DemoDataset::SocialInsurance.provider_username()).await;
    let started = Instant::now();
    app.import_dataset(
        &source,
        resource,
        ImportSource::Csv(Box::new(std::fs::File::open(&csv).unwrap())),
        Box::new(|_| {}),
    )
    .await
    .unwrap();
    let imported = started.elapsed();
    let catalog = app.resource(&source, resource).await.unwrap();
    let version = catalog.resource.current().unwrap().clone();
    let fields: Vec<ImportField> = version
        .content()
        .fields()
        .iter()
        .map(ImportField::from)
        .collect();
    let plain_dir = dir.path().join("plain");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let plain_store = Arc::new(LocalFileSystem::new_with_prefix(&plain_dir).unwrap());
    let report = import_csv(
        std::fs::File::open(&csv).unwrap(),
        &fields,
        plain_store,
        &Path::from("social_insurance.parquet"),
        ImportOptions::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let plain_file = plain_dir.join(report.path.as_ref());

    // The demo's grant (its usage is the profile's) and an `aggregate` grant over the same table.
    let analyst = ctx(&t, "merchant").await;
    let demo = app.grants(&analyst).await.unwrap()[0].grant.clone();
    let now = app.now();
    let aggregate = app
        .seed_grant(
            &system,
            NewGrant {
                merchant: demo.merchant(),
                operator: demo.operator(),
                scenario: demo.scenario().clone(),
                resources: vec![ResourceRequest {
                    resource,
                    version: version.id(),
                    table: "social_insurance".into(),
                    fields: version
                        .content()
                        .fields()
                        .iter()
                        .map(|f| FieldRequest::default_handling(f.name().as_str()))
                        .collect(),
                }],
                usage: UsageMethod::Aggregate,
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
    let workspaces: Vec<(&str, WorkspaceId)> = vec![
        ("aggregate", aggregate.grant.workspace()),
        (demo.usage().as_str(), demo.workspace()),
    ];
    for (_, workspace) in &workspaces {
        app.prepare_dev(&analyst, *workspace, DevMode::Simulated, 500)
            .await
            .unwrap();
        app.run_query(
            &analyst,
            *workspace,
            QueryRequest {
                env: Env::Dev,
                sql: QUERY.into(),
                epsilon: None,
                bounds: Default::default(),
                max_groups_per_unit: None,
                max_rows_per_unit: None,
            },
        )
        .await
        .unwrap();
    }

    println!(
        "governed path vs plain DataFusion: {rows} rows ({} MB CSV, imported into the domain in {:.2} s)",
        std::fs::metadata(&csv).unwrap().len() / 1_000_000,
        secs(imported)
    );
    let plain_path = plain_file.to_str().unwrap().to_owned();
    let (plain_cold, plain_warm) = time(|_| {
        let path = plain_path.clone();
        async move {
            let ctx = SessionContext::new();
            ctx.register_parquet("social_insurance", &path, ParquetReadOptions::default())
                .await
                .unwrap();
            let batches = ctx.sql(QUERY).await.unwrap().collect().await.unwrap();
            assert!(!batches.is_empty());
        }
    })
    .await;
    println!(
        "  plain DataFusion, plain Parquet       cold {:>8.3} s   warm {:>8.3} s",
        secs(plain_cold),
        secs(plain_warm)
    );
    // Where the governed path's time goes: the same plain session running what the output
    // control adds (the privacy unit read and counted per group, as `aggregate`'s k-check does,
    // and grouped by, as differential privacy's contribution bounding does).
    for (what, sql) in [
        ("+ count(DISTINCT unit)", QUERY_DISTINCT),
        ("+ GROUP BY unit first", QUERY_PER_UNIT),
    ] {
        let (_, warm) = time(|_| {
            let path = plain_path.clone();
            async move {
                let ctx = SessionContext::new();
                ctx.register_parquet("social_insurance", &path, ParquetReadOptions::default())
                    .await
                    .unwrap();
                let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
                assert!(!batches.is_empty());
            }
        })
        .await;
        println!(
            "  plain DataFusion {what:<22} warm {:>8.3} s ({:.2}×)",
            secs(warm),
            secs(warm) / secs(plain_warm)
        );
    }
    for (usage, workspace) in &workspaces {
        let (cold, warm) = time(|i| {
            let analyst = analyst.clone();
            async move {
                let view = app
                    .run_query(
                        &analyst,
                        *workspace,
                        QueryRequest {
                            env: Env::Prod,
                            sql: QUERY.into(),
                            // A different ε each run: never a free repeat.
                            epsilon: Some(0.01 + 0.001 * i as f64),
                            bounds: Default::default(),
                            max_groups_per_unit: None,
                            max_rows_per_unit: None,
                        },
                    )
                    .await
                    .unwrap();
                assert!(view.repeat_of.is_none());
            }
        })
        .await;
        println!(
            "  governed, {usage:<12} encrypted      cold {:>8.3} s ({:.2}×)   warm {:>8.3} s ({:.2}×)",
            secs(cold),
            secs(cold) / secs(plain_cold),
            secs(warm),
            secs(warm) / secs(plain_warm)
        );
    }

    if let Some(cache) = app.cache_stats() {
        println!(
            "  the domain's cache of decrypted ranges: {} MB in {} ranges, {} hits, {} misses",
            cache.bytes / 1_000_000,
            cache.ranges,
            cache.hits,
            cache.misses
        );
    }

    // Desensitization throughput: the grant's default rules over every row, one thread.
    let file = std::fs::File::open(&plain_file).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(65_536)
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let schema = batches[0].schema();
    let rules: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            let spec = version.content().field(f.name()).unwrap();
            let handling = spec.default_handling(app.profile());
            (
                f.name().clone(),
                default_rule(handling.desensitization, Some(spec.format()), f.data_type()),
            )
        })
        .collect();
    let rules = TableRules::new(rules).with_privacy_unit("resident_id");
    let key = HashKey::from_bytes([7; 32]);
    let context = Context::new().with_key(&key);
    let started = Instant::now();
    let mut out = 0;
    for batch in &batches {
        out += apply_batch(batch, &rules, &context).unwrap().num_rows();
    }
    let took = started.elapsed();
    println!(
        "  desensitization ({} columns, default rules): {:.2} M rows/s on one core",
        schema.fields().len(),
        out as f64 / secs(took) / 1e6
    );
}
