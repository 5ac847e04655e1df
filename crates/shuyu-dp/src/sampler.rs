//! Exact samplers over the integers: Canonne, Kamath & Steinke 2020, "The Discrete Gaussian for
//! Differential Privacy", Algorithms 1–3. Every probability is a ratio of integers and every coin is
//! a uniform integer drawn by rejection from the RNG's bits, so no floating-point rounding shapes
//! the output (a naive float Laplace leaks through its low bits, Mironov 2012).
//!
//! Parameter ranges (checked by the constructors):
//! - [`DiscreteLaplace`]: scale `t/s` with `1 ≤ t, s ≤ 2⁶⁴−1`; the arithmetic is `u128`.
//! - [`DiscreteGaussian`]: `σ² = a/b` with `1 ≤ a, b ≤ 2⁶⁴−1`; the acceptance test
//!   `exp(−(|Y|−σ²/t)²/(2σ²))` has a denominator up to about 2¹⁹⁵, so it is computed in
//!   [`BigUint`].
//!
//! Must never: draw from floating point, reduce random bits modulo a bound (bias), or read
//! randomness from anywhere but the RNG handed in.

use num_bigint::BigUint;
use rand::CryptoRng;

use crate::DpError;

/// Denominator of the rationals made from floating-point scales: 2²⁰, so a scale is kept to about
/// six significant decimals and rounded **up** (more noise, never less).
const FLOAT_DENOMINATOR: u64 = 1 << 20;

/// Above this σ the discrete Gaussian's variance and 95% interval are the continuous ones.
const LARGE_SIGMA: f64 = 100.0;

/// A uniform integer in `[0, n)` for `n ≥ 1`: draw the bit length of `n − 1`, reject values `≥ n`
/// (no modulo bias; at most half the draws are rejected).
pub fn uniform_below(rng: &mut impl CryptoRng, n: u128) -> u128 {
    if n <= 1 {
        return 0;
    }
    let bits = 128 - (n - 1).leading_zeros();
    let mask = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    loop {
        let x = if bits <= 64 {
            u128::from(rng.next_u64())
        } else {
            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
        } & mask;
        if x < n {
            return x;
        }
    }
}

/// A uniform integer in `[0, n)` for a big `n ≥ 1`, by rejection over whole bytes with the top
/// byte masked to the bit length of `n − 1`.
fn uniform_below_big(rng: &mut impl CryptoRng, n: &BigUint) -> BigUint {
    let one = BigUint::from(1u8);
    if *n <= one {
        return BigUint::default();
    }
    let bits = (n - &one).bits();
    let len = usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX);
    let spare = (len as u64) * 8 - bits;
    let mut buf = vec![0u8; len];
    loop {
        rng.fill_bytes(&mut buf);
        if let Some(top) = buf.last_mut() {
            *top &= 0xff >> spare;
        }
        let x = BigUint::from_bytes_le(&buf);
        if x < *n {
            return x;
        }
    }
}

/// Bernoulli(n/d) for `0 ≤ n ≤ d`, `d ≥ 1`.
fn bernoulli(rng: &mut impl CryptoRng, n: u128, d: u128) -> bool {
    uniform_below(rng, d) < n
}

/// Bernoulli(exp(−n/d)) for `n/d ∈ [0, 1]` (Algorithm 1, first part): draw `A_k ~ Bernoulli(γ/k)`
/// for k = 1, 2, … until one is 0; the answer is whether that k is odd.
fn bernoulli_exp_unit(rng: &mut impl CryptoRng, n: u128, d: u128) -> Result<bool, DpError> {
    let mut k: u128 = 1;
    loop {
        let dk = d.checked_mul(k).ok_or(DpError::Overflow)?;
        if !bernoulli(rng, n, dk) {
            return Ok(k % 2 == 1);
        }
        k += 1;
    }
}

/// Bernoulli(exp(−n/d)) for any `n/d ≥ 0` (Algorithm 1): `⌊γ⌋` independent Bernoulli(exp(−1))
/// coins, all 1, then one Bernoulli(exp(−(γ − ⌊γ⌋))).
pub fn bernoulli_exp(rng: &mut impl CryptoRng, n: u128, d: u128) -> Result<bool, DpError> {
    if d == 0 {
        return Err(DpError::invalid(
            "gamma",
            "the denominator must be at least 1",
        ));
    }
    let whole = n / d;
    let mut i = 0u128;
    while i < whole {
        if !bernoulli_exp_unit(rng, 1, 1)? {
            return Ok(false);
        }
        i += 1;
    }
    bernoulli_exp_unit(rng, n % d, d)
}

/// Algorithm 1 over big rationals `n/d`. The whole part is counted in `u128`, saturated: reaching
/// 2¹²⁸ coins of probability e⁻¹ each all equal to 1 has probability `exp(−2¹²⁸)`.
fn bernoulli_exp_big(rng: &mut impl CryptoRng, n: &BigUint, d: &BigUint) -> Result<bool, DpError> {
    let whole = u128::try_from(n / d).unwrap_or(u128::MAX);
    let mut i = 0u128;
    while i < whole {
        if !bernoulli_exp_unit(rng, 1, 1)? {
            return Ok(false);
        }
        i += 1;
    }
    let frac = n % d;
    let mut k: u32 = 1;
    loop {
        let dk = d * BigUint::from(k);
        if uniform_below_big(rng, &dk) >= frac {
            return Ok(k % 2 == 1);
        }
        k = k.checked_add(1).ok_or(DpError::Overflow)?;
    }
}

/// Turns a positive finite float into `num/den` rounded up, `den` = 2²⁰ while `num` fits a `u64`,
/// else `den` = 1.
fn ratio_up(name: &'static str, x: f64) -> Result<(u64, u64), DpError> {
    if !x.is_finite() || x <= 0.0 {
        return Err(DpError::invalid(name, "must be a positive finite number"));
    }
    for den in [FLOAT_DENOMINATOR, 1] {
        let num = (x * den as f64).ceil();
        if num < u64::MAX as f64 {
            return Ok((num.max(1.0) as u64, den));
        }
    }
    Err(DpError::OutOfRange {
        name,
        max: "2⁶⁴".into(),
    })
}

/// The discrete Laplace distribution `P(z) ∝ exp(−|z|/scale)` over the integers, `scale = t/s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscreteLaplace {
    t: u64,
    s: u64,
}

impl DiscreteLaplace {
    /// The scale `t/s`; both at least 1.
    pub fn new(t: u64, s: u64) -> Result<Self, DpError> {
        if t == 0 || s == 0 {
            return Err(DpError::invalid(
                "scale",
                "numerator and denominator must be at least 1",
            ));
        }
        Ok(Self { t, s })
    }

    /// The smallest representable scale `≥ scale` (denominator 2²⁰, see the module docs).
    pub fn with_scale_at_least(scale: f64) -> Result<Self, DpError> {
        let (t, s) = ratio_up("scale", scale)?;
        Self::new(t, s)
    }

    /// The scale as a float (for reporting only).
    pub fn scale(&self) -> f64 {
        self.t as f64 / self.s as f64
    }

    /// `P(Z = z)` (for reporting and tests; sampling never uses it).
    pub fn pmf(&self, z: i128) -> f64 {
        let p = (-1.0 / self.scale()).exp();
        (1.0 - p) / (1.0 + p) * p.powf(z.unsigned_abs() as f64)
    }

    /// `Var(Z) = 2p/(1−p)²` with `p = exp(−1/scale)`.
    pub fn variance(&self) -> f64 {
        let p = (-1.0 / self.scale()).exp();
        2.0 * p / ((1.0 - p) * (1.0 - p))
    }

    /// The smallest `k` with `P(|Z| ≤ k) ≥ 0.95`: `P(|Z| > k) = 2p^(k+1)/(1+p)`.
    pub fn ci95_half_width(&self) -> f64 {
        let p = (-1.0 / self.scale()).exp();
        let k = ((0.05 * (1.0 + p) / 2.0).ln() / p.ln() - 1.0).ceil();
        k.max(0.0)
    }

    /// One draw (Algorithm 2).
    pub fn sample(&self, rng: &mut impl CryptoRng) -> Result<i128, DpError> {
        let (t, s) = (u128::from(self.t), u128::from(self.s));
        loop {
            let u = uniform_below(rng, t);
            if !bernoulli_exp(rng, u, t)? {
                continue;
            }
            let mut v: u128 = 0;
            while bernoulli_exp(rng, 1, 1)? {
                v += 1;
            }
            let x = t
                .checked_mul(v)
                .and_then(|tv| tv.checked_add(u))
                .ok_or(DpError::Overflow)?;
            let y = i128::try_from(x / s).map_err(|_| DpError::Overflow)?;
            let negative = bernoulli(rng, 1, 2);
            if negative && y == 0 {
                continue;
            }
            return Ok(if negative { -y } else { y });
        }
    }
}

/// The discrete Gaussian `P(z) ∝ exp(−z²/(2σ²))` over the integers, `σ² = a/b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscreteGaussian {
    a: u64,
    b: u64,
}

impl DiscreteGaussian {
    /// The variance parameter `σ² = a/b`; both at least 1.
    pub fn new(a: u64, b: u64) -> Result<Self, DpError> {
        if a == 0 || b == 0 {
            return Err(DpError::invalid(
                "sigma",
                "σ² needs a numerator and denominator of at least 1",
            ));
        }
        Ok(Self { a, b })
    }

    /// The smallest representable `σ² ≥ sigma²` (denominator 2²⁰, see the module docs).
    pub fn with_sigma_at_least(sigma: f64) -> Result<Self, DpError> {
        let (a, b) = ratio_up("sigma", sigma * sigma)?;
        Self::new(a, b)
    }

    /// σ as a float (for reporting only).
    pub fn sigma(&self) -> f64 {
        (self.a as f64 / self.b as f64).sqrt()
    }

    /// The weight `exp(−z²/(2σ²))` and the normaliser `Σ_z` of it over `|z| ≤ 40σ + 10` (the rest
    /// is below e⁻⁸⁰⁰ of the mass).
    fn weights(&self) -> (impl Fn(f64) -> f64, i64, f64) {
        let s2 = self.a as f64 / self.b as f64;
        let weight = move |x: f64| (-x * x / (2.0 * s2)).exp();
        let reach = (40.0 * s2.sqrt()).ceil() as i64 + 10;
        let norm: f64 = (-reach..=reach).map(|x| weight(x as f64)).sum();
        (weight, reach, norm)
    }

    /// `P(Z = z)`, normalised numerically (for tests and reporting).
    pub fn pmf(&self, z: i128) -> f64 {
        let (weight, _, norm) = self.weights();
        weight(z as f64) / norm
    }

    /// `Var(Z)`: summed numerically for σ < 100; above, σ² (the gap is below 10⁻¹⁰⁰ of σ²;
    /// the discrete Gaussian's variance never exceeds σ², Canonne et al. Proposition 19).
    pub fn variance(&self) -> f64 {
        let s2 = self.a as f64 / self.b as f64;
        if s2 >= LARGE_SIGMA * LARGE_SIGMA {
            return s2;
        }
        let (weight, reach, norm) = self.weights();
        (-reach..=reach)
            .map(|x| (x * x) as f64 * weight(x as f64))
            .sum::<f64>()
            / norm
    }

    /// The smallest `k` with `P(|Z| ≤ k) ≥ 0.95`: summed numerically for σ < 100; above, the
    /// continuous `⌈1.96σ⌉`.
    pub fn ci95_half_width(&self) -> f64 {
        let s2 = self.a as f64 / self.b as f64;
        if s2 >= LARGE_SIGMA * LARGE_SIGMA {
            return (1.959_964 * s2.sqrt()).ceil();
        }
        let (weight, reach, norm) = self.weights();
        let mut mass = weight(0.0) / norm;
        let mut k = 0i64;
        while mass < 0.95 && k < reach {
            k += 1;
            mass += 2.0 * weight(k as f64) / norm;
        }
        k as f64
    }

    /// One draw (Algorithm 3): `t = ⌊σ⌋ + 1`, `Y ~ Lap_Z(t)`, accept with probability
    /// `exp(−(|Y| − σ²/t)²/(2σ²)) = exp(−(|Y|·t·b − a)²/(2·a·b·t²))`.
    pub fn sample(&self, rng: &mut impl CryptoRng) -> Result<i128, DpError> {
        let floor_sigma = (u128::from(self.a) / u128::from(self.b)).isqrt();
        let t = u64::try_from(floor_sigma + 1).map_err(|_| DpError::Overflow)?;
        let laplace = DiscreteLaplace::new(t, 1)?;
        let (a, b, t) = (
            BigUint::from(self.a),
            BigUint::from(self.b),
            BigUint::from(t),
        );
        let den = BigUint::from(2u8) * &a * &b * &t * &t;
        loop {
            let y = laplace.sample(rng)?;
            let ytb = BigUint::from(y.unsigned_abs()) * &t * &b;
            let diff = if ytb >= a { ytb - &a } else { &a - ytb };
            if bernoulli_exp_big(rng, &(&diff * &diff), &den)? {
                return Ok(y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn uniform_below_stays_below_and_covers() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut seen = [0u32; 5];
        for _ in 0..5_000 {
            let x = uniform_below(&mut rng, 5);
            seen[x as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
        assert_eq!(uniform_below(&mut rng, 1), 0);
        let big = uniform_below(&mut rng, u128::MAX);
        assert!(big < u128::MAX);
    }

    #[test]
    fn bernoulli_exp_matches_its_probability() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for (n, d) in [(1u128, 2u128), (1, 1), (5, 2), (0, 3)] {
            let want = (-(n as f64) / d as f64).exp();
            let hits = (0..40_000)
                .filter(|_| bernoulli_exp(&mut rng, n, d).unwrap())
                .count();
            let got = hits as f64 / 40_000.0;
            assert!((got - want).abs() < 0.01, "γ = {n}/{d}: {got} vs {want}");
        }
    }

    #[test]
    fn big_bernoulli_exp_matches_its_probability() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let d = BigUint::from(u128::MAX) * BigUint::from(7u8);
        let n = &d * BigUint::from(3u8) / BigUint::from(2u8);
        let hits = (0..40_000)
            .filter(|_| bernoulli_exp_big(&mut rng, &n, &d).unwrap())
            .count();
        let got = hits as f64 / 40_000.0;
        assert!((got - (-1.5f64).exp()).abs() < 0.01, "{got}");
    }

    #[test]
    fn constructors_refuse_nonsense_and_round_up() {
        assert!(DiscreteLaplace::new(0, 1).is_err());
        assert!(DiscreteGaussian::new(1, 0).is_err());
        assert!(DiscreteLaplace::with_scale_at_least(f64::NAN).is_err());
        assert!(DiscreteLaplace::with_scale_at_least(-1.0).is_err());
        let l = DiscreteLaplace::with_scale_at_least(0.1).unwrap();
        assert!(l.scale() >= 0.1 && l.scale() < 0.1 + 1e-6);
        let g = DiscreteGaussian::with_sigma_at_least(1e9).unwrap();
        assert!(g.sigma() >= 1e9);
    }
}
