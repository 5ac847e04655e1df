//! Encryption at rest for dataset files: SM4 keys, their wrapping, and the chunked **SYENC** file
//! format that a reader can decrypt one byte range at a time. **No I/O**: `shuyu-engine` fetches
//! the byte ranges this crate names (from `object_store`) and hands them in.
//!
//! This crate must never do I/O, read the environment or the clock, or draw randomness from
//! anywhere but an RNG passed in; it must never return bytes of a chunk whose tag did not verify
//! ("wrong or missing keys give a clear error, never garbage"), and never print key material.
//!
//! ## Key hierarchy
//!
//! - [`MasterKey`]: 128-bit SM4 key from the configuration or environment (hex or base64). It only
//!   wraps data keys. Its [`KeyId`] (SM3 fingerprint) is stored beside everything it wraps, so a
//!   wrong master key is reported by id ([`CryptoError::WrongMasterKey`]) before any decryption.
//! - [`DataKey`]: one random 128-bit key per dataset, stored only as a [`WrappedKey`]
//!   (SM4-GCM under the master key, text form `syk1.…`, see [`keys`] for its layout).
//!   Rotating the master key is [`rewrap`] on each wrapped key: no file is re-encrypted.
//! - Per-file key: HMAC-SM3(data key, `"shuyu file key v1\0"` ‖ file id), first 16 bytes, so GCM
//!   nonces stay unique however many files a dataset has (a 4-byte random nonce prefix alone
//!   would collide, by the birthday bound, after some tens of thousands of files under one key;
//!   a repeated GCM nonce reveals the authentication key).
//!
//! ## File format, version 1
//!
//! All integers big-endian. `C` is the chunk size (plaintext bytes per chunk, default 64 KiB).
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 5  | magic `SYENC` |
//! | 5  | 1  | format version, `1` |
//! | 6  | 1  | algorithm, `1` = SM4-GCM, 96-bit nonce, 128-bit tag |
//! | 7  | 1  | reserved, `0` |
//! | 8  | 4  | chunk size `C`, u32, 16 ..= 16 MiB |
//! | 12 | 16 | random file id; bytes 12..16 are the nonce prefix |
//! | 28 | 8  | data key id ([`DataKey::key_id`]) |
//! | 36 | …  | chunks 0 .. n−1 |
//!
//! Chunk `i` is `SM4-GCM(file key, nonce_i, aad_i, plaintext[i·C .. min((i+1)·C, L)]) ‖ tag` with
//! - `nonce_i` = file id bytes 0..4 ‖ u64 `i` (12 bytes);
//! - `aad_i` = the 36 header bytes ‖ u64 `i` ‖ one byte `1` if `i` is the final chunk, else `0`.
//!
//! Every chunk holds exactly `C` plaintext bytes (`C + 16` on disk) except the final one, which
//! holds 1..=`C` bytes, or 0 only when the whole file is empty (`n` = max(1, ⌈L / C⌉)). Hence
//! file length `F = 36 + L + 16·n`, and plaintext byte `p` lives in chunk `p / C` at ciphertext
//! offset `36 + (p / C)·(C + 16) + p mod C` — see [`FileLayout::ciphertext_range`].
//!
//! What the AAD buys: the header is authenticated by every chunk (editing it, or splicing a chunk
//! from another file under the same data key, fails: the other file has another header and file
//! key); the index detects reordering; the final flag detects truncation at a chunk boundary and
//! appended chunks.
//!
//! **Why the plaintext length is not in the header.** The writer streams (object store multipart
//! uploads cannot seek back to patch a header) and learns the length only at the end. A trailer
//! would cost every ranged read a second request. Instead the length follows from the object's
//! size, which object stores report with every listing and `HEAD` ([`FileLayout::from_header`]
//! takes it), and the final-chunk flag authenticates it: the length is `(n−1)·C` plus the final
//! chunk's length, and only a chunk sealed as final opens as the last chunk. Consequence for
//! readers: a cut at a chunk boundary is detected when the (new) last chunk is read, as a
//! Parquet reader always does (its footer is there); a read that touches only earlier chunks
//! returns correct, authentic bytes of a shorter file.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod file;
pub mod keys;

pub use file::{
    ALGORITHM_SM4_GCM, ChunkSize, EncryptingWriter, Encryptor, FILE_ID_LEN, FORMAT_VERSION,
    FileDecryptor, FileLayout, HEADER_LEN, MAGIC, TAG_LEN, ciphertext_len, decrypt_all,
};
pub use keys::{DataKey, KeyId, MasterKey, WrappedKey, rewrap};

/// SM4 in GCM mode with 96-bit nonces (as in RFC 8998).
pub type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// Everything that can go wrong reading keys or encrypted files. Messages never contain key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A master key's text is neither 32 hex digits nor base64 of 16 bytes.
    #[error("master key is not valid: {0}")]
    KeyFormat(String),
    /// A wrapped key's text or bytes are malformed.
    #[error("wrapped data key is malformed: {0}")]
    WrappedKeyFormat(String),
    /// The wrapped key names another master key than the one configured.
    #[error(
        "data key was wrapped with master key {expected_id}, but the configured master key is {got_id}"
    )]
    WrongMasterKey {
        /// The master key the wrapped key needs.
        expected_id: KeyId,
        /// The master key offered.
        got_id: KeyId,
    },
    /// The wrapped key fails authentication under the right master key: it was altered.
    #[error("wrapped data key failed authentication: it was altered")]
    CorruptWrappedKey,
    /// The file does not start with `SYENC`: it is not an encrypted file (or its start was
    /// overwritten).
    #[error("not an encrypted shuyu file (no SYENC header)")]
    NotEncrypted,
    /// The header names a format version this build does not read.
    #[error("encrypted file format version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The header is otherwise invalid.
    #[error("encrypted file header is invalid: {0}")]
    BadHeader(&'static str),
    /// A chunk size outside 16 B ..= 16 MiB was asked for.
    #[error("chunk size {0} is outside 16 bytes to 16 MiB")]
    ChunkSize(u32),
    /// The file was encrypted with another data key.
    #[error("file was encrypted with data key {expected}, not with {got}")]
    WrongDataKey {
        /// The data key named in the file header.
        expected: KeyId,
        /// The data key offered.
        got: KeyId,
    },
    /// The file ends early: inside the header or a chunk, or after a chunk not written as final.
    #[error("encrypted file is truncated")]
    Truncated,
    /// A chunk failed authentication: altered, moved, taken from another file, or cut.
    #[error("encrypted file chunk {chunk} failed authentication: the file was altered")]
    Corrupt {
        /// Index of the first chunk that failed.
        chunk: u64,
    },
    /// A plaintext range reaches past the end of the file, or is reversed.
    #[error("range {start}..{end} is outside the {len} bytes available")]
    OutOfRange {
        /// Start asked for.
        start: u64,
        /// End asked for.
        end: u64,
        /// Bytes available.
        len: u64,
    },
    /// The bytes handed in are not the ciphertext range the layout named.
    #[error("expected {expected} fetched ciphertext bytes, got {got}")]
    FetchMismatch {
        /// Length of the range the layout named.
        expected: u64,
        /// Length handed in.
        got: u64,
    },
    /// The cipher refused a length that the types rule out; a bug, never expected.
    #[error("internal encryption error")]
    Internal,
}
