//! Why a sampler, mechanism or ledger refused. Each variant names the parameter or ledger it is about
//! and says what to change; none carries a data value (a true count or sum never appears here).

use shuyu_profile::PrivacyBudget;

use crate::LedgerLevel;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DpError {
    #[error("{name} {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(
        "{name} is out of range: it must stay below {max}; choose a coarser resolution or a larger ε"
    )]
    OutOfRange { name: &'static str, max: String },
    #[error(
        "an intermediate value of the sampler overflowed; the draw was abandoned, retry the query"
    )]
    Overflow,
    #[error(
        "the {level} privacy budget would be exceeded: asked ε = {}, δ = {:e}, remaining ε = {}, δ = {:e}; ask a smaller ε or δ, or repeat an earlier query (free)",
        asked.epsilon, asked.delta, remaining.epsilon, remaining.delta
    )]
    BudgetExceeded {
        level: LedgerLevel,
        asked: PrivacyBudget,
        remaining: PrivacyBudget,
    },
    #[error(
        "the query fingerprint must be 1 to {max} visible ASCII characters (e.g. a hex digest of the normalized plan)"
    )]
    Fingerprint { max: usize },
}

impl DpError {
    pub(crate) fn invalid(name: &'static str, reason: &str) -> Self {
        DpError::Invalid {
            name,
            reason: reason.into(),
        }
    }

    /// The input the error is about (`epsilon`, `bounds`, `fingerprint`, `budget`, …); empty for
    /// an overflow, which is about no input.
    pub fn path(&self) -> &'static str {
        match self {
            DpError::Invalid { name, .. } | DpError::OutOfRange { name, .. } => name,
            DpError::Overflow => "",
            DpError::BudgetExceeded { .. } => "budget",
            DpError::Fingerprint { .. } => "fingerprint",
        }
    }

    /// Whether the refusal is about the ledger's state (the budget is spent), not the input.
    pub const fn is_exhausted(&self) -> bool {
        matches!(self, DpError::BudgetExceeded { .. })
    }
}
