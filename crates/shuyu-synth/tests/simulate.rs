//! Simulated rows from observed marginals: types, NULL rates, format validity and marginal
//! distributions are kept, and no observed identifier or rare value is ever emitted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rand::SeedableRng;
use rand_chacha::{ChaCha8Rng, ChaCha20Rng};
use shuyu_quality::{Extent, FieldProfiler, FormatKind};
use shuyu_synth::{
    BusRidership, CityConfig, ClinicVisits, Dataset, EnterpriseRegistry, Marginals, RecordBatches,
    SocialInsurance, SynthError, SyntheticCity,
};

const MIN_COUNT: u64 = 5;

fn city() -> SyntheticCity {
    let config = CityConfig {
        population: 3_000,
        enterprises: 800,
        ..CityConfig::demo()
    };
    SyntheticCity::new(config, &mut ChaCha8Rng::seed_from_u64(11)).unwrap()
}

/// Observes `rows` rows of a dataset, simulates as many, and checks the properties every column must
/// keep. Returns the real and the simulated batches.
fn simulate_dataset<D: Dataset>(dataset: D, rows: u64) -> (Vec<RecordBatch>, RecordBatch) {
    let schema = dataset.schema();
    let formats: Vec<(String, Option<FormatKind>)> = schema
        .columns
        .iter()
        .map(|c| (c.name.to_owned(), Some(c.format)))
        .collect();
    let real: Vec<RecordBatch> = RecordBatches::new(dataset, rows, 1_000)
        .collect::<Result<_, _>>()
        .unwrap();
    let mut marginals = Marginals::new(schema.arrow_schema(), &formats, MIN_COUNT).unwrap();
    for batch in &real {
        marginals.observe(batch).unwrap();
    }
    let simulated = marginals
        .sample(5_000, &mut ChaCha20Rng::seed_from_u64(5))
        .unwrap();

    // Same names and types.
    let real_schema = schema.arrow_schema();
    assert_eq!(
        simulated.schema().fields().len(),
        real_schema.fields().len()
    );
    for (a, b) in simulated.schema().fields().iter().zip(real_schema.fields()) {
        assert_eq!((a.name(), a.data_type()), (b.name(), b.data_type()));
    }
    assert_eq!(simulated.num_rows(), 5_000);

    for (index, spec) in schema.columns.iter().enumerate() {
        let real_columns: Vec<&ArrayRef> = real.iter().map(|b| b.column(index)).collect();
        let mut real_profile = FieldProfiler::new(spec.format);
        for column in &real_columns {
            real_profile.update(column).unwrap();
        }
        let real_profile = real_profile.finish();
        let mut sim_profile = FieldProfiler::new(spec.format);
        sim_profile.update(simulated.column(index)).unwrap();
        let sim_profile = sim_profile.finish();
        // NULL rate within 2.5 points (5 000 draws: standard error below 0.8 points).
        assert!(
            (real_profile.null_rate - sim_profile.null_rate).abs() < 0.025,
            "{}: null rate {} vs {}",
            spec.name,
            real_profile.null_rate,
            sim_profile.null_rate
        );
        // Every identifier and date text is format-valid.
        if spec.format != FormatKind::None {
            assert_eq!(sim_profile.invalid, Some(0), "{}", spec.name);
        }
        // Numbers and dates stay within the observed range.
        match (real_profile.extent, sim_profile.extent) {
            (Some(Extent::Number { min, max }), Some(Extent::Number { min: a, max: b })) => {
                assert!(
                    min <= a && b <= max,
                    "{}: {a}..{b} outside {min}..{max}",
                    spec.name
                );
            }
            (Some(Extent::Integer { min, max }), Some(Extent::Integer { min: a, max: b })) => {
                assert!(min <= a && b <= max, "{}", spec.name);
            }
            (Some(Extent::Date { min, max }), Some(Extent::Date { min: a, max: b })) => {
                assert!(
                    min <= a && b <= max,
                    "{}: {a}..{b} outside {min}..{max}",
                    spec.name
                );
            }
            (Some(Extent::Timestamp { min, max }), Some(Extent::Timestamp { min: a, max: b })) => {
                assert!(min <= a && b <= max, "{}", spec.name);
            }
            _ => {}
        }
        // No observed identifier comes back.
        if matches!(
            spec.format,
            FormatKind::ResidentId | FormatKind::CreditCode | FormatKind::Mobile
        ) {
            let observed: HashSet<String> = real_columns
                .iter()
                .flat_map(|c| c.as_string::<i32>().iter().flatten().map(str::to_owned))
                .collect();
            let emitted = simulated.column(index).as_string::<i32>();
            assert!(
                emitted.iter().flatten().all(|v| !observed.contains(v)),
                "{} emitted an observed identifier",
                spec.name
            );
        }
    }
    (real, simulated)
}

#[test]
fn simulated_demo_tables_keep_types_null_rates_ranges_and_formats() {
    let city = city();
    simulate_dataset(EnterpriseRegistry::new(&city), 800);
    simulate_dataset(SocialInsurance::new(&city), 5_000);
    simulate_dataset(
        ClinicVisits::new(&city, ChaCha8Rng::seed_from_u64(1)),
        5_000,
    );
    simulate_dataset(
        BusRidership::new(&city, ChaCha8Rng::seed_from_u64(2)),
        5_000,
    );
}

// ---------------------------------------------------------------------------------------------
// A hand-made table

fn table_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("category", DataType::Utf8, true),
        Field::new("level", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("resident_id", DataType::Utf8, true),
    ]))
}

const UNIQUE_ID: &str = "11010519491231002X";

/// 2 000 rows: categories A/B/C at 50/30/20 % with one `RARE-1`; levels 1–4 at 40/30/20/10 % with
/// one 999; amounts uniform in [10, 20); flags 25 % true; every tenth category and level NULL.
fn table() -> RecordBatch {
    let n = 2_000;
    let category: StringArray = (0..n)
        .map(|i| match (i % 10, i) {
            (0, _) => None,
            (_, 7) => Some("RARE-1"),
            _ => Some(match i % 100 {
                0..50 => "A",
                50..80 => "B",
                _ => "C",
            }),
        })
        .collect();
    let level: Int64Array = (0..n)
        .map(|i| match (i % 10, i) {
            (0, _) => None,
            (_, 13) => Some(999),
            _ => Some(match i % 100 {
                0..40 => 1,
                40..70 => 2,
                70..90 => 3,
                _ => 4,
            }),
        })
        .collect();
    let amount: Float64Array = (0..n).map(|i| Some(10.0 + f64::from(i) / 200.0)).collect();
    let flag: BooleanArray = (0..n).map(|i| Some(i % 4 == 0)).collect();
    let ids: StringArray = (0..n).map(|i| (i == 3).then_some(UNIQUE_ID)).collect();
    RecordBatch::try_new(
        table_schema(),
        vec![
            Arc::new(category) as ArrayRef,
            Arc::new(level),
            Arc::new(amount),
            Arc::new(flag),
            Arc::new(ids),
        ],
    )
    .unwrap()
}

fn marginals() -> Marginals {
    let mut marginals = Marginals::new(
        table_schema(),
        &[("resident_id".into(), Some(FormatKind::ResidentId))],
        MIN_COUNT,
    )
    .unwrap();
    let batch = table();
    // In two batches, to count across batches.
    marginals.observe(&batch.slice(0, 1_234)).unwrap();
    marginals.observe(&batch.slice(1_234, 766)).unwrap();
    marginals
}

fn frequencies<T: std::hash::Hash + Eq>(values: impl Iterator<Item = T>) -> HashMap<T, f64> {
    let mut counts: HashMap<T, f64> = HashMap::new();
    let mut total = 0.0;
    for v in values {
        *counts.entry(v).or_default() += 1.0;
        total += 1.0;
    }
    counts.values_mut().for_each(|c| *c /= total);
    counts
}

#[test]
fn categorical_frequencies_are_kept_and_rare_values_never_emitted() {
    let out = marginals()
        .sample(10_000, &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap();
    let categories = frequencies(out.column(0).as_string::<i32>().iter().flatten());
    assert_eq!(categories.len(), 3, "only A, B and C: {categories:?}");
    assert!(!categories.contains_key("RARE-1"));
    for (value, share) in [("A", 0.5), ("B", 0.3), ("C", 0.2)] {
        assert!(
            (categories[value] - share).abs() < 0.02,
            "{value}: {categories:?}"
        );
    }
    let levels = frequencies(out.column(1).as_primitive::<Int64Type>().iter().flatten());
    assert!(
        !levels.contains_key(&999),
        "the unique level is never emitted"
    );
    assert_eq!(levels.len(), 4);
    for (value, share) in [(1, 0.4), (2, 0.3), (3, 0.2), (4, 0.1)] {
        assert!((levels[&value] - share).abs() < 0.02, "{value}: {levels:?}");
    }
    let flags = frequencies(out.column(3).as_boolean().iter().flatten());
    assert!((flags[&true] - 0.25).abs() < 0.02, "{flags:?}");
    let ids = out.column(4).as_string::<i32>();
    assert!(ids.iter().flatten().all(|id| id != UNIQUE_ID));
}

#[test]
fn null_rates_are_kept() {
    let out = marginals()
        .sample(10_000, &mut ChaCha20Rng::seed_from_u64(2))
        .unwrap();
    let rate = |i: usize| out.column(i).null_count() as f64 / 10_000.0;
    assert!((rate(0) - 0.1).abs() < 0.015, "{}", rate(0));
    assert!((rate(1) - 0.1).abs() < 0.015, "{}", rate(1));
    assert_eq!(rate(2), 0.0);
    assert_eq!(rate(3), 0.0);
    // One resident ID in 2 000 rows: the column is almost all NULL, and its few values are fresh.
    assert!(rate(4) > 0.99, "{}", rate(4));
}

#[test]
fn numbers_stay_in_the_observed_range_with_their_distribution() {
    let out = marginals()
        .sample(10_000, &mut ChaCha20Rng::seed_from_u64(3))
        .unwrap();
    let amounts: Vec<f64> = out
        .column(2)
        .as_primitive::<Float64Type>()
        .iter()
        .flatten()
        .collect();
    assert!(amounts.iter().all(|a| (10.0..=19.995).contains(a)));
    let mean = amounts.iter().sum::<f64>() / amounts.len() as f64;
    assert!((mean - 15.0).abs() < 0.1, "{mean}");
    let below_12 = amounts.iter().filter(|a| **a < 12.0).count() as f64 / amounts.len() as f64;
    assert!((below_12 - 0.2).abs() < 0.02, "{below_12}");
}

#[test]
fn the_same_seed_gives_the_same_rows() {
    let marginals = marginals();
    let a = marginals
        .sample(500, &mut ChaCha20Rng::seed_from_u64(9))
        .unwrap();
    let b = marginals
        .sample(500, &mut ChaCha20Rng::seed_from_u64(9))
        .unwrap();
    let c = marginals
        .sample(500, &mut ChaCha20Rng::seed_from_u64(10))
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn high_cardinality_text_uses_frequent_lengths_and_characters_only() {
    let schema = Arc::new(Schema::new(vec![Field::new("code", DataType::Utf8, false)]));
    // 3 000 distinct codes `K-0000`…: over the category cap; plus one long value with rare letters.
    let mut codes: Vec<String> = (0..3_000).map(|i| format!("K-{i:04}")).collect();
    codes.push("ZQXJ-unique-value".into());
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(codes.clone())) as ArrayRef],
    )
    .unwrap();
    let mut marginals = Marginals::new(schema, &[], MIN_COUNT).unwrap();
    marginals.observe(&batch).unwrap();
    let out = marginals
        .sample(10_000, &mut ChaCha20Rng::seed_from_u64(4))
        .unwrap();
    let allowed: HashSet<char> = "K-0123456789".chars().collect();
    for value in out.column(0).as_string::<i32>().iter().flatten() {
        assert_eq!(value.chars().count(), 6, "{value}");
        assert!(value.chars().all(|c| allowed.contains(&c)), "{value}");
    }
}

#[test]
fn refusals_name_the_problem_and_never_a_value() {
    let schema = table_schema();
    assert!(matches!(
        Marginals::new(schema.clone(), &[], 1),
        Err(SynthError::MinCount(1))
    ));
    assert!(matches!(
        Marginals::new(schema.clone(), &[("nope".into(), None)], 5),
        Err(SynthError::UnknownColumn(c)) if c == "nope"
    ));
    assert!(matches!(
        Marginals::new(schema.clone(), &[("level".into(), Some(FormatKind::ResidentId))], 5),
        Err(SynthError::FormatType { column, .. }) if column == "level"
    ));
    let listy = Arc::new(Schema::new(vec![Field::new(
        "tags",
        DataType::new_list(DataType::Utf8, true),
        true,
    )]));
    assert!(matches!(
        Marginals::new(listy, &[], 5),
        Err(SynthError::UnsupportedType { column, .. }) if column == "tags"
    ));

    let mut marginals = marginals();
    let other = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from(vec![1])) as ArrayRef],
    )
    .unwrap();
    assert!(matches!(
        marginals.observe(&other),
        Err(SynthError::SchemaMismatch)
    ));
    let debug = format!("{marginals:?}");
    for value in ["RARE-1", "999", UNIQUE_ID, "\"A\""] {
        assert!(!debug.contains(value), "{debug}");
    }

    // Three numbers, fewer than `min_count`: not even one bucket of all of them may be drawn from.
    let sparse_schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    let mut sparse = Marginals::new(sparse_schema.clone(), &[], 5).unwrap();
    sparse
        .observe(
            &RecordBatch::try_new(
                sparse_schema,
                vec![Arc::new(Int64Array::from_iter_values([1_000, 5_000, 9_000])) as ArrayRef],
            )
            .unwrap(),
        )
        .unwrap();
    let err = sparse
        .sample(10, &mut ChaCha20Rng::seed_from_u64(0))
        .unwrap_err();
    assert!(
        matches!(&err, SynthError::TooFewObservations { column, min_count: 5 } if column == "n")
    );
    assert!(!err.to_string().contains("1000"));
    // Nothing observed at all is refused too.
    let empty = Marginals::new(table_schema(), &[], 5).unwrap();
    assert!(matches!(
        empty.sample(1, &mut ChaCha20Rng::seed_from_u64(0)),
        Err(SynthError::TooFewObservations { .. })
    ));
}

#[test]
fn distributions_around_zero_are_simulated_on_both_sides() {
    // 400 distinct values from -2 to 2: every one alone is rare, so buckets widen until they are
    // common; buckets either side of zero never merge, which must not stop sampling.
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("n", DataType::Int64, false),
    ]));
    let xs: Float64Array = (0..400)
        .map(|i| Some(-2.0 + f64::from(i) / 100.0))
        .collect();
    let ns: Int64Array = (0..400).map(|i| Some(i64::from(i) - 200)).collect();
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(xs) as ArrayRef, Arc::new(ns)]).unwrap();
    let mut marginals = Marginals::new(schema, &[], MIN_COUNT).unwrap();
    marginals.observe(&batch).unwrap();
    let out = marginals
        .sample(10_000, &mut ChaCha20Rng::seed_from_u64(6))
        .unwrap();
    let xs = out.column(0).as_primitive::<Float64Type>();
    assert!(xs.values().iter().all(|x| (-2.0..=1.99).contains(x)));
    let negative = xs.values().iter().filter(|x| **x < 0.0).count() as f64 / 10_000.0;
    assert!((negative - 0.5).abs() < 0.03, "{negative}");
    let ns = out.column(1).as_primitive::<Int64Type>();
    assert!(ns.values().iter().all(|n| (-200..=199).contains(n)));
    let negative = ns.values().iter().filter(|n| **n < 0).count() as f64 / 10_000.0;
    assert!((negative - 0.5).abs() < 0.03, "{negative}");

    // Three values either side of zero and `min_count` 5: the two half-open buckets never merge
    // and neither is common enough, which is refused rather than looping.
    let one = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
    let mut straddling = Marginals::new(one.clone(), &[], 5).unwrap();
    straddling
        .observe(
            &RecordBatch::try_new(
                one,
                vec![Arc::new(Int64Array::from(vec![-7, -1, 3, 8, 9, 12])) as ArrayRef],
            )
            .unwrap(),
        )
        .unwrap();
    assert!(matches!(
        straddling.sample(10, &mut ChaCha20Rng::seed_from_u64(0)),
        Err(SynthError::TooFewObservations { .. })
    ));

    // Neighbours that are each rare but common together are drawn from their shared bucket.
    let one = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
    let mut neighbours = Marginals::new(one.clone(), &[], 5).unwrap();
    neighbours
        .observe(
            &RecordBatch::try_new(
                one,
                vec![Arc::new(Int64Array::from(vec![5, 5, 5, 6, 6, 6])) as ArrayRef],
            )
            .unwrap(),
        )
        .unwrap();
    let out = neighbours
        .sample(1_000, &mut ChaCha20Rng::seed_from_u64(0))
        .unwrap();
    let values = out.column(0).as_primitive::<Int64Type>();
    assert!(values.values().iter().all(|n| (5..=6).contains(n)));
    assert!(values.values().contains(&5) && values.values().contains(&6));
}

#[test]
fn every_supported_arrow_type_is_simulated_in_its_own_type() {
    use arrow_array::{
        Date64Array, Decimal128Array, Float32Array, Int8Array, Int32Array, LargeStringArray,
        StringViewArray, TimestampMillisecondArray, UInt8Array, UInt64Array,
    };
    use arrow_schema::TimeUnit;
    let n = 600;
    let columns: Vec<(Field, ArrayRef)> = vec![
        (
            Field::new("i8", DataType::Int8, true),
            Arc::new(Int8Array::from_iter(
                (0..n).map(|i| Some((i % 7) as i8 - 3)),
            )),
        ),
        (
            Field::new("i32", DataType::Int32, true),
            Arc::new(Int32Array::from_iter((0..n).map(|i| Some(i * 37)))),
        ),
        (
            Field::new("u8", DataType::UInt8, true),
            Arc::new(UInt8Array::from_iter((0..n).map(|i| Some((i % 200) as u8)))),
        ),
        (
            Field::new("mobile_number", DataType::UInt64, true),
            Arc::new(UInt64Array::from_iter(
                (0..n).map(|i| Some(13_800_000_000 + i as u64)),
            )),
        ),
        (
            Field::new("money", DataType::Decimal128(12, 2), true),
            Arc::new(
                Decimal128Array::from_iter((0..n).map(|i| Some(i128::from(i) * 1_234)))
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        (
            Field::new("ratio", DataType::Float32, true),
            Arc::new(Float32Array::from_iter(
                (0..n).map(|i| Some(i as f32 / 600.0)),
            )),
        ),
        (
            Field::new("day64", DataType::Date64, true),
            Arc::new(Date64Array::from_iter(
                (0..n).map(|i| Some(1_700_000_000_000 + i64::from(i) * 86_400_000)),
            )),
        ),
        (
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Millisecond, Some("+08:00".into())),
                true,
            ),
            Arc::new(
                TimestampMillisecondArray::from_iter(
                    (0..n).map(|i| Some(1_700_000_000_000 + i64::from(i) * 1_000)),
                )
                .with_timezone("+08:00"),
            ),
        ),
        (
            Field::new("large", DataType::LargeUtf8, true),
            Arc::new(LargeStringArray::from_iter(
                (0..n).map(|i| Some(["甲", "乙", "丙"][i as usize % 3])),
            )),
        ),
        (
            Field::new("view", DataType::Utf8View, true),
            Arc::new(StringViewArray::from_iter(
                (0..n).map(|i| (i % 4 != 0).then(|| format!("{}-day", 2000 + i % 20))),
            )),
        ),
        (
            Field::new("birth", DataType::Utf8, true),
            Arc::new(StringArray::from_iter((0..n).map(|i| {
                Some(format!("19{:02}-0{}-1{}", 50 + i % 40, 1 + i % 9, i % 10))
            }))),
        ),
    ];
    let schema = Arc::new(Schema::new(
        columns.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let formats = [
        ("mobile_number".to_owned(), Some(FormatKind::Mobile)),
        ("birth".to_owned(), Some(FormatKind::Date)),
    ];
    let mut marginals = Marginals::new(schema.clone(), &formats, MIN_COUNT).unwrap();
    marginals.observe(&batch).unwrap();
    let out = marginals
        .sample(2_000, &mut ChaCha20Rng::seed_from_u64(8))
        .unwrap();
    assert_eq!(out.schema(), schema);
    let mut compared = Vec::new();
    for (index, field) in schema.fields().iter().enumerate() {
        let format = formats
            .iter()
            .find(|(name, _)| name == field.name())
            .and_then(|(_, f)| *f)
            .unwrap_or_default();
        let profile = |array: &ArrayRef| {
            let mut profiler = FieldProfiler::new(format);
            profiler.update(array).unwrap();
            profiler.finish()
        };
        let (real, sim) = (profile(batch.column(index)), profile(out.column(index)));
        assert!(
            (real.null_rate - sim.null_rate).abs() < 0.04,
            "{}: {} vs {}",
            field.name(),
            real.null_rate,
            sim.null_rate
        );
        if format != FormatKind::None {
            assert_eq!(sim.invalid, Some(0), "{}", field.name());
        }
        match (real.extent, sim.extent) {
            (Some(Extent::Integer { min, max }), Some(Extent::Integer { min: a, max: b })) => {
                assert!(min <= a && b <= max, "{}: {a}..{b}", field.name());
                compared.push(field.name().clone());
            }
            (Some(Extent::Unsigned { min, max }), Some(Extent::Unsigned { min: a, max: b }))
                if format == FormatKind::None =>
            {
                assert!(min <= a && b <= max, "{}: {a}..{b}", field.name());
                compared.push(field.name().clone());
            }
            (Some(Extent::Number { min, max }), Some(Extent::Number { min: a, max: b })) => {
                assert!(min <= a && b <= max, "{}: {a}..{b}", field.name());
                compared.push(field.name().clone());
            }
            (Some(Extent::Timestamp { min, max }), Some(Extent::Timestamp { min: a, max: b })) => {
                assert!(min <= a && b <= max, "{}: {a}..{b}", field.name());
                compared.push(field.name().clone());
            }
            (Some(Extent::Date { min, max }), Some(Extent::Date { min: a, max: b })) => {
                assert!(min <= a && b <= max, "{}: {a}..{b}", field.name());
                compared.push(field.name().clone());
            }
            _ => {}
        }
    }
    assert_eq!(compared.len(), 7, "ranges compared: {compared:?}");
    // Mobile numbers stored as integers are fresh valid numbers, never the observed ones.
    let mobiles = out
        .column(3)
        .as_primitive::<arrow_array::types::UInt64Type>();
    assert!(mobiles.values().iter().all(|m| {
        FormatKind::Mobile.check(&m.to_string()) && !(13_800_000_000..13_800_000_600).contains(m)
    }));
}

#[test]
fn long_free_text_is_never_kept_as_a_category() {
    let schema = Arc::new(Schema::new(vec![Field::new("note", DataType::Utf8, false)]));
    let long = "x".repeat(300);
    let mut notes: Vec<&str> = vec!["aa"; 20];
    notes.extend(vec!["bb"; 20]);
    notes.extend(vec![long.as_str(); 10]);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(notes)) as ArrayRef],
    )
    .unwrap();
    let mut marginals = Marginals::new(schema, &[], MIN_COUNT).unwrap();
    marginals.observe(&batch).unwrap();
    let out = marginals
        .sample(1_000, &mut ChaCha20Rng::seed_from_u64(12))
        .unwrap();
    let values: Vec<&str> = out.column(0).as_string::<i32>().iter().flatten().collect();
    // The length/charset model: lengths 2 and 300 of the characters a, b and x, mixed.
    assert!(
        values
            .iter()
            .all(|v| matches!(v.chars().count(), 2 | 300) && v.chars().all(|c| "abx".contains(c)))
    );
    assert!(
        values
            .iter()
            .any(|v| !["aa", "bb", long.as_str()].contains(v))
    );
}
