//! Calendar arithmetic on days since 1970-01-01 (Arrow's `Date32`), branch-light and allocation-free
//! for the kernels: H. Hinnant's `days_from_civil` / `civil_from_days` (proleptic Gregorian).

use arrow_schema::TimeUnit;

/// Seconds in a day.
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// `(year, month 1–12, day 1–31)` of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day number of `(year, month 1–12, day 1–31)`.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The first day of the month of `days`.
pub(crate) fn month_start(days: i64) -> i64 {
    let (_, _, day) = civil_from_days(days);
    days - (day - 1)
}

/// The first day of the year of `days`.
pub(crate) fn year_start(days: i64) -> i64 {
    let (year, _, _) = civil_from_days(days);
    days_from_civil(year, 1, 1)
}

/// Completed years from `birth` to `as_of` (both day numbers); `None` for a birth after `as_of`.
pub(crate) fn age(birth: i64, as_of: i64) -> Option<i64> {
    if birth > as_of {
        return None;
    }
    let (by, bm, bd) = civil_from_days(birth);
    let (y, m, d) = civil_from_days(as_of);
    Some(y - by - i64::from((m, d) < (bm, bd)))
}

/// Units of a timestamp per second.
pub(crate) fn units_per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// The day number of a `YYYY-MM-DD` text (a real calendar date), or `None`.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    if !shuyu_quality::date_valid(text) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    Some(days_from_civil(
        number(0..4)?,
        number(5..7)?,
        number(8..10)?,
    ))
}

/// Writes a day number as `YYYY-MM-DD`; false (nothing written) outside years 0–9999.
pub(crate) fn write_date(days: i64, out: &mut String) -> bool {
    use std::fmt::Write as _;
    let (year, month, day) = civil_from_days(days);
    if !(0..=9_999).contains(&year) {
        return false;
    }
    write!(out, "{year:04}-{month:02}-{day:02}").is_ok()
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, NaiveDate};

    use super::*;

    #[test]
    fn civil_round_trip_matches_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-800_000..800_000).step_by(997) {
            let date = epoch + chrono::Duration::days(days);
            let (y, m, d) = civil_from_days(days);
            assert_eq!(
                (y, m, d),
                (
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                )
            );
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn ages_count_completed_years() {
        let birth = days_from_civil(1990, 3, 7);
        assert_eq!(age(birth, days_from_civil(2024, 3, 6)), Some(33));
        assert_eq!(age(birth, days_from_civil(2024, 3, 7)), Some(34));
        assert_eq!(age(birth, birth), Some(0));
        assert_eq!(age(birth, birth - 1), None);
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-01"), None);
        let mut out = String::new();
        assert!(write_date(days_from_civil(2024, 2, 29), &mut out));
        assert_eq!(out, "2024-02-29");
    }
}
