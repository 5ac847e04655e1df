//! The kernels: each rule over a whole Arrow array.
//!
//! Text results are built in one builder sized from the input, through one reused scratch `String`
//! (no allocation per row); numbers and dates go through `unary` where no value can fail, or collect
//! an iterator of options where a value can become NULL. NULL in is NULL out, always. A kernel never
//! reports a value: a value it cannot interpret becomes NULL.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::Arc;

use arrow_array::builder::{GenericStringBuilder, StringViewBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, Date32Array, GenericStringArray, Int32Array, Int64Array,
    OffsetSizeTrait, PrimitiveArray, StringViewArray, new_null_array,
};
use arrow_schema::{DataType, TimeUnit};
use hmac::Mac;

use crate::key::HmacSm3;
use crate::rule::{Generalization, Rule};
use crate::time::{
    SECONDS_PER_DAY, age, days_from_civil, month_start, parse_date, units_per_second, write_date,
    year_start,
};
use crate::{Context, DesensitizeError, HashKey};

/// Domain separation of keyed hashing.
const HASH_LABEL: &[u8] = b"shuyu-desensitize/hash\0";
/// Domain separation of date-shift offsets.
const SHIFT_LABEL: &[u8] = b"shuyu-desensitize/date-shift\0";

/// Applies `rule` to a whole column. The result has the same length; NULLs stay NULL.
///
/// The result type is the input type, except: masking, hashing and truncating an integer column give
/// text (`Utf8`); an age band of a birth-date column gives `Int32`. Errors (never naming a value): the
/// rule's parameters are invalid, the rule does not fit the column's type, or the context lacks the
/// key, privacy-unit column or reference date the rule needs.
pub fn apply(
    rule: &Rule,
    array: &ArrayRef,
    ctx: &Context<'_>,
) -> Result<ArrayRef, DesensitizeError> {
    rule.validate()?;
    let data_type = array.data_type();
    if !rule.accepts(data_type) {
        return Err(unsupported(rule, data_type));
    }
    match rule {
        Rule::Keep => Ok(Arc::clone(array)),
        Rule::Null => Ok(new_null_array(data_type, array.len())),
        Rule::Mask {
            keep_prefix,
            keep_suffix,
            mask_char,
        } => {
            let (prefix, suffix) = (to_usize(*keep_prefix), to_usize(*keep_suffix));
            map_text(rule, array, |_, value, out| {
                mask(value, prefix, suffix, *mask_char, out);
                true
            })
        }
        Rule::Hash { hex_chars } => {
            let mac = ctx.key(rule.name())?.mac(HASH_LABEL);
            let hex_chars = usize::from(*hex_chars);
            map_text(rule, array, |_, value, out| {
                keyed_hex(&mac, value.as_bytes(), hex_chars, out);
                true
            })
        }
        Rule::Truncate { keep } => {
            let keep = to_usize(*keep);
            map_text(rule, array, |_, value, out| {
                out.push_str(prefix_chars(value, keep));
                true
            })
        }
        Rule::Generalize(generalization) => generalize(rule, generalization, array, ctx),
        Rule::DateShift { max_days } => date_shift(rule, *max_days, array, ctx),
        Rule::Suppress { min_count } => suppress(rule, *min_count, array),
    }
}

/// The type [`apply`] gives when `rule` runs over a column of type `input`, without running it: the
/// input type, except that masking, hashing and truncating an integer column give `Utf8`, and an age
/// band of a birth-date column (`Date32`, timestamps) gives `Int32`. It depends on the rule and the
/// type only, never on values, so a table's desensitized schema is known before any batch is read.
/// Errors as [`apply`] does for invalid rules and rules that do not fit the type.
pub fn output_type(rule: &Rule, input: &DataType) -> Result<DataType, DesensitizeError> {
    rule.validate()?;
    if !rule.accepts(input) {
        return Err(unsupported(rule, input));
    }
    let integer = matches!(input, DataType::Int32 | DataType::Int64);
    let date = matches!(input, DataType::Date32 | DataType::Timestamp(..));
    Ok(match rule {
        Rule::Mask { .. } | Rule::Hash { .. } | Rule::Truncate { .. } if integer => DataType::Utf8,
        Rule::Generalize(Generalization::AgeBand { .. }) if date => DataType::Int32,
        _ => input.clone(),
    })
}

fn unsupported(rule: &Rule, data_type: &DataType) -> DesensitizeError {
    DesensitizeError::Unsupported {
        rule: rule.name(),
        data_type: data_type.to_string(),
    }
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------------------------------------
// Text kernels

/// A string builder of any of the three string layouts.
trait TextSink {
    fn value(&mut self, value: &str);
    fn null(&mut self);
}

impl<O: OffsetSizeTrait> TextSink for GenericStringBuilder<O> {
    fn value(&mut self, value: &str) {
        self.append_value(value);
    }
    fn null(&mut self) {
        self.append_null();
    }
}

impl TextSink for StringViewBuilder {
    fn value(&mut self, value: &str) {
        self.append_value(value);
    }
    fn null(&mut self) {
        self.append_null();
    }
}

/// Maps every non-null value, as text, through `f(row, value, out)`: `f` writes the result into
/// `out` (cleared before each call) and returns false to make the row NULL. String columns keep their
/// layout; integer columns are read as decimal text and give `Utf8`.
fn map_text(
    rule: &Rule,
    array: &ArrayRef,
    mut f: impl FnMut(usize, &str, &mut String) -> bool,
) -> Result<ArrayRef, DesensitizeError> {
    let mut scratch = String::new();
    let mut emit = |sink: &mut dyn TextSink, row: usize, value: Option<&str>| match value {
        None => sink.null(),
        Some(value) => {
            scratch.clear();
            if f(row, value, &mut scratch) {
                sink.value(&scratch);
            } else {
                sink.null();
            }
        }
    };
    match array.data_type() {
        DataType::Utf8 => Ok(Arc::new(map_strings(array.as_string::<i32>(), &mut emit))),
        DataType::LargeUtf8 => Ok(Arc::new(map_strings(array.as_string::<i64>(), &mut emit))),
        DataType::Utf8View => {
            let input = array.as_string_view();
            let mut builder = StringViewBuilder::with_capacity(input.len());
            for (row, value) in input.iter().enumerate() {
                emit(&mut builder, row, value);
            }
            Ok(Arc::new(builder.finish()))
        }
        DataType::Int32 => Ok(Arc::new(map_integers(
            array
                .as_primitive::<Int32Type>()
                .iter()
                .map(|v| v.map(i64::from)),
            array.len(),
            &mut emit,
        ))),
        DataType::Int64 => Ok(Arc::new(map_integers(
            array.as_primitive::<Int64Type>().iter(),
            array.len(),
            &mut emit,
        ))),
        other => Err(unsupported(rule, other)),
    }
}

fn map_strings<O: OffsetSizeTrait>(
    input: &GenericStringArray<O>,
    emit: &mut impl FnMut(&mut dyn TextSink, usize, Option<&str>),
) -> GenericStringArray<O> {
    let mut builder =
        GenericStringBuilder::<O>::with_capacity(input.len(), input.value_data().len());
    for (row, value) in input.iter().enumerate() {
        emit(&mut builder, row, value);
    }
    builder.finish()
}

fn map_integers(
    input: impl Iterator<Item = Option<i64>>,
    len: usize,
    emit: &mut impl FnMut(&mut dyn TextSink, usize, Option<&str>),
) -> GenericStringArray<i32> {
    let mut builder = GenericStringBuilder::<i32>::with_capacity(len, len.saturating_mul(12));
    let mut digits = String::with_capacity(20);
    for (row, value) in input.enumerate() {
        match value {
            None => emit(&mut builder, row, None),
            Some(n) => {
                digits.clear();
                let _ = write!(digits, "{n}");
                emit(&mut builder, row, Some(&digits));
            }
        }
    }
    builder.finish()
}

/// Calls `visit(row, text)` for every row of an identifier column read as text (integers as decimal
/// text, as [`Rule::Hash`] reads them).
fn for_each_text(
    array: &ArrayRef,
    mut visit: impl FnMut(usize, Option<&str>),
) -> Result<(), DesensitizeError> {
    let mut digits = String::with_capacity(20);
    let mut integer =
        |row: usize, value: Option<i64>, visit: &mut dyn FnMut(usize, Option<&str>)| {
            digits.clear();
            match value {
                None => visit(row, None),
                Some(n) => {
                    let _ = write!(digits, "{n}");
                    visit(row, Some(&digits));
                }
            }
        };
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .enumerate()
            .for_each(|(r, v)| visit(r, v)),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .enumerate()
            .for_each(|(r, v)| visit(r, v)),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .enumerate()
            .for_each(|(r, v)| visit(r, v)),
        DataType::Int32 => {
            for (row, value) in array.as_primitive::<Int32Type>().iter().enumerate() {
                integer(row, value.map(i64::from), &mut visit);
            }
        }
        DataType::Int64 => {
            for (row, value) in array.as_primitive::<Int64Type>().iter().enumerate() {
                integer(row, value, &mut visit);
            }
        }
        other => {
            return Err(DesensitizeError::UnsupportedPrivacyUnit {
                data_type: other.to_string(),
            });
        }
    }
    Ok(())
}

/// Byte offset of the `chars`-th character (the length when the text is shorter).
fn byte_offset(text: &str, ascii: bool, chars: usize) -> usize {
    if ascii {
        chars.min(text.len())
    } else {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(at, _)| at)
    }
}

/// Masks `text` into `out`, keeping at most `keep_prefix` and `keep_suffix` characters and always
/// masking at least one character of a non-empty text. The character count stays.
fn mask(text: &str, keep_prefix: usize, keep_suffix: usize, mask_char: char, out: &mut String) {
    let ascii = text.is_ascii();
    let count = if ascii {
        text.len()
    } else {
        text.chars().count()
    };
    let Some(most) = count.checked_sub(1) else {
        return;
    };
    let prefix = keep_prefix.min(most);
    let suffix = keep_suffix.min(most - prefix);
    let start = byte_offset(text, ascii, prefix);
    let end = byte_offset(text, ascii, count - suffix);
    out.push_str(text.get(..start).unwrap_or_default());
    out.extend(std::iter::repeat_n(mask_char, count - prefix - suffix));
    out.push_str(text.get(end..).unwrap_or_default());
}

/// The first `keep` characters of `text`.
fn prefix_chars(text: &str, keep: usize) -> &str {
    let end = byte_offset(text, text.is_ascii(), keep);
    text.get(..end).unwrap_or_default()
}

/// The first `hex_chars` lower-case hex digits of HMAC-SM3(key, label ‖ value).
fn keyed_hex(mac: &HmacSm3, value: &[u8], hex_chars: usize, out: &mut String) {
    let mut mac = mac.clone();
    mac.update(value);
    let digest = mac.finalize().into_bytes();
    let nibbles = digest.iter().flat_map(|byte| [byte >> 4, byte & 0x0f]);
    out.extend(
        nibbles
            .take(hex_chars)
            .filter_map(|nibble| char::from_digit(u32::from(nibble), 16)),
    );
}

// ---------------------------------------------------------------------------------------------
// Generalization

fn generalize(
    rule: &Rule,
    generalization: &Generalization,
    array: &ArrayRef,
    ctx: &Context<'_>,
) -> Result<ArrayRef, DesensitizeError> {
    match generalization {
        Generalization::AgeBand { width } => age_band(rule, i64::from(*width), array, ctx),
        Generalization::NumberBand { width } => {
            number_band(rule, i64::try_from(*width).unwrap_or(i64::MAX), array)
        }
        Generalization::RegionUp { levels } => region_up(rule, *levels, array),
        Generalization::DateToMonth => to_period(rule, array, month_start, "01"),
        Generalization::DateToYear => to_period(rule, array, year_start, "01-01"),
    }
}

/// The lower bound of `value`'s band of `width`, saturating at the type's bounds (only absurd values
/// near them are affected, and they stay fixed points).
fn band(value: i64, width: i64) -> i64 {
    value.saturating_sub(value.rem_euclid(width))
}

fn band_i32(value: i32, width: i64) -> i32 {
    let banded = band(i64::from(value), width);
    i32::try_from(banded).unwrap_or(i32::MIN)
}

fn age_band(
    rule: &Rule,
    width: i64,
    array: &ArrayRef,
    ctx: &Context<'_>,
) -> Result<ArrayRef, DesensitizeError> {
    match array.data_type() {
        DataType::Int32 | DataType::Int64 => number_band(rule, width, array),
        DataType::Date32 => {
            let as_of = day_number(ctx.as_of(rule.name())?);
            let ages: Int32Array = array
                .as_primitive::<Date32Type>()
                .iter()
                .map(|birth| banded_age(i64::from(birth?), as_of, width))
                .collect();
            Ok(Arc::new(ages))
        }
        DataType::Timestamp(unit, _) => {
            let as_of = day_number(ctx.as_of(rule.name())?);
            let per_day = units_per_second(*unit) * SECONDS_PER_DAY;
            let ages: Int32Array = timestamp_values(array)
                .ok_or_else(|| unsupported(rule, array.data_type()))?
                .iter()
                .map(|birth| banded_age(birth?.div_euclid(per_day), as_of, width))
                .collect();
            Ok(Arc::new(ages))
        }
        other => Err(unsupported(rule, other)),
    }
}

fn banded_age(birth: i64, as_of: i64, width: i64) -> Option<i32> {
    i32::try_from(band(age(birth, as_of)?, width)).ok()
}

fn day_number(date: chrono::NaiveDate) -> i64 {
    use chrono::Datelike as _;
    days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    )
}

fn number_band(rule: &Rule, width: i64, array: &ArrayRef) -> Result<ArrayRef, DesensitizeError> {
    match array.data_type() {
        DataType::Int32 => Ok(Arc::new(
            array
                .as_primitive::<Int32Type>()
                .unary::<_, Int32Type>(|v| band_i32(v, width)),
        )),
        DataType::Int64 => Ok(Arc::new(
            array
                .as_primitive::<Int64Type>()
                .unary::<_, Int64Type>(|v| band(v, width)),
        )),
        DataType::Float64 => {
            #[allow(clippy::cast_precision_loss)]
            let width = width as f64;
            Ok(Arc::new(
                array
                    .as_primitive::<Float64Type>()
                    .unary::<_, Float64Type>(|v| (v / width).floor() * width),
            ))
        }
        other => Err(unsupported(rule, other)),
    }
}

fn region_up(rule: &Rule, levels: u8, array: &ArrayRef) -> Result<ArrayRef, DesensitizeError> {
    let zeros = usize::from(levels) * 2;
    let modulus = 10_i64.pow(u32::from(levels) * 2);
    let code = |v: i64| (100_000..=999_999).contains(&v).then(|| v - v % modulus);
    match array.data_type() {
        DataType::Int32 => {
            let codes: Int32Array = array
                .as_primitive::<Int32Type>()
                .iter()
                .map(|v| code(i64::from(v?)).and_then(|c| i32::try_from(c).ok()))
                .collect();
            Ok(Arc::new(codes))
        }
        DataType::Int64 => {
            let codes: Int64Array = array
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| code(v?))
                .collect();
            Ok(Arc::new(codes))
        }
        _ => map_text(rule, array, |_, value, out| {
            let Some(digits) = value
                .get(..6)
                .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            else {
                return false;
            };
            out.push_str(digits.get(..6 - zeros).unwrap_or_default());
            out.extend(std::iter::repeat_n('0', zeros));
            true
        }),
    }
}

/// Dates to the start of their period (`start` maps a day number to its period's first day; `suffix`
/// replaces the tail of a `YYYY-MM-DD` text after `YYYY-` or `YYYY-MM-`).
fn to_period(
    rule: &Rule,
    array: &ArrayRef,
    start: fn(i64) -> i64,
    suffix: &'static str,
) -> Result<ArrayRef, DesensitizeError> {
    match array.data_type() {
        DataType::Date32 => Ok(Arc::new(
            array
                .as_primitive::<Date32Type>()
                .unary::<_, Date32Type>(|days| {
                    i32::try_from(start(i64::from(days))).unwrap_or(i32::MIN)
                }),
        )),
        DataType::Timestamp(unit, _) => {
            let per_day = units_per_second(*unit) * SECONDS_PER_DAY;
            let values =
                timestamp_values(array).ok_or_else(|| unsupported(rule, array.data_type()))?;
            let starts = values
                .unary::<_, Int64Type>(|v| start(v.div_euclid(per_day)).saturating_mul(per_day));
            Ok(as_timestamp(&starts, array.data_type()))
        }
        _ => {
            let keep = 10 - suffix.len();
            map_text(rule, array, |_, value, out| {
                if !shuyu_quality::date_valid(value) {
                    return false;
                }
                out.push_str(value.get(..keep).unwrap_or_default());
                out.push_str(suffix);
                true
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Date shifting

fn date_shift(
    rule: &Rule,
    max_days: u32,
    array: &ArrayRef,
    ctx: &Context<'_>,
) -> Result<ArrayRef, DesensitizeError> {
    let key = ctx.key(rule.name())?;
    let unit = ctx.privacy_unit(array.len())?;
    let offsets = unit_offsets(key, unit, max_days)?;
    match array.data_type() {
        DataType::Date32 => {
            let shifted: Date32Array = array
                .as_primitive::<Date32Type>()
                .iter()
                .zip(&offsets)
                .map(|(days, offset)| days?.checked_add((*offset)?))
                .collect();
            Ok(Arc::new(shifted))
        }
        DataType::Timestamp(unit, _) => {
            let per_day = units_per_second(*unit) * SECONDS_PER_DAY;
            let shifted: Int64Array = timestamp_values(array)
                .ok_or_else(|| unsupported(rule, array.data_type()))?
                .iter()
                .zip(&offsets)
                .map(|(v, offset)| v?.checked_add(i64::from((*offset)?).checked_mul(per_day)?))
                .collect();
            Ok(as_timestamp(&shifted, array.data_type()))
        }
        _ => map_text(rule, array, |row, value, out| {
            let Some(offset) = offsets.get(row).copied().flatten() else {
                return false;
            };
            parse_date(value).is_some_and(|days| write_date(days + i64::from(offset), out))
        }),
    }
}

/// Each row's offset in days, from its privacy unit: the first 8 bytes of HMAC-SM3(key, label ‖
/// unit) as a big-endian integer, reduced mod `2 × max_days + 1`, minus `max_days` (the modulo bias
/// is below 2⁻⁵¹). `None` where the unit is NULL. Consecutive rows of one unit reuse its offset.
fn unit_offsets(
    key: &HashKey,
    unit: &ArrayRef,
    max_days: u32,
) -> Result<Vec<Option<i32>>, DesensitizeError> {
    let mac = key.mac(SHIFT_LABEL);
    let span = 2 * u64::from(max_days) + 1;
    let max = i64::from(max_days);
    let mut offsets = Vec::with_capacity(unit.len());
    let mut last: Option<(Vec<u8>, i32)> = None;
    for_each_text(unit, |_, value| {
        let Some(value) = value else {
            offsets.push(None);
            return;
        };
        if let Some((bytes, offset)) = &last
            && bytes.as_slice() == value.as_bytes()
        {
            offsets.push(Some(*offset));
            return;
        }
        let mut unit_mac = mac.clone();
        unit_mac.update(value.as_bytes());
        let digest = unit_mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        for (dst, src) in first.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
        let reduced = i64::try_from(u64::from_be_bytes(first) % span).unwrap_or(0);
        let offset = i32::try_from(reduced - max).unwrap_or(0);
        let bytes = match last.take() {
            Some((mut bytes, _)) => {
                bytes.clear();
                bytes.extend_from_slice(value.as_bytes());
                bytes
            }
            None => value.as_bytes().to_vec(),
        };
        last = Some((bytes, offset));
        offsets.push(Some(offset));
    })?;
    Ok(offsets)
}

// ---------------------------------------------------------------------------------------------
// Suppression

fn suppress(rule: &Rule, min_count: u32, array: &ArrayRef) -> Result<ArrayRef, DesensitizeError> {
    match array.data_type() {
        DataType::Utf8 => Ok(Arc::new(suppress_strings(
            array.as_string::<i32>(),
            min_count,
        ))),
        DataType::LargeUtf8 => Ok(Arc::new(suppress_strings(
            array.as_string::<i64>(),
            min_count,
        ))),
        DataType::Utf8View => {
            let input = array.as_string_view();
            let counts = count(input.iter().flatten());
            let kept: StringViewArray = input
                .iter()
                .map(|v| v.filter(|s| frequent(&counts, s, min_count)))
                .collect();
            Ok(Arc::new(kept))
        }
        DataType::Int32 => Ok(Arc::new(suppress_primitive(
            array.as_primitive::<Int32Type>(),
            min_count,
            |v| v,
        ))),
        DataType::Int64 => Ok(Arc::new(suppress_primitive(
            array.as_primitive::<Int64Type>(),
            min_count,
            |v| v,
        ))),
        DataType::Date32 => Ok(Arc::new(suppress_primitive(
            array.as_primitive::<Date32Type>(),
            min_count,
            |v| v,
        ))),
        DataType::Float64 => Ok(Arc::new(suppress_primitive(
            array.as_primitive::<Float64Type>(),
            min_count,
            f64::to_bits,
        ))),
        DataType::Timestamp(..) => {
            let values =
                timestamp_values(array).ok_or_else(|| unsupported(rule, array.data_type()))?;
            let kept = suppress_primitive(&values, min_count, |v| v);
            Ok(as_timestamp(&kept, array.data_type()))
        }
        other => Err(unsupported(rule, other)),
    }
}

fn count<K: Hash + Eq>(values: impl Iterator<Item = K>) -> HashMap<K, u32> {
    let mut counts = HashMap::new();
    for value in values {
        let n: &mut u32 = counts.entry(value).or_default();
        *n = n.saturating_add(1);
    }
    counts
}

fn frequent<K: Hash + Eq>(counts: &HashMap<K, u32>, key: &K, min_count: u32) -> bool {
    counts.get(key).is_some_and(|n| *n >= min_count)
}

fn suppress_strings<O: OffsetSizeTrait>(
    input: &GenericStringArray<O>,
    min_count: u32,
) -> GenericStringArray<O> {
    let counts = count(input.iter().flatten());
    input
        .iter()
        .map(|v| v.filter(|s| frequent(&counts, s, min_count)))
        .collect()
}

fn suppress_primitive<T: ArrowPrimitiveType, K: Hash + Eq>(
    input: &PrimitiveArray<T>,
    min_count: u32,
    key: impl Fn(T::Native) -> K,
) -> PrimitiveArray<T> {
    let counts = count(input.iter().flatten().map(&key));
    input
        .iter()
        .map(|v| v.filter(|v| frequent(&counts, &key(*v), min_count)))
        .collect::<PrimitiveArray<T>>()
        .with_data_type(input.data_type().clone())
}

// ---------------------------------------------------------------------------------------------
// Timestamps of any unit as raw i64 values

/// A timestamp column's raw values (in its own unit), sharing its buffers.
fn timestamp_values(array: &ArrayRef) -> Option<Int64Array> {
    fn raw<T: ArrowPrimitiveType<Native = i64>>(array: &PrimitiveArray<T>) -> Int64Array {
        Int64Array::new(array.values().clone(), array.nulls().cloned())
    }
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return None;
    };
    Some(match unit {
        TimeUnit::Second => raw(array.as_primitive::<TimestampSecondType>()),
        TimeUnit::Millisecond => raw(array.as_primitive::<TimestampMillisecondType>()),
        TimeUnit::Microsecond => raw(array.as_primitive::<TimestampMicrosecondType>()),
        TimeUnit::Nanosecond => raw(array.as_primitive::<TimestampNanosecondType>()),
    })
}

/// Raw values back into a timestamp column of `data_type` (unit and time zone kept).
fn as_timestamp(values: &Int64Array, data_type: &DataType) -> ArrayRef {
    fn typed<T: ArrowPrimitiveType<Native = i64>>(
        values: &Int64Array,
        data_type: &DataType,
    ) -> ArrayRef {
        Arc::new(
            PrimitiveArray::<T>::new(values.values().clone(), values.nulls().cloned())
                .with_data_type(data_type.clone()),
        )
    }
    match data_type {
        DataType::Timestamp(TimeUnit::Second, _) => typed::<TimestampSecondType>(values, data_type),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            typed::<TimestampMillisecondType>(values, data_type)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            typed::<TimestampMicrosecondType>(values, data_type)
        }
        _ => typed::<TimestampNanosecondType>(values, data_type),
    }
}
