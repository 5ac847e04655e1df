//! Mechanisms over integers and fixed point: a noisy count, a noisy sum of clamped values and a
//! noisy mean, each with the noise calibrated from its sensitivity and its cost, and each reporting
//! its **expected error**, which [`cost_and_error`] computes before anything is spent.
//!
//! - Neighbouring datasets differ by adding or removing one privacy unit, which contributes at most
//!   `max_contributions` rows (bounded upstream, per privacy unit).
//! - Count: sensitivity = `max_contributions`. Sum: values are fixed point (integers in units of
//!   `10^-decimals`, [`FixedPoint`]), clamped to `[lower, upper]`, so the sensitivity is
//!   `max(|lower|, |upper|) · max_contributions` units. Mean: noisy sum / noisy count, the cost split
//!   half and half (sequential composition), clamped to `[lower, upper]` (post-processing).
//! - [`Mechanism::Laplace`]: pure ε-DP, discrete Laplace with scale `Δ/ε` (δ must be 0).
//! - [`Mechanism::Gaussian`]: the discrete Gaussian with `σ² = Δ²/(2ρ)` is ρ-zCDP (Canonne et al.
//!   Theorem 14), and ρ-zCDP implies (ε, δ)-DP for `ε = ρ + 2√(ρ·ln(1/δ))` (Bun & Steinke 2016,
//!   Proposition 1.3). Given (ε, δ) we take the largest such ρ: `ρ = (√(ln(1/δ) + ε) − √ln(1/δ))²`.
//!
//! Floats appear only in calibration and in the reported error; the noise itself is drawn exactly
//! and the scale is always rounded towards more noise. Must never: return a value without noise,
//! or put a true value into an error.

use rand::CryptoRng;
use shuyu_profile::PrivacyBudget;

use crate::DpError;
use crate::sampler::{DiscreteGaussian, DiscreteLaplace};

/// Which noise a mechanism adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Discrete Laplace, pure ε-DP.
    Laplace,
    /// Discrete Gaussian, (ε, δ)-DP through zCDP.
    Gaussian,
}

/// Fixed-point resolution: a value `v` is the integer `round(v · 10^decimals)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FixedPoint {
    decimals: u8,
}

impl FixedPoint {
    /// At most 6 decimals (micro-units).
    pub const MAX_DECIMALS: u8 = 6;

    pub fn new(decimals: u8) -> Result<Self, DpError> {
        if decimals > Self::MAX_DECIMALS {
            return Err(DpError::invalid("resolution", "allows at most 6 decimals"));
        }
        Ok(Self { decimals })
    }

    /// `10^decimals` units per 1.
    pub fn units_per_one(self) -> i64 {
        10i64.pow(u32::from(self.decimals))
    }

    /// The nearest integer number of units, or `None` when it does not fit an `i64`.
    pub fn to_units(self, value: f64) -> Option<i64> {
        let scaled = (value * self.units_per_one() as f64).round();
        (scaled.is_finite() && scaled.abs() < i64::MAX as f64).then_some(scaled as i64)
    }

    /// Units back to a float.
    pub fn from_units(self, units: i128) -> f64 {
        units as f64 / self.units_per_one() as f64
    }
}

/// Clamping bounds of a sum or mean, in fixed-point units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bounds {
    lower: i64,
    upper: i64,
    resolution: FixedPoint,
}

impl Bounds {
    /// `lower ≤ upper`, in units of `resolution`.
    pub fn new(lower: i64, upper: i64, resolution: FixedPoint) -> Result<Self, DpError> {
        if lower > upper {
            return Err(DpError::invalid("bounds", "lower must not exceed upper"));
        }
        Ok(Self {
            lower,
            upper,
            resolution,
        })
    }

    pub fn lower(&self) -> i64 {
        self.lower
    }

    pub fn upper(&self) -> i64 {
        self.upper
    }

    pub fn resolution(&self) -> FixedPoint {
        self.resolution
    }

    /// Clamps one value (in units) into the bounds: what the query does per row before summing.
    pub fn clamp(&self, units: i64) -> i64 {
        units.clamp(self.lower, self.upper)
    }

    /// How far one row can move a sum: `max(|lower|, |upper|)` units.
    fn row_sensitivity(&self) -> u64 {
        self.lower.unsigned_abs().max(self.upper.unsigned_abs())
    }
}

/// The shape of an aggregate, all that is needed to price it and state its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryShape {
    Count {
        max_contributions: u64,
    },
    Sum {
        bounds: Bounds,
        max_contributions: u64,
    },
    Mean {
        bounds: Bounds,
        max_contributions: u64,
    },
}

/// The expected error of a noisy output, in the output's own units (rows for a count, the value's
/// unit for a sum).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedError {
    /// The noise's standard deviation.
    pub std_dev: f64,
    /// Half-width of the interval holding the noise with probability at least 95%.
    pub ci95_half_width: f64,
}

/// What a query costs and how wrong its answer is expected to be, before it runs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// The budget the query spends.
    pub cost: PrivacyBudget,
    /// The error of the count or sum; for a mean, of its noisy sum.
    pub error: ExpectedError,
    /// For a mean, the error of its noisy count.
    pub count_error: Option<ExpectedError>,
}

impl Estimate {
    /// For a mean: the approximate standard deviation of the noisy mean over `n` rows whose true
    /// mean is `mean` (first-order error propagation of sum/count); `None` for other shapes.
    pub fn mean_std_dev_at(&self, n: f64, mean: f64) -> Option<f64> {
        let count = self.count_error?;
        (n > 0.0).then(|| (self.error.std_dev.powi(2) + (mean * count.std_dev).powi(2)).sqrt() / n)
    }
}

/// A noisy answer and its expected error.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Noisy<T> {
    pub value: T,
    pub error: ExpectedError,
}

/// Calibrated noise for one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    Laplace(DiscreteLaplace),
    Gaussian(DiscreteGaussian),
}

impl Noise {
    /// The noise giving `cost`-DP to an integer output of sensitivity `sensitivity` (see the
    /// module docs for the formulas).
    pub fn calibrate(
        mechanism: Mechanism,
        sensitivity: u64,
        cost: PrivacyBudget,
    ) -> Result<Self, DpError> {
        if !cost.epsilon.is_finite() || cost.epsilon <= 0.0 {
            return Err(DpError::invalid(
                "epsilon",
                "must be a positive finite number",
            ));
        }
        if sensitivity == 0 {
            return Err(DpError::invalid(
                "max_contributions",
                "must be at least 1 (and the bounds not both 0)",
            ));
        }
        let delta = sensitivity as f64;
        match mechanism {
            Mechanism::Laplace => {
                if cost.delta != 0.0 {
                    return Err(DpError::invalid(
                        "delta",
                        "must be 0 for the Laplace mechanism (pure ε-DP); use the Gaussian mechanism to spend δ",
                    ));
                }
                DiscreteLaplace::with_scale_at_least(delta / cost.epsilon).map(Noise::Laplace)
            }
            Mechanism::Gaussian => {
                if !(cost.delta > 0.0 && cost.delta < 1.0) {
                    return Err(DpError::invalid(
                        "delta",
                        "must be in (0, 1) for the Gaussian mechanism",
                    ));
                }
                let rho = rho_for(cost);
                let sigma = delta / (2.0 * rho).sqrt();
                DiscreteGaussian::with_sigma_at_least(sigma).map(Noise::Gaussian)
            }
        }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut impl CryptoRng) -> Result<i128, DpError> {
        match self {
            Noise::Laplace(l) => l.sample(rng),
            Noise::Gaussian(g) => g.sample(rng),
        }
    }

    /// The error in units of the noised integer.
    pub fn expected_error(&self) -> ExpectedError {
        let (variance, ci) = match self {
            Noise::Laplace(l) => (l.variance(), l.ci95_half_width()),
            Noise::Gaussian(g) => (g.variance(), g.ci95_half_width()),
        };
        ExpectedError {
            std_dev: variance.sqrt(),
            ci95_half_width: ci,
        }
    }
}

/// The largest ρ with `ρ + 2√(ρ·ln(1/δ)) ≤ ε`: `(√(ln(1/δ) + ε) − √ln(1/δ))²`.
pub fn rho_for(cost: PrivacyBudget) -> f64 {
    let l = (1.0 / cost.delta).ln();
    let root = (l + cost.epsilon).sqrt() - l.sqrt();
    root * root
}

/// Half of a cost, for the two parts of a mean (sequential composition adds them back up).
fn halve(cost: PrivacyBudget) -> PrivacyBudget {
    PrivacyBudget::new(cost.epsilon / 2.0, cost.delta / 2.0)
}

fn sum_sensitivity(bounds: &Bounds, max_contributions: u64) -> Result<u64, DpError> {
    bounds
        .row_sensitivity()
        .checked_mul(max_contributions)
        .ok_or(DpError::OutOfRange {
            name: "bounds",
            max: "2⁶⁴ units times max_contributions".into(),
        })
}

fn scaled(error: ExpectedError, resolution: FixedPoint) -> ExpectedError {
    let per = resolution.units_per_one() as f64;
    ExpectedError {
        std_dev: error.std_dev / per,
        ci95_half_width: error.ci95_half_width / per,
    }
}

/// The cost and expected error of a query of this shape, before it is run or anything is spent.
pub fn cost_and_error(
    shape: &QueryShape,
    cost: PrivacyBudget,
    mechanism: Mechanism,
) -> Result<Estimate, DpError> {
    match *shape {
        QueryShape::Count { max_contributions } => Ok(Estimate {
            cost,
            error: Noise::calibrate(mechanism, max_contributions, cost)?.expected_error(),
            count_error: None,
        }),
        QueryShape::Sum {
            bounds,
            max_contributions,
        } => {
            let sens = sum_sensitivity(&bounds, max_contributions)?;
            let noise = Noise::calibrate(mechanism, sens, cost)?;
            Ok(Estimate {
                cost,
                error: scaled(noise.expected_error(), bounds.resolution),
                count_error: None,
            })
        }
        QueryShape::Mean {
            bounds,
            max_contributions,
        } => {
            let half = halve(cost);
            let sens = sum_sensitivity(&bounds, max_contributions)?;
            let sum = Noise::calibrate(mechanism, sens, half)?;
            let count = Noise::calibrate(mechanism, max_contributions, half)?;
            Ok(Estimate {
                cost,
                error: scaled(sum.expected_error(), bounds.resolution),
                count_error: Some(count.expected_error()),
            })
        }
    }
}

/// A noisy count of rows (each privacy unit contributing at most `max_contributions`), clamped at
/// 0 (post-processing).
pub fn noisy_count(
    rng: &mut impl CryptoRng,
    true_count: u64,
    cost: PrivacyBudget,
    max_contributions: u64,
    mechanism: Mechanism,
) -> Result<Noisy<u64>, DpError> {
    let noise = Noise::calibrate(mechanism, max_contributions, cost)?;
    let noisy = i128::from(true_count) + noise.sample(rng)?;
    Ok(Noisy {
        value: u64::try_from(noisy.max(0)).unwrap_or(u64::MAX),
        error: noise.expected_error(),
    })
}

/// A noisy sum of values already clamped to `bounds` (in units of its resolution); the answer is in
/// units too ([`FixedPoint::from_units`]), the error in the value's own unit.
pub fn noisy_sum(
    rng: &mut impl CryptoRng,
    sum_of_clamped: i128,
    bounds: Bounds,
    cost: PrivacyBudget,
    max_contributions: u64,
    mechanism: Mechanism,
) -> Result<Noisy<i128>, DpError> {
    let sens = sum_sensitivity(&bounds, max_contributions)?;
    let noise = Noise::calibrate(mechanism, sens, cost)?;
    let value = sum_of_clamped
        .checked_add(noise.sample(rng)?)
        .ok_or(DpError::Overflow)?;
    Ok(Noisy {
        value,
        error: scaled(noise.expected_error(), bounds.resolution),
    })
}

/// A noisy mean: noisy sum / noisy count with `cost` split half and half, clamped to the bounds, in
/// the value's own unit. Its error is the first-order estimate at the noisy count and mean.
pub fn noisy_mean(
    rng: &mut impl CryptoRng,
    sum_of_clamped: i128,
    count: u64,
    bounds: Bounds,
    cost: PrivacyBudget,
    max_contributions: u64,
    mechanism: Mechanism,
) -> Result<Noisy<f64>, DpError> {
    let half = halve(cost);
    let sum = noisy_sum(
        rng,
        sum_of_clamped,
        bounds,
        half,
        max_contributions,
        mechanism,
    )?;
    let n = noisy_count(rng, count, half, max_contributions, mechanism)?;
    let res = bounds.resolution;
    let (lo, hi) = (
        res.from_units(bounds.lower.into()),
        res.from_units(bounds.upper.into()),
    );
    let denominator = n.value.max(1) as f64;
    let mean = (res.from_units(sum.value) / denominator).clamp(lo, hi);
    let std_dev =
        (sum.error.std_dev.powi(2) + (mean * n.error.std_dev).powi(2)).sqrt() / denominator;
    Ok(Noisy {
        value: mean,
        error: ExpectedError {
            std_dev,
            ci95_half_width: 1.96 * std_dev,
        },
    })
}
