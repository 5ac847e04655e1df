//! Fresh, format-valid identifiers drawn from an RNG alone: resident ID numbers (GB 11643-1999),
//! unified social credit codes (GB 32100-2015) and mainland mobile numbers.
//!
//! They take no input but the RNG, so they can never copy an observed identifier; a fresh value
//! equals a real person's or enterprise's only by chance (about one in 10⁹ per value for a resident ID,
//! whose 17 free digits are drawn uniformly over 31 provinces, 70 years of birth dates and 1 000
//! sequence numbers).

use chrono::{NaiveDate, TimeDelta};
use rand::{Rng, RngExt};
use shuyu_core::CreditCode;
use shuyu_quality::resident_id_check;

/// Province-level codes of GB/T 2260 used as the first two digits of fresh region codes.
const PROVINCES: [&str; 31] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
];
/// The first three digits of mainland mobile numbers in common use.
const MOBILE_SEGMENTS: [&str; 24] = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "157", "158", "159", "166", "177", "180", "183", "186", "188", "189", "199",
];
/// First birth date of a fresh resident ID, and the number of days birth dates span (70 years).
const BIRTH_FROM: (i32, u32, u32) = (1940, 1, 1);
const BIRTH_DAYS: i64 = 25_567;

/// A six-digit region code: a province, then city and county in `01`–`09`.
fn region<R: Rng + ?Sized>(rng: &mut R) -> String {
    let province = PROVINCES
        .get(rng.random_range(0..PROVINCES.len()))
        .copied()
        .unwrap_or("11");
    format!(
        "{province}0{}0{}",
        rng.random_range(1..10u8),
        rng.random_range(1..10u8)
    )
}

/// A valid 18-character resident ID number.
pub(crate) fn resident_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    let (y, m, d) = BIRTH_FROM;
    let birth = NaiveDate::from_ymd_opt(y, m, d)
        .map(|start| start + TimeDelta::days(rng.random_range(0..BIRTH_DAYS)))
        .unwrap_or_default();
    let first17 = format!(
        "{}{}{:03}",
        region(rng),
        birth.format("%Y%m%d"),
        rng.random_range(0..1000u16)
    );
    // 17 ASCII digits always have a check character.
    let check = resident_id_check(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// A valid unified social credit code: registered by market regulation (`9`), an enterprise,
/// individual business or cooperative, a fresh region and a GB 11714 organisation code.
pub(crate) fn credit_code<R: Rng + ?Sized>(rng: &mut R) -> String {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let kind = ['1', '2', '3']
        .get(rng.random_range(0..3))
        .copied()
        .unwrap_or('1');
    let digits: Vec<u32> = (0..8).map(|_| rng.random_range(0..10)).collect();
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        v => char::from_digit(v, 10).unwrap_or('0'),
    };
    let body: String = digits
        .iter()
        .filter_map(|d| char::from_digit(*d, 10))
        .collect();
    let first17 = format!("9{kind}{}{body}{check}", region(rng));
    // Digits, `X` and `9` are all in the code's alphabet, so completing never fails.
    CreditCode::complete(&first17)
        .map(|code| code.as_str().to_owned())
        .unwrap_or_default()
}

/// A valid 11-digit mobile number.
pub(crate) fn mobile<R: Rng + ?Sized>(rng: &mut R) -> String {
    let segment = MOBILE_SEGMENTS
        .get(rng.random_range(0..MOBILE_SEGMENTS.len()))
        .copied()
        .unwrap_or("138");
    format!("{segment}{:08}", rng.random_range(0..100_000_000u32))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use shuyu_quality::FormatKind;

    use super::*;

    #[test]
    fn fresh_identifiers_are_format_valid() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2_000 {
            let id = resident_id(&mut rng);
            assert!(FormatKind::ResidentId.check(&id), "{id}");
            let code = credit_code(&mut rng);
            assert!(FormatKind::CreditCode.check(&code), "{code}");
            let phone = mobile(&mut rng);
            assert!(FormatKind::Mobile.check(&phone), "{phone}");
        }
    }
}
