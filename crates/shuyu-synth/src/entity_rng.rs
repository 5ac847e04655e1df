//! The generator behind a city's entities: SplitMix64 (Steele, Lea and Flood 2014) keyed by the city
//! seed, an entity kind and an index, so an entity is a pure and cheap function of its index.
//! Statistical quality is ample for synthetic attributes; it is never used for anything secret.

use std::convert::Infallible;

use rand::rand_core::TryRng;

/// A SplitMix64 stream for one entity.
#[derive(Debug, Clone)]
pub(crate) struct EntityRng(u64);

impl EntityRng {
    pub(crate) fn new(seed: u64, kind: u64, index: u64) -> Self {
        Self(mix(
            seed ^ mix(kind.wrapping_mul(0xA24B_AED4_963E_E407) ^ mix(index))
        ))
    }
}

/// The SplitMix64 finaliser: a bijection on `u64` that mixes every input bit into every output bit.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl TryRng for EntityRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        Ok(mix(self.0))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            for (d, b) in chunk.iter_mut().zip(bytes) {
                *d = b;
            }
        }
        Ok(())
    }
}
