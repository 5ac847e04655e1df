//! The rule model: its JSON form (rules are stored with grants), its strictness order and the
//! documented defaults per profile choice, identifier format and type.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use arrow_schema::{DataType, TimeUnit};
use serde_json::json;
use shuyu_desensitize::{
    DEFAULT_DATE_SHIFT_DAYS, DEFAULT_HASH_HEX_CHARS, DEFAULT_SUPPRESS_MIN_COUNT, Generalization,
    Rule, default_rule, tightens,
};
use shuyu_profile::Desensitization as D;
use shuyu_quality::FormatKind as F;

fn mask(keep_prefix: u32, keep_suffix: u32) -> Rule {
    Rule::Mask {
        keep_prefix,
        keep_suffix,
        mask_char: '*',
    }
}

fn every_kind() -> Vec<Rule> {
    vec![
        Rule::Keep,
        Rule::DateShift { max_days: 30 },
        mask(1, 0),
        Rule::Truncate { keep: 3 },
        Rule::Generalize(Generalization::AgeBand { width: 10 }),
        Rule::Hash { hex_chars: 32 },
        Rule::Suppress { min_count: 5 },
        Rule::Null,
    ]
}

#[test]
fn rules_round_trip_through_json() {
    let rules = [
        every_kind(),
        vec![
            Rule::Generalize(Generalization::RegionUp { levels: 2 }),
            Rule::Generalize(Generalization::DateToMonth),
            Rule::Generalize(Generalization::DateToYear),
            Rule::Generalize(Generalization::NumberBand { width: 1000 }),
            Rule::Mask {
                keep_prefix: 2,
                keep_suffix: 1,
                mask_char: '＊',
            },
        ],
    ]
    .concat();
    for rule in rules {
        let text = serde_json::to_string(&rule).unwrap();
        assert_eq!(serde_json::from_str::<Rule>(&text).unwrap(), rule, "{text}");
    }
}

#[test]
fn the_json_form_is_readable_and_strict() {
    assert_eq!(
        serde_json::to_value(Rule::Generalize(Generalization::AgeBand { width: 10 })).unwrap(),
        json!({ "rule": "generalize", "to": "age_band", "width": 10 })
    );
    assert_eq!(
        serde_json::from_value::<Rule>(
            json!({ "rule": "mask", "keep_prefix": 6, "keep_suffix": 4 })
        )
        .unwrap(),
        mask(6, 4),
        "the mask character defaults to *"
    );
    assert_eq!(
        serde_json::to_value(Rule::Null).unwrap(),
        json!({ "rule": "null" })
    );
    for bad in [
        json!({ "rule": "encrypt" }),
        json!({ "rule": "generalize", "to": "street" }),
        json!({ "rule": "generalize", "to": "age_band", "width": 10, "extra": 1 }),
        json!({ "rule": "hash" }),
    ] {
        assert!(
            serde_json::from_value::<Rule>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn strictness_orders_the_kinds_from_keep_to_null() {
    let ranks: Vec<u8> = every_kind().iter().map(Rule::strictness).collect();
    assert_eq!(ranks, (0..8).collect::<Vec<u8>>());
    let kinds = every_kind();
    for (i, a) in kinds.iter().enumerate() {
        for (j, b) in kinds.iter().enumerate() {
            assert_eq!(tightens(a, b), i >= j, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn same_kind_rules_compare_by_their_parameters() {
    assert!(tightens(&mask(1, 0), &mask(6, 4)));
    assert!(tightens(&mask(6, 4), &mask(6, 4)));
    assert!(!tightens(&mask(6, 5), &mask(6, 4)));
    assert!(!tightens(&mask(7, 0), &mask(6, 4)));
    assert!(tightens(
        &Rule::Truncate { keep: 2 },
        &Rule::Truncate { keep: 3 }
    ));
    assert!(!tightens(
        &Rule::Truncate { keep: 4 },
        &Rule::Truncate { keep: 3 }
    ));
    assert!(tightens(
        &Rule::Hash { hex_chars: 16 },
        &Rule::Hash { hex_chars: 64 }
    ));
    assert!(tightens(
        &Rule::DateShift { max_days: 60 },
        &Rule::DateShift { max_days: 30 }
    ));
    assert!(!tightens(
        &Rule::DateShift { max_days: 10 },
        &Rule::DateShift { max_days: 30 }
    ));
    assert!(tightens(
        &Rule::Suppress { min_count: 10 },
        &Rule::Suppress { min_count: 5 }
    ));
    assert!(!tightens(
        &Rule::Suppress { min_count: 3 },
        &Rule::Suppress { min_count: 5 }
    ));
}

#[test]
fn generalizations_compare_only_when_they_coarsen_the_same_thing() {
    let g = Rule::Generalize;
    use Generalization as G;
    assert!(tightens(&g(G::DateToYear), &g(G::DateToMonth)));
    assert!(!tightens(&g(G::DateToMonth), &g(G::DateToYear)));
    assert!(tightens(
        &g(G::RegionUp { levels: 2 }),
        &g(G::RegionUp { levels: 1 })
    ));
    assert!(!tightens(
        &g(G::RegionUp { levels: 1 }),
        &g(G::RegionUp { levels: 2 })
    ));
    assert!(tightens(
        &g(G::AgeBand { width: 20 }),
        &g(G::AgeBand { width: 10 })
    ));
    assert!(!tightens(
        &g(G::AgeBand { width: 5 }),
        &g(G::AgeBand { width: 10 })
    ));
    assert!(tightens(
        &g(G::NumberBand { width: 10 }),
        &g(G::AgeBand { width: 10 })
    ));
    assert!(!tightens(
        &g(G::RegionUp { levels: 2 }),
        &g(G::AgeBand { width: 10 })
    ));
    assert!(!tightens(&g(G::DateToYear), &g(G::NumberBand { width: 1 })));
}

#[test]
fn default_masks_per_identifier_format() {
    let utf8 = DataType::Utf8;
    assert_eq!(
        default_rule(D::Mask, Some(F::ResidentId), &utf8),
        mask(6, 4)
    );
    assert_eq!(default_rule(D::Mask, Some(F::Mobile), &utf8), mask(3, 4));
    assert_eq!(
        default_rule(D::Mask, Some(F::CreditCode), &utf8),
        mask(8, 0)
    );
    assert_eq!(default_rule(D::Mask, Some(F::Date), &utf8), mask(4, 0));
    assert_eq!(default_rule(D::Mask, None, &utf8), mask(1, 0));
    assert_eq!(
        default_rule(D::Mask, Some(F::None), &DataType::Int64),
        mask(1, 0)
    );
    assert_eq!(
        default_rule(D::Mask, None, &DataType::Date32),
        Rule::Generalize(Generalization::DateToYear)
    );
    assert_eq!(default_rule(D::Mask, None, &DataType::Float64), Rule::Null);
}

#[test]
fn default_generalizations_per_format_and_type() {
    use Generalization as G;
    let g = Rule::Generalize;
    let utf8 = DataType::Utf8;
    let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
    assert_eq!(
        default_rule(D::Generalize, None, &DataType::Date32),
        g(G::DateToMonth)
    );
    assert_eq!(default_rule(D::Generalize, None, &ts), g(G::DateToMonth));
    assert_eq!(
        default_rule(D::Generalize, Some(F::Date), &utf8),
        g(G::DateToMonth)
    );
    assert_eq!(
        default_rule(D::Generalize, None, &DataType::Int32),
        g(G::AgeBand { width: 10 })
    );
    assert_eq!(
        default_rule(D::Generalize, None, &utf8),
        g(G::RegionUp { levels: 1 })
    );
    assert_eq!(
        default_rule(D::Generalize, Some(F::ResidentId), &utf8),
        g(G::RegionUp { levels: 1 })
    );
    assert_eq!(
        default_rule(D::Generalize, Some(F::Mobile), &utf8),
        Rule::Truncate { keep: 3 }
    );
    assert_eq!(
        default_rule(D::Generalize, Some(F::CreditCode), &utf8),
        Rule::Truncate { keep: 8 }
    );
    assert_eq!(
        default_rule(D::Generalize, None, &DataType::Float64),
        Rule::Null
    );
}

#[test]
fn the_other_defaults() {
    let utf8 = DataType::Utf8;
    assert_eq!(default_rule(D::None, None, &DataType::Float64), Rule::Keep);
    assert_eq!(
        default_rule(D::Null, Some(F::ResidentId), &utf8),
        Rule::Null
    );
    assert_eq!(
        default_rule(D::Hash, Some(F::ResidentId), &utf8),
        Rule::Hash {
            hex_chars: DEFAULT_HASH_HEX_CHARS
        }
    );
    assert_eq!(default_rule(D::Hash, None, &DataType::Float64), Rule::Null);
    assert_eq!(
        default_rule(D::Truncate, Some(F::Date), &utf8),
        Rule::Truncate { keep: 7 }
    );
    assert_eq!(
        default_rule(D::Truncate, None, &utf8),
        Rule::Truncate { keep: 1 }
    );
    assert_eq!(
        default_rule(D::DateShift, None, &DataType::Date32),
        Rule::DateShift {
            max_days: DEFAULT_DATE_SHIFT_DAYS
        }
    );
    assert_eq!(
        default_rule(D::DateShift, None, &DataType::Int64),
        Rule::Null
    );
    assert_eq!(
        default_rule(D::Suppress, None, &utf8),
        Rule::Suppress {
            min_count: DEFAULT_SUPPRESS_MIN_COUNT
        }
    );
    assert_eq!(
        default_rule(D::Suppress, None, &DataType::Boolean),
        Rule::Null
    );
}

#[test]
fn every_default_is_valid_and_fits_its_type() {
    let types = [
        DataType::Utf8,
        DataType::LargeUtf8,
        DataType::Utf8View,
        DataType::Int32,
        DataType::Int64,
        DataType::Float64,
        DataType::Date32,
        DataType::Timestamp(TimeUnit::Second, Some("+08:00".into())),
        DataType::Boolean,
    ];
    let formats = [
        None,
        Some(F::None),
        Some(F::ResidentId),
        Some(F::CreditCode),
        Some(F::Mobile),
        Some(F::Date),
    ];
    for d in D::ALL {
        for format in formats {
            for data_type in &types {
                let rule = default_rule(*d, format, data_type);
                assert!(rule.validate().is_ok(), "{rule:?}");
                assert!(
                    rule.accepts(data_type),
                    "{d:?} {format:?} {data_type}: {rule:?}"
                );
            }
        }
    }
}
