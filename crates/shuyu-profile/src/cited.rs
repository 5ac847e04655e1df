//! `Cited<T>`: a rule value together with the article it rests on.
//!
//! In TOML a cited value is an inline table, `key = { value = 6, article = "CC28" }`. Where the value
//! is optional (an expiry date the regulation does not set) `value` is left out and the article says
//! why: `expires = { article = "CC30 sets no validity period" }`.
//!
//! Must never: accept a value without its article, or a field other than `value` and `article`.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

/// A rule value and its citation: a short reference such as `"CC28"`, `"FT14"`, `"ZW21(2)"`, or, where
/// the regulation is silent, `"default: <why this value>"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cited<T> {
    pub value: T,
    pub article: String,
}

/// A TOML local date (`2024-10-30`, unquoted) read into a `NaiveDate`. A date-time, a time or a
/// string is refused, so a profile has one way to write a date.
struct TomlDate(NaiveDate);

impl<'de> Deserialize<'de> for TomlDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let date = toml::value::Date::deserialize(deserializer)?;
        NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        )
        .map(TomlDate)
        .ok_or_else(|| serde::de::Error::custom(format!("{date} is not a day of the calendar")))
    }
}

/// `deserialize_with` for a `Cited<NaiveDate>` written as `{ value = 2024-10-30, article = "…" }`.
pub(crate) fn cited_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Cited<NaiveDate>, D::Error> {
    let Cited { value, article } = Cited::<TomlDate>::deserialize(deserializer)?;
    Ok(Cited {
        value: value.0,
        article,
    })
}

/// `deserialize_with` for a `Cited<Option<NaiveDate>>`; a missing `value` means "no date".
pub(crate) fn cited_optional_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Cited<Option<NaiveDate>>, D::Error> {
    let Cited { value, article } = Cited::<Option<TomlDate>>::deserialize(deserializer)?;
    Ok(Cited {
        value: value.map(|d| d.0),
        article,
    })
}
