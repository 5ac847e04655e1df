//! The parameterised rules and their strictness order.
//!
//! A [`Rule`] is plain data (serde JSON, `{"rule": "mask", "keep_prefix": 1, …}`) so a reviewer's
//! tightened rule can be stored with a grant. [`Rule::validate`] checks its parameters and
//! [`Rule::accepts`] the column types it has a meaning for; both are checked again by
//! [`apply`](crate::apply).

use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::DesensitizeError;

/// Fewest hex characters of a keyed hash (64 bits): shorter outputs collide within real columns and
/// would merge people in joins.
pub(crate) const MIN_HASH_HEX_CHARS: u8 = 16;
/// Most hex characters of a keyed hash: the whole SM3 digest.
pub(crate) const MAX_HASH_HEX_CHARS: u8 = 64;
/// Largest date shift: ten years.
pub(crate) const MAX_SHIFT_DAYS: u32 = 3_650;

/// One concrete desensitization of a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// The value as it is.
    Keep,
    /// Replace the characters between a kept prefix and a kept suffix by `mask_char`, one for one, so
    /// the character count stays (`张三丰` → `张**`, `110101199003071234` → `110101********1234`).
    /// At least one character of a non-empty value is always masked: the prefix, then the suffix,
    /// shrink on short values (`张` → `*`). Integers are masked as their decimal text (the column
    /// becomes text).
    Mask {
        keep_prefix: u32,
        keep_suffix: u32,
        /// A visible symbol (default `*`); letters, digits and spaces are refused, so a masked value
        /// never looks like a real one.
        #[serde(default = "default_mask_char")]
        mask_char: char,
    },
    /// HMAC-SM3 of the value's text under the grant's key, written as the first `hex_chars` lower-case
    /// hex digits (16–64). Equal values give equal hashes under one key, so the column still joins
    /// within a grant; under another grant's key the hashes are unrelated. Integers are hashed as
    /// their decimal text, so an identifier joins whether it is stored as text or as a number.
    Hash { hex_chars: u8 },
    /// Replace by a coarser value.
    Generalize(Generalization),
    /// Keep the first `keep` characters only.
    Truncate { keep: u32 },
    /// Shift dates by a secret offset in `[-max_days, max_days]` derived from the privacy unit
    /// (HMAC-SM3 of the unit under the grant's key): one person's dates all move by the same number
    /// of days, so intervals within a person are preserved. A row without a unit becomes NULL.
    DateShift { max_days: u32 },
    /// Replace by NULL every value that occurs fewer than `min_count` times in the column (≥ 2).
    /// Counts are taken over the array given: applied batch by batch, a value is kept only where its
    /// batch alone has `min_count` of it, which is stricter than counting the whole table, never
    /// looser. (Every other rule is row-local and gives the same result however a table is batched.)
    Suppress { min_count: u32 },
    /// Replace every value by NULL.
    Null,
}

fn default_mask_char() -> char {
    '*'
}

/// A generalization: every variant is idempotent (generalizing a generalized value changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum Generalization {
    /// Ages in bands of `width` years (1–150), written as the band's lower bound (`37` → `30`): from an
    /// integer age, or from a birth date counted at the context's reference date (the column becomes
    /// `Int32`).
    AgeBand { width: u32 },
    /// Six-digit administrative division codes (GB/T 2260) up by zeroing the last `2 × levels` digits
    /// (1 or 2): county `110105` → city `110100` (1) → province `110000` (2). A text value is
    /// generalized from its first six characters, so a resident ID gives its holder's city; a value
    /// that does not start with six digits becomes NULL.
    RegionUp { levels: u8 },
    /// Dates to the first day of their month (`2024-05-17` → `2024-05-01`; timestamps to midnight UTC).
    DateToMonth,
    /// Dates to the first day of their year.
    DateToYear,
    /// Numbers to the lower bound of their band of `width` (`1234` with 100 → `1200`).
    NumberBand { width: u64 },
}

impl Rule {
    /// The rule's name in errors and audit details (`mask`, `generalize.age_band`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Keep => "keep",
            Rule::Mask { .. } => "mask",
            Rule::Hash { .. } => "hash",
            Rule::Generalize(g) => g.name(),
            Rule::Truncate { .. } => "truncate",
            Rule::DateShift { .. } => "date_shift",
            Rule::Suppress { .. } => "suppress",
            Rule::Null => "null",
        }
    }

    /// Checks the parameters (a rule read from a stored grant is untrusted input).
    pub fn validate(&self) -> Result<(), DesensitizeError> {
        let invalid = |reason| {
            Err(DesensitizeError::InvalidRule {
                rule: self.name(),
                reason,
            })
        };
        match self {
            Rule::Hash { hex_chars }
                if !(MIN_HASH_HEX_CHARS..=MAX_HASH_HEX_CHARS).contains(hex_chars) =>
            {
                invalid("hex_chars must be between 16 and 64")
            }
            Rule::Mask { mask_char, .. }
                if mask_char.is_alphanumeric()
                    || mask_char.is_whitespace()
                    || mask_char.is_control() =>
            {
                invalid(
                    "mask_char must be a visible symbol such as * (a letter or digit would make masked values look real)",
                )
            }
            Rule::DateShift { max_days } if !(1..=MAX_SHIFT_DAYS).contains(max_days) => {
                invalid("max_days must be between 1 and 3650")
            }
            Rule::Suppress { min_count } if *min_count < 2 => {
                invalid("min_count must be at least 2 (1 would suppress nothing)")
            }
            Rule::Generalize(Generalization::AgeBand { width }) if !(1..=150).contains(width) => {
                invalid("width must be between 1 and 150 years")
            }
            Rule::Generalize(Generalization::RegionUp { levels }) if !(1..=2).contains(levels) => {
                invalid("levels must be 1 (to the city) or 2 (to the province)")
            }
            Rule::Generalize(Generalization::NumberBand { width })
                if *width == 0 || i64::try_from(*width).is_err() =>
            {
                invalid("width must be a positive 64-bit integer")
            }
            _ => Ok(()),
        }
    }

    /// Whether the rule has a meaning for a column of this type.
    #[must_use]
    pub fn accepts(&self, data_type: &DataType) -> bool {
        let text = is_text(data_type);
        let int = matches!(data_type, DataType::Int32 | DataType::Int64);
        let date = matches!(data_type, DataType::Date32 | DataType::Timestamp(..));
        match self {
            Rule::Keep | Rule::Null => true,
            Rule::Mask { .. } | Rule::Hash { .. } | Rule::Truncate { .. } => text || int,
            Rule::Generalize(Generalization::AgeBand { .. }) => int || date,
            Rule::Generalize(Generalization::RegionUp { .. }) => text || int,
            Rule::Generalize(Generalization::DateToMonth | Generalization::DateToYear)
            | Rule::DateShift { .. } => date || text,
            Rule::Generalize(Generalization::NumberBand { .. }) => {
                int || *data_type == DataType::Float64
            }
            Rule::Suppress { .. } => text || int || date || *data_type == DataType::Float64,
        }
    }

    /// The rule's rank in the strictness order, loosest 0 to strictest 7:
    ///
    /// `keep` < `date_shift` < `mask` < `truncate` < `generalize` < `hash` < `suppress` < `null`.
    ///
    /// Reasoning: a shifted date is still near the real one and keeps every interval; a mask keeps a
    /// prefix, a suffix and the length; truncation keeps only a prefix; generalization keeps a coarse
    /// but true value shared by many; a keyed hash reveals no part of any value, only equality;
    /// suppression removes exactly the rare values that single a person out (a rare hash would still
    /// point at one person); NULL reveals nothing. Rules of one kind compare by their parameters
    /// (see [`tightens`]).
    #[must_use]
    pub fn strictness(&self) -> u8 {
        match self {
            Rule::Keep => 0,
            Rule::DateShift { .. } => 1,
            Rule::Mask { .. } => 2,
            Rule::Truncate { .. } => 3,
            Rule::Generalize(_) => 4,
            Rule::Hash { .. } => 5,
            Rule::Suppress { .. } => 6,
            Rule::Null => 7,
        }
    }
}

impl Generalization {
    fn name(&self) -> &'static str {
        match self {
            Generalization::AgeBand { .. } => "generalize.age_band",
            Generalization::RegionUp { .. } => "generalize.region_up",
            Generalization::DateToMonth => "generalize.date_to_month",
            Generalization::DateToYear => "generalize.date_to_year",
            Generalization::NumberBand { .. } => "generalize.number_band",
        }
    }
}

/// Whether `candidate` is at least as strict as `baseline`, so a reviewer may put it in place of the
/// default. A rule of a stricter kind ([`Rule::strictness`]) always is; a rule of the same kind is
/// when it reveals no more: a mask keeping no more of the prefix and suffix, a truncation keeping no
/// more, wider bands (age and number bands of integers are the same operation and compare by width),
/// more region levels, a year for a month, a wider date shift, a larger suppression threshold; keyed
/// hashes of any width are equally strict. Different generalizations that do not compare (a region for
/// an age band) are not tightenings.
#[must_use]
pub fn tightens(candidate: &Rule, baseline: &Rule) -> bool {
    use Generalization as G;
    match (candidate, baseline) {
        (
            Rule::Mask {
                keep_prefix: p,
                keep_suffix: s,
                ..
            },
            Rule::Mask {
                keep_prefix: bp,
                keep_suffix: bs,
                ..
            },
        ) => p <= bp && s <= bs,
        (Rule::Hash { .. }, Rule::Hash { .. }) => true,
        (Rule::Truncate { keep }, Rule::Truncate { keep: base }) => keep <= base,
        (Rule::DateShift { max_days }, Rule::DateShift { max_days: base }) => max_days >= base,
        (Rule::Suppress { min_count }, Rule::Suppress { min_count: base }) => min_count >= base,
        (Rule::Generalize(g), Rule::Generalize(base)) => match (g, base) {
            (G::AgeBand { width }, G::AgeBand { width: base }) => width >= base,
            (G::NumberBand { width }, G::NumberBand { width: base }) => width >= base,
            (G::AgeBand { width }, G::NumberBand { width: base }) => u64::from(*width) >= *base,
            (G::NumberBand { width }, G::AgeBand { width: base }) => *width >= u64::from(*base),
            (G::RegionUp { levels }, G::RegionUp { levels: base }) => levels >= base,
            (G::DateToYear, G::DateToMonth | G::DateToYear) | (G::DateToMonth, G::DateToMonth) => {
                true
            }
            _ => false,
        },
        _ => candidate.strictness() > baseline.strictness() || candidate == baseline,
    }
}

/// Utf8, LargeUtf8 or Utf8View.
pub(crate) fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}
