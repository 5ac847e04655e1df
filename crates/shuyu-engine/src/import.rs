//! Import of a dataset version: CSV (UTF-8 or GB18030) or Parquet in, Parquet out through any
//! object store (in production an [`EncryptedStore`](crate::EncryptedStore)), to a **staging**
//! path. The caller publishes the version by [`publish`]ing the staging object to its final path
//! and recording it in the database; a failed import aborts the upload and deletes the staging
//! object, so nothing is published.
//!
//! The input's columns are checked against the registered fields by name, never guessed: missing,
//! extra and duplicated columns (and, for Parquet, columns of the wrong type) are reported all at
//! once. Values are parsed with the field's type; a malformed value is an error naming its line,
//! column and field. Memory is bounded by the batch and row-group sizes, not by the file: rows
//! are parsed [`ImportOptions::batch_rows`] at a time and Parquet holds one row group.
//!
//! This module must never write a row it could not parse, never publish on failure, and never put
//! a value into an error message (a line and column identify it without disclosing it).

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use chrono::{NaiveDate, NaiveDateTime};
use futures_util::future::BoxFuture;
use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::AsyncArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;
use shuyu_catalog::{FieldSpec, FieldType};
use shuyu_quality::{FieldProfile, FieldProfiler, FormatKind};
use sm3::{Digest, Sm3};

use crate::decode::{SourceEncoding, Utf8Reader};

/// Decimal fields are stored as `Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)`: values with more
/// fractional digits, or more digits in all, are rejected (never rounded), so the largest value
/// is 999 999 999 999.999 999.
///
/// Why 18 digits and not 38: Parquet stores precision ≤ 18 as INT64, above it as
/// FIXED_LEN_BYTE_ARRAY, and parquet 59's writer then holds memory in proportion to the rows
/// written (measured: +18 MB per million rows at precision 38, flat at 18), which would break the
/// importer's bounded memory.
pub const DECIMAL_PRECISION: u8 = 18;
/// See [`DECIMAL_PRECISION`].
pub const DECIMAL_SCALE: i8 = 6;

/// One registered field as the importer needs it: name, type and the quality format check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportField {
    name: String,
    field_type: FieldType,
    format: FormatKind,
}

impl ImportField {
    /// A field with no format check.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            name: name.into(),
            field_type,
            format: FormatKind::None,
        }
    }

    /// Applies `format`'s check in the quality profile.
    #[must_use]
    pub const fn with_format(mut self, format: FormatKind) -> Self {
        self.format = format;
        self
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registered type.
    pub const fn field_type(&self) -> FieldType {
        self.field_type
    }

    /// The Arrow type the field is stored as.
    pub const fn arrow_type(&self) -> DataType {
        arrow_type(self.field_type)
    }
}

impl From<&FieldSpec> for ImportField {
    fn from(spec: &FieldSpec) -> Self {
        let format = match (spec.format(), spec.field_type()) {
            (FormatKind::None, FieldType::Date) => FormatKind::Date,
            (registered, _) => registered,
        };
        Self::new(spec.name().as_str(), spec.field_type()).with_format(format)
    }
}

const fn arrow_type(field_type: FieldType) -> DataType {
    match field_type {
        FieldType::String => DataType::Utf8,
        FieldType::Integer => DataType::Int64,
        FieldType::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
        FieldType::Date => DataType::Date32,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldType::Boolean => DataType::Boolean,
    }
}

/// The Arrow schema of a dataset with these fields (all nullable, in registration order).
pub fn arrow_schema(fields: &[ImportField]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|f| Field::new(f.name.as_str(), f.arrow_type(), true))
            .collect::<Vec<_>>(),
    ))
}

/// Sizes that bound the importer's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Rows parsed into one Arrow batch (and per progress report).
    pub batch_rows: usize,
    /// Rows per Parquet row group (the writer holds one row group, compressed).
    pub row_group_rows: usize,
    /// Buffer of the object store upload (parts of this size).
    pub upload_buffer: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_rows: 64 * 1024,
            row_group_rows: 256 * 1024,
            upload_buffer: 8 * 1024 * 1024,
        }
    }
}

/// How far an import has come; reported after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Data rows imported so far.
    pub rows: u64,
    /// Input bytes consumed so far (of the source file, before decoding).
    pub input_bytes: u64,
}

/// The outcome of a successful import: what the caller records as the new version.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Where the Parquet file was written (a staging path until [`publish`]ed).
    #[serde(serialize_with = "path_text")]
    pub path: Path,
    /// Data rows.
    pub rows: u64,
    /// Input bytes read.
    pub input_bytes: u64,
    /// Bytes of the (plaintext) Parquet file.
    pub parquet_bytes: u64,
    /// SM3 of the plaintext Parquet file, hex.
    pub sm3: String,
    /// Row groups in the Parquet file.
    pub row_groups: usize,
    /// The CSV's encoding (`None` for Parquet input).
    pub encoding: Option<SourceEncoding>,
    /// Quality profile per field, in registration order.
    pub profiles: Vec<(String, FieldProfile)>,
}

fn path_text<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(path.as_ref())
}

/// Why the input's columns do not fit the registered fields: everything wrong, at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaMismatch {
    /// Registered fields absent from the input.
    pub missing: Vec<String>,
    /// Input columns that are not registered fields.
    pub extra: Vec<String>,
    /// Input columns named more than once.
    pub duplicated: Vec<String>,
    /// Input columns whose type is not the registered one (Parquet input).
    pub mismatched: Vec<TypeMismatch>,
}

/// A column of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    pub column: String,
    pub expected: FieldType,
    pub found: String,
}

impl SchemaMismatch {
    fn is_empty(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.duplicated.is_empty()
            && self.mismatched.is_empty()
    }
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("missing columns: {}", self.missing.join(", ")));
        }
        if !self.extra.is_empty() {
            parts.push(format!("unregistered columns: {}", self.extra.join(", ")));
        }
        if !self.duplicated.is_empty() {
            parts.push(format!(
                "duplicated columns: {}",
                self.duplicated.join(", ")
            ));
        }
        if !self.mismatched.is_empty() {
            let list: Vec<String> = self
                .mismatched
                .iter()
                .map(|m| {
                    format!(
                        "{} is {}, registered as {}",
                        m.column,
                        m.found,
                        m.expected.as_str()
                    )
                })
                .collect();
            parts.push(format!("columns of the wrong type: {}", list.join("; ")));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Everything that makes an import fail. Messages name lines, columns and fields, never values.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No fields are registered for the resource.
    #[error("the resource has no registered fields")]
    NoFields,
    /// The file has no header line.
    #[error("the file is empty: a header line naming the columns is required")]
    EmptyFile,
    /// The columns do not match the registered fields.
    #[error("the file's columns do not match the registered fields: {0}")]
    Schema(SchemaMismatch),
    /// A value does not parse as its field's type.
    #[error("line {line}, column {column} ({field}): {reason}")]
    Value {
        /// 1-based line of the record in the file.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The registered field.
        field: String,
        /// What is wrong, without the value.
        reason: String,
    },
    /// A row has another number of fields than the header.
    #[error("line {line}: {found} fields, but the header has {expected}")]
    RowLength {
        line: u64,
        expected: usize,
        found: usize,
    },
    /// The CSV is malformed (e.g. an unclosed quote) or not in a supported encoding.
    #[error("malformed CSV{}: {reason}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Csv { line: Option<u64>, reason: String },
    /// The input Parquet file cannot be read.
    #[error("cannot read the Parquet file: {0}")]
    ParquetInput(String),
    /// Writing the output failed.
    #[error("cannot write the dataset file: {0}")]
    Write(String),
    /// Reading the input failed.
    #[error("cannot read the input: {0}")]
    Io(#[from] io::Error),
}

/// Imports CSV from `input` into a Parquet file at `staging` in `store`, checking it against
/// `fields`. `progress` is called after every batch. Reads `input` synchronously (a local file or
/// an upload already spooled): run it where blocking reads are acceptable.
///
/// # Errors
/// See [`ImportError`]. On error the upload is aborted and `staging` deleted.
pub async fn import_csv<R: Read + Send>(
    input: R,
    fields: &[ImportField],
    store: Arc<dyn ObjectStore>,
    staging: &Path,
    options: ImportOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<ImportReport, ImportError> {
    if fields.is_empty() {
        return Err(ImportError::NoFields);
    }
    let counter = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: input,
        count: Arc::clone(&counter),
    };
    let decoded = Utf8Reader::new(counted)?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Records end at LF; a CR before it is removed from the last field below. (With the
        // default CRLF terminator the reader reports the line before a record's for CRLF files.)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(256 * 1024)
        .from_reader(decoded);
    let mut record = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(ImportError::EmptyFile);
    }
    let header: Vec<String> = record
        .iter()
        .map(|name| String::from_utf8_lossy(name).trim().to_owned())
        .collect();
    let order = match_columns(fields, &header, &[])?;
    let mut sink = Sink::open(Arc::clone(&store), staging, fields, options)?;
    let result: Result<(), ImportError> = async {
        let mut builders = Builders::new(fields, options.batch_rows);
        let mut rows = 0_u64;
        loop {
            let more = csv.read_byte_record(&mut record).map_err(csv_error)?;
            if more && is_blank(&record) {
                continue;
            }
            if more {
                let line = record.position().map_or(0, csv::Position::line);
                if record.len() != header.len() {
                    return Err(ImportError::RowLength {
                        line,
                        expected: header.len(),
                        found: record.len(),
                    });
                }
                builders.append(&record, &order, fields, line)?;
                rows += 1;
            }
            if builders.len() >= options.batch_rows || (!more && builders.len() > 0) {
                sink.write(builders.finish()?).await?;
                progress(Progress {
                    rows,
                    input_bytes: counter.load(Ordering::Relaxed),
                });
            }
            if !more {
                return Ok(());
            }
        }
    }
    .await;
    let input_bytes = counter.load(Ordering::Relaxed);
    match result {
        // Decided at the first non-ASCII byte, so known only once the whole file is read.
        Ok(()) => {
            let encoding = csv.get_ref().encoding();
            sink.finish(input_bytes, Some(encoding)).await
        }
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
    }
}

/// Imports a Parquet file (anything readable in ranges: a `File`, `Bytes`) into `staging`,
/// checking its columns and their types against `fields`; columns are written in registration
/// order.
///
/// # Errors
/// See [`ImportError`]. On error the upload is aborted and `staging` deleted.
pub async fn import_parquet<T: ChunkReader + 'static>(
    input: T,
    fields: &[ImportField],
    store: Arc<dyn ObjectStore>,
    staging: &Path,
    options: ImportOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<ImportReport, ImportError> {
    if fields.is_empty() {
        return Err(ImportError::NoFields);
    }
    let input_bytes = input.len();
    let builder = ParquetRecordBatchReaderBuilder::try_new(input)
        .map_err(|e| ImportError::ParquetInput(e.to_string()))?
        .with_batch_size(options.batch_rows);
    let schema = Arc::clone(builder.schema());
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let order = match_columns(fields, &names, &types)?;
    let reader = builder
        .build()
        .map_err(|e| ImportError::ParquetInput(e.to_string()))?;
    let mut sink = Sink::open(Arc::clone(&store), staging, fields, options)?;
    let out_schema = arrow_schema(fields);
    let result: Result<(), ImportError> = async {
        let mut rows = 0_u64;
        for batch in reader {
            let batch = batch.map_err(|e| ImportError::ParquetInput(e.to_string()))?;
            let columns: Vec<ArrayRef> = order
                .iter()
                .filter_map(|i| batch.columns().get(*i).cloned())
                .collect();
            let batch = RecordBatch::try_new(Arc::clone(&out_schema), columns)
                .map_err(|e| ImportError::ParquetInput(e.to_string()))?;
            rows += batch.num_rows() as u64;
            sink.write(batch).await?;
            progress(Progress {
                rows,
                input_bytes: 0,
            });
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => sink.finish(input_bytes, None).await,
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
    }
}

/// Publishes an imported file: moves it from `staging` to `target`, failing if `target` exists.
/// On a local file system this is one rename (atomic); on S3 a copy then a delete (the copy is
/// atomic: the object appears whole or not at all).
///
/// # Errors
/// Those of the store; `AlreadyExists` when `target` is taken.
pub async fn publish(
    store: &dyn ObjectStore,
    staging: &Path,
    target: &Path,
) -> object_store::Result<()> {
    store.rename_if_not_exists(staging, target).await
}

/// For each registered field, the index of its input column; or every mismatch at once.
fn match_columns(
    fields: &[ImportField],
    names: &[String],
    types: &[DataType],
) -> Result<Vec<usize>, ImportError> {
    let mut mismatch = SchemaMismatch::default();
    for (i, name) in names.iter().enumerate() {
        let earlier = names.get(..i).unwrap_or_default();
        if earlier.contains(name) && !mismatch.duplicated.contains(name) {
            mismatch.duplicated.push(name.clone());
        }
        if !fields.iter().any(|f| &f.name == name) && !mismatch.extra.contains(name) {
            mismatch.extra.push(name.clone());
        }
    }
    let mut order = Vec::with_capacity(fields.len());
    for field in fields {
        match names.iter().position(|n| n == &field.name) {
            Some(i) => {
                order.push(i);
                if let Some(found) = types.get(i)
                    && !type_fits(field.field_type, found)
                {
                    mismatch.mismatched.push(TypeMismatch {
                        column: field.name.clone(),
                        expected: field.field_type,
                        found: found.to_string(),
                    });
                }
            }
            None => mismatch.missing.push(field.name.clone()),
        }
    }
    if mismatch.is_empty() {
        Ok(order)
    } else {
        Err(ImportError::Schema(mismatch))
    }
}

/// Whether a Parquet column's Arrow type is the one registered (exact: nothing is cast).
fn type_fits(expected: FieldType, found: &DataType) -> bool {
    found == &arrow_type(expected)
}

/// An empty line (only a line end).
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty() || f == b"\r")
}

fn csv_error(e: csv::Error) -> ImportError {
    let line = e.position().map(csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Csv {
            line,
            reason: io.to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => ImportError::RowLength {
            line: pos.map_or(0, |p| p.line()),
            expected: usize::try_from(expected_len).unwrap_or(usize::MAX),
            found: usize::try_from(len).unwrap_or(usize::MAX),
        },
        other => ImportError::Csv {
            line,
            reason: format!("{other:?}"),
        },
    }
}

/// Counts the bytes read from the source, for progress.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One Arrow builder per field.
enum ColumnBuilder {
    String(StringBuilder),
    Integer(Int64Builder),
    Decimal(Decimal128Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Boolean(BooleanBuilder),
}

struct Builders {
    columns: Vec<ColumnBuilder>,
    schema: SchemaRef,
    rows: usize,
}

impl Builders {
    fn new(fields: &[ImportField], capacity: usize) -> Self {
        let columns = fields
            .iter()
            .map(|f| new_builder(f.field_type, capacity))
            .collect();
        Self {
            columns,
            schema: arrow_schema(fields),
            rows: 0,
        }
    }

    const fn len(&self) -> usize {
        self.rows
    }

    fn append(
        &mut self,
        record: &csv::ByteRecord,
        order: &[usize],
        fields: &[ImportField],
        line: u64,
    ) -> Result<(), ImportError> {
        let last = record.len().saturating_sub(1);
        for ((builder, index), field) in self.columns.iter_mut().zip(order).zip(fields) {
            let mut raw = record.get(*index).unwrap_or_default();
            if *index == last {
                raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            }
            let error = |reason: &str| ImportError::Value {
                line,
                column: index + 1,
                field: field.name.clone(),
                reason: reason.to_owned(),
            };
            let text = std::str::from_utf8(raw).map_err(|_| error("not valid UTF-8"))?;
            append_value(builder, text).map_err(error)?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch, ImportError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(finish_builder).collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(|e| ImportError::Write(e.to_string()))
    }
}

fn new_builder(field_type: FieldType, capacity: usize) -> ColumnBuilder {
    match field_type {
        FieldType::String => {
            ColumnBuilder::String(StringBuilder::with_capacity(capacity, capacity * 16))
        }
        FieldType::Integer => ColumnBuilder::Integer(Int64Builder::with_capacity(capacity)),
        FieldType::Decimal => ColumnBuilder::Decimal(
            Decimal128Builder::with_capacity(capacity)
                .with_data_type(DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)),
        ),
        FieldType::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
        FieldType::Timestamp => {
            ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
        }
        FieldType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
    }
}

fn finish_builder(builder: &mut ColumnBuilder) -> ArrayRef {
    match builder {
        ColumnBuilder::String(b) => Arc::new(b.finish()),
        ColumnBuilder::Integer(b) => Arc::new(b.finish()),
        ColumnBuilder::Decimal(b) => Arc::new(b.finish()),
        ColumnBuilder::Date(b) => Arc::new(b.finish()),
        ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
        ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
    }
}

/// Appends one CSV field; an empty field is null. The error says what is wrong, not the value.
fn append_value(builder: &mut ColumnBuilder, text: &str) -> Result<(), &'static str> {
    if text.is_empty() {
        match builder {
            ColumnBuilder::String(b) => b.append_null(),
            ColumnBuilder::Integer(b) => b.append_null(),
            ColumnBuilder::Decimal(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
        }
        return Ok(());
    }
    match builder {
        ColumnBuilder::String(b) => b.append_value(text),
        ColumnBuilder::Integer(b) => b.append_value(
            text.parse::<i64>()
                .map_err(|_| "not an integer (digits with an optional sign)")?,
        ),
        ColumnBuilder::Decimal(b) => b.append_value(parse_decimal(text)?),
        ColumnBuilder::Date(b) => b.append_value(parse_date(text)?),
        ColumnBuilder::Timestamp(b) => b.append_value(parse_timestamp(text)?),
        ColumnBuilder::Boolean(b) => b.append_value(parse_bool(text)?),
    }
    Ok(())
}

/// `[-+]digits[.digits]` with at most [`DECIMAL_SCALE`] fractional digits, scaled to an integer.
fn parse_decimal(text: &str) -> Result<i128, &'static str> {
    const BAD: &str = "not a decimal number (digits, an optional sign and decimal point)";
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') => (false, text.get(1..).unwrap_or_default()),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(BAD);
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(BAD);
    }
    let scale = usize::try_from(DECIMAL_SCALE).unwrap_or(0);
    if fraction.len() > scale {
        return Err("more than 6 decimal places");
    }
    let mut value: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or("decimal number too large")?;
    }
    for _ in fraction.len()..scale {
        value = value.checked_mul(10).ok_or("decimal number too large")?;
    }
    if value >= 10_i128.pow(u32::from(DECIMAL_PRECISION)) {
        return Err("decimal number too large (at most 12 digits before the point)");
    }
    Ok(if negative { -value } else { value })
}

const UNIX_EPOCH_DAYS_CE: i32 = 719_163;

fn parse_date(text: &str) -> Result<i32, &'static str> {
    let date =
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "not a date written YYYY-MM-DD")?;
    Ok(chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_CE)
}

fn parse_timestamp(text: &str) -> Result<i64, &'static str> {
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .map_err(|_| "not a date-time written YYYY-MM-DD HH:MM:SS")?;
    Ok(parsed.and_utc().timestamp_micros())
}

fn parse_bool(text: &str) -> Result<bool, &'static str> {
    match text {
        "true" | "TRUE" | "True" | "1" | "是" => Ok(true),
        "false" | "FALSE" | "False" | "0" | "否" => Ok(false),
        _ => Err("not a boolean (true/false, 1/0 or 是/否)"),
    }
}

/// The Parquet writer into the store, with the field profilers beside it.
struct Sink {
    writer: Option<AsyncArrowWriter<HashingWriter>>,
    store: Arc<dyn ObjectStore>,
    path: Path,
    profilers: Vec<(String, FieldProfiler)>,
}

impl Sink {
    fn open(
        store: Arc<dyn ObjectStore>,
        path: &Path,
        fields: &[ImportField],
        options: ImportOptions,
    ) -> Result<Self, ImportError> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .build();
        let upload =
            BufWriter::with_capacity(Arc::clone(&store), path.clone(), options.upload_buffer);
        let writer = AsyncArrowWriter::try_new(
            HashingWriter {
                inner: upload,
                sm3: Sm3::new(),
                bytes: 0,
            },
            arrow_schema(fields),
            Some(props),
        )
        .map_err(|e| ImportError::Write(e.to_string()))?;
        Ok(Self {
            writer: Some(writer),
            store,
            path: path.clone(),
            profilers: fields
                .iter()
                .map(|f| (f.name.clone(), FieldProfiler::new(f.format)))
                .collect(),
        })
    }

    async fn write(&mut self, batch: RecordBatch) -> Result<(), ImportError> {
        for ((_, profiler), column) in self.profilers.iter_mut().zip(batch.columns()) {
            profiler
                .update(column)
                .map_err(|e| ImportError::Write(e.to_string()))?;
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| ImportError::Write("writer already closed".to_owned()))?;
        writer
            .write(&batch)
            .await
            .map_err(|e| ImportError::Write(e.to_string()))
    }

    async fn finish(
        mut self,
        input_bytes: u64,
        encoding: Option<SourceEncoding>,
    ) -> Result<ImportReport, ImportError> {
        let Some(mut writer) = self.writer.take() else {
            return Err(ImportError::Write("writer already closed".to_owned()));
        };
        let metadata = match writer.finish().await {
            Ok(metadata) => metadata,
            Err(e) => {
                self.writer = Some(writer);
                self.abort().await;
                return Err(ImportError::Write(e.to_string()));
            }
        };
        let hashing = writer.into_inner();
        Ok(ImportReport {
            path: self.path.clone(),
            rows: u64::try_from(metadata.file_metadata().num_rows()).unwrap_or(0),
            input_bytes,
            parquet_bytes: hashing.bytes,
            sm3: hex_lower(&hashing.sm3.finalize()),
            row_groups: metadata.num_row_groups(),
            encoding,
            profiles: std::mem::take(&mut self.profilers)
                .into_iter()
                .map(|(name, p)| (name, p.finish()))
                .collect(),
        })
    }

    /// Aborts the upload and deletes whatever reached the staging path (best effort: the
    /// import's own error is what the caller sees).
    async fn abort(&mut self) {
        if let Some(writer) = self.writer.take() {
            let mut upload = writer.into_inner().inner;
            let _ = upload.abort().await;
        }
        let _ = self.store.delete(&self.path).await;
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Passes the Parquet bytes on, hashing (SM3) and counting them.
struct HashingWriter {
    inner: BufWriter,
    sm3: Sm3,
    bytes: u64,
}

impl AsyncFileWriter for HashingWriter {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        self.sm3.update(&bs);
        self.bytes += bs.len() as u64;
        AsyncFileWriter::write(&mut self.inner, bs)
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        AsyncFileWriter::complete(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_scaled_exactly_and_never_rounded() {
        assert_eq!(parse_decimal("12.5"), Ok(12_500_000));
        assert_eq!(parse_decimal("-0.000001"), Ok(-1));
        assert_eq!(parse_decimal("+7"), Ok(7_000_000));
        assert_eq!(parse_decimal(".5"), Ok(500_000));
        assert_eq!(
            parse_decimal("999999999999.999999"),
            Ok(999_999_999_999_999_999)
        );
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "1e5",
            " 1",
            "1,000",
            "1.0000001",
            "1000000000000",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_timestamps_and_booleans_parse_their_written_forms_only() {
        assert_eq!(parse_date("1970-01-02"), Ok(1));
        assert!(parse_date("2025/01/02").is_err());
        assert!(parse_date("2025-02-30").is_err());
        assert_eq!(parse_timestamp("1970-01-01 00:00:01"), Ok(1_000_000));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.5"), Ok(500_000));
        assert!(parse_timestamp("1970-01-01").is_err());
        assert_eq!(parse_bool("是"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }

    #[test]
    fn a_crlf_file_reports_the_line_of_the_bad_record() {
        let fields = [
            ImportField::new("a", FieldType::Integer),
            ImportField::new("b", FieldType::String),
        ];
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for input in [
            "a,b\r\n1,x\r\n\r\n2,\"multi\r\nline\"\r\nz,y\r\n",
            "a,b\n1,x\n\n2,\"multi\nline\"\nz,y\n",
        ] {
            let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
            let err = rt
                .block_on(import_csv(
                    input.as_bytes(),
                    &fields,
                    store,
                    &Path::from("s/x"),
                    ImportOptions::default(),
                    &mut |_| {},
                ))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "line 6, column 1 (a): not an integer (digits with an optional sign)"
            );
        }
    }
}
