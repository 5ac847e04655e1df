//! The fixed shape of a dataset as plain data: what the demo seed registers as resource fields.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use shuyu_quality::FormatKind;

/// One generated row, its values in the order of [`DatasetSchema::columns`].
pub type Row = Vec<Value>;

/// A value of a generated row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    /// Yuan amounts in fen (1/100 yuan), written with two decimals.
    Money(i64),
    Date(NaiveDate),
    /// Local time, to the second.
    Timestamp(NaiveDateTime),
    Boolean(bool),
}

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Text,
    Integer,
    /// Yuan with two decimals: Arrow `Decimal128(18, 2)`.
    Money,
    Date,
    /// Local date-time to the second, written `YYYY-MM-DD HH:MM:SS`.
    Timestamp,
    Boolean,
}

impl ColumnType {
    /// The Arrow type of the column.
    pub fn arrow_type(self) -> DataType {
        match self {
            Self::Text => DataType::Utf8,
            Self::Integer => DataType::Int64,
            Self::Money => DataType::Decimal128(18, 2),
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Second, None),
            Self::Boolean => DataType::Boolean,
        }
    }

    /// Whether `value` may appear in a column of this type.
    pub fn admits(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (_, Value::Null)
                | (Self::Text, Value::Text(_))
                | (Self::Integer, Value::Integer(_))
                | (Self::Money, Value::Money(_))
                | (Self::Date, Value::Date(_))
                | (Self::Timestamp, Value::Timestamp(_))
                | (Self::Boolean, Value::Boolean(_))
        )
    }
}

/// What a column reveals about people, for grading and for the secure domain's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sensitivity {
    /// Identifies a person or the privacy unit on its own (ID number, name, card number).
    DirectIdentifier,
    /// Identifies in combination with other columns (date, place, employer).
    QuasiIdentifier,
    /// Personal information that does not identify (wage base, fare).
    PersonalInformation,
    /// Sensitive personal information in the sense of PIPL art. 28 (health data).
    SensitivePersonalInformation,
    /// Not about a person.
    NotPersonal,
}

/// One column: name, type, description, what it reveals and which format check applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub column_type: ColumnType,
    /// What the column holds, in Chinese, as the source department would describe it.
    pub description: &'static str,
    pub sensitivity: Sensitivity,
    /// The quality profiler's format check for this column.
    pub format: FormatKind,
}

/// The fixed schema of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetSchema {
    /// Table name (ASCII snake case).
    pub name: &'static str,
    /// Resource title, in Chinese.
    pub title: &'static str,
    /// The source department (without the city's name).
    pub department: &'static str,
    pub columns: &'static [ColumnSpec],
    /// The column whose value is one contributor for privacy accounting (differential privacy bounds
    /// the contribution per value of this column).
    pub privacy_unit: &'static str,
}

impl DatasetSchema {
    /// The Arrow schema; each field carries its description as metadata `description`.
    pub fn arrow_schema(&self) -> Arc<Schema> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                Field::new(c.name, c.column_type.arrow_type(), true).with_metadata(HashMap::from([
                    ("description".to_owned(), c.description.to_owned()),
                ]))
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A stream of rows with a fixed schema.
pub trait Dataset: Iterator<Item = Row> {
    fn schema(&self) -> &'static DatasetSchema;
}
