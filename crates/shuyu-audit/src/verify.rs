//! The streaming chain verifier behind `shuyu audit verify`.
//!
//! Events are pushed one at a time in stored order; memory stays constant except for the hashes kept
//! for checkpoints (see [`ChainVerifier::new`] and [`ChainVerifier::with_checkpoints`]). The hot path
//! encodes into one reused buffer and hashes it in one call: no allocation per event.
//!
//! Must never: report success after a break (a verifier that saw a break keeps returning it, even if
//! the caller ignored the error), or accept a checkpoint whose signature it did not check.

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
#[derive(Debug)]
pub struct ChainVerifier {
    trusted: Vec<AuditVerifier>,
    /// The chain verified so far.
    last: ChainHead,
    bytes: u64,
    buf: Vec<u8>,
    kept: Kept,
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
        /// Distinct registered seqs above 0, ascending.
        seqs: Vec<u64>,
        /// Index into `seqs` of the next seq to keep.
        next: usize,
        /// `(seq, hash)` kept so far, ascending by seq.
        hashes: Vec<(u64, Hash)>,
    },
}

impl ChainVerifier {
    /// A verifier trusting `verifier`'s key, for checkpoints given later to
    /// [`finish`](Self::finish). Not knowing their seqs yet, it keeps every event hash: 32 bytes per
    /// event. For long chains prefer [`with_checkpoints`](Self::with_checkpoints).
    #[must_use]
    pub fn new(verifier: AuditVerifier) -> Self {
        Self::with_kept(verifier, Kept::All(Vec::new()))
    }

    /// A verifier trusting `verifier`'s key that is told the checkpoints up front, so it keeps only
    /// the hashes at their seqs. They are checked in [`finish`](Self::finish) with any given there.
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
                checkpoints,
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
            broken: None,
        }
    }

    /// Also trusts `verifier`'s key, e.g. the key used before a rotation.
    #[must_use]
    pub fn trust(mut self, verifier: AuditVerifier) -> Self {
        self.trusted.push(verifier);
        self
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
        let expected = self.last.seq.saturating_add(1);
        if record.seq != expected {
            return Err(seq_break(expected, record.seq));
        }
        if record.prev_hash != self.last.hash {
            return Err(Break::PrevMismatch { seq: record.seq });
        }
        let hash = hash_in(&mut self.buf, &record.prev_hash, record.seq, &record.draft);
        if hash != record.hash {
            return Err(Break::HashMismatch { seq: record.seq });
        }
        let canonical = self.buf.len().saturating_sub(HASH_INPUT_PREFIX);
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(canonical).unwrap_or(u64::MAX));
        self.last = record.head();
        self.keep(record.seq, hash);
        Ok(())
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
    /// and then, if given, that `head` is the last event.
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
        let mut all: Vec<&Checkpoint> = checkpoints.iter().collect();
        if let Kept::At { checkpoints, .. } = &self.kept {
            all.extend(checkpoints);
        }
        all.sort_by(|a, b| {
            (a.seq, &a.hash, a.at_micros, &a.key_id, &a.signature).cmp(&(
                b.seq,
                &b.hash,
                b.at_micros,
                &b.key_id,
                &b.signature,
            ))
        });
        all.dedup();

        let mut last_checkpoint_seq = 0;
        for checkpoint in &all {
            self.check_checkpoint(checkpoint)?;
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

    fn check_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), Break> {
        let verifier = self
            .trusted
            .iter()
            .find(|v| v.key_id() == checkpoint.key_id)
            .ok_or_else(|| Break::UnknownKey {
                seq: checkpoint.seq,
                key_id: checkpoint.key_id.clone(),
            })?;
        verifier.verify_checkpoint(checkpoint)?;
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
