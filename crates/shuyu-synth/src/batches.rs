//! Rows cut into Arrow record batches of a fixed number of rows, built as they are generated.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampSecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use chrono::NaiveDate;

use crate::SynthError;
use crate::schema::{ColumnType, Dataset, Value};

/// An iterator of record batches of `batch_rows` rows (the last may be shorter) over at most `rows`
/// rows of a dataset.
#[derive(Debug)]
pub struct RecordBatches<D> {
    dataset: D,
    schema: SchemaRef,
    batch_rows: usize,
    remaining: u64,
}

impl<D: Dataset> RecordBatches<D> {
    pub fn new(dataset: D, rows: u64, batch_rows: usize) -> Self {
        let schema = dataset.schema().arrow_schema();
        Self {
            dataset,
            schema,
            batch_rows: batch_rows.max(1),
            remaining: rows,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl<D: Dataset> Iterator for RecordBatches<D> {
    type Item = Result<RecordBatch, SynthError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let columns = self.dataset.schema().columns;
        let capacity = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(self.batch_rows);
        let mut builders: Vec<Box<dyn ArrayBuilder>> = columns
            .iter()
            .map(|c| builder(c.column_type, capacity))
            .collect();
        let mut count = 0;
        while count < capacity {
            let Some(row) = self.dataset.next() else {
                break;
            };
            for ((builder, column), value) in builders.iter_mut().zip(columns).zip(&row) {
                append(builder.as_mut(), column.column_type, value);
            }
            count += 1;
        }
        self.remaining -= count as u64;
        if count == 0 {
            self.remaining = 0;
            return None;
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
        let arrays = arrays
            .into_iter()
            .zip(columns)
            .map(|(array, column)| {
                if column.column_type == ColumnType::Money {
                    // Builders produce the default decimal precision; set ours.
                    let decimal = array
                        .as_any()
                        .downcast_ref::<arrow_array::Decimal128Array>()
                        .cloned()
                        .unwrap_or_else(|| arrow_array::Decimal128Array::from(Vec::<i128>::new()));
                    decimal
                        .with_precision_and_scale(18, 2)
                        .map(|d| Arc::new(d) as ArrayRef)
                } else {
                    Ok(array)
                }
            })
            .collect::<Result<Vec<_>, _>>();
        Some(
            arrays
                .and_then(|arrays| RecordBatch::try_new(self.schema.clone(), arrays))
                .map_err(SynthError::from),
        )
    }
}

fn builder(column_type: ColumnType, capacity: usize) -> Box<dyn ArrayBuilder> {
    match column_type {
        ColumnType::Text => Box::new(StringBuilder::with_capacity(capacity, capacity * 16)),
        ColumnType::Integer => Box::new(Int64Builder::with_capacity(capacity)),
        ColumnType::Money => Box::new(Decimal128Builder::with_capacity(capacity)),
        ColumnType::Date => Box::new(Date32Builder::with_capacity(capacity)),
        ColumnType::Timestamp => Box::new(TimestampSecondBuilder::with_capacity(capacity)),
        ColumnType::Boolean => Box::new(BooleanBuilder::with_capacity(capacity)),
    }
}

/// Appends `value` (a null if it does not fit the column's type, which the generators never produce).
fn append(builder: &mut dyn ArrayBuilder, column_type: ColumnType, value: &Value) {
    let any = builder.as_any_mut();
    match column_type {
        ColumnType::Text => {
            if let Some(b) = any.downcast_mut::<StringBuilder>() {
                match value {
                    Value::Text(t) => b.append_value(t),
                    _ => b.append_null(),
                }
            }
        }
        ColumnType::Integer => {
            if let Some(b) = any.downcast_mut::<Int64Builder>() {
                b.append_option(match value {
                    Value::Integer(n) => Some(*n),
                    _ => None,
                });
            }
        }
        ColumnType::Money => {
            if let Some(b) = any.downcast_mut::<Decimal128Builder>() {
                b.append_option(match value {
                    Value::Money(fen) => Some(i128::from(*fen)),
                    _ => None,
                });
            }
        }
        ColumnType::Date => {
            if let Some(b) = any.downcast_mut::<Date32Builder>() {
                b.append_option(match value {
                    Value::Date(d) => days_since_epoch(*d),
                    _ => None,
                });
            }
        }
        ColumnType::Timestamp => {
            if let Some(b) = any.downcast_mut::<TimestampSecondBuilder>() {
                b.append_option(match value {
                    Value::Timestamp(t) => Some(t.and_utc().timestamp()),
                    _ => None,
                });
            }
        }
        ColumnType::Boolean => {
            if let Some(b) = any.downcast_mut::<BooleanBuilder>() {
                b.append_option(match value {
                    Value::Boolean(v) => Some(*v),
                    _ => None,
                });
            }
        }
    }
}

fn days_since_epoch(date: NaiveDate) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}
