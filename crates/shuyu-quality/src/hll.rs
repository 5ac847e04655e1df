//! A HyperLogLog sketch (Flajolet et al. 2007, with the linear-counting correction for small
//! cardinalities of Heule et al. 2013) over 64-bit hashes.
//!
//! Written here rather than taken from crates.io: it is about sixty lines, needs no `unsafe`, and the
//! crates that offer one either pull a hashing stack we do not need or are unmaintained. Precision 14
//! gives 16 384 one-byte registers (16 KiB) and a standard error of 1.04/√16384 ≈ 0.81 %; with 64-bit
//! hashes no large-range correction is needed.

/// Number of index bits.
const PRECISION: u32 = 14;
/// Number of registers, 2^PRECISION.
const REGISTERS: usize = 1 << PRECISION;

/// A HyperLogLog sketch of fixed size ([`HyperLogLog::BYTES`]), fed with 64-bit hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HyperLogLog {
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        Self::new()
    }
}

impl HyperLogLog {
    /// Memory the registers take, in bytes; it never grows.
    pub const BYTES: usize = REGISTERS;

    pub fn new() -> Self {
        Self {
            registers: vec![0; REGISTERS],
        }
    }

    /// Adds one (well mixed) 64-bit hash.
    pub fn insert_hash(&mut self, hash: u64) {
        let index = (hash >> (64 - PRECISION)) as usize;
        // The remaining 50 bits, with a sentinel bit so the rank is at most 51.
        let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
        let rank = u8::try_from(rest.leading_zeros() + 1).unwrap_or(u8::MAX);
        if let Some(register) = self.registers.get_mut(index)
            && rank > *register
        {
            *register = rank;
        }
    }

    /// The estimated number of distinct hashes inserted.
    pub fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let (sum, zeros) = self
            .registers
            .iter()
            .fold((0.0_f64, 0_u32), |(sum, zeros), r| {
                (sum + 2f64.powi(-i32::from(*r)), zeros + u32::from(*r == 0))
            });
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / f64::from(zeros)).ln()
        } else {
            raw
        };
        // Rounded, non-negative and finite by construction.
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a bijective mixer, so distinct inputs give distinct well mixed hashes.
    fn mix(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn relative_error(n: u64) -> f64 {
        let mut hll = HyperLogLog::new();
        for i in 0..n {
            hll.insert_hash(mix(i));
        }
        (hll.estimate() as f64 - n as f64).abs() / n as f64
    }

    #[test]
    fn estimate_of_a_million_distinct_values_is_within_three_percent() {
        let error = relative_error(1_000_000);
        assert!(error < 0.03, "relative error {error}");
    }

    #[test]
    fn small_cardinalities_are_nearly_exact() {
        assert_eq!(HyperLogLog::new().estimate(), 0);
        assert!(relative_error(1_000) < 0.01);
        assert!(relative_error(50_000) < 0.03);
    }

    #[test]
    fn repeated_values_do_not_count_twice() {
        let mut hll = HyperLogLog::new();
        for _ in 0..10 {
            for i in 0..5_000 {
                hll.insert_hash(mix(i));
            }
        }
        let error = (hll.estimate() as f64 - 5_000.0).abs() / 5_000.0;
        assert!(error < 0.03, "relative error {error}");
        assert_eq!(hll.registers.len(), HyperLogLog::BYTES);
    }
}
