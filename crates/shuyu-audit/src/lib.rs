//! The tamper-evident audit trail: the audit event, its canonical bytes, the SM3 hash chain, SM2-signed
//! checkpoints and the streaming verifier. **No storage**: `shuyu-store` persists what this crate
//! computes and streams it back through [`ChainVerifier`].
//!
//! Every state change and data access in shuyu appends one [`EventRecord`]. Each record carries the
//! SM3 hash of its predecessor and its own hash over a versioned, length-prefixed
//! [canonical encoding](canonical_bytes) of its seq and every field; now and then the platform signs
//! the chain head with its SM2 key as a [`Checkpoint`].
//!
//! This crate must never do I/O, read the environment or the clock, or draw randomness from anywhere
//! but an RNG passed in; it must never change the meaning of stored bytes (new encodings get a new
//! version and domain tag). The one contact with the OS is [`ChainVerifier::push_batch`]: it starts
//! scoped threads, and unless told a count with [`ChainVerifier::with_threads`] it asks
//! `std::thread::available_parallelism()` once per verifier.
//!
//! ## Threat model
//!
//! The attacker can rewrite the audit tables in the database but does not hold the SM2 signing key.
//! Then [`ChainVerifier`] detects:
//! - editing any column of an event (its hash no longer matches, or a neighbour's link breaks);
//! - deleting, inserting, copying or reordering events (seq gaps, duplicates or broken prev links;
//!   if the attacker recomputes every later hash, the next signed checkpoint no longer matches);
//! - cutting off the tail up to or past a checkpoint (the checkpoint lies beyond the end), and
//!   cutting off any tail if the stored [`ChainHead`] was left alone;
//! - forged, edited or foreign-key checkpoints.
//!
//! What it **cannot** detect: an attacker who can rewrite the database *and* the stored head can cut
//! off the events after the last signed checkpoint — the [`Report::unsigned_tail`] — and nobody can
//! tell, because nothing signed vouches for them yet. Nor can a checkpoint-free rewrite of the whole
//! chain be told from the original. That is why checkpoints are signed frequently, and why a
//! checkpoint or the head may additionally be copied somewhere the database attacker cannot reach.
//! Anyone holding the signing key can of course rewrite everything.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod checkpoint;
mod event;
mod verify;

pub use checkpoint::{
    AuditSigner, AuditVerifier, CHECKPOINT_TAG, Checkpoint, DIST_ID, checkpoint_message,
};
pub use event::{
    CANONICAL_VERSION, CHAIN_TAG, CHANGE_TAG, ChainHead, EventDraft, EventRecord, GENESIS, Hash,
    Outcome, canonical_bytes, change_digest, encode_canonical, event_hash,
};
pub use verify::{Break, ChainVerifier, Report};

/// Errors outside chain verification (which reports a [`Break`]): reading keys and stored text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A key is not in the expected format, or not an SM2 key.
    #[error("audit key is not valid: {0}")]
    KeyFormat(String),
    /// A stored outcome is none of `ok`, `denied`, `failed`.
    #[error("unknown audit outcome {0:?}")]
    UnknownOutcome(String),
}
