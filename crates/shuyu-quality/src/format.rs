//! Format checks for typed identifiers: resident ID number (GB 11643-1999), unified social credit code
//! (GB 32100-2015, through [`shuyu_core::CreditCode`]), mainland mobile number and calendar date.
//!
//! Each check is strict about the written form: no trimming, no case folding (except what
//! `CreditCode::parse` itself accepts), because a profile reports the quality of the data as delivered.

use serde::{Deserialize, Serialize};

/// Which format check applies to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FormatKind {
    /// No format check: `valid`/`invalid` are not reported.
    #[default]
    None,
    /// Resident ID number, GB 11643-1999.
    ResidentId,
    /// Unified social credit code, GB 32100-2015.
    CreditCode,
    /// Mainland mobile number: 11 digits starting 13–19.
    Mobile,
    /// Calendar date written `YYYY-MM-DD`.
    Date,
}

impl FormatKind {
    /// Whether `text` has this format (always true for [`FormatKind::None`]).
    pub fn check(self, text: &str) -> bool {
        match self {
            Self::None => true,
            Self::ResidentId => resident_id_valid(text),
            Self::CreditCode => credit_code_valid(text),
            Self::Mobile => mobile_valid(text),
            Self::Date => date_valid(text),
        }
    }
}

/// Weights of the first 17 digits of a resident ID number (2^(17-i) mod 11).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";
/// Province-level codes of GB/T 2260 (the first two digits of a region code), plus 71/81/82/83.
const PROVINCES: [u32; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// Whether `text` is an 18-character resident ID number (GB 11643-1999): a region prefix of six digits
/// whose first two are a province code, a real birth date `YYYYMMDD` (years 1900–2099; there is no
/// clock here, so a future date is not caught), a three-digit sequence and the check character
/// (`0`–`9` or upper-case `X`).
pub fn resident_id_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(body), Some(&check)) = (bytes.get(..17), bytes.get(17)) else {
        return false;
    };
    if bytes.len() != 18 || !body.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let province = digits(body, 0, 2);
    if !PROVINCES.contains(&province) {
        return false;
    }
    let (year, month, day) = (digits(body, 6, 4), digits(body, 10, 2), digits(body, 12, 2));
    if !(1900..=2099).contains(&year) || !real_date(year, month, day) {
        return false;
    }
    ID_CHECK.get(resident_id_check_index(body)) == Some(&check)
}

/// The check character of the first 17 digits of a resident ID number (`None` unless they are 17
/// ASCII digits). Used by the synthetic data generator.
pub fn resident_id_check(first17: &str) -> Option<char> {
    let body = first17.as_bytes();
    if body.len() != 17 || !body.iter().all(u8::is_ascii_digit) {
        return None;
    }
    ID_CHECK
        .get(resident_id_check_index(body))
        .map(|b| char::from(*b))
}

fn resident_id_check_index(body: &[u8]) -> usize {
    let sum: u32 = body
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    (sum % 11) as usize
}

/// Whether `text` is a unified social credit code with a correct check character.
pub fn credit_code_valid(text: &str) -> bool {
    shuyu_core::CreditCode::parse(text).is_ok()
}

/// Whether `text` is a mainland mobile number: exactly 11 ASCII digits, starting `13` to `19`.
pub fn mobile_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 11
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes.first() == Some(&b'1')
        && bytes.get(1).is_some_and(|d| (b'3'..=b'9').contains(d))
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD` (years 0001–9999).
pub fn date_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return false;
    }
    let digit_positions = [0, 1, 2, 3, 5, 6, 8, 9];
    if !digit_positions
        .iter()
        .all(|p| bytes.get(*p).is_some_and(u8::is_ascii_digit))
    {
        return false;
    }
    let (year, month, day) = (
        digits(bytes, 0, 4),
        digits(bytes, 5, 2),
        digits(bytes, 8, 2),
    );
    year >= 1 && real_date(year, month, day)
}

/// The number written by `len` ASCII digits at `start` (callers have checked they are digits).
fn digits(bytes: &[u8], start: usize, len: usize) -> u32 {
    bytes
        .iter()
        .skip(start)
        .take(len)
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

fn real_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resident ID with the given first 17 digits and its correct check character.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", resident_id_check(first17).unwrap())
    }

    #[test]
    fn resident_id_with_correct_check_character_is_valid() {
        // The worked example of GB 11643-1999 (check character X).
        assert!(resident_id_valid("11010519491231002X"));
        assert!(resident_id_valid(&with_check("64050219900101123")));
        assert!(resident_id_valid(&with_check("64050220000229001")));
    }

    #[test]
    fn resident_id_with_wrong_check_shape_or_date_is_invalid() {
        let check = |text: &str| resident_id_valid(text);
        assert!(!check("110105194912310021"), "wrong check digit");
        assert!(!check("11010519491231002x"), "lower-case x");
        assert!(!check("11010519491231002"), "17 characters");
        assert!(!check("11010519491231002X1"), "19 characters");
        assert!(!check(""), "empty");
        assert!(!check(&with_check("99050219900101123")), "no province 99");
        assert!(!check(&with_check("64050219900230123")), "30 February");
        assert!(!check(&with_check("64050219001301123")), "month 13");
        assert!(!check(&with_check("64050218991231123")), "before 1900");
        assert!(
            !check(&with_check("64050219010229123")),
            "1901 is no leap year"
        );
        assert!(!check("11010519491231002Ｘ"), "full-width X");
        assert!(!check("1101051949123100２X"), "full-width digit");
    }

    #[test]
    fn check_character_of_non_digits_is_none() {
        assert_eq!(resident_id_check("6405021990010112A"), None);
        assert_eq!(resident_id_check("640502"), None);
    }

    #[test]
    fn mobile_numbers_are_eleven_digits_starting_13_to_19() {
        for ok in ["13800138000", "19912345678", "15000000000"] {
            assert!(mobile_valid(ok), "{ok}");
        }
        for bad in [
            "12800138000",
            "1380013800",
            "138001380001",
            "+8613800138000",
            "1380013800a",
            "23800138000",
            "138 0013 800",
        ] {
            assert!(!mobile_valid(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_real_and_written_yyyy_mm_dd() {
        for ok in ["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01"] {
            assert!(date_valid(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-4-01",
            "2024/04/01",
            "20240401",
            "0000-01-01",
            "2024-04-01 ",
        ] {
            assert!(!date_valid(bad), "{bad}");
        }
    }

    #[test]
    fn credit_codes_go_through_the_core_check() {
        assert!(credit_code_valid("91350100M000100Y43"));
        assert!(!credit_code_valid("91350100M000100Y44"));
        assert!(FormatKind::CreditCode.check("91350100M000100Y43"));
        assert!(FormatKind::None.check("anything"));
    }
}
