//! A released result as stored and shown: columns and rows as JSON values (numbers stay numbers,
//! everything else is its Arrow display text), and the SM3 digest of that stored text.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sm3::{Digest, Sm3};

use crate::AppError;

/// A result column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultColumn {
    pub name: String,
    /// The Arrow type, as text (`Int64`, `Utf8`, `Date32`…).
    pub data_type: String,
}

/// A result: columns and rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultTable {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Value>>,
}

impl ResultTable {
    /// The result of `batches` with `schema`.
    pub(crate) fn from_batches(
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<Self, AppError> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| ResultColumn {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
            })
            .collect();
        let mut rows = Vec::new();
        let options = FormatOptions::default();
        for batch in batches {
            let mut table: Vec<Vec<Value>> =
                vec![Vec::with_capacity(batch.num_columns()); batch.num_rows()];
            for column in batch.columns() {
                let values = column_values(column.as_ref(), &options)?;
                for (row, value) in table.iter_mut().zip(values) {
                    row.push(value);
                }
            }
            rows.extend(table);
        }
        Ok(Self { columns, rows })
    }

    /// The stored text and its SM3 digest (hex).
    pub(crate) fn stored(&self) -> Result<(String, String), AppError> {
        let text =
            serde_json::to_string(self).map_err(|e| AppError::Internal(format!("result: {e}")))?;
        let digest = hex::encode(Sm3::digest(text.as_bytes()));
        Ok((text, digest))
    }
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn column_values(array: &dyn Array, options: &FormatOptions) -> Result<Vec<Value>, AppError> {
    macro_rules! ints {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map_or(Value::Null, |v| Value::from(v)))
                .collect()
        };
    }
    Ok(match array.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map_or(Value::Null, |v| number(f64::from(v))))
            .collect(),
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map_or(Value::Null, number))
            .collect(),
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map_or(Value::Null, Value::Bool))
            .collect(),
        _ => {
            let formatter = ArrayFormatter::try_new(array, options)
                .map_err(|e| AppError::Internal(format!("result column: {e}")))?;
            (0..array.len())
                .map(|i| {
                    if array.is_null(i) {
                        Value::Null
                    } else {
                        Value::String(formatter.value(i).to_string())
                    }
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    #[test]
    fn numbers_stay_numbers_and_the_digest_is_of_the_stored_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("district", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
            Field::new("avg", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec![Some("A"), None])),
                Arc::new(Int64Array::from(vec![12, 30])),
                Arc::new(Float64Array::from(vec![Some(1.5), None])),
            ],
        )
        .unwrap();
        let table = ResultTable::from_batches(&schema, &[batch]).unwrap();
        assert_eq!(
            table.rows[0],
            vec![Value::from("A"), Value::from(12), Value::from(1.5)]
        );
        assert_eq!(
            table.rows[1],
            vec![Value::Null, Value::from(30), Value::Null]
        );
        let (text, digest) = table.stored().unwrap();
        assert_eq!(digest, hex::encode(Sm3::digest(text.as_bytes())));
        let back: ResultTable = serde_json::from_str(&text).unwrap();
        assert_eq!(back, table);
    }
}
