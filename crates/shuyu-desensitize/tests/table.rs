//! Whole tables: one rule per column (deny by default), a schema that depends only on the rules and
//! the input types, and the reservoir sample of rows that is desensitized.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray, StringViewArray, TimestampSecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use shuyu_desensitize::{
    Context, DesensitizeError, Generalization, HashKey, Rule, Sampler, TableRules, apply,
    apply_batch, output_type,
};

fn day(y: i32, m: u32, d: u32) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    (NaiveDate::from_ymd_opt(y, m, d).unwrap() - epoch).num_days() as i32
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("resident_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("person_no", DataType::Int64, true),
        Field::new("birth_date", DataType::Date32, true),
        Field::new("visit_date", DataType::Date32, true),
        Field::new("wage", DataType::Float64, true),
    ]))
}

fn batch(ids: &[&str], names: &[Option<&str>], wage: f64) -> RecordBatch {
    let n = ids.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids.to_vec())),
        Arc::new(StringArray::from(names.to_vec())),
        Arc::new(Int64Array::from(
            (0..n as i64).map(|i| 1000 + i).collect::<Vec<_>>(),
        )),
        Arc::new(Date32Array::from(vec![day(1987, 6, 5); n])),
        Arc::new(Date32Array::from(vec![day(2024, 3, 10); n])),
        Arc::new(Float64Array::from(vec![wage; n])),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn rules() -> TableRules {
    TableRules::new(vec![
        ("resident_id".into(), Rule::Hash { hex_chars: 32 }),
        (
            "name".into(),
            Rule::Mask {
                keep_prefix: 1,
                keep_suffix: 0,
                mask_char: '*',
            },
        ),
        (
            "person_no".into(),
            Rule::Mask {
                keep_prefix: 2,
                keep_suffix: 0,
                mask_char: '*',
            },
        ),
        (
            "birth_date".into(),
            Rule::Generalize(Generalization::AgeBand { width: 10 }),
        ),
        ("visit_date".into(), Rule::DateShift { max_days: 30 }),
        ("wage".into(), Rule::Null),
    ])
    .with_privacy_unit("resident_id")
}

const IDS: [&str; 2] = ["110101199003071234", "11010519491231002X"];

#[test]
fn every_column_gets_its_own_rule() {
    let key = HashKey::derive(b"secret", b"grant 1");
    let as_of = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let ctx = Context::new().with_key(&key).with_as_of(as_of);
    let input = batch(&IDS, &[Some("张三丰"), None], 6500.0);
    let out = apply_batch(&input, &rules(), &ctx).unwrap();

    assert_eq!(out.num_rows(), 2);
    // Each column is exactly what `apply` gives for its rule alone.
    let hashed = apply(&Rule::Hash { hex_chars: 32 }, input.column(0), &ctx).unwrap();
    assert_eq!(out.column(0), &hashed);
    assert_eq!(out.column(0).as_string::<i32>().value(0).len(), 32);
    assert_eq!(out.column(1).as_string::<i32>().value(0), "张**");
    assert!(out.column(1).is_null(1));
    assert_eq!(out.column(2).as_string::<i32>().value(1), "10**");
    assert_eq!(
        out.column(3).as_primitive::<Int32Type>().values().to_vec(),
        vec![30, 30]
    );
    assert_eq!(out.column(5).null_count(), 2);
    // The shifts are keyed by the original resident IDs even though that column is hashed.
    let unit: ArrayRef = Arc::new(StringArray::from(IDS.to_vec()));
    let shifted = apply(
        &Rule::DateShift { max_days: 30 },
        input.column(4),
        &ctx.with_privacy_unit(&unit),
    )
    .unwrap();
    assert_eq!(out.column(4), &shifted);
    let moved = out.column(4).as_primitive::<Date32Type>();
    assert!(
        (0..2).all(|row| (moved.value(row) - day(2024, 3, 10)).abs() <= 30),
        "within the shift range"
    );
}

#[test]
fn the_schema_depends_on_the_rules_and_types_only() {
    let key = HashKey::derive(b"secret", b"grant 1");
    let as_of = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let ctx = Context::new().with_key(&key).with_as_of(as_of);
    let expected = rules().output_schema(&schema()).unwrap();
    let types: Vec<DataType> = expected
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,  // masked integer
            DataType::Int32, // age band of a birth date
            DataType::Date32,
            DataType::Float64,
        ]
    );
    assert!(expected.fields().iter().all(|f| f.is_nullable()));
    let batches = [
        batch(&IDS, &[Some("张三丰"), Some("李四")], 6500.0),
        batch(&IDS[..1], &[None], 1.0),
        batch(&[], &[], 0.0),
    ];
    for input in &batches {
        let out = apply_batch(input, &rules(), &ctx).unwrap();
        assert_eq!(out.schema(), expected, "{} rows", input.num_rows());
    }
}

#[test]
fn a_column_without_a_rule_is_refused() {
    let mut without_wage = rules();
    without_wage = TableRules::new(
        [
            "resident_id",
            "name",
            "person_no",
            "birth_date",
            "visit_date",
        ]
        .iter()
        .map(|c| ((*c).to_owned(), without_wage.rule(c).unwrap().clone()))
        .collect(),
    );
    let input = batch(&IDS, &[Some("张三丰"), None], 6500.0);
    let key = HashKey::derive(b"secret", b"grant 1");
    let err = apply_batch(&input, &without_wage, &Context::new().with_key(&key)).unwrap_err();
    assert_eq!(
        err,
        DesensitizeError::MissingRule {
            column: "wage".into()
        }
    );
}

#[test]
fn a_rule_for_a_missing_column_or_a_second_rule_is_refused() {
    let input = Schema::new(vec![Field::new("a", DataType::Utf8, true)]);
    let stale = TableRules::new(vec![("a".into(), Rule::Keep), ("gone".into(), Rule::Keep)]);
    assert_eq!(
        stale.output_schema(&input).unwrap_err(),
        DesensitizeError::RuleWithoutColumn {
            column: "gone".into()
        }
    );
    let twice = TableRules::new(vec![("a".into(), Rule::Keep), ("a".into(), Rule::Null)]);
    assert_eq!(
        twice.output_schema(&input).unwrap_err(),
        DesensitizeError::DuplicateRule { column: "a".into() }
    );
    let unit = TableRules::new(vec![("a".into(), Rule::Keep)]).with_privacy_unit("person");
    let batch = RecordBatch::try_new(
        Arc::new(input),
        vec![Arc::new(StringArray::from(vec!["x"])) as ArrayRef],
    )
    .unwrap();
    assert_eq!(
        apply_batch(&batch, &unit, &Context::new()).unwrap_err(),
        DesensitizeError::PrivacyUnitColumn {
            column: "person".into()
        }
    );
}

#[test]
fn a_failing_rule_names_the_column_and_never_a_value() {
    let input = batch(&IDS, &[Some("张三丰"), None], 6500.0);
    // No key in the context: the hash of `resident_id` cannot run.
    let err = apply_batch(&input, &rules(), &Context::new()).unwrap_err();
    assert_eq!(
        err,
        DesensitizeError::Column {
            column: "resident_id".into(),
            error: Box::new(DesensitizeError::MissingKey { rule: "hash" }),
        }
    );
    let text = format!("{err} {err:?}");
    assert!(text.contains("resident_id"));
    for value in IDS.iter().chain(&["张三丰", "6500"]) {
        assert!(!text.contains(value), "{text}");
    }
    // A rule that does not fit its column's type is refused before anything runs.
    let wrong = TableRules::new(vec![("wage".into(), Rule::Hash { hex_chars: 32 })]);
    let wage = Schema::new(vec![Field::new("wage", DataType::Float64, true)]);
    assert!(matches!(
        wrong.output_schema(&wage).unwrap_err(),
        DesensitizeError::Column { column, .. } if column == "wage"
    ));
}

#[test]
fn output_type_agrees_with_apply_for_every_rule_and_type() {
    let key = HashKey::derive(b"secret", b"grant 1");
    let as_of = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("110105"), None])),
        Arc::new(LargeStringArray::from(vec![Some("2024-05-17"), None])),
        Arc::new(StringViewArray::from(vec![Some("110105"), None])),
        Arc::new(Int32Array::from(vec![Some(110_105), None])),
        Arc::new(Int64Array::from(vec![Some(37), None])),
        Arc::new(Float64Array::from(vec![Some(1234.5), None])),
        Arc::new(Date32Array::from(vec![Some(day(1990, 3, 7)), None])),
        Arc::new(TimestampSecondArray::from(vec![Some(1_700_000_000), None])),
    ];
    let unit: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
    let ctx = Context::new()
        .with_key(&key)
        .with_as_of(as_of)
        .with_privacy_unit(&unit);
    let rules = [
        Rule::Keep,
        Rule::Null,
        Rule::Mask {
            keep_prefix: 1,
            keep_suffix: 1,
            mask_char: '*',
        },
        Rule::Hash { hex_chars: 16 },
        Rule::Truncate { keep: 2 },
        Rule::DateShift { max_days: 10 },
        Rule::Suppress { min_count: 2 },
        Rule::Generalize(Generalization::AgeBand { width: 10 }),
        Rule::Generalize(Generalization::RegionUp { levels: 1 }),
        Rule::Generalize(Generalization::DateToMonth),
        Rule::Generalize(Generalization::DateToYear),
        Rule::Generalize(Generalization::NumberBand { width: 100 }),
    ];
    let mut checked = 0;
    for rule in &rules {
        for column in &columns {
            match (
                output_type(rule, column.data_type()),
                apply(rule, column, &ctx),
            ) {
                (Ok(expected), Ok(out)) => {
                    assert_eq!(
                        out.data_type(),
                        &expected,
                        "{rule:?} on {}",
                        column.data_type()
                    );
                    checked += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => panic!("{rule:?} on {}: {a:?} vs {b:?}", column.data_type()),
            }
        }
    }
    assert!(checked > 40, "{checked}");
    assert_eq!(
        output_type(
            &Rule::Hash { hex_chars: 16 },
            &DataType::Timestamp(TimeUnit::Second, None)
        )
        .unwrap_err(),
        DesensitizeError::Unsupported {
            rule: "hash",
            data_type: "Timestamp(s)".into()
        }
        .clone()
    );
}

// ---------------------------------------------------------------------------------------------
// Sampling

fn numbers_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("x", DataType::Float64, true),
    ]))
}

/// Rows `from..to` cut into batches of `size`.
fn numbered(from: i64, to: i64, size: usize) -> Vec<RecordBatch> {
    (from..to)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(|chunk| {
            let xs: Vec<Option<f64>> = chunk
                .iter()
                .map(|n| (n % 3 != 0).then_some(*n as f64 / 2.0))
                .collect();
            RecordBatch::try_new(
                numbers_schema(),
                vec![
                    Arc::new(Int64Array::from(chunk.to_vec())) as ArrayRef,
                    Arc::new(Float64Array::from(xs)),
                ],
            )
            .unwrap()
        })
        .collect()
}

fn sample(batches: &[RecordBatch], capacity: usize, seed: u64) -> RecordBatch {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut sampler = Sampler::new(numbers_schema(), capacity);
    for batch in batches {
        sampler.push(batch, &mut rng).unwrap();
    }
    sampler.finish().unwrap()
}

fn ns(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column(0)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

#[test]
fn a_capacity_above_the_row_count_keeps_every_row_in_order() {
    let batches = numbered(0, 23, 5);
    let out = sample(&batches, 100, 1);
    assert_eq!(ns(&out), (0..23).collect::<Vec<_>>());
    assert_eq!(out.schema(), numbers_schema());
    // The other columns travel with their rows, NULLs included.
    let xs = out.column(1).as_primitive::<Float64Type>();
    assert!(xs.is_null(3) && xs.value(4) == 2.0);
    assert_eq!(ns(&sample(&batches, 23, 1)), (0..23).collect::<Vec<_>>());
}

#[test]
fn a_full_reservoir_holds_capacity_distinct_rows_of_the_input() {
    let batches = numbered(0, 1000, 64);
    let out = sample(&batches, 50, 7);
    let mut rows = ns(&out);
    assert_eq!(rows.len(), 50);
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), 50, "no row twice");
    assert!(rows.iter().all(|n| (0..1000).contains(n)));
    // Each row's x is still its own.
    let xs = out.column(1).as_primitive::<Float64Type>();
    for (row, n) in ns(&out).iter().enumerate() {
        assert_eq!(xs.is_null(row), n % 3 == 0);
        if n % 3 != 0 {
            assert_eq!(xs.value(row), *n as f64 / 2.0);
        }
    }
}

#[test]
fn every_row_is_equally_likely_to_be_sampled() {
    // 100 rows in uneven batches, 10 kept, 3000 seeded runs: each row is expected 300 times.
    let batches = numbered(0, 100, 7);
    let runs = 3000;
    let mut hits = [0u32; 100];
    for seed in 0..runs {
        for n in ns(&sample(&batches, 10, seed)) {
            hits[n as usize] += 1;
        }
    }
    let expected = f64::from(runs as u32) * 10.0 / 100.0;
    let chi2: f64 = hits
        .iter()
        .map(|h| (f64::from(*h) - expected).powi(2) / expected)
        .sum();
    // 99 degrees of freedom: mean 99, standard deviation 14; a biased sampler (say, one that favours
    // the first or last batch) lands in the thousands.
    assert!(chi2 < 170.0, "chi-square {chi2}, hits {hits:?}");
    let first: u32 = hits[..50].iter().sum();
    let last: u32 = hits[50..].iter().sum();
    assert!(first.abs_diff(last) < 1000, "{first} vs {last}");
}

#[test]
fn the_same_seed_gives_the_same_sample() {
    let batches = numbered(0, 500, 33);
    assert_eq!(sample(&batches, 20, 42), sample(&batches, 20, 42));
    assert_ne!(ns(&sample(&batches, 20, 42)), ns(&sample(&batches, 20, 43)));
}

#[test]
fn the_sampler_refuses_another_schema_prints_no_rows_and_keeps_nothing_at_capacity_zero() {
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let mut sampler = Sampler::new(numbers_schema(), 5);
    let other = batch(&IDS, &[None, None], 1.0);
    assert_eq!(
        sampler.push(&other, &mut rng).unwrap_err(),
        DesensitizeError::SchemaMismatch
    );
    sampler
        .push(&numbered(4_242, 4_245, 3)[0], &mut rng)
        .unwrap();
    let debug = format!("{sampler:?}");
    assert_eq!(debug, "Sampler { capacity: 5, held: 3, seen: 3, .. }");
    let mut none = Sampler::new(numbers_schema(), 0);
    for batch in numbered(0, 50, 10) {
        none.push(&batch, &mut rng).unwrap();
    }
    assert_eq!(none.seen(), 50);
    assert_eq!(none.finish().unwrap().num_rows(), 0);
}
