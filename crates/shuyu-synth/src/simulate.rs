//! Simulated rows for a development environment, drawn from the observed marginal distribution of
//! each column of a real table (SBX-5: people see these rows instead of real ones).
//!
//! [`Marginals::observe`] runs inside the secure domain over the real table's batches and keeps, per
//! column, counts only; [`Marginals::sample`] then draws any number of rows with the caller's RNG.
//! Each column is simulated **independently** from its own marginal: there is no joint distribution,
//! so correlations between columns (age and wage, district and region code) are not reproduced and a
//! simulated row is never a real row.
//!
//! Per column, by type and identifier format:
//! - **identifier formats** (resident ID, credit code, mobile): fresh format-valid values from an RNG
//!   alone. Observed identifiers are never stored, so none is ever emitted (only a chance equality,
//!   about one in 10⁹ per value, is possible);
//! - **text without a format**: categorical frequencies of at most [`MAX_CATEGORIES`] distinct values
//!   of at most [`MAX_CATEGORY_BYTES`] bytes, used when the values seen at least `min_count` times
//!   cover at least half of the column; otherwise (too many distinct values, long free text, or
//!   mostly rare values) a length/charset model: a length drawn from the observed lengths, characters
//!   drawn independently from the observed character frequencies. Such a random string can coincide
//!   with an observed one only by chance, never by copying;
//! - **date text** (`YYYY-MM-DD`), **dates, timestamps and numbers** (integers, decimals, floats):
//!   a histogram of equal-width buckets whose width is a power of two (1 for integers, days, seconds
//!   and decimal units at first; 2⁻²⁰ for floats), doubled whenever more than [`MAX_BUCKETS`] buckets
//!   are occupied. At sampling time the width keeps doubling until the buckets seen at least
//!   `min_count` times hold 90 % of the values (so only outlying buckets are dropped). A value is
//!   drawn uniformly within a bucket, clipped to the observed minimum and maximum. Integers, dates and
//!   decimals stay integral in their own unit, so an integer column with few distinct values (at
//!   most [`MAX_BUCKETS`]) is simulated by its exact frequencies. Date text that is not a real date is
//!   not counted; the simulated values are all valid;
//! - **booleans**: frequency of true and false.
//!
//! The NULL rate of every column is kept. Floats that are NaN or infinite are not counted and are
//! never emitted.
//!
//! What must never happen: a category, a histogram bucket, a length, a character or a boolean value
//! seen fewer than `min_count` times (at least 2) is never emitted, since it could single a person
//! out. (Inside a bucket wider than one unit every value is equally likely, so a value that occurs
//! once may be drawn by chance among its common neighbours; it is never copied.) While observing, the
//! categorical table holds each distinct value up to [`MAX_CATEGORIES`] with its count (it lives
//! inside the domain, is never printed — `Debug` shows column names and models only — and is dropped
//! once the column overflows it); every other model holds counts only, and no model ever holds a
//! row. A column whose non-null values are all too rare to draw from is refused
//! ([`SynthError::TooFewObservations`]) rather than simulated from them.
//!
//! Memory does not grow with the row count: at most [`MAX_CATEGORIES`] × [`MAX_CATEGORY_BYTES`] of
//! categories and [`MAX_BUCKETS`] buckets per column, plus one count per distinct length and
//! character.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray,
    PrimitiveArray, RecordBatch, RecordBatchOptions, StringArray, StringViewArray, UInt8Array,
    UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use chrono::{NaiveDate, TimeDelta};
use rand::{CryptoRng, RngExt};
use shuyu_quality::FormatKind;

use crate::{SynthError, fresh};

/// Most distinct values of a text column tracked as categories; beyond it the column is simulated by
/// its length/charset model.
pub const MAX_CATEGORIES: usize = 1_000;
/// Longest text value tracked as a category, in bytes; a longer value is free text and makes its
/// column use the length/charset model.
pub const MAX_CATEGORY_BYTES: usize = 256;
/// Most occupied buckets of a numeric histogram; beyond it the bucket width doubles.
pub const MAX_BUCKETS: usize = 1_024;
/// Share of a text column's non-null values that its frequent categories must cover for the column
/// to be simulated categorically.
const CATEGORICAL_SHARE: f64 = 0.5;
/// Share of a histogram's observations that its frequent buckets must hold at sampling time (see
/// `Histogram::resolved`).
const FREQUENT_SHARE: f64 = 0.9;
/// First bucket width of a float histogram: 2⁻²⁰.
const FLOAT_START_EXPONENT: i32 = -20;
/// Largest bucket index magnitude (keeps `f64 → i64` exact enough and far from overflow).
const MAX_BUCKET_INDEX: f64 = 4.0e18;

/// The observed marginal distribution of every column of a table: counts and histograms.
pub struct Marginals {
    schema: SchemaRef,
    min_count: u64,
    columns: Vec<Column>,
}

/// Names the columns and their models, never a value or a count of one.
impl fmt::Debug for Marginals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for column in &self.columns {
            list.entry(&format_args!("{}: {}", column.name, column.model.kind()));
        }
        list.finish()
    }
}

struct Column {
    name: String,
    data_type: DataType,
    rows: u64,
    nulls: u64,
    model: Model,
}

enum Model {
    Boolean { trues: u64, falses: u64 },
    Number(Histogram),
    Text(TextModel),
    DateText(Histogram),
    Identifier(Identifier),
}

#[derive(Clone, Copy)]
enum Identifier {
    ResidentId,
    CreditCode,
    Mobile,
}

impl Model {
    fn kind(&self) -> &'static str {
        match self {
            Model::Boolean { .. } => "boolean frequency",
            Model::Number(_) => "histogram",
            Model::Text(_) => "categories or length/charset",
            Model::DateText(_) => "date histogram",
            Model::Identifier(_) => "fresh identifiers",
        }
    }
}

impl Marginals {
    /// Empty marginals of a table of `schema`. `formats` gives the identifier format of columns by
    /// name (a column not listed has none); `min_count` (at least 2) is the fewest observations of
    /// a value, bucket, length or character before it may be emitted.
    ///
    /// Refuses: `min_count` below 2, a format for a column the schema does not have, a type that
    /// cannot be simulated (lists, structs, binary, …) and a format that does not fit its column's
    /// type (a resident ID stored as an integer; a mobile number must be text, `Int64` or `UInt64`).
    pub fn new(
        schema: SchemaRef,
        formats: &[(String, Option<FormatKind>)],
        min_count: u64,
    ) -> Result<Self, SynthError> {
        if min_count < 2 {
            return Err(SynthError::MinCount(min_count));
        }
        if let Some((column, _)) = formats
            .iter()
            .find(|(column, _)| schema.index_of(column).is_err())
        {
            return Err(SynthError::UnknownColumn(column.clone()));
        }
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let format = formats
                    .iter()
                    .find(|(column, _)| column == field.name())
                    .and_then(|(_, format)| *format)
                    .unwrap_or_default();
                Ok(Column {
                    name: field.name().clone(),
                    data_type: field.data_type().clone(),
                    rows: 0,
                    nulls: 0,
                    model: model_for(field.name(), field.data_type(), format)?,
                })
            })
            .collect::<Result<Vec<_>, SynthError>>()?;
        Ok(Self {
            schema,
            min_count,
            columns,
        })
    }

    /// The schema of the observed and the simulated batches.
    #[must_use]
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Counts one batch of the real table. Refuses a batch whose column names or types differ from
    /// the schema given to [`Marginals::new`].
    pub fn observe(&mut self, batch: &RecordBatch) -> Result<(), SynthError> {
        let theirs = batch.schema_ref().fields();
        let same = theirs.len() == self.columns.len()
            && theirs.iter().zip(&self.columns).all(|(field, column)| {
                field.name() == &column.name && field.data_type() == &column.data_type
            });
        if !same {
            return Err(SynthError::SchemaMismatch);
        }
        for (column, array) in self.columns.iter_mut().zip(batch.columns()) {
            column.rows = column.rows.saturating_add(to_u64(array.len()));
            column.nulls = column.nulls.saturating_add(to_u64(array.null_count()));
            column.model.observe(array);
        }
        Ok(())
    }

    /// `rows` simulated rows with the schema's names and types, every column drawn independently
    /// from its marginal with `rng`. The same marginals and the same RNG state give the same rows.
    /// Refuses when no row has been observed or a column has non-null values but none common enough
    /// to draw from ([`SynthError::TooFewObservations`]).
    pub fn sample(&self, rows: usize, rng: &mut impl CryptoRng) -> Result<RecordBatch, SynthError> {
        let columns = self
            .columns
            .iter()
            .map(|column| column.sample(rows, self.min_count, rng))
            .collect::<Result<Vec<_>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &options,
        )?)
    }
}

fn model_for(name: &str, data_type: &DataType, format: FormatKind) -> Result<Model, SynthError> {
    let unsupported = || SynthError::UnsupportedType {
        column: name.to_owned(),
        data_type: data_type.to_string(),
    };
    let unfit = || SynthError::FormatType {
        column: name.to_owned(),
        data_type: data_type.to_string(),
    };
    let text = matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    if text {
        return Ok(match format {
            FormatKind::None => Model::Text(TextModel::default()),
            FormatKind::Date => Model::DateText(Histogram::new(true)),
            FormatKind::ResidentId => Model::Identifier(Identifier::ResidentId),
            FormatKind::CreditCode => Model::Identifier(Identifier::CreditCode),
            FormatKind::Mobile => Model::Identifier(Identifier::Mobile),
        });
    }
    let date = matches!(
        data_type,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    );
    match (format, number_kind(data_type)) {
        (FormatKind::Mobile, Some(true))
            if matches!(data_type, DataType::Int64 | DataType::UInt64) =>
        {
            Ok(Model::Identifier(Identifier::Mobile))
        }
        (FormatKind::None, Some(integer)) => Ok(Model::Number(Histogram::new(integer))),
        (FormatKind::Date, Some(integer)) if date => Ok(Model::Number(Histogram::new(integer))),
        (FormatKind::None, None) if *data_type == DataType::Boolean => Ok(Model::Boolean {
            trues: 0,
            falses: 0,
        }),
        (_, Some(_)) => Err(unfit()),
        (_, None) if *data_type == DataType::Boolean => Err(unfit()),
        (_, None) => Err(unsupported()),
    }
}

/// `Some(true)` for types simulated as integers in their own unit, `Some(false)` for floats.
fn number_kind(data_type: &DataType) -> Option<bool> {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal128(..)
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(..) => Some(true),
        DataType::Float32 | DataType::Float64 => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Observing

impl Model {
    fn observe(&mut self, array: &ArrayRef) {
        match self {
            Model::Boolean { trues, falses } => {
                if let Some(values) = array.as_boolean_opt() {
                    let t = to_u64(values.true_count());
                    let f = to_u64(values.false_count());
                    *trues = trues.saturating_add(t);
                    *falses = falses.saturating_add(f);
                }
            }
            Model::Number(histogram) => for_each_number(array, |v| histogram.add(v)),
            Model::Text(model) => for_each_text(array, |s| model.add(s)),
            Model::DateText(histogram) => for_each_text(array, |s| {
                if let Some(days) = parse_day(s) {
                    histogram.add(days as f64);
                }
            }),
            // Identifiers are never looked at: only the column's NULL count is kept.
            Model::Identifier(_) => {}
        }
    }
}

/// Calls `f` with every non-null value of a number, date or timestamp column as `f64` (integers in
/// their own unit: days, seconds, …, decimal units).
fn for_each_number(array: &ArrayRef, mut f: impl FnMut(f64)) {
    fn each<T: ArrowPrimitiveType>(
        array: &ArrayRef,
        f: &mut impl FnMut(f64),
        to: impl Fn(T::Native) -> f64,
    ) {
        if let Some(values) = array.as_primitive_opt::<T>() {
            values.iter().flatten().for_each(|v| f(to(v)));
        }
    }
    match array.data_type() {
        DataType::Int8 => each::<Int8Type>(array, &mut f, f64::from),
        DataType::Int16 => each::<Int16Type>(array, &mut f, f64::from),
        DataType::Int32 => each::<Int32Type>(array, &mut f, f64::from),
        DataType::Int64 => each::<Int64Type>(array, &mut f, |v| v as f64),
        DataType::UInt8 => each::<UInt8Type>(array, &mut f, f64::from),
        DataType::UInt16 => each::<UInt16Type>(array, &mut f, f64::from),
        DataType::UInt32 => each::<UInt32Type>(array, &mut f, f64::from),
        DataType::UInt64 => each::<UInt64Type>(array, &mut f, |v| v as f64),
        DataType::Decimal128(..) => each::<Decimal128Type>(array, &mut f, |v| v as f64),
        DataType::Date32 => each::<Date32Type>(array, &mut f, f64::from),
        DataType::Date64 => each::<Date64Type>(array, &mut f, |v| v as f64),
        DataType::Float32 => each::<Float32Type>(array, &mut f, f64::from),
        DataType::Float64 => each::<Float64Type>(array, &mut f, |v| v),
        DataType::Timestamp(TimeUnit::Second, _) => {
            each::<TimestampSecondType>(array, &mut f, |v| v as f64);
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            each::<TimestampMillisecondType>(array, &mut f, |v| v as f64);
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            each::<TimestampMicrosecondType>(array, &mut f, |v| v as f64);
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            each::<TimestampNanosecondType>(array, &mut f, |v| v as f64);
        }
        _ => {}
    }
}

/// Calls `f` with every non-null value of a text column.
fn for_each_text(array: &ArrayRef, f: impl FnMut(&str)) {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().flatten().for_each(f),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().flatten().for_each(f),
        DataType::Utf8View => array.as_string_view().iter().flatten().for_each(f),
        _ => {}
    }
}

/// Day number (days since 1970-01-01) of a `YYYY-MM-DD` text, if it is a real date.
fn parse_day(text: &str) -> Option<i64> {
    if !shuyu_quality::date_valid(text) {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some((date - epoch()).num_days())
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Equal-width buckets of width 2^`exponent`, keyed by `floor(value / width)`, with the observed
/// extremes.
#[derive(Clone)]
struct Histogram {
    integer: bool,
    exponent: i32,
    buckets: BTreeMap<i64, u64>,
    min: f64,
    max: f64,
}

impl Histogram {
    fn new(integer: bool) -> Self {
        Self {
            integer,
            exponent: if integer { 0 } else { FLOAT_START_EXPONENT },
            buckets: BTreeMap::new(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn width(&self) -> f64 {
        2f64.powi(self.exponent)
    }

    fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        loop {
            let index = (value / self.width()).floor();
            if index.abs() < MAX_BUCKET_INDEX {
                let count = self.buckets.entry(index as i64).or_default();
                *count = count.saturating_add(1);
                break;
            }
            self.coarsen();
        }
        while self.buckets.len() > MAX_BUCKETS {
            self.coarsen();
        }
    }

    /// The histogram at the finest width (from the observed one up) whose buckets of at least
    /// `min_count` observations hold [`FREQUENT_SHARE`] of the observations, so that dropping the rare
    /// buckets drops only outliers, not the body of a continuous distribution; or a single bucket.
    fn resolved(&self, min_count: u64) -> Histogram {
        let mut histogram = self.clone();
        loop {
            let (mut total, mut frequent) = (0u64, 0u64);
            for count in histogram.buckets.values() {
                total = total.saturating_add(*count);
                if *count >= min_count {
                    frequent = frequent.saturating_add(*count);
                }
            }
            // The buckets either side of zero (-1 and 0) never merge: with only them left,
            // widening changes nothing, so stop there.
            let fixed = histogram.buckets.keys().all(|k| *k == -1 || *k == 0);
            if histogram.buckets.len() <= 1
                || fixed
                || frequent as f64 >= FREQUENT_SHARE * total as f64
            {
                return histogram;
            }
            histogram.coarsen();
        }
    }

    /// Doubles the bucket width, merging each pair of buckets.
    fn coarsen(&mut self) {
        self.exponent = self.exponent.saturating_add(1);
        let old = std::mem::take(&mut self.buckets);
        for (index, count) in old {
            let merged = self.buckets.entry(index.div_euclid(2)).or_default();
            *merged = merged.saturating_add(count);
        }
    }
}

#[derive(Default)]
struct TextModel {
    /// `None` once more than [`MAX_CATEGORIES`] distinct values, or one longer than
    /// [`MAX_CATEGORY_BYTES`], were seen.
    categories: Option<HashMap<String, u64>>,
    overflowed: bool,
    lengths: BTreeMap<usize, u64>,
    chars: HashMap<char, u64>,
}

impl TextModel {
    fn add(&mut self, value: &str) {
        if !self.overflowed {
            let categories = self.categories.get_or_insert_with(HashMap::new);
            if let Some(count) = categories.get_mut(value) {
                *count = count.saturating_add(1);
            } else if categories.len() < MAX_CATEGORIES && value.len() <= MAX_CATEGORY_BYTES {
                categories.insert(value.to_owned(), 1);
            } else {
                self.categories = None;
                self.overflowed = true;
            }
        }
        let mut length = 0usize;
        for c in value.chars() {
            length += 1;
            let count = self.chars.entry(c).or_default();
            *count = count.saturating_add(1);
        }
        let count = self.lengths.entry(length).or_default();
        *count = count.saturating_add(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Sampling

/// Items drawn with probability proportional to their weights.
struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T> Weighted<T> {
    /// The items whose weight is at least `min_count`, in the given order.
    fn frequent(items: impl IntoIterator<Item = (T, u64)>, min_count: u64) -> Self {
        let mut total = 0u64;
        let (items, cumulative) = items
            .into_iter()
            .filter(|(_, weight)| *weight >= min_count)
            .map(|(item, weight)| {
                total = total.saturating_add(weight);
                (item, total)
            })
            .unzip();
        Self { items, cumulative }
    }

    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    fn draw(&self, rng: &mut impl CryptoRng) -> Option<&T> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let r = rng.random_range(0..total);
        self.items.get(self.cumulative.partition_point(|c| *c <= r))
    }
}

/// A column's simulated values before they become an Arrow array.
enum Values {
    Boolean(Vec<Option<bool>>),
    Integer(Vec<Option<i128>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Column {
    fn sample(
        &self,
        rows: usize,
        min_count: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<ArrayRef, SynthError> {
        let too_few = || SynthError::TooFewObservations {
            column: self.name.clone(),
            min_count,
        };
        if self.rows == 0 {
            return Err(too_few());
        }
        let nulls = Nulls {
            rate: self.nulls as f64 / self.rows as f64,
            all: self.nulls >= self.rows,
        };
        let values = match &self.model {
            Model::Boolean { trues, falses } => {
                let choice = Weighted::frequent([(true, *trues), (false, *falses)], min_count);
                if !nulls.all && choice.total() == 0 {
                    return Err(too_few());
                }
                Values::Boolean(nulls.fill(rows, rng, |rng| choice.draw(rng).copied()))
            }
            Model::Number(histogram) | Model::DateText(histogram) => {
                let histogram = histogram.resolved(min_count);
                let buckets =
                    Weighted::frequent(histogram.buckets.iter().map(|(k, c)| (*k, *c)), min_count);
                if !nulls.all && buckets.total() == 0 {
                    return Err(too_few());
                }
                let integer = |rng: &mut _| {
                    let index = *buckets.draw(rng)?;
                    Some(histogram.integer_in(index, rng))
                };
                match &self.model {
                    Model::DateText(_) => {
                        Values::Text(nulls.fill(rows, rng, |rng| integer(rng).and_then(date_text)))
                    }
                    _ if histogram.integer => Values::Integer(nulls.fill(rows, rng, integer)),
                    _ => Values::Float(nulls.fill(rows, rng, |rng| {
                        let index = *buckets.draw(rng)?;
                        Some(histogram.float_in(index, rng))
                    })),
                }
            }
            Model::Text(model) => {
                let non_null = self.rows.saturating_sub(self.nulls);
                if let Some(categories) = model.frequent_categories(min_count, non_null) {
                    Values::Text(nulls.fill(rows, rng, |rng| {
                        categories.draw(rng).map(|v| (*v).to_owned())
                    }))
                } else {
                    let (lengths, chars) = model.frequent_lengths_and_chars(min_count);
                    let needs_chars = lengths.items.iter().any(|l| *l > 0);
                    if !nulls.all && (lengths.total() == 0 || (needs_chars && chars.total() == 0)) {
                        return Err(too_few());
                    }
                    Values::Text(nulls.fill(rows, rng, |rng| {
                        let length = *lengths.draw(rng)?;
                        Some(
                            (0..length)
                                .filter_map(|_| chars.draw(rng).copied())
                                .collect(),
                        )
                    }))
                }
            }
            Model::Identifier(identifier) => {
                let fresh = |rng: &mut _| {
                    Some(match identifier {
                        Identifier::ResidentId => fresh::resident_id(rng),
                        Identifier::CreditCode => fresh::credit_code(rng),
                        Identifier::Mobile => fresh::mobile(rng),
                    })
                };
                if number_kind(&self.data_type).is_some() {
                    Values::Integer(nulls.fill(rows, rng, |rng| fresh(rng)?.parse().ok()))
                } else {
                    Values::Text(nulls.fill(rows, rng, fresh))
                }
            }
        };
        to_array(values, &self.data_type).ok_or_else(|| SynthError::UnsupportedType {
            column: self.name.clone(),
            data_type: self.data_type.to_string(),
        })
    }
}

/// A column's observed NULL rate.
struct Nulls {
    rate: f64,
    /// Every observed value was NULL (nothing else may be drawn).
    all: bool,
}

impl Nulls {
    /// `rows` values: NULL with the observed rate, otherwise drawn by `value`.
    fn fill<T, R: CryptoRng>(
        &self,
        rows: usize,
        rng: &mut R,
        mut value: impl FnMut(&mut R) -> Option<T>,
    ) -> Vec<Option<T>> {
        (0..rows)
            .map(|_| {
                if self.all || random_bool(rng, self.rate) {
                    None
                } else {
                    value(rng)
                }
            })
            .collect()
    }
}

impl TextModel {
    /// The categories seen at least `min_count` times, in value order, if the column is tracked
    /// categorically and they cover [`CATEGORICAL_SHARE`] of its `non_null` values.
    fn frequent_categories(&self, min_count: u64, non_null: u64) -> Option<Weighted<&str>> {
        let mut sorted: Vec<(&str, u64)> = self
            .categories
            .as_ref()?
            .iter()
            .map(|(value, count)| (value.as_str(), *count))
            .collect();
        sorted.sort_unstable();
        let frequent = Weighted::frequent(sorted, min_count);
        (frequent.total() > 0 && frequent.total() as f64 >= CATEGORICAL_SHARE * non_null as f64)
            .then_some(frequent)
    }

    /// The lengths and the characters seen at least `min_count` times, in order.
    fn frequent_lengths_and_chars(&self, min_count: u64) -> (Weighted<usize>, Weighted<char>) {
        let lengths = Weighted::frequent(self.lengths.iter().map(|(l, c)| (*l, *c)), min_count);
        let mut chars: Vec<(char, u64)> = self.chars.iter().map(|(ch, c)| (*ch, *c)).collect();
        chars.sort_unstable();
        (lengths, Weighted::frequent(chars, min_count))
    }
}

impl Histogram {
    /// A uniform integer of bucket `index`, within the observed extremes.
    fn integer_in(&self, index: i64, rng: &mut impl CryptoRng) -> i128 {
        let width = self.width();
        let low = (index as f64 * width).max(self.min).ceil() as i128;
        let high =
            (((index as f64 + 1.0) * width).ceil() as i128 - 1).min(self.max.floor() as i128);
        if low >= high {
            return low;
        }
        rng.random_range(low..=high)
    }

    /// A uniform float of bucket `index`, within the observed extremes.
    fn float_in(&self, index: i64, rng: &mut impl CryptoRng) -> f64 {
        let width = self.width();
        let low = (index as f64 * width).max(self.min);
        let high = ((index as f64 + 1.0) * width).min(self.max);
        if high <= low {
            return low;
        }
        let u: f64 = rng.random();
        (low + (high - low) * u).clamp(low, high)
    }
}

fn date_text(days: i128) -> Option<String> {
    let days = i64::try_from(days).ok()?;
    let date = epoch().checked_add_signed(TimeDelta::try_days(days)?)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// Whether a Bernoulli(`p`) draw succeeds.
fn random_bool(rng: &mut impl CryptoRng, p: f64) -> bool {
    if p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.random_bool(p)
    }
}

/// The simulated values as an array of `data_type` (`None` for a type [`model_for`] refuses).
fn to_array(values: Values, data_type: &DataType) -> Option<ArrayRef> {
    fn ints<T: TryFrom<i128>>(values: &[Option<i128>]) -> impl Iterator<Item = Option<T>> + '_ {
        values.iter().map(|v| v.and_then(|v| T::try_from(v).ok()))
    }
    fn stamped<T: ArrowPrimitiveType<Native = i64>>(
        values: &[Option<i128>],
        data_type: &DataType,
    ) -> ArrayRef {
        Arc::new(
            PrimitiveArray::<T>::from_iter(ints::<i64>(values)).with_data_type(data_type.clone()),
        )
    }
    Some(match (values, data_type) {
        (Values::Boolean(v), DataType::Boolean) => Arc::new(BooleanArray::from(v)),
        (Values::Float(v), DataType::Float64) => Arc::new(Float64Array::from(v)),
        (Values::Float(v), DataType::Float32) => Arc::new(Float32Array::from_iter(
            v.iter().map(|v| v.map(|v| v as f32)),
        )),
        (Values::Text(v), DataType::Utf8) => Arc::new(StringArray::from(v)),
        (Values::Text(v), DataType::LargeUtf8) => Arc::new(LargeStringArray::from(v)),
        (Values::Text(v), DataType::Utf8View) => Arc::new(StringViewArray::from(v)),
        (Values::Integer(v), DataType::Int8) => Arc::new(Int8Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::Int16) => Arc::new(Int16Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::Int32) => Arc::new(Int32Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::Int64) => Arc::new(Int64Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::UInt8) => Arc::new(UInt8Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::UInt16) => Arc::new(UInt16Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::UInt32) => Arc::new(UInt32Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::UInt64) => Arc::new(UInt64Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::Date32) => Arc::new(Date32Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::Date64) => Arc::new(Date64Array::from_iter(ints(&v))),
        (Values::Integer(v), DataType::Decimal128(precision, scale)) => Arc::new(
            Decimal128Array::from_iter(ints::<i128>(&v))
                .with_precision_and_scale(*precision, *scale)
                .ok()?,
        ),
        (Values::Integer(v), DataType::Timestamp(TimeUnit::Second, _)) => {
            stamped::<TimestampSecondType>(&v, data_type)
        }
        (Values::Integer(v), DataType::Timestamp(TimeUnit::Millisecond, _)) => {
            stamped::<TimestampMillisecondType>(&v, data_type)
        }
        (Values::Integer(v), DataType::Timestamp(TimeUnit::Microsecond, _)) => {
            stamped::<TimestampMicrosecondType>(&v, data_type)
        }
        (Values::Integer(v), DataType::Timestamp(TimeUnit::Nanosecond, _)) => {
            stamped::<TimestampNanosecondType>(&v, data_type)
        }
        _ => return None,
    })
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
