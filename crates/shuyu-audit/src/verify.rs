//! The streaming chain verifier behind `shuyu audit verify`.
//!
//! Events are pushed in stored order, one at a time ([`ChainVerifier::push`]) or a page at a time
//! ([`ChainVerifier::push_batch`], which hashes blocks of the page on several threads and checks
//! registered checkpoint signatures on the same threads); memory stays constant except for the
//! hashes kept for checkpoints (see [`ChainVerifier::new`] and [`ChainVerifier::with_checkpoints`])
//! and, during a batch, one result and one 512-byte scratch buffer per block (at most 16 blocks per
//! thread). The hot path encodes into a reused buffer and hashes it in one call: no allocation per
//! event.
//!
//! Must never: report success after a break (a verifier that saw a break keeps returning it, even if
//! the caller ignored the error), accept a checkpoint whose signature it did not check, or let
//! `push_batch` report a different first break than `push` one by one would.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::event::{HASH_INPUT_PREFIX, hash_in};
use crate::{AuditVerifier, ChainHead, Checkpoint, EventRecord, GENESIS, Hash};

/// The first thing found wrong with a chain. Every variant names the seq of the first broken event
/// (see [`Break::seq`]) and displays as a sentence saying what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// The event's columns do not hash to its stored hash.
    #[error("event {seq}: its stored columns do not hash to its stored hash (a column was edited)")]
    HashMismatch { seq: u64 },
    /// The event's `prev_hash` is not the hash of the event stored before it.
    #[error(
        "event {seq}: its prev_hash is not the hash of the event before it \
         (events were reordered, inserted or deleted before it)"
    )]
    PrevMismatch { seq: u64 },
    /// Seqs jump forward: events `expected..found` are missing.
    #[error("event {expected} is missing: the next stored event is {found} (events were deleted)")]
    SeqGap { expected: u64, found: u64 },
    /// The same seq is stored twice in a row.
    #[error("event {seq} is stored twice (an event was inserted or copied)")]
    SeqDuplicate { seq: u64 },
    /// Seqs go backwards.
    #[error(
        "event {found} is stored where event {expected} was expected \
         (rows are out of order or seqs were edited)"
    )]
    SeqOutOfOrder { expected: u64, found: u64 },
    /// A signed checkpoint covers events that are no longer stored.
    #[error(
        "checkpoint {checkpoint_seq} is beyond the last stored event {last_seq} \
         (events from {first} on were cut off)",
        first = .last_seq.saturating_add(1)
    )]
    CheckpointBeyondEnd { checkpoint_seq: u64, last_seq: u64 },
    /// A signed checkpoint disagrees with the stored chain at its seq.
    #[error(
        "checkpoint {seq} does not match the hash of event {seq} \
         (the chain was rewritten up to there)"
    )]
    CheckpointHashMismatch { seq: u64 },
    /// A checkpoint's signature is malformed or does not verify.
    #[error(
        "checkpoint {seq}: its SM2 signature does not verify (the checkpoint was forged or edited)"
    )]
    BadSignature { seq: u64 },
    /// A checkpoint names a key that is not trusted.
    #[error("checkpoint {seq} is signed by key {key_id}, which is not a trusted audit key")]
    UnknownKey { seq: u64, key_id: String },
    /// The stored head does not match the last stored event.
    #[error("{}", head_mismatch(*.head_seq, *.last_seq))]
    HeadMismatch { head_seq: u64, last_seq: u64 },
    /// A checkpoint given to `finish` was not given to `with_checkpoints`, so the hash it needs was
    /// not kept. A caller error, reported as a break so that verification fails closed.
    #[error(
        "checkpoint {seq} was not given to ChainVerifier::with_checkpoints, so it cannot be \
         checked; pass every checkpoint there"
    )]
    CheckpointNotKept { seq: u64 },
}

impl Break {
    /// The seq of the first event this break concerns: the edited, missing or first unverifiable
    /// event, or the checkpoint's seq for checkpoint breaks.
    #[must_use]
    pub const fn seq(&self) -> u64 {
        match *self {
            Self::HashMismatch { seq }
            | Self::PrevMismatch { seq }
            | Self::SeqDuplicate { seq }
            | Self::CheckpointHashMismatch { seq }
            | Self::BadSignature { seq }
            | Self::UnknownKey { seq, .. }
            | Self::CheckpointNotKept { seq } => seq,
            Self::SeqGap { expected, .. } | Self::SeqOutOfOrder { expected, .. } => expected,
            Self::CheckpointBeyondEnd { last_seq, .. } => last_seq.saturating_add(1),
            // The first event on which head and rows disagree.
            Self::HeadMismatch { head_seq, last_seq } if head_seq == last_seq => last_seq,
            Self::HeadMismatch { head_seq, last_seq } if head_seq < last_seq => {
                head_seq.saturating_add(1)
            }
            Self::HeadMismatch { last_seq, .. } => last_seq.saturating_add(1),
        }
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Events verified (= the last seq).
    pub events: u64,
    /// Canonical bytes hashed, the sum of `canonical_bytes(..).len()`.
    pub bytes: u64,
    /// Checkpoints whose signature and hash were verified.
    pub checkpoints: u64,
    /// Highest verified checkpoint seq, 0 if none.
    pub last_checkpoint_seq: u64,
    /// Events after the last checkpoint: not yet protected against cutting off the tail.
    pub unsigned_tail: u64,
    /// The verified head: the last event's seq and hash.
    pub head: ChainHead,
}

/// Verifies a chain streamed in stored order, then its checkpoints and head.
///
/// Feed it events with [`push`](Self::push) (one at a time, on the calling thread) or
/// [`push_batch`](Self::push_batch) (a page at a time, hashed on several threads); the two may be
/// mixed and report exactly the same first [`Break`].
#[derive(Debug)]
pub struct ChainVerifier {
    trusted: Vec<AuditVerifier>,
    /// The chain verified so far.
    last: ChainHead,
    bytes: u64,
    buf: Vec<u8>,
    kept: Kept,
    /// Most threads `push_batch` uses; `None` until it first needs to know.
    threads: Option<usize>,
    broken: Option<Break>,
}

#[derive(Debug)]
enum Kept {
    /// Every event hash, index = seq - 1 (32 bytes per event).
    All(Vec<Hash>),
    /// Hashes at the registered checkpoints' seqs only.
    At {
        /// Registered checkpoints, sorted by seq.
        checkpoints: Vec<Checkpoint>,
        /// Per registered checkpoint, the result of its key and signature check once `push_batch`
        /// has done it (on its threads, alongside hashing); `finish` checks the others itself.
        signatures: Vec<Option<Result<(), Break>>>,
        /// Index into `checkpoints` of the first whose signature `push_batch` has not checked.
        next_signature: usize,
        /// Distinct registered seqs above 0, ascending.
        seqs: Vec<u64>,
        /// Index into `seqs` of the next seq to keep.
        next: usize,
        /// `(seq, hash)` kept so far, ascending by seq.
        hashes: Vec<(u64, Hash)>,
    },
}

/// What one `push_batch` work unit found.
enum Unit {
    /// A registered checkpoint's key and signature check.
    Signature(Result<(), Break>),
    /// A block of consecutive events.
    Events(Scan),
}

/// What checking a run of consecutive events found.
struct Scan {
    /// Events that passed before the first break (all of them if none).
    accepted: usize,
    /// Canonical bytes of the accepted events.
    bytes: u64,
    broken: Option<Break>,
}

/// `push_batch` splits a batch into this many blocks per thread (fewer if the batch is smaller), so
/// that threads that finish early take more and all finish at about the same time.
const BLOCKS_PER_THREAD: usize = 16;

impl ChainVerifier {
    /// The default cap on the threads [`push_batch`](Self::push_batch) uses: more would mostly
    /// start and join threads for pages of a few thousand events.
    pub const MAX_THREADS: usize = 8;

    /// A verifier trusting `verifier`'s key, for checkpoints given later to
    /// [`finish`](Self::finish). Not knowing their seqs yet, it keeps every event hash: 32 bytes per
    /// event, and `finish` checks every signature on the calling thread. For long chains prefer
    /// [`with_checkpoints`](Self::with_checkpoints).
    #[must_use]
    pub fn new(verifier: AuditVerifier) -> Self {
        Self::with_kept(verifier, Kept::All(Vec::new()))
    }

    /// A verifier trusting `verifier`'s key that is told the checkpoints up front, so it keeps only
    /// the hashes at their seqs, and [`push_batch`](Self::push_batch) can check their signatures
    /// while it hashes. They are checked in [`finish`](Self::finish) with any given there.
    #[must_use]
    pub fn with_checkpoints(verifier: AuditVerifier, checkpoints: &[Checkpoint]) -> Self {
        let mut checkpoints = checkpoints.to_vec();
        checkpoints.sort_by_key(|c| c.seq);
        let mut seqs: Vec<u64> = checkpoints
            .iter()
            .map(|c| c.seq)
            .filter(|&s| s > 0)
            .collect();
        seqs.dedup();
        Self::with_kept(
            verifier,
            Kept::At {
                signatures: vec![None; checkpoints.len()],
                checkpoints,
                next_signature: 0,
                seqs,
                next: 0,
                hashes: Vec::new(),
            },
        )
    }

    fn with_kept(verifier: AuditVerifier, kept: Kept) -> Self {
        Self {
            trusted: vec![verifier],
            last: ChainHead::genesis(),
            bytes: 0,
            buf: Vec::with_capacity(512),
            kept,
            threads: None,
            broken: None,
        }
    }

    /// Also trusts `verifier`'s key, e.g. the key used before a rotation. Signature checks already
    /// done by [`push_batch`](Self::push_batch) are forgotten and done again (by the next
    /// `push_batch` or by [`finish`](Self::finish)), now against every trusted key.
    #[must_use]
    pub fn trust(mut self, verifier: AuditVerifier) -> Self {
        self.trusted.push(verifier);
        if let Kept::At {
            signatures,
            next_signature,
            ..
        } = &mut self.kept
        {
            signatures.fill(None);
            *next_signature = 0;
        }
        self
    }

    /// Lets [`push_batch`](Self::push_batch) use at most `threads` threads, the calling one
    /// included; 1 (or 0) keeps all work on the calling thread. Without this it asks
    /// `std::thread::available_parallelism()` once and uses at most [`MAX_THREADS`](Self::MAX_THREADS).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    fn threads(&mut self) -> usize {
        *self.threads.get_or_insert_with(|| {
            std::thread::available_parallelism()
                .map_or(1, core::num::NonZeroUsize::get)
                .min(Self::MAX_THREADS)
        })
    }

    /// Checks the next stored event: its seq follows the last one, its `prev_hash` is the last
    /// event's hash and its columns hash to its `hash`.
    ///
    /// # Errors
    /// The first [`Break`]; after one, every call returns it again.
    pub fn push(&mut self, record: &EventRecord) -> Result<(), Break> {
        if let Some(b) = &self.broken {
            return Err(b.clone());
        }
        self.step(record)
            .inspect_err(|b| self.broken = Some(b.clone()))
    }

    fn step(&mut self, record: &EventRecord) -> Result<(), Break> {
        let canonical = check_next(&self.last, record, &mut self.buf)?;
        self.bytes = self.bytes.saturating_add(canonical);
        self.last = record.head();
        self.keep(record.seq, record.hash);
        Ok(())
    }

    /// Checks the next stored events in order, exactly as [`push`](Self::push) on each of them
    /// would, up to and including the same first [`Break`], but hashing them on several threads
    /// (see [`with_threads`](Self::with_threads)).
    ///
    /// This works because every stored event carries its `prev_hash`: an event's hash depends on
    /// its own row only, so blocks of events are hashed independently, and each block checks its
    /// links by comparing every `prev_hash` with the stored hash of the row before it (for the
    /// first, the last row of the previous block or batch). The first break of the earliest broken
    /// block is the first break of the batch: every row before it passed, so the rows before it
    /// are exactly what `push` would have accepted. Nothing is checked less: every hash is
    /// recomputed and every link compared.
    ///
    /// The same threads also check the signatures of checkpoints registered with
    /// [`with_checkpoints`](Self::with_checkpoints) whose seq is at most the batch's last expected
    /// seq. [`finish`](Self::finish) reuses those results, so it still reports checkpoint breaks in
    /// seq order and only after any event break.
    ///
    /// Meant for pages of thousands of events: each call starts and joins its threads. If a thread
    /// cannot be started, its share is done on the calling thread.
    ///
    /// # Errors
    /// The first [`Break`]; after one, every call returns it again.
    pub fn push_batch(&mut self, records: &[EventRecord]) -> Result<(), Break> {
        if let Some(b) = &self.broken {
            return Err(b.clone());
        }
        let threads = self.threads();
        let start = self.last;
        let end = start
            .seq
            .saturating_add(u64::try_from(records.len()).unwrap_or(u64::MAX));
        let pending: &[Checkpoint] = match &self.kept {
            Kept::At {
                checkpoints,
                next_signature,
                ..
            } => {
                let rest = checkpoints.get(*next_signature..).unwrap_or_default();
                rest.get(..rest.partition_point(|c| c.seq <= end))
                    .unwrap_or_default()
            }
            Kept::All(_) => &[],
        };
        let signed = pending.len();

        let blocks = records
            .len()
            .min(threads.saturating_mul(BLOCKS_PER_THREAD))
            .max(1);
        let block_len = records.len().div_ceil(blocks).max(1);
        let blocks = records.len().div_ceil(block_len);
        let trusted = self.trusted.as_slice();
        // Signatures first: they are the largest units, and taking them first balances the tail.
        let units = parallel_map(signed.saturating_add(blocks), threads, |unit| {
            if let Some(checkpoint) = pending.get(unit) {
                return Unit::Signature(check_signature(trusted, checkpoint));
            }
            let from = unit.saturating_sub(signed).saturating_mul(block_len);
            let block = records.get(from..).unwrap_or_default();
            let block = block.get(..block_len).unwrap_or(block);
            let prev = match from.checked_sub(1) {
                None => start,
                Some(i) => records.get(i).map_or(start, EventRecord::head),
            };
            Unit::Events(scan(prev, block, &mut Vec::with_capacity(512)))
        });

        let mut signatures = Vec::with_capacity(signed);
        let (mut accepted, mut bytes, mut broken) = (0_usize, 0_u64, None);
        for unit in units {
            match unit {
                Unit::Signature(result) => signatures.push(result),
                Unit::Events(scan) if broken.is_none() => {
                    accepted = accepted.saturating_add(scan.accepted);
                    bytes = bytes.saturating_add(scan.bytes);
                    broken = scan.broken;
                }
                Unit::Events(_) => {}
            }
        }

        if let Kept::At {
            signatures: done,
            next_signature,
            ..
        } = &mut self.kept
        {
            let slots = done.iter_mut().skip(*next_signature);
            for (slot, result) in slots.zip(signatures) {
                *slot = Some(result);
            }
            *next_signature = next_signature.saturating_add(signed);
        }
        let passed = records.get(..accepted).unwrap_or_default();
        for record in passed {
            self.keep(record.seq, record.hash);
        }
        if let Some(record) = passed.last() {
            self.last = record.head();
        }
        self.bytes = self.bytes.saturating_add(bytes);
        match broken {
            Some(b) => {
                self.broken = Some(b.clone());
                Err(b)
            }
            None => Ok(()),
        }
    }

    fn keep(&mut self, seq: u64, hash: Hash) {
        match &mut self.kept {
            Kept::All(hashes) => hashes.push(hash),
            Kept::At {
                seqs, next, hashes, ..
            } => {
                if seqs.get(*next) == Some(&seq) {
                    hashes.push((seq, hash));
                    *next = next.saturating_add(1);
                }
            }
        }
    }

    /// The hash of event `seq` if it was kept; `GENESIS` for seq 0.
    fn kept_hash(&self, seq: u64) -> Option<Hash> {
        if seq == 0 {
            return Some(GENESIS);
        }
        match &self.kept {
            Kept::All(hashes) => {
                let index = usize::try_from(seq.checked_sub(1)?).ok()?;
                hashes.get(index).copied()
            }
            Kept::At { hashes, .. } => hashes
                .binary_search_by_key(&seq, |&(s, _)| s)
                .ok()
                .and_then(|i| hashes.get(i))
                .map(|&(_, h)| h),
        }
    }

    /// Ends the stream: checks every checkpoint (those given here and to `with_checkpoints`, in
    /// seq order) — trusted key, valid signature, seq within the chain, hash equal to that event's —
    /// and then, if given, that `head` is the last event. Signatures already checked by
    /// [`push_batch`](Self::push_batch) are not checked again.
    ///
    /// # Errors
    /// The first [`Break`], including one `push` returned earlier.
    pub fn finish(
        self,
        checkpoints: &[Checkpoint],
        head: Option<&ChainHead>,
    ) -> Result<Report, Break> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        // Each checkpoint with its signature check if already done.
        let mut all: Vec<(&Checkpoint, Option<&Result<(), Break>>)> =
            checkpoints.iter().map(|c| (c, None)).collect();
        if let Kept::At {
            checkpoints,
            signatures,
            ..
        } = &self.kept
        {
            all.extend(
                checkpoints
                    .iter()
                    .zip(signatures)
                    .map(|(c, s)| (c, s.as_ref())),
            );
        }
        all.sort_by(|a, b| order(a.0).cmp(&order(b.0)));
        all.dedup_by(|later, earlier| {
            if later.0 != earlier.0 {
                return false;
            }
            if earlier.1.is_none() {
                earlier.1 = later.1.take();
            }
            true
        });

        let mut last_checkpoint_seq = 0;
        for &(checkpoint, signature) in &all {
            self.check_checkpoint(checkpoint, signature)?;
            last_checkpoint_seq = last_checkpoint_seq.max(checkpoint.seq);
        }
        if let Some(head) = head
            && *head != self.last
        {
            return Err(Break::HeadMismatch {
                head_seq: head.seq,
                last_seq: self.last.seq,
            });
        }
        Ok(Report {
            events: self.last.seq,
            bytes: self.bytes,
            checkpoints: u64::try_from(all.len()).unwrap_or(u64::MAX),
            last_checkpoint_seq,
            unsigned_tail: self.last.seq.saturating_sub(last_checkpoint_seq),
            head: self.last,
        })
    }

    /// Checks one checkpoint; `signature` is its key and signature check if already done.
    fn check_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        signature: Option<&Result<(), Break>>,
    ) -> Result<(), Break> {
        match signature {
            Some(done) => done.clone()?,
            None => check_signature(&self.trusted, checkpoint)?,
        }
        if checkpoint.seq > self.last.seq {
            return Err(Break::CheckpointBeyondEnd {
                checkpoint_seq: checkpoint.seq,
                last_seq: self.last.seq,
            });
        }
        let hash = self
            .kept_hash(checkpoint.seq)
            .ok_or(Break::CheckpointNotKept {
                seq: checkpoint.seq,
            })?;
        if hash != checkpoint.hash {
            return Err(Break::CheckpointHashMismatch {
                seq: checkpoint.seq,
            });
        }
        Ok(())
    }
}

/// The order `finish` checks checkpoints in: by seq, then by every other field.
fn order(c: &Checkpoint) -> (u64, &Hash, i64, &str, &[u8]) {
    (c.seq, &c.hash, c.at_micros, &c.key_id, &c.signature)
}

/// The part of a checkpoint check that does not depend on the chain: one of the `trusted` keys has
/// the checkpoint's key id, and its signature verifies under that key.
fn check_signature(trusted: &[AuditVerifier], checkpoint: &Checkpoint) -> Result<(), Break> {
    trusted
        .iter()
        .find(|v| v.key_id() == checkpoint.key_id)
        .ok_or_else(|| Break::UnknownKey {
            seq: checkpoint.seq,
            key_id: checkpoint.key_id.clone(),
        })?
        .verify_checkpoint(checkpoint)
}

/// Checks `record` as the event stored right after `last`: seq, then prev link, then hash (using
/// `buf` as scratch). Returns its canonical length.
fn check_next(last: &ChainHead, record: &EventRecord, buf: &mut Vec<u8>) -> Result<u64, Break> {
    let expected = last.seq.saturating_add(1);
    if record.seq != expected {
        return Err(seq_break(expected, record.seq));
    }
    if record.prev_hash != last.hash {
        return Err(Break::PrevMismatch { seq: record.seq });
    }
    if hash_in(buf, &record.prev_hash, record.seq, &record.draft) != record.hash {
        return Err(Break::HashMismatch { seq: record.seq });
    }
    let canonical = buf.len().saturating_sub(HASH_INPUT_PREFIX);
    Ok(u64::try_from(canonical).unwrap_or(u64::MAX))
}

/// Checks `records` as `push` would one by one after `last`, stopping at the first break.
fn scan(mut last: ChainHead, records: &[EventRecord], buf: &mut Vec<u8>) -> Scan {
    let mut bytes = 0_u64;
    for (accepted, record) in records.iter().enumerate() {
        match check_next(&last, record, buf) {
            Ok(canonical) => bytes = bytes.saturating_add(canonical),
            Err(b) => {
                return Scan {
                    accepted,
                    bytes,
                    broken: Some(b),
                };
            }
        }
        last = record.head();
    }
    Scan {
        accepted: records.len(),
        bytes,
        broken: None,
    }
}

/// `work(0)`, …, `work(units - 1)` in that order, computed on up to `threads` threads (the calling
/// one included), each taking the next unit as soon as it is free. A unit whose thread could not be
/// started or did not return is computed again on the calling thread, so none is ever missing.
fn parallel_map<R: Send>(units: usize, threads: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = threads.min(units);
    if threads <= 1 {
        return (0..units).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let unit = next.fetch_add(1, Ordering::Relaxed);
            if unit >= units {
                return done;
            }
            done.push((unit, work(unit)));
        }
    };
    let mut slots: Vec<Option<R>> = core::iter::repeat_with(|| None).take(units).collect();
    let mut fill = |done: Vec<(usize, R)>| {
        for (unit, result) in done {
            if let Some(slot) = slots.get_mut(unit) {
                *slot = Some(result);
            }
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("shuyu-audit-verify".into())
                    .spawn_scoped(scope, worker)
                    .ok()
            })
            .collect();
        fill(worker());
        for helper in helpers {
            if let Ok(done) = helper.join() {
                fill(done);
            }
        }
    });
    slots
        .into_iter()
        .enumerate()
        .map(|(unit, result)| result.unwrap_or_else(|| work(unit)))
        .collect()
}

fn head_mismatch(head_seq: u64, last_seq: u64) -> String {
    let first = last_seq.saturating_add(1);
    let first_extra = head_seq.saturating_add(1);
    if head_seq > last_seq {
        format!(
            "the stored chain head says event {head_seq} is the last, but the stored events end \
             at {last_seq} (events from {first} on were cut off)"
        )
    } else if head_seq < last_seq {
        format!(
            "the stored chain head says event {head_seq} is the last, but events {first_extra} to \
             {last_seq} are stored after it (the head was edited or not updated)"
        )
    } else {
        format!(
            "the stored chain head's hash does not match the hash of the last event {last_seq} \
             (the head was edited)"
        )
    }
}

fn seq_break(expected: u64, found: u64) -> Break {
    if found > expected {
        Break::SeqGap { expected, found }
    } else if found > 0 && found.saturating_add(1) == expected {
        Break::SeqDuplicate { seq: found }
    } else {
        Break::SeqOutOfOrder { expected, found }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_returns_every_unit_in_order() {
        for threads in [1, 2, 3, 16] {
            for units in [0, 1, 2, 5, 100] {
                let expected: Vec<usize> = (0..units).map(|u| u * u).collect();
                assert_eq!(parallel_map(units, threads, |u| u * u), expected);
            }
        }
    }

    #[test]
    fn units_of_a_helper_thread_that_panicked_are_done_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let work = |unit: usize| {
            if std::thread::current().id() != caller {
                panic!("helper fails on unit {unit}");
            }
            unit + 1
        };
        let expected: Vec<usize> = (1..=40).collect();
        assert_eq!(parallel_map(40, 4, work), expected);
    }
}
