//! Desensitization throughput: each kernel over 1 000 000 values beside a naive row-by-row
//! baseline (`Vec<Option<String>>` mapped with `format!` and `String` operations, a fresh HMAC per
//! row) on the same data in the same run. Criterion reports each; a table at the end gives rows/s on
//! one core (best of 5 runs) and the kernel's speed-up over its baseline.
//!
//! Run: `cargo bench -p shuyu-desensitize --bench kernels -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Date32Array, Int32Array, StringArray};
use chrono::{Datelike, NaiveDate};
use criterion::{Criterion, SamplingMode, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use shuyu_desensitize::{Context, Generalization, HashKey, Rule, apply};
use sm3::Sm3;

const ROWS: usize = 1_000_000;
const KEY: [u8; 32] = [7; 32];
const SURNAMES: [&str; 8] = ["张", "王", "李", "赵", "欧阳", "陈", "刘", "司马"];
const GIVEN: [&str; 6] = ["三丰", "小明", "伟", "芳", "建国", "秀英"];

/// The same data as Arrow columns and as the baseline's owned rows (every 20th value NULL).
struct Fixture {
    names: ArrayRef,
    names_rows: Vec<Option<String>>,
    ids: ArrayRef,
    ids_rows: Vec<Option<String>>,
    regions: ArrayRef,
    regions_rows: Vec<Option<String>>,
    dates: ArrayRef,
    dates_rows: Vec<Option<String>>,
    ages: ArrayRef,
    ages_rows: Vec<Option<i32>>,
}

impl Fixture {
    fn new() -> Self {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut names_rows = Vec::with_capacity(ROWS);
        let mut ids_rows = Vec::with_capacity(ROWS);
        let mut regions_rows = Vec::with_capacity(ROWS);
        let mut dates_rows = Vec::with_capacity(ROWS);
        let mut days = Vec::with_capacity(ROWS);
        let mut ages_rows = Vec::with_capacity(ROWS);
        for i in 0..ROWS {
            let mix = (i as u64).wrapping_mul(2_654_435_761);
            let null = i % 20 == 19;
            let person = i / 4; // four rows per person: the privacy unit repeats
            let day = -7_000 + (mix % 25_000) as i32;
            let date = epoch + chrono::Duration::days(i64::from(day));
            let region = 110_101 + (mix % 17) as u32 + 100 * ((mix >> 8) % 5) as u32;
            let id = format!(
                "{region}{:04}{:02}{:02}{:03}{}",
                date.year(),
                date.month(),
                date.day(),
                person % 1000,
                person % 10
            );
            let name = format!(
                "{}{}",
                SURNAMES[(mix % 8) as usize],
                GIVEN[((mix >> 5) % 6) as usize]
            );
            names_rows.push((!null).then_some(name));
            ids_rows.push(Some(id));
            regions_rows.push((!null).then(|| region.to_string()));
            dates_rows.push((!null).then(|| date.format("%Y-%m-%d").to_string()));
            days.push((!null).then_some(day));
            ages_rows.push((!null).then_some((mix % 100) as i32));
        }
        let strings = |rows: &[Option<String>]| -> ArrayRef {
            Arc::new(StringArray::from_iter(rows.iter().map(Option::as_deref)))
        };
        Self {
            names: strings(&names_rows),
            ids: strings(&ids_rows),
            regions: strings(&regions_rows),
            dates: Arc::new(Date32Array::from(days)),
            ages: Arc::new(Int32Array::from(ages_rows.clone())),
            names_rows,
            ids_rows,
            regions_rows,
            dates_rows,
            ages_rows,
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Naive row-by-row baselines

fn naive_mask(rows: &[Option<String>]) -> Vec<Option<String>> {
    rows.iter()
        .map(|v| {
            v.as_ref().map(|s| {
                let chars: Vec<char> = s.chars().collect();
                let first: String = chars.iter().take(1).collect();
                format!("{first}{}", "*".repeat(chars.len().saturating_sub(1)))
            })
        })
        .collect()
}

fn naive_hash(rows: &[Option<String>]) -> Vec<Option<String>> {
    rows.iter()
        .map(|v| {
            v.as_ref().map(|s| {
                let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(&KEY).unwrap();
                mac.update(s.as_bytes());
                let digest = mac.finalize().into_bytes();
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                hex[..32].to_string()
            })
        })
        .collect()
}

fn naive_truncate(rows: &[Option<String>]) -> Vec<Option<String>> {
    rows.iter()
        .map(|v| v.as_ref().map(|s| s.chars().take(6).collect()))
        .collect()
}

fn naive_region_up(rows: &[Option<String>]) -> Vec<Option<String>> {
    rows.iter()
        .map(|v| {
            v.as_ref().and_then(|s| {
                let code: u32 = s.get(..6)?.parse().ok()?;
                Some(format!("{:06}", code - code % 100))
            })
        })
        .collect()
}

fn naive_date_to_month(rows: &[Option<String>]) -> Vec<Option<String>> {
    rows.iter()
        .map(|v| {
            v.as_ref().and_then(|s| {
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
                Some(format!("{:04}-{:02}-01", d.year(), d.month()))
            })
        })
        .collect()
}

fn naive_age_band(rows: &[Option<i32>]) -> Vec<Option<i32>> {
    rows.iter()
        .map(|v| v.map(|a| a - a.rem_euclid(10)))
        .collect()
}

fn naive_date_shift(dates: &[Option<String>], units: &[Option<String>]) -> Vec<Option<String>> {
    dates
        .iter()
        .zip(units)
        .map(|(d, u)| {
            let (d, u) = (d.as_ref()?, u.as_ref()?);
            let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(&KEY).unwrap();
            mac.update(u.as_bytes());
            let digest = mac.finalize().into_bytes();
            let x = u64::from_be_bytes(digest[..8].try_into().unwrap());
            let offset = (x % 61) as i64 - 30;
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
            Some(
                (date + chrono::Duration::days(offset))
                    .format("%Y-%m-%d")
                    .to_string(),
            )
        })
        .collect()
}

fn naive_suppress(rows: &[Option<String>]) -> Vec<Option<String>> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in rows.iter().flatten() {
        *counts.entry(v.clone()).or_default() += 1;
    }
    rows.iter()
        .map(|v| v.clone().filter(|s| counts[s] >= 5))
        .collect()
}

// ------------------------------------------------------------------------------------------------

type Op<'a> = Box<dyn FnMut() + 'a>;

/// The kernel under test: `apply` of one rule to one column.
fn kernel<'a>(rule: Rule, column: &ArrayRef, ctx: Context<'a>) -> impl FnMut() + 'a {
    let column = Arc::clone(column);
    move || {
        black_box(apply(&rule, &column, &ctx).unwrap());
    }
}

fn main() {
    let f = Fixture::new();
    let key = HashKey::from_bytes(KEY);
    let plain = Context::new();
    let keyed = Context::new().with_key(&key);
    let shifting = Context::new().with_key(&key).with_privacy_unit(&f.ids);
    let mask = Rule::Mask {
        keep_prefix: 1,
        keep_suffix: 0,
        mask_char: '*',
    };
    // (name, kernel, baseline)
    let mut cases: Vec<(&str, Op<'_>, Op<'_>)> = vec![
        (
            "mask_name",
            Box::new(kernel(mask, &f.names, plain)),
            Box::new(|| drop(black_box(naive_mask(&f.names_rows)))),
        ),
        (
            "hash_id",
            Box::new(kernel(Rule::Hash { hex_chars: 32 }, &f.ids, keyed)),
            Box::new(|| drop(black_box(naive_hash(&f.ids_rows)))),
        ),
        (
            "truncate_id",
            Box::new(kernel(Rule::Truncate { keep: 6 }, &f.ids, plain)),
            Box::new(|| drop(black_box(naive_truncate(&f.ids_rows)))),
        ),
        (
            "region_up",
            Box::new(kernel(
                Rule::Generalize(Generalization::RegionUp { levels: 1 }),
                &f.regions,
                plain,
            )),
            Box::new(|| drop(black_box(naive_region_up(&f.regions_rows)))),
        ),
        (
            "date_to_month",
            Box::new(kernel(
                Rule::Generalize(Generalization::DateToMonth),
                &f.dates,
                plain,
            )),
            Box::new(|| drop(black_box(naive_date_to_month(&f.dates_rows)))),
        ),
        (
            "age_band",
            Box::new(kernel(
                Rule::Generalize(Generalization::AgeBand { width: 10 }),
                &f.ages,
                plain,
            )),
            Box::new(|| drop(black_box(naive_age_band(&f.ages_rows)))),
        ),
        (
            "date_shift",
            Box::new(kernel(Rule::DateShift { max_days: 30 }, &f.dates, shifting)),
            Box::new(|| drop(black_box(naive_date_shift(&f.dates_rows, &f.ids_rows)))),
        ),
        (
            "suppress_region",
            Box::new(kernel(Rule::Suppress { min_count: 5 }, &f.regions, plain)),
            Box::new(|| drop(black_box(naive_suppress(&f.regions_rows)))),
        ),
    ];

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    {
        let mut g = c.benchmark_group("desensitize_1M");
        g.sampling_mode(SamplingMode::Flat);
        g.throughput(Throughput::Elements(ROWS as u64));
        for (name, kernel, baseline) in &mut cases {
            g.bench_function(format!("{name}/kernel"), |b| b.iter(&mut *kernel));
            g.bench_function(format!("{name}/naive"), |b| b.iter(&mut *baseline));
        }
        g.finish();
    }
    c.final_summary();

    let best = |op: &mut Op<'_>| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                op();
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX)
    };
    println!(
        "\n{:<16} {:>10} {:>12} {:>10} {:>12} {:>8}",
        "kernel", "time", "rows/s", "naive", "rows/s", "speed-up"
    );
    for (name, kernel, baseline) in &mut cases {
        let (k, n) = (best(kernel), best(baseline));
        println!(
            "{name:<16} {:>8.1}ms {:>12.0} {:>8.1}ms {:>12.0} {:>7.2}x",
            k.as_secs_f64() * 1e3,
            ROWS as f64 / k.as_secs_f64(),
            n.as_secs_f64() * 1e3,
            ROWS as f64 / n.as_secs_f64(),
            n.as_secs_f64() / k.as_secs_f64()
        );
    }
}
