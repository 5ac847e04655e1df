//! Why a rule could not be applied. No variant can hold a value of a column.

/// Why [`apply`](crate::apply) refused a column. Messages name the rule and the Arrow type, never a
/// value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DesensitizeError {
    /// The rule has no meaning for this column type (masking a float, shifting an integer).
    #[error(
        "the desensitization rule `{rule}` does not apply to a column of type {data_type}; choose a rule that fits the type (null and keep fit every type)"
    )]
    Unsupported {
        rule: &'static str,
        data_type: String,
    },
    /// A parameter is out of its range (`hex_chars` of a hash below 16, a band width of 0, …).
    #[error("the desensitization rule `{rule}` is invalid: {reason}")]
    InvalidRule {
        rule: &'static str,
        reason: &'static str,
    },
    /// Hashing and date shifting are keyed per grant; the context carried no key.
    #[error(
        "the desensitization rule `{rule}` needs the grant's hash key; pass it with `Context::with_key`"
    )]
    MissingKey { rule: &'static str },
    /// Date shifting needs the privacy-unit column to derive each person's offset.
    #[error(
        "the desensitization rule `date_shift` needs the privacy-unit column; pass it with `Context::with_privacy_unit`"
    )]
    MissingPrivacyUnit,
    /// The privacy-unit column is not as long as the column being shifted.
    #[error(
        "the privacy-unit column has {actual} rows but the column being desensitized has {expected}; pass the unit column of the same batch"
    )]
    PrivacyUnitLength { expected: usize, actual: usize },
    /// The privacy-unit column has a type that cannot identify a person or an enterprise.
    #[error(
        "a privacy-unit column of type {data_type} is not supported; use a text or integer identifier column"
    )]
    UnsupportedPrivacyUnit { data_type: String },
    /// Age bands of birth dates need the date at which ages are counted.
    #[error(
        "the desensitization rule `{rule}` counts ages from birth dates and needs the reference date; pass it with `Context::with_as_of`"
    )]
    MissingAsOf { rule: &'static str },
}
