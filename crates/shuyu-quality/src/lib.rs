//! Data quality profiles (QLT-1): on import, one [`FieldProfile`] per field with its null rate, distinct
//! count, extent and the format validity of typed identifiers, shown to the source department and the
//! authority.
//!
//! A profile holds **aggregates only, never a value**: the extent of a string column is the range of
//! its lengths, and [`Extent`] has no variant that could hold text. Distinct counting keeps 64-bit
//! hashes (never the values) up to a bound and then a HyperLogLog sketch, so memory stays bounded
//! whatever the row count.
//!
//! Pure: no I/O, no clock, no randomness.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod format;
mod hll;
mod profile;

pub use format::{
    FormatKind, credit_code_valid, date_valid, mobile_valid, resident_id_check, resident_id_valid,
};
pub use hll::HyperLogLog;
pub use profile::{DEFAULT_EXACT_DISTINCT_BOUND, Extent, FieldProfile, FieldProfiler};

/// Why a column could not be profiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QualityError {
    #[error("the field changed type between batches: first {first}, now {now}")]
    TypeChanged { first: String, now: String },
}
