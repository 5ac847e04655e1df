//! The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters whose last is a
//! check character computed from the first 17.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The 31 characters of the code's alphabet (no I, O, S, V, Z), in value order.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weight of position i is 3^i mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters; this one has {0}")]
    Length(usize),
    #[error(
        "character {position} (`{found}`) is not allowed in a unified social credit code (digits and upper-case letters except I, O, S, V, Z)"
    )]
    Character { position: usize, found: char },
    #[error("the check character is `{found}` but should be `{expected}`: the code is mistyped")]
    Check { found: char, expected: char },
}

/// A unified social credit code whose check character is correct.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    pub fn parse(text: &str) -> Result<Self, CreditCodeError> {
        let code = text.trim().to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(CreditCodeError::Length(chars.len()));
        }
        let mut values = Vec::with_capacity(18);
        for (i, c) in chars.iter().enumerate() {
            values.push(value_of(*c).ok_or(CreditCodeError::Character {
                position: i + 1,
                found: *c,
            })?);
        }
        let (body, check) = values.split_at(17);
        let expected = check_char(body);
        let found = chars.get(17).copied().unwrap_or(' ');
        if check.first().copied() != value_of(expected) {
            return Err(CreditCodeError::Check { found, expected });
        }
        Ok(Self(code))
    }

    /// Completes 17 characters into a valid code by appending their check character (used to make
    /// valid synthetic codes for the demo and tests).
    pub fn complete(first17: &str) -> Result<Self, CreditCodeError> {
        let mut values = Vec::with_capacity(17);
        for (i, c) in first17.chars().enumerate() {
            values.push(value_of(c).ok_or(CreditCodeError::Character {
                position: i + 1,
                found: c,
            })?);
        }
        if values.len() != 17 {
            return Err(CreditCodeError::Length(values.len() + 1));
        }
        Self::parse(&format!("{first17}{}", check_char(&values)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn value_of(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    ALPHABET
        .iter()
        .position(|a| *a == byte)
        .and_then(|p| u32::try_from(p).ok())
}

fn check_char(body: &[u32]) -> char {
    let sum: u32 = body.iter().zip(WEIGHTS.iter()).map(|(v, w)| v * w).sum();
    let value = (31 - sum % 31) % 31;
    ALPHABET.get(value as usize).map_or('0', |b| char::from(*b))
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CreditCode> for String {
    fn from(value: CreditCode) -> Self {
        value.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_example_code_of_the_standard() {
        // The worked example of GB 32100-2015, also in lower case and with spaces around it.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert_eq!(
            CreditCode::parse(" 91350100m000100y43 ").unwrap().as_str(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn a_mistyped_character_is_caught_by_the_check() {
        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            err,
            CreditCodeError::Check {
                found: '4',
                expected: '3'
            }
        );
    }

    #[test]
    fn letters_outside_the_alphabet_and_wrong_lengths_are_named() {
        assert_eq!(CreditCode::parse("9135"), Err(CreditCodeError::Length(4)));
        assert!(matches!(
            CreditCode::parse("91350100M0001I0Y43"),
            Err(CreditCodeError::Character {
                position: 14,
                found: 'I'
            })
        ));
    }

    #[test]
    fn completing_seventeen_characters_yields_a_valid_code() {
        let code = CreditCode::complete("91640500MA76XQ2K1").unwrap();
        assert_eq!(CreditCode::parse(code.as_str()), Ok(code));
    }
}
