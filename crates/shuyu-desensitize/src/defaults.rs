//! The concrete default rule of a field: the profile chooses the kind of desensitization per kind of
//! field (`shuyu_profile::Desensitization`), the catalog gives the field's identifier format and type,
//! and this module picks the parameters. Reviewers may only tighten the result
//! ([`tightens`](crate::tightens)), so each default is the loosest rule the kind allows that still
//! removes what identifies a person.

use arrow_schema::DataType;
use shuyu_profile::Desensitization;
use shuyu_quality::FormatKind;

use crate::rule::{Generalization, Rule, is_text};

/// Hex characters of a default keyed hash: 128 bits, so no two real identifiers collide.
pub const DEFAULT_HASH_HEX_CHARS: u8 = 32;
/// Largest offset of a default date shift: a month either way.
pub const DEFAULT_DATE_SHIFT_DAYS: u32 = 30;
/// Default suppression threshold: values shared by fewer than 5 rows are removed (the common k = 5
/// of k-anonymity practice).
pub const DEFAULT_SUPPRESS_MIN_COUNT: u32 = 5;
/// Default width of an age band in years.
pub const DEFAULT_AGE_BAND: u32 = 10;

/// The default rule of a field.
///
/// | profile choice | format / type | rule |
/// |---|---|---|
/// | `none` | any | `Keep` |
/// | `null` | any | `Null` |
/// | `mask` | resident ID | keep 6 + 4 (`110101********1234`: region and last four) |
/// | `mask` | mobile | keep 3 + 4 (`138****5678`) |
/// | `mask` | credit code | keep 8 + 0 (registration department, organisation type, region) |
/// | `mask` | date text | keep 4 + 0 (the year) |
/// | `mask` | other text, integer | keep 1 + 0 (a name: `张三丰` → `张**`) |
/// | `mask` | date, timestamp | generalize to the year (masking month and day) |
/// | `hash` | text, integer | HMAC-SM3, 32 hex characters |
/// | `generalize` | date, timestamp, date text | to the month |
/// | `generalize` | resident ID | region up one level (the holder's city) |
/// | `generalize` | mobile | truncate to 3 (the carrier's segment) |
/// | `generalize` | credit code | truncate to 8 (department, type, region) |
/// | `generalize` | other text | region up one level (a non-code value becomes NULL) |
/// | `generalize` | integer | age band of 10 |
/// | `truncate` | resident ID 6, mobile 3, credit code 8, date text 7 (`YYYY-MM`), other 1 | `Truncate` |
/// | `date_shift` | date, timestamp, date text | ±30 days per privacy unit |
/// | `suppress` | any supported | fewer than 5 → NULL |
///
/// Deny by default: where the chosen kind has no meaning for the type (masking a float, shifting an
/// integer), the default is `Null`.
#[must_use]
pub fn default_rule(
    desensitization: Desensitization,
    format: Option<FormatKind>,
    data_type: &DataType,
) -> Rule {
    let format = format.unwrap_or_default();
    let date_typed = matches!(data_type, DataType::Date32 | DataType::Timestamp(..));
    let rule = match desensitization {
        Desensitization::None => Rule::Keep,
        Desensitization::Null => Rule::Null,
        Desensitization::Mask if date_typed => Rule::Generalize(Generalization::DateToYear),
        Desensitization::Mask => {
            let (keep_prefix, keep_suffix) = match format {
                FormatKind::ResidentId => (6, 4),
                FormatKind::Mobile => (3, 4),
                FormatKind::CreditCode => (8, 0),
                FormatKind::Date => (4, 0),
                FormatKind::None => (1, 0),
            };
            Rule::Mask {
                keep_prefix,
                keep_suffix,
                mask_char: '*',
            }
        }
        Desensitization::Hash => Rule::Hash {
            hex_chars: DEFAULT_HASH_HEX_CHARS,
        },
        Desensitization::Generalize => generalize(format, data_type, date_typed),
        Desensitization::Truncate => Rule::Truncate {
            keep: truncate_keep(format),
        },
        Desensitization::DateShift => Rule::DateShift {
            max_days: DEFAULT_DATE_SHIFT_DAYS,
        },
        Desensitization::Suppress => Rule::Suppress {
            min_count: DEFAULT_SUPPRESS_MIN_COUNT,
        },
    };
    if rule.accepts(data_type) {
        rule
    } else {
        Rule::Null
    }
}

fn generalize(format: FormatKind, data_type: &DataType, date_typed: bool) -> Rule {
    if date_typed || format == FormatKind::Date {
        return Rule::Generalize(Generalization::DateToMonth);
    }
    match format {
        FormatKind::ResidentId => Rule::Generalize(Generalization::RegionUp { levels: 1 }),
        FormatKind::Mobile => Rule::Truncate { keep: 3 },
        FormatKind::CreditCode => Rule::Truncate { keep: 8 },
        FormatKind::Date | FormatKind::None if is_text(data_type) => {
            Rule::Generalize(Generalization::RegionUp { levels: 1 })
        }
        FormatKind::Date | FormatKind::None => Rule::Generalize(Generalization::AgeBand {
            width: DEFAULT_AGE_BAND,
        }),
    }
}

fn truncate_keep(format: FormatKind) -> u32 {
    match format {
        FormatKind::ResidentId => 6,
        FormatKind::Mobile => 3,
        FormatKind::CreditCode => 8,
        FormatKind::Date => 7,
        FormatKind::None => 1,
    }
}
