//! The streaming per-field profiler: feed it every batch's column with [`FieldProfiler::update`], then
//! [`FieldProfiler::finish`] gives the [`FieldProfile`].
//!
//! **Never** keeps or reports a value of a string column: string columns contribute their lengths to
//! the extent, a 64-bit hash to the distinct count and a yes/no to the validity count. Memory is
//! bounded by the exact-distinct bound (8-byte hashes) plus the 16 KiB HyperLogLog, whatever the
//! number of rows.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::{FormatKind, HyperLogLog, QualityError};

/// Up to this many distinct values are counted exactly (as hashes: 8 bytes each plus the set's
/// overhead, about 2 MiB at most); beyond it the count is a HyperLogLog estimate.
pub const DEFAULT_EXACT_DISTINCT_BOUND: usize = 100_000;

/// The quality profile of one field: aggregates only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldProfile {
    /// Which format check was applied.
    pub format: FormatKind,
    pub rows: u64,
    pub nulls: u64,
    /// `nulls / rows`, 0 for an empty field.
    pub null_rate: f64,
    /// Distinct non-null values.
    pub distinct: u64,
    /// Whether `distinct` is a HyperLogLog estimate (standard error about 0.8 %) rather than exact.
    pub distinct_is_estimate: bool,
    /// Smallest and largest value of a number or date field; shortest and longest value (in
    /// characters) of a string field; `None` for other types or when every value is null.
    pub extent: Option<Extent>,
    /// Non-null values of the right format (`None` when no format check applies).
    pub valid: Option<u64>,
    pub invalid: Option<u64>,
    /// `valid / (valid + invalid)` (`None` when no format check applies or no value is non-null).
    pub validity_rate: Option<f64>,
}

/// The range of a field. There is deliberately no variant that holds text: a string field's extent is
/// the range of its lengths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Extent {
    Integer {
        min: i64,
        max: i64,
    },
    Unsigned {
        min: u64,
        max: u64,
    },
    /// Floating point and decimal fields (decimals converted to `f64`).
    Number {
        min: f64,
        max: f64,
    },
    Date {
        min: NaiveDate,
        max: NaiveDate,
    },
    /// Timestamps as UTC date-times.
    Timestamp {
        min: NaiveDateTime,
        max: NaiveDateTime,
    },
    /// String fields: length in characters (Unicode scalar values).
    Length {
        min: u64,
        max: u64,
    },
}

/// Accumulates the profile of one field over a stream of arrays.
#[derive(Debug, Clone)]
pub struct FieldProfiler {
    format: FormatKind,
    exact_bound: usize,
    data_type: Option<DataType>,
    rows: u64,
    nulls: u64,
    /// Hashes of the distinct values seen, until there are more than `exact_bound`.
    exact: Option<HashSet<u64>>,
    sketch: HyperLogLog,
    extent: Option<Raw>,
    valid: u64,
    invalid: u64,
}

/// The running extent in the array's own representation.
#[derive(Debug, Clone, Copy)]
enum Raw {
    Int(i64, i64),
    UInt(u64, u64),
    Float(f64, f64),
    Decimal(i128, i128, i8),
    Days(i32, i32),
    Millis(i64, i64),
    Timestamp(i64, i64, TimeUnit),
    Length(u64, u64),
}

impl FieldProfiler {
    pub fn new(format: FormatKind) -> Self {
        Self::with_exact_bound(format, DEFAULT_EXACT_DISTINCT_BOUND)
    }

    /// A profiler that counts up to `exact_bound` distinct values exactly.
    pub fn with_exact_bound(format: FormatKind, exact_bound: usize) -> Self {
        Self {
            format,
            exact_bound,
            data_type: None,
            rows: 0,
            nulls: 0,
            exact: Some(HashSet::new()),
            sketch: HyperLogLog::new(),
            extent: None,
            valid: 0,
            invalid: 0,
        }
    }

    /// Bytes held for distinct counting now: the exact set's table (8-byte hash plus one control byte
    /// per slot) and the sketch's registers. Bounded by the exact bound, not by the row count.
    pub fn distinct_memory_bytes(&self) -> usize {
        self.exact.as_ref().map_or(0, |set| set.capacity() * 9) + HyperLogLog::BYTES
    }

    /// Adds one batch's column. Every call must pass the same data type.
    pub fn update(&mut self, array: &ArrayRef) -> Result<(), QualityError> {
        let data_type = array.data_type();
        match &self.data_type {
            Some(first) if first != data_type => {
                return Err(QualityError::TypeChanged {
                    first: first.to_string(),
                    now: data_type.to_string(),
                });
            }
            Some(_) => {}
            None => self.data_type = Some(data_type.clone()),
        }
        self.rows += array.len() as u64;
        self.nulls += array.logical_null_count() as u64;
        let array = array.as_ref();
        match data_type {
            DataType::Utf8 => self.strings(array.as_string_opt::<i32>().into_iter().flatten()),
            DataType::LargeUtf8 => self.strings(array.as_string_opt::<i64>().into_iter().flatten()),
            DataType::Utf8View => self.strings(array.as_string_view_opt().into_iter().flatten()),
            DataType::Int8 => self.integers(primitive::<Int8Type, _>(array, i64::from)),
            DataType::Int16 => self.integers(primitive::<Int16Type, _>(array, i64::from)),
            DataType::Int32 => self.integers(primitive::<Int32Type, _>(array, i64::from)),
            DataType::Int64 => self.integers(primitive::<Int64Type, _>(array, |v| v)),
            DataType::UInt8 => self.integers(primitive::<UInt8Type, _>(array, i64::from)),
            DataType::UInt16 => self.integers(primitive::<UInt16Type, _>(array, i64::from)),
            DataType::UInt32 => self.integers(primitive::<UInt32Type, _>(array, i64::from)),
            DataType::UInt64 => self.unsigned(primitive::<UInt64Type, _>(array, |v| v)),
            DataType::Float16 => self.floats(primitive::<Float16Type, _>(array, f64::from)),
            DataType::Float32 => self.floats(primitive::<Float32Type, _>(array, f64::from)),
            DataType::Float64 => self.floats(primitive::<Float64Type, _>(array, |v| v)),
            DataType::Decimal128(_, scale) => {
                let scale = *scale;
                for v in primitive::<Decimal128Type, _>(array, |v| v) {
                    self.distinct(&v);
                    self.widen(Raw::Decimal(v, v, scale));
                    self.validity(self.format == FormatKind::None);
                }
            }
            DataType::Date32 => {
                for v in primitive::<Date32Type, _>(array, |v| v) {
                    self.distinct(&v);
                    self.widen(Raw::Days(v, v));
                    self.validity(matches!(self.format, FormatKind::None | FormatKind::Date));
                }
            }
            DataType::Date64 => {
                for v in primitive::<Date64Type, _>(array, |v| v) {
                    self.distinct(&v);
                    self.widen(Raw::Millis(v, v));
                    self.validity(matches!(self.format, FormatKind::None | FormatKind::Date));
                }
            }
            DataType::Timestamp(unit, _) => {
                let unit = *unit;
                let values: Box<dyn Iterator<Item = i64>> = match unit {
                    TimeUnit::Second => Box::new(primitive::<TimestampSecondType, _>(array, |v| v)),
                    TimeUnit::Millisecond => {
                        Box::new(primitive::<TimestampMillisecondType, _>(array, |v| v))
                    }
                    TimeUnit::Microsecond => {
                        Box::new(primitive::<TimestampMicrosecondType, _>(array, |v| v))
                    }
                    TimeUnit::Nanosecond => {
                        Box::new(primitive::<TimestampNanosecondType, _>(array, |v| v))
                    }
                };
                let format = self.format;
                for v in values {
                    self.distinct(&v);
                    self.widen(Raw::Timestamp(v, v, unit));
                    self.validity(matches!(format, FormatKind::None | FormatKind::Date));
                }
            }
            DataType::Boolean => {
                let format = self.format;
                for v in array.as_boolean_opt().into_iter().flatten().flatten() {
                    self.distinct(&v);
                    self.validity(format == FormatKind::None);
                }
            }
            // Other types: rows and nulls only.
            _ => {}
        }
        Ok(())
    }

    /// The profile of everything passed to [`FieldProfiler::update`].
    pub fn finish(self) -> FieldProfile {
        let (distinct, distinct_is_estimate) = match &self.exact {
            Some(set) => (set.len() as u64, false),
            None => (self.sketch.estimate(), true),
        };
        let checked = self.format != FormatKind::None;
        let judged = self.valid + self.invalid;
        FieldProfile {
            format: self.format,
            rows: self.rows,
            nulls: self.nulls,
            null_rate: ratio(self.nulls, self.rows).unwrap_or(0.0),
            distinct,
            distinct_is_estimate,
            extent: self.extent.and_then(Raw::finish),
            valid: checked.then_some(self.valid),
            invalid: checked.then_some(self.invalid),
            validity_rate: if checked {
                ratio(self.valid, judged)
            } else {
                None
            },
        }
    }

    fn strings<'a>(&mut self, values: impl Iterator<Item = Option<&'a str>>) {
        for text in values.flatten() {
            self.distinct(text);
            let length = text.chars().count() as u64;
            self.widen(Raw::Length(length, length));
            self.validity(self.format.check(text));
        }
    }

    fn integers(&mut self, values: impl Iterator<Item = i64>) {
        for v in values {
            self.distinct(&v);
            self.widen(Raw::Int(v, v));
            self.validity(self.format == FormatKind::None || self.format.check(&v.to_string()));
        }
    }

    fn unsigned(&mut self, values: impl Iterator<Item = u64>) {
        for v in values {
            self.distinct(&v);
            self.widen(Raw::UInt(v, v));
            self.validity(self.format == FormatKind::None || self.format.check(&v.to_string()));
        }
    }

    fn floats(&mut self, values: impl Iterator<Item = f64>) {
        for v in values {
            // One hash for 0.0 and -0.0, and for every NaN.
            let bits = if v == 0.0 {
                0
            } else if v.is_nan() {
                f64::NAN.to_bits()
            } else {
                v.to_bits()
            };
            self.distinct(&bits);
            if !v.is_nan() {
                self.widen(Raw::Float(v, v));
            }
            self.validity(self.format == FormatKind::None);
        }
    }

    fn distinct<T: Hash + ?Sized>(&mut self, value: &T) {
        // SipHash-1-3 with fixed keys: well mixed for the sketch, and distinct values collide with
        // probability about n²/2⁶⁵ (1e-9 at the exact bound), so the exact count is exact in practice.
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        let hash = hasher.finish();
        self.sketch.insert_hash(hash);
        if let Some(set) = &mut self.exact {
            set.insert(hash);
            if set.len() > self.exact_bound {
                self.exact = None;
            }
        }
    }

    fn widen(&mut self, value: Raw) {
        self.extent = Some(match self.extent {
            None => value,
            Some(current) => current.widen(value),
        });
    }

    fn validity(&mut self, valid: bool) {
        if self.format == FormatKind::None {
            return;
        }
        if valid {
            self.valid += 1;
        } else {
            self.invalid += 1;
        }
    }
}

/// The non-null values of a primitive array of type `T`, converted by `f` (empty if the array is not
/// of type `T`, which the caller's match on the data type rules out).
fn primitive<T, U>(array: &dyn Array, f: impl Fn(T::Native) -> U) -> impl Iterator<Item = U>
where
    T: arrow_array::ArrowPrimitiveType,
{
    array
        .as_primitive_opt::<T>()
        .into_iter()
        .flat_map(|a| a.iter())
        .flatten()
        .map(f)
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Raw {
    fn widen(self, other: Raw) -> Raw {
        match (self, other) {
            (Raw::Int(a, b), Raw::Int(c, d)) => Raw::Int(a.min(c), b.max(d)),
            (Raw::UInt(a, b), Raw::UInt(c, d)) => Raw::UInt(a.min(c), b.max(d)),
            (Raw::Float(a, b), Raw::Float(c, d)) => Raw::Float(a.min(c), b.max(d)),
            (Raw::Decimal(a, b, s), Raw::Decimal(c, d, _)) => Raw::Decimal(a.min(c), b.max(d), s),
            (Raw::Days(a, b), Raw::Days(c, d)) => Raw::Days(a.min(c), b.max(d)),
            (Raw::Millis(a, b), Raw::Millis(c, d)) => Raw::Millis(a.min(c), b.max(d)),
            (Raw::Timestamp(a, b, u), Raw::Timestamp(c, d, _)) => {
                Raw::Timestamp(a.min(c), b.max(d), u)
            }
            (Raw::Length(a, b), Raw::Length(c, d)) => Raw::Length(a.min(c), b.max(d)),
            // The data type is fixed per profiler, so kinds never mix.
            (current, _) => current,
        }
    }

    fn finish(self) -> Option<Extent> {
        Some(match self {
            Raw::Int(min, max) => Extent::Integer { min, max },
            Raw::UInt(min, max) => Extent::Unsigned { min, max },
            Raw::Float(min, max) => Extent::Number { min, max },
            Raw::Decimal(min, max, scale) => {
                let unit = 10f64.powi(i32::from(scale));
                Extent::Number {
                    min: min as f64 / unit,
                    max: max as f64 / unit,
                }
            }
            Raw::Days(min, max) => Extent::Date {
                min: day(i64::from(min))?,
                max: day(i64::from(max))?,
            },
            Raw::Millis(min, max) => Extent::Date {
                min: DateTime::from_timestamp_millis(min)?.date_naive(),
                max: DateTime::from_timestamp_millis(max)?.date_naive(),
            },
            Raw::Timestamp(min, max, unit) => Extent::Timestamp {
                min: instant(min, unit)?,
                max: instant(max, unit)?,
            },
            Raw::Length(min, max) => Extent::Length { min, max },
        })
    }
}

/// The date `days` after 1970-01-01.
fn day(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

fn instant(value: i64, unit: TimeUnit) -> Option<NaiveDateTime> {
    let at = match unit {
        TimeUnit::Second => DateTime::from_timestamp(value, 0)?,
        TimeUnit::Millisecond => DateTime::from_timestamp_millis(value)?,
        TimeUnit::Microsecond => DateTime::from_timestamp_micros(value)?,
        TimeUnit::Nanosecond => DateTime::from_timestamp_nanos(value),
    };
    Some(at.naive_utc())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
        TimestampSecondArray,
    };

    use super::*;
    use crate::resident_id_check;

    fn profile(format: FormatKind, batches: &[ArrayRef]) -> FieldProfile {
        let mut profiler = FieldProfiler::new(format);
        for batch in batches {
            profiler.update(batch).unwrap();
        }
        profiler.finish()
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn id(first17: &str) -> String {
        format!("{first17}{}", resident_id_check(first17).unwrap())
    }

    #[test]
    fn nulls_distinct_and_validity_of_resident_ids_over_two_batches() {
        let (a, b) = (id("64050219900101123"), id("64050219851231004"));
        let first = strings(&[Some(&a), None, Some(&a)]);
        let second = strings(&[Some(&b), Some("640502199001011230"), None, Some("bad")]);
        let p = profile(FormatKind::ResidentId, &[first, second]);
        assert_eq!((p.rows, p.nulls), (7, 2));
        assert!((p.null_rate - 2.0 / 7.0).abs() < 1e-12);
        assert_eq!((p.distinct, p.distinct_is_estimate), (4, false));
        assert_eq!((p.valid, p.invalid), (Some(3), Some(2)));
        assert!((p.validity_rate.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(p.extent, Some(Extent::Length { min: 3, max: 18 }));
    }

    #[test]
    fn a_profile_of_a_string_field_contains_no_value() {
        let names = ["张伟", "王秀英", "13800138000", "ZZZ-unique-marker"];
        let column = strings(&names.map(Some));
        let p = profile(FormatKind::Mobile, &[column]);
        let json = serde_json::to_string(&p).unwrap();
        for name in names {
            assert!(!json.contains(name), "{name} leaked into {json}");
        }
        assert_eq!(p.extent, Some(Extent::Length { min: 2, max: 17 }));
        assert_eq!((p.valid, p.invalid), (Some(1), Some(3)));
    }

    #[test]
    fn numbers_and_dates_report_their_range() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(5), None, Some(-3), Some(9)]));
        let p = profile(FormatKind::None, &[ints]);
        assert_eq!(p.extent, Some(Extent::Integer { min: -3, max: 9 }));
        assert_eq!((p.valid, p.invalid, p.validity_rate), (None, None, None));

        let floats: ArrayRef = Arc::new(Float64Array::from(vec![0.0, -0.0, 2.5, f64::NAN]));
        let p = profile(FormatKind::None, &[floats]);
        assert_eq!(p.extent, Some(Extent::Number { min: 0.0, max: 2.5 }));
        assert_eq!(p.distinct, 3);

        let money: ArrayRef = Arc::new(
            Decimal128Array::from(vec![12_345, 50])
                .with_precision_and_scale(12, 2)
                .unwrap(),
        );
        let p = profile(FormatKind::None, &[money]);
        assert_eq!(
            p.extent,
            Some(Extent::Number {
                min: 0.5,
                max: 123.45
            })
        );

        // 19723 days after 1970-01-01 is 2024-01-01.
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![19_723, 19_723 + 59]));
        let p = profile(FormatKind::Date, &[dates]);
        let date = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
        assert_eq!(
            p.extent,
            Some(Extent::Date {
                min: date(1, 1),
                max: date(2, 29)
            })
        );
        assert_eq!(p.validity_rate, Some(1.0));

        let times: ArrayRef = Arc::new(TimestampSecondArray::from(vec![1_704_067_200, 0]));
        let p = profile(FormatKind::None, &[times]);
        let Some(Extent::Timestamp { min, max }) = p.extent else {
            panic!("{:?}", p.extent)
        };
        assert_eq!(min.to_string(), "1970-01-01 00:00:00");
        assert_eq!(max.to_string(), "2024-01-01 00:00:00");
    }

    #[test]
    fn booleans_have_no_extent_and_mobile_numbers_stored_as_integers_are_checked() {
        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
        let p = profile(FormatKind::None, &[flags]);
        assert_eq!((p.distinct, p.extent), (2, None));

        let phones: ArrayRef = Arc::new(Int64Array::from(vec![13_800_138_000, 12_345]));
        let p = profile(FormatKind::Mobile, &[phones]);
        assert_eq!((p.valid, p.invalid), (Some(1), Some(1)));
    }

    #[test]
    fn an_empty_or_all_null_field_has_no_rates_or_extent() {
        let p = profile(FormatKind::Date, &[]);
        assert_eq!((p.rows, p.null_rate, p.validity_rate), (0, 0.0, None));
        let p = profile(FormatKind::Date, &[strings(&[None, None])]);
        assert_eq!((p.null_rate, p.distinct, p.extent), (1.0, 0, None));
        assert_eq!(
            (p.valid, p.invalid, p.validity_rate),
            (Some(0), Some(0), None)
        );
    }

    #[test]
    fn a_type_change_between_batches_is_refused() {
        let mut profiler = FieldProfiler::new(FormatKind::None);
        profiler.update(&strings(&[Some("a")])).unwrap();
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        assert!(matches!(
            profiler.update(&ints),
            Err(QualityError::TypeChanged { .. })
        ));
    }

    #[test]
    fn distinct_memory_stays_bounded_over_two_million_distinct_values() {
        let bound = 10_000;
        let mut profiler = FieldProfiler::with_exact_bound(FormatKind::None, bound);
        let ceiling = HyperLogLog::BYTES + 2 * (bound + 1) * 9 * 2;
        let mut largest = 0;
        for batch in 0..200 {
            let values: Vec<String> = (0..10_000)
                .map(|i| format!("person-{}", batch * 10_000 + i))
                .collect();
            let column: ArrayRef = Arc::new(StringArray::from(values));
            profiler.update(&column).unwrap();
            largest = largest.max(profiler.distinct_memory_bytes());
        }
        assert!(largest <= ceiling, "{largest} bytes > {ceiling}");
        assert_eq!(profiler.distinct_memory_bytes(), HyperLogLog::BYTES);
        let p = profiler.finish();
        assert_eq!(p.rows, 2_000_000);
        assert!(p.distinct_is_estimate);
        let error = (p.distinct as f64 - 2e6).abs() / 2e6;
        assert!(error < 0.03, "estimate {} is {error} off", p.distinct);
    }

    #[test]
    fn distinct_count_is_exact_up_to_the_bound() {
        let mut profiler = FieldProfiler::with_exact_bound(FormatKind::None, 1_000);
        let values: Vec<i64> = (0..1_000).chain(0..1_000).collect();
        let column: ArrayRef = Arc::new(Int64Array::from(values));
        profiler.update(&column).unwrap();
        let p = profiler.finish();
        assert_eq!((p.distinct, p.distinct_is_estimate), (1_000, false));
    }
}
