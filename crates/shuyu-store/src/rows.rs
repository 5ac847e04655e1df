//! Turning database values into domain values; a value that does not parse is `Corrupt`, never a panic.

use std::str::FromStr;

use shuyu_core::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(column)?)
}

pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub(crate) fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(column)?)
}

pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    Ok(int(row, column)? != 0)
}

pub(crate) fn time(row: &AnyRow, column: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_unix_micros(int(row, column)?))
}

pub(crate) fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .map(Timestamp::from_unix_micros))
}

pub(crate) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    let raw = text(row, column)?;
    raw.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("column {column}: {e}")))
}

pub(crate) fn opt_parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    opt_text(row, column)?
        .map(|raw| {
            raw.parse()
                .map_err(|e: T::Err| StoreError::Corrupt(format!("column {column}: {e}")))
        })
        .transpose()
}

pub(crate) fn bytes32(row: &AnyRow, column: &str) -> Result<[u8; 32], StoreError> {
    let raw: Vec<u8> = row.try_get(column)?;
    raw.try_into()
        .map_err(|_| StoreError::Corrupt(format!("column {column}: expected 32 bytes")))
}

pub(crate) fn flag_value(value: bool) -> i64 {
    i64::from(value)
}
