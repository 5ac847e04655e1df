//! Each rule over each column type it accepts: values, NULLs, empty strings, multi-byte text, and
//! the errors (which name the rule and the type, never a value).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    StringArray, StringViewArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use chrono::NaiveDate;
use shuyu_desensitize::{Context, DesensitizeError, Generalization, HashKey, Rule, apply};

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn texts(array: &ArrayRef) -> Vec<Option<String>> {
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        other => panic!("not text: {other}"),
    }
}

fn owned(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_owned)).collect()
}

fn mask(keep_prefix: u32, keep_suffix: u32) -> Rule {
    Rule::Mask {
        keep_prefix,
        keep_suffix,
        mask_char: '*',
    }
}

fn key(byte: u8) -> HashKey {
    HashKey::from_bytes([byte; HashKey::LEN])
}

fn date(y: i32, m: u32, d: u32) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    i32::try_from((NaiveDate::from_ymd_opt(y, m, d).unwrap() - epoch).num_days()).unwrap()
}

fn run(rule: &Rule, array: &ArrayRef) -> ArrayRef {
    apply(rule, array, &Context::new()).unwrap()
}

// --- mask -------------------------------------------------------------------------------------

#[test]
fn mask_keeps_the_first_character_of_chinese_names() {
    let names = strings(&[Some("张三丰"), Some("张三"), Some("张"), Some(""), None]);
    let out = run(&mask(1, 0), &names);
    assert_eq!(
        texts(&out),
        owned(&[Some("张**"), Some("张*"), Some("*"), Some(""), None])
    );
}

#[test]
fn mask_keeps_prefix_and_suffix_of_identifiers() {
    let ids = strings(&[Some("110101199003071234"), Some("13812345678")]);
    assert_eq!(
        texts(&run(&mask(6, 4), &ids))[0].as_deref(),
        Some("110101********1234")
    );
    assert_eq!(
        texts(&run(&mask(3, 4), &ids))[1].as_deref(),
        Some("138****5678")
    );
}

#[test]
fn mask_always_hides_at_least_one_character() {
    let short = strings(&[Some("ab"), Some("abc"), Some("王小")]);
    assert_eq!(
        texts(&run(&mask(3, 4), &short)),
        owned(&[Some("a*"), Some("ab*"), Some("王*")])
    );
}

#[test]
fn mask_with_a_multibyte_mask_char_and_mixed_text() {
    let rule = Rule::Mask {
        keep_prefix: 2,
        keep_suffix: 1,
        mask_char: '＊',
    };
    let out = run(&rule, &strings(&[Some("北京a市朝阳区")]));
    assert_eq!(texts(&out), owned(&[Some("北京＊＊＊＊区")]));
}

#[test]
fn mask_keeps_the_string_layout() {
    let large: ArrayRef = Arc::new(LargeStringArray::from(vec![Some("李四"), None]));
    let out = run(&mask(1, 0), &large);
    assert_eq!(out.data_type(), &DataType::LargeUtf8);
    assert_eq!(texts(&out), owned(&[Some("李*"), None]));

    let view: ArrayRef = Arc::new(StringViewArray::from(vec![
        Some("一个相当长的名字超过十二字节"),
        None,
        Some(""),
    ]));
    let out = run(&mask(1, 1), &view);
    assert_eq!(out.data_type(), &DataType::Utf8View);
    assert_eq!(
        texts(&out),
        owned(&[Some("一************节"), None, Some("")])
    );
}

#[test]
fn mask_of_integers_gives_text() {
    let mobiles: ArrayRef = Arc::new(Int64Array::from(vec![Some(13_812_345_678), None, Some(-5)]));
    let out = run(&mask(3, 4), &mobiles);
    assert_eq!(out.data_type(), &DataType::Utf8);
    assert_eq!(texts(&out), owned(&[Some("138****5678"), None, Some("-*")]));
}

// --- hash -------------------------------------------------------------------------------------

#[test]
fn hash_is_keyed_deterministic_and_fixed_width() {
    let rule = Rule::Hash { hex_chars: 32 };
    let ids = strings(&[
        Some("110101199003071234"),
        Some(""),
        None,
        Some("110101199003071234"),
    ]);
    let (k1, k2) = (key(1), key(2));
    let a = texts(&apply(&rule, &ids, &Context::new().with_key(&k1)).unwrap());
    let b = texts(&apply(&rule, &ids, &Context::new().with_key(&k1)).unwrap());
    let c = texts(&apply(&rule, &ids, &Context::new().with_key(&k2)).unwrap());
    assert_eq!(a, b);
    assert_eq!(a[0], a[3]);
    assert_ne!(a[0], a[1]);
    assert_eq!(a[2], None);
    assert_ne!(a[0], c[0]);
    for hash in a.iter().flatten() {
        assert_eq!(hash.len(), 32);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}

#[test]
fn hash_width_is_a_prefix_of_the_full_digest() {
    let ids = strings(&[Some("91110108MA01ABCD2X")]);
    let k = key(7);
    let ctx = Context::new().with_key(&k);
    let full = texts(&apply(&Rule::Hash { hex_chars: 64 }, &ids, &ctx).unwrap());
    let short = texts(&apply(&Rule::Hash { hex_chars: 17 }, &ids, &ctx).unwrap());
    let (full, short) = (full[0].clone().unwrap(), short[0].clone().unwrap());
    assert_eq!(full.len(), 64);
    assert_eq!(short.len(), 17);
    assert!(full.starts_with(&short));
}

#[test]
fn hash_of_an_integer_equals_hash_of_its_text_so_columns_join() {
    let k = key(3);
    let ctx = Context::new().with_key(&k);
    let rule = Rule::Hash { hex_chars: 32 };
    let numbers: ArrayRef = Arc::new(Int32Array::from(vec![Some(420_102), None]));
    let text = strings(&[Some("420102"), None]);
    assert_eq!(
        texts(&apply(&rule, &numbers, &ctx).unwrap()),
        texts(&apply(&rule, &text, &ctx).unwrap())
    );
}

#[test]
fn hash_needs_the_key() {
    let err = apply(
        &Rule::Hash { hex_chars: 32 },
        &strings(&[Some("x")]),
        &Context::new(),
    )
    .unwrap_err();
    assert_eq!(err, DesensitizeError::MissingKey { rule: "hash" });
}

#[test]
fn hash_key_is_never_printed_and_derivation_is_per_context() {
    let k = HashKey::from_bytes([0xab; 32]);
    assert_eq!(format!("{k:?}"), "HashKey(..)");
    let unit: ArrayRef = strings(&[Some("secret-person")]);
    let ctx = Context::new().with_key(&k).with_privacy_unit(&unit);
    let shown = format!("{ctx:?}");
    assert!(
        !shown.contains("secret-person") && !shown.contains("ab"),
        "{shown}"
    );

    let rule = Rule::Hash { hex_chars: 64 };
    let ids = strings(&[Some("x")]);
    let hash = |k: &HashKey| texts(&apply(&rule, &ids, &Context::new().with_key(k)).unwrap());
    let grant_a = HashKey::derive(b"domain secret", b"grant-a");
    assert_eq!(
        hash(&grant_a),
        hash(&HashKey::derive(b"domain secret", b"grant-a"))
    );
    assert_ne!(
        hash(&grant_a),
        hash(&HashKey::derive(b"domain secret", b"grant-b"))
    );
    assert_ne!(
        hash(&grant_a),
        hash(&HashKey::derive(b"other secret", b"grant-a"))
    );
}

// --- truncate ---------------------------------------------------------------------------------

#[test]
fn truncate_keeps_a_character_prefix() {
    let addresses = strings(&[Some("山东省威海市环翠区"), Some("北京"), Some(""), None]);
    let out = run(&Rule::Truncate { keep: 6 }, &addresses);
    assert_eq!(
        texts(&out),
        owned(&[Some("山东省威海市"), Some("北京"), Some(""), None])
    );
    let numbers: ArrayRef = Arc::new(Int64Array::from(vec![Some(13_812_345_678)]));
    assert_eq!(
        texts(&run(&Rule::Truncate { keep: 3 }, &numbers)),
        owned(&[Some("138")])
    );
}

// --- generalize -------------------------------------------------------------------------------

#[test]
fn age_band_of_integer_ages() {
    let ages: ArrayRef = Arc::new(Int32Array::from(vec![
        Some(0),
        Some(9),
        Some(37),
        None,
        Some(100),
    ]));
    let out = run(
        &Rule::Generalize(Generalization::AgeBand { width: 10 }),
        &ages,
    );
    let out = out.as_primitive::<Int32Type>();
    assert_eq!(
        out.iter().collect::<Vec<_>>(),
        vec![Some(0), Some(0), Some(30), None, Some(100)]
    );
}

#[test]
fn age_band_of_birth_dates_counts_at_the_reference_date() {
    let births: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(date(1990, 3, 7)),
        Some(date(1990, 3, 8)),
        Some(date(2030, 1, 1)),
        None,
    ]));
    let rule = Rule::Generalize(Generalization::AgeBand { width: 5 });
    let as_of = NaiveDate::from_ymd_opt(2025, 3, 7).unwrap();
    let out = apply(&rule, &births, &Context::new().with_as_of(as_of)).unwrap();
    assert_eq!(out.data_type(), &DataType::Int32);
    // 35 on the birthday, 34 the day before it; a birth after the reference date is NULL.
    assert_eq!(
        out.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(),
        vec![Some(35), Some(30), None, None]
    );

    let err = apply(&rule, &births, &Context::new()).unwrap_err();
    assert_eq!(
        err,
        DesensitizeError::MissingAsOf {
            rule: "generalize.age_band"
        }
    );
}

#[test]
fn age_band_of_birth_timestamps() {
    let ms = i64::from(date(2000, 6, 15)) * 86_400_000 + 3_600_000;
    let births: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![Some(ms), None]));
    let as_of = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let out = apply(
        &Rule::Generalize(Generalization::AgeBand { width: 10 }),
        &births,
        &Context::new().with_as_of(as_of),
    )
    .unwrap();
    assert_eq!(
        out.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(),
        vec![Some(20), None]
    );
}

#[test]
fn region_up_goes_county_city_province() {
    let codes = strings(&[
        Some("110105"),
        Some("371002"),
        Some("110101199003071234"),
        Some("11010"),
        Some("北京市"),
        Some(""),
        None,
    ]);
    let city = run(
        &Rule::Generalize(Generalization::RegionUp { levels: 1 }),
        &codes,
    );
    assert_eq!(
        texts(&city),
        owned(&[
            Some("110100"),
            Some("371000"),
            Some("110100"),
            None,
            None,
            None,
            None
        ])
    );
    let province = run(
        &Rule::Generalize(Generalization::RegionUp { levels: 2 }),
        &codes,
    );
    assert_eq!(texts(&province)[0].as_deref(), Some("110000"));

    let numbers: ArrayRef = Arc::new(Int32Array::from(vec![Some(110_105), Some(42), None]));
    let out = run(
        &Rule::Generalize(Generalization::RegionUp { levels: 1 }),
        &numbers,
    );
    assert_eq!(
        out.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(),
        vec![Some(110_100), None, None]
    );
}

#[test]
fn dates_to_month_and_year() {
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(date(2024, 5, 17)),
        Some(date(1969, 12, 31)),
        None,
    ]));
    let month = run(&Rule::Generalize(Generalization::DateToMonth), &dates);
    assert_eq!(
        month
            .as_primitive::<Date32Type>()
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(date(2024, 5, 1)), Some(date(1969, 12, 1)), None]
    );
    let year = run(&Rule::Generalize(Generalization::DateToYear), &dates);
    assert_eq!(
        year.as_primitive::<Date32Type>().iter().collect::<Vec<_>>(),
        vec![Some(date(2024, 1, 1)), Some(date(1969, 1, 1)), None]
    );

    let text = strings(&[
        Some("2024-05-17"),
        Some("2024-02-30"),
        Some("2024-05"),
        Some(""),
        None,
    ]);
    assert_eq!(
        texts(&run(&Rule::Generalize(Generalization::DateToMonth), &text)),
        owned(&[Some("2024-05-01"), None, None, None, None])
    );
    assert_eq!(
        texts(&run(&Rule::Generalize(Generalization::DateToYear), &text))[0].as_deref(),
        Some("2024-01-01")
    );
}

#[test]
fn timestamps_to_month_keep_unit_and_time_zone() {
    let ms = i64::from(date(2024, 5, 17)) * 86_400_000 + 45_296_789;
    let before_epoch = i64::from(date(1969, 7, 20)) * 86_400_000 + 1;
    let stamps: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![Some(ms), Some(before_epoch), None])
            .with_timezone("+08:00"),
    );
    let out = run(&Rule::Generalize(Generalization::DateToMonth), &stamps);
    assert_eq!(
        out.data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("+08:00".into()))
    );
    assert_eq!(
        out.as_primitive::<TimestampMillisecondType>()
            .iter()
            .collect::<Vec<_>>(),
        vec![
            Some(i64::from(date(2024, 5, 1)) * 86_400_000),
            Some(i64::from(date(1969, 7, 1)) * 86_400_000),
            None
        ]
    );
}

#[test]
fn number_band_of_integers_and_floats() {
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(1234), Some(-1), None]));
    let out = run(
        &Rule::Generalize(Generalization::NumberBand { width: 100 }),
        &ints,
    );
    assert_eq!(
        out.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(),
        vec![Some(1200), Some(-100), None]
    );
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![Some(1234.5), Some(-0.5), None]));
    let out = run(
        &Rule::Generalize(Generalization::NumberBand { width: 1000 }),
        &floats,
    );
    assert_eq!(
        out.as_primitive::<arrow_array::types::Float64Type>()
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(1000.0), Some(-1000.0), None]
    );
}

// --- date shift -------------------------------------------------------------------------------

#[test]
fn date_shift_moves_one_persons_dates_together() {
    let units = strings(&[Some("A"), Some("A"), Some("B"), Some("A"), None, Some("B")]);
    let days = [
        date(2024, 1, 1),
        date(2024, 3, 1),
        date(2024, 1, 1),
        date(2023, 12, 25),
        date(2024, 1, 1),
        date(2024, 2, 1),
    ];
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(days[0]),
        Some(days[1]),
        Some(days[2]),
        Some(days[3]),
        Some(days[4]),
        None,
    ]));
    let k = key(9);
    let ctx = Context::new().with_key(&k).with_privacy_unit(&units);
    let out = apply(&Rule::DateShift { max_days: 30 }, &dates, &ctx).unwrap();
    let out: Vec<Option<i32>> = out.as_primitive::<Date32Type>().iter().collect();
    let shift = |row: usize| out[row].unwrap() - days[row];
    assert_eq!(shift(0), shift(1));
    assert_eq!(shift(0), shift(3));
    for row in [0, 2] {
        assert!(shift(row).abs() <= 30);
    }
    assert_eq!(out[4], None, "a row without a privacy unit is NULL");
    assert_eq!(out[5], None, "NULL stays NULL");

    let again = apply(&Rule::DateShift { max_days: 30 }, &dates, &ctx).unwrap();
    assert_eq!(
        again
            .as_primitive::<Date32Type>()
            .iter()
            .collect::<Vec<_>>(),
        out
    );
}

#[test]
fn date_shift_offsets_depend_on_the_key() {
    let units: ArrayRef = Arc::new(Int64Array::from((0..64).collect::<Vec<i64>>()));
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![date(2024, 1, 1); 64]));
    let shifted = |k: &HashKey| {
        let ctx = Context::new().with_key(k).with_privacy_unit(&units);
        let out = apply(&Rule::DateShift { max_days: 365 }, &dates, &ctx).unwrap();
        out.as_primitive::<Date32Type>().iter().collect::<Vec<_>>()
    };
    let (a, b) = (shifted(&key(1)), shifted(&key(2)));
    assert_ne!(a, b);
    let distinct: std::collections::HashSet<_> = a.iter().collect();
    assert!(distinct.len() > 32, "offsets vary between units");
}

#[test]
fn date_shift_of_text_dates_and_timestamps() {
    let units = strings(&[Some("p1"), Some("p1")]);
    let k = key(4);
    let ctx = Context::new().with_key(&k).with_privacy_unit(&units);
    let rule = Rule::DateShift { max_days: 10 };

    let text = strings(&[Some("2024-02-28"), Some("not a date")]);
    let out = texts(&apply(&rule, &text, &ctx).unwrap());
    assert_eq!(out[1], None);
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![
        date(2024, 2, 28),
        date(2024, 2, 28),
    ]));
    let expected = apply(&rule, &dates, &ctx).unwrap();
    let expected_day = expected.as_primitive::<Date32Type>().value(0);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let expected_text = (epoch + chrono::Duration::days(i64::from(expected_day)))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(out[0].as_deref(), Some(expected_text.as_str()));

    let ms = i64::from(date(2024, 2, 28)) * 86_400_000 + 12_345;
    let stamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![Some(ms), None]));
    let out = apply(&rule, &stamps, &ctx).unwrap();
    let shifted = out.as_primitive::<TimestampMillisecondType>();
    assert_eq!(
        shifted.value(0) - ms,
        i64::from(expected_day - date(2024, 2, 28)) * 86_400_000
    );
    assert!(shifted.is_null(1));
}

#[test]
fn date_shift_needs_key_and_a_matching_unit_column() {
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![1, 2]));
    let rule = Rule::DateShift { max_days: 5 };
    let k = key(1);
    assert_eq!(
        apply(&rule, &dates, &Context::new()).unwrap_err(),
        DesensitizeError::MissingKey { rule: "date_shift" }
    );
    assert_eq!(
        apply(&rule, &dates, &Context::new().with_key(&k)).unwrap_err(),
        DesensitizeError::MissingPrivacyUnit
    );
    let short = strings(&[Some("a")]);
    assert_eq!(
        apply(
            &rule,
            &dates,
            &Context::new().with_key(&k).with_privacy_unit(&short)
        )
        .unwrap_err(),
        DesensitizeError::PrivacyUnitLength {
            expected: 2,
            actual: 1
        }
    );
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0]));
    assert!(matches!(
        apply(
            &rule,
            &dates,
            &Context::new().with_key(&k).with_privacy_unit(&floats)
        ),
        Err(DesensitizeError::UnsupportedPrivacyUnit { .. })
    ));
}

// --- suppress, null, keep ---------------------------------------------------------------------

#[test]
fn suppress_removes_rare_values() {
    let rule = Rule::Suppress { min_count: 2 };
    let towns = strings(&[
        Some("环翠"),
        Some("文登"),
        Some("环翠"),
        None,
        Some("荣成"),
        Some(""),
    ]);
    assert_eq!(
        texts(&run(&rule, &towns)),
        owned(&[Some("环翠"), None, Some("环翠"), None, None, None])
    );
    let view: ArrayRef = Arc::new(StringViewArray::from(vec![Some("x"), Some("x"), Some("y")]));
    assert_eq!(
        texts(&run(&rule, &view)),
        owned(&[Some("x"), Some("x"), None])
    );

    let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(2), Some(1), None]));
    assert_eq!(
        run(&rule, &ints)
            .as_primitive::<Int32Type>()
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(1), None, Some(1), None]
    );
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![0.5, 0.5, 0.25]));
    assert_eq!(run(&rule, &floats).null_count(), 1);
    let stamps: ArrayRef =
        Arc::new(TimestampMillisecondArray::from(vec![7, 7, 8]).with_timezone("UTC"));
    let out = run(&rule, &stamps);
    assert_eq!(out.data_type(), stamps.data_type());
    assert_eq!(out.null_count(), 1);
}

#[test]
fn null_and_keep_fit_every_type() {
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5, 2.5]));
    let nulled = run(&Rule::Null, &floats);
    assert_eq!(nulled.data_type(), &DataType::Float64);
    assert_eq!(nulled.null_count(), 2);
    let names = strings(&[Some("张三")]);
    let kept = run(&Rule::Keep, &names);
    assert_eq!(texts(&kept), owned(&[Some("张三")]));
    let empty: ArrayRef = Arc::new(StringArray::from(Vec::<Option<&str>>::new()));
    for rule in [mask(1, 0), Rule::Truncate { keep: 1 }, Rule::Null] {
        assert_eq!(run(&rule, &empty).len(), 0);
    }
}

// --- errors -----------------------------------------------------------------------------------

#[test]
fn a_rule_that_does_not_fit_the_type_is_named_without_the_value() {
    let incomes: ArrayRef = Arc::new(Float64Array::from(vec![31_415.926_5]));
    let err = apply(&mask(1, 0), &incomes, &Context::new()).unwrap_err();
    assert_eq!(
        err,
        DesensitizeError::Unsupported {
            rule: "mask",
            data_type: "Float64".into()
        }
    );
    let message = err.to_string();
    assert!(message.contains("mask") && message.contains("Float64"));
    assert!(
        !message.contains("31415") && !message.contains("926"),
        "{message}"
    );

    let names = strings(&[Some("张三")]);
    let err = apply(&Rule::DateShift { max_days: 3 }, &names, &Context::new());
    assert!(err.is_err());
    let err = apply(
        &Rule::Generalize(Generalization::NumberBand { width: 10 }),
        &names,
        &Context::new(),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("张三"));
}

#[test]
fn invalid_parameters_are_refused() {
    let names = strings(&[Some("张三")]);
    for (rule, name) in [
        (
            Rule::Mask {
                keep_prefix: 1,
                keep_suffix: 0,
                mask_char: '0',
            },
            "mask",
        ),
        (
            Rule::Mask {
                keep_prefix: 1,
                keep_suffix: 0,
                mask_char: '王',
            },
            "mask",
        ),
        (Rule::Hash { hex_chars: 8 }, "hash"),
        (Rule::Hash { hex_chars: 65 }, "hash"),
        (Rule::DateShift { max_days: 0 }, "date_shift"),
        (Rule::Suppress { min_count: 1 }, "suppress"),
        (
            Rule::Generalize(Generalization::AgeBand { width: 0 }),
            "generalize.age_band",
        ),
        (
            Rule::Generalize(Generalization::RegionUp { levels: 3 }),
            "generalize.region_up",
        ),
        (
            Rule::Generalize(Generalization::NumberBand { width: 0 }),
            "generalize.number_band",
        ),
    ] {
        let k = key(1);
        let err = apply(&rule, &names, &Context::new().with_key(&k)).unwrap_err();
        assert!(
            matches!(err, DesensitizeError::InvalidRule { rule, .. } if rule == name),
            "{err}"
        );
    }
}
