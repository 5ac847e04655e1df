//! Desensitization of the secure domain (SBX-5): the rules that turn real columns into the rows
//! people may see in a workspace's development environment, written as vectorized Arrow kernels.
//!
//! The profile chooses a [`Desensitization`](shuyu_profile::Desensitization) per kind of field;
//! [`default_rule`] turns that choice, the field's identifier format and its Arrow type into a
//! concrete, parameterised [`Rule`]; a reviewer may store a tighter rule with a grant (a `Rule` is
//! serde JSON) and [`tightens`] checks that it is at least as strict as the default. [`apply`] runs a
//! rule over a whole column, [`apply_batch`] a [`TableRules`] (one rule per column, deny by default)
//! over a whole batch, and [`Sampler`] draws the uniform sample of rows that is desensitized.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, StringArray, cast::AsArray};
//! use arrow_schema::DataType;
//! use shuyu_desensitize::{Context, HashKey, Rule, apply, default_rule, tightens};
//! use shuyu_profile::Desensitization;
//! use shuyu_quality::FormatKind;
//!
//! let ids: ArrayRef = Arc::new(StringArray::from(vec![Some("110101199003071234"), None]));
//! let rule = default_rule(Desensitization::Mask, Some(FormatKind::ResidentId), &DataType::Utf8);
//! let masked = apply(&rule, &ids, &Context::new())?;
//! assert_eq!(masked.as_string::<i32>().value(0), "110101********1234");
//! assert!(masked.is_null(1));
//!
//! // A reviewer tightens the mask to a keyed hash; the grant's key makes it unjoinable elsewhere.
//! let tighter = Rule::Hash { hex_chars: 32 };
//! assert!(tightens(&tighter, &rule));
//! let key = HashKey::derive(b"domain secret", b"grant 42");
//! let hashed = apply(&tighter, &ids, &Context::new().with_key(&key))?;
//! assert_eq!(hashed.as_string::<i32>().value(0).len(), 32);
//! # Ok::<(), shuyu_desensitize::DesensitizeError>(())
//! ```
//!
//! A development environment's table: a uniform sample of the real rows, then a rule per column.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use rand::SeedableRng;
//! use shuyu_desensitize::{Context, HashKey, Rule, Sampler, TableRules, apply_batch};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("resident_id", DataType::Utf8, true),
//!     Field::new("wage", DataType::Int64, true),
//! ]));
//! let real = RecordBatch::try_new(schema.clone(), vec![
//!     Arc::new(StringArray::from(vec!["110101199003071234", "11010519491231002X"])) as ArrayRef,
//!     Arc::new(Int64Array::from(vec![6_500, 8_200])),
//! ])?;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7); // the OS RNG in production
//! let mut sampler = Sampler::new(schema, 1_000);
//! sampler.push(&real, &mut rng)?; // every batch of the real table
//! let sample = sampler.finish()?;
//!
//! let rules = TableRules::new(vec![
//!     ("resident_id".into(), Rule::Hash { hex_chars: 32 }),
//!     ("wage".into(), Rule::Generalize(shuyu_desensitize::Generalization::NumberBand { width: 1_000 })),
//! ]);
//! let key = HashKey::derive(b"domain secret", b"grant 42");
//! let shown = apply_batch(&sample, &rules, &Context::new().with_key(&key))?;
//! assert_eq!(shown.schema(), rules.output_schema(&sample.schema())?);
//! assert_eq!(shown.num_rows(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What this crate must never do:
//! - put a value of a column into an error, a log line or a `Debug` output: errors name the rule and
//!   the type only, and [`HashKey`] prints as `HashKey(..)`;
//! - pass through a value it could not interpret: a value a rule cannot handle (a region code that is
//!   not six digits, a text that is not a date, a date shifted out of range) becomes NULL;
//! - do I/O, read a clock or draw randomness of its own: the hash key, the privacy-unit column and the
//!   reference date of age bands come in through [`Context`].
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod defaults;
mod error;
mod kernels;
mod key;
mod rule;
mod sample;
mod table;
mod time;

pub use defaults::{
    DEFAULT_AGE_BAND, DEFAULT_DATE_SHIFT_DAYS, DEFAULT_HASH_HEX_CHARS, DEFAULT_SUPPRESS_MIN_COUNT,
    default_rule,
};
pub use error::DesensitizeError;
pub use kernels::{apply, output_type};
pub use key::{Context, HashKey};
pub use rule::{Generalization, Rule, tightens};
pub use sample::Sampler;
pub use table::{TableRules, apply_batch};
