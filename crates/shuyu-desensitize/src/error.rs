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
    /// A column of the batch has no rule: deny by default, every column must be named.
    #[error(
        "the column `{column}` has no desensitization rule; give every column of the table a rule (`null` to drop its values)"
    )]
    MissingRule { column: String },
    /// A rule names a column the batch does not have (a misspelt or stale rule would otherwise go
    /// unnoticed).
    #[error(
        "a desensitization rule names the column `{column}`, which the table does not have; remove the rule or fix its name"
    )]
    RuleWithoutColumn { column: String },
    /// Two rules name the same column.
    #[error("the column `{column}` has more than one desensitization rule; keep exactly one")]
    DuplicateRule { column: String },
    /// The privacy-unit column named in the table rules is not in the batch.
    #[error("the privacy-unit column `{column}` is not in the table; name a column the table has")]
    PrivacyUnitColumn { column: String },
    /// A rule failed on one column; the inner error says why.
    #[error("column `{column}`: {error}")]
    Column {
        column: String,
        error: Box<DesensitizeError>,
    },
    /// A batch pushed to a [`Sampler`](crate::Sampler) has other column names or types than the
    /// sampler was made for.
    #[error(
        "the batch does not have the sampler's schema (column names and types must match the schema given to `Sampler::new`)"
    )]
    SchemaMismatch,
    /// Arrow refused to assemble a result (a bug: the types are checked beforehand). Arrow's own
    /// message is not kept, so no value can leak through it.
    #[error("assembling the {operation} failed inside Arrow; this is a bug, please report it")]
    Assembly { operation: &'static str },
}
