//! The mechanisms' noise has the scale they state: the empirical standard deviation of many noisy
//! answers is within tolerance of the expected error reported before spending, and the 95% interval
//! holds about 95% of them. Calibration follows the formulas of the module docs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use shuyu_dp::mechanism::rho_for;
use shuyu_dp::{
    Bounds, DpError, FixedPoint, Mechanism, Noise, PrivacyBudget, QueryShape, cost_and_error,
    noisy_count, noisy_mean, noisy_sum,
};

const RUNS: usize = 20_000;

fn spread(values: &[f64], truth: f64) -> (f64, f64) {
    let n = values.len() as f64;
    let sd = (values.iter().map(|v| (v - truth).powi(2)).sum::<f64>() / n).sqrt();
    (values.iter().sum::<f64>() / n - truth, sd)
}

#[test]
fn noisy_count_has_the_stated_error() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for (mechanism, cost) in [
        (Mechanism::Laplace, PrivacyBudget::new(0.5, 0.0)),
        (Mechanism::Gaussian, PrivacyBudget::new(0.5, 1e-6)),
    ] {
        let shape = QueryShape::Count {
            max_contributions: 3,
        };
        let estimate = cost_and_error(&shape, cost, mechanism).unwrap();
        let answers: Vec<f64> = (0..RUNS)
            .map(|_| noisy_count(&mut rng, 10_000, cost, 3, mechanism).unwrap())
            .map(|n| {
                assert_eq!(n.error, estimate.error);
                n.value as f64
            })
            .collect();
        let (bias, sd) = spread(&answers, 10_000.0);
        let want = estimate.error.std_dev;
        assert!(
            (sd / want - 1.0).abs() < 0.03,
            "{mechanism:?}: sd {sd} vs {want}"
        );
        assert!(
            bias.abs() < 4.0 * want / (RUNS as f64).sqrt(),
            "{mechanism:?}: bias {bias}"
        );
        let inside = answers
            .iter()
            .filter(|&&a| (a - 10_000.0).abs() <= estimate.error.ci95_half_width)
            .count() as f64
            / RUNS as f64;
        assert!(
            (0.94..0.97).contains(&inside),
            "{mechanism:?}: {inside} inside the 95% interval"
        );
    }
}

#[test]
fn laplace_scale_is_sensitivity_over_epsilon() {
    // Δ = 3, ε = 0.5: scale 6, Var = 2p/(1−p)² with p = e^(−1/6).
    let noise = Noise::calibrate(Mechanism::Laplace, 3, PrivacyBudget::new(0.5, 0.0)).unwrap();
    let p = (-1.0f64 / 6.0).exp();
    let sd = (2.0 * p / (1.0 - p).powi(2)).sqrt();
    assert!((noise.expected_error().std_dev - sd).abs() < 1e-4);
}

#[test]
fn gaussian_sigma_follows_the_zcdp_conversion() {
    let cost = PrivacyBudget::new(1.0, 1e-5);
    let rho = rho_for(cost);
    // ε = ρ + 2√(ρ ln(1/δ)) holds for the ρ chosen
    let back = rho + 2.0 * (rho * (1e5f64).ln()).sqrt();
    assert!((back - 1.0).abs() < 1e-9, "{back}");
    let noise = Noise::calibrate(Mechanism::Gaussian, 10, cost).unwrap();
    let sigma = 10.0 / (2.0 * rho).sqrt();
    let got = noise.expected_error().std_dev;
    assert!(
        got >= sigma * 0.999 && got <= sigma * 1.001,
        "{got} vs {sigma}"
    );
}

#[test]
fn noisy_sum_works_in_fixed_point_and_states_its_error_in_value_units() {
    let res = FixedPoint::new(2).unwrap();
    // contributions of 0.00 to 500.00 yuan, two rows per person at most
    let bounds = Bounds::new(0, res.to_units(500.0).unwrap(), res).unwrap();
    let cost = PrivacyBudget::new(1.0, 0.0);
    let estimate = cost_and_error(
        &QueryShape::Sum {
            bounds,
            max_contributions: 2,
        },
        cost,
        Mechanism::Laplace,
    )
    .unwrap();
    // scale Δ/ε = 1000 yuan: the error is about √2 · 1000 yuan
    assert!((estimate.error.std_dev / (2f64.sqrt() * 1000.0) - 1.0).abs() < 0.01);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let truth: i128 = 1_234_567_890; // 12 345 678.90 yuan
    let answers: Vec<f64> = (0..RUNS)
        .map(|_| noisy_sum(&mut rng, truth, bounds, cost, 2, Mechanism::Laplace).unwrap())
        .map(|n| res.from_units(n.value))
        .collect();
    let (bias, sd) = spread(&answers, res.from_units(truth));
    assert!((sd / estimate.error.std_dev - 1.0).abs() < 0.04, "sd {sd}");
    assert!(bias.abs() < 4.0 * sd / (RUNS as f64).sqrt());
    assert_eq!(bounds.clamp(-5), 0);
    assert_eq!(bounds.clamp(70_000), 50_000);
}

#[test]
fn noisy_mean_splits_the_budget_and_stays_in_bounds() {
    let res = FixedPoint::new(0).unwrap();
    let bounds = Bounds::new(0, 100, res).unwrap();
    let cost = PrivacyBudget::new(1.0, 1e-6);
    let estimate = cost_and_error(
        &QueryShape::Mean {
            bounds,
            max_contributions: 1,
        },
        cost,
        Mechanism::Gaussian,
    )
    .unwrap();
    assert_eq!(estimate.cost, cost);
    let count_error = estimate.count_error.unwrap();
    // each half is priced at (ε/2, δ/2)
    let half = cost_and_error(
        &QueryShape::Count {
            max_contributions: 1,
        },
        PrivacyBudget::new(0.5, 5e-7),
        Mechanism::Gaussian,
    )
    .unwrap();
    assert_eq!(count_error, half.error);
    let predicted = estimate.mean_std_dev_at(2_000.0, 40.0).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let answers: Vec<f64> = (0..5_000)
        .map(|_| {
            noisy_mean(
                &mut rng,
                80_000,
                2_000,
                bounds,
                cost,
                1,
                Mechanism::Gaussian,
            )
            .unwrap()
        })
        .map(|n| n.value)
        .collect();
    assert!(answers.iter().all(|m| (0.0..=100.0).contains(m)));
    let (bias, sd) = spread(&answers, 40.0);
    assert!(
        (sd / predicted - 1.0).abs() < 0.06,
        "sd {sd} vs {predicted}"
    );
    assert!(bias.abs() < 0.05, "bias {bias}");
    // a tiny group: the mean is still clamped into the bounds
    let tiny = noisy_mean(&mut rng, 50, 1, bounds, cost, 1, Mechanism::Gaussian).unwrap();
    assert!((0.0..=100.0).contains(&tiny.value));
}

#[test]
fn bad_parameters_are_refused_by_name() {
    let laplace_with_delta =
        Noise::calibrate(Mechanism::Laplace, 1, PrivacyBudget::new(1.0, 1e-6)).unwrap_err();
    assert_eq!(laplace_with_delta.path(), "delta");
    let gaussian_without_delta =
        Noise::calibrate(Mechanism::Gaussian, 1, PrivacyBudget::new(1.0, 0.0)).unwrap_err();
    assert_eq!(gaussian_without_delta.path(), "delta");
    let no_epsilon =
        Noise::calibrate(Mechanism::Laplace, 1, PrivacyBudget::new(0.0, 0.0)).unwrap_err();
    assert_eq!(no_epsilon.path(), "epsilon");
    let zero = Noise::calibrate(Mechanism::Laplace, 0, PrivacyBudget::new(1.0, 0.0)).unwrap_err();
    assert_eq!(zero.path(), "max_contributions");
    assert!(Bounds::new(5, 1, FixedPoint::new(0).unwrap()).is_err());
    assert!(matches!(
        FixedPoint::new(7),
        Err(DpError::Invalid {
            name: "resolution",
            ..
        })
    ));
    // no true value is ever in an error
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let err = noisy_count(
        &mut rng,
        987_654,
        PrivacyBudget::new(-1.0, 0.0),
        1,
        Mechanism::Laplace,
    )
    .unwrap_err();
    assert!(!err.to_string().contains("987654"));
}
