//! Validated short texts: display names and login names.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} characters long; at most {max} are allowed")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} must not contain control characters")]
    Control { what: &'static str },
    #[error(
        "a username is 3-64 characters of lower-case letters, digits, '.', '-' and '_', starting with a letter"
    )]
    BadUsername,
}

/// A display name (of an organisation or a person): 1-200 characters, trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 200;

    pub fn parse(text: &str) -> Result<Self, TextError> {
        let text = text.trim();
        let len = text.chars().count();
        if len == 0 {
            return Err(TextError::Empty { what: "a name" });
        }
        if len > Self::MAX {
            return Err(TextError::TooLong {
                what: "a name",
                len,
                max: Self::MAX,
            });
        }
        if text.chars().any(char::is_control) {
            return Err(TextError::Control { what: "a name" });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Name> for String {
    fn from(value: Name) -> Self {
        value.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login name: lower-case ASCII, 3-64 characters, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        let text = text.trim();
        let ok_len = (3..=64).contains(&text.len());
        let ok_start = text.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_chars = text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
        if ok_len && ok_start && ok_chars {
            Ok(Self(text.to_owned()))
        } else {
            Err(TextError::BadUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  中卫市数据局 ").unwrap().as_str(),
            "中卫市数据局"
        );
        assert!(matches!(Name::parse("   "), Err(TextError::Empty { .. })));
        assert!(matches!(
            Name::parse(&"数".repeat(201)),
            Err(TextError::TooLong { len: 201, .. })
        ));
        assert!(matches!(
            Name::parse("a\u{7}b"),
            Err(TextError::Control { .. })
        ));
    }

    #[test]
    fn usernames_are_lower_case_ascii_starting_with_a_letter() {
        assert!(Username::parse("li.wei-2").is_ok());
        for bad in ["Li", "2li", "li wei", "ab", "李伟"] {
            assert_eq!(Username::parse(bad), Err(TextError::BadUsername), "{bad}");
        }
    }

    #[test]
    fn serde_goes_through_the_same_check() {
        assert!(serde_json::from_str::<Username>("\"Admin\"").is_err());
    }
}
