//! `[sandbox]`: the defaults and bounds of the secure domain (授权运营域) that a grant is checked
//! against (SBX-3, SBX-4, SBX-6): the minimum group size counted in distinct privacy units, privacy
//! budgets (ε, δ) per grant and per data population of one legal entity, the usage methods each grade
//! allows, the longest grant term and the default limits of one query.
//!
//! What is fixed here are the national floors checked in `validate.rs` (a group of one person is
//! never an aggregate, ε > 0, δ far below one over the population, a grade never authorized allows
//! no use); everything else is the city's, cited, in its TOML.
//!
//! Must never: hold a city's number in Rust, or accept a key it does not know.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cited::Cited;

/// `[sandbox]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SandboxRules {
    /// The minimum group size a grant gets unless it says otherwise, in distinct privacy units
    /// (persons or enterprises), not rows.
    pub min_group_size: Cited<u32>,
    /// The lowest minimum group size a grant may be given.
    pub min_group_size_floor: Cited<u32>,
    /// The privacy budget a grant gets unless it says otherwise.
    pub default_budget: Cited<PrivacyBudget>,
    /// The most privacy budget one grant may be given.
    pub max_grant_budget: Cited<PrivacyBudget>,
    /// The budget of one data population (a resource's privacy units) per legal entity, across all
    /// of that entity's grants, so that several scenarios do not multiply a merchant's budget.
    pub population_budget: Cited<PrivacyBudget>,
    /// The usage methods each grade of `[catalog] grades` allows; a grade left out allows none.
    pub usage_methods: Cited<BTreeMap<String, Vec<UsageMethod>>>,
    /// The longest term of a grant, in days.
    pub max_term_days: Cited<u32>,
    /// The default limits of one query.
    pub query_limits: Cited<QueryLimits>,
    /// How much one privacy unit may contribute to a differentially private query: the default
    /// and the most a query may ask for.
    pub dp_contribution: Cited<DpContribution>,
}

impl SandboxRules {
    /// The usage methods `grade` allows: none for a grade the table does not list (deny by default).
    pub fn usage_methods_for(&self, grade: &str) -> &[UsageMethod] {
        self.usage_methods
            .value
            .get(grade)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether data of `grade` may be used with `method`.
    pub fn allows(&self, grade: &str, method: UsageMethod) -> bool {
        self.usage_methods_for(grade).contains(&method)
    }
}

/// How a grant may use its data in production (the output control of SBX-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageMethod {
    /// Grouped aggregates; groups below the minimum size (in distinct privacy units) are suppressed.
    Aggregate,
    /// Differentially private aggregates, charged to a privacy budget.
    DpAggregate,
}

impl UsageMethod {
    pub const ALL: &'static [UsageMethod] = &[UsageMethod::Aggregate, UsageMethod::DpAggregate];

    pub const fn as_str(self) -> &'static str {
        match self {
            UsageMethod::Aggregate => "aggregate",
            UsageMethod::DpAggregate => "dp_aggregate",
        }
    }

    pub const fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (UsageMethod::Aggregate, true) => "聚合统计",
            (UsageMethod::DpAggregate, true) => "差分隐私聚合统计",
            (other, false) => other.as_str(),
        }
    }
}

impl fmt::Display for UsageMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for UsageMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UsageMethod::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "`{}` is not a usage method; use aggregate or dp_aggregate",
                    s.chars().take(32).collect::<String>()
                )
            })
    }
}

/// A differential privacy budget: ε, and δ where an approximate mechanism (Gaussian noise) is used.
///
/// Two budgets are equal when their numbers are bit for bit equal, which makes `Eq` lawful for the
/// finite values a checked profile or grant holds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyBudget {
    pub epsilon: f64,
    pub delta: f64,
}

impl PrivacyBudget {
    pub const fn new(epsilon: f64, delta: f64) -> Self {
        Self { epsilon, delta }
    }

    /// Whether `self` spends no more than `limit` in both ε and δ.
    pub fn within(self, limit: PrivacyBudget) -> bool {
        self.epsilon <= limit.epsilon && self.delta <= limit.delta
    }

    /// Whether both numbers are finite, ε > 0 and 0 ≤ δ < 1.
    pub fn is_well_formed(self) -> bool {
        self.epsilon.is_finite()
            && self.delta.is_finite()
            && self.epsilon > 0.0
            && (0.0..1.0).contains(&self.delta)
    }
}

impl PartialEq for PrivacyBudget {
    fn eq(&self, other: &Self) -> bool {
        self.epsilon.to_bits() == other.epsilon.to_bits()
            && self.delta.to_bits() == other.delta.to_bits()
    }
}

impl Eq for PrivacyBudget {}

impl fmt::Display for PrivacyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ε = {}, δ = {:e}", self.epsilon, self.delta)
    }
}

/// The default limits of one query (SBX-6): past them a query is cancelled, metered and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct QueryLimits {
    /// Memory pool of one query, MiB.
    pub memory_mib: u32,
    /// Wall time of one query, seconds.
    pub timeout_seconds: u32,
    /// Rows one query may scan.
    pub scanned_rows: u64,
}

/// Contribution bounds of a differentially private query (SBX-6): one privacy unit counts in at
/// most `L` groups and with at most `C` rows per group. A query may choose its own `L` and `C` up
/// to the maxima; the noise grows with them (sensitivity `L·C`), the budget spent does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DpContribution {
    /// `L` unless the query says otherwise.
    pub groups_per_unit: u32,
    /// `C` unless the query says otherwise.
    pub rows_per_unit: u32,
    /// The largest `L` a query may ask for.
    pub max_groups_per_unit: u32,
    /// The largest `C` a query may ask for.
    pub max_rows_per_unit: u32,
}

/// The floors national law and the mathematics of privacy set for every profile.
pub(crate) mod floors {
    /// A group of one is a person, not an aggregate (个人信息保护法 art. 73(3): 匿名化 means a person
    /// cannot be identified): at least two distinct privacy units.
    pub const MIN_GROUP_SIZE: u32 = 2;
    /// δ must be far below the inverse of any population a city holds; 1e-3 is the loosest bound
    /// the literature accepts even for small populations.
    pub const DELTA_BELOW: f64 = 1e-3;
    /// Beyond ε = 10 the noise hides nothing (e^10 ≈ 22 000 times the odds).
    pub const EPSILON_AT_MOST: f64 = 10.0;
    /// A grant longer than ten years is not time-bound.
    pub const TERM_DAYS_AT_MOST: u32 = 3650;
    /// Beyond 10 000 groups or rows per privacy unit the noise of a DP answer (its sensitivity
    /// grows with them) hides every answer, and `L·C·bound` nears the samplers' range.
    pub const CONTRIBUTIONS_AT_MOST: u32 = 10_000;
}
