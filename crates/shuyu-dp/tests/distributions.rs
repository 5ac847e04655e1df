//! The samplers' distributions against their exact pmf: a chi-square goodness-of-fit test over
//! 100 000 draws per scale, mean and variance, and symmetry. The seeds are fixed, so the tests are
//! deterministic; each threshold is the 99.99% quantile, so a correct sampler fails one seed in
//! ten thousand and a wrong one (e.g. an off-by-one scale, `a_wrong_scale_is_caught`) fails. (Run
//! over 2 000 000 draws in release, σ² = 1000/7 gave χ² = 104.8 at 98 degrees of freedom.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use shuyu_dp::{DiscreteGaussian, DiscreteLaplace};

const DRAWS: usize = 100_000;
/// The smallest expected count of a bin: well above 5, so the χ² approximation holds with many bins.
const MIN_EXPECTED: f64 = 20.0;

/// The 99.99% quantile of χ²(df), Wilson–Hilferty.
fn chi2_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.719_016;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

/// χ² of `draws` against `pmf`: one bin per value whose expected count is at least `MIN_EXPECTED`, the rest of
/// each side in a tail bin (merged when small). Returns (statistic, degrees of freedom).
fn chi_square(draws: &[i128], pmf: impl Fn(i128) -> f64) -> (f64, usize) {
    let n = draws.len() as f64;
    let mut k = 0i128;
    while n * pmf(k + 1) >= MIN_EXPECTED {
        k += 1;
    }
    let inner: f64 = (-k..=k).map(&pmf).sum();
    let tail = ((1.0 - inner) / 2.0).max(0.0);
    let mut stat = 0.0;
    let mut bins = 0usize;
    let mut add = |observed: usize, expected: f64| {
        stat += (observed as f64 - expected).powi(2) / expected;
        bins += 1;
    };
    for z in -k..=k {
        add(draws.iter().filter(|&&d| d == z).count(), n * pmf(z));
    }
    let below = draws.iter().filter(|&&d| d < -k).count();
    let above = draws.iter().filter(|&&d| d > k).count();
    if n * tail >= MIN_EXPECTED {
        add(below, n * tail);
        add(above, n * tail);
    } else if n * tail * 2.0 >= 1.0 {
        add(below + above, n * tail * 2.0);
    }
    (stat, bins - 1)
}

fn moments(draws: &[i128]) -> (f64, f64) {
    let n = draws.len() as f64;
    let mean = draws.iter().map(|&d| d as f64).sum::<f64>() / n;
    let var = draws
        .iter()
        .map(|&d| (d as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (mean, var)
}

fn check(name: &str, draws: &[i128], pmf: impl Fn(i128) -> f64, variance: f64) {
    let (stat, df) = chi_square(draws, pmf);
    assert!(df >= 2, "{name}: too few bins ({df})");
    let crit = chi2_critical(df);
    assert!(stat < crit, "{name}: χ² = {stat:.1} ≥ {crit:.1} (df {df})");
    let (mean, var) = moments(draws);
    let n = draws.len() as f64;
    assert!(
        mean.abs() < 4.0 * (variance / n).sqrt(),
        "{name}: mean {mean} (sd {})",
        variance.sqrt()
    );
    assert!(
        (var / variance - 1.0).abs() < 0.04,
        "{name}: variance {var} vs {variance}"
    );
    // symmetry: as many positive as negative draws (sign test, 4 sd)
    let pos = draws.iter().filter(|&&d| d > 0).count() as f64;
    let neg = draws.iter().filter(|&&d| d < 0).count() as f64;
    assert!(
        (pos - neg).abs() < 4.0 * (pos + neg).sqrt(),
        "{name}: {pos} positive vs {neg} negative"
    );
}

#[test]
fn discrete_laplace_fits_its_pmf_at_several_scales() {
    for (seed, (t, s)) in [(1u64, 1u64), (1, 2), (7, 3), (10, 1), (25, 1)]
        .into_iter()
        .enumerate()
    {
        let lap = DiscreteLaplace::new(t, s).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(100 + seed as u64);
        let draws: Vec<i128> = (0..DRAWS).map(|_| lap.sample(&mut rng).unwrap()).collect();
        check(
            &format!("Lap({t}/{s})"),
            &draws,
            |z| lap.pmf(z),
            lap.variance(),
        );
    }
}

#[test]
fn discrete_gaussian_fits_its_pmf_at_several_scales() {
    for (seed, (a, b)) in [(1u64, 2u64), (4, 1), (1000, 7), (100, 1), (400, 1)]
        .into_iter()
        .enumerate()
    {
        let g = DiscreteGaussian::new(a, b).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(200 + seed as u64);
        let draws: Vec<i128> = (0..DRAWS).map(|_| g.sample(&mut rng).unwrap()).collect();
        check(
            &format!("N_Z(σ²={a}/{b})"),
            &draws,
            |z| g.pmf(z),
            g.variance(),
        );
    }
}

#[test]
fn a_wrong_scale_is_caught() {
    // The test has power: draws of Lap(10) do not pass as Lap(11).
    let lap = DiscreteLaplace::new(10, 1).unwrap();
    let other = DiscreteLaplace::new(11, 1).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let draws: Vec<i128> = (0..DRAWS).map(|_| lap.sample(&mut rng).unwrap()).collect();
    let (stat, df) = chi_square(&draws, |z| other.pmf(z));
    assert!(stat > chi2_critical(df), "χ² = {stat} df {df}");
}

#[test]
fn large_scales_keep_their_spread() {
    // Far beyond the chi-square range: a Gaussian of σ = 10⁶ and a Laplace of scale 10⁹.
    let g = DiscreteGaussian::with_sigma_at_least(1e6).unwrap();
    let l = DiscreteLaplace::with_scale_at_least(1e9).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let gd: Vec<i128> = (0..20_000).map(|_| g.sample(&mut rng).unwrap()).collect();
    let ld: Vec<i128> = (0..20_000).map(|_| l.sample(&mut rng).unwrap()).collect();
    let (_, gv) = moments(&gd);
    let (_, lv) = moments(&ld);
    assert!((gv.sqrt() / 1e6 - 1.0).abs() < 0.03, "σ {}", gv.sqrt());
    assert!(
        (lv.sqrt() / l.variance().sqrt() - 1.0).abs() < 0.06,
        "sd {}",
        lv.sqrt()
    );
}

#[test]
fn the_same_seed_gives_the_same_draws() {
    let g = DiscreteGaussian::new(9, 1).unwrap();
    let a: Vec<i128> = {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        (0..100).map(|_| g.sample(&mut rng).unwrap()).collect()
    };
    let b: Vec<i128> = {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        (0..100).map(|_| g.sample(&mut rng).unwrap()).collect()
    };
    assert_eq!(a, b);
}

/// McNemar-style symmetry statistic: for each magnitude `z ≥ 1` with at least `MIN_EXPECTED` draws
/// of `±z`, `(n₊ − n₋)²/(n₊ + n₋)`, summed: χ² with one degree of freedom per magnitude when the
/// sampler is symmetric.
fn symmetry(draws: &[i128]) -> (f64, usize) {
    let mut stat = 0.0;
    let mut df = 0;
    for z in 1.. {
        let pos = draws.iter().filter(|&&d| d == z).count() as f64;
        let neg = draws.iter().filter(|&&d| d == -z).count() as f64;
        if pos + neg < MIN_EXPECTED {
            break;
        }
        stat += (pos - neg).powi(2) / (pos + neg);
        df += 1;
    }
    (stat, df)
}

#[test]
fn both_samplers_are_symmetric_value_by_value() {
    let lap = DiscreteLaplace::new(5, 2).unwrap();
    let g = DiscreteGaussian::new(30, 1).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(300);
    let ld: Vec<i128> = (0..DRAWS).map(|_| lap.sample(&mut rng).unwrap()).collect();
    let gd: Vec<i128> = (0..DRAWS).map(|_| g.sample(&mut rng).unwrap()).collect();
    for (name, draws) in [("Lap(5/2)", &ld), ("N_Z(30)", &gd)] {
        let (stat, df) = symmetry(draws);
        assert!(df >= 5, "{name}: {df} magnitudes");
        assert!(
            stat < chi2_critical(df),
            "{name}: symmetry χ² = {stat:.1} (df {df})"
        );
    }
}
