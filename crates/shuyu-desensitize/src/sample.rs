//! A uniform random sample of a table's rows, taken in one pass over its batches: the rows a
//! development environment is filled with before they are desensitized.
//!
//! [`Sampler`] keeps a reservoir of at most `capacity` rows (Li 1994, "Reservoir-sampling algorithms
//! of time complexity O(n(1 + log(N/n)))", Algorithm L): after the reservoir is full it draws how many
//! rows to skip, so randomness is spent only on the rows that enter. Every subset of `capacity` rows
//! of the stream is equally likely to be the sample. Guarantees:
//! - memory is O(capacity) rows whatever the number of rows pushed: the rows kept are copied out of
//!   each batch, so no pushed batch's buffers are held;
//! - randomness comes only from the RNG passed to [`Sampler::push`] (a `CryptoRng`: which rows are
//!   shown must not be predictable), so a seeded RNG gives a reproducible sample;
//! - a stream with no more than `capacity` rows is returned whole, in its order.
//!
//! The sample's row order is the reservoir's slot order, not the stream's.

use std::fmt;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use arrow_select::interleave::interleave_record_batch;
use rand::{CryptoRng, RngExt};

use crate::DesensitizeError;

/// A reservoir sample of at most `capacity` rows over a stream of batches of one schema.
pub struct Sampler {
    schema: SchemaRef,
    capacity: usize,
    reservoir: RecordBatch,
    /// Rows pushed so far.
    seen: u64,
    /// Once the reservoir is full: the stream index of the next row to enter, and Algorithm L's `W`.
    next: u64,
    w: f64,
}

/// Counts only: the reservoir holds real rows, which must never reach a log.
impl fmt::Debug for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler")
            .field("capacity", &self.capacity)
            .field("held", &self.reservoir.num_rows())
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Sampler {
    /// An empty sampler of batches of `schema` keeping at most `capacity` rows.
    #[must_use]
    pub fn new(schema: SchemaRef, capacity: usize) -> Self {
        Self {
            reservoir: RecordBatch::new_empty(schema.clone()),
            schema,
            capacity,
            seen: 0,
            next: 0,
            w: 1.0,
        }
    }

    /// Rows pushed so far.
    #[must_use]
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Feeds the next batch of the stream. Refuses a batch whose column names or types differ from
    /// the sampler's schema (or that may hold NULLs where the schema says it may not).
    pub fn push(
        &mut self,
        batch: &RecordBatch,
        rng: &mut impl CryptoRng,
    ) -> Result<(), DesensitizeError> {
        let batch = self.conform(batch)?;
        let rows = batch.num_rows();
        let start = self.seen;
        self.seen = self.seen.saturating_add(to_u64(rows));
        if self.capacity == 0 || rows == 0 {
            return Ok(());
        }
        let held = self.reservoir.num_rows();
        let fill = self.capacity.saturating_sub(held).min(rows);
        // Where each slot of the next reservoir comes from: (0, slot) the old reservoir, (1, row) the
        // batch. Built only when something changes.
        let mut slots: Option<Vec<(usize, usize)>> = None;
        if fill > 0 {
            slots = Some(
                (0..held)
                    .map(|i| (0, i))
                    .chain((0..fill).map(|r| (1, r)))
                    .collect(),
            );
            if held + fill == self.capacity {
                self.w = (uniform_open(rng).ln() / self.capacity as f64).exp();
                self.next = to_u64(self.capacity).saturating_add(self.skip(rng));
            }
        }
        if held + fill == self.capacity {
            let end = self.seen;
            while self.next < end {
                let row = usize::try_from(self.next - start).unwrap_or(usize::MAX);
                let slot = rng.random_range(0..self.capacity);
                let slots =
                    slots.get_or_insert_with(|| (0..self.capacity).map(|i| (0, i)).collect());
                if let Some(entry) = slots.get_mut(slot) {
                    *entry = (1, row);
                }
                self.w *= (uniform_open(rng).ln() / self.capacity as f64).exp();
                self.next = self.next.saturating_add(1).saturating_add(self.skip(rng));
            }
        }
        if let Some(slots) = slots {
            self.reservoir =
                interleave_record_batch(&[&self.reservoir, &batch], &slots).map_err(|_| {
                    DesensitizeError::Assembly {
                        operation: "reservoir sample",
                    }
                })?;
        }
        Ok(())
    }

    /// The sample: every row pushed if there were at most `capacity` of them, else `capacity` rows
    /// drawn uniformly without replacement. Has the sampler's schema (no rows if none were pushed).
    pub fn finish(self) -> Result<RecordBatch, DesensitizeError> {
        Ok(self.reservoir)
    }

    /// Algorithm L's geometric skip: ⌊ln U / ln(1 − W)⌋ rows (saturating; when `W` underflows after
    /// some 10¹⁶ × capacity rows no further row enters).
    fn skip(&self, rng: &mut impl CryptoRng) -> u64 {
        let skip = (uniform_open(rng).ln() / (-self.w).ln_1p()).floor();
        if skip.is_finite() && skip >= 0.0 && skip < u64::MAX as f64 {
            skip as u64
        } else {
            u64::MAX
        }
    }

    /// The batch re-labelled with the sampler's schema, if names and types match.
    fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch, DesensitizeError> {
        let ours = self.schema.fields();
        let theirs = batch.schema_ref().fields();
        let same = ours.len() == theirs.len()
            && ours.iter().zip(theirs.iter()).all(|(a, b)| {
                a.name() == b.name()
                    && a.data_type() == b.data_type()
                    && (a.is_nullable() || !b.is_nullable())
            });
        if !same {
            return Err(DesensitizeError::SchemaMismatch);
        }
        RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())
            .map_err(|_| DesensitizeError::SchemaMismatch)
    }
}

/// A uniform draw from the open interval (0, 1): 53 random bits, centred in their cell.
fn uniform_open(rng: &mut impl CryptoRng) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    ((rng.next_u64() >> 11) as f64 + 0.5) * SCALE
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
