//! One million rows of CSV stream in bounded memory. Alone in its test binary so the process's peak
//! resident memory (VmHWM) is this test's. Time is measured and printed, not asserted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{self, Write};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use shuyu_synth::{
    BusRidership, CityConfig, ClinicVisits, CsvEncoding, SocialInsurance, SyntheticCity, write_csv,
};

/// Counts bytes and throws them away.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Peak resident set size of this process in KiB (Linux), 0 elsewhere.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_million_rows_of_csv_stream_in_bounded_memory() {
    let config = CityConfig {
        population: 200_000,
        enterprises: 20_000,
        ..CityConfig::demo()
    };
    let city = SyntheticCity::new(config, &mut ChaCha8Rng::seed_from_u64(42)).unwrap();
    let before = peak_kib();
    let rows = 1_000_000;
    for (name, run) in [
        ("social insurance", 0),
        ("clinic visits", 1),
        ("bus ridership", 2),
    ] {
        let mut out = Counter(0);
        let start = Instant::now();
        let written = match run {
            0 => write_csv(
                SocialInsurance::new(&city),
                rows,
                &mut out,
                CsvEncoding::Utf8,
            ),
            1 => write_csv(
                ClinicVisits::new(&city, ChaCha8Rng::seed_from_u64(1)),
                rows,
                &mut out,
                CsvEncoding::Utf8,
            ),
            _ => write_csv(
                BusRidership::new(&city, ChaCha8Rng::seed_from_u64(2)),
                rows,
                &mut out,
                CsvEncoding::Utf8,
            ),
        }
        .unwrap();
        assert_eq!(written, rows);
        eprintln!(
            "{name}: {rows} rows, {} MiB of CSV in {:.2?}; peak RSS {} KiB (before: {before} KiB)",
            out.0 / (1 << 20),
            start.elapsed(),
            peak_kib()
        );
    }
    let mut out = Counter(0);
    let start = Instant::now();
    write_csv(
        SocialInsurance::new(&city),
        rows,
        &mut out,
        CsvEncoding::Gb18030,
    )
    .unwrap();
    eprintln!("social insurance in GB18030: {:.2?}", start.elapsed());
    // The CSV is over 100 MiB; the process never holds more than a few MiB of it.
    let grown = peak_kib().saturating_sub(before);
    assert!(grown < 32 * 1024, "peak memory grew by {grown} KiB");
}
