//! Why a profile could not be loaded. Every message names the profile and the key, and says what to
//! change.

use crate::builtin;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("there is no built-in profile `{name}`; built-in profiles are: {list}", list = builtin::NAMES.join(", "))]
    UnknownBuiltin { name: String },

    #[error(
        "`{name}` cannot name a profile: use 1 to 64 lowercase ASCII letters, digits, `-` or `_`"
    )]
    BadName { name: String },

    /// The text is not TOML.
    #[error("profile `{profile}` is not valid TOML{line}: {message}", line = line_suffix(*.line))]
    Syntax {
        profile: String,
        /// 1-based line in the text, where known.
        line: Option<usize>,
        message: String,
    },

    /// The TOML does not have the profile's shape: an unknown or missing key, a wrong type.
    #[error("profile `{profile}`, key `{key}`{line}: {message}", line = line_suffix(*.line))]
    Malformed {
        profile: String,
        /// Dotted key path, e.g. `audit.log_retention_after_termination_months.value`.
        key: String,
        /// 1-based line in the text, where known.
        line: Option<usize>,
        message: String,
    },

    /// The TOML has the right shape but a value is impossible.
    #[error("profile `{profile}`, key `{key}`: {reason}")]
    Invalid {
        profile: String,
        key: String,
        reason: String,
    },
}

impl ProfileError {
    /// The dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ProfileError::Malformed { key, .. } | ProfileError::Invalid { key, .. } => Some(key),
            ProfileError::UnknownBuiltin { .. }
            | ProfileError::BadName { .. }
            | ProfileError::Syntax { .. } => None,
        }
    }
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// Turns an error of the TOML parser into [`ProfileError::Syntax`].
pub(crate) fn syntax(profile: &str, text: &str, error: &toml::de::Error) -> ProfileError {
    ProfileError::Syntax {
        profile: profile.to_owned(),
        line: line_of(text, error),
        message: error.message().trim().to_owned(),
    }
}

/// Turns a shape error into [`ProfileError::Malformed`], naming the full key path: serde
/// reports a missing field at its table, so the field's name is added to the path where it is not
/// there yet.
pub(crate) fn malformed(
    profile: &str,
    text: &str,
    path: String,
    error: &toml::de::Error,
) -> ProfileError {
    let message = error.message().trim().to_owned();
    let mut key = path;
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(field) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
        {
            key = if key == "." {
                field.to_owned()
            } else if key == field || key.ends_with(&format!(".{field}")) {
                key
            } else {
                format!("{key}.{field}")
            };
        }
    }
    let line = line_of(text, error);
    let message = if message.starts_with("unknown field `") {
        format!("{message}; remove or correct the key")
    } else if message.starts_with("missing field `") {
        format!("{message}; every profile must set it, with the article it rests on")
    } else {
        message
    };
    ProfileError::Malformed {
        profile: profile.to_owned(),
        key,
        line,
        message,
    }
}

/// The 1-based line where the error starts, if the parser knows.
fn line_of(text: &str, error: &toml::de::Error) -> Option<usize> {
    error
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| before.matches('\n').count() + 1)
}
