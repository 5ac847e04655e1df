//! Properties of the kernels over random columns: masking keeps the character count and hides
//! something, hashing is a keyed function, generalizations are idempotent, date shifting keeps each
//! person's intervals, suppression keeps exactly the frequent values.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Date32Array, Int32Array, Int64Array, StringArray};
use proptest::prelude::*;
use shuyu_desensitize::{Context, Generalization, HashKey, Rule, apply};

fn texts(array: &ArrayRef) -> Vec<Option<String>> {
    array
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

fn column(values: &[Option<String>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// Text with ASCII, CJK and emoji characters, sometimes empty.
fn text() -> impl Strategy<Value = String> {
    "[a-z0-9张三丰李四王五北京市😀 -]{0,24}"
}

fn texts_with_nulls() -> impl Strategy<Value = Vec<Option<String>>> {
    proptest::collection::vec(proptest::option::weighted(0.85, text()), 0..40)
}

proptest! {
    #[test]
    fn mask_keeps_the_character_count_and_hides_something(
        values in texts_with_nulls(),
        keep_prefix in 0u32..8,
        keep_suffix in 0u32..8,
    ) {
        let rule = Rule::Mask { keep_prefix, keep_suffix, mask_char: '#' };
        let out = texts(&apply(&rule, &column(&values), &Context::new()).unwrap());
        prop_assert_eq!(out.len(), values.len());
        for (input, output) in values.iter().zip(&out) {
            match (input, output) {
                (None, None) => {}
                (Some(input), Some(output)) => {
                    let n = input.chars().count();
                    prop_assert_eq!(output.chars().count(), n);
                    let masked = output.chars().filter(|c| *c == '#').count();
                    if n > 0 {
                        prop_assert!(masked >= 1);
                        prop_assert!(masked >= n.saturating_sub((keep_prefix + keep_suffix) as usize));
                    }
                    let kept: String = input.chars().take(keep_prefix as usize).collect();
                    if (keep_prefix as usize) < n {
                        prop_assert!(output.starts_with(&kept));
                    }
                }
                _ => prop_assert!(false, "NULL changed"),
            }
        }
    }

    #[test]
    fn hashing_is_a_function_of_key_and_value(
        values in texts_with_nulls(),
        a in any::<[u8; 32]>(),
        b in any::<[u8; 32]>(),
    ) {
        prop_assume!(a != b);
        let rule = Rule::Hash { hex_chars: 32 };
        let column = column(&values);
        let (ka, kb) = (HashKey::from_bytes(a), HashKey::from_bytes(b));
        let first = texts(&apply(&rule, &column, &Context::new().with_key(&ka)).unwrap());
        let again = texts(&apply(&rule, &column, &Context::new().with_key(&ka)).unwrap());
        let other = texts(&apply(&rule, &column, &Context::new().with_key(&kb)).unwrap());
        prop_assert_eq!(&first, &again);
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for ((input, hash), other) in values.iter().zip(&first).zip(&other) {
            prop_assert_eq!(input.is_none(), hash.is_none());
            if let (Some(input), Some(hash), Some(other)) = (input, hash, other) {
                prop_assert_eq!(hash.len(), 32);
                prop_assert_ne!(hash, other, "another grant's key gives an unrelated hash");
                // Equal inputs, equal hashes; different inputs, different hashes.
                if let Some(previous) = seen.insert(hash.as_str(), input.as_str()) {
                    prop_assert_eq!(previous, input.as_str());
                }
            }
        }
    }

    #[test]
    fn integer_generalizations_are_idempotent(
        values in proptest::collection::vec(proptest::option::of(any::<i64>()), 0..40),
        width in 1u32..=150,
        levels in 1u8..=2,
    ) {
        let column: ArrayRef = Arc::new(Int64Array::from(values));
        for g in [
            Generalization::AgeBand { width },
            Generalization::NumberBand { width: u64::from(width) * 7 },
            Generalization::RegionUp { levels },
        ] {
            let rule = Rule::Generalize(g);
            let once = apply(&rule, &column, &Context::new()).unwrap();
            let twice = apply(&rule, &once, &Context::new()).unwrap();
            prop_assert_eq!(
                once.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(),
                twice.as_primitive::<Int64Type>().iter().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn bands_hold_their_value(values in proptest::collection::vec(-1_000_000i32..1_000_000, 0..40), width in 1u32..=150) {
        let column: ArrayRef = Arc::new(Int32Array::from(values.clone()));
        let rule = Rule::Generalize(Generalization::AgeBand { width });
        let out = apply(&rule, &column, &Context::new()).unwrap();
        for (value, low) in values.iter().zip(out.as_primitive::<Int32Type>().values()) {
            prop_assert!(*low <= *value && *value < low + width as i32);
            prop_assert_eq!(low.rem_euclid(width as i32), 0);
        }
    }

    #[test]
    fn date_generalizations_are_idempotent(
        days in proptest::collection::vec(proptest::option::of(-200_000i32..200_000), 0..40),
    ) {
        let column: ArrayRef = Arc::new(Date32Array::from(days.clone()));
        for g in [Generalization::DateToMonth, Generalization::DateToYear] {
            let rule = Rule::Generalize(g);
            let once = apply(&rule, &column, &Context::new()).unwrap();
            let twice = apply(&rule, &once, &Context::new()).unwrap();
            let once_days: Vec<_> = once.as_primitive::<Date32Type>().iter().collect();
            prop_assert_eq!(&once_days, &twice.as_primitive::<Date32Type>().iter().collect::<Vec<_>>());
            for (day, start) in days.iter().zip(&once_days) {
                if let (Some(day), Some(start)) = (day, start) {
                    prop_assert!(start <= day && day - start < 366);
                }
            }
        }
    }

    #[test]
    fn text_generalizations_are_idempotent(values in texts_with_nulls(), codes in proptest::collection::vec("[0-9]{6,18}", 0..10)) {
        let values: Vec<Option<String>> = values.into_iter().chain(codes.into_iter().map(Some)).collect();
        let column = column(&values);
        for rule in [
            Rule::Generalize(Generalization::RegionUp { levels: 1 }),
            Rule::Generalize(Generalization::RegionUp { levels: 2 }),
            Rule::Generalize(Generalization::DateToMonth),
            Rule::Truncate { keep: 3 },
        ] {
            let once = apply(&rule, &column, &Context::new()).unwrap();
            let twice = apply(&rule, &once, &Context::new()).unwrap();
            prop_assert_eq!(texts(&once), texts(&twice));
        }
    }

    #[test]
    fn date_shift_preserves_intervals_within_a_unit(
        rows in proptest::collection::vec((0u8..5, -50_000i32..50_000), 1..60),
        max_days in 1u32..=400,
        secret in any::<[u8; 32]>(),
    ) {
        let units: ArrayRef = Arc::new(StringArray::from(
            rows.iter().map(|(unit, _)| format!("person-{unit}")).collect::<Vec<_>>(),
        ));
        let dates: ArrayRef = Arc::new(Date32Array::from(rows.iter().map(|(_, d)| *d).collect::<Vec<_>>()));
        let key = HashKey::from_bytes(secret);
        let ctx = Context::new().with_key(&key).with_privacy_unit(&units);
        let out = apply(&Rule::DateShift { max_days }, &dates, &ctx).unwrap();
        let out = out.as_primitive::<Date32Type>();
        let mut shift_of: HashMap<u8, i32> = HashMap::new();
        for (row, (unit, day)) in rows.iter().enumerate() {
            let shift = out.value(row) - day;
            prop_assert!(shift.unsigned_abs() <= max_days);
            let first = *shift_of.entry(*unit).or_insert(shift);
            prop_assert_eq!(first, shift, "one unit, one offset: intervals are preserved");
        }
    }

    #[test]
    fn suppression_keeps_exactly_the_frequent_values(
        values in proptest::collection::vec(proptest::option::of(0i32..8), 0..60),
        min_count in 2u32..6,
    ) {
        let column: ArrayRef = Arc::new(Int32Array::from(values.clone()));
        let out = apply(&Rule::Suppress { min_count }, &column, &Context::new()).unwrap();
        let out = out.as_primitive::<Int32Type>();
        let mut counts: HashMap<i32, u32> = HashMap::new();
        for value in values.iter().flatten() {
            *counts.entry(*value).or_default() += 1;
        }
        for (row, value) in values.iter().enumerate() {
            let expected = value.filter(|v| counts[v] >= min_count);
            prop_assert_eq!(out.is_valid(row).then(|| out.value(row)), expected);
        }
    }
}

proptest! {
    #[test]
    fn row_local_rules_give_the_same_rows_however_a_column_is_batched(
        rows in proptest::collection::vec((proptest::option::of(0u8..6), proptest::option::of(-20_000i32..20_000)), 1..50),
        cut in any::<proptest::sample::Index>(),
    ) {
        let units: ArrayRef = Arc::new(StringArray::from(
            rows.iter().map(|(u, _)| u.map(|u| format!("unit-{u}"))).collect::<Vec<_>>(),
        ));
        let dates: ArrayRef = Arc::new(Date32Array::from(rows.iter().map(|(_, d)| *d).collect::<Vec<_>>()));
        let key = HashKey::from_bytes([5; 32]);
        let at = cut.index(rows.len());
        let rules_and_columns = [
            (Rule::DateShift { max_days: 90 }, &dates),
            (Rule::Generalize(Generalization::DateToMonth), &dates),
            (Rule::Hash { hex_chars: 20 }, &units),
            (Rule::Mask { keep_prefix: 2, keep_suffix: 1, mask_char: '*' }, &units),
        ];
        for (rule, column) in rules_and_columns {
            let whole = apply(&rule, column, &Context::new().with_key(&key).with_privacy_unit(&units)).unwrap();
            for (offset, len) in [(0, at), (at, rows.len() - at)] {
                let part_units = units.slice(offset, len);
                let ctx = Context::new().with_key(&key).with_privacy_unit(&part_units);
                let part = apply(&rule, &column.slice(offset, len), &ctx).unwrap();
                prop_assert_eq!(part.to_data(), whole.slice(offset, len).to_data(), "{:?}", rule);
            }
        }
    }
}
