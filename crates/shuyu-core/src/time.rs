//! `Timestamp`: an instant in UTC with microsecond precision, stored as an integer everywhere.
//!
//! Domain code never reads the clock; it is handed a `Timestamp`. Only the binary (and tests, with a
//! fixed value) produce them.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_micros())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub fn date(self) -> chrono::NaiveDate {
        self.to_datetime().date_naive()
    }

    /// Parses RFC 3339 (`2026-11-24T08:00:00Z`) or a plain date (`2026-11-24`, taken as midnight UTC).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(Self::from_datetime(dt.with_timezone(&Utc)));
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| Self::from_datetime(dt.and_utc()))
    }

    #[must_use]
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    /// Whole seconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        (self.0.saturating_sub(earlier.0)) / 1_000_000
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_rfc3339() {
        let t = Timestamp::parse("2026-11-24T08:30:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-24T08:30:00.000000Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(
            Timestamp::parse("2026-11-24").unwrap().date().to_string(),
            "2026-11-24"
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        assert_eq!(
            Timestamp::from_unix_micros(i64::MAX)
                .plus_seconds(10)
                .unix_micros(),
            i64::MAX
        );
        assert_eq!(
            Timestamp::from_unix_micros(5_000_000)
                .seconds_since(Timestamp::from_unix_micros(2_000_000)),
            3
        );
    }
}
