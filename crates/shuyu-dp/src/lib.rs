//! Differential privacy of the secure domain (授权运营域, SBX-6): what a differentially private
//! aggregate adds to a query's answer and what it costs.
//!
//! - [`sampler`]: exact discrete Laplace and discrete Gaussian samplers (Canonne, Kamath & Steinke
//!   2020), integer arithmetic only, randomness from the `CryptoRng` handed in.
//! - [`mechanism`]: noisy count, sum (fixed point, clamped) and mean, Laplace (ε) or Gaussian
//!   (ε, δ through zCDP), each with its expected error; [`cost_and_error`] tells the merchant the
//!   cost and the error before anything is spent.
//! - [`ledger`]: the budget accountant per grant and per data population per legal entity, basic
//!   sequential composition, exact integer amounts; a repeated query is answered from the record
//!   for free.
//!
//! Must never:
//! - do I/O, read the clock or draw randomness other than from the RNG passed in;
//! - sample noise with floating point, or reduce random bits modulo a bound;
//! - accept a spend beyond either ledger's budget, or charge a repeated query;
//! - put a true (un-noised) value into an error or a log.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod error;
pub mod ledger;
pub mod mechanism;
pub mod sampler;

pub use error::DpError;
pub use ledger::{
    Amount, AnswerRef, BudgetLedger, Fingerprint, LedgerEvent, LedgerLevel, PopulationKey,
    PopulationLedger, Preview, Spend, SpendOutcome, preview, spend,
};
pub use mechanism::{
    Bounds, Estimate, ExpectedError, FixedPoint, Mechanism, Noise, Noisy, QueryShape,
    cost_and_error, noisy_count, noisy_mean, noisy_sum,
};
pub use sampler::{DiscreteGaussian, DiscreteLaplace};
pub use shuyu_profile::PrivacyBudget;
