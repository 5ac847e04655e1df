//! The function allow-list: the only scalar and aggregate functions a sandbox session knows.
//!
//! A function not listed here does not exist in the session (the planner reports it as not
//! available), and the plan check refuses any function call whose name is not listed, whatever
//! route put it in the plan (expression planners turn syntax such as `EXTRACT` or `POSITION`
//! into calls). There are no table functions (`generate_series`, `range`, file readers) and no
//! window functions. `CAST`, `CASE`, `IN`, `LIKE`, `BETWEEN` and `IS NULL` are syntax, not
//! functions, and always available.
//!
//! The list is small on purpose: every function added is one more thing the later column
//! control and output control must reason about.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::execution::SessionStateDefaults;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

/// Scalar functions, by canonical name (aliases of these are accepted too, e.g. `length` for
/// `character_length`, `substring` for `substr`, `datepart` for `date_part`).
pub const SCALAR: &[&str] = &[
    // numbers
    "abs",
    "round",
    "floor",
    "ceil",
    "trunc",
    // nulls
    "coalesce",
    "nullif",
    // text
    "lower",
    "upper",
    "btrim",
    "ltrim",
    "rtrim",
    "substr",
    "character_length",
    "concat",
    // dates and times (`EXTRACT(part FROM x)` plans to `date_part`)
    "date_trunc",
    "date_part",
    "to_date",
];

/// Aggregate functions, by canonical name. `count(DISTINCT x)` is `count` with a flag.
pub const AGGREGATE: &[&str] = &["count", "sum", "avg", "min", "max", "stddev"];

/// The allowed functions, looked up by every name (canonical and aliases) they answer to.
#[derive(Debug, Clone)]
pub struct Functions {
    scalar: BTreeMap<String, Arc<ScalarUDF>>,
    aggregate: BTreeMap<String, Arc<AggregateUDF>>,
}

impl Functions {
    /// The allow-list, taken from DataFusion's built-in functions.
    #[must_use]
    pub fn allowed() -> Self {
        let mut scalar = BTreeMap::new();
        for f in SessionStateDefaults::default_scalar_functions() {
            if SCALAR.contains(&f.name()) {
                for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str))
                {
                    scalar.insert(name.to_owned(), Arc::clone(&f));
                }
            }
        }
        let mut aggregate = BTreeMap::new();
        for f in SessionStateDefaults::default_aggregate_functions() {
            if AGGREGATE.contains(&f.name()) {
                for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str))
                {
                    aggregate.insert(name.to_owned(), Arc::clone(&f));
                }
            }
        }
        Self { scalar, aggregate }
    }

    /// The scalar function called `name` (canonical or alias), if allowed.
    #[must_use]
    pub fn scalar(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.scalar.get(name).cloned()
    }

    /// The aggregate function called `name` (canonical or alias), if allowed.
    #[must_use]
    pub fn aggregate(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.aggregate.get(name).cloned()
    }

    /// Every name a scalar function answers to.
    pub fn scalar_names(&self) -> impl Iterator<Item = &str> {
        self.scalar.keys().map(String::as_str)
    }

    /// Every name an aggregate function answers to.
    pub fn aggregate_names(&self) -> impl Iterator<Item = &str> {
        self.aggregate.keys().map(String::as_str)
    }

    /// The distinct allowed functions (scalar then aggregate), for registration in a session.
    #[must_use]
    pub fn udfs(&self) -> (Vec<Arc<ScalarUDF>>, Vec<Arc<AggregateUDF>>) {
        let mut scalar: Vec<Arc<ScalarUDF>> = Vec::new();
        for f in self.scalar.values() {
            if !scalar.iter().any(|s| s.name() == f.name()) {
                scalar.push(Arc::clone(f));
            }
        }
        let mut aggregate: Vec<Arc<AggregateUDF>> = Vec::new();
        for f in self.aggregate.values() {
            if !aggregate.iter().any(|s| s.name() == f.name()) {
                aggregate.push(Arc::clone(f));
            }
        }
        (scalar, aggregate)
    }

    /// The canonical allow-list, for messages: `abs, avg, …`.
    #[must_use]
    pub fn listing() -> String {
        let mut all: Vec<&str> = SCALAR.iter().chain(AGGREGATE).copied().collect();
        all.sort_unstable();
        all.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_function_exists_in_this_datafusion_build() {
        let f = Functions::allowed();
        for name in SCALAR {
            assert!(f.scalar(name).is_some(), "{name}");
        }
        for name in AGGREGATE {
            assert!(f.aggregate(name).is_some(), "{name}");
        }
        assert!(f.scalar("length").is_some(), "aliases answer too");
        assert!(f.scalar("read_parquet").is_none());
        assert!(f.scalar("strpos").is_none());
        assert!(f.aggregate("array_agg").is_none());
    }
}
