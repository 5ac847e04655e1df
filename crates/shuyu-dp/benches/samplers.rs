//! Draws per second of the exact samplers beside a naive (insecure) floating-point Laplace in the
//! same run: discrete Laplace at scales 1, 10, 1 000 and 10⁶, discrete Gaussian at σ = 1, 10,
//! 1 000 and 10⁶, and the naive `−b·sgn(u)·ln(1−2|u|)` from one float. All draw from ChaCha20. A
//! table at the end gives draws/s (best of 5 runs of 20 000 draws) and the ratio to the naive
//! baseline.
//!
//! Run: `cargo bench -p shuyu-dp --bench samplers -- --warm-up-time 1 --measurement-time 2`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use rand::{CryptoRng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use shuyu_dp::{DiscreteGaussian, DiscreteLaplace};

const SCALES: [f64; 4] = [1.0, 10.0, 1_000.0, 1_000_000.0];

/// The textbook float Laplace: leaks through the gaps of floating point (Mironov 2012). Baseline only.
fn naive_laplace(rng: &mut impl CryptoRng, scale: f64) -> f64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    -scale * u.signum() * (1.0 - 2.0 * u.abs()).ln()
}

fn draws_per_second(mut draw: impl FnMut()) -> f64 {
    const N: u32 = 20_000;
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..N {
                draw();
            }
            f64::from(N) / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("samplers");
    for scale in SCALES {
        let lap = DiscreteLaplace::with_scale_at_least(scale).unwrap();
        let gauss = DiscreteGaussian::with_sigma_at_least(scale).unwrap();
        group.bench_function(format!("naive_float_laplace/{scale}"), |b| {
            b.iter(|| black_box(naive_laplace(&mut rng, scale)))
        });
        group.bench_function(format!("discrete_laplace/{scale}"), |b| {
            b.iter(|| black_box(lap.sample(&mut rng).unwrap()))
        });
        group.bench_function(format!("discrete_gaussian/{scale}"), |b| {
            b.iter(|| black_box(gauss.sample(&mut rng).unwrap()))
        });
    }
    group.finish();

    println!(
        "\n| scale / σ | naive float Laplace | discrete Laplace | ratio | discrete Gaussian | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for scale in SCALES {
        let lap = DiscreteLaplace::with_scale_at_least(scale).unwrap();
        let gauss = DiscreteGaussian::with_sigma_at_least(scale).unwrap();
        let naive = draws_per_second(|| {
            black_box(naive_laplace(&mut rng, scale));
        });
        let l = draws_per_second(|| {
            black_box(lap.sample(&mut rng).unwrap());
        });
        let g = draws_per_second(|| {
            black_box(gauss.sample(&mut rng).unwrap());
        });
        println!(
            "| {scale} | {:.2} M/s | {:.2} M/s | {:.1}× slower | {:.3} M/s | {:.1}× slower |",
            naive / 1e6,
            l / 1e6,
            naive / l,
            g / 1e6,
            naive / g
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
